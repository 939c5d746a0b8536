"""Plain-text rendering of a DatasetReport (for the CLI; the UI renders its own)."""

from __future__ import annotations

from loratui.i18n import _
from loratui.userfiles import one_line, shown
from loratui.wording import plural

from .report import DatasetReport, Finding

_LABEL = {"error": "error  ", "warning": "warning", "info": "info   "}


def _counts(d: dict[str, int], top: int = 6) -> str:
    items = sorted(d.items(), key=lambda kv: -kv[1])
    text = " · ".join(f"{k} {v}" for k, v in items[:top])
    if len(items) > top:
        text += f" · … {len(items) - top} more"
    return text or "-"


def summary_lines(report: DatasetReport) -> list[str]:
    t = report.totals
    kind = "deep scan" if report.deep else "header scan"
    subsets = [s for s in report.subsets if not s.is_reg]
    lines = [f"{shown(report.root)}  ({report.layout} layout, {plural(len(subsets), 'image folder')}, "
             f"{kind}, {report.elapsed_s:.2f} s)"]
    lines.append(f"  images   {t.usable} usable / {t.images} found ({t.broken} broken) · "
                 f"{t.captioned} captioned · {t.reg_images} regularisation · "
                 f"{t.steps_per_epoch_images} image-steps per epoch (× repeats)")
    if report.layout != "flat":
        lines.append("  folders  " + " · ".join(
            f"{shown(s.path)} ×{s.repeats} ({s.images})" for s in report.subsets[:8]))
    lines.append(f"  sizes    {_counts(t.resolutions)}")
    lines.append(f"  short    {_counts(t.short_sides)}   aspect {_counts(t.aspects)}")
    lines.append(f"  buckets  {_counts(t.buckets)} (with bucketing on)")
    lines.append(f"  modes    {_counts(t.modes)}   formats {_counts(t.formats)}")
    tok = "exact" if report.tokens_exact else "estimated"
    lines.append(f"  captions {report.caption_extension} files · {_counts(t.caption_styles)} "
                 f"(tokens {tok})")
    return lines


def finding_lines(f: Finding, *, max_paths: int = 5) -> list[str]:
    refs = f" [{', '.join(f.refs)}]" if f.refs else ""
    lines = [f"{_LABEL[f.severity]} {f.kind:<24} {one_line(f.message)}{refs}"]
    listed = f.paths if max_paths < 0 else f.paths[:max_paths]
    for p in listed:
        detail = f.details.get(p, "")
        lines.append(f"          {shown(p)}" + (f": {one_line(detail)}" if detail and detail != p
                                                else ""))
    if len(listed) < len(f.paths):
        lines.append(f"          … and {len(f.paths) - len(listed)} more (--all lists them)")
    if f.fix:
        lines.append(f"        fix: {_(f.fix)}")  # the KINDS fixes are in the catalogue
    return lines


def render(report: DatasetReport, *, minimum: str = "info", max_paths: int = 5) -> str:
    lines = summary_lines(report)
    findings = report.by_severity(minimum)
    if findings:
        lines.append("")
    for f in findings:
        lines.extend(finding_lines(f, max_paths=max_paths))
    n = {s: sum(1 for f in report.findings if f.severity == s)
         for s in ("error", "warning", "info")}
    lines.append("")
    lines.append(f"summary: {plural(n['error'], 'error')}, {plural(n['warning'], 'warning')}, "
                 f"{plural(n['info'], 'note')}"
                 + ("" if report.duplicates_checked else
                    "; near-duplicates not checked (--dupes or --deep)"))
    return "\n".join(lines)

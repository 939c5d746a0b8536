"""Plain-text rendering of a DatasetReport (for the CLI; the UI renders its own), in the
current language: the findings' messages and details are `Message`s, shown localized."""

from __future__ import annotations

from loratui.i18n import N_, _, localized, ngettext, width
from loratui.userfiles import one_line, shown

from .report import DatasetReport, Finding

SEVERITY_LABELS = {"error": N_("error"), "warning": N_("warning"), "info": N_("info")}
LAYOUTS = {"flat": N_("flat layout"), "kohya": N_("kohya layout"), "leaf": N_("leaf layout")}


def severity_label(severity: str) -> str:
    """The severity padded to one column width in every language."""
    text = _(SEVERITY_LABELS[severity])
    return text + " " * max(0, 7 - width(text))


def _counts(d: dict[str, int], top: int = 6) -> str:
    items = sorted(d.items(), key=lambda kv: -kv[1])
    text = " · ".join(f"{_(k) if k in NAMES else k} {v}" for k, v in items[:top])
    if len(items) > top:
        text += " · " + _("… {n} more").format(n=len(items) - top)
    return text or "-"


# The names the totals are counted under (aspects, caption styles), for the catalogue.
NAMES = {N_("square"), N_("landscape"), N_("portrait"), N_("extreme"), N_("unknown"),
         N_("tags"), N_("sentence")}


def summary_lines(report: DatasetReport) -> list[str]:
    t = report.totals
    subsets = [s for s in report.subsets if not s.is_reg]
    folders = ngettext("{n} image folder", "{n} image folders", len(subsets)).format(
        n=len(subsets))
    kind = _("deep scan") if report.deep else _("header scan")
    layout = _(LAYOUTS[report.layout]) if report.layout in LAYOUTS else report.layout
    lines = [_("{root}  ({layout}, {folders}, {kind}, {seconds} s)").format(
        root=shown(report.root), layout=layout, folders=folders, kind=kind,
        seconds=f"{report.elapsed_s:.2f}")]
    lines.append("  " + _("images   {usable} usable / {found} found ({broken} broken) · "
                          "{captioned} captioned · {reg} regularisation · {steps} image-steps "
                          "per epoch (× repeats)").format(
        usable=t.usable, found=t.images, broken=t.broken, captioned=t.captioned,
        reg=t.reg_images, steps=t.steps_per_epoch_images))
    if report.layout != "flat":
        lines.append("  " + _("folders") + "  " + " · ".join(
            f"{shown(s.path)} ×{s.repeats} ({s.images})" for s in report.subsets[:8]))
    lines.append("  " + _("sizes    {sizes}").format(sizes=_counts(t.resolutions)))
    lines.append("  " + _("short    {short}   aspect {aspect}").format(
        short=_counts(t.short_sides), aspect=_counts(t.aspects)))
    lines.append("  " + _("buckets  {buckets} (with bucketing on)").format(
        buckets=_counts(t.buckets)))
    lines.append("  " + _("modes    {modes}   formats {formats}").format(
        modes=_counts(t.modes), formats=_counts(t.formats)))
    caption_line = _("captions {ext} files · {styles} (tokens exact)") if report.tokens_exact \
        else _("captions {ext} files · {styles} (tokens estimated)")
    lines.append("  " + caption_line.format(ext=report.caption_extension,
                                            styles=_counts(t.caption_styles)))
    return lines


def finding_lines(f: Finding, *, max_paths: int = 5) -> list[str]:
    refs = f" [{', '.join(f.refs)}]" if f.refs else ""
    lines = [f"{severity_label(f.severity)} {f.kind:<24} {one_line(localized(f.message))}{refs}"]
    listed = f.paths if max_paths < 0 else f.paths[:max_paths]
    for p in listed:
        detail = f.details.get(p, "")
        lines.append("          " + (_("{path}: {detail}").format(
            path=shown(p), detail=one_line(localized(detail))) if detail and detail != p
            else shown(p)))
    if len(listed) < len(f.paths):
        lines.append("          " + _("… and {n} more (--all lists them)").format(
            n=len(f.paths) - len(listed)))
    if f.fix:
        lines.append("        " + _("fix: {fix}").format(fix=_(f.fix)))  # KINDS' fixes
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
    summary = _("summary: {errors}, {warnings}, {notes}").format(
        errors=ngettext("{n} error", "{n} errors", n["error"]).format(n=n["error"]),
        warnings=ngettext("{n} warning", "{n} warnings", n["warning"]).format(n=n["warning"]),
        notes=ngettext("{n} note", "{n} notes", n["info"]).format(n=n["info"]))
    if not report.duplicates_checked:
        summary = _("{summary}; near-duplicates not checked (--dupes or --deep)").format(
            summary=summary)
    lines.append(summary)
    return "\n".join(lines)

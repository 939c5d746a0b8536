"""The dataset scanner inside `loratui doctor`.

`provide()` is the doctor's dataset provider (`loratui.doctor.inputs.dataset`): it runs
`loratui.dataset.scan` (headers only) and returns `ScanFacts`, the doctor's
`DatasetFacts` filled from the `DatasetReport` (so the built-in DS101–DS116 rules keep
working) plus `.report` for the scanner's own rules in `rules/dataset-scan.toml`
(DS201–DS215), whose predicates are below. Imported only when a dataset is checked.
"""

from __future__ import annotations

import os
from collections import Counter

from loratui.doctor.inputs.dataset import DatasetFacts, ImageFact, broken_image
from loratui.doctor.registry import Hit, Text, TextList, predicate
from loratui.i18n import N_
from loratui.i18n import Message as M

from . import captions as cap
from .report import DatasetReport
from .scanner import ScanOptions, scan

# kinds that make an image unusable; unsupported formats are left to DS115
_ERROR_KINDS = ("empty-file", "truncated", "corrupt", "decompression-bomb", "unreadable")


class ScanFacts(DatasetFacts):
    """DatasetFacts from a full scan; `.report` is the scanner's DatasetReport."""

    def __init__(self, root: str, caption_extension: str | None, layout: str,
                 report: DatasetReport) -> None:
        super().__init__(root, caption_extension, layout)
        self.report = report


def facts_from_report(report: DatasetReport, caption_extension: str | None,
                      layout: str) -> ScanFacts:
    root = report.root
    facts = ScanFacts(root, caption_extension, layout, report)
    details = {f.kind: f.details for f in report.findings}
    not_utf8 = details.get("caption-not-utf8", {})
    wanted = caption_extension.lower() if caption_extension else None
    folders: Counter = Counter()
    for rec in report.images:
        if rec.is_reg:
            continue
        top = rec.path.split("/", 1)[0] if "/" in rec.path else ""
        if top:
            folders[top] += 1
        else:
            facts.root_images += 1
        img = ImageFact(os.path.join(root, rec.path), top)
        broken = [k for k in rec.problems if k in _ERROR_KINDS]
        if broken:
            problem = details.get(broken[0], {}).get(rec.path) or M(N_("not a usable image"))
            img.error = broken_image(rec.path, problem, broken[0])
        elif rec.width:
            img.width, img.height = rec.width, rec.height
            img.mode = "PA" if rec.mode == "P" and rec.has_alpha else rec.mode
        if rec.caption_path and (wanted is None or rec.caption_path.lower().endswith(wanted)):
            img.caption_path = os.path.join(root, rec.caption_path)
            img.caption = (rec.caption or "").strip() if rec.caption is not None else None
            if rec.caption_path in not_utf8:
                img.caption_error = not_utf8[rec.caption_path]
                try:   # the text as far as it can be read, as the built-in scan keeps it
                    with open(img.caption_path, "rb") as fh:
                        img.caption = fh.read().decode("utf-8", errors="replace").strip()
                except OSError:
                    img.caption = ""
        facts.images.append(img)
    facts.subdirs = sorted(folders.items())
    facts.caption_exts = Counter(report.totals.caption_files)
    for f in report.findings:
        if f.kind == "junk-file":
            facts.junk += [os.path.join(root, p) for p in f.paths]
        elif f.kind == "double-extension":
            facts.double_ext += [os.path.join(root, p) for p in f.paths]
    stems: dict[str, list[str]] = {}
    same = report.finding("same-stem")
    for p in same.paths if same else []:
        stems.setdefault(p.rsplit(".", 1)[0], []).append(os.path.join(root, p))
    facts.duplicate_stems = [g for g in stems.values() if len(g) > 1]
    return facts


def provide(path, caption_extension: str | None = None, layout: str = "auto") -> ScanFacts:
    """The doctor's dataset provider: a header-only scan of `path`."""
    report = scan(path, ScanOptions(caption_extension=caption_extension or "auto"))
    return facts_from_report(report, caption_extension, layout)


# ------------------------------------------------------------------------ predicates
def _report(inp) -> DatasetReport | None:
    return getattr(inp.data, "report", None)


def _examples(paths: list[str], n: int = 3) -> str:
    more = len(paths) - n
    listed = TextList(paths[:n])
    return Text(N_("{listed} and {n} more"), listed=listed, n=more) if more > 0 else listed


@predicate("scan_findings")
def scan_findings(inp, ctx, rule, th):
    """One Hit summarising the scanner's findings of the kinds the rule lists (`kinds = [...]`
    in its TOML): n, examples, detail."""
    rep = _report(inp)
    if rep is None:
        return
    paths: list[str] = []
    detail = ""
    for kind in rule.kinds:
        f = rep.finding(kind)
        if f:
            paths += f.paths
            detail = detail or (f.details.get(f.paths[0], "") if f.paths else "")
    if paths:
        yield Hit({"n": len(paths), "examples": _examples(paths), "detail": detail},
                  image=os.path.join(rep.root, paths[0]))


@predicate("scan_caption_too_long")
def scan_caption_too_long(inp, ctx, rule, th):
    rep = _report(inp)
    if rep is None:
        return
    long_ = [r for r in rep.usable_images() if r.caption_tokens > th["max_tokens"]]
    if long_:
        worst = max(long_, key=lambda r: r.caption_tokens)
        yield Hit({"n": len(long_), "examples": _examples([r.caption_path for r in long_]),
                   "tokens": worst.caption_tokens}, image=os.path.join(rep.root, worst.caption_path))


@predicate("scan_trigger_not_first")
def scan_trigger_not_first(inp, ctx, rule, th):
    rep = _report(inp)
    cfg = getattr(inp.data, "config", None)
    trigger = str(cfg.get("trigger_word") or "").strip() if cfg is not None else ""
    if rep is None or not trigger:
        return
    late = [r.caption_path for r in rep.usable_images()
            if r.caption and cap.has_trigger(r.caption, trigger)
            and not cap.trigger_first(r.caption, trigger)]
    if late:
        yield Hit({"n": len(late), "examples": _examples(late), "trigger": trigger})


@predicate("scan_many_images")
def scan_many_images(inp, ctx, rule, th):
    rep = _report(inp)
    if rep is not None and rep.totals.usable > th["max_images"]:
        yield Hit({"n": rep.totals.usable, "max_images": th["max_images"]})

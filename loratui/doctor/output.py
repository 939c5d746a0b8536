"""Report formats: text for people (grouped by file, coloured, summary line), JSON and
SARIF 2.1.0 for machines. Plain string building: no rich, to keep start-up fast.

The text report speaks the user's language (`loratui.i18n`): its own words go through the
message catalogue and each finding shows its rule's `[rule.zh]` message when the catalog
was loaded in Chinese. JSON and SARIF keep English keys and English text, plus
`message_zh` / `title_zh` beside them in a Chinese run."""

from __future__ import annotations

import os
import sys

from loratui import __version__
from loratui.doctor.model import Diagnostic
from loratui.i18n import _, ngettext, pgettext

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

JSON_SCHEMA_VERSION = 1
COLORS = {"error": "\033[1;31m", "warning": "\033[33m", "info": "\033[36m",
          "path": "\033[1m", "dim": "\033[2m", "code": "\033[1;35m", "ok": "\033[32m",
          "reset": "\033[0m"}
SARIF_LEVEL = {"error": "error", "warning": "warning", "info": "note"}
# Words of the text report, translated when shown.
SEVERITY_WORDS = {"error": lambda: pgettext("severity", "error"),
                  "warning": lambda: pgettext("severity", "warning"),
                  "info": lambda: pgettext("severity", "info")}
FIX_LABELS = {"safe": lambda: pgettext("fix label", "fix"),
              "unsafe": lambda: pgettext("fix label", "fix (unsafe)"),
              "display-only": lambda: pgettext("fix label", "help")}


def severity_word(severity: str) -> str:
    return SEVERITY_WORDS[severity]()


def pad(text: str, columns: int) -> str:
    """`text` padded to `columns` terminal cells (a CJK character takes two)."""
    if text.isascii():
        return text.ljust(columns)
    from loratui.cjk import cells

    return text + " " * max(0, columns - cells(text))


def use_color(stream=None) -> bool:
    if os.environ.get("NO_COLOR"):
        return False
    if os.environ.get("FORCE_COLOR") or os.environ.get("CLICOLOR_FORCE"):
        return True
    stream = stream or sys.stdout
    return hasattr(stream, "isatty") and stream.isatty() and os.environ.get("TERM") != "dumb"


def counts(diags: list[Diagnostic]) -> dict[str, int]:
    out = {"error": 0, "warning": 0, "info": 0}
    for d in diags:
        out[d.severity] += 1
    return out


def render_text(diags: list[Diagnostic], *, color: bool = False, fixed: int = 0,
                show_fixes: bool = True, checked: list[str] | None = None) -> str:
    from loratui.userfiles import shown  # names with newlines, escapes, non-UTF-8 bytes

    def c(name: str, text: str) -> str:
        return f"{COLORS[name]}{text}{COLORS['reset']}" if color else text

    lines: list[str] = []
    current = None
    for d in diags:
        loc = d.location
        if loc.path != current:
            if current is not None:
                lines.append("")
            lines.append(c("path", shown(loc.path) if loc.path else "<input>"))
            current = loc.path
        where = []
        if loc.line is not None:
            where.append(f"{loc.line}")
        if loc.key:
            where.append(loc.key)
        if loc.span:
            where.append(f"chars {loc.span[0]}-{loc.span[1]}")
        if loc.image:
            where.append(shown(loc.image))
        place = ":".join(where[:1]) + (f" {' '.join(where[1:])}" if len(where) > 1 else "")
        refs = f" [{', '.join(d.refs)}]" if d.refs else ""
        head = f"  {c(d.severity, pad(severity_word(d.severity), 7))} {c('code', d.code)} {d.name}"
        if place:
            head += f"  {c('dim', place)}"
        lines.append(head)
        for i, text_line in enumerate(d.shown_message.splitlines() or [""]):
            lines.append(f"    {shown(text_line)}{c('dim', refs) if i == 0 else ''}")
        if show_fixes and d.fix is not None:
            label = FIX_LABELS[d.fix.applicability]()
            lines.append("    " + _("{label}: {fix}").format(
                label=c("ok", label), fix=d.fix.local_title or d.fix.title))
            if d.fix.command:
                lines.append(f"      $ {d.fix.command}")
    n = counts(diags)
    safe = sum(1 for d in diags if d.fix and d.fix.writable and d.fix.applicability == "safe")
    unsafe = sum(1 for d in diags if d.fix and d.fix.writable and d.fix.applicability == "unsafe")
    if lines:
        lines.append("")
    if not diags and checked is not None and not checked:
        lines.append(c("warning", _("Nothing was checked.")))
    elif not diags and checked:
        lines.append(c("ok", ngettext("All checks passed in {n} input.",
                                      "All checks passed in {n} inputs.",
                                      len(checked)).format(n=len(checked))))
    elif not diags:
        lines.append(c("ok", _("All checks passed.")))
    else:
        lines.append(c("error" if n["error"] else "warning" if n["warning"] else "info",
                       summary_line(n, safe, unsafe)))
    if fixed:
        lines.append(c("ok", ngettext("Fixed {n} problem.", "Fixed {n} problems.",
                                      fixed).format(n=fixed)))
    return "\n".join(lines) + "\n"


def summary_line(n: dict[str, int], safe: int, unsafe: int) -> str:
    """`Found 3 problems (1 error, 2 warnings, 0 info); 1 fixable with --fix.`"""
    total = n["error"] + n["warning"] + n["info"]
    parts = pgettext("list separator", ", ").join((
        ngettext("{n} error", "{n} errors", n["error"]).format(n=n["error"]),
        ngettext("{n} warning", "{n} warnings", n["warning"]).format(n=n["warning"]),
        ngettext("{n} info", "{n} info", n["info"]).format(n=n["info"])))
    summary = ngettext("Found {n} problem ({parts})", "Found {n} problems ({parts})",
                       total).format(n=total, parts=parts)
    extras = []
    if safe:
        extras.append(ngettext("{n} fixable with --fix", "{n} fixable with --fix",
                               safe).format(n=safe))
    if unsafe:
        extras.append(ngettext("{n} more with --unsafe-fixes", "{n} more with --unsafe-fixes",
                               unsafe).format(n=unsafe))
    if not extras:
        return _("{summary}.").format(summary=summary)
    return _("{summary}; {fixable}.").format(
        summary=summary, fixable=pgettext("list separator", ", ").join(extras))


def to_json_obj(diags: list[Diagnostic], *, fixed: int = 0,
                inputs: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    return {
        "version": JSON_SCHEMA_VERSION,
        "tool": {"name": "loratui doctor", "version": __version__},
        "inputs": inputs or [],
        "summary": {**counts(diags), "fixed": fixed},
        "diagnostics": [d.to_dict() for d in diags],
    }


def render_json(diags: list[Diagnostic], **kw: Any) -> str:
    from loratui.userfiles import dumps_json

    return dumps_json(to_json_obj(diags, **kw), indent=2) + "\n"


def _uri(path: str) -> str:
    if not path or path.startswith("<"):
        return "stdin"
    from pathlib import Path

    p = Path(path)
    if p.is_absolute():
        return p.as_uri()
    return path.replace("\\", "/").replace(" ", "%20")


def render_sarif(diags: list[Diagnostic], catalog=None) -> str:
    used = sorted({d.code for d in diags})
    rules_meta = []
    index = {}
    for i, code in enumerate(used):
        index[code] = i
        rule = catalog.by_code.get(code) if catalog is not None else None
        d0 = next(d for d in diags if d.code == code)
        meta: dict[str, Any] = {
            "id": code,
            "name": d0.name,
            "shortDescription": {"text": (rule.title if rule and rule.title else d0.name)},
            "defaultConfiguration": {"level": SARIF_LEVEL[rule.severity if rule else
                                                          d0.severity]},
            "properties": {"tags": list(d0.refs)},
        }
        if d0.lang and d0.local_title:
            meta["properties"][f"title_{d0.lang}"] = d0.local_title
        if rule and rule.explain:
            meta["fullDescription"] = {"text": rule.explain.get("what", "")}
            meta["help"] = {"text": "\n\n".join(
                f"{k.replace('_', ' ').title()}: {v}" for k, v in rule.explain.items())}
        rules_meta.append(meta)
    results = []
    for d in diags:
        loc = d.location
        physical: dict[str, Any] = {"artifactLocation": {"uri": _uri(loc.path)}}
        if loc.line is not None and loc.line >= 1:
            physical["region"] = {"startLine": int(loc.line)}
        location: dict[str, Any] = {"physicalLocation": physical}
        if loc.key:
            location["logicalLocations"] = [{"fullyQualifiedName": str(loc.key)}]
        result: dict[str, Any] = {
            "ruleId": d.code,
            "ruleIndex": index[d.code],
            "level": SARIF_LEVEL[d.severity],
            "message": {"text": d.message},
            "locations": [location],
            "properties": {"name": d.name, "refs": list(d.refs)},
        }
        if d.lang and d.local_message:
            result["properties"][f"message_{d.lang}"] = d.local_message
        if d.fix is not None:
            result["properties"]["fix"] = d.fix.to_dict()
        results.append(result)
    doc = {
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {
                "name": "loratui-doctor",
                "version": __version__,
                "informationUri": "https://github.com/loratui/loratui",
                "rules": rules_meta,
            }},
            "results": results,
        }],
    }
    from loratui.userfiles import dumps_json

    return dumps_json(doc, indent=2) + "\n"

"""Report formats: text for people (grouped by file, coloured, summary line), JSON and
SARIF 2.1.0 for machines. Plain string building: no rich, to keep start-up fast."""

from __future__ import annotations

import os
import sys

from loratui import __version__
from loratui.doctor.model import Diagnostic

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

JSON_SCHEMA_VERSION = 1
COLORS = {"error": "\033[1;31m", "warning": "\033[33m", "info": "\033[36m",
          "path": "\033[1m", "dim": "\033[2m", "code": "\033[1;35m", "ok": "\033[32m",
          "reset": "\033[0m"}
SARIF_LEVEL = {"error": "error", "warning": "warning", "info": "note"}


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
        head = f"  {c(d.severity, d.severity.ljust(7))} {c('code', d.code)} {d.name}"
        if place:
            head += f"  {c('dim', place)}"
        lines.append(head)
        for i, text_line in enumerate(d.message.splitlines() or [""]):
            lines.append(f"    {shown(text_line)}{c('dim', refs) if i == 0 else ''}")
        if show_fixes and d.fix is not None:
            label = {"safe": "fix", "unsafe": "fix (unsafe)", "display-only": "help"}[
                d.fix.applicability]
            lines.append(f"    {c('ok', label)}: {d.fix.title}")
            if d.fix.command:
                lines.append(f"      $ {d.fix.command}")
    n = counts(diags)
    safe = sum(1 for d in diags if d.fix and d.fix.writable and d.fix.applicability == "safe")
    unsafe = sum(1 for d in diags if d.fix and d.fix.writable and d.fix.applicability == "unsafe")
    if lines:
        lines.append("")
    if not diags and checked is not None and not checked:
        lines.append(c("warning", "Nothing was checked."))
    elif not diags:
        what = f" in {len(checked)} input{'s' if len(checked) != 1 else ''}" if checked else ""
        lines.append(c("ok", f"All checks passed{what}."))
    else:
        total = len(diags)
        summary = (f"Found {total} problem{'s' if total != 1 else ''} "
                   f"({n['error']} error{'s' if n['error'] != 1 else ''}, "
                   f"{n['warning']} warning{'s' if n['warning'] != 1 else ''}, {n['info']} info)")
        extras = []
        if safe:
            extras.append(f"{safe} fixable with --fix")
        if unsafe:
            extras.append(f"{unsafe} more with --unsafe-fixes")
        if extras:
            summary += "; " + ", ".join(extras)
        lines.append(c("error" if n["error"] else "warning" if n["warning"] else "info",
                       summary + "."))
    if fixed:
        lines.append(c("ok", f"Fixed {fixed} problem{'s' if fixed != 1 else ''}."))
    return "\n".join(lines) + "\n"


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

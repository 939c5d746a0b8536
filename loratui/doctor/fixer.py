"""Apply fixes to config files: TOML through tomlkit (comments and layout survive),
kohya_ss JSON keeping key order and indentation. Every write is atomic (temp + rename)."""

from __future__ import annotations

import json
import re
from pathlib import Path

from loratui.atomic import atomic_write_text
from loratui.doctor.model import DELETE, Diagnostic

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any


def fixable(diags: list[Diagnostic], unsafe: bool) -> list[Diagnostic]:
    allowed = ("safe", "unsafe") if unsafe else ("safe",)
    return [d for d in diags if d.fix and d.fix.writable and d.fix.applicability in allowed]


def apply_fixes(diags: list[Diagnostic], *, unsafe: bool = False) -> tuple[int, list[str]]:
    """Write the fixes. Returns (number of diagnostics fixed, error messages)."""
    by_path: dict[str, list[Diagnostic]] = {}
    for d in fixable(diags, unsafe):
        by_path.setdefault(d.location.path, []).append(d)
    fixed = 0
    errors: list[str] = []
    for path_str, group in by_path.items():
        path = Path(path_str)
        edits: dict[tuple[str, ...], Any] = {}
        for d in group:
            assert d.fix is not None
            edits.update(d.fix.edits)
        try:
            text = path.read_text(encoding="utf-8-sig")
            newline = "\r\n" if "\r\n" in text else "\n"
            if path.suffix.lower() == ".json":
                new = _edit_json(text, edits)
            else:
                new = _edit_toml(text.replace("\r\n", "\n"), edits)
                if newline == "\r\n":
                    new = new.replace("\n", "\r\n")
            if new != text:
                atomic_write_text(path, new)
            fixed += len(group)
        except Exception as exc:  # report, never lose the file
            errors.append(f"{path}: could not apply fixes ({type(exc).__name__}: {exc}); "
                          "the file was not changed")
    return fixed, errors


def _edit_toml(text: str, edits: dict[tuple[str, ...], Any]) -> str:
    import tomlkit

    doc = tomlkit.parse(text)
    for path, value in edits.items():
        node: Any = doc
        keys = [int(p) if p.isdigit() and isinstance(node, list) else p for p in path]
        for part in keys[:-1]:
            if isinstance(node, list):
                node = node[int(part)]
                continue
            if part not in node:
                node[part] = tomlkit.table()
            node = node[part]
        last = keys[-1]
        if value is DELETE:
            if last in node:
                del node[last]
        else:
            node[last] = list(value) if isinstance(value, tuple) else value
    return tomlkit.dumps(doc)


def _edit_json(text: str, edits: dict[tuple[str, ...], Any]) -> str:
    data = json.loads(text)
    m = re.search(r"^([ \t]+)\"", text, re.M)
    indent: int | str = len(m.group(1)) if m and m.group(1).strip(" ") == "" else \
        (m.group(1) if m else 4)
    for path, value in edits.items():
        node = data
        for part in path[:-1]:
            node = node.setdefault(part, {})
        if value is DELETE:
            node.pop(path[-1], None)
        else:
            node[path[-1]] = value
    out = json.dumps(data, indent=indent, ensure_ascii=False)
    return out + ("\n" if text.endswith("\n") else "")

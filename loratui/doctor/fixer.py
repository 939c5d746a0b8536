"""Apply fixes to config files: TOML through tomlkit (comments and layout survive),
kohya_ss JSON keeping key order and indentation. Every write is atomic (temp + rename) and
the file as it was is kept beside it as `<name>.<UTC time>.bak` (never over an earlier one).

Fixes to one file compose. They are merged before anything is written:
- a fix's edit to the key its finding is about wins over another fix's side edit to that key
  (the alpha fix sets alpha; the rank fix only carried alpha along);
- edits that follow another key (`Relative`: "alpha = rank") are resolved last, against
  the final values, so "alpha = rank" holds for the rank another fix wrote.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from loratui.atomic import atomic_write_bytes
from loratui.doctor.model import DELETE, Diagnostic, Relative
from loratui.i18n import N_, Message, error_text

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any


def fixable(diags: list[Diagnostic], unsafe: bool) -> list[Diagnostic]:
    allowed = ("safe", "unsafe") if unsafe else ("safe",)
    return [d for d in diags if d.fix and d.fix.writable and d.fix.applicability in allowed]


def merge_edits(group: list[Diagnostic]) -> dict[tuple[str, ...], Any]:
    """The edits of several fixes to one file, in the order to apply them: plain values
    first, then values that follow other keys."""
    owned: dict[tuple[str, ...], Any] = {}  # edits to the key a finding is about
    side: dict[tuple[str, ...], Any] = {}  # edits a fix carries along to other keys
    for d in group:
        assert d.fix is not None
        for path, value in d.fix.edits.items():
            target = owned if ".".join(path) == (d.location.key or "") else side
            target.setdefault(path, value)
    merged = {**side, **owned}
    plain = {k: v for k, v in merged.items() if not isinstance(v, Relative)}
    return {**plain, **{k: v for k, v in merged.items() if isinstance(v, Relative)}}


def apply_fixes(diags: list[Diagnostic], *, unsafe: bool = False) -> tuple[int, list[str]]:
    """Write the fixes. Returns (number of diagnostics fixed, error messages)."""
    by_path: dict[str, list[Diagnostic]] = {}
    for d in fixable(diags, unsafe):
        by_path.setdefault(d.location.path, []).append(d)
    fixed = 0
    errors: list[str] = []
    for path_str, group in by_path.items():
        path = Path(path_str)
        edits = merge_edits(group)
        try:
            from loratui.userfiles import decode_text

            raw = path.read_bytes()
            text = decode_text(raw, path)   # UTF-8 (BOM or not), UTF-16/32 as written
            if path.suffix.lower() == ".json":
                new = _edit_json(text, edits)
            else:
                new = _edit_toml(text.replace("\r\n", "\n"), edits)
            if new.replace("\r\n", "\n") != text.replace("\r\n", "\n"):
                from loratui.userfiles import encode_like, keep_backup

                keep_backup(path)     # <name>.<time>.bak: never over an earlier backup
                # the file's own encoding, BOM and line ends
                atomic_write_bytes(path, encode_like(new.replace("\r\n", "\n"), raw))
            fixed += len(group)
        except Exception as exc:  # report, never lose the file
            errors.append(Message(N_("{path}: could not apply fixes ({error}); the file was "
                                     "not changed"), path=str(path),
                                  error=f"{type(exc).__name__}: {error_text(exc)}"))
    return fixed, errors


def _resolved(value: Any, current: Any) -> Any:
    """A `Relative` edit's value from the final value of the key it follows."""
    if isinstance(current, str):
        try:
            current = float(current.strip().strip("\"'"))
        except ValueError:
            current = None
    number = value.resolve(current)
    if number is None:
        return None
    from loratui.doctor.engine import fmt_num

    return fmt_num(number) if value.as_text else number


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
        if isinstance(value, Relative):
            value = _resolved(value, _lookup(doc, value.key))
            if value is None:
                continue
        if value is DELETE:
            if last in node:
                del node[last]
        else:
            node[last] = list(value) if isinstance(value, tuple) else value
    return tomlkit.dumps(doc)


def _lookup(doc: Any, path: tuple[str, ...]) -> Any:
    node = doc
    for part in path:
        if isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        elif hasattr(node, "get"):
            node = node.get(part)
        else:
            return None
    return getattr(node, "unwrap", lambda: node)()


def _edit_json(text: str, edits: dict[tuple[str, ...], Any]) -> str:
    data = json.loads(text)
    m = re.search(r"^([ \t]+)\"", text, re.M)
    indent: int | str = len(m.group(1)) if m and m.group(1).strip(" ") == "" else \
        (m.group(1) if m else 4)
    for path, value in edits.items():
        node = data
        for part in path[:-1]:
            node = node.setdefault(part, {})
        if isinstance(value, Relative):
            value = _resolved(value, _lookup(data, value.key))
            if value is None:
                continue
        if value is DELETE:
            node.pop(path[-1], None)
        else:
            node[path[-1]] = value
    out = json.dumps(data, indent=indent, ensure_ascii=False)
    return out + ("\n" if text.endswith("\n") else "")

"""`_` is gettext wherever a module imports it from loratui.i18n: a function that also uses
`_` as a throwaway name (`a, _, b = text.partition(":")`) makes it a local variable, and its
`_("…")` calls crash with "'str' object is not callable" in every language."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[2] / "loratui"


def _shadowing(tree: ast.Module) -> list[str]:
    found = []
    for fn in ast.walk(tree):
        if not isinstance(fn, (ast.FunctionDef, ast.AsyncFunctionDef)):
            continue
        stored = [n.lineno for n in ast.walk(fn)
                  if isinstance(n, ast.Name) and n.id == "_" and isinstance(n.ctx, ast.Store)]
        called = any(isinstance(n, ast.Call) and isinstance(n.func, ast.Name)
                     and n.func.id == "_" for n in ast.walk(fn))
        if stored and called:
            found.append(f"{fn.name} (line {stored[0]})")
    return found


def _imports_gettext(tree: ast.Module) -> bool:
    return any(isinstance(n, ast.ImportFrom) and n.module == "loratui.i18n"
               and any(a.name == "_" for a in n.names) for n in ast.walk(tree))


def test_no_function_uses_underscore_both_as_gettext_and_as_a_variable():
    bad = []
    for path in sorted(PACKAGE.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        if _imports_gettext(tree):
            bad += [f"{path.relative_to(PACKAGE.parent)}: {where}" for where in _shadowing(tree)]
    assert not bad, "rename the throwaway `_` (e.g. `_sep`):\n" + "\n".join(bad)


def test_the_check_sees_the_mistake():
    tree = ast.parse("from loratui.i18n import _\n"
                     "def f(s):\n    a, _, b = s.partition(':')\n    return _('x')\n")
    assert _imports_gettext(tree) and _shadowing(tree) == ["f (line 3)"]

"""Registered predicates: the small Python functions that compute rules.

A predicate is `fn(inp, ctx, rule, th) -> iterable[Hit]`:
- `inp`  the `Input` being checked (its `.facts` / `.data` depend on the input kind),
- `ctx`  the `Context` (all inputs of this run, options, lazy GPU probe),
- `rule` the `Rule` (its regexes, needles, message),
- `th`   the rule's thresholds with the user's `[doctor]` overrides applied.
Each `Hit` becomes one `Diagnostic`; its `vars` fill the rule's message template.

Modules register with `@predicate("name")`; a rule file names its module in
`[meta] module = "..."`, and the engine imports that module only when one of its
rules applies to an input present, so start-up stays cheap.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

PREDICATES: dict[str, Callable[..., Iterable[Hit]]] = {}


def predicate(name: str):
    def register(fn):
        if name in PREDICATES and PREDICATES[name] is not fn:
            raise ValueError(f"predicate {name!r} registered twice")
        PREDICATES[name] = fn
        return fn
    return register


class Hit:
    """What a predicate found. `key` is a canonical config key (mapped to the source
    file's own key) or a free-form key; `edits` are canonical keys → new values."""

    __slots__ = ("applicability", "command", "edits", "image", "key", "line", "path",
                 "refs", "severity", "span", "suppress", "vars")

    def __init__(self, vars: dict[str, Any] | None = None, *, key: str | None = None,
                 line: int | None = None, span: tuple[int, int] | None = None,
                 image: str | None = None, path: str | None = None,
                 edits: dict[str, Any] | None = None, command: str | None = None,
                 applicability: str | None = None, suppress: Iterable[str] = (),
                 refs: Iterable[str] | None = None, severity: str | None = None) -> None:
        self.vars = vars or {}
        self.key = key
        self.line = line
        self.span = span
        self.image = image
        self.path = path
        self.edits = edits or {}
        self.command = command
        self.applicability = applicability
        self.suppress = tuple(suppress)
        # What this input shows can narrow a rule: only the refs it supports (no
        # "Dreambooth tab" on every out-of-memory error), a lower severity (a traceback
        # the run went on after is information, not "the run stopped with").
        self.refs = tuple(refs) if refs is not None else None
        self.severity = severity


class Text:
    """A message part a predicate computes, in English with its translations in the message
    catalogue: `Text(N_("the trigger word `{word}` is a common phrase"), word=w)`. It is
    English wherever a string is formatted (the `message`, JSON, SARIF); a report in
    another language renders `localized()` into the rule's translated message."""

    __slots__ = ("args", "template")

    def __init__(self, template: str, **args: Any) -> None:
        self.template = template
        self.args = args

    def __str__(self) -> str:
        from loratui.wording import counted

        return self.template.format(**counted({k: v if type(v) is int else str(v)
                                               for k, v in self.args.items()}))

    def __format__(self, spec: str) -> str:
        return format(str(self), spec)

    def __eq__(self, other: object) -> bool:
        return str(self) == str(other)

    def __hash__(self) -> int:
        return hash(str(self))

    def localized(self) -> str:
        from loratui.i18n import _, localized
        from loratui.wording import counted

        args = {k: localized(v) for k, v in self.args.items()}
        try:
            return _(self.template).format(**counted(args))
        except (KeyError, IndexError, ValueError):  # a translation with other placeholders
            return str(self)


class TextList(Text):
    """Computed parts joined into one, with the catalogue's separators in another language:
    `TextList([Text(...), ...], "and")` joins clauses ("a and b"), `"comma"` ("a, b"),
    `"items"` names ("a, b and c"; Chinese "a、b 和 c") or `"none"` (parts that carry their
    own spacing)."""

    __slots__ = ("parts", "separator")

    def __init__(self, parts: list[Any], separator: str = "comma") -> None:
        super().__init__("")
        self.parts = list(parts)
        self.separator = separator

    def __str__(self) -> str:
        if self.separator == "items":
            return _items([str(p) for p in self.parts], ", ", " and ")
        sep = {"and": " and ", "none": ""}.get(self.separator, ", ")
        return sep.join(str(p) for p in self.parts)

    def localized(self) -> str:
        from loratui.i18n import localized, pgettext

        parts = [str(localized(p)) for p in self.parts]
        if self.separator == "items":
            return _items(parts, pgettext("list of names", ", "),
                          pgettext("list of names", " and "))
        sep = pgettext("list separator", " and ") if self.separator == "and" else \
            "" if self.separator == "none" else pgettext("list separator", ", ")
        return sep.join(parts)


def _items(parts: list[str], comma: str, last: str) -> str:
    """"a, b and c": the last two joined by `last`, the others by `comma`."""
    return comma.join(parts[:-1]) + last + parts[-1] if len(parts) > 1 else "".join(parts)

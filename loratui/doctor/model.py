"""The diagnostic record: what every rule produces and every output format prints.

Plain classes with `__slots__` rather than dataclasses: `loratui doctor` must start in
about the time of `import rich`, and `dataclasses` pulls in `inspect`.
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

SEVERITIES = ("error", "warning", "info")
SEVERITY_RANK = {"error": 0, "warning": 1, "info": 2}
APPLICABILITIES = ("safe", "unsafe", "display-only")


class Location:
    """Where a finding is: a file plus a config key, a line, a prompt span or an image."""

    __slots__ = ("column", "image", "key", "line", "path", "span")

    def __init__(self, path: str = "", key: str | None = None, line: int | None = None,
                 column: int | None = None, span: tuple[int, int] | None = None,
                 image: str | None = None) -> None:
        self.path = path
        self.key = key
        self.line = line
        self.column = column
        self.span = span
        self.image = image

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"path": self.path}
        for name in ("key", "line", "column", "image"):
            value = getattr(self, name)
            if value is not None:
                out[name] = value
        if self.span is not None:
            out["span"] = list(self.span)
        return out

    def __repr__(self) -> str:
        return f"Location({self.to_dict()!r})"


class Fix:
    """A proposed change. `edits` maps a key path in the source file to a new value
    (`DELETE` removes the key); display-only fixes carry advice or a command instead."""

    __slots__ = ("applicability", "command", "edits", "local_title", "title")

    def __init__(self, applicability: str, title: str,
                 edits: dict[tuple[str, ...], Any] | None = None, command: str | None = None,
                 local_title: str | None = None):
        if applicability not in APPLICABILITIES:
            raise ValueError(f"unknown fix applicability {applicability!r}")
        self.applicability = applicability
        self.title = title
        self.edits = edits or {}
        self.command = command
        self.local_title = local_title  # the title in the report's language, if translated

    @property
    def writable(self) -> bool:
        return bool(self.edits) and self.applicability != "display-only"

    def to_dict(self, lang: str | None = None) -> dict[str, Any]:
        out: dict[str, Any] = {"applicability": self.applicability, "title": self.title}
        if lang and self.local_title:
            out[f"title_{lang}"] = self.local_title
        if self.edits:
            out["edits"] = [_edit_dict(k, v) for k, v in self.edits.items()]
        if self.command:
            out["command"] = self.command
        return out


class Relative:
    """An edit whose value follows another key's *final* value: `factor` × the value `key`
    has once every fix to the file is applied (`default` when the file does not set it).
    So "alpha = rank" stays true when another fix changes the rank in the same run."""

    __slots__ = ("as_text", "default", "factor", "key")

    def __init__(self, key: Any, factor: float = 1.0, default: float | None = None,
                 as_text: bool = False) -> None:
        self.key = key  # a canonical key in a Hit; the source file's key path in a Fix
        self.factor = factor
        self.default = default
        self.as_text = as_text  # the file writes this number as a string (kohya_ss JSON)

    def resolve(self, base: Any) -> float | None:
        try:
            value = float(base if base is not None else self.default)
        except (TypeError, ValueError):
            return None
        return round(value * self.factor, 6)

    def __repr__(self) -> str:
        return f"Relative({self.key!r}, {self.factor!r})"


class _Delete:
    def __repr__(self) -> str:
        return "DELETE"


DELETE = _Delete()


def _edit_dict(key: tuple[str, ...], value: Any) -> dict[str, Any]:
    out: dict[str, Any] = {"key": ".".join(key)}
    if value is DELETE:
        out.update(value=None, delete=True)
    elif isinstance(value, Relative):
        out.update(value=None, same_as=".".join(value.key), factor=value.factor)
    else:
        out["value"] = value
    return out


class Diagnostic:
    """One finding: stable code, kebab-case name, severity, message, location, refs, fix.
    `message` is English; `lang` and `local_message` / `local_title` are the message and the
    rule's title in another language when the catalog was loaded in one (`[rule.zh]`)."""

    __slots__ = ("code", "fix", "lang", "local_message", "local_title", "location", "message",
                 "name", "refs", "severity")

    def __init__(self, code: str, name: str, severity: str, message: str,
                 location: Location | None = None, refs: tuple[str, ...] | list[str] = (),
                 fix: Fix | None = None, *, lang: str | None = None,
                 local_message: str | None = None, local_title: str | None = None) -> None:
        if severity not in SEVERITIES:
            raise ValueError(f"unknown severity {severity!r}")
        self.code = code
        self.name = name
        self.severity = severity
        self.message = message
        self.location = location or Location()
        self.refs = tuple(refs)
        self.fix = fix
        self.lang = lang
        self.local_message = local_message
        self.local_title = local_title

    @property
    def shown_message(self) -> str:
        """The message in the report's language."""
        return self.local_message or self.message

    def to_dict(self) -> dict[str, Any]:
        """English keys and English text; `message_zh` / `title_zh` (and the fix's
        `title_zh`) are added when the report was asked for in Chinese."""
        out: dict[str, Any] = {
            "code": self.code,
            "name": self.name,
            "severity": self.severity,
            "message": self.message,
        }
        if self.lang and self.local_message:
            out[f"message_{self.lang}"] = self.local_message
        if self.lang and self.local_title:
            out[f"title_{self.lang}"] = self.local_title
        out.update({
            "refs": list(self.refs),
            "location": self.location.to_dict(),
            "fix": self.fix.to_dict(self.lang) if self.fix else None,
        })
        return out

    def sort_key(self) -> tuple:
        loc = self.location
        return (loc.path, loc.line or 0, SEVERITY_RANK[self.severity], self.code, loc.key or "")

    def __repr__(self) -> str:
        return f"<{self.code} {self.name} {self.severity} {self.location.path}:{self.message!r}>"

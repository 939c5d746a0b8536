"""Load and save `loratui.toml` with comments preserved (tomlkit), and readable errors."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import tomlkit
from pydantic import ValidationError

from loratui.atomic import atomic_write_bytes, atomic_write_text
from loratui.i18n import N_, Message, _, localized
from loratui.userfiles import (
    SYNTAX_FIX,
    UserFileError,
    broken_link,
    encode_like,
    keep_backup,
    read_text,
    short_repr,
    too_deep,
)

from .model import RunConfig, field_docs

CONFIG_NAME = "loratui.toml"


class ConfigError(Exception):
    """A config that cannot be used; `str()` names the file, key, value and the allowed range.
    `unreadable`: the file could not be read or parsed at all (vs. a value out of range)."""

    def __init__(self, path: Path | str, problems: list[str], *, unreadable: bool = False):
        self.path = Path(path)
        self.problems = problems
        self.unreadable = unreadable
        super().__init__(self._text(str))

    def _text(self, shown) -> str:
        return f"{self.path}: " + ("\n  " if len(self.problems) > 1 else "") + \
            "\n  ".join(shown(p) for p in self.problems)

    def localized(self) -> str:
        """The message in the current language (the problems are `Message`s)."""
        return self._text(localized)


def _allowed(key: str) -> str:
    from .docs import range_text

    row = next((r for r in field_docs() if r["key"] == key), None)
    return range_text(row) if row else ""


def describe_validation_error(path: Path | str, err: ValidationError) -> ConfigError:
    problems: list[str] = []
    for e in err.errors():
        key = ".".join(str(p) for p in e["loc"])
        value = e.get("input")
        if e["type"] == "extra_forbidden":
            problems.append(Message(N_("unknown key `{key}` (check the spelling; `loratui config "
                                       "show` lists every key)"), key=key))
            continue
        text = _problem(e)
        if text.startswith("`"):      # the validator named the key and value itself
            problems.append(text)
            continue
        allowed = _allowed(key)
        msg = Message(N_("`{key}` = {value}: {problem}"), key=key, value=short_repr(value),
                      problem=text)
        problems.append(Message(N_("{problem} ({allowed})"), problem=msg, allowed=allowed)
                        if allowed else msg)
    return ConfigError(path, problems)


# pydantic's messages for the errors a config has, in its own English wording (the
# catalogue translates them); another wording from a newer pydantic is shown as it is
PYDANTIC_MESSAGES = {
    "greater_than_equal": N_("Input should be greater than or equal to {ge}"),
    "greater_than": N_("Input should be greater than {gt}"),
    "less_than_equal": N_("Input should be less than or equal to {le}"),
    "less_than": N_("Input should be less than {lt}"),
    "int_parsing": N_("Input should be a valid integer, unable to parse string as an integer"),
    "int_from_float": N_("Input should be a valid integer, got a number with a fractional part"),
    "int_type": N_("Input should be a valid integer"),
    "float_parsing": N_("Input should be a valid number, unable to parse string as a number"),
    "float_type": N_("Input should be a valid number"),
    "finite_number": N_("Input should be a finite number"),
    "bool_parsing": N_("Input should be a valid boolean, unable to interpret input"),
    "bool_type": N_("Input should be a valid boolean"),
    "string_type": N_("Input should be a valid string"),
    "literal_error": N_("Input should be {expected}"),
}


def _problem(e: dict) -> str:
    """What is wrong with one value: pydantic's message as a `Message`, or the validator's
    own (a ValueError raised with a Message keeps it)."""
    ctx = dict(e.get("ctx") or {})
    if e["type"] == "value_error" and isinstance(ctx.get("error"), ValueError):
        cause = ctx["error"]
        return cause.args[0] if cause.args and isinstance(cause.args[0], Message) else \
            e["msg"].removeprefix("Value error, ")
    template = PYDANTIC_MESSAGES.get(e["type"])
    if template is None:
        return e["msg"]
    if "expected" in ctx:   # "'no', 'fp16' or 'bf16'"
        items, sep, last = str(ctx["expected"]).rpartition(" or ")
        if sep:
            ctx["expected"] = Message(N_("{items} or {last}"), items=items, last=last)
    try:
        text = Message(template, **ctx)
    except (KeyError, IndexError, ValueError):
        return e["msg"]
    return text if text == e["msg"] else e["msg"]


def parse_config(data: dict[str, Any], path: Path | str = "<config>") -> RunConfig:
    try:
        return RunConfig.model_validate(data)
    except ValidationError as err:
        raise describe_validation_error(path, err) from None


def load_config(path: Path | str, *, resolve: bool = True) -> RunConfig:
    """Read a loratui.toml. Relative paths inside are taken from the file's folder."""
    path = Path(path)
    if not path.exists():
        raise ConfigError(path, [broken_link(path) or Message(N_(
            "file not found (create one with `loratui presets --write`)"))], unreadable=True)
    try:
        data = parse_toml(read_text(path), path)
    except UserFileError as exc:
        raise ConfigError(path, [exc.detail], unreadable=True) from None
    cfg = parse_config(data, path)
    return cfg.resolve_paths(path.parent.resolve()) if resolve else cfg


def parse_toml(text: str, path: Path | str = "<config>") -> dict[str, Any]:
    """The plain data of a loratui.toml; every parse failure (a duplicate key, nesting
    deep enough to exhaust the parser) is a UserFileError."""
    try:
        return tomlkit.parse(text).unwrap()
    except RecursionError:
        raise too_deep(path) from None
    except tomlkit.exceptions.KeyAlreadyPresent as exc:
        raise UserFileError(path, Message(N_("not valid TOML: {error}"),
                                          error=f"{str(exc).rstrip('.')}{_where(text)}"),
                            Message(N_("keep one of the two lines (a key may appear once per "
                                       "table)"))) from None
    except tomlkit.exceptions.TOMLKitError as exc:
        raise UserFileError(path, Message(N_("not valid TOML: {error}"), error=str(exc)),
                            SYNTAX_FIX) from None


def _where(text: str) -> str:
    """tomllib's " (at line N, column M)" for a duplicate key (tomlkit does not say)."""
    from loratui.userfiles import UserFileError, loads_toml

    try:
        loads_toml(text)
    except UserFileError as exc:
        found = re.search(r"\(at line \d+, column \d+\)", exc.problem)
        return f" {found.group()}" if found else ""
    return ""


def _comment_for(row: dict[str, Any]) -> str:
    """A key's comment in the file: the first sentence of its description, in the language
    the file is written in (the catalogue has every description), then unit and pitfalls."""
    description = _(row["description"])
    if description != row["description"]:
        text = description.split("。")[0]
    else:
        text = re.split(r"(?<=[a-z)`])\. (?=[A-Z])", description)[0].rstrip(".")
    extras = []
    if row["unit"]:
        extras.append(row["unit"])
    if row["pitfalls"]:
        extras.append(", ".join(row["pitfalls"]))
    return text + (f" [{'; '.join(extras)}]" if extras else "")


HEADER = N_("loratui run config — `loratui config check` validates it,\n"
            "`loratui doctor` reviews it against the guide's pitfalls (P1–P34).")


def config_to_toml(cfg: RunConfig, existing: str | None = None) -> str:
    """Render `cfg` as TOML. With `existing` text, update it in place so comments survive."""
    data = cfg.model_dump(mode="json", exclude_none=True)
    if existing is not None:
        doc = tomlkit.parse(existing)
        _merge(doc, data)
        return tomlkit.dumps(doc)
    docs = {row["key"]: row for row in field_docs()}
    doc = tomlkit.document()
    for line in _(HEADER).splitlines():
        doc.add(tomlkit.comment(line))
    for section, values in data.items():
        if section == "doctor" and not values:
            continue
        doc.add(tomlkit.nl())
        doc.add(section, _table(values, section, docs))
    return tomlkit.dumps(doc)


def _table(values: dict[str, Any], prefix: str, docs: dict[str, dict[str, Any]]):
    table = tomlkit.table()
    for key, value in values.items():
        dotted = f"{prefix}.{key}"
        if isinstance(value, dict):
            table.add(key, _table(value, dotted, docs))
            continue
        item = tomlkit.item(value)
        if dotted in docs:
            item.comment(_comment_for(docs[dotted]))
        table.add(key, item)
    if prefix == "network" and "alpha" not in values:
        table.add(tomlkit.comment("alpha = 8.0  # " + _("empty = equal to rank")))
    return table


def _merge(doc: Any, data: dict[str, Any]) -> None:
    for key, value in data.items():
        if isinstance(value, dict):
            if key not in doc:
                if not value:
                    continue
                doc[key] = tomlkit.table()
            _merge(doc[key], value)
        elif key not in doc or doc[key] != value:
            doc[key] = value


def save_config(cfg: RunConfig, path: Path | str, *, replace: bool = False) -> Path | None:
    """Write `cfg` to `path` atomically, keeping the comments of an existing file. An
    existing file that cannot be read as TOML, or any existing file with `replace` (one
    that is TOML but not a valid config), is kept as a timestamped `.bak` first (its path
    is returned), never lost. A link is written through: it stays a link."""
    path = Path(path)
    existing, backup = None, None
    if path.exists():
        if not path.is_file():     # a folder, a pipe (copying it for a backup would hang)
            read_text(path)        # raises the UserFileError that says what it is
        if not replace:
            try:
                existing = read_text(path)
                parse_toml(existing, path)
            except UserFileError:
                existing = None
        if existing is None:
            backup = keep_backup(path)
    text = config_to_toml(cfg, existing)
    if existing is None:
        atomic_write_text(path, text)
    else:   # its encoding, BOM and line ends stay as the user's editor wrote them
        atomic_write_bytes(path, encode_like(text.replace("\r\n", "\n"),
                                             path.read_bytes()))
    return backup

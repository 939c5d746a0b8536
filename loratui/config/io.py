"""Load and save `loratui.toml` with comments preserved (tomlkit), and readable errors."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import tomlkit
from pydantic import ValidationError

from loratui.atomic import atomic_write_text

from .model import RunConfig, field_docs

CONFIG_NAME = "loratui.toml"


class ConfigError(Exception):
    """A config that cannot be used; `str()` names the file, key, value and the allowed range."""

    def __init__(self, path: Path | str, problems: list[str]):
        self.path = Path(path)
        self.problems = problems
        super().__init__(f"{self.path}: " + ("\n  " if len(problems) > 1 else "")
                         + "\n  ".join(problems))


def _allowed(key: str) -> str:
    from .docs import range_text

    row = next((r for r in field_docs() if r["key"] == key), None)
    return range_text(row) if row else ""


def describe_validation_error(path: Path | str, err: ValidationError) -> ConfigError:
    problems = []
    for e in err.errors():
        key = ".".join(str(p) for p in e["loc"])
        value = e.get("input")
        if e["type"] == "extra_forbidden":
            problems.append(f"unknown key `{key}` (check the spelling; `loratui config show` "
                            "lists every key)")
            continue
        allowed = _allowed(key)
        msg = f"`{key}` = {value!r}: {e['msg']}"
        if allowed:
            msg += f" ({allowed})"
        problems.append(msg)
    return ConfigError(path, problems)


def parse_config(data: dict[str, Any], path: Path | str = "<config>") -> RunConfig:
    try:
        return RunConfig.model_validate(data)
    except ValidationError as err:
        raise describe_validation_error(path, err) from None


def load_config(path: Path | str, *, resolve: bool = True) -> RunConfig:
    """Read a loratui.toml. Relative paths inside are taken from the file's folder."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(path, ["file not found (create one with `loratui presets --write`)"]) \
            from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(path, [f"cannot read: {exc}"]) from None
    try:
        doc = tomlkit.parse(text)
    except tomlkit.exceptions.ParseError as exc:
        raise ConfigError(path, [f"not valid TOML: {exc}"]) from None
    cfg = parse_config(doc.unwrap(), path)
    return cfg.resolve_paths(path.parent.resolve()) if resolve else cfg


def _comment_for(row: dict[str, Any]) -> str:
    text = re.split(r"(?<=[a-z)`])\. (?=[A-Z])", row["description"])[0].rstrip(".")
    extras = []
    if row["unit"]:
        extras.append(row["unit"])
    if row["pitfalls"]:
        extras.append(", ".join(row["pitfalls"]))
    return text + (f" [{'; '.join(extras)}]" if extras else "")


def config_to_toml(cfg: RunConfig, existing: str | None = None) -> str:
    """Render `cfg` as TOML. With `existing` text, update it in place so comments survive."""
    data = cfg.model_dump(mode="json", exclude_none=True)
    if existing is not None:
        doc = tomlkit.parse(existing)
        _merge(doc, data)
        return tomlkit.dumps(doc)
    docs = {row["key"]: row for row in field_docs()}
    doc = tomlkit.document()
    doc.add(tomlkit.comment("loratui run config — `loratui config check` validates it,"))
    doc.add(tomlkit.comment("`loratui doctor` reviews it against the guide's pitfalls (P1–P34)."))
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
        table.add(tomlkit.comment("alpha = 8.0  # empty = equal to rank"))
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


def save_config(cfg: RunConfig, path: Path | str) -> None:
    """Write `cfg` to `path` atomically, keeping the comments of an existing file."""
    path = Path(path)
    existing = path.read_text(encoding="utf-8") if path.exists() else None
    atomic_write_text(path, config_to_toml(cfg, existing))

"""Paths shortened in the middle, so the end of a path (the folder that matters) shows."""

from __future__ import annotations

import os
from pathlib import Path

from loratui.i18n import N_, _

# A path in a notification: Textual's toasts are at most half the screen wide, 40 columns
# at 80, less their border and padding.
TOAST_PATH = 34


def short_path(path: Path | str, width: int = 40) -> str:
    """`path` in at most `width` characters, cut in the middle so that both the start and
    the last folders stay readable: `/home/mei/…/hanfu/dataset`. `~` stands for home."""
    text, home = str(path), str(Path.home())
    if home != os.sep and (text == home or text.startswith(home + os.sep)):
        text = "~" + text[len(home):]
    if len(text) <= width:
        return text
    parts = text.split(os.sep)
    # The root and first folder (`/home`, `~`), the last name, then as many folders
    # next to the last name and then next to the first as fit.
    head = parts[:2] if parts[0] == "" and len(parts) > 2 else parts[:1]
    tail = parts[-1:]
    middle = parts[len(head):-1]

    def joined(h: list[str], t: list[str], cut: bool) -> str:
        return os.sep.join([*h, "…", *t] if cut else [*h, *t])

    if len(joined(head, tail, True)) > width:
        head = [] if parts[0] != "" else [""]
        if len(joined(head, tail, True)) > width:  # the last name alone is too long
            name, keep = parts[-1], max(2, width - 1)
            return name[: keep - keep // 2] + "…" + name[len(name) - keep // 2:]
    while middle and len(joined(head, [middle[-1], *tail], True)) <= width:
        tail.insert(0, middle.pop())
    while middle and len(joined([*head, middle[0]], tail, True)) <= width:
        head.append(middle.pop(0))
    return joined(head, tail, bool(middle))


def break_dotted(key: str, width: int) -> str:
    """A dotted setting name in lines of at most `width` columns, broken after its dots
    (`optimizer.` / `text_encoder_2_lr`), never inside a part; as it is when it fits or
    the width is not known yet (0)."""
    if width <= 0 or len(key) <= width:
        return key
    parts = [p + "." for p in key.split(".")]
    parts[-1] = parts[-1][:-1]
    lines = [""]
    for part in parts:
        if lines[-1] and len(lines[-1]) + len(part) > width:
            lines.append("")
        lines[-1] += part
    return "\n".join(lines)


def hanging(text: str, width: int, indent: str = "  ") -> str:
    """`text` wrapped to `width` columns with every line after `indent`, so wrapped lines
    hang under its first character (as the terminal would wrap it, CJK included); just
    `indent + text` while the width is not known (0)."""
    from rich.console import Console
    from rich.text import Text

    room = width - len(indent)
    if room <= 0:
        return indent + text
    lines = Text(text).wrap(Console(width=width), room, overflow="fold")
    return "\n".join(indent + line.plain.rstrip() for line in lines)


def in_project(path: str, project: Path) -> str:
    """A path inside the project as the project sees it (`dataset-512`, not the whole
    absolute path), which is also how loratui.toml reads it; any other path as it is."""
    if not path or not os.path.isabs(path):
        return path
    try:
        return str(Path(path).relative_to(project)) or path
    except ValueError:
        return path


def pad(text: str, width: int) -> str:
    """`text` padded with spaces to `width` terminal columns (a Chinese character takes
    two; str.ljust counts it as one)."""
    from rich.cells import cell_len

    return text + " " * max(0, width - cell_len(text))


SEVERITY_NAMES = {"error": N_("error"), "warning": N_("warning"), "info": N_("info")}


def severity_name(severity: str) -> str:
    """'error', 'warning', 'info' in the user's language."""
    return _(SEVERITY_NAMES[severity]) if severity in SEVERITY_NAMES else severity


def with_severity(name: str, severity: str) -> str:
    """"DS101 dataset-tiny (warning)", the severity in the user's language and brackets."""
    return _("{name} ({severity})").format(name=name, severity=severity_name(severity))

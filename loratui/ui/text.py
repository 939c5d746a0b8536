"""Paths shortened in the middle, so the end of a path (the folder that matters) shows."""

from __future__ import annotations

import os
from pathlib import Path

HOME = str(Path.home())


def short_path(path: Path | str, width: int = 40) -> str:
    """`path` in at most `width` characters, cut in the middle so that both the start and
    the last folders stay readable: `/home/mei/…/hanfu/dataset`. `~` stands for home."""
    text = str(path)
    if text == HOME or text.startswith(HOME + os.sep):
        text = "~" + text[len(HOME):]
    if len(text) <= width:
        return text
    parts = text.split(os.sep)
    head, tail = parts[:1], parts[1:]
    # Keep as many trailing parts as fit, then as many leading ones.
    kept_tail: list[str] = []
    while tail and len(os.sep.join([*head, "…", tail[-1], *kept_tail])) <= width:
        kept_tail.insert(0, tail.pop())
    while tail and len(os.sep.join([*head, tail[0], "…", *kept_tail])) <= width:
        head.append(tail.pop(0))
    if kept_tail:
        return os.sep.join([*head, "…", *kept_tail]) if tail else os.sep.join(
            [*head, *kept_tail])
    name = parts[-1]  # even the last name is too long: cut it in its middle
    keep = max(1, width - 1)
    return name[: keep - keep // 2] + "…" + name[len(name) - keep // 2:] if keep // 2 else \
        name[:keep] + "…"

"""Path inputs with completion (right arrow / end accepts the suggestion)."""

from __future__ import annotations

import os
import re
from pathlib import Path
from urllib.parse import unquote, urlparse

from textual import events
from textual.suggester import Suggester
from textual.widgets import Input


class PathSuggester(Suggester):
    """Suggest the first existing path that starts with what was typed.

    `base` resolves relative paths (the project folder); `dirs_only` hides files.
    """

    def __init__(self, base: Path | None = None, dirs_only: bool = False) -> None:
        super().__init__(use_cache=False, case_sensitive=True)
        self.base = base
        self.dirs_only = dirs_only

    async def get_suggestion(self, value: str) -> str | None:
        if not value:
            return None
        expanded = os.path.expanduser(value)
        path = Path(expanded)
        if not path.is_absolute() and self.base is not None:
            path = self.base / path
        folder, prefix = (path, "") if expanded.endswith(os.sep) else (path.parent, path.name)
        try:
            names = sorted(
                e.name + (os.sep if e.is_dir() else "")
                for e in os.scandir(folder)
                if e.name.startswith(prefix) and not e.name.startswith(".")
                and (e.is_dir() or not self.dirs_only)
            )
        except OSError:
            return None
        if not names:
            return None
        typed_tail = len(prefix)
        completion = names[0][typed_tail:]
        return value + completion if completion else None


def pasted_path(text: str) -> str:
    """A path as terminals and file managers paste it, as the path itself: dropped files
    come quoted (`'/data/my set' `), with escaped spaces (`/data/my\\ set`) or as a
    `file://` address."""
    text = text.strip()
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "'\"":
        return text[1:-1]
    if text.startswith("file://"):
        return unquote(urlparse(text).path)
    return re.sub(r"\\([ '\"()&])", r"\1", text)  # the shell's escapes of a dropped path


class PathInput(Input):
    """An Input for paths: the completion's ghost text goes away once Enter is pressed
    (what was typed is submitted; right arrow / end accepts the completion first); a
    pasted path loses the quotes or escapes a terminal added to it."""

    def _on_paste(self, event: events.Paste) -> None:
        if event.text:
            line = pasted_path(event.text.splitlines()[0])
            if self.selection.is_empty:
                self.insert_text_at_cursor(line)
            else:
                self.replace(line, *self.selection)
        event.stop()
        event.prevent_default()  # Input's own handler would paste it again, as it came

    async def action_submit(self) -> None:
        self._suggestion = ""
        await super().action_submit()

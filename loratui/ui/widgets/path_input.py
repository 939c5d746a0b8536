"""Path inputs with completion (right arrow / end accepts the suggestion)."""

from __future__ import annotations

import os
from pathlib import Path

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


class PathInput(Input):
    """An Input for paths: the completion's ghost text goes away once Enter is pressed
    (what was typed is submitted; right arrow / end accepts the completion first)."""

    async def action_submit(self) -> None:
        self._suggestion = ""
        await super().action_submit()

"""The latest sample image: terminal graphics where supported, half-blocks otherwise.

textual-image picks Kitty graphics, Sixel or half-block cells from what the terminal
answers; `LORATUI_IMAGES=halfcell` forces the half-block fallback (snapshots, tmux).
"""

from __future__ import annotations

import importlib
import importlib.util
import os
from pathlib import Path

from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Static

from loratui.i18n import _


def detect_graphics() -> None:
    """Import textual-image now: it queries the terminal (Kitty / Sixel support, cell size)
    and the answer must arrive before Textual starts reading keys, or it is typed into
    the focused input. Call before `App.run()`."""
    if os.environ.get("LORATUI_IMAGES", "").lower() in ("halfcell", "half", "blocks"):
        return
    if importlib.util.find_spec("textual_image") is not None:
        importlib.import_module("textual_image.renderable")


def _image_class():
    try:
        from textual_image import widget
    except ImportError:
        return None
    if os.environ.get("LORATUI_IMAGES", "").lower() in ("halfcell", "half", "blocks"):
        return widget.HalfcellImage
    return widget.Image


class SampleView(Vertical):
    DEFAULT_CSS = """
    SampleView { height: 1fr; }
    SampleView > .sample-caption { height: auto; color: $text-muted; }
    SampleView > .sample-image { height: 1fr; width: 1fr; }
    """

    def __init__(self, empty: str = "", **kw) -> None:
        super().__init__(**kw)
        self.path: Path | None = None
        self.empty = empty

    def compose(self) -> ComposeResult:
        yield Static(self.empty or _("no sample images yet"), classes="sample-caption",
                     markup=False)

    def show(self, path: Path | None, caption: str = "") -> None:
        label = self.query_one(".sample-caption", Static)
        if path is None and self.path is None:  # no image: the text is news ("cell 3/40")
            label.update(caption or self.empty)
            return
        if path == self.path:
            return
        self.path = path
        for old in self.query(".sample-image"):
            old.remove()
        if path is None:
            label.update(caption or self.empty)
            return
        cls = _image_class()
        label.update(caption or path.name)
        if cls is None:
            label.update(f"{caption or path.name} " + _("(install textual-image to preview)"))
            return
        try:
            self.mount(cls(path, classes="sample-image"))
        except Exception as exc:  # unreadable or half-written PNG: show why, keep going
            label.update(_("{name}: cannot show ({error})").format(name=path.name, error=exc))


ImagePreview = SampleView  # the same widget previews dataset images

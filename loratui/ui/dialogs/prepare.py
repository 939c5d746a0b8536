"""Ask how to prepare the training copy: crop / pad / bucket and where to write it."""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Grid, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, Select, Static

from loratui.i18n import N_, _
from loratui.ui.widgets import PathSuggester

MODE_HELP = {
    "crop": N_("centre-crop every image to resolution² (SD1.5's square; faces at the edge "
               "may be cut)"),
    "pad": N_("fit every image inside resolution² and pad the rest (nothing cut; borders "
              "are learned)"),
    "bucket": N_("crop each image to its nearest aspect bucket (area ≈ resolution²); turns "
                 "dataset.bucketing on"),
}


class PrepareDialog(ModalScreen[tuple[str, Path] | None]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", N_("Cancel")),
        Binding("ctrl+s", "accept", N_("Prepare")),
    ]

    def __init__(self, out: Path, resolution: int, mode: str = "crop") -> None:
        super().__init__(classes="dialog")
        self.out, self.resolution, self.mode = out, resolution, mode

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog-box"):
            yield Static(_("Prepare a {resolution}px training copy").format(
                resolution=self.resolution), id="dialog-title")
            yield Static(_("The source folder is never changed: images are rotated, converted "
                           "to RGB and resized into a new folder, captions copied beside "
                           "them."),
                         id="dialog-message")
            # The help line sits between two grids: spanning a grid's columns, its height
            # was measured in the first column's width, and in Chinese (one long "word"
            # to measure) that pushed the Write to row and the button out of the box.
            with Grid(classes="form"):
                yield Label(_("Mode"), classes="form-label")
                yield Select([(m, m) for m in MODE_HELP], value=self.mode, allow_blank=False,
                             id="mode")
            yield Static(_(MODE_HELP[self.mode]), id="mode-help", classes="form-help")
            with Grid(classes="form"):
                yield Label(_("Write to"), classes="form-label")
                yield Input(str(self.out), id="out", suggester=PathSuggester(dirs_only=True))
            yield Button(_("Prepare (ctrl+s)"), id="go", variant="primary")

    @on(Select.Changed, "#mode")
    def mode_changed(self, event: Select.Changed) -> None:
        mode = str(event.value)
        self.query_one("#mode-help", Static).update(_(MODE_HELP[mode]) if mode in MODE_HELP
                                                    else "")

    @on(Button.Pressed, "#go")
    @on(Input.Submitted, "#out")
    def action_accept(self) -> None:
        out = self.query_one("#out", Input).value.strip()
        if not out:
            return
        self.dismiss((str(self.query_one("#mode", Select).value), Path(out).expanduser()))

    def action_cancel(self) -> None:
        self.dismiss(None)

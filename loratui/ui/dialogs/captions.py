"""Dialogs of the Captions step: BLIP auto-captioning and bulk edits."""

from __future__ import annotations

from typing import Any, ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Grid, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Checkbox, Input, Label, Static

from loratui.i18n import N_, _
from loratui.ui.widgets import PathSuggester


class _FormDialog(ModalScreen[dict[str, Any] | None]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", N_("Cancel")),
        Binding("ctrl+s", "accept", N_("Run")),
    ]

    def __init__(self) -> None:
        super().__init__(classes="dialog")

    def on_mount(self) -> None:
        self.query("Input").first().focus()

    def values(self) -> dict[str, Any]:
        return {w.id: w.value for w in self.query("Input, Checkbox") if w.id}

    @on(Button.Pressed, "#go")
    def go_pressed(self) -> None:
        self.action_accept()

    def action_accept(self) -> None:
        self.dismiss(self.values())

    def action_cancel(self) -> None:
        self.dismiss(None)


class AutoCaptionDialog(_FormDialog):
    def __init__(self, model: str = "") -> None:
        super().__init__()
        self.model = model

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog-box"):
            yield Static(_("Auto-caption with BLIP"), id="dialog-title")
            yield Static(_("Writes a caption beside every image that has none, with the "
                           "trigger word first. Then read and fix them by hand (P5): BLIP "
                           "describes, it does not know your subject. Nothing is downloaded: "
                           "give a local BLIP folder, or leave it empty to use the Hugging "
                           "Face cache."),
                         id="dialog-message")
            with Grid(classes="form"):
                yield Label(_("BLIP model"), classes="form-label")
                yield Input(self.model, id="model", placeholder="blip-image-captioning-base/",
                            suggester=PathSuggester(dirs_only=True))
            yield Checkbox(_("Also replace empty captions"), True, id="overwrite_empty")
            yield Checkbox(_("Replace ALL captions (originals are backed up)"), False,
                           id="overwrite")
            yield Button(_("Caption (ctrl+s)"), id="go", variant="primary")

    @on(Input.Submitted)
    def submitted(self) -> None:
        self.action_accept()


class BulkEditDialog(_FormDialog):
    def compose(self) -> ComposeResult:
        with Vertical(id="dialog-box"):
            yield Static(_("Edit every caption"), id="dialog-title")
            yield Static(_("Applied in this order: replace, remove tags, de-duplicate, prefix."),
                         id="dialog-message")
            with Grid(classes="form"):
                yield Label(_("Replace"), classes="form-label")
                yield Input(id="old", placeholder=_("text to find"))
                yield Label(_("with"), classes="form-label")
                yield Input(id="new", placeholder=_("replacement"))
                yield Label(_("Remove tags"), classes="form-label")
                yield Input(id="remove", placeholder="tag1, tag2")
                yield Label(_("Prefix"), classes="form-label")
                yield Input(id="prefix", placeholder=_("put first in every caption"))
            yield Checkbox(_("Remove duplicate tags"), False, id="dedupe")
            yield Static("", id="field-error", classes="bad", markup=False)
            yield Button(_("Apply (ctrl+s)"), id="go", variant="primary")

    def action_accept(self) -> None:
        """Nothing filled in is no edit: the dialog says so instead of closing on a run
        that changes no caption."""
        values = self.values()
        if not any(str(values.get(k, "")).strip() for k in ("old", "remove", "prefix")) \
                and not values.get("dedupe"):
            self.query_one("#field-error", Static).update(
                _("Nothing to apply: fill in at least one of the fields above."))
            self.app.bell()
            return
        self.dismiss(values)

"""An error shown as a dialog: what failed, why, and what to do. Never a traceback."""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, Static

from loratui.i18n import N_, _


class ErrorDialog(ModalScreen[None]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,enter", "dismiss", N_("Close")),
    ]

    def __init__(self, title: str, message: str, hint: str = "") -> None:
        super().__init__(classes="dialog")
        self.title_text = title
        self.message = message
        self.hint = hint

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog-box", classes="error"):
            yield Static(self.title_text, id="dialog-title", markup=False)
            with VerticalScroll(id="dialog-body"):
                yield Static(self.message, id="dialog-message", markup=False)
                if self.hint:
                    yield Static(self.hint, id="dialog-hint", markup=False)
            yield Button(_("Close"), id="dialog-close", variant="error")

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        self.dismiss()

    async def action_dismiss(self, result: None = None) -> None:
        self.dismiss(result)

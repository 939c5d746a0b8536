"""Edit one config field: the right input for its type, its explanation, live validation."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Select, Static

from loratui.i18n import N_, _

# (text typed by the user) -> (value, error message or "")
Parser = Callable[[Any], tuple[Any, str]]


class EditFieldDialog(ModalScreen[Any]):
    """Dismisses with the new value, or with `EditFieldDialog.CANCEL`."""

    CANCEL = object()
    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "cancel", N_("Cancel")),
                                             Binding("ctrl+s", "accept", N_("Set"))]

    def __init__(self, row: dict[str, Any], current: Any, help_text: str, parse: Parser) -> None:
        super().__init__(classes="dialog")
        self.row, self.current, self.help_text, self.parse = row, current, help_text, parse

    def compose(self) -> ComposeResult:
        row = self.row
        with Vertical(id="dialog-box"):
            yield Static(row["key"], id="dialog-title", markup=False)
            yield Static(self.help_text, id="dialog-message", markup=False)
            if row["choices"] or row["type"] == "bool":
                choices = row["choices"] or [True, False]
                yield Select([(str(c).lower() if isinstance(c, bool) else str(c), c)
                              for c in choices], value=self.current, allow_blank=False,
                             id="field-value")
            else:
                yield Input(_to_text(self.current), id="field-value", select_on_focus=True)
            yield Static("", id="field-error", classes="bad")
            yield Button(_("Set (enter)"), id="set", variant="primary")

    def on_mount(self) -> None:
        self.query_one("#field-value").focus()

    @on(Input.Changed, "#field-value")
    def changed(self, event: Input.Changed) -> None:
        _value, error = self.parse(event.value)
        self.query_one("#field-error", Static).update(error)

    @on(Input.Submitted, "#field-value")
    def submitted(self) -> None:
        self.action_accept()

    @on(Button.Pressed, "#set")
    def pressed(self) -> None:
        self.action_accept()

    def action_accept(self) -> None:
        widget = self.query_one("#field-value")
        raw = widget.value
        value, error = self.parse(raw)
        if error:
            self.query_one("#field-error", Static).update(error)
            return
        self.dismiss(value)

    def action_cancel(self) -> None:
        self.dismiss(self.CANCEL)


def _to_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, list):
        return " | ".join(map(str, value))
    return str(value)

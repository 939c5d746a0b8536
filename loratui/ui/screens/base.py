"""The frame every wizard step shares: header, step indicator, body, footer, keys."""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.screen import Screen
from textual.widgets import Footer, Header
from textual.worker import Worker, WorkerState

from loratui.ui.widgets import StepIndicator

if TYPE_CHECKING:
    from loratui.ui.app import LoratuiApp
    from loratui.ui.state import WizardState


class WizardScreen(Screen):
    """One step of the wizard. Subclasses set STEP and implement compose_body()."""

    STEP: ClassVar[str] = ""
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+p", "back", "Back", priority=True),
        Binding("ctrl+n", "next", "Next", priority=True),
        Binding("ctrl+g", "doctor", "Doctor", priority=True),
    ]

    @property
    def wizard(self) -> LoratuiApp:
        return self.app  # type: ignore[return-value]

    @property
    def state(self) -> WizardState:
        return self.wizard.state

    def compose(self) -> ComposeResult:
        yield Header()
        yield StepIndicator(self.STEP, id="steps")
        yield from self.compose_body()
        yield Footer()

    def compose_body(self) -> ComposeResult:
        yield from ()

    def on_screen_resume(self) -> None:
        self.refresh_from_state()

    def refresh_from_state(self) -> None:
        """Show the App's current state (called whenever the screen becomes active)."""

    def before_next(self) -> bool:
        """Save what this step edits; return False to stay on the step."""
        return True

    def save_config(self) -> bool:
        """Write loratui.toml; on failure show why in a dialog and return False."""
        try:
            self.state.save()
        except OSError as exc:
            self.wizard.show_error("Cannot save loratui.toml", f"{self.state.config_path}: {exc}",
                                   "Pick a project folder you can write to.")
            return False
        return True

    def action_next(self) -> None:
        if self.before_next():
            self.wizard.go_step(+1)

    def action_back(self) -> None:
        self.wizard.go_step(-1)

    def action_doctor(self) -> None:
        self.wizard.open_doctor()

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if event.state == WorkerState.ERROR:
            self.wizard.report_worker_failure(event.worker)

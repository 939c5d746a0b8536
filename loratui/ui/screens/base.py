"""The frame every wizard step shares: header, step indicator, body, footer, keys."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.screen import Screen
from textual.widgets import Header, Input, Static
from textual.worker import Worker, WorkerState

from loratui.i18n import N_, _
from loratui.ui.widgets import STEPS, Footer, SizeNote, StepIndicator, step_label

if TYPE_CHECKING:
    from pathlib import Path

    from loratui.ui.app import LoratuiApp
    from loratui.ui.state import WizardState


def guarded(what: str) -> Callable:
    """For an action that calls the core outside a worker: a failure becomes the app's
    dialog (user's problem: what to fix; bug: logged) instead of ending the app."""

    def wrap(fn: Callable) -> Callable:
        @functools.wraps(fn)
        def run(self: Screen, *args: Any, **kw: Any) -> Any:
            try:
                return fn(self, *args, **kw)
            except Exception as exc:  # reported, never swallowed
                self.app.report_failure(what, exc)  # type: ignore[attr-defined]
                return None

        return run

    return wrap



class WizardScreen(Screen):
    """One step of the wizard. Subclasses set STEP and implement compose_body().

    HELP explains the step and its fields (F1); `problem()` says, in one line, what
    must be fixed before ctrl+n may leave the step."""

    STEP: ClassVar[str] = ""
    HELP: ClassVar[str] = ""
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+p", "back", N_("Back"), priority=True),
        Binding("ctrl+n", "next", N_("Next"), priority=True),
        Binding("ctrl+g", "doctor", N_("Doctor"), priority=True),
    ]

    @property
    def wizard(self) -> LoratuiApp:
        return self.app  # type: ignore[return-value]

    @property
    def state(self) -> WizardState:
        return self.wizard.state

    def compose(self) -> ComposeResult:
        yield Header(icon="◆")  # a glyph every monospace font has (not ⭘)
        yield SizeNote()
        yield StepIndicator(self.STEP, id="steps")
        yield from self.compose_body()
        yield Static("", id="guard", classes="bad", markup=False)
        yield Footer()

    def compose_body(self) -> ComposeResult:
        yield from ()

    def on_resize(self) -> None:
        self.query_one(SizeNote).fit()

    def on_screen_resume(self) -> None:   # the terminal may have changed size meanwhile
        self.query_one(SizeNote).fit()

    def arrive(self) -> None:
        """The user came (back) to this step: show the state as it is now. Not called
        when a dialog on top closes, so a dialog's work is not cut short by a rescan."""
        self.say("")
        self.refresh_from_state()

    def refresh_from_state(self) -> None:
        """Show the App's current state (called whenever the screen becomes active)."""

    def before_next(self) -> bool:
        """Save what this step edits; return False to stay on the step."""
        return True

    def problem(self) -> str:
        """What must be fixed on this step before going on, in one line ("" = nothing)."""
        return ""

    def say(self, line: str) -> None:
        """The step's one-line status under its body (hidden when empty)."""
        guard = self.query_one("#guard", Static)
        guard.update(line)
        guard.display = bool(line)
        self._said_over = {field.id: field.value for field in self.query(Input)}

    def on_input_changed(self, event: Input.Changed) -> None:
        """A field now holds something else than when the line was said: the line about
        what was wrong is out of date."""
        said_over = getattr(self, "_said_over", {})
        if event.input.id in said_over and event.value != said_over[event.input.id]:
            self.say("")

    @property
    def label(self) -> str:
        return step_label(self.STEP)

    # ---- help (F1 / ?) ---------------------------------------------------------------
    def codes_shown(self) -> list[str]:
        """The doctor codes (DS113, CF103) and pitfall numbers (P7) this step shows now."""
        return []

    def help_topic(self) -> tuple[str, str, list[str]]:
        keys = [f"{b.key_display or b.key:8} {_(b.description)}" for b in self._bindings_shown()]
        body = _(self.HELP).strip() + "\n\n" + _("Keys on this step:") + "\n" + "\n".join(
            f"  {k}" for k in keys)
        return _("Help: the {step} step").format(step=self.label), body, self.codes_shown()

    def _bindings_shown(self) -> list[Binding]:
        rows = []
        for b in [*self.BINDINGS, *WizardScreen.BINDINGS]:
            if isinstance(b, Binding) and b.description and b not in rows \
                    and self.check_action(b.action, ()) is not False:  # keys the step has
                rows.append(b)
        return rows

    def save_config(self, title: str = N_("Cannot save loratui.toml")) -> Path | None:
        """Write loratui.toml and return its path; on failure show why in a dialog (a
        folder or a pipe in its place, a folder that cannot be written) and return None."""
        from loratui.userfiles import UserFileError

        try:
            return self.state.save()
        except UserFileError as exc:
            self.wizard.show_error(_(title), exc.localized(),
                                   _("Pick a project folder you can write to."))
        except OSError as exc:
            self.wizard.show_error(_(title), f"{self.state.config_path}: {exc}",
                                   _("Pick a project folder you can write to."))
        return None

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """No Back on the first step and no Next on the last: nothing to go to, so the
        keys are not offered (and the footer has room)."""
        first, last = STEPS[0][0], STEPS[-1][0]
        return (action, self.STEP) not in (("back", first), ("next", last))

    def action_next(self) -> None:
        problem = self.problem()
        if problem:
            self.say(_("{step} step: {problem}").format(step=self.label, problem=problem))
            self.app.bell()
            return
        self.say("")
        if self.before_next():
            self.wizard.go_step(+1)

    def action_back(self) -> None:
        self.wizard.go_step(-1)

    def action_doctor(self) -> None:
        self.wizard.open_doctor()

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        """A failed task's dialog. Textual calls this handler as well as a step's own
        (which only tidies its widgets): a step must not call it again through super(),
        or one failure shows a dialog and then a "same problem" notice."""
        if event.state == WorkerState.ERROR:
            self.wizard.report_worker_failure(event.worker)

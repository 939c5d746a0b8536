"""The wizard app: owns the state, moves between steps, turns failures into dialogs."""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

from textual.app import App
from textual.binding import Binding, BindingType
from textual.worker import Worker, WorkerState

from loratui import __version__
from loratui.config import ConfigError
from loratui.gpu import GpuReport
from loratui.i18n import N_, _, error_text
from loratui.ui import core
from loratui.ui.errors import describe, write_log
from loratui.ui.state import WizardState, open_project
from loratui.ui.text import short_path
from loratui.ui.widgets import STEPS


class LoratuiApp(App):
    TITLE = f"loratui {__version__}"
    CSS_PATH = "app.tcss"
    ENABLE_COMMAND_PALETTE = False
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+q", "quit", N_("Quit"), priority=True),
        Binding("f1,question_mark", "help", N_("Help")),
    ]

    def __init__(
        self,
        project: Path | str | None = None,
        *,
        gpu: GpuReport | None = None,
        run_dir: Path | str | None = None,
        step: str = "start",
        watch_interval: float = 0.5,
    ) -> None:
        super().__init__()
        from loratui.ui import cjkwrap

        # Chinese text wraps between characters, not as one long word, while the app runs.
        self._rich_word = cjkwrap.install()
        self.project = Path(project or Path.cwd()).expanduser().resolve()
        self._gpu = gpu
        self.initial_run = Path(run_dir).expanduser().resolve() if run_dir else None
        self.initial_step = step
        self.watch_interval = watch_interval
        self.state: WizardState | None = None  # type: ignore[assignment]
        self.step_names = [name for name, _label in STEPS]
        self.offered_runs: set[Path] = set()  # runs the re-attach question was asked for
        self.shown_errors: dict[str, str] = {}  # error message -> step that showed it

    def on_unmount(self) -> None:
        from loratui.ui import cjkwrap

        cjkwrap.restore(self._rich_word)

    # ---- start-up ---------------------------------------------------------------
    def on_mount(self) -> None:
        from loratui.gpu import detect

        gpu = self._gpu if self._gpu is not None else detect(allow_torch=False)
        self.load_project(self.project, gpu)
        if self.initial_run is not None:
            self.state.run_dir = self.initial_run
        self.goto(self.initial_step)

    def load_project(self, project: Path, gpu: GpuReport | None = None) -> None:
        gpu = gpu or (self.state.gpu if self.state else GpuReport(reason="not detected"))
        try:
            self.state = open_project(project, gpu)
        except ConfigError as exc:
            from loratui.presets import choose

            best = gpu.best
            cfg = choose(best.total_gb if best else None, gpu=best).to_config()
            self.state = WizardState(project.expanduser().resolve(), cfg, gpu)
            self.call_after_refresh(
                self.show_error, _("loratui.toml cannot be used"), error_text(exc),
                _("The wizard starts from a preset. Saving first keeps your file as "
                  "loratui.toml.<time>.bak."))
        self.project = self.state.project
        self.sub_title = short_path(self.project, 48)
        # Screens built for an older project show stale data: rebuild them on demand.
        for name in self.step_names:
            if self.is_screen_installed(name) and self.get_screen(name) not in self.screen_stack:
                self.uninstall_screen(name)

    # ---- navigation --------------------------------------------------------------
    def make_screen(self, name: str):
        from loratui.ui import screens

        return screens.SCREENS[name]()

    def goto(self, name: str) -> None:
        """Show a step. A step seen before shows the state as it is now (a rescan);
        a new one does that when it mounts."""
        fresh = not self.is_screen_installed(name)
        if fresh:
            self.install_screen(self.make_screen(name), name)
        if len(self.screen_stack) <= 1:
            self.push_screen(name)
        else:
            self.switch_screen(name)
        if not fresh:
            self.call_later(self.get_screen(name).arrive)

    def go_step(self, delta: int) -> None:
        current = self.screen.STEP if hasattr(self.screen, "STEP") else self.step_names[0]
        index = self.step_names.index(current) + delta
        if 0 <= index < len(self.step_names):
            self.goto(self.step_names[index])

    def open_doctor(self) -> None:
        from loratui.ui.screens.doctor import DoctorScreen

        if not isinstance(self.screen, DoctorScreen):
            self.push_screen(DoctorScreen())

    # ---- help ----------------------------------------------------------------------
    def action_help(self) -> None:
        from loratui.ui.dialogs.help import HelpScreen

        if isinstance(self.screen, HelpScreen):
            return
        topic = getattr(self.screen, "help_topic", None)
        self.push_screen(HelpScreen(*(topic() if topic else ("loratui", "", []))))

    # ---- errors --------------------------------------------------------------------
    def show_error(self, title: str, message: str, hint: str = "") -> None:
        """One dialog per failure: the same cause met again on another step (a scan of
        the same broken folder) is a one-line notice, not a second dialog."""
        from loratui.ui.dialogs import ErrorDialog

        where = getattr(self.screen, "STEP", "") or type(self.screen).__name__
        seen = self.shown_errors.get(message)
        if seen is not None and seen != where:
            self.notify(_("{title}: same problem as before ({message})").format(
                title=title, message=first_line(message)), severity="error", timeout=6)
            return
        self.shown_errors[message] = where
        self.push_screen(ErrorDialog(title, message, hint))

    def report_failure(self, what: str, err: BaseException) -> None:
        """A worker or an action failed: say what to fix, or that it is a bug (logged)."""
        failure = describe(what, err)
        hint = failure.hint
        if failure.bug:
            log = write_log(self.project, what, err) if self.state else None
            hint += "\n" + (
                _("The traceback is in {log}: please attach it to a bug report.").format(log=log)
                if log else _("The traceback could not be written to .loratui/errors.log."))
        self.show_error(failure.title, failure.message, hint)

    def report_worker_failure(self, worker: Worker) -> None:
        if worker.error is not None:
            self.report_failure(worker.name or N_("Task"), worker.error)

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if event.state == WorkerState.ERROR:
            self.report_worker_failure(event.worker)

    # ---- leaving -------------------------------------------------------------------
    def exit_summary(self) -> str:
        """The line printed when the wizard closes: the run, its state, how to come back."""
        from loratui.runs import RunFolder

        project = self.project
        reopen = f"loratui wizard {project}"
        run_dir = self.state.run_dir if self.state else None
        if run_dir is None:
            if (project / "loratui.toml").is_file():
                return _("loratui: no run started; settings in {project}. Reopen: "
                         "{command}").format(project=project, command=reopen)
            return _("loratui: no run started; no settings saved in {project}. Reopen: "
                     "{command}").format(project=project, command=reopen)
        state = RunFolder(run_dir).summary()
        from loratui.ui.screens.train import state_name

        where = _("run {run}: {state} at step {step}/{max_steps}").format(
            run=run_dir, state=state_name(state["state"]), step=state["step"],
            max_steps=state.get("max_steps") or "?")
        if state["state"] in core.ACTIVE_STATES:
            return _("loratui: {where}; it goes on without the wizard. Re-attach: "
                     "{command}").format(where=where, command=f"loratui wizard --run {run_dir}")
        return _("loratui: {where}. Reopen: {command}").format(
            where=where, command=f"loratui wizard --run {run_dir}")


def first_line(text: str) -> str:
    return text.strip().splitlines()[0] if text.strip() else text


def create_app(
    project: Path | str | None = None,
    *,
    gpu: GpuReport | None = None,
    run_dir: Path | str | None = None,
    step: str = "start",
    watch_interval: float = 0.5,
) -> LoratuiApp:
    """The one app factory, shared by the CLI, the demo and the tests."""
    return LoratuiApp(project, gpu=gpu, run_dir=run_dir, step=step,
                      watch_interval=watch_interval)

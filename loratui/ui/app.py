"""The wizard app: owns the state, moves between steps, turns failures into dialogs."""

from __future__ import annotations

import traceback
from pathlib import Path
from typing import ClassVar

from textual.app import App
from textual.binding import Binding, BindingType
from textual.worker import Worker, WorkerState

from loratui import __version__
from loratui.config import ConfigError
from loratui.gpu import GpuReport
from loratui.ui.state import WizardState, open_project
from loratui.ui.widgets import STEPS

# Known failures and what to do about them, shown under the error message.
HINTS: tuple[tuple[type[BaseException], str], ...] = (
    (FileNotFoundError, "Check the path on the Start step; absolute paths are safest (P34)."),
    (PermissionError, "The folder is not readable or writable by this user; fix its permissions."),
    (MemoryError, "Out of memory: pick a smaller preset on the Parameters step (P12)."),
    (ConfigError, "Fix the value named above on the Parameters step, or in loratui.toml."),
)


class LoratuiApp(App):
    TITLE = f"loratui {__version__}"
    CSS_PATH = "app.tcss"
    ENABLE_COMMAND_PALETTE = False
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+q", "quit", "Quit", priority=True),
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
        self.project = Path(project or Path.cwd()).expanduser().resolve()
        self._gpu = gpu
        self.initial_run = Path(run_dir).expanduser().resolve() if run_dir else None
        self.initial_step = step
        self.watch_interval = watch_interval
        self.state: WizardState | None = None  # type: ignore[assignment]
        self.step_names = [name for name, _ in STEPS]
        self.offered_runs: set[Path] = set()  # runs the re-attach question was asked for

    # ---- start-up ---------------------------------------------------------------
    def on_mount(self) -> None:
        from loratui.gpu import detect

        gpu = self._gpu if self._gpu is not None else detect(allow_torch=False)
        self.sub_title = str(self.project)
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
                self.show_error, "loratui.toml cannot be used", str(exc),
                "The wizard starts from a preset. Saving first keeps your file as "
                "loratui.toml.<time>.bak.")
        self.project = self.state.project
        self.sub_title = str(self.project)
        # Screens built for an older project show stale data: rebuild them on demand.
        for name in self.step_names:
            if self.is_screen_installed(name) and self.get_screen(name) not in self.screen_stack:
                self.uninstall_screen(name)

    # ---- navigation --------------------------------------------------------------
    def make_screen(self, name: str):
        from loratui.ui import screens

        return screens.SCREENS[name]()

    def goto(self, name: str) -> None:
        if not self.is_screen_installed(name):
            self.install_screen(self.make_screen(name), name)
        if len(self.screen_stack) <= 1:
            self.push_screen(name)
        else:
            self.switch_screen(name)

    def go_step(self, delta: int) -> None:
        current = self.screen.STEP if hasattr(self.screen, "STEP") else self.step_names[0]
        index = self.step_names.index(current) + delta
        if 0 <= index < len(self.step_names):
            self.goto(self.step_names[index])

    def open_doctor(self) -> None:
        from loratui.ui.screens.doctor import DoctorScreen

        if not isinstance(self.screen, DoctorScreen):
            self.push_screen(DoctorScreen())

    # ---- errors --------------------------------------------------------------------
    def show_error(self, title: str, message: str, hint: str = "") -> None:
        from loratui.ui.dialogs import ErrorDialog

        self.push_screen(ErrorDialog(title, message, hint))

    def report_worker_failure(self, worker: Worker) -> None:
        err = worker.error
        if err is None:
            return
        hint = next((h for t, h in HINTS if isinstance(err, t)), "")
        log = self._write_error_log(worker, err)
        if log:
            hint = (hint + "\n" if hint else "") + f"Details for a bug report: {log}"
        # Errors from the core carry a message written for users; others get their type.
        plain = isinstance(err, ConfigError) or hasattr(err, "problems") or \
            type(err).__module__.startswith("loratui")
        message = str(err) if plain else f"{type(err).__name__}: {err}"
        self.show_error(f"{worker.name or 'Task'} failed", message, hint)

    def _write_error_log(self, worker: Worker, err: BaseException) -> Path | None:
        """Keep the traceback in the project's .loratui/errors.log, not on screen."""
        if self.state is None:
            return None
        try:
            log = self.state.project / ".loratui" / "errors.log"
            log.parent.mkdir(parents=True, exist_ok=True)
            with log.open("a", encoding="utf-8") as fh:
                fh.write(f"--- {worker.name}\n")
                fh.write("".join(traceback.format_exception(err)))
            return log
        except OSError:
            return None

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if event.state == WorkerState.ERROR:
            self.report_worker_failure(event.worker)


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

"""Step 1: project folder, base model (with its family check), GPU, runs to re-attach."""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, VerticalScroll
from textual.widgets import Input, Label, Static

from loratui.i18n import N_, _, error_text, localized, ngettext
from loratui.ui import core
from loratui.ui.dialogs import ConfirmDialog
from loratui.ui.screens.base import WizardScreen
from loratui.ui.text import short_path
from loratui.ui.widgets import PathInput, PathSuggester


class StartScreen(WizardScreen):
    STEP = "start"
    HELP = N_("""
The Start step names the project and the model to train on.

Project folder  The folder that holds loratui.toml (the settings) and runs/ (one folder
                per training run). Type a path and press enter to switch projects.
Base model      The SD1.5 or SDXL checkpoint to train on: a diffusers folder
                (model_index.json, unet/, text_encoder/ …) or a single .safetensors
                file. Its check shows the family it detected and where from
                (model.family on the Parameters step overrides it). Tab / right
                arrow accept the completion.
GPU             The card found and its memory; the Parameters step picks a preset for it.
Run folder      Open an earlier run (runs/<name>-<time>/) to follow or resume it on the
                Train step. A run still training is offered for re-attaching.
Watch a run     Follow a run that another trainer writes (kohya_ss / sd-scripts,
                OneTrainer, ai-toolkit) in the Train step's live view: its log file
                (`... 2>&1 | tee train.log`), its TensorBoard --logging_dir or its output
                folder. The doctor reads it live and pops up what goes wrong. ctrl+l.
""")
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+o", "open_run", N_("Open run")),
        Binding("ctrl+r", "reattach", N_("Re-attach"), show=True),
        Binding("ctrl+l", "watch_run", N_("Watch run")),
    ]

    def compose_body(self) -> ComposeResult:
        with VerticalScroll(id="body"):
            yield Static(_("Train an SD1.5 or SDXL LoRA, step by step. "
                           "Fill in the two paths and press ctrl+n."), classes="lead")
            # Rows of label + field, each with its status line below (wraps as needed).
            with Horizontal(classes="field-row"):
                yield Label(_("Project folder"), classes="form-label")
                yield PathInput(id="project", placeholder=_("folder for loratui.toml and runs/"),
                                suggester=PathSuggester(dirs_only=True))
            yield Static("", id="project-status", classes="field-help", markup=False)
            with Horizontal(classes="field-row"):
                yield Label(_("Base model"), classes="form-label")
                yield PathInput(id="base-model",
                                placeholder=_("SD1.5 / SDXL diffusers folder or .safetensors"),
                                suggester=PathSuggester())
            yield Static("", id="model-status", classes="field-help", markup=False)
            with Horizontal(classes="field-row", id="gpu-row"):
                yield Label(_("GPU"), classes="form-label")
                yield Static("", id="gpu-status", markup=False)
            with Horizontal(classes="field-row"):
                yield Label(_("Run folder"), classes="form-label")
                yield PathInput(id="run-folder",
                                placeholder=_("open an existing run folder (optional)"),
                                suggester=PathSuggester(dirs_only=True))
            yield Static("", id="runs-status", classes="field-help", markup=False)
            with Horizontal(classes="field-row"):
                yield Label(_("Watch a run"), classes="form-label")
                yield PathInput(id="watch-path",
                                placeholder=_("another trainer's log or output folder"),
                                suggester=PathSuggester())
            yield Static(_("kohya_ss / sd-scripts, OneTrainer, ai-toolkit: watch its log, "
                           "TensorBoard folder or output folder live (ctrl+l)"),
                         id="watch-status", classes="field-help", markup=False)

    def on_mount(self) -> None:
        self.refresh_from_state()
        self.query_one("#project", PathInput).focus()

    def refresh_from_state(self) -> None:
        st = self.state
        self.query_one("#project", PathInput).value = str(st.project)
        self.query_one("#base-model", PathInput).value = st.config.model.base
        self.query_one("#base-model", PathInput).suggester = PathSuggester(base=st.project)
        self.query_one("#project-status", Static).update(
            _("loratui.toml found: settings loaded") if st.config_found else
            _("no loratui.toml yet: one is written when you go on"))
        self._show_gpu()
        self.check_model(st.config.model.base)
        self.find_runs()

    def _show_gpu(self) -> None:
        gpu = self.state.gpu
        if gpu.best is None:
            text = _("{gpu}: the CPU demo preset (tiny model) is used; real training needs "
                     "an NVIDIA GPU").format(gpu=localized(gpu.summary()))
        else:
            text = localized(gpu.summary())
            if len(gpu.gpus) > 1:
                text += " " + _("(+{n} more)").format(n=len(gpu.gpus) - 1)
        self.query_one("#gpu-status", Static).update(text)

    def problem(self) -> str:
        moved = self._switch_to_typed_project()
        if moved:
            return moved
        value = self.query_one("#base-model", PathInput).value.strip()
        if not value:
            return _("enter the base model: an SD1.5 or SDXL diffusers folder or .safetensors "
                     "file (Base model field)")
        result = core.check_base_model(self.state.resolve(value),
                                       self.state.config.model.family,
                                       self.state.config.model.vae)
        if result.ok is False:
            return _("{problem} (Base model field)").format(problem=result.text)
        return ""

    # ---- project folder ------------------------------------------------------------
    @on(Input.Submitted, "#project")
    def project_submitted(self, event: Input.Submitted) -> None:
        folder = Path(event.value.strip() or ".").expanduser()
        if folder.exists() and not folder.is_dir():
            self.wizard.show_error(_("Not a folder"), _("{path} is a file.").format(path=folder),
                                   _("Pick the folder that holds (or will hold) loratui.toml."))
            return
        self.wizard.load_project(folder)
        self.refresh_from_state()

    def _switch_to_typed_project(self) -> str:
        """ctrl+n with a project folder typed but not entered: the settings go there, not
        to the folder the wizard was opened in. A base model typed beside it is kept.
        Returns what is wrong with the folder ("" when it is usable)."""
        typed = self.query_one("#project", PathInput).value.strip()
        if not typed:
            return ""
        folder = Path(typed).expanduser()
        folder = folder if folder.is_absolute() else self.state.project / folder
        if folder.resolve() == self.state.project:
            return ""
        if folder.exists() and not folder.is_dir():
            return _("{path} is a file: type the folder that holds (or will hold) "
                     "loratui.toml (Project folder field)").format(path=short_path(folder, 50))
        model = self.query_one("#base-model", PathInput).value.strip()
        before = self.state.config.model.base
        self.wizard.load_project(folder)
        self.refresh_from_state()
        if model and model != before:  # typed for this project: it wins over its file
            self.state.config.model.base = model
            self.query_one("#base-model", PathInput).value = model
        return ""

    # ---- base model ------------------------------------------------------------------
    @on(Input.Submitted, "#base-model")
    def model_submitted(self, event: Input.Submitted) -> None:
        self.state.config.model.base = event.value.strip()
        self.check_model(event.value.strip())

    @on(Input.Changed, "#base-model")
    def model_changed(self, event: Input.Changed) -> None:
        self.check_model(event.value.strip())

    @work(thread=True, exclusive=True, group="model-check", exit_on_error=False,
          name=N_("Base model check"))
    def check_model(self, value: str) -> None:
        path = self.state.resolve(value)
        result = core.check_base_model(path, self.state.config.model.family,
                                       self.state.config.model.vae)
        self.app.call_from_thread(self._show_model_check, value, result)

    def _show_model_check(self, value: str, result: core.Check) -> None:
        if value != self.query_one("#base-model", PathInput).value.strip():
            return  # a check of what the field held before; the newer one is on its way
        widget = self.query_one("#model-status", Static)
        widget.update(result.text)
        widget.set_class(result.ok is False, "bad")
        widget.set_class(result.ok is True, "good")

    # ---- runs ------------------------------------------------------------------------
    @work(thread=True, exclusive=True, group="runs", exit_on_error=False, name=N_("Run search"))
    def find_runs(self) -> None:
        runs = core.list_runs(self.state.output_dir)
        self.app.call_from_thread(self._show_runs, runs)

    def _show_runs(self, runs: list[core.RunInfo]) -> None:
        widget = self.query_one("#runs-status", Static)
        self._active = None
        active = [r for r in runs if r.active]
        if active:
            self._active = active[0]
            widget.update(_("{run} is training — ctrl+r re-attaches").format(
                run=active[0].label))
            widget.add_class("good")
            self._offer_reattach(active[0])
        elif runs:
            widget.update(ngettext("{n} run in {folder}; latest {run}",
                                   "{n} runs in {folder}; latest {run}", len(runs)).format(
                n=len(runs), folder=short_path(self.state.output_dir), run=runs[0].label))
        else:
            widget.update(_("no runs yet in {folder}").format(
                folder=short_path(self.state.output_dir)))

    def _offer_reattach(self, run: core.RunInfo) -> None:
        """Once per run: a run is training (e.g. after a dropped SSH session): follow it?"""
        if run.path in self.wizard.offered_runs or self.state.run_dir is not None:
            return
        self.wizard.offered_runs.add(run.path)

        def answer(yes: bool | None) -> None:
            if yes:
                self.state.run_dir = run.path
                self.wizard.goto("train")

        self.app.push_screen(ConfirmDialog(
            _("A training run is active"),
            run.label + "\n\n" + _("Training went on while the wizard was closed. Follow it "
                                   "now?"),
            yes=_("Re-attach"), no=_("Not now")), answer)

    @on(Input.Submitted, "#run-folder")
    def run_folder_submitted(self, event: Input.Submitted) -> None:
        self.open_run(event.value.strip())

    def action_open_run(self) -> None:
        self.query_one("#run-folder", PathInput).focus()

    def open_run(self, value: str) -> None:
        folder = Path(value).expanduser()
        if not folder.is_absolute():
            folder = self.state.project / folder
        problem = core.run_folder_problem(folder)
        if problem:
            self.wizard.show_error(_("Cannot open run folder"), problem,
                                   _("A run folder is made by training: runs/<name>-<time>/."))
            return
        self.state.run_dir = folder.resolve()
        self.state.watch_path = None
        self.wizard.goto("train")

    def action_reattach(self) -> None:
        active = getattr(self, "_active", None)
        if active is None:
            self.notify(_("No training run is active."), severity="warning")
            return
        self.state.run_dir = active.path
        self.state.watch_path = None
        self.wizard.goto("train")

    # ---- another trainer's run -------------------------------------------------------
    def action_watch_run(self) -> None:
        field = self.query_one("#watch-path", PathInput)
        if field.has_focus and field.value.strip():
            self.watch_run(field.value.strip())
        else:
            field.focus()

    @on(Input.Submitted, "#watch-path")
    def watch_path_submitted(self, event: Input.Submitted) -> None:
        if event.value.strip():
            self.watch_run(event.value.strip())

    def watch_run(self, value: str) -> None:
        path = Path(value).expanduser()
        if not path.is_absolute():
            path = self.state.project / path
        self.check_watch_path(path)

    @work(thread=True, exclusive=True, group="watch-check", exit_on_error=False,
          name=N_("Watch path check"))
    def check_watch_path(self, path: Path) -> None:
        from loratui.watch import WatchError, open_source

        try:
            open_source(path).close()
        except WatchError as exc:
            self.app.call_from_thread(
                self.wizard.show_error, _("Cannot watch this run"), error_text(exc),
                _("Give the trainer's log file, its TensorBoard log folder (--logging_dir) "
                  "or its output folder."))
            return
        self.app.call_from_thread(self._watch, path)

    def _watch(self, path: Path) -> None:
        self.state.watch_path = path.resolve()
        self.wizard.goto("train")

    def before_next(self) -> bool:
        st = self.state
        st.config.model.base = self.query_one("#base-model", PathInput).value.strip()
        if st.config.model.base:
            core.apply_checkpoint_markers(st.config.model, st.resolve(st.config.model.base))
        return self.save_config() is not None

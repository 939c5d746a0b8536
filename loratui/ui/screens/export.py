"""Step 7: copy the LoRA into a WebUI, the prompt to paste, a ComfyUI workflow, the verdict."""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.widgets import Input, Label, Static

from loratui.i18n import N_, _, error_text, localized, ngettext
from loratui.ui import core
from loratui.ui.dialogs import ConfirmDialog
from loratui.ui.messages import TaskDone, post_if_current
from loratui.ui.screens.base import WizardScreen, guarded
from loratui.ui.text import severity_name, short_path
from loratui.ui.widgets import PathInput, PathSuggester


class ExportScreen(WizardScreen):
    STEP = "export"
    HELP = N_("""
The Export step hands the finished LoRA to a WebUI.

LoRA            The finished run's .safetensors file (kohya format, loads in
                AUTOMATIC1111, Forge and ComfyUI) and its size.
WebUI folder    Your stable-diffusion-webui/ or ComfyUI/ folder (or its models/Lora
                folder): ctrl+o (or enter) copies the LoRA there. An existing file of the
                same name is replaced only after you confirm.
Prompt          What to paste into AUTOMATIC1111: <lora:NAME:WEIGHT> and the trigger word,
                with the weight range the guide recommends (P17, P18).
Verdict         The doctor on the file, the suggested prompt and the ComfyUI workflow.
ComfyUI         An API-format workflow with a LoraLoader node, saved beside the LoRA.
""")
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+o", "install", N_("Copy to WebUI")),
        Binding("ctrl+r", "refresh", N_("Refresh")),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.lora: Path | None = None
        self.usage: Any = None

    def compose_body(self) -> ComposeResult:
        with Vertical(id="body"):
            yield Static("", id="export-lora", markup=False)
            with Horizontal(classes="form-row"):
                yield Label(_("WebUI folder"), classes="form-label")
                yield PathInput(id="webui", placeholder=_("stable-diffusion-webui/ or ComfyUI/"),
                            suggester=PathSuggester(dirs_only=True))
            yield Static("", id="export-target", markup=False)
            with VerticalScroll(id="export-box"):
                yield Static("", id="export-usage", markup=False)
                yield Static("", id="export-verdict", markup=False)
                yield Static("", id="export-comfy", markup=False)

    def on_mount(self) -> None:
        self.refresh_from_state()

    @guarded(N_("Reading the LoRA"))
    def refresh_from_state(self) -> None:
        self.lora = core.finished_lora(self.state.run_dir, self.state.output_dir)
        box = self.query_one("#export-lora", Static)
        if self.lora is None:
            box.update(_("No finished LoRA yet: train one on the Train step (ctrl+p)."))
            for sel in ("#export-usage", "#export-verdict", "#export-comfy"):
                self.query_one(sel, Static).update("")
            return
        size = f"({self.lora.stat().st_size / 2**20:.1f}\u00a0MB)"  # one line with its path
        box.update(f"LoRA: {short_path(self.lora, max(30, self.size.width - 20))} {size}")
        cfg = self.state.config
        self.usage = core.lora_usage(self.lora, cfg)
        u = self.usage
        self.query_one("#export-usage", Static).update(
            _("AUTOMATIC1111 prompt (paste it, then adjust the weight):") +
            f"\n  {u.prompt}\n  {localized(u.advice)}")
        self.query_one("#export-comfy", Static).update(
            _("ComfyUI (API format, 'Load (API format)'; the LoraLoader node is \"10\"):") +
            "\n" + core.comfy_workflow_json(u))
        self.query_one("#export-verdict", Static).update(_("doctor: checking the file …"))
        self.verdict(self.lora, u.prompt)

    def action_refresh(self) -> None:
        self.refresh_from_state()

    @work(thread=True, exclusive=True, group="verdict", exit_on_error=False, name=N_("LoRA check"))
    def verdict(self, lora: Path, prompt: str) -> None:
        """The doctor on the file, on the prompt we suggest and on the ComfyUI workflow."""
        diags = core.diagnose_paths([lora], self.state.gpu)
        notes: list[str] = []
        workflow = lora.with_name(f"{lora.stem}.comfyui-api.json")
        try:
            from loratui.config import atomic_write_text

            atomic_write_text(workflow, core.comfy_workflow_json(self.usage))
            notes.append(_("ComfyUI workflow saved as {path}").format(path=workflow.name))
        except OSError:
            workflow = None
        usage = core.diagnose_usage(prompt, workflow)
        post_if_current(self, TaskDone("verdict", diags + usage, {"notes": notes}))

    @on(TaskDone)
    def done(self, message: TaskDone) -> None:
        if message.task != "verdict":
            return
        diags = message.result
        worst = [d for d in diags if d.severity in ("error", "warning")]
        family, _checkpoint = core.base_for_usage(self.state.config)
        lines = [_("doctor: ✓ the file loads like a kohya {family} LoRA; the prompt and the "
                   "workflow use it within the guide's weights").format(
                       family=core.family_label(family)) if not worst else
                 ngettext("doctor: {n} problem:", "doctor: {n} problems:", len(worst)).format(
                     n=len(worst))]
        lines += [f"  {severity_name(d.severity)} {d.code} {d.shown_message}" for d in diags[:6]]
        lines += [f"  {n}" for n in message.extra["notes"]]
        widget = self.query_one("#export-verdict", Static)
        widget.update("\n".join(lines))
        widget.set_class(bool(worst), "warn")

    @on(Input.Submitted, "#webui")
    def webui_submitted(self) -> None:
        self.action_install()

    @on(Input.Changed, "#webui")
    @guarded(N_("Looking at the WebUI folder"))
    def webui_changed(self, event: Input.Changed) -> None:
        self._where_to_copy(event.value.strip())

    def _where_to_copy(self, value: str) -> tuple[Path, Path] | None:
        """(LoRA folder, target file) for the WebUI folder typed, shown on the line under
        the field; None, with the line saying what is wrong and the fix, when the LoRA
        cannot be copied there. The line is the one place a problem is said: ctrl+o
        looks again and rings, it does not repeat it in a dialog."""
        line = self.query_one("#export-target", Static)
        line.set_class(False, "bad")
        if not value:
            line.update("")
            return None
        try:
            folder = core.find_lora_folder(Path(value).expanduser())
            target = core.install_target(self.lora, folder.path) if self.lora else None
        except core.DeployProblem as exc:  # no such folder, or a folder in the LoRA's place
            line.update(error_text(exc))
            line.set_class(True, "bad")
            return None
        line.update(f"→ {folder.ui}: {short_path(folder.path, 60)}" if folder.ui != "folder"
                    else f"→ {short_path(folder.path, 60)} " +
                    _("(not a known WebUI layout: copied as is)"))
        return (folder.path, target) if target is not None else None

    @guarded(N_("Copying the LoRA"))
    def action_install(self) -> None:
        if self.lora is None:
            self.say(_("Export step: no finished LoRA to copy yet: train one on the Train "
                       "step."))
            return
        field = self.query_one("#webui", Input)
        value = field.value.strip()
        if not value:
            field.focus()
            self.say(_("Export step: type your WebUI folder (WebUI folder field) first."))
            return
        where = self._where_to_copy(value)  # what is in the way is said before any question
        if where is None:
            field.focus()
            self.app.bell()
            return
        folder, target = where
        if target.exists():  # a file of the LoRA's name: replacing it can happen
            self.app.push_screen(ConfirmDialog(
                _("Replace the existing LoRA?"),
                _("{path} exists. It is kept beside the new one as a .bak copy.").format(
                    path=target),
                yes=_("Replace")), lambda yes: yes and self.install(folder, True))
        else:
            self.install(folder, False)

    @work(thread=True, exclusive=True, group="install", exit_on_error=False, name=N_("Copy LoRA"))
    def install(self, folder: Path, overwrite: bool) -> None:
        target = core.install_lora(self.lora, folder, overwrite=overwrite)
        self.app.call_from_thread(self.notify, _("copied to {path}").format(path=target),
                                  title=_("Installed"), timeout=8)
        self.installed = target

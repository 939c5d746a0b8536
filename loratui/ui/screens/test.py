"""Step 8: try the finished LoRA — a test grid (weights × block presets), then a pick of
weight, block vector and an optional second LoRA, turned into the prompt to paste and a
ComfyUI workflow, in the guide's words and checked by the doctor (P17–P25)."""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.widgets import Input, Label, Static

from loratui.i18n import N_, _, error_text, localized
from loratui.ui import core
from loratui.ui.messages import Progress, TaskDone, post_if_current
from loratui.ui.screens.base import WizardScreen
from loratui.ui.text import hanging, severity_name
from loratui.ui.widgets import PathSuggester
from loratui.ui.widgets.sample_view import SampleView

INTRO = N_("Rows: weights 0.3–1.0. Columns: block presets (P23). Find the column where the "
           "unwanted detail goes away, then pick a weight and a vector.")
GRID_AXES = N_("rows: weights 0.3–1.0; columns: block presets (P23)")  # under a grid shown


class TestScreen(WizardScreen):
    STEP = "test"
    __test__ = False  # not a pytest class
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+r", "grid", N_("Grid"), priority=True),
        Binding("ctrl+s", "write", N_("Write"), priority=True),
        Binding("ctrl+t", "rescue", N_("Rescue"), priority=True),
    ]

    HELP = N_("""
The Test step tries the finished LoRA and fixes it without retraining.

Grid            ctrl+r renders test images on the base model: rows are weights 0.3-1.0
                (P17/P18), columns the block-weight presets ALL, INS, IND, INALL, MIDD,
                OUTD, OUTS, OUTALL (P23). Same seed and sampler in every cell; cells are
                kept, so a second ctrl+r only renders what is missing. Saved as
                NAME-grid.png beside the LoRA. `loratui lora grid` adds each block alone
                and zeroed.
Weight          The LoRA weight you pick (start at 0.6; style 0.6-0.8, character
                0.75-0.9; above 0.95 it breaks).
Blocks          A preset name or 17 values (BASE,IN01,IN02,IN04,IN05,IN07,IN08,M00,
                OUT03..OUT11); 26 for LoCon. The guide: core blocks 0.9-1, edge blocks
                0.5-0.7, polluting blocks 0-0.3 (P24, P25).
2nd LoRA        Another LoRA to stack, and its weight: the sum should stay within 1.2
                (P19). ctrl+t is the rescue: this LoRA at 0.3 beside the other (P21);
                it checks the two are of the same kind (model family from the tensors
                and ss_* metadata; character vs style where the metadata names it) and
                says when the files cannot tell.
ctrl+s          Writes NAME.prompt.txt (A1111, with lbw=), NAME.comfyui-api.json and,
                for a block vector, NAME-lbw.safetensors with the vector baked in, for
                ComfyUI (its core nodes have no block weights).
""")

    def __init__(self) -> None:
        super().__init__()
        self.lora: Path | None = None
        self.block_layout: Any = None
        self.in_use: list[str] = []
        self.result: Any = None
        self.kinship: Any = None  # the rescue's same-kind check (P21)
        self._shown: TaskDone | None = None  # the pick on show, laid out again on resize
        self._shown_width = 0

    def compose_body(self) -> ComposeResult:
        with Horizontal(id="body"):
            yield SampleView(_("no grid yet: ctrl+r renders one"), id="test-grid")
            with Vertical(id="test-side"):
                yield Static("", id="test-lora", markup=False)
                for label, wid, value in ((N_("Weight"), "test-weight", "0.6"),
                                          (N_("Blocks"), "test-vector", "ALL"),
                                          (N_("2nd LoRA"), "test-second", ""),
                                          (N_("2nd weight"), "test-second-weight", "0.5")):
                    with Horizontal(classes="form-row"):
                        yield Label(_(label), classes="form-label")
                        yield Input(value, id=wid, suggester=PathSuggester()
                                    if wid == "test-second" else None)
                with VerticalScroll(id="test-box"):
                    yield Static(_(INTRO), id="test-result", markup=False)

    def on_mount(self) -> None:
        self.refresh_from_state()

    def refresh_from_state(self) -> None:
        self.lora = core.finished_lora(self.state.run_dir, self.state.output_dir)
        label = self.query_one("#test-lora", Static)
        if self.lora is None:
            label.update(_("No finished LoRA yet: train one first (ctrl+p)."))
            return
        try:
            from loratui.lora.blocks import block_strengths

            strengths = block_strengths(self.lora)
        except Exception as exc:  # not a LoRA the block layout knows: say so, stay usable
            label.update(f"{self.lora.name}: {error_text(exc)}")
            self.lora = None
            return
        self.block_layout = strengths.layout
        self.in_use = [b for b in self.block_layout.blocks if strengths.modules.get(b)]
        dominant = strengths.dominant()
        label.update(f"{self.lora.name}" + (
            " · " + _("strongest: {blocks}").format(blocks=", ".join(dominant))
            if dominant else ""))
        grid = self.grid_path()
        if grid and grid.is_file():
            self.query_one(SampleView).show(grid, f"{grid.name} ({_(GRID_AXES)})")
        self.update_pick()

    def grid_path(self) -> Path | None:
        return self.lora.with_name(f"{self.lora.stem}-grid.png") if self.lora else None

    # ------------------------------------------------------------------ the pick
    def pick(self):
        from loratui.lora.pick import Pick

        def number(wid: str, default: float) -> float:
            try:
                return float(self.query_one(f"#{wid}", Input).value.strip())
            except ValueError:
                return default

        second = self.query_one("#test-second", Input).value.strip()
        return Pick(self.lora, number("test-weight", 0.6),
                    self.query_one("#test-vector", Input).value.strip() or "ALL",
                    Path(second).expanduser() if second else None,
                    number("test-second-weight", 0.5))

    @on(Input.Changed)
    def changed(self, event: Input.Changed) -> None:
        if event.input.id == "test-second":
            self.kinship = None
        self.update_pick()

    def update_pick(self, write: bool = False) -> None:
        if self.lora is None or self.block_layout is None:
            return
        self.compute(self.pick(), write)

    @work(thread=True, exclusive=True, group="pick", exit_on_error=False, name=N_("Check pick"))
    def compute(self, pick, write: bool) -> None:
        from loratui.lora.pick import build, write_outputs

        cfg = self.state.config
        try:
            if pick.second is not None and not pick.second.is_file():
                raise ValueError(_("{path}: no such file").format(path=pick.second))
            family, checkpoint = core.base_for_usage(cfg)
            result = build(pick, self.block_layout, self.in_use, trigger=cfg.dataset.trigger_word,
                           bake_dir=pick.lora.parent if write else None, family=family,
                           checkpoint=checkpoint)
            written = write_outputs(result, pick.lora.parent, pick.lora.stem) if write else ()
        except (ValueError, OSError) as exc:
            done = TaskDone("pick", None, {"error": error_text(exc)})
        else:
            done = TaskDone("pick", result, {"written": written})
        post_if_current(self, done)

    def show_pick(self, message: TaskDone) -> None:
        box = self.query_one("#test-result", Static)
        if message.result is None:
            self._shown = None  # a resize must not bring back the pick before this one
            box.update(f"{_(INTRO)}\n\n{message.extra['error']}")
            box.set_class(True, "warn")
            return
        r = message.result
        self.result = r
        self._shown, self._shown_width = message, box.content_region.width
        room = self._shown_width
        lines = [_("A1111 prompt:"), hanging(r.prompt, room), ""]
        problems = r.problems
        lines += ([_("doctor: ✓ within the guide's usage rules")] if not problems else
                  [f"doctor: {severity_name(d.severity)} {d.code} {d.shown_message}"
                   for d in problems])
        if any(d.code == "PR102" for d in problems):
            lines.append("  " + _("ctrl+t: the rescue (P21) — this LoRA at 0.3 beside the "
                                  "second"))
        lines += ["", *map(localized, r.notes)]
        if self.kinship is not None:
            lines += ["", *map(localized, self.kinship.lines)]
        for path in message.extra.get("written") or ():
            lines.append(_("written: {path}").format(path=path))
        box.update("\n".join(lines))
        box.set_class(bool(problems), "warn")
        self.call_after_refresh(self._rewrap)

    def _rewrap(self) -> None:
        """The prompt hangs under its first character at the box's width now (a scroll bar
        that came with the text, or a resized terminal, changes it)."""
        box = self.query_one("#test-result", Static)
        if self._shown is not None and box.content_region.width != self._shown_width:
            self.show_pick(self._shown)

    def on_resize(self) -> None:
        self.call_after_refresh(self._rewrap)

    # ------------------------------------------------------------------ actions
    def action_write(self) -> None:
        if self.lora is None:
            self.notify(_("No finished LoRA to test yet."), severity="warning")
            return
        self.update_pick(write=True)

    def action_rescue(self) -> None:
        if self.lora is None:
            return
        from loratui.lora.pick import rescue

        pick = rescue(self.pick())
        if pick.second is not None and pick.second.is_file():
            from loratui.lora.pick import same_kind
            from loratui.lora.reader import LoraError

            try:
                self.kinship = same_kind(pick.lora, pick.second)
            except (LoraError, OSError, ValueError) as exc:  # say so, stay usable
                self.kinship = None
                self.notify(f"{pick.second.name}: {error_text(exc)}", severity="warning")
            if self.kinship is not None and self.kinship.same is False:
                self.notify(localized(self.kinship.lines[0]), title=_("Rescue"),
                            severity="warning")
            self.update_pick()
        self.query_one("#test-weight", Input).value = f"{pick.weight:g}"
        self.query_one("#test-second-weight", Input).value = f"{pick.second_weight:g}"
        if pick.second is None:
            self.notify(_("P21: add a second LoRA of the same kind to stack with it at 0.3."),
                        title=_("Rescue"))
            self.query_one("#test-second", Input).focus()

    def action_grid(self) -> None:
        base = self.state.base_model
        if self.lora is None or base is None or not base.exists():
            self.notify(_("The grid needs a finished LoRA and the base model (Parameters)."),
                        severity="warning")
            return
        self.query_one(SampleView).show(None, _("rendering the grid …"))
        self.render_grid(self.lora, base)

    @work(thread=True, exclusive=True, group="grid", exit_on_error=False, name=N_("Test grid"))
    def render_grid(self, lora: Path, base: Path) -> None:
        from loratui.lora.grid import GridSpec, render_grid

        cfg = self.state.config
        prompt = next(iter(cfg.sample.prompts), "{trigger}, a photo").replace(
            "{trigger}", cfg.dataset.trigger_word)
        spec = GridSpec(lora=lora, base=base, prompt=prompt, out=self.grid_path(),
                        columns="presets", steps=cfg.sample.steps, seed=cfg.sample.seed)
        result = render_grid(spec, self.block_layout, self.in_use,
                             progress=lambda d, t: self.post_message(Progress("grid", d, t)))
        self.post_message(TaskDone("grid", result))

    @on(Progress)
    def progress(self, message: Progress) -> None:
        if message.task == "grid":
            self.query_one(SampleView).show(None, _("rendering the grid: cell {done}/{total}")
                                            .format(done=message.done, total=message.total))

    @on(TaskDone)
    def done(self, message: TaskDone) -> None:
        if message.task == "pick":
            self.show_pick(message)
        elif message.task == "grid":
            r = message.result
            self.query_one(SampleView).show(
                r.path, f"{r.path.name}: " + _("{rows} weights × {columns} presets ({rendered} "
                                               "rendered, {reused} reused)").format(
                    rows=len(r.rows), columns=len(r.columns), rendered=r.rendered,
                    reused=r.reused))

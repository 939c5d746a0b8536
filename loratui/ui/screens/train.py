"""Step 6: start training in its own process and follow its run folder live; or follow
another trainer's run (sd-scripts, kohya_ss, OneTrainer, ai-toolkit) the same way."""

from __future__ import annotations

import contextlib
import math
import os
import time
from pathlib import Path
from typing import Any, ClassVar

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.css.query import NoMatches
from textual.widgets import ProgressBar, RichLog, Static
from textual.worker import get_current_worker

from loratui.i18n import N_, _, error_text, localized, width
from loratui.runs import event_message, event_name, state_name
from loratui.ui import core
from loratui.ui.messages import GpuUpdate, RunUpdate
from loratui.ui.runwatch import Speed, open_run_source
from loratui.ui.screens.base import WizardScreen
from loratui.ui.text import short_path, with_severity
from loratui.ui.widgets.loss_chart import LossChart
from loratui.ui.widgets.sample_view import SampleView
from loratui.watch import shown
from loratui.wording import format_duration


def remember_watched(state: dict[str, Any]) -> None:
    """Record another trainer's run in the watched-runs list (`loratui runs` shows it),
    as `loratui watch` does: when it is opened, when its state changes, when left."""
    from loratui.watch import registry

    registry.record(state)


def finite(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value) if math.isfinite(value) else None


def event_line(event: dict[str, Any], project: Path) -> str:
    """One event of the run for the log: time, type, message; paths inside the project
    written relative to it (`dataset/demo_04.png: no caption`), and the log wraps the rest."""
    message = event_message(event).replace(f"{project}{os.sep}", "")
    name = event_name(str(event.get("type", "?")))
    return f"{str(event.get('time', ''))[11:19]} {name}{' ' * max(1, 13 - width(name))}{message}"


class TrainScreen(WizardScreen):
    STEP = "train"
    HELP = N_("""
The Train step starts training in its own process and follows its run folder live.
Training goes on when the wizard or the SSH session closes; `loratui` offers to
re-attach next time.

Title line      The run's state (starting, loading, caching, running, saving, finished,
                failed, interrupted, crashed) and its folder.
Progress        Optimiser steps done / total, the ETA, and steps per second (it/s).
Stats           Epoch, the last loss, its running average, the learning rate and the GPU
                (memory used, utilisation, temperature) when a GPU is there.
Loss chart      Raw loss (grey) and its smoothed average (cyan) per step. The raw loss of
                a diffusion model is noisy by nature: read the average.
Samples         The latest sample image the trainer rendered (at each epoch end).
Events          What the trainer reported: checkpoints, samples, warnings, errors.

Watching another trainer's run (Start step, ctrl+l): the same view follows its log,
TensorBoard folder or output folder. The doctor reads the stream as it grows: a finding
(NaN loss, out of memory, a tenfold slower step ...) pops up with its code and fix the
moment it appears, and stays listed under Events. loratui cannot start, stop or resume
a run it did not start; escape stops watching.
""")
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+t", "start", N_("Start")),
        Binding("ctrl+x", "stop", N_("Stop")),
        Binding("ctrl+r", "resume", N_("Resume")),
        Binding("escape", "unwatch", N_("Stop watching")),
    ]
    OWN_RUN_ACTIONS = ("start", "stop", "resume")

    def __init__(self) -> None:
        super().__init__()
        self.run_path: Path | None = None
        self.run_state: dict[str, Any] = {}
        self.speed = Speed()
        self.last: dict[str, Any] = {}
        self.smooth: float | None = None
        self.foreign = False  # following another trainer's run (watch), not loratui's
        self.findings: list[dict[str, Any]] = []

    def compose_body(self) -> ComposeResult:
        with Vertical(id="body"):
            yield Static("", id="run-title", markup=False)
            with Horizontal(id="run-progress-row"):
                yield ProgressBar(id="run-progress", show_eta=False)
                yield Static("", id="run-numbers", markup=False)
            yield Static("", id="run-stats", markup=False)
            with Horizontal(id="run-main"):
                # Redrawn once a second at most: plotext's render is most of the view's CPU.
                yield LossChart(interval=max(1.0, self.wizard.watch_interval), id="loss-chart")
                yield SampleView(id="samples")
            yield RichLog(id="run-events", max_lines=200, markup=False, wrap=True)

    def on_mount(self) -> None:
        self.refresh_from_state()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """A watched run is another trainer's: no start / stop / resume keys for it."""
        if action in self.OWN_RUN_ACTIONS:
            return not self.foreign
        if action == "unwatch":
            return self.foreign
        return super().check_action(action, parameters)

    def refresh_from_state(self) -> None:
        watched = self.state.watch_path
        if watched is not None:
            if watched != self.run_path or not self.foreign:
                self.follow(watched, foreign=True)
            return
        run = self.state.run_dir
        if run != self.run_path or self.foreign:
            self.follow(run)
        self.query_one("#run-progress-row").display = run is not None
        if run is None:
            self._set("#run-title",
                      _("No run yet. ctrl+t starts training with loratui.toml ({name}); it "
                        "keeps running if the terminal closes.").format(
                          name=self.state.config.output.name))

    # ---- following --------------------------------------------------------------------
    def follow(self, run_path: Path | None, *, foreign: bool = False) -> None:
        """Show `run_path` from now on: the progress row appears at once (step 0/?).
        `foreign`: another trainer's log or folder, read through loratui.watch."""
        self.run_path = run_path
        self.foreign = foreign and run_path is not None
        self.refresh_bindings()
        self.speed, self.last, self.smooth, self.run_state = Speed(), {}, None, {}
        self.findings = []
        self.query_one(LossChart).clear_data()
        self.query_one("#run-events", RichLog).clear()
        self.query_one("#run-progress-row").display = run_path is not None
        if run_path is None:
            self.workers.cancel_group(self, "follow")
            return
        verb = "opening" if self.foreign else "starting"
        self._set("#run-title", _("{state}: {run}").format(state=state_name(verb),
                                                          run=short_path(run_path, 60)))
        self._show_progress()
        self.watch_run(run_path, self.foreign)
        self.watch_gpu()

    @work(thread=True, exclusive=True, group="follow", exit_on_error=False, name=N_("Run follower"))
    def watch_run(self, run_path: Path, foreign: bool = False) -> None:
        worker = get_current_worker()
        source = self._open_source(run_path, foreign)
        if source is None:
            return
        interval = self.wizard.watch_interval
        last_state: dict[str, Any] | None = None
        try:
            while not worker.is_cancelled:
                metrics, events, state, samples = source.poll()
                if foreign and state.get("state") != (last_state or {}).get("state"):
                    remember_watched(state)
                if metrics or events or samples or state != last_state:  # else: no news
                    self.post_message(RunUpdate(str(run_path), metrics, events, state,
                                                samples or []))
                    last_state = state
                if state.get("state") in core.TERMINAL_STATES and not metrics and not events:
                    # Finished or dead: one slow look now and then (it may be resumed).
                    interval = max(interval, 2.0)
                time.sleep(interval)
        finally:
            source.close()
            if foreign and last_state is not None:
                remember_watched(last_state)

    def _open_source(self, run_path: Path, foreign: bool):
        """The source of run updates, or None after telling the user why it cannot be."""
        if not foreign:
            return open_run_source(run_path)
        from loratui.watch import WatchError

        try:
            return open_run_source(run_path, foreign=True)
        except WatchError as exc:
            self.app.call_from_thread(
                self.wizard.show_error, _("Cannot watch this run"), error_text(exc),
                _("On the Start step, ctrl+l takes a training log, a TensorBoard log folder "
                  "or a trainer's output folder."))
            return None

    @work(thread=True, exclusive=True, group="gpu", exit_on_error=False, name=N_("GPU monitor"))
    def watch_gpu(self) -> None:
        from loratui.gpustats import GpuSampler

        sampler = GpuSampler()
        worker = get_current_worker()
        try:
            if not sampler.available:
                self.post_message(GpuUpdate(f"GPU: {localized(sampler.reason)}"))
                return
            while not worker.is_cancelled:
                held = self._run_memory(sampler)
                usage = sampler.sample()
                text = f"GPU {usage.summary()}" if usage else f"GPU: {localized(sampler.reason)}"
                self.post_message(GpuUpdate(text + (f" ({held})" if held else "")))
                time.sleep(1.0)
        finally:
            sampler.close()

    def _run_memory(self, sampler) -> str:
        """The memory the run's process holds (found by its PID), and its GPU followed."""
        pid = self.run_state.get("pid")
        if not isinstance(pid, int) or isinstance(pid, bool):
            return ""
        held = sampler.process_memory(pid)
        if not held:
            return ""
        sampler.use(held[0].index)
        return ", ".join(h.summary() for h in held)

    @on(GpuUpdate)
    def gpu_update(self, message: GpuUpdate) -> None:
        self.gpu_text = message.text
        with contextlib.suppress(NoMatches):  # not while the app is closing
            self._show_stats()

    @on(RunUpdate)
    def run_update(self, message: RunUpdate) -> None:
        with contextlib.suppress(NoMatches):  # a last poll while the app closes
            self._run_update(message)

    def _run_update(self, message: RunUpdate) -> None:
        if self.run_path is None or message.run_path != str(self.run_path):
            return  # a poll of a run we no longer follow
        steps, raw, smooth = [], [], []
        for row in message.metrics:
            self.speed.add(row)
            step, loss, avg = row.get("step"), finite(row.get("loss")), finite(row.get("loss_avg"))
            if isinstance(step, int):  # a NaN is not drawn: the doctor's finding says it
                if loss is not None:
                    steps.append(step)
                    raw.append(loss)
                    if avg is None:  # trainer wrote no average: EMA
                        avg = loss if self.smooth is None else 0.9 * self.smooth + 0.1 * loss
                if avg is not None:  # sd-scripts' console shows its average only
                    self.smooth = avg
                    smooth.append((step, avg))
            self.last = row
        if steps or smooth:
            self.query_one(LossChart).extend(steps, raw, smooth)
        log = self.query_one("#run-events", RichLog)
        for ev in message.events:
            if (ev.get("type") or ev.get("event")) == "finding":
                self._finding(ev, log)
                continue
            log.write(event_line(ev, self.state.project))
        was = self.run_state.get("state")
        self.run_state = message.state
        now = message.state.get("state")
        if was in core.ACTIVE_STATES and now in ("failed", "crashed"):
            if self.foreign:
                self.notify(_("The run {state}: {error}").format(
                    state=state_name(now), error=localized(message.state.get("error")) or _("see its log")),
                            severity="error", timeout=30)
            else:
                self._report_failure(message.state)
        if message.samples:
            latest = Path(message.samples[-1])
            self.query_one(SampleView).show(latest, _("sample {name}").format(name=latest.name))
        self._show_progress()

    def _finding(self, ev: dict[str, Any], log: RichLog) -> None:
        """A live doctor finding: a notification with its code and fix, and a line under
        Events that stays."""
        self.findings.append(ev)
        code, severity = str(ev.get("code") or "?"), str(ev.get("severity") or "warning")
        title = shown(ev, "title") or shown(ev, "message")
        fix = shown(ev, "fix")
        self.notify(f"{title}\n" + _("Fix: {fix}").format(fix=fix) if fix else title,
                    title=with_severity(code, severity),
                    severity="error" if severity == "error" else "warning",
                    timeout=30 if severity == "error" else 12)
        mark = "✖" if severity == "error" else "!"
        line = f"{str(ev.get('time', ''))[11:19]} {mark} {code:10} {title}"
        log.write(Text(line + (" — " + _("fix: {fix}").format(fix=fix) if fix else ""),
                       style="bold red" if severity == "error" else "yellow"))

    def _report_failure(self, st: dict[str, Any]) -> None:
        """The trainer died or failed while we watched: say so in a dialog, with its log."""
        run = core.open_run(self.run_path)
        tail = "\n".join(run.log_tail(8))
        reason = localized(st.get("error")) or _("the trainer process ended without a word: killed "
                                      "(out of memory?) or crashed")
        hint = _("Resume with ctrl+r if it saved a state.") if st.get("resumable") else \
            _("Fix the cause and start again with ctrl+t.")
        self.wizard.show_error(_("Training {state}").format(state=state_name(st.get("state"))),
                               f"{reason}\n\n{tail}".strip(),
                               hint + "\n" + _("Full log: {path}").format(path=run.log_path))

    def _show_progress(self) -> None:
        st = self.run_state
        step = int(self.last.get("step", st.get("step", 0)) or 0)
        max_steps = st.get("max_steps") or self.last.get("max_steps")
        state = st.get("state", "opening" if self.foreign else "starting")
        ended = state in core.TERMINAL_STATES  # its bar stops and it has no ETA
        bar = self.query_one("#run-progress", ProgressBar)
        bar.update(total=max_steps or (max(step, 1) if ended else None), progress=step)
        eta = None if ended else self.speed.eta_seconds(step, max_steps)
        rate = self.speed.per_second
        self._set("#run-numbers", f"{step}/{max_steps or '?'}  ETA {format_duration(eta)}  "
                  f"{f'{rate:.2f}' if rate else '–'} it/s")
        title = _("{state}: {run}").format(state=state_name(state),
                                           run=self.run_path.name if self.run_path else "")
        if self.foreign:
            title = _("watching {trainer}, {state}: {path}").format(
                trainer=st.get("trainer") or _("another trainer"), state=state_name(state),
                path=short_path(self.run_path, 50))
            codes = dict.fromkeys(str(f.get("code")) for f in self.findings)
            if codes:
                title += " — " + _("doctor: {codes}").format(codes=", ".join(codes))
        if st.get("error"):  # its first line: the whole text is in the dialog and the log
            error = str(localized(st["error"])).strip().splitlines()[0]
            title += f" — {error[:157] + '…' if len(error) > 160 else error}"
        if state == "crashed":
            title += " — " + _("the trainer process is gone (ctrl+r resumes if it saved a "
                               "state)")
        self._set("#run-title", title)
        self._show_stats()

    def _show_stats(self) -> None:
        row = self.last
        parts = []
        if "epoch" in row:
            parts.append(_("epoch {epoch}").format(epoch=row["epoch"]) + (
                f"/{self.run_state['epochs']}" if self.run_state.get("epochs") else ""))
        if isinstance(row.get("loss"), (int, float)):
            parts.append(f"loss {row['loss']:.4f}")
        if self.smooth is not None:
            parts.append(_("avg {value}").format(value=f"{self.smooth:.4f}"))
        lr = row.get("lr_unet", row.get("lr"))
        if isinstance(lr, (int, float)):
            parts.append(f"lr {lr:.2g}")
        parts.append(getattr(self, "gpu_text", "GPU: –"))
        self._set("#run-stats", "  ".join(parts))

    def _set(self, selector: str, text: str) -> None:
        """Update a line only when its text changes (a redraw costs the UI's CPU)."""
        widget = self.query_one(selector, Static)
        if getattr(widget, "_shown_text", None) != text:
            widget._shown_text = text
            widget.update(text)

    # ---- actions -------------------------------------------------------------------------
    def action_unwatch(self) -> None:
        """Stop following another trainer's run; back to loratui's own (if any)."""
        if not self.foreign:
            return
        self.state.watch_path = None
        self.refresh_from_state()
        self.notify(_("Stopped watching; the run itself goes on."))

    def action_start(self) -> None:
        if self.run_state.get("state") in core.ACTIVE_STATES:
            self.notify(_("This run is still training."), severity="warning")
            return
        if self.save_config():
            self.start_training()

    @work(thread=True, exclusive=True, group="start", exit_on_error=False, name=N_("Start training"))
    def start_training(self) -> None:
        run_path = core.start_training(self.state.config_path)
        self.app.call_from_thread(self._attach_run, run_path)

    def _attach_run(self, run_path: Path) -> None:
        self.state.run_dir = run_path
        self.follow(run_path)

    def action_stop(self) -> None:
        if self.run_path is None or self.run_state.get("state") not in core.ACTIVE_STATES:
            self.notify(_("No active run to stop."), severity="warning")
            return
        message = core.stop_run(self.run_path)
        self.notify(message)

    def action_resume(self) -> None:
        if self.run_path is None:
            self.notify(_("No run to resume: open one on the Start step (Run folder, "
                          "ctrl+o) first."), severity="warning")
            return
        state = self.run_state.get("state")
        if state in core.ACTIVE_STATES:
            self.notify(_("This run is still training."), severity="warning")
            return
        if state == "finished":  # resuming it would train its last step again
            self.notify(_("This run has finished: there is nothing to resume. ctrl+t starts "
                          "a new run."), severity="warning")
            return
        self.resume_training(self.run_path)

    @work(thread=True, exclusive=True, group="start", exit_on_error=False, name=N_("Resume training"))
    def resume_training(self, run_path: Path) -> None:
        new_path = core.resume_run(run_path)
        self.app.call_from_thread(self._attach_run, new_path)

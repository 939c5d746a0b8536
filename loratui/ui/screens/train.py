"""Step 6: start training in its own process and follow its run folder live."""

from __future__ import annotations

import contextlib
import os
import time
from pathlib import Path
from typing import Any, ClassVar

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.css.query import NoMatches
from textual.widgets import ProgressBar, RichLog, Static
from textual.worker import get_current_worker

from loratui.ui import core
from loratui.ui.messages import GpuUpdate, RunUpdate
from loratui.ui.runwatch import RunPoller, Speed, format_duration
from loratui.ui.screens.base import WizardScreen
from loratui.ui.text import short_path
from loratui.ui.widgets.loss_chart import LossChart
from loratui.ui.widgets.sample_view import SampleView


def event_line(event: dict[str, Any], project: Path) -> str:
    """One event of the run for the log: time, type, message; paths inside the project
    written relative to it (`dataset/demo_04.png: no caption`), and the log wraps the rest."""
    message = str(event.get("message", "")).replace(f"{project}{os.sep}", "")
    return f"{str(event.get('time', ''))[11:19]} {event.get('type', '?'):12} {message}"


class TrainScreen(WizardScreen):
    STEP = "train"
    HELP = """
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
"""
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+t", "start", "Start"),
        Binding("ctrl+x", "stop", "Stop"),
        Binding("ctrl+r", "resume", "Resume"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.run_path: Path | None = None
        self.run_state: dict[str, Any] = {}
        self.speed = Speed()
        self.last: dict[str, Any] = {}
        self.smooth: float | None = None

    def compose_body(self) -> ComposeResult:
        with Vertical(id="body"):
            yield Static("", id="run-title", markup=False)
            with Horizontal(id="run-progress-row"):
                yield ProgressBar(id="run-progress", show_eta=False)
                yield Static("", id="run-numbers", markup=False)
            yield Static("", id="run-stats", markup=False)
            with Horizontal(id="run-main"):
                yield LossChart(interval=self.wizard.watch_interval, id="loss-chart")
                yield SampleView(id="samples")
            yield RichLog(id="run-events", max_lines=200, markup=False, wrap=True)

    def on_mount(self) -> None:
        self.refresh_from_state()

    def refresh_from_state(self) -> None:
        run = self.state.run_dir
        if run != self.run_path:
            self.follow(run)
        self.query_one("#run-progress-row").display = run is not None
        if run is None:
            self.query_one("#run-title", Static).update(
                "No run yet. ctrl+t starts training with loratui.toml "
                f"({self.state.config.output.name}); it keeps running if the terminal closes.")

    # ---- following --------------------------------------------------------------------
    def follow(self, run_path: Path | None) -> None:
        """Show `run_path` from now on: the progress row appears at once (step 0/?)."""
        self.run_path = run_path
        self.speed, self.last, self.smooth, self.run_state = Speed(), {}, None, {}
        self.query_one(LossChart).clear_data()
        self.query_one("#run-events", RichLog).clear()
        self.query_one("#run-progress-row").display = run_path is not None
        if run_path is None:
            self.workers.cancel_group(self, "follow")
            return
        self.query_one("#run-title", Static).update(f"starting: {short_path(run_path, 60)}")
        self._show_progress()
        self.watch_run(run_path)
        self.watch_gpu()

    @work(thread=True, exclusive=True, group="follow", exit_on_error=False, name="Run follower")
    def watch_run(self, run_path: Path) -> None:
        run = core.open_run(run_path)
        poller = RunPoller(run)
        worker = get_current_worker()
        interval = self.wizard.watch_interval
        while not worker.is_cancelled:
            metrics, events, state, samples = poller.poll()
            self.post_message(RunUpdate(str(run_path), metrics, events, state, samples or []))
            if state.get("state") in core.TERMINAL_STATES and not metrics and not events:
                # Finished or dead: one slow look now and then (it may be resumed).
                interval = max(interval, 2.0)
            time.sleep(interval)

    @work(thread=True, exclusive=True, group="gpu", exit_on_error=False, name="GPU monitor")
    def watch_gpu(self) -> None:
        from loratui.gpustats import GpuSampler

        sampler = GpuSampler()
        worker = get_current_worker()
        try:
            if not sampler.available:
                self.post_message(GpuUpdate(f"GPU: {sampler.reason}"))
                return
            while not worker.is_cancelled:
                usage = sampler.sample()
                self.post_message(GpuUpdate(f"GPU {usage.summary()}" if usage else
                                            f"GPU: {sampler.reason}"))
                time.sleep(1.0)
        finally:
            sampler.close()

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
            step, loss = row.get("step"), row.get("loss")
            if isinstance(step, int) and isinstance(loss, (int, float)):
                steps.append(step)
                raw.append(float(loss))
                avg = row.get("loss_avg")
                if not isinstance(avg, (int, float)):  # trainer wrote no average: EMA
                    avg = loss if self.smooth is None else 0.9 * self.smooth + 0.1 * loss
                self.smooth = float(avg)
                smooth.append((step, self.smooth))
            self.last = row
        if steps:
            self.query_one(LossChart).extend(steps, raw, smooth)
        log = self.query_one("#run-events", RichLog)
        for ev in message.events:
            log.write(event_line(ev, self.state.project))
        was = self.run_state.get("state")
        self.run_state = message.state
        now = message.state.get("state")
        if was in core.ACTIVE_STATES and now in ("failed", "crashed"):
            self._report_failure(message.state)
        if message.samples:
            latest = Path(message.samples[-1])
            self.query_one(SampleView).show(latest, f"sample {latest.name}")
        self._show_progress()

    def _report_failure(self, st: dict[str, Any]) -> None:
        """The trainer died or failed while we watched: say so in a dialog, with its log."""
        run = core.open_run(self.run_path)
        tail = "\n".join(run.log_tail(8))
        reason = st.get("error") or ("the trainer process ended without a word: killed "
                                     "(out of memory?) or crashed")
        hint = "Resume with ctrl+r if it saved a state." if st.get("resumable") else \
            "Fix the cause and start again with ctrl+t."
        self.wizard.show_error(f"Training {st.get('state')}", f"{reason}\n\n{tail}".strip(),
                               f"{hint}\nFull log: {run.log_path}")

    def _show_progress(self) -> None:
        st = self.run_state
        step = int(self.last.get("step", st.get("step", 0)) or 0)
        max_steps = st.get("max_steps") or self.last.get("max_steps")
        bar = self.query_one("#run-progress", ProgressBar)
        bar.update(total=max_steps or None, progress=step)
        eta = self.speed.eta_seconds(step, max_steps)
        rate = self.speed.per_second
        state = st.get("state", "starting")
        self.query_one("#run-numbers", Static).update(
            f"{step}/{max_steps or '?'}  ETA {format_duration(eta)}  "
            f"{f'{rate:.2f}' if rate else '–'} it/s")
        title = f"{state}: {self.run_path.name if self.run_path else ''}"
        if st.get("error"):
            title += f" — {st['error']}"
        if state == "crashed":
            title += " — the trainer process is gone (ctrl+r resumes if it saved a state)"
        self.query_one("#run-title", Static).update(title)
        self._show_stats()

    def _show_stats(self) -> None:
        row = self.last
        parts = []
        if "epoch" in row:
            parts.append(f"epoch {row['epoch']}" + (f"/{self.run_state['epochs']}"
                                                    if self.run_state.get("epochs") else ""))
        if isinstance(row.get("loss"), (int, float)):
            parts.append(f"loss {row['loss']:.4f}")
        if self.smooth is not None:
            parts.append(f"avg {self.smooth:.4f}")
        lr = row.get("lr_unet", row.get("lr"))
        if isinstance(lr, (int, float)):
            parts.append(f"lr {lr:.2g}")
        parts.append(getattr(self, "gpu_text", "GPU: –"))
        self.query_one("#run-stats", Static).update("  ".join(parts))

    # ---- actions -------------------------------------------------------------------------
    def action_start(self) -> None:
        if self.run_state.get("state") in core.ACTIVE_STATES:
            self.notify("This run is still training.", severity="warning")
            return
        if self.save_config():
            self.start_training()

    @work(thread=True, exclusive=True, group="start", exit_on_error=False, name="Start training")
    def start_training(self) -> None:
        run_path = core.start_training(self.state.config_path)
        self.app.call_from_thread(self._attach_run, run_path)

    def _attach_run(self, run_path: Path) -> None:
        self.state.run_dir = run_path
        self.follow(run_path)

    def action_stop(self) -> None:
        if self.run_path is None or self.run_state.get("state") not in core.ACTIVE_STATES:
            self.notify("No active run to stop.", severity="warning")
            return
        message = core.stop_run(self.run_path)
        self.notify(message)

    def action_resume(self) -> None:
        if self.run_path is None:
            self.notify("Open a run first.", severity="warning")
            return
        if self.run_state.get("state") in core.ACTIVE_STATES:
            self.notify("This run is still training.", severity="warning")
            return
        self.resume_training(self.run_path)

    @work(thread=True, exclusive=True, group="start", exit_on_error=False, name="Resume training")
    def resume_training(self, run_path: Path) -> None:
        new_path = core.resume_run(run_path)
        self.app.call_from_thread(self._attach_run, new_path)

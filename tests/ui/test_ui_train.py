"""Train step: following a run folder, failure dialogs, stop, keys answered while following."""

from __future__ import annotations

import json
import subprocess
import sys

from textual.widgets import ProgressBar
from ui_helpers import HANG, NO_GPU, fake_gpu, text, wait_for, write_run

from loratui.ui.app import create_app
from loratui.ui.dialogs import ConfirmDialog, ErrorDialog
from loratui.ui.widgets.loss_chart import LossChart


async def test_follows_a_run_folder_and_its_new_rows(project, gpu12) -> None:
    run = write_run(project / "runs" / "demo-1", steps=40, max_steps=100)
    app = create_app(project, gpu=gpu12, run_dir=run, step="train", watch_interval=0.05)
    async with app.run_test(size=(100, 30)) as pilot:
        screen = app.screen
        chart = screen.query_one(LossChart)
        await wait_for(pilot, lambda: len(chart.steps) == 40)
        assert len(chart.smooth) == 40
        assert screen.query_one("#run-progress", ProgressBar).progress == 40
        assert "40/100" in text(app, "#run-numbers")
        assert "it/s" in text(app, "#run-numbers")  # from the rows' timestamps
        assert "sample e001-0.png" in str(screen.query_one(".sample-caption").render())
        # The trainer appends more rows: they arrive without reopening anything.
        with (run / "metrics.jsonl").open("a") as fh:
            for i in range(41, 46):
                fh.write(json.dumps({"step": i, "loss": 0.2, "loss_avg": 0.21,
                                     "eta_s": 99.0, "sec_per_step": 0.5}) + "\n")
        await wait_for(pilot, lambda: len(chart.steps) == 45)
        assert chart.smooth[-1] == 0.21  # the trainer's own average is used when present
        assert "ETA 1:39" in text(app, "#run-numbers")


async def test_chart_redraws_on_a_timer_not_per_row(project, gpu12) -> None:
    run = write_run(project / "runs" / "demo-1", steps=2000, max_steps=4000)
    app = create_app(project, gpu=gpu12, run_dir=run, step="train", watch_interval=0.2)
    async with app.run_test(size=(100, 30)) as pilot:
        chart = app.screen.query_one(LossChart)
        await wait_for(pilot, lambda: len(chart.steps) == 2000)
        await pilot.pause(0.5)
        assert chart.redraws <= 6  # 2000 rows, a handful of redraws


async def test_dead_trainer_is_reported_in_a_dialog(project, gpu12) -> None:
    # A real process plays the trainer, then dies without a word (like an OOM kill).
    proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        run = write_run(project / "runs" / "demo-1", steps=10, pid=proc.pid)
        (run / "train.log").write_text("step 10/100 loss 0.2\n")
        app = create_app(project, gpu=gpu12, run_dir=run, step="train", watch_interval=0.05)
        async with app.run_test(size=(100, 30)) as pilot:
            await wait_for(pilot, lambda: app.screen.run_state.get("state") == "running")
            proc.kill()
            proc.wait()
            await wait_for(pilot, lambda: isinstance(app.screen, ErrorDialog))
            assert app.screen.title_text == "Training crashed"
            assert "step 10/100" in app.screen.message
            assert "Traceback" not in app.screen.message
    finally:
        proc.kill()


async def test_stop_sends_the_trainer_its_stop_signal(project, gpu12) -> None:
    code = ("import signal, sys, time\n"
            "signal.signal(signal.SIGTERM, lambda *a: (open(sys.argv[1], 'w').write('stop'),"
            " sys.exit(0)))\n"
            "print('ready', flush=True)\n"
            "time.sleep(60)\n")
    marker = project / "stopped"
    proc = subprocess.Popen([sys.executable, "-c", code, str(marker)], stdout=subprocess.PIPE,
                            text=True)
    try:
        assert proc.stdout.readline().strip() == "ready"
        run = write_run(project / "runs" / "demo-1", steps=10, pid=proc.pid)
        app = create_app(project, gpu=gpu12, run_dir=run, step="train", watch_interval=0.05)
        async with app.run_test(size=(100, 30)) as pilot:
            await wait_for(pilot, lambda: app.screen.run_state.get("state") == "running")
            await pilot.press("ctrl+x")
            assert proc.wait(timeout=HANG) == 0
            assert marker.read_text() == "stop"
    finally:
        proc.kill()


async def test_start_without_base_model_shows_the_preflight_problems(project) -> None:
    app = create_app(project, gpu=NO_GPU, step="train")
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        await pilot.press("ctrl+t")
        await app.workers.wait_for_complete()
        await wait_for(pilot, lambda: isinstance(app.screen, ErrorDialog))
        assert "model.base is empty" in app.screen.message
        assert "Traceback" not in app.screen.message
        await pilot.press("enter")
        await pilot.pause()
        assert app.screen.STEP == "train"


async def test_active_run_is_offered_for_reattach(project, gpu12) -> None:
    proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        write_run(project / "runs" / "hanfu-20251125-0300", steps=10, pid=proc.pid)
        app = create_app(project, gpu=gpu12, watch_interval=0.05)
        async with app.run_test(size=(80, 24)) as pilot:
            await wait_for(pilot, lambda: isinstance(app.screen, ConfirmDialog))
            assert "hanfu-20251125-0300" in app.screen.message
            await pilot.press("y")
            await wait_for(pilot, lambda: getattr(app.screen, "STEP", "") == "train")
            assert app.state.run_dir.name == "hanfu-20251125-0300"
    finally:
        proc.kill()


async def test_keys_are_answered_while_a_long_run_is_followed(project, monkeypatch) -> None:
    """A 10,000-step run is read in a worker: navigation keys are answered while the read
    is still under way. The first read is held (here) until the keys were answered: read
    on the app's own thread, it would hold the keys too, and the test would time out."""
    import threading

    from loratui.ui import runwatch

    run = write_run(project / "runs" / "big", steps=10_000, max_steps=10_000)
    read, release = threading.Event(), threading.Event()
    poll = runwatch.RunPoller.poll

    def held(self):
        rows = poll(self)
        if not read.is_set():  # the first read (all 10,000 rows) waits for the keys
            read.set()
            release.wait(HANG)
        return rows

    monkeypatch.setattr(runwatch.RunPoller, "poll", held)
    app = create_app(project, gpu=fake_gpu(), run_dir=run, step="train", watch_interval=0.05)
    try:
        async with app.run_test(size=(100, 30)) as pilot:
            await wait_for(pilot, read.is_set, what="the first read of the run")
            await pilot.press("ctrl+p")
            await wait_for(pilot, lambda: app.screen.STEP == "parameters")
            await pilot.press("ctrl+n")
            await wait_for(pilot, lambda: app.screen.STEP == "train")
            assert not release.is_set()  # answered while the read was still held
            release.set()
            chart = app.screen.query_one(LossChart)
            await wait_for(pilot, lambda: len(chart.steps) == 10_000)
    finally:
        release.set()

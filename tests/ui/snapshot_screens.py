"""Every screen of the wizard, set up for a snapshot the same way in every language.

`SCREENS[name](project)` returns `(app, run_before)` for pytest-textual-snapshot's
`snap_compare`: the app on a fixed project folder (the path on screen never changes) and
what to do before the picture is taken, ending with `settle()` (background work done, the
text cursor steady). test_ui_snapshots.py takes them in English, test_ui_snapshots_zh.py
in Chinese.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from pathlib import Path

from ui_helpers import HANG, NO_GPU, fake_gpu, ready_project, settle, write_run

from loratui.ui.app import create_app
from loratui.ui.dialogs import ConfirmDialog, ErrorDialog
from loratui.ui.dialogs.captions import AutoCaptionDialog, BulkEditDialog
from loratui.ui.dialogs.edit_field import EditFieldDialog
from loratui.ui.dialogs.help import HelpScreen
from loratui.ui.dialogs.prepare import PrepareDialog
from loratui.ui.screens.doctor import DoctorScreen
from loratui.ui.widgets.loss_chart import LossChart

Setup = Callable[[Path], tuple]
RunBefore = Callable[[object], Awaitable[None]]

# The steps as a new project shows them (no dataset, no LoRA yet): what a new user sees.
STEPS = ("start", "dataset", "captions", "trigger", "parameters", "export", "test")


async def until(pilot, predicate, timeout: float = HANG, what: Callable[[], str] = str) -> None:
    """Wait for `predicate`; `what()` says what was seen when it never came true."""
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, f"timed out: {what()}"
        await pilot.pause(0.05)


def step(name: str) -> Setup:
    def setup(project: Path):
        return create_app(project, gpu=fake_gpu("NVIDIA GeForce RTX 3060 Ti", 8.0),
                          step=name), settle
    return setup


def following_a_run(project: Path):
    """The Train step following a 300-of-800-step run, and what waits for it."""
    run = write_run(project / "runs" / "hanfu_girl-20251124-160000", steps=300,
                    max_steps=800, state="running", samples=2)
    app = create_app(project, gpu=NO_GPU, run_dir=run, step="train", watch_interval=0.05)

    async def loaded(pilot) -> None:
        chart = app.screen.query_one(LossChart)
        # Wait for both threads' first messages: the run follower and the GPU monitor.
        await until(pilot, lambda: len(chart.steps) >= 300 and bool(app.screen.run_state)
                    and bool(getattr(app.screen, "gpu_text", "")))
        chart._draw()
        await settle(pilot)

    return app, loaded


def watching(project: Path):
    """The Train step watching another trainer: a finished sd-scripts log opened on the
    Start step with ctrl+l."""
    from tests.trainer_streams import sd_scripts

    log = project / "train.log"
    log.write_bytes(sd_scripts(steps=60, epochs=3).data)
    app = create_app(project, gpu=NO_GPU, watch_interval=0.05)

    async def watched(pilot) -> None:
        await settle(pilot)
        await pilot.press("ctrl+l")
        app.screen.query_one("#watch-path").value = str(log)
        await pilot.press("enter")
        await until(pilot, lambda: getattr(app.screen, "STEP", "") == "train",
                    what=lambda: f"still on {app.screen!r}")
        chart = app.screen.query_one(LossChart)
        await until(pilot, lambda: len(chart.smooth_steps) >= 60
                    and bool(getattr(app.screen, "gpu_text", "")),
                    what=lambda: f"{len(chart.smooth_steps)} points, GPU line "
                                 f"{getattr(app.screen, 'gpu_text', '')!r}")
        chart._draw()
        await settle(pilot)

    return app, watched


def on_top(start: str, keys: tuple[str, ...], shown: type, *, ready: bool = False,
           images: int = 3, before: Callable | None = None) -> Setup:
    """A dialog or screen opened with `keys` on the `start` step; `ready`: a project whose
    every step can be passed (a model folder, `images` captioned images)."""
    def setup(project: Path):
        if ready:
            ready_project(project, images)
        app = create_app(project, gpu=fake_gpu("NVIDIA GeForce RTX 3060 Ti", 8.0), step=start)

        async def opened(pilot) -> None:
            await settle(pilot)
            if before is not None:
                await before(app, pilot)
            await pilot.press(*keys)
            await until(pilot, lambda: isinstance(app.screen, shown))
            await settle(pilot)

        return app, opened
    return setup


async def _scanned(app, pilot) -> None:
    await until(pilot, lambda: app.screen.report is not None)


async def _captions_listed(app, pilot) -> None:
    await until(pilot, lambda: len(app.screen.records) == 3)


async def _epochs_row(app, pilot) -> None:
    table = app.screen.query_one("#fields")
    table.focus()
    keys = [row.key.value for row in table.ordered_rows]
    table.move_cursor(row=keys.index("training.epochs"))
    await pilot.pause()


def failed_start(project: Path):
    """Training cannot start (no loratui.toml model): the error dialog."""
    app = create_app(project, gpu=NO_GPU, step="train")

    async def failed(pilot) -> None:
        await settle(pilot)
        await pilot.press("ctrl+t")
        await until(pilot, lambda: isinstance(app.screen, ErrorDialog))
        await settle(pilot)

    return app, failed


SCREENS: dict[str, Setup] = {
    **{name: step(name) for name in STEPS},
    "train": following_a_run,
    "watch": watching,
    "help": on_top("start", ("f1",), HelpScreen),
    "doctor": on_top("start", ("ctrl+g",), DoctorScreen),
    "error": failed_start,
    "confirm": on_top("trigger", ("ctrl+o",), ConfirmDialog, ready=True),
    "edit-field": on_top("parameters", ("enter",), EditFieldDialog, before=_epochs_row),
    "prepare": on_top("dataset", ("ctrl+o",), PrepareDialog, ready=True, before=_scanned),
    "auto-caption": on_top("captions", ("ctrl+o",), AutoCaptionDialog, ready=True,
                           before=_captions_listed),
    "bulk-edit": on_top("captions", ("ctrl+l",), BulkEditDialog, ready=True,
                        before=_captions_listed),
}

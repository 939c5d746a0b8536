"""SVG snapshots of the wizard at 80×24 and 120×40 (pytest-textual-snapshot).

Deterministic: a fixed project path, a simulated GPU, no NVML sampling, half-block images,
a run folder with fixed timestamps. Update with `pytest tests/ui --snapshot-update`.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import pytest
from ui_helpers import NO_GPU, fake_gpu, write_run

from loratui.ui.app import create_app
from loratui.ui.dialogs import ErrorDialog
from loratui.ui.widgets.loss_chart import LossChart

SIZES = [(80, 24), (120, 40)]
ROOT = Path("/tmp/loratui-snapshots")  # not gettempdir(): TMPDIR differs between machines

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="paths differ on Windows")


class NoNvml:
    available = False
    reason = "no NVIDIA driver"

    def __init__(self, index: int = 0) -> None:
        pass

    def sample(self):
        return None

    def close(self) -> None:
        pass


@pytest.fixture
def fixed_project(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("LORATUI_IMAGES", "halfcell")
    monkeypatch.setattr("loratui.gpustats.GpuSampler", NoNvml)
    import fcntl

    folder = ROOT / "proj"  # the path shown on screen is always the same
    ROOT.mkdir(parents=True, exist_ok=True)
    # One test run at a time uses the folder: two checkouts tested on one machine would
    # otherwise delete each other's run folders mid-snapshot.
    with open(ROOT / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True)
        yield folder.resolve()
        shutil.rmtree(folder, ignore_errors=True)


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_start_screen(snap_compare, fixed_project, size) -> None:
    app = create_app(fixed_project, gpu=fake_gpu())
    assert snap_compare(app, terminal_size=size)


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_parameters_screen(snap_compare, fixed_project, size) -> None:
    app = create_app(fixed_project, gpu=fake_gpu("NVIDIA GeForce RTX 3060 Ti", 8.0),
                     step="parameters")
    assert snap_compare(app, terminal_size=size, press=["down", "down", "down", "down"])


def following_a_run(project):
    """The wizard on the Train step following a 300-of-800-step run, and what waits for it."""
    run = write_run(project / "runs" / "hanfu_girl-20251124-160000", steps=300,
                    max_steps=800, state="running", samples=2)
    app = create_app(project, gpu=NO_GPU, run_dir=run, step="train", watch_interval=0.05)

    async def loaded(pilot) -> None:
        chart = app.screen.query_one(LossChart)
        # Wait for both threads' first messages: the run follower and the GPU monitor.
        while len(chart.steps) < 300 or not app.screen.run_state or not getattr(app.screen, "gpu_text", ""):
            await pilot.pause(0.05)
        chart._draw()
        await pilot.pause(0.2)

    return app, loaded


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_train_screen(snap_compare, fixed_project, size) -> None:
    app, loaded = following_a_run(fixed_project)
    assert snap_compare(app, terminal_size=size, run_before=loaded)


def test_error_dialog(snap_compare, fixed_project) -> None:
    app = create_app(fixed_project, gpu=NO_GPU, step="train")

    async def failed(pilot) -> None:
        await pilot.press("ctrl+t")
        while not isinstance(app.screen, ErrorDialog):
            await pilot.pause(0.05)
        await pilot.pause(0.2)

    assert snap_compare(app, terminal_size=(80, 24), run_before=failed)

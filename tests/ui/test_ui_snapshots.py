"""SVG snapshots of the wizard at 80×24 and 120×40 (pytest-textual-snapshot).

Deterministic: a fixed project path, a simulated GPU, no NVML sampling, half-block images,
a run folder with fixed timestamps. Every screen of snapshot_screens.SCREENS is taken at
80×24 (the ones below with a test of their own at both sizes too); test_ui_snapshots_zh.py
takes the same screens in Chinese. Update with `pytest tests/ui --snapshot-update`.
"""

from __future__ import annotations

import sys

import pytest
from snapshot_screens import SCREENS, following_a_run
from ui_helpers import fake_gpu

from loratui.ui.app import create_app

SIZES = [(80, 24), (120, 40)]
# Screens with a test of their own below; every other one is test_screen's.
OWN_TEST = ("start", "parameters", "train", "error")

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="paths differ on Windows")


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_start_screen(snap_compare, fixed_project, size) -> None:
    app = create_app(fixed_project, gpu=fake_gpu())
    assert snap_compare(app, terminal_size=size)


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_parameters_screen(snap_compare, fixed_project, size) -> None:
    app = create_app(fixed_project, gpu=fake_gpu("NVIDIA GeForce RTX 3060 Ti", 8.0),
                     step="parameters")
    assert snap_compare(app, terminal_size=size, press=["down", "down", "down", "down"])


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_train_screen(snap_compare, fixed_project, size) -> None:
    app, loaded = following_a_run(fixed_project)
    assert snap_compare(app, terminal_size=size, run_before=loaded)


def test_error_dialog(snap_compare, fixed_project) -> None:
    app, failed = SCREENS["error"](fixed_project)
    assert snap_compare(app, terminal_size=(80, 24), run_before=failed)


@pytest.mark.parametrize("name", [name for name in SCREENS if name not in OWN_TEST])
def test_screen(snap_compare, fixed_project, name) -> None:
    app, run_before = SCREENS[name](fixed_project)
    assert snap_compare(app, terminal_size=(80, 24), run_before=run_before)

"""SVG snapshots of every wizard screen in Chinese at 80×24 (pytest-textual-snapshot).

The same screens, set up the same way, as test_ui_snapshots.py (snapshot_screens.SCREENS:
a fixed project path, a simulated GPU, no NVML, half-block images); the language is set
with `--lang zh`'s `set_language`. Chinese characters take two terminal columns each:
these pin down that every screen keeps its layout. Update with
`pytest tests/ui/test_ui_snapshots_zh.py --snapshot-update` (then look at the report
before committing).
"""

from __future__ import annotations

import pytest
from snapshot_screens import SCREENS, STEPS

SIZE = (80, 24)
# Screens with a test of their own below; every other one is test_screen_in_chinese's.
OWN_TEST = (*STEPS, "train", "help", "doctor", "error")


def shot(snap_compare, project, name: str) -> bool:
    app, run_before = SCREENS[name](project)
    return snap_compare(app, terminal_size=SIZE, run_before=run_before)


@pytest.mark.parametrize("step", STEPS)
def test_step_in_chinese(snap_compare, fixed_project, chinese, step) -> None:
    assert shot(snap_compare, fixed_project, step)


def test_train_in_chinese(snap_compare, fixed_project, chinese) -> None:
    assert shot(snap_compare, fixed_project, "train")


def test_help_in_chinese(snap_compare, fixed_project, chinese) -> None:
    assert shot(snap_compare, fixed_project, "help")


def test_doctor_in_chinese(snap_compare, fixed_project, chinese) -> None:
    assert shot(snap_compare, fixed_project, "doctor")


def test_error_dialog_in_chinese(snap_compare, fixed_project, chinese) -> None:
    assert shot(snap_compare, fixed_project, "error")


@pytest.mark.parametrize("name", [name for name in SCREENS if name not in OWN_TEST])
def test_screen_in_chinese(snap_compare, fixed_project, chinese, name) -> None:
    assert shot(snap_compare, fixed_project, name)

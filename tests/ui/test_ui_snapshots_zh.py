"""SVG snapshots of every wizard screen in Chinese at 80×24 (pytest-textual-snapshot).

The same deterministic setup as test_ui_snapshots.py (fixed project path, simulated GPU,
no NVML, half-block images); the language is set with `--lang zh`'s `set_language`.
Chinese characters take two terminal columns each: these pin down that every screen
keeps its layout. Update with `pytest tests/ui/test_ui_snapshots_zh.py --snapshot-update`
(then look at the report before committing).
"""

from __future__ import annotations

import pytest
from test_ui_snapshots import fixed_project, following_a_run  # noqa: F401 (the fixture)
from ui_helpers import NO_GPU, fake_gpu, settle

from loratui.ui.app import create_app
from loratui.ui.dialogs import ErrorDialog
from loratui.ui.dialogs.help import HelpScreen

SIZE = (80, 24)
# Steps that show the project as it is (no dataset, no LoRA yet): what a new user sees.
STEPS = ("start", "dataset", "captions", "trigger", "parameters", "export", "test")


@pytest.mark.parametrize("step", STEPS)
def test_step_in_chinese(snap_compare, fixed_project, chinese, step) -> None:  # noqa: F811
    app = create_app(fixed_project, gpu=fake_gpu("NVIDIA GeForce RTX 3060 Ti", 8.0),
                     step=step)
    assert snap_compare(app, terminal_size=SIZE, run_before=settle)


def test_train_in_chinese(snap_compare, fixed_project, chinese) -> None:  # noqa: F811
    app, loaded = following_a_run(fixed_project)
    assert snap_compare(app, terminal_size=SIZE, run_before=loaded)


def test_help_in_chinese(snap_compare, fixed_project, chinese) -> None:  # noqa: F811
    app = create_app(fixed_project, gpu=fake_gpu())

    async def help_open(pilot) -> None:
        await settle(pilot)
        await pilot.press("f1")
        while not isinstance(app.screen, HelpScreen):
            await pilot.pause(0.05)
        await settle(pilot)

    assert snap_compare(app, terminal_size=SIZE, run_before=help_open)


def test_doctor_in_chinese(snap_compare, fixed_project, chinese) -> None:  # noqa: F811
    app = create_app(fixed_project, gpu=fake_gpu())

    async def doctor(pilot) -> None:
        await settle(pilot)
        await pilot.press("ctrl+g")
        await pilot.pause(1.0)
        await settle(pilot)

    assert snap_compare(app, terminal_size=SIZE, run_before=doctor)


def test_error_dialog_in_chinese(snap_compare, fixed_project, chinese) -> None:  # noqa: F811
    app = create_app(fixed_project, gpu=NO_GPU, step="train")

    async def failed(pilot) -> None:
        await pilot.press("ctrl+t")
        while not isinstance(app.screen, ErrorDialog):
            await pilot.pause(0.05)
        await pilot.pause(0.2)

    assert snap_compare(app, terminal_size=SIZE, run_before=failed)

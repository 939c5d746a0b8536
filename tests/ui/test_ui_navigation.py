"""Drive the wizard by keys only: every step, back and next, the doctor from any step."""

from __future__ import annotations

from textual.widgets import Footer
from ui_helpers import paste, ready_project, text, wait_for

from loratui.ui.app import create_app
from loratui.ui.screens.doctor import DoctorScreen
from loratui.ui.widgets import STEPS, StepIndicator


async def test_next_and_back_visit_every_step_in_order(project, gpu12) -> None:
    app = create_app(ready_project(project), gpu=gpu12)
    async with app.run_test(size=(80, 24)) as pilot:
        seen = []
        for _ in STEPS:
            await pilot.pause()
            seen.append(app.screen.STEP)
            assert app.screen.query_one(StepIndicator).current == app.screen.STEP
            await pilot.press("ctrl+n")
        assert seen == [name for name, _ in STEPS]
        for expected in reversed(seen[:-1]):
            await pilot.press("ctrl+p")
            await pilot.pause()
            assert expected == app.screen.STEP


async def test_doctor_is_reachable_from_every_step(project, gpu12) -> None:
    app = create_app(project, gpu=gpu12)
    async with app.run_test(size=(80, 24)) as pilot:
        for name, _ in STEPS:
            app.goto(name)
            await pilot.pause()
            await pilot.press("ctrl+g")
            await pilot.pause()
            assert isinstance(app.screen, DoctorScreen), name
            await pilot.press("escape")
            await pilot.pause()
            assert name == app.screen.STEP


async def test_footer_shows_the_step_keys(project, gpu12) -> None:
    app = create_app(project, gpu=gpu12)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        assert app.screen.query_one(Footer)
        shown = {b.key for (_, b, enabled, _tip) in app.active_bindings.values() if b.show}
        assert {"ctrl+n", "ctrl+g", "ctrl+q", "ctrl+l"} <= shown
        assert "ctrl+p" not in shown  # the first step: no Back
        app.goto("dataset")
        await pilot.pause()
        shown = {b.key for (_, b, enabled, _tip) in app.active_bindings.values() if b.show}
        assert {"ctrl+n", "ctrl+p", "ctrl+g", "ctrl+q"} <= shown


async def test_quit_key_exits(project, gpu12) -> None:
    app = create_app(project, gpu=gpu12)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("ctrl+q")
        await pilot.pause()
    assert app.return_code == 0


async def test_next_stays_on_a_step_with_invalid_input_and_says_what_to_fix(project,
                                                                           gpu12) -> None:
    """ctrl+n never leaves a step whose input cannot work; one plain line names the step
    and the fix, and no dialog is opened for the user's own typo."""
    (project / "empty").mkdir()
    app = create_app(project, gpu=gpu12)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        await pilot.press("ctrl+n")
        await pilot.pause()
        assert app.screen.STEP == "start"
        assert text(app, "#guard").startswith("Start step: enter the base model")
        await paste(pilot, app, "#base-model", str(project / "no-such-model"))
        await pilot.press("ctrl+n")
        await pilot.pause()
        assert app.screen.STEP == "start"
        assert "no-such-model does not exist" in text(app, "#guard")
        ready_project(project)
        await paste(pilot, app, "#base-model", str(project / "model"))
        await pilot.press("ctrl+n")
        await pilot.pause()
        assert app.screen.STEP == "dataset"
        assert not app.screen.query_one("#guard").display

        for folder, said in ((project / "missing", "missing does not exist"),
                             (project / "empty", "has no usable images")):
            await paste(pilot, app, "#dataset-dir", str(folder))
            await pilot.press("enter")
            await wait_for(pilot, lambda: not app.screen.scanning)  # a scan in a thread
            await pilot.press("ctrl+n")
            await pilot.pause()
            assert app.screen.STEP == "dataset", folder
            assert text(app, "#guard").startswith("Dataset step: "), folder
            assert said in text(app, "#guard")
        assert app.screen_stack[-1] is app.screen and len(app.screen_stack) == 2  # no dialog

"""The wizard in a terminal smaller than it is laid out for (80×24): it keeps working,
and a line under the header says what size to make it; the line goes once the terminal
is large enough, and comes back when it shrinks, on every step and on the Doctor."""

from __future__ import annotations

import pytest
from textual.widgets import Static
from ui_helpers import NO_GPU, screen_lines, write_run

from loratui.ui.app import create_app


def note(app) -> str | None:
    """The size line's text, None while it is hidden."""
    line = app.screen.query_one("#size-note", Static)
    return str(line.render()) if line.display else None


@pytest.mark.parametrize("lang", ["en", "zh"])
async def test_the_size_line_follows_the_terminal(tmp_path, lang, request) -> None:
    if lang == "zh":
        request.getfixturevalue("chinese")
    run = write_run(tmp_path / "runs" / "demo-1", steps=120, max_steps=400)
    app = create_app(tmp_path, gpu=NO_GPU, run_dir=run, watch_interval=0.1)
    async with app.run_test(size=(60, 20)) as pilot:
        await pilot.pause(0.3)
        shown = note(app)
        assert shown is not None and "60×20" in shown and "80×24" in shown
        assert ("终端只有" if lang == "zh" else "make it at least") in shown
        assert any("60×20" in line for line in screen_lines(app))   # on the screen, whole
        await pilot.resize_terminal(120, 40)
        await pilot.pause(0.2)
        assert note(app) is None
        for step in ("dataset", "parameters", "train"):     # a live run's chart too
            app.goto(step)
            await pilot.pause(0.5)
            await pilot.resize_terminal(40, 12)
            await pilot.pause(0.2)
            assert "40×12" in (note(app) or ""), step
            await pilot.resize_terminal(80, 24)
            await pilot.pause(0.2)
            assert note(app) is None, step
        await pilot.resize_terminal(50, 15)
        await pilot.press("ctrl+g")                         # the Doctor has the line too
        await pilot.pause(0.8)
        assert "50×15" in (note(app) or "")
        await pilot.press("escape")
        await pilot.pause(0.2)
        assert "50×15" in (note(app) or "")                 # and the step it returns to

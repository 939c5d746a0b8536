"""Rough edges a newcomer met walking the wizard: one message per failure, aligned
columns, a refusal before a question, keys that do what they say."""

from __future__ import annotations

from ui_helpers import fake_gpu, ready_project, text, wait_for

from loratui.ui.app import create_app
from loratui.ui.dialogs import ErrorDialog


async def test_a_blip_failure_is_one_dialog_and_no_notice(tmp_path) -> None:
    project = ready_project(tmp_path / "proj")
    missing = tmp_path / "no-blip-here"
    app = create_app(project, gpu=fake_gpu(), step="captions")
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_for(pilot, lambda: "3 images" in text(app, "#captions-summary"))
        await pilot.press("ctrl+o")
        await pilot.pause()
        app.screen.query_one("#model").value = str(missing)
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: isinstance(app.screen, ErrorDialog))
        dialog = app.screen
        await wait_for(pilot, lambda: not any(w.is_running for w in app.workers
                                              if w.group == "captions"))
        await pilot.pause()
        assert str(missing) in dialog.message + dialog.hint
        # the wizard's way to give the model, not the command line's flag
        assert "--model" not in dialog.message and "BLIP model (ctrl+o" in dialog.message
        assert list(app._notifications) == []  # the dialog says it: no second notice
        assert app.screen is dialog and len([s for s in app.screen_stack
                                             if isinstance(s, ErrorDialog)]) == 1


async def test_a_failed_scan_is_one_dialog_and_no_notice(tmp_path, monkeypatch) -> None:
    from loratui.ui import core

    project = ready_project(tmp_path / "proj")

    def unreadable(cfg, folder, progress=None):
        raise PermissionError(13, "Permission denied", str(folder))

    monkeypatch.setattr(core, "scan_dataset", unreadable)
    app = create_app(project, gpu=fake_gpu(), step="dataset")
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, ErrorDialog))
        await wait_for(pilot, lambda: not any(w.is_running for w in app.workers))
        await pilot.pause()
        assert list(app._notifications) == []
        await pilot.press("escape")
        await wait_for(pilot, lambda: "failed" in text(app, "#dataset-summary"))

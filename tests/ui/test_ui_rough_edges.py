"""Rough edges a newcomer met walking the wizard: one message per failure, aligned
columns, a refusal before a question, keys that do what they say."""

from __future__ import annotations

import pytest
from ui_helpers import columns, fake_gpu, ready_project, screen_lines, text, wait_for

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


@pytest.mark.parametrize("lang", ["en", "zh"])
async def test_start_step_values_and_status_lines_share_a_column(tmp_path, lang) -> None:
    """A typed value, the status line under it and the GPU line start in one column."""
    from loratui import i18n

    i18n.set_language(lang)
    project = ready_project(tmp_path / "proj")
    app = create_app(project, gpu=fake_gpu(), step="start")
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: "SD1.5" in text(app, "#model-status"))
        await pilot.pause()
        lines = screen_lines(app)

        def column(selector: str) -> int:
            """Where the widget's text starts on screen, in terminal columns."""
            region = app.screen.query_one(selector).region
            row = columns(lines[region.y], region.x, region.right)
            return region.x + len(row) - len(row.lstrip())

        starts = {sel: column(sel) for sel in ("#project", "#project-status", "#base-model",
                                               "#model-status", "#gpu-status", "#runs-status")}
        assert len(set(starts.values())) == 1, starts


async def test_export_refuses_a_folder_in_the_way_before_asking_to_replace(tmp_path) -> None:
    """A folder named like the LoRA in the WebUI's LoRA folder cannot be replaced: the step
    says so (what is in the way, and the fix) at once, instead of asking "Replace?" and
    failing after a yes. A file of that name is what the question is for."""
    from test_ui_test_step import project_with_lora
    from ui_helpers import paste

    from loratui.ui.dialogs import ConfirmDialog

    project, lora = project_with_lora(tmp_path)
    loras = tmp_path / "ComfyUI" / "models" / "loras"
    (loras / lora.name).mkdir(parents=True)
    app = create_app(project, gpu=fake_gpu(), step="export")
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_for(pilot, lambda: "MB)" in text(app, "#export-lora"))
        await paste(pilot, app, "#webui", str(tmp_path / "ComfyUI"))
        # the line under the field says it before any key
        assert "is a folder or a special file" in text(app, "#export-target")
        await pilot.press("ctrl+o")
        await wait_for(pilot, lambda: isinstance(app.screen, (ErrorDialog, ConfirmDialog)))
        assert isinstance(app.screen, ErrorDialog)
        assert str(loras / lora.name) in app.screen.message
        assert "rename or move it" in app.screen.message
        await pilot.press("escape")
        await pilot.pause()
        (loras / lora.name).rmdir()
        (loras / lora.name).write_bytes(b"the user's own file")
        await paste(pilot, app, "#webui", str(tmp_path / "ComfyUI"))
        assert "→ ComfyUI" in text(app, "#export-target")
        await pilot.press("ctrl+o")
        await wait_for(pilot, lambda: isinstance(app.screen, (ErrorDialog, ConfirmDialog)))
        assert isinstance(app.screen, ConfirmDialog)
        await pilot.press("y")
        await wait_for(pilot, lambda: (loras / lora.name).read_bytes() == lora.read_bytes())
    backups = list(loras.glob(f"{lora.name}.*.bak"))
    assert len(backups) == 1 and backups[0].read_bytes() == b"the user's own file"

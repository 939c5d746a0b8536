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
        await pilot.press("escape")
        await pilot.pause()
        # the captions were left as they were: their counts, not a call to read them again
        assert text(app, "#captions-summary").startswith("3 images, 0 without caption")


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
        await paste(pilot, app, "#webui", str(tmp_path / "nowhere"))
        assert f"{tmp_path / 'nowhere'} does not exist" in text(app, "#export-target")
        await paste(pilot, app, "#webui", str(tmp_path / "ComfyUI"))
        # the line under the field says it before any key, and is the one message:
        # ctrl+o neither asks "Replace?" nor repeats it in a dialog
        said = text(app, "#export-target")
        assert str(loras / lora.name) in said and "rename or move it" in said
        await pilot.press("ctrl+o")
        await pilot.pause()
        assert app.screen.STEP == "export" and not any(
            w.is_running for w in app.workers if w.group == "install")
        assert app.screen.query_one("#export-target").has_class("bad")
        assert list(app._notifications) == []
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


async def test_trigger_step_promises_ctrl_o_only_for_captions_it_can_change(tmp_path) -> None:
    """`girl` inside the tag `a girl with red hair` cannot be moved first: ctrl+o left
    those captions alone, yet the line said it "puts it first everywhere"."""
    from loratui.ui.dialogs import ConfirmDialog

    project = ready_project(tmp_path / "proj")
    images = project / "images"
    (images / "0.txt").write_text("zq_girl_, a girl with red hair\n")
    (images / "1.txt").write_text("zq_girl_, a girl in a blue dress\n")
    (images / "2.txt").write_text("smiling, girl\n")
    app = create_app(project, gpu=fake_gpu(), step="trigger")
    async with app.run_test(size=(100, 30)) as pilot:
        field = app.screen.query_one("#trigger")
        # opened on this step: the captions are read at once (not "not scanned yet")
        await wait_for(pilot, lambda: "2 of 3 captions" in text(app, "#trigger-captions"))
        field.value = "girl"
        await wait_for(pilot, lambda: "3 not first" in text(app, "#trigger-captions"))
        line = text(app, "#trigger-captions")
        assert "everywhere" not in line
        assert "ctrl+o puts it first in 1 caption" in line
        assert "2 have it only inside a longer tag" in line
        await pilot.press("ctrl+o")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmDialog))  # a source folder
        await pilot.press("y")
        await wait_for(pilot, lambda: "2 not first" in text(app, "#trigger-captions"))
        line = text(app, "#trigger-captions")
        assert "ctrl+o puts it first" not in line and "2 have it only inside" in line
    assert (images / "2.txt").read_text().strip() == "girl, smiling"
    assert (images / "0.txt").read_text().strip() == "zq_girl_, a girl with red hair"


async def test_a_run_folder_that_is_not_there_is_called_missing(tmp_path) -> None:
    project = ready_project(tmp_path / "proj")
    app = create_app(project, gpu=fake_gpu())
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("ctrl+o", *"nope", "enter")
        await wait_for(pilot, lambda: isinstance(app.screen, ErrorDialog))
        assert app.screen.message == f"{project / 'nope'} does not exist"


@pytest.mark.parametrize("lang", ["en", "zh"])
async def test_prepare_dialog_values_and_help_share_a_column(tmp_path, lang) -> None:
    """The Mode choice, the line explaining it and the Write to path start in one column
    (the choice sat three columns further in, inside a tall box, the help one column
    before the path)."""
    from loratui import i18n
    from loratui.ui.dialogs.prepare import PrepareDialog

    i18n.set_language(lang)
    project = ready_project(tmp_path / "proj")
    app = create_app(project, gpu=fake_gpu(), step="dataset")
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: app.screen.report is not None)
        await pilot.press("ctrl+o")
        await wait_for(pilot, lambda: isinstance(app.screen, PrepareDialog))
        await pilot.pause()
        lines = screen_lines(app)
        dialog = app.screen

        def column(widget) -> int:
            region = widget.region
            row = columns(lines[region.y], region.x, region.right)
            return region.x + len(row) - len(row.lstrip())

        current = dialog.query_one("#mode").query_one("SelectCurrent")
        starts = {"mode": column(current), "help": column(dialog.query_one("#mode-help")),
                  "out": column(dialog.query_one("#out"))}
        assert len(set(starts.values())) == 1, starts


async def test_resume_of_a_finished_run_says_so_and_trains_nothing(tmp_path, monkeypatch) -> None:
    """ctrl+r on a finished run started the trainer again: it trained the last step once
    more, wrote the samples and the LoRA again, and the step showed nothing of it."""
    from ui_helpers import write_run

    from loratui.ui import core

    resumed: list = []
    monkeypatch.setattr(core, "resume_run", lambda path: resumed.append(path) or path)
    project = ready_project(tmp_path / "proj")
    run = write_run(project / "runs" / "demo-1", steps=8, max_steps=8, state="finished")
    app = create_app(project, gpu=fake_gpu(), run_dir=run, step="train", watch_interval=0.05)
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_for(pilot, lambda: app.screen.run_state.get("state") == "finished")
        await pilot.press("ctrl+r")
        await wait_for(pilot, lambda: list(app._notifications))
        await pilot.pause()
        assert "finished: there is nothing to resume" in list(app._notifications)[-1].message
        assert not any(w.is_running for w in app.workers if w.group == "start")
    assert resumed == []


async def test_export_line_under_the_webui_field_starts_under_its_value(tmp_path) -> None:
    from test_ui_test_step import project_with_lora
    from ui_helpers import paste

    project, _lora = project_with_lora(tmp_path)
    app = create_app(project, gpu=fake_gpu(), step="export")
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: "MB)" in text(app, "#export-lora"))
        await paste(pilot, app, "#webui", str(tmp_path))
        await pilot.pause()
        lines = screen_lines(app)

        def column(selector: str) -> int:
            region = app.screen.query_one(selector).region
            row = columns(lines[region.y], region.x, region.right)
            return region.x + len(row) - len(row.lstrip())

        assert column("#webui") == column("#export-target")


async def test_the_last_step_offers_no_next(tmp_path) -> None:
    """The Test step is the last: ctrl+n led nowhere, yet the footer offered "Next"."""
    from test_ui_test_step import project_with_lora

    project, _lora = project_with_lora(tmp_path)
    app = create_app(project, gpu=fake_gpu(), step="test")
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        footer = screen_lines(app)[-1]
        assert "Back" in footer and "Next" not in footer
        assert "ctrl+n" not in app.screen.help_topic()[1]
        await pilot.press("ctrl+p")  # Back still goes back
        await wait_for(pilot, lambda: app.screen.STEP == "export")
        assert "Next" in screen_lines(app)[-1]


async def test_a_good_trigger_word_leaves_no_gap_before_the_caption_counts(tmp_path) -> None:
    project = ready_project(tmp_path / "proj")
    app = create_app(project, gpu=fake_gpu(), step="trigger")
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: "3 of 3 captions" in text(app, "#trigger-captions"))
        await pilot.pause()
        lines = screen_lines(app)
        verdict = next(i for i, line in enumerate(lines) if "looks unique" in line)
        counts = next(i for i, line in enumerate(lines) if "3 of 3 captions" in line)
        assert counts == verdict + 2, lines[verdict:counts + 1]  # one blank line between


async def test_the_run_title_is_punctuated_in_chinese(tmp_path, chinese) -> None:
    from ui_helpers import write_run

    project = ready_project(tmp_path / "proj")
    run = write_run(project / "runs" / "demo-1", steps=8, max_steps=8, state="finished")
    app = create_app(project, gpu=fake_gpu(), run_dir=run, step="train", watch_interval=0.05)
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_for(pilot, lambda: app.screen.run_state.get("state") == "finished")
        await pilot.pause()
        title = text(app, "#run-title")
        assert title.endswith("：demo-1") and ": " not in title, title


async def test_a_bulk_edit_with_nothing_filled_in_says_so(tmp_path) -> None:
    """ctrl+s on an empty Bulk edit dialog closed it and reported "0 captions changed"."""
    from loratui.ui.dialogs import ConfirmDialog
    from loratui.ui.dialogs.captions import BulkEditDialog

    project = ready_project(tmp_path / "proj")
    app = create_app(project, gpu=fake_gpu(), step="captions")
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: "3 images" in text(app, "#captions-summary"))
        await pilot.press("ctrl+l")
        await wait_for(pilot, lambda: isinstance(app.screen, BulkEditDialog))
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert isinstance(app.screen, BulkEditDialog)
        assert "Nothing to apply" in text(app, "#field-error")
        await pilot.click("#go")
        await pilot.pause()
        assert isinstance(app.screen, BulkEditDialog)  # the button says the same
        app.screen.query_one("#prefix").value = "solo"
        await pilot.press("ctrl+s")  # an edit: on to the source-folder question
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmDialog))


async def test_the_doctor_summary_is_punctuated_in_chinese(tmp_path, chinese) -> None:
    from loratui.ui.screens.doctor import DoctorScreen

    project = ready_project(tmp_path / "proj")
    app = create_app(project, gpu=fake_gpu(), step="start")
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.press("ctrl+g")
        await wait_for(pilot, lambda: isinstance(app.screen, DoctorScreen)
                       and "个错误" in text(app, "#doctor-summary"))
        summary = text(app, "#doctor-summary")
        assert summary.startswith("loratui.toml") and "：0 个错误" in summary, summary
        assert ": " not in summary, summary


def test_a_rule_explained_in_the_wizard_names_its_keys_not_the_flags() -> None:
    """The Doctor's explanation said "applied by --fix" and "--set CODE.NAME=VALUE":
    flags of the command line, not what the wizard offers."""
    from loratui.ui import core

    safe = core.explain("CF112")  # a rule with a safe fix
    assert "ctrl+f" in safe and "--fix" not in safe
    thresholds = core.explain("DS101")
    assert "min_images = 10" in thresholds and "--set" not in thresholds
    assert "[doctor] table of loratui.toml" in thresholds


@pytest.mark.parametrize("step", ["parameters", "trigger"])
async def test_a_folder_in_loratui_toml_s_place_is_one_dialog_not_a_crash(tmp_path, step) -> None:
    """A folder where loratui.toml goes is refused by the config writer with its own error
    (not an OSError): saving (ctrl+s on Parameters, Next elsewhere) showed a traceback."""
    project = tmp_path / "proj"
    (project / "loratui.toml").mkdir(parents=True)
    app = create_app(project, gpu=fake_gpu(), step=step)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        if isinstance(app.screen, ErrorDialog):  # the file that did not load, said first
            await pilot.press("escape")
            await wait_for(pilot, lambda: getattr(app.screen, "STEP", "") == step)
        if step == "parameters":
            app.screen.action_save()
        else:
            app.screen.save_config()
        await wait_for(pilot, lambda: isinstance(app.screen, ErrorDialog))
        assert "loratui.toml" in app.screen.message and "Traceback" not in app.screen.message
    assert (project / "loratui.toml").is_dir()

"""What a newcomer meets in the first hour: progress at once, help on F1, failures that
say where to fix them (or that they are bugs), one dialog per failure, no stale counts,
and a summary line on the way out."""

from __future__ import annotations

import subprocess
import sys

import pytest
from textual.widgets import ProgressBar
from ui_helpers import NO_GPU, fake_gpu, paste, ready_project, text, wait_for, write_run

from loratui.train.safety import PreflightError
from loratui.ui import core
from loratui.ui.app import create_app
from loratui.ui.dialogs import ErrorDialog
from loratui.ui.dialogs.help import HelpScreen
from loratui.ui.errors import describe
from loratui.ui.text import short_path
from loratui.ui.widgets.loss_chart import padded, whole_ticks
from loratui.wording import a_an, plural


# ---- small helpers ---------------------------------------------------------------------
def test_paths_are_shortened_in_the_middle() -> None:
    path = "/home/mei/loras/projects/hanfu_girl_v2/dataset-512"
    short = short_path(path, 30)
    assert len(short) <= 30 and short.startswith("/home") and short.endswith("dataset-512")
    assert "…" in short
    assert short_path("/srv/a/b", 30) == "/srv/a/b"
    assert len(short_path("/x/" + "n" * 80, 20)) <= 20


def test_plurals_and_articles() -> None:
    assert plural(1, "caption") + " changed" == "1 caption changed"
    assert plural(3, "caption") == "3 captions" and plural(0, "fix", "fixes") == "0 fixes"
    assert a_an("8 GB") == "an 8 GB" and a_an("12 GB") == "a 12 GB"
    assert a_an("11 GB") == "an 11 GB" and a_an("24 GB") == "a 24 GB"


def test_chart_steps_are_whole_numbers_and_the_curve_has_room() -> None:
    for low, high in ((1, 3), (1, 16), (1, 300), (0, 10_000), (7, 7)):
        ticks = whole_ticks(low, high)
        assert ticks and all(isinstance(t, int) and low <= t <= max(high, low) for t in ticks)
    lo, hi = padded([0.1, 0.3])
    assert lo < 0.1 and hi > 0.3


def test_a_typo_names_its_step_and_a_fault_is_a_bug() -> None:
    typo = describe("Start training", PreflightError(
        ["model.base is empty: set it to a diffusers folder or a .safetensors checkpoint",
         "dataset.dir is empty: set it to your images folder"]))
    assert not typo.bug and "bug" not in (typo.title + typo.hint).lower()
    assert "Start step (Base model)" in typo.hint and "Dataset step (Images folder)" in typo.hint
    missing = describe("Dataset scan", FileNotFoundError(2, "No such file", "/data/imgs"))
    assert not missing.bug and missing.message.startswith("/data/imgs")
    fault = describe("Dataset scan", KeyError("width"))
    assert fault.bug and "bug" in fault.title


# ---- the Train step ----------------------------------------------------------------------
async def test_progress_row_shows_at_once_when_training_starts(project, monkeypatch) -> None:
    """ctrl+t: the progress row (bar, step count, ETA, it/s) is there before the first
    metric row arrives, not only after leaving the step and coming back."""
    run = project / "runs" / "demo-1"

    def start(config_path):
        write_run(run, steps=0, max_steps=40, state="starting")
        return run

    monkeypatch.setattr(core, "start_training", start)
    ready_project(project)
    app = create_app(project, gpu=fake_gpu(), step="train", watch_interval=0.05)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        assert not app.screen.query_one("#run-progress-row").display  # no run yet
        await pilot.press("ctrl+t")
        await wait_for(pilot, lambda: app.screen.run_path == run)
        assert app.screen.query_one("#run-progress-row").display
        numbers = text(app, "#run-numbers")
        assert "0/" in numbers and "ETA" in numbers and "it/s" in numbers
        write_run(run, steps=20, max_steps=40, state="running")  # the trainer's first rows
        await wait_for(pilot, lambda: "20/40" in text(app, "#run-numbers"))
        assert app.screen.query_one("#run-progress", ProgressBar).progress == 20


# ---- help ----------------------------------------------------------------------------------
async def test_f1_and_question_mark_explain_the_step_and_its_codes(tmp_path) -> None:
    from loratui.tiny import write_demo_dataset

    project = ready_project(tmp_path / "proj")
    data = write_demo_dataset(project / "demo", "zq_girl_")
    app = create_app(project, gpu=fake_gpu(), step="dataset")
    async with app.run_test(size=(100, 30)) as pilot:
        await paste(pilot, app, "#dataset-dir", str(data))
        await pilot.press("enter")
        await wait_for(pilot, lambda: app.screen.report is not None
                       and str(app.screen.report.root) == str(data))
        await pilot.press("f1")
        await pilot.pause()
        assert isinstance(app.screen, HelpScreen)
        shown = app.screen.text
        assert "Images folder" in shown and "Prepare copy" in shown  # every field
        assert "ctrl+r" in shown  # the step's keys
        rule = subprocess.run([sys.executable, "-m", "loratui", "rule", "DS113"],
                              capture_output=True, text=True, check=True).stdout.strip()
        # The same words as `loratui rule DS113` (which wraps them at the terminal's width).
        assert rule and " ".join(rule.split()) in " ".join(shown.split())
        assert "P7: pitfall 7" in shown
        await pilot.press("escape")
        app.goto("parameters")
        await wait_for(pilot, lambda: getattr(app.screen, "STEP", "") == "parameters"
                       and getattr(app.focused, "id", None) == "fields")
        await pilot.press("question_mark")  # the settings table has focus: ? is help
        await pilot.pause()
        assert isinstance(app.screen, HelpScreen)
        assert "training.epochs" in app.screen.text and "network.rank" in app.screen.text


# ---- failures --------------------------------------------------------------------------------
async def test_a_fault_in_the_core_is_logged_and_called_a_bug(project, monkeypatch) -> None:
    ready_project(project)

    def broken(cfg, folder, progress=None):
        raise KeyError("width")

    monkeypatch.setattr(core, "scan_dataset", broken)
    app = create_app(project, gpu=fake_gpu(), step="dataset")
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, ErrorDialog))
        dialog = app.screen
        assert "bug in loratui" in dialog.title_text and "KeyError" in dialog.message
        assert "errors.log" in dialog.hint
        await pilot.press("escape")
        await pilot.pause()
        # The failed scan leaves no "scanning …" and no progress bar behind.
        assert "scanning" not in text(app, "#dataset-summary")
        assert "failed" in text(app, "#dataset-summary")
        assert not app.screen.query_one("#task-progress").display
    log = (project / ".loratui" / "errors.log").read_text()
    assert "Traceback" in log and "KeyError: 'width'" in log


async def test_one_failure_gives_one_dialog(project, gpu12) -> None:
    app = create_app(project, gpu=gpu12)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        app.show_error("Dataset scan failed", "/data/imgs: Permission denied")
        await pilot.pause()
        await pilot.press("escape")
        app.goto("captions")
        await pilot.pause()
        app.show_error("Caption scan failed", "/data/imgs: Permission denied")
        await pilot.pause()
        assert not isinstance(app.screen, ErrorDialog)  # a notice, not the same dialog again
        app.show_error("Caption scan failed", "/data/other: Permission denied")
        await pilot.pause()
        assert isinstance(app.screen, ErrorDialog)  # a new failure does get its dialog


# ---- counts after edits ----------------------------------------------------------------------
async def test_counts_update_after_a_caption_is_saved(tmp_path) -> None:
    project = ready_project(tmp_path / "proj")
    (project / "images" / "0.txt").unlink()
    app = create_app(project, gpu=fake_gpu(), step="captions")
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_for(pilot, lambda: "1 without caption" in text(app, "#captions-summary"))
        table = app.screen.query_one("#caption-list")
        row = next(i for i, r in enumerate(app.screen.records) if r.caption is None)
        table.move_cursor(row=row)
        await pilot.pause()
        editor = app.screen.query_one("#caption-editor")
        editor.load_text("zq_girl_, red dress")
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: "0 without caption" in text(app, "#captions-summary"))


# ---- path inputs ------------------------------------------------------------------------------
async def test_completion_ghost_text_goes_away_on_enter(project, gpu12) -> None:
    (project / "models" / "sd15-pruned").mkdir(parents=True)
    app = create_app(project, gpu=gpu12)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        field = app.screen.query_one("#base-model")
        field.focus()
        await pilot.press(*"models/sd")
        await wait_for(pilot, lambda: field._suggestion.endswith("sd15-pruned/"))
        await pilot.press("enter")
        await pilot.pause()
        assert field._suggestion == "" and field.value == "models/sd"


async def test_a_completed_folder_name_is_the_same_folder(tmp_path) -> None:
    """Accepting the completion ("images" -> "images/") does not make ctrl+n scan again and
    ask to be pressed once more: it is the folder that was scanned."""
    project = ready_project(tmp_path / "proj")
    app = create_app(project, gpu=fake_gpu(), step="dataset")
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: app.screen.report is not None)
        field = app.screen.query_one("#dataset-dir")
        field.focus()
        field.value = app.state.config.dataset.dir.rstrip("/") + "/"
        await pilot.press("ctrl+n")
        await pilot.pause()
        assert app.screen.STEP == "captions", app.screen.STEP


async def test_run_events_are_whole_at_80_columns(project, gpu12) -> None:
    """A trainer warning naming a file of the project is shown relative to the project and
    wrapped, not cut at the terminal's edge."""
    import json

    run = write_run(project / "runs" / "demo-1", steps=5, max_steps=40, state="finished")
    image = project / "dataset" / "a_rather_long_image_name_from_a_camera_0001.png"
    message = f"{image}: no caption file found; it trains on the class token only"
    with (run / "events.jsonl").open("a") as fh:
        fh.write(json.dumps({"time": "2025-11-24T16:00:01+00:00", "type": "warning",
                             "message": message}) + "\n")
    app = create_app(project, gpu=gpu12, run_dir=run, step="train", watch_interval=0.05)
    async with app.run_test(size=(80, 24)) as pilot:
        log = app.screen.query_one("#run-events")

        def shown() -> str:
            return " ".join(line.text.rstrip() for line in log.lines)

        await wait_for(pilot, lambda: "class token" in shown())
        assert str(project) not in shown()
        assert "dataset/a_rather_long_image_name_from_a_camera_0001.png: no caption" in \
            shown().replace("\n", "")
        assert shown().rstrip().endswith("it trains on the class token only")
        assert all(len(line.text.rstrip()) <= 80 for line in log.lines)


# ---- leaving ------------------------------------------------------------------------------------
@pytest.mark.parametrize("state", ["running", "finished"])
async def test_quitting_says_where_the_run_is(project, gpu12, state) -> None:
    run = write_run(project / "runs" / "hanfu-1", steps=10, max_steps=40, state=state)
    app = create_app(project, gpu=gpu12, run_dir=run, step="train", watch_interval=0.05)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.press("ctrl+q")
    line = app.exit_summary()
    assert "\n" not in line and str(run) in line and state in line
    assert f"loratui wizard --run {run}" in line
    if state == "running":
        assert "Re-attach" in line


async def test_quitting_without_a_run_says_how_to_come_back(project) -> None:
    app = create_app(project, gpu=NO_GPU)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.press("ctrl+q")
    assert app.exit_summary() == (f"loratui: no run started; no settings saved in {project}. "
                                  f"Reopen: loratui wizard {project}")

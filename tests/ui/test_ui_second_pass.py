"""What a second newcomer pass at 80×24 and 120×40 still found: help rows that swallowed
each other, screens that kept the last folder's results or an old complaint, a grid
render with no sign of life, a failed run's bar still pulsing, columns cut at 80, paths
cut to nothing, and error texts naming a hidden temporary file."""

from __future__ import annotations

import importlib
import inspect
import json
import pkgutil
import re

import pytest
from textual.app import App
from textual.widgets import DataTable, ProgressBar
from ui_helpers import NO_GPU, cut_off, fake_gpu, paste, ready_project, screen_lines, text, wait_for
from ui_helpers import write_run as write_run_folder

import loratui.ui.screens as screens
from loratui import i18n
from loratui.ui.app import create_app
from loratui.ui.dialogs.help import HelpScreen, blocks
from loratui.ui.errors import describe
from loratui.ui.fixes import wizard_fix
from loratui.ui.screens.base import WizardScreen
from loratui.ui.widgets.sample_view import SampleView


def step_screens() -> list[type[WizardScreen]]:
    found = []
    for info in pkgutil.iter_modules(screens.__path__):
        module = importlib.import_module(f"loratui.ui.screens.{info.name}")
        found += [cls for _name, cls in inspect.getmembers(module, inspect.isclass)
                  if issubclass(cls, WizardScreen) and cls.HELP and cls.__module__ == module.__name__]
    return found


# ---- help ------------------------------------------------------------------------------------
@pytest.mark.parametrize("lang", i18n.LANGS)
def test_every_help_field_keeps_its_own_explanation(lang) -> None:
    """F1 shows each `Name   explanation` line of a step's help as a row of its own, its
    continuation lines with it (a three-word name such as "Watch a run" was read as a
    paragraph, and its lines were glued onto the row above)."""
    i18n.set_language(lang)
    field = re.compile(r"^(\S+(?: \S+)*?)\s{2,}(\S.*)$")
    for cls in step_screens():
        raw = i18n._(cls.HELP)
        wanted = [(m.group(1), m.group(2).strip()) for line in raw.splitlines()
                  if not line.startswith(" ") and (m := field.match(line))]
        rows = dict(row for block in blocks(raw) if isinstance(block, list) for row in block)
        for name, first in wanted:
            assert name in rows, f"{cls.__name__}: {name!r} is not a row"
            assert rows[name].startswith(first), f"{cls.__name__}: {name!r}"
            others = [f for n, f in wanted if n != name]
            assert not any(f in rows[name] for f in others), f"{cls.__name__}: {name!r}"


async def test_help_lists_only_the_keys_the_step_has(project, gpu12) -> None:
    """The Start step has no Back: its help does not offer ctrl+p."""
    app = create_app(project, gpu=gpu12)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        await pilot.press("f1")
        await pilot.pause()
        assert isinstance(app.screen, HelpScreen)
        assert "ctrl+p" not in app.screen.text and "ctrl+l" in app.screen.text


# ---- the Dataset step ------------------------------------------------------------------------
async def test_a_missing_folder_clears_the_last_scan_and_a_good_one_clears_the_complaint(
        tmp_path) -> None:
    project = ready_project(tmp_path / "proj")
    app = create_app(project, gpu=fake_gpu(), step="dataset")
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: app.screen.report is not None)
        images = app.screen.query_one("#images", DataTable)
        assert images.row_count == 3
        await paste(pilot, app, "#dataset-dir", str(project / "no-such-folder"))
        await pilot.press("enter")
        await pilot.pause()
        assert "no-such-folder does not exist" in text(app, "#guard")
        # Nothing of the folder scanned before stays on the tabs.
        assert images.row_count == 0
        assert app.screen.query_one("#problems", DataTable).row_count == 0
        assert text(app, "#dataset-histogram") == "" and text(app, "#dataset-summary") == ""
        await pilot.press("ctrl+n")
        await pilot.pause()
        assert app.screen.STEP == "dataset"
        await paste(pilot, app, "#dataset-dir", str(project / "images"))
        await pilot.press("enter")
        await wait_for(pilot, lambda: app.screen.report is not None)
        await pilot.pause()
        assert not app.screen.query_one("#guard").display  # the complaint is settled
        assert images.row_count == 3


async def test_typing_in_a_field_retires_the_complaint_about_it(project, gpu12) -> None:
    app = create_app(project, gpu=gpu12)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        await pilot.press("ctrl+n")
        await pilot.pause()
        assert app.screen.query_one("#guard").display
        app.screen.query_one("#base-model").focus()
        await pilot.press("m")
        await pilot.pause()
        assert not app.screen.query_one("#guard").display


@pytest.mark.parametrize("size", [(80, 24), (120, 40)], ids=lambda s: f"{s[0]}x{s[1]}")
async def test_problems_with_long_rule_names_fit_the_table(tmp_path, size) -> None:
    """Captions in .caption files (DS106 caption-extension-mismatch, the longest rule
    name): the Problems table shows every column whole at 80 columns too."""
    from PIL import Image

    project = ready_project(tmp_path / "proj")
    for i in range(3):
        (project / "images" / f"{i}.txt").rename(project / "images" / f"{i}.caption")
        Image.new("RGB", (700, 500), (i, 2, 3)).save(project / "images" / f"wide{i}.png")
    app = create_app(project, gpu=fake_gpu(), step="dataset")
    async with app.run_test(size=size) as pilot:
        await wait_for(pilot, lambda: app.screen.report is not None)
        row = re.compile(r"DS106 caption-extension-mismatch(?: \(\S+\))? +3\b")
        await wait_for(pilot, lambda: row.search("\n".join(screen_lines(app))))  # drawn
        assert app.screen.query_one("#dataset-tabs").active == "tab-problems"
        assert cut_off(app) == []


def test_the_resolution_fix_does_not_assume_512() -> None:
    """The demo trains at 64 px: the fix names the configured resolution, not SD1.5's."""
    said = wizard_fix("not-512", "")
    assert "512" not in said and "dataset.resolution" in said and "ctrl+o" in said


# ---- the Captions step -----------------------------------------------------------------------
async def test_an_emptied_caption_counts_as_without_caption(tmp_path, monkeypatch) -> None:
    from loratui.ui.screens.captions import CaptionsScreen

    fills = []  # the scans whose result the step has shown
    real_fill = CaptionsScreen._fill
    monkeypatch.setattr(CaptionsScreen, "_fill",
                        lambda self, report: (fills.append(report), real_fill(self, report)))
    project = ready_project(tmp_path / "proj")
    app = create_app(project, gpu=fake_gpu(), step="captions")
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: "0 without caption" in text(app, "#captions-summary"))
        app.screen.query_one("#caption-editor").load_text("")
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: "1 without caption" in text(app, "#captions-summary"))
        shown = len(fills)
        await pilot.press("ctrl+r")  # read again from the disk: the empty file still counts
        await wait_for(pilot, lambda: len(fills) > shown)
        assert "1 without caption" in text(app, "#captions-summary")


# ---- the Test step's grid --------------------------------------------------------------------
async def test_a_picture_box_shows_progress_while_it_has_no_picture() -> None:
    """"rendering the grid: cell 3/40" replaces "no grid yet" (the grid took minutes with
    the box still saying there was none)."""

    class Box(App):
        def compose(self):
            yield SampleView("no grid yet", id="box")

    app = Box()
    async with app.run_test(size=(60, 10)) as pilot:
        box = app.query_one(SampleView)
        for said in ("rendering the grid …", "rendering the grid: cell 3/40"):
            box.show(None, said)
            await pilot.pause()
            assert str(box.query_one(".sample-caption").render()) == said


# ---- the Train step --------------------------------------------------------------------------
async def test_a_run_that_ended_stops_its_bar_and_its_eta(project) -> None:
    """A failed run whose step count was never known: the bar does not pulse as if it were
    working, there is no ETA, and its long error takes one line, not the chart's room."""
    run = write_run_folder(project / "runs" / "demo-1", steps=0, max_steps=0, state="failed")
    state = json.loads((run / "state.json").read_text())
    state["error"] = "model.safetensors: cannot load the checkpoint (" + "x " * 200 + ")\nmore"
    (run / "state.json").write_text(json.dumps(state))
    ready_project(project)
    app = create_app(project, gpu=NO_GPU, run_dir=run, step="train", watch_interval=0.05)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: "failed" in text(app, "#run-title"))
        bar = app.screen.query_one("#run-progress", ProgressBar)
        assert bar.total is not None  # a determinate bar: it does not pulse
        assert "ETA –" in text(app, "#run-numbers")
        title = text(app, "#run-title")
        assert "more" not in title and len(title) < 220


async def test_a_stopped_run_has_no_eta(project) -> None:
    run = write_run_folder(project / "runs" / "demo-1", steps=30, max_steps=100,
                           state="interrupted")
    ready_project(project)
    app = create_app(project, gpu=NO_GPU, run_dir=run, step="train", watch_interval=0.05)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: "30/100" in text(app, "#run-numbers"))
        assert "ETA –" in text(app, "#run-numbers")


# ---- the Parameters step ---------------------------------------------------------------------
async def test_paths_inside_the_project_read_as_the_project_sees_them(tmp_path) -> None:
    """A prepared copy is written as an absolute path: at 80 columns the value column
    showed `datas…t-64`; inside the project it reads `dataset-64`."""
    from loratui.config import load_config, save_config

    project = tmp_path / "a-rather-long-home" / "loras" / "proj"
    project.mkdir(parents=True)
    ready_project(project)
    (project / "dataset-64").mkdir()
    cfg = load_config(project / "loratui.toml", resolve=False)
    cfg.dataset.dir = str(project / "dataset-64")
    save_config(cfg, project / "loratui.toml")
    app = create_app(project, gpu=fake_gpu(), step="parameters")
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: app.screen.query_one("#fields", DataTable).row_count)
        table = app.screen.query_one("#fields", DataTable)
        assert str(table.get_cell("dataset.dir", "value")) == "dataset-64"


# ---- dialogs and the way out -----------------------------------------------------------------
def test_a_write_refused_names_the_file_not_its_temporary_twin(tmp_path) -> None:
    """A disk that fills up while the LoRA is copied: the dialog names the file the user
    asked for, not the hidden `.NAME.RANDOM.tmp` the atomic write started with."""
    import errno

    from loratui.atomic import atomic_write

    target = tmp_path / "Lora" / "hanfu.safetensors"

    def full_disk(fh) -> None:
        fh.write(b"half")
        raise OSError(errno.ENOSPC, "No space left on device")

    with pytest.raises(OSError) as info:
        atomic_write(target, full_disk)
    failure = describe("Copy LoRA", info.value)
    assert not failure.bug
    assert failure.message == f"{target}: No space left on device"
    assert "disk is full" in failure.hint


async def test_quitting_after_a_failed_run_reads_well(project, gpu12) -> None:
    run = write_run_folder(project / "runs" / "hanfu-1", steps=3, max_steps=40,
                           state="failed")
    app = create_app(project, gpu=gpu12, run_dir=run, step="train", watch_interval=0.05)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("ctrl+q")
    line = app.exit_summary()
    assert f"run {run}: failed at step 3/40." in line and " is failed" not in line


async def test_a_kept_grid_is_captioned_whole(tmp_path) -> None:
    """Coming back to the Test step with a grid rendered before: its caption says what the
    rows and columns are, not a sentence cut at 40 characters."""
    from PIL import Image
    from test_ui_test_step import project_with_lora

    project, lora = project_with_lora(tmp_path)
    Image.new("RGB", (64, 64)).save(lora.with_name(f"{lora.stem}-grid.png"))
    app = create_app(project, gpu=NO_GPU, step="test")
    async with app.run_test(size=(120, 40)) as pilot:
        box = app.screen.query_one(SampleView)
        await wait_for(pilot, lambda: box.path is not None)
        caption = str(box.query_one(".sample-caption").render())
        assert "columns: block presets (P23)" in caption and "…" not in caption


@pytest.mark.parametrize("pasted", ["'{path}' ", '"{path}"', "{escaped}", "file://{url}"])
async def test_a_dropped_folder_is_read_as_the_folder(tmp_path, pasted) -> None:
    """Dropping a folder on the terminal pastes it quoted, with escaped spaces or as a
    file:// address: the field holds the folder itself, which then scans."""
    from urllib.parse import quote

    project = ready_project(tmp_path / "proj")
    data = project / "my images (v2)"
    (project / "images").rename(data)
    escaped = re.sub(r"([ ()])", r"\\\1", str(data))
    app = create_app(project, gpu=fake_gpu(), step="dataset")
    async with app.run_test(size=(80, 24)) as pilot:
        await paste(pilot, app, "#dataset-dir",
                    pasted.format(path=data, escaped=escaped, url=quote(str(data))))
        assert app.screen.query_one("#dataset-dir").value == str(data)
        await pilot.press("enter")
        await wait_for(pilot, lambda: app.screen.report is not None)
        assert app.screen.report.totals.usable == 3


# ---- the Start step --------------------------------------------------------------------------
async def test_next_takes_the_typed_project_folder_along(tmp_path, gpu12) -> None:
    """"Fill in the two paths and press ctrl+n": a project folder typed without enter is
    where loratui.toml goes, with the base model typed beside it (it went to the folder
    the wizard was opened in)."""
    from ui_helpers import sd15_folder

    opened = tmp_path / "home"
    opened.mkdir()
    model = sd15_folder(tmp_path / "models" / "sd15")
    wanted = tmp_path / "loras" / "hanfu"
    app = create_app(opened, gpu=gpu12)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        await paste(pilot, app, "#project", str(wanted))
        await paste(pilot, app, "#base-model", str(model))
        await pilot.press("ctrl+n")
        await wait_for(pilot, lambda: app.screen.STEP == "dataset")
        assert app.project == wanted.resolve()
    assert not (opened / "loratui.toml").exists()
    assert f'base = "{model}"' in (wanted / "loratui.toml").read_text()


async def test_a_project_folder_that_is_a_file_stays_on_start(tmp_path, gpu12) -> None:
    opened = tmp_path / "home"
    opened.mkdir()
    (tmp_path / "notes.txt").write_text("x")
    app = create_app(opened, gpu=gpu12)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        await paste(pilot, app, "#project", str(tmp_path / "notes.txt"))
        await pilot.press("ctrl+n")
        await pilot.pause()
        assert app.screen.STEP == "start"
        assert "notes.txt is a file" in text(app, "#guard")
        assert "(Project folder field)" in text(app, "#guard")


def make_read_only(folder) -> callable:
    """Make `folder` unwritable for this user (chmod, or chattr +i for root); returns the
    undo. Skips the test where neither works."""
    import os
    import subprocess

    folder.chmod(0o555)
    if not os.access(folder, os.W_OK):
        return lambda: folder.chmod(0o755)
    folder.chmod(0o755)
    done = subprocess.run(["chattr", "+i", str(folder)], capture_output=True)
    if done.returncode != 0:
        pytest.skip("cannot make a folder read-only here")
    return lambda: subprocess.run(["chattr", "-i", str(folder)], check=True)


async def test_a_read_only_dataset_points_at_a_training_copy(tmp_path) -> None:
    from loratui.ui.dialogs import ErrorDialog

    project = ready_project(tmp_path / "proj")
    undo = make_read_only(project / "images")
    try:
        app = create_app(project, gpu=fake_gpu(), step="captions")
        async with app.run_test(size=(80, 24)) as pilot:
            await wait_for(pilot, lambda: "3 images" in text(app, "#captions-summary"))
            app.screen.query_one("#caption-editor").load_text("zq_girl_, blue dress")
            await pilot.press("ctrl+s")
            await wait_for(pilot, lambda: isinstance(app.screen, ErrorDialog))
            dialog = app.screen
            assert "bug" not in dialog.title_text
            assert "ctrl+o on the Dataset step (Prepare copy)" in dialog.hint
    finally:
        undo()
    assert (project / "images" / "0.txt").read_text() == "zq_girl_, red dress, pose 0\n"


async def test_a_typo_in_a_number_is_said_in_words(tmp_path) -> None:
    """Typing `abc` for network.alpha said "not a float | None: could not convert string
    to float: 'abc'"; it says what to type instead."""
    from loratui.ui.dialogs.edit_field import EditFieldDialog

    project = ready_project(tmp_path / "proj")
    app = create_app(project, gpu=fake_gpu(), step="parameters")
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: app.screen.query_one("#fields", DataTable).row_count)
        table = app.screen.query_one("#fields", DataTable)
        for key, typo, said in (("network.alpha", "abc", "`abc` is not a number"),
                                ("network.rank", "8.5", "`8.5` is not a whole number")):
            table.move_cursor(row=table.get_row_index(key))
            await pilot.press("enter")
            await wait_for(pilot, lambda: isinstance(app.screen, EditFieldDialog))
            await pilot.press("ctrl+u", *typo)
            await pilot.pause()
            error = text(app, "#field-error")
            assert error.startswith(said) and "float" not in error and "convert" not in error
            await pilot.press("escape")
            await wait_for(pilot, lambda: not isinstance(app.screen, EditFieldDialog))


@pytest.mark.parametrize("size", [(80, 24), (120, 40)], ids=lambda s: f"{s[0]}x{s[1]}")
async def test_the_caption_column_uses_its_room(tmp_path, size) -> None:
    """The caption column is as wide as the list leaves it (it was cut at 42 columns at
    120), and a saved long caption does not widen the list past its pane (it was cut to
    60 columns, whatever the terminal)."""
    long = "zq_girl_, " + ", ".join(f"detail number {i}" for i in range(12))
    project = ready_project(tmp_path / "proj")
    for caption in (project / "images").glob("*.txt"):
        caption.write_text(long)
    app = create_app(project, gpu=fake_gpu(), step="captions")
    async with app.run_test(size=size) as pilot:
        await wait_for(pilot, lambda: "3 images" in text(app, "#captions-summary"))
        await pilot.pause()
        table = app.screen.query_one("#caption-list", DataTable)
        room = table.scrollable_content_region.width
        assert table.virtual_size.width <= room
        assert table.virtual_size.width >= room - 3  # the captions fill the list
        app.screen.query_one("#caption-editor").load_text(long + ", and one more")
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert table.virtual_size.width <= room


async def test_a_finding_without_files_has_no_files_heading(tmp_path) -> None:
    """DS101/DS102 (too few images) concern the folder, not files: no empty "Files:" under it."""
    project = ready_project(tmp_path / "proj")
    app = create_app(project, gpu=fake_gpu(), step="dataset")
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: app.screen.report is not None)
        kinds = [f.kind for f in app.screen.findings]
        few = next(k for k in kinds if k in ("very-few-images", "too-few-images"))
        app.screen._show_problem(kinds.index(few))
        assert "Files:" not in text(app, "#problem-detail")


async def test_the_lora_line_keeps_its_size_with_it_at_80_columns(tmp_path) -> None:
    """`LoRA: …/ink.safetensors (0.0 MB)`: the size wrapped onto a line of its own."""
    from test_ui_test_step import project_with_lora

    project, _lora = project_with_lora(tmp_path)
    app = create_app(project, gpu=NO_GPU, step="export")
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: "MB)" in text(app, "#export-lora"))
        await pilot.pause()
        assert app.screen.query_one("#export-lora").region.height == 1

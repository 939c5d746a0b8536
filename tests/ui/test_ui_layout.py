"""Nothing is cut off: every screen at 80×24 and 120×40, with long paths, problems,
warnings, a running run, the Doctor, help and an error dialog. Each text the wizard
shows must be readable whole (wrapped, or in a box that scrolls), never cropped."""

from __future__ import annotations

import pytest
from ui_helpers import NO_GPU, cut_off, ready_project, screen_lines, write_run

from loratui import i18n
from loratui.config import load_config, save_config
from loratui.ui.app import create_app
from loratui.ui.dialogs.help import HelpScreen

SIZES = [(80, 24), (120, 40)]


def busy_project(tmp_path):
    """A project with a long path, a dataset with problems, settings the doctor warns
    about and a run in progress."""
    from loratui.tiny import write_demo_dataset

    project = tmp_path / "home-of-someone" / "loras" / "a-project-with-a-long-name" / "hanfu"
    project.mkdir(parents=True)
    ready_project(project)
    data = write_demo_dataset(project / "dataset-with-problems", "zq_girl_")
    cfg = load_config(project / "loratui.toml", resolve=False)
    cfg.dataset.dir = str(data)
    cfg.network.rank = 256  # the doctor warns, at length (CF102)
    cfg.dataset.resolution = 768  # and about this (CF101)
    save_config(cfg, project / "loratui.toml")
    run = write_run(project / "runs" / "hanfu_girl-20251124-160000", steps=300, max_steps=800)
    return project, run


async def settle(pilot, seconds: float = 0.6) -> None:
    """Let workers answer, then let the layout catch up with what they posted."""
    await pilot.pause(seconds)
    await pilot.pause()
    await pilot.pause()


@pytest.mark.parametrize("lang", i18n.LANGS)
@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
async def test_every_screen_shows_its_texts_whole(tmp_path, size, lang) -> None:
    """In English and in Chinese, whose characters take two columns each."""
    i18n.set_language(lang)
    project, run = busy_project(tmp_path)
    app = create_app(project, gpu=NO_GPU, run_dir=run, watch_interval=0.1)
    problems: dict[str, list[str]] = {}
    async with app.run_test(size=size) as pilot:
        for step in ("start", "dataset", "captions", "trigger", "parameters", "train",
                     "export", "test"):
            app.goto(step)
            await settle(pilot, 1.2 if step in ("dataset", "train") else 0.6)
            problems[step] = cut_off(app)
            if step == "dataset":
                shown = "\n".join(screen_lines(app))
                assert "DS113 dataset-trigger-word" in shown
            if step == "parameters":
                assert "CF102" in "\n".join(screen_lines(app))  # the doctor's warning
            if step == "train":
                assert "300/800" in "\n".join(screen_lines(app))
            await pilot.press("f1")
            await settle(pilot, 0.2)
            assert isinstance(app.screen, HelpScreen)
            problems[f"{step} help"] = cut_off(app)
            await pilot.press("escape")
            await settle(pilot, 0.1)
        await pilot.press("ctrl+g")  # the Doctor
        await settle(pilot, 1.5)
        problems["doctor"] = cut_off(app)
        await pilot.press("escape")
        await settle(pilot, 0.2)
        app.goto("start")  # a typo on the Start step: the guard line names the fix
        await settle(pilot)
        app.screen.query_one("#base-model").value = str(project / "a" / "typo" / "in-the-path")
        await pilot.press("ctrl+n")
        await settle(pilot, 0.3)
        assert app.screen.STEP == "start"
        problems["start guard"] = cut_off(app)
        app.show_error(i18n._("{what} failed").format(what=i18n._("Dataset scan")),
                       f"{project}/dataset-with-problems: Permission denied",
                       i18n._("This user may not read or write it: fix its permissions "
                              "(chmod / chown) or pick a folder you own."))
        await settle(pilot, 0.3)
        problems["error dialog"] = cut_off(app)
    bad = [f"{where}: {line}" for where, lines in problems.items() for line in lines]
    assert not bad, "\n\n".join(bad)


DIALOGS = ("confirm", "edit-field", "prepare", "auto-caption", "bulk-edit", "error")


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
async def test_dialogs_show_their_texts_whole_in_chinese(fixed_project, chinese, size) -> None:
    """Each dialog, as the snapshots open it, in Chinese: no label or field pushed out."""
    from snapshot_screens import SCREENS

    problems = {}
    for name in DIALOGS:
        folder = fixed_project / name
        folder.mkdir()
        app, opened = SCREENS[name](folder)
        async with app.run_test(size=size) as pilot:
            await opened(pilot)
            problems[name] = cut_off(app)
    bad = [f"{where}: {line}" for where, lines in problems.items() for line in lines]
    assert not bad, "\n\n".join(bad)

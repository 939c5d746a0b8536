"""The READMEs' screenshots: the Train step following a real run, rendered to PNG, in
English (README.md) and in Chinese (README.zh-CN.md).

The run folder in tests/fixtures/readme-run was written by loratui's trainer (the demo's
tiny model and images, 320 steps on a CPU), cut at step 240 as if it were still running:
its loss rows, speed, ETA and sample images are real.
The project sits where a user keeps one (~/loras/hanfu_girl). The test renders the
screen at 120×40 to PNG and checks that every character has a glyph in the font, the
curve stays inside its frame and the sample image shows. The Chinese one also needs a
CJK font (fonts-wqy-microhei, fonts-noto-cjk): each Chinese character is drawn from it
across two cells and must stay inside them. Set LORATUI_WRITE_SCREENSHOT=1 to write
docs/wizard-train.png and docs/wizard-train-zh.png (then look at them before committing).
"""

from __future__ import annotations

import json
import os
import shutil
import socket
from pathlib import Path

import pytest
from png_render import Renderer, find_cjk_font, find_font
from rich.cells import get_character_cell_size
from ui_helpers import NoNvml, fake_gpu, screen_lines, wait_for

from loratui.ui.app import create_app
from loratui.ui.widgets.loss_chart import LossChart

REPO = Path(__file__).resolve().parents[2]
RUN = REPO / "tests" / "fixtures" / "readme-run"

pytestmark = pytest.mark.skipif(find_font() is None, reason="DejaVu Sans Mono not installed")


def realistic_project(tmp_path: Path, monkeypatch) -> tuple[Path, Path]:
    home = tmp_path / "home" / "mei"
    project = home / "loras" / "hanfu_girl"
    run = project / "runs" / "hanfu_girl-20261125-030112"
    shutil.copytree(RUN, run)
    state = json.loads((run / "state.json").read_text())
    state.update(state="running", pid=os.getpid(), host=socket.gethostname())
    (run / "state.json").write_text(json.dumps(state))
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("LORATUI_IMAGES", "halfcell")
    monkeypatch.setattr("loratui.gpustats.GpuSampler", NoNvml)  # trained without a driver
    return project, run


async def following(project: Path, run: Path, renderer: Renderer):
    """The Train step once the whole run folder is read: (screen text, image, characters
    no font draws)."""
    steps = sum(1 for _ in (run / "metrics.jsonl").open())
    app = create_app(project, gpu=fake_gpu(), run_dir=run, step="train", watch_interval=0.05)
    async with app.run_test(size=(120, 40)) as pilot:
        chart = app.screen.query_one(LossChart)
        await wait_for(pilot, lambda: len(chart.steps) == steps
                       and getattr(app.screen, "gpu_text", ""))
        chart._draw()
        await pilot.pause(0.3)
        lines = screen_lines(app)
        image, missing = renderer.render(app)
    return lines, image, missing


async def test_readme_screenshot(tmp_path, monkeypatch) -> None:
    project, run = realistic_project(tmp_path, monkeypatch)
    lines, image, missing = await following(project, run, Renderer())
    shown = "\n".join(lines)
    assert "~/loras/hanfu_girl" in shown  # a path a user has, not a test folder
    assert f"/{state_max(run)}" in shown and "it/s" in shown and "ETA" in shown
    assert "sample e0024_00.png" in shown  # the latest sample
    assert not missing, f"no glyph for {sorted(missing)}"
    assert curve_inside_frame(lines)
    assert sample_shown(image, lines)
    if os.environ.get("LORATUI_WRITE_SCREENSHOT"):
        image.save(REPO / "docs" / "wizard-train.png", optimize=True)


@pytest.mark.skipif(find_cjk_font() is None,
                    reason="no CJK font found by fontconfig or in the usual places "
                           "(install fonts-wqy-microhei or fonts-noto-cjk)")
async def test_readme_screenshot_in_chinese(tmp_path, monkeypatch, chinese) -> None:
    project, run = realistic_project(tmp_path, monkeypatch)
    renderer = Renderer(cjk=True)
    lines, image, missing = await following(project, run, renderer)
    shown = "\n".join(lines)
    assert "~/loras/hanfu_girl" in shown
    assert "训练中: hanfu_girl-20261125-030112" in shown  # the title line, in Chinese
    assert f"/{state_max(run)}" in shown and "it/s" in shown
    assert "样图 e0024_00.png" in shown and "步数" in shown
    assert not missing, f"no glyph for {sorted(missing)}"
    # Every Chinese character came from the CJK font, inside its two cells.
    wide = {ch for line in lines for ch in line if get_character_cell_size(ch) == 2}
    cjk_name = " ".join(renderer.cjk.getname())
    assert len(wide) > 20 and wide <= renderer.drawn[cjk_name], wide - renderer.drawn[cjk_name]
    assert not renderer.outside, f"drawn outside their cells: {sorted(renderer.outside)}"
    assert curve_inside_frame(lines)
    assert sample_shown(image, lines)
    if os.environ.get("LORATUI_WRITE_SCREENSHOT"):
        image.save(REPO / "docs" / "wizard-train-zh.png", optimize=True)
    assert "(docs/wizard-train-zh.png)" in (REPO / "README.zh-CN.md").read_text()


def state_max(run: Path) -> int:
    return json.loads((run / "state.json").read_text())["max_steps"]


def curve_inside_frame(lines: list[str]) -> bool:
    """Every braille dot of the chart lies between the frame's top and bottom lines."""
    top = next(i for i, line in enumerate(lines) if "┌" in line)
    bottom = next(i for i, line in enumerate(lines) if "└" in line)
    dots = [i for i, line in enumerate(lines) if any("\u2801" <= ch <= "\u28ff" for ch in line)]
    return bool(dots) and top < min(dots) and max(dots) < bottom


def sample_shown(image, lines: list[str]) -> bool:
    """The sample's half-block cells are there, in more than a handful of colours."""
    rows = [i for i, line in enumerate(lines) if "▀" in line or "▄" in line]
    if len(rows) < 5:
        return False
    colours = image.crop((image.width * 3 // 4, 0, image.width, image.height)).getcolors(
        1 << 16)
    return colours is not None and len(colours) > 20

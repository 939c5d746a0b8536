"""The Test step (after Export): a pick of weight, block vector and second LoRA becomes the
prompt and ComfyUI workflow, checked by the doctor, with the P21 rescue."""

from __future__ import annotations

import json
import time
from pathlib import Path

from ui_helpers import HANG, NO_GPU, paste, screen_lines, text, write_run

from loratui.config import RunConfig, save_config
from loratui.ui.app import create_app


async def until(pilot, predicate, timeout: float = HANG, app=None) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, \
            f"timed out; result box: {text(app, '#test-result') if app else ''}"
        await pilot.pause(0.05)


def project_with_lora(tmp_path: Path) -> tuple[Path, Path]:
    from tests.lora.lora_helpers import sd15_layout_lora

    project = tmp_path / "proj"
    project.mkdir()
    save_config(RunConfig.model_validate({"dataset": {"trigger_word": "ink_zx_"}}),
                project / "loratui.toml")
    run = write_run(project / "runs" / "ink-1", steps=5, state="finished")
    lora = sd15_layout_lora(run / "ink.safetensors")
    st = json.loads((run / "state.json").read_text())
    st["lora"] = str(lora)
    (run / "state.json").write_text(json.dumps(st))
    return project, lora


async def set_input(pilot, app, selector: str, value: str) -> None:
    from textual.widgets import Input

    app.screen.query_one(selector, Input).value = value
    await pilot.pause()


async def test_test_step_pick_prompt_workflow_doctor_and_rescue(tmp_path) -> None:
    project, lora = project_with_lora(tmp_path)
    second = lora.with_name("outfit.safetensors")
    second.write_bytes(lora.read_bytes())
    app = create_app(project, gpu=NO_GPU, step="test")
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: "<lora:ink:0.6>" in text(app, "#test-result"))
        assert "ink.safetensors" in text(app, "#test-lora")
        assert "✓" in text(app, "#test-result")
        await set_input(pilot, app, "#test-weight", "1.0")
        await until(pilot, lambda: "PR101" in text(app, "#test-result"))
        await set_input(pilot, app, "#test-weight", "0.7")
        await set_input(pilot, app, "#test-vector", "OUTALL")
        await until(pilot, lambda: "<lora:ink:0.7:lbw=OUTALL>" in text(app, "#test-result"))
        result = text(app, "#test-result")
        assert "polluting" in result and "IN01" in result and "core block" in result
        await pilot.press("ctrl+s")
        await until(pilot, lambda: (lora.parent / "ink.comfyui-api.json").exists())
        workflow = json.loads((lora.parent / "ink.comfyui-api.json").read_text())
        assert workflow["10"]["inputs"]["lora_name"] == "ink-lbw.safetensors"
        assert workflow["10"]["inputs"]["strength_model"] == 0.7
        assert (lora.parent / "ink-lbw.safetensors").is_file()
        assert "lbw=OUTALL" in (lora.parent / "ink.prompt.txt").read_text()
        await paste(pilot, app, "#test-second", str(second))
        await set_input(pilot, app, "#test-second-weight", "0.8")
        await until(pilot, lambda: "PR102" in text(app, "#test-result"), app=app)
        await pilot.press("ctrl+t")
        await until(pilot, lambda: "<lora:ink:0.3:lbw=OUTALL> <lora:outfit:0.8>"  # wrapped
                    in " ".join(text(app, "#test-result").split()), app=app)
        result = text(app, "#test-result")
        assert "PR102" not in result
        # the same kind (P21): both SD1.5; character vs style is not in their metadata
        assert "both are SD1.5" in result and "cannot be told" in result


async def test_test_step_without_a_lora_says_so(tmp_path) -> None:
    project = tmp_path / "proj"
    project.mkdir()
    app = create_app(project, gpu=NO_GPU, step="test")
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        assert "No finished LoRA yet" in text(app, "#test-lora")
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert app.screen.STEP == "test"


async def test_test_step_ctrl_r_renders_the_grid_png_and_shows_it(tmp_path, tiny_model) -> None:
    """ctrl+r on the tiny model: the grid PNG is written beside the LoRA and shown."""
    from PIL import Image

    from loratui.ui.widgets.sample_view import SampleView
    from tests.lora.lora_helpers import TRIGGER, tiny_lora

    model = tiny_model
    project = tmp_path / "proj"
    project.mkdir()
    save_config(RunConfig.model_validate({
        "dataset": {"trigger_word": TRIGGER}, "model": {"base": str(model)},
        "sample": {"steps": 1, "prompts": ["{trigger}, a girl"]}}), project / "loratui.toml")
    run = write_run(project / "runs" / "ink-1", steps=5, state="finished")
    lora = tiny_lora(model, run / "ink.safetensors", seed=1)
    st = json.loads((run / "state.json").read_text())
    st["lora"] = str(lora)
    (run / "state.json").write_text(json.dumps(st))
    grid = run / "ink-grid.png"
    app = create_app(project, gpu=NO_GPU, step="test")
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: "<lora:ink:0.6>" in text(app, "#test-result"), app=app)
        await pilot.press("ctrl+r")
        view = app.screen.query_one(SampleView)
        await until(pilot, lambda: view.path == grid, app=app)
        caption = str(view.query_one(".sample-caption").render())
        assert "5 weights × 8 presets" in caption
        assert view.query(".sample-image"), caption  # the picture itself is mounted
    assert grid.is_file()
    with Image.open(grid) as img:  # 8 preset columns side by side, 5 weight rows
        assert img.width > img.height > 0
    assert len(list((run / "ink-grid.cells").glob("*.png"))) >= 2


async def test_a_wrapped_a1111_prompt_hangs_under_its_first_character(tmp_path) -> None:
    """At 80×24 a prompt with a block vector and a second LoRA takes several lines: each
    continues under the prompt's first character, not at the box's left edge."""

    project, lora = project_with_lora(tmp_path)
    second = lora.with_name("outfit_with_a_long_name.safetensors")
    second.write_bytes(lora.read_bytes())
    app = create_app(project, gpu=NO_GPU, step="test")
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: "<lora:ink:0.6>" in text(app, "#test-result"), app=app)
        await set_input(pilot, app, "#test-vector", "OUTALL")
        await set_input(pilot, app, "#test-second", str(second))
        await until(pilot, lambda: "outfit_with" in text(app, "#test-result"), app=app)
        await until(pilot, lambda: "outfit_with" in "\n".join(screen_lines(app)), app=app)
        prompt = app.screen.result.prompt
        lines = screen_lines(app)
        head = next(i for i, line in enumerate(lines) if "A1111 prompt:" in line)
        start = lines[head].index("A1111 prompt:") + 2
        shown = []
        for line in lines[head + 1:]:
            if not line.strip():
                break
            shown.append(line)
        assert len(shown) > 1, shown  # it does wrap at this size
        for line in shown:
            assert line[:start].strip() == "" and line[start] != " ", (start, shown)
        assert " ".join(line[start:].strip() for line in shown) == prompt


async def test_an_unreadable_block_vector_is_explained_in_chinese(tmp_path, chinese) -> None:
    project, _lora = project_with_lora(tmp_path)
    app = create_app(project, gpu=NO_GPU, step="test")
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: "<lora:ink:0.6>" in text(app, "#test-result"), app=app)
        await set_input(pilot, app, "#test-vector", "1,0,1")
        await until(pilot, lambda: "`1,0,1` 有 3 个值" in text(app, "#test-result"), app=app)
        assert "has 3 values" not in text(app, "#test-result")



async def test_a_late_rewrap_keeps_the_error_of_an_unreadable_vector(tmp_path) -> None:
    """The box lays the shown pick out again when its width changed since (the first pick is
    shown before the layout settles; CI once saw that rewrap land after a newer error and put
    the old prompt back). After an error there is no pick to lay out again."""
    project, _lora = project_with_lora(tmp_path)
    app = create_app(project, gpu=NO_GPU, step="test")
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: "<lora:ink:0.6>" in text(app, "#test-result"), app=app)
        await set_input(pilot, app, "#test-vector", "1,0,1")
        await until(pilot, lambda: "has 3 values" in text(app, "#test-result"), app=app)
        app.screen._shown_width = -1  # the width the earlier pick was shown at is stale
        app.screen.on_resize()
        await until(pilot, lambda: not any(w.is_running for w in app.workers), app=app)
        await pilot.pause()
        assert "has 3 values" in text(app, "#test-result")
        assert "<lora:ink:0.6>" not in text(app, "#test-result")

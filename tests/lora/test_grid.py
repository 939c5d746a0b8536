"""`loratui lora grid` on the tiny model: cells equal plain LoRA loading, block vectors
reach the right layers, cells are reused on a rerun, the prompt tag passes the doctor."""

from __future__ import annotations

import json

import numpy as np
import pytest
from lora_helpers import run_cli

FAST = {"steps": 2, "size": 32, "guidance": 1.0}  # 1 PNDM step is ~the noise itself;
# guidance 1: no CFG batch, half the work


@pytest.fixture(scope="module")
def grid_pipe(tiny_model, tiny_a):
    from loratui.lora.grid import load_grid_pipeline

    return load_grid_pipeline(tiny_model, tiny_a)


def _spec(tiny_model, tiny_a, out, **kw):
    from loratui.lora.grid import GridSpec

    return GridSpec(lora=tiny_a, base=tiny_model, prompt="sks, a girl", out=out,
                    **{**FAST, **kw})


def _in_use(path):
    from loratui.lora.blocks import block_strengths

    s = block_strengths(path)
    return s.layout, [b for b in s.layout.blocks if s.modules[b]]


def _render_plain(pipe, weight):
    """The reference: the LoRA loaded at one weight with diffusers' plain scale."""
    import torch

    pipe.set_adapters(["lora"], adapter_weights=[weight])
    gen = torch.Generator().manual_seed(1234)
    with torch.no_grad():
        return np.asarray(pipe("sks, a girl", height=32, width=32, num_inference_steps=2,
                               guidance_scale=1.0, generator=gen).images[0], dtype=np.int16)


def _cell(result, r, c):
    from PIL import Image

    with Image.open(result.cells[(r, c)]) as img:
        return np.asarray(img.convert("RGB"), dtype=np.int16)


def test_cell_at_all_equals_loading_the_lora_at_w(grid_pipe, tiny_model, tiny_a, tmp_path):
    from loratui.lora.grid import render_grid

    layout, in_use = _in_use(tiny_a)
    result = render_grid(_spec(tiny_model, tiny_a, tmp_path / "g.png", weights=(0.4, 0.9),
                               columns="ALL"), layout, in_use, pipe=grid_pipe)
    for r, w in enumerate((0.4, 0.9)):
        assert np.abs(_cell(result, r, 0) - _render_plain(grid_pipe, w)).max() <= 1
    # the weight really changes the picture, so the equality above means something
    assert np.abs(_cell(result, 0, 0) - _cell(result, 1, 0)).max() > 8


def test_zeroed_block_equals_the_file_with_that_block_removed(grid_pipe, tiny_model, tiny_a,
                                                              tmp_path):
    """diffusers' per-block dict (grid) and kohya module names (scale tool) agree on
    which layers a block is: both ways of turning OUT03 off give the same image."""
    import torch

    from loratui.lora import tools
    from loratui.lora.grid import load_grid_pipeline, render_grid
    from loratui.lora.weights import load_weights

    layout, in_use = _in_use(tiny_a)
    result = render_grid(_spec(tiny_model, tiny_a, tmp_path / "g.png", weights=(1.0,),
                               columns="-OUT03,ALL"), layout, in_use, pipe=grid_pipe)
    src = load_weights(tiny_a)
    vector = {**dict.fromkeys(layout.blocks, 1.0), "OUT03": 0.0}
    baked, _ = tools.scale(src, 1.0, vector, layout)
    path = tmp_path / "no_out03.safetensors"
    tools.write_output(baked, baked.metadata, path, inputs=[tiny_a], overwrite=False)
    other = load_grid_pipeline(tiny_model, path)
    other.set_adapters(["lora"], adapter_weights=[1.0])
    gen = torch.Generator().manual_seed(1234)
    with torch.no_grad():
        ref = np.asarray(other("sks, a girl", height=32, width=32, num_inference_steps=2,
                               guidance_scale=1.0, generator=gen).images[0], dtype=np.int16)
    assert np.abs(_cell(result, 0, 0) - ref).max() <= 1
    assert np.abs(_cell(result, 0, 0) - _cell(result, 0, 1)).max() > 2  # OUT03 matters


def test_grid_resumes_and_never_reuses_a_stale_cell(grid_pipe, tiny_model, tiny_a, tmp_path):
    from loratui.lora.grid import render_grid

    layout, in_use = _in_use(tiny_a)
    # OUTALL and OUTD differ only in OUT07–OUT11, which the tiny UNet lacks: the same
    # pixels, rendered once
    spec = _spec(tiny_model, tiny_a, tmp_path / "g.png", weights=(0.5,),
                 columns="ALL,OUTALL,OUTD")
    first = render_grid(spec, layout, in_use, pipe=grid_pipe)
    assert first.rendered == 2 and first.reused == 1
    again = render_grid(spec, layout, in_use, pipe=grid_pipe)
    assert again.rendered == 0 and again.reused == 3
    first.cells[(0, 0)].unlink()  # an interrupted run: one cell missing
    resumed = render_grid(spec, layout, in_use, pipe=grid_pipe)
    assert resumed.rendered == 1 and resumed.reused == 2
    spec.prompt = "sks, a girl, outdoors"
    changed = render_grid(spec, layout, in_use, pipe=grid_pipe)
    assert changed.rendered == 2


def test_default_columns_are_presets_then_blocks_alone_and_zeroed(tiny_a):
    from loratui.lora.grid import GRID_PRESETS, columns_for

    layout, in_use = _in_use(tiny_a)
    cols = [c.label for c in columns_for("presets,alone,zeroed", layout, in_use)]
    assert cols == [*GRID_PRESETS, *in_use, *(f"-{b}" for b in in_use)]
    alone = columns_for("OUT04", layout, in_use)[0].vector
    assert alone["OUT04"] == 1 and sum(alone.values()) == 1


@pytest.mark.slow
def test_cli_grid_png_and_prompt_tag_checked_by_the_doctor(tiny_model, tiny_a, tmp_path):
    from PIL import Image

    from loratui.doctor.inputs.prompt import check_lbw, parse_prompt

    out = tmp_path / "grid.png"
    args = ["lora", "grid", str(tiny_a), "--base", str(tiny_model), "--prompt", "sks, a girl",
            "--weights", "0.6,0.8", "--columns", "ALL,-OUT03", "--steps", "2",
            "--size", "32", "--cfg", "1", "-o", str(out)]
    r = run_cli(*args, "--use", "0.7:OUTALL", "--json")
    assert r.returncode == 0, r.stderr
    data = json.loads(r.stdout)
    assert data["columns"] == ["ALL", "-OUT03"] and data["rows"] == [0.6, 0.8]
    with Image.open(out) as img:
        assert img.size == (44 + 2 * 32, 18 + 2 * 32 + 16)
    tag = data["prompt_tag"]
    assert tag == "<lora:tiny_a:0.7:lbw=OUTALL>"
    use = parse_prompt(tag).uses[0]
    assert use.lbw == "OUTALL" and use.weight == 0.7 and check_lbw(use.lbw) is None
    assert data["doctor"] == []
    r = run_cli(*args, "--use", "1.0:ALL")
    assert r.returncode == 0 and "PR101" in r.stdout  # above 0.95: the doctor says so
    assert "0 rendered" in r.stdout  # every cell reused from the first run


def test_cli_grid_bad_base_exit_2(tiny_a, tmp_path):
    r = run_cli("lora", "grid", str(tiny_a), "--base", str(tmp_path), "--prompt", "x",
                "--columns", "ALL", "--weights", "1", "-o", str(tmp_path / "g.png"))
    assert r.returncode == 2 and "model_index.json" in r.stderr


def test_composed_grid_puts_each_cell_at_its_box(tmp_path):
    """The labelled PNG holds every rendered cell, unchanged, where `cell_box` says."""
    from PIL import Image

    from loratui.lora.grid import Column, GridResult, GridSpec, cell_box, compose

    cells = {}
    for r in range(2):
        for c in range(3):
            cells[(r, c)] = tmp_path / f"{r}-{c}.png"
            Image.new("RGB", (16, 16), (40 * r + 10, 60 * c + 20, 200)).save(cells[(r, c)])
    result = GridResult(tmp_path / "grid.png", [0.6, 0.8],
                        [Column(n, {}) for n in ("ALL", "INS", "OUTS")], cells, size=16)
    spec = GridSpec(tmp_path / "a.safetensors", tmp_path, "sks", tmp_path / "grid.png")
    grid = np.asarray(compose(result, spec), dtype=np.int16)
    for (r, c), path in cells.items():
        x0, y0, x1, y1 = cell_box(result, r, c)
        with Image.open(path) as img:
            assert np.array_equal(grid[y0:y1, x0:x1], np.asarray(img, dtype=np.int16))

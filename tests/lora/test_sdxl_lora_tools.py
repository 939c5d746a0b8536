"""`loratui lora grid` and `loratui lora scale --blocks` on an SDXL LoRA (the tiny SDXL
model, kohya's SDXL names: lora_unet_ in the LDM layout, lora_te1_, lora_te2_)."""

from __future__ import annotations

import json

import numpy as np
import pytest
from lora_helpers import run_cli

FAST = {"steps": 2, "size": 32, "guidance": 1.0}
PROMPT = "sks, a girl"

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def xl_pipe(tiny_sdxl_model, tiny_xl):
    from loratui.lora.grid import load_grid_pipeline

    return load_grid_pipeline(tiny_sdxl_model, tiny_xl)


def _in_use(path):
    from loratui.lora.blocks import block_strengths

    s = block_strengths(path)
    return s.layout, [b for b in s.layout.blocks if s.modules[b]]


def _render(pipe, weights=None):
    import torch

    if weights is not None:
        pipe.set_adapters(["lora"], adapter_weights=[weights])
    gen = torch.Generator().manual_seed(1234)
    with torch.no_grad():
        return np.asarray(pipe(PROMPT, height=32, width=32, num_inference_steps=2,
                               guidance_scale=1.0, generator=gen).images[0], dtype=np.int16)


def _cell(result, r, c):
    from PIL import Image

    with Image.open(result.cells[(r, c)]) as img:
        return np.asarray(img.convert("RGB"), dtype=np.int16)


def test_the_sdxl_layout_and_both_text_encoders(xl_pipe, tiny_xl):
    from loratui.lora.grid import text_encoders_with_lora

    layout, in_use = _in_use(tiny_xl)
    assert layout.family == "sdxl" and "BASE" in in_use and "M00" in in_use
    assert text_encoders_with_lora(xl_pipe) == ("text_encoder", "text_encoder_2")


def test_cell_at_all_equals_loading_the_sdxl_lora_at_w(xl_pipe, tiny_sdxl_model, tiny_xl,
                                                       tmp_path):
    """Every part at w, the second text encoder included."""
    from loratui.lora.grid import GridSpec, render_grid

    layout, in_use = _in_use(tiny_xl)
    spec = GridSpec(lora=tiny_xl, base=tiny_sdxl_model, prompt=PROMPT, out=tmp_path / "g.png",
                    weights=(0.4, 0.9), columns="ALL", **FAST)
    result = render_grid(spec, layout, in_use, pipe=xl_pipe)
    for r, w in enumerate((0.4, 0.9)):
        assert np.abs(_cell(result, r, 0) - _render(xl_pipe, w)).max() <= 1
    assert np.abs(_cell(result, 0, 0) - _cell(result, 1, 0)).max() > 8


def test_base_reaches_the_second_text_encoder(xl_pipe):
    """BASE = both text encoders: the second one at 0 changes the picture, so a grid that
    left text_encoder_2 at 1.0 would be told apart by the test above."""
    full = _render(xl_pipe, 1.0)
    te2_off = _render(xl_pipe, {"unet": 1.0, "text_encoder": 1.0, "text_encoder_2": 0.0})
    assert np.abs(full - te2_off).max() > 2


def test_zeroed_block_equals_the_sdxl_file_scaled_without_it(xl_pipe, tiny_sdxl_model,
                                                             tiny_xl, tmp_path):
    """The grid's per-block scales (diffusers' names) and `lora scale --blocks` (kohya's LDM
    names) agree on which layers an SDXL block is."""
    from loratui.lora.grid import GridSpec, load_grid_pipeline, render_grid

    layout, in_use = _in_use(tiny_xl)
    block = next(b for b in in_use if b.startswith("OUT"))
    spec = GridSpec(lora=tiny_xl, base=tiny_sdxl_model, prompt=PROMPT, out=tmp_path / "g.png",
                    weights=(1.0,), columns=f"-{block},ALL", **FAST)
    result = render_grid(spec, layout, in_use, pipe=xl_pipe)
    vector = ",".join("0" if b == block else "1" for b in layout.lora_blocks)
    out = tmp_path / "without.safetensors"
    r = run_cli("lora", "scale", str(tiny_xl), "--blocks", vector, "-o", str(out))
    assert r.returncode == 0, r.stderr
    ref = _render(load_grid_pipeline(tiny_sdxl_model, out), 1.0)
    assert np.abs(_cell(result, 0, 0) - ref).max() <= 1
    assert np.abs(_cell(result, 0, 0) - _cell(result, 0, 1)).max() > 2  # the block matters


def test_cli_scale_blocks_on_sdxl(tiny_xl, tmp_path):
    from loratui.lora.block_layout import layout_for
    from loratui.lora.weights import load_weights

    xl = layout_for("sdxl")
    out = tmp_path / "outall.safetensors"
    r = run_cli("lora", "scale", str(tiny_xl), "--weight", "0.5", "--blocks", "OUTALL",
                "-o", str(out))
    assert r.returncode == 0, r.stderr
    src, got = load_weights(tiny_xl), load_weights(out)
    keep = {b for b, v in xl.vector("OUTALL").items() if v}
    kept = dropped = 0
    for name, m in src.modules.items():
        if xl.block_of(name) in keep:
            assert got.modules[name].alpha_value == pytest.approx(m.alpha_value * 0.5)
            assert got.modules[name].up.equal(m.up)
            kept += 1
        else:
            assert name not in got.modules
            dropped += 1
    assert kept and dropped  # lora_te1_ / lora_te2_ / input blocks dropped, output kept
    assert any(n.startswith("lora_te2_") for n in src.modules)
    bad = run_cli("lora", "scale", str(tiny_xl), "--blocks", "1,1,1", "-o",
                  str(tmp_path / "bad.safetensors"))
    assert bad.returncode == 2 and "12" in bad.stderr and "Traceback" not in bad.stderr


def test_cli_grid_on_sdxl_with_an_sdxl_base(tiny_sdxl_model, tiny_xl, tmp_path):
    out = tmp_path / "xl_grid.png"
    r = run_cli("lora", "grid", str(tiny_xl), "--base", str(tiny_sdxl_model), "--prompt",
                PROMPT, "--steps", "2", "--size", "32", "--cfg", "1", "--weights", "0.5,1",
                "--columns", "ALL,OUTALL", "--use", "0.7:OUTALL", "-o", str(out), "--json")
    assert r.returncode == 0, r.stderr
    summary = json.loads(r.stdout)
    assert out.is_file() and summary["rows"] == [0.5, 1.0]
    assert summary["prompt_tag"].startswith("<lora:tiny_xl:0.7:lbw=")
    # the tag is checked against the SDXL base it is used with: no family mismatch
    assert not [d for d in summary["doctor"] if d["code"] == "PR111"], summary["doctor"]

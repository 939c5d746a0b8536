"""`loratui lora blocks`: per-block ‖ΔW‖ on real files, mapped to the block-weight layout."""

from __future__ import annotations

import json

from lora_helpers import cli_process, run_cli, sd15_layout_lora, tiny_lora

from loratui.lora.block_layout import SD15


def _cli(*args):
    return run_cli(*args)


def _delta_norms_by_block(path, blocks=None):
    """The reference: form every ΔW = up·down·alpha/rank with torch and take its norm."""
    from safetensors.torch import load_file

    sd = load_file(str(path))
    out: dict[str, float] = {}
    for key in sd:
        if not key.endswith(".lora_down.weight"):
            continue
        name = key[: -len(".lora_down.weight")]
        block = SD15.block_of(name)
        if blocks and block not in blocks:
            continue
        down = sd[key].double().flatten(1)
        up = sd[f"{name}.lora_up.weight"].double().flatten(1)
        alpha = float(sd[f"{name}.alpha"])
        norm = float((up @ down).norm()) * alpha / down.shape[0]
        out[block] = out.get(block, 0.0) + norm
    return out


def test_full_size_sd15_maps_to_the_17_blocks(sd15_file):
    from loratui.lora.blocks import block_strengths

    s = block_strengths(sd15_file)
    assert s.modules["BASE"] == 72
    for block in SD15.lora_blocks[1:]:
        assert s.modules[block] == 12, block  # one Transformer2DModel = 12 modules
    assert sum(s.modules.values()) == 264
    only_long = set(SD15.blocks) - set(SD15.lora_blocks)
    assert len(only_long) == 9 and all(s.modules[b] == 0 for b in only_long)
    assert not s.long_layout_needed() and s.to_json()["layout"] == 17
    ref = _delta_norms_by_block(sd15_file, {"BASE", "IN01", "M00", "OUT11"})
    assert len(ref) == 4
    for block, value in ref.items():
        assert abs(s.strength[block] - value) <= 1e-4 * value + 1e-9, block


def test_tiny_model_strengths_equal_explicit_delta_norms(tiny_a):
    from loratui.lora.blocks import block_strengths

    s = block_strengths(tiny_a)
    ref = _delta_norms_by_block(tiny_a)
    # the tiny UNet: down 0 (IN01), mid (M00), up 1 with two attentions (OUT03, OUT04)
    assert set(ref) == {"BASE", "IN01", "M00", "OUT03", "OUT04"}
    for block, value in ref.items():
        assert abs(s.strength[block] - value) <= 1e-4 * value, block
    assert {b for b, n in s.modules.items() if n} == set(ref)


def test_a_stronger_block_is_named_dominant(tmp_path):
    from loratui.lora.blocks import block_strengths, render

    path = sd15_layout_lora(tmp_path / "out07.safetensors",
                            block_scale={"up_blocks_2_attentions_1_": 40.0})
    s = block_strengths(path)
    assert s.dominant()[0] == "OUT07"
    text = render(s, 80)
    assert "dominant: OUT07" in text and "█" in text


def test_alpha_scales_the_strength(tiny_model, tmp_path):
    from loratui.lora.blocks import block_strengths

    a = block_strengths(tiny_lora(tiny_model, tmp_path / "a2.safetensors", alpha=2.0))
    b = block_strengths(tiny_lora(tiny_model, tmp_path / "a4.safetensors", alpha=4.0))
    assert abs(b.total / a.total - 2.0) < 1e-4


def test_cli_json_and_table(sd15_file, tmp_path):
    r = _cli("lora", "blocks", str(sd15_file), "--json")
    assert r.returncode == 0, r.stderr
    data = json.loads(r.stdout)
    assert [b["block"] for b in data["blocks"]] == list(SD15.lora_blocks)
    assert len(data["blocks_26"]) == 26 and abs(sum(b["share"] for b in data["blocks"]) - 1) < 1e-6
    r = _cli("lora", "blocks", str(sd15_file))
    assert r.returncode == 0 and "OUT11" in r.stdout and "dominant:" in r.stdout


def test_cli_bad_files_exit_2_with_one_message(tmp_path):
    bad = tmp_path / "broken.safetensors"
    bad.write_bytes(b"\x80\x04not a safetensors file")
    r = cli_process("lora", "blocks", str(bad))
    assert r.returncode == 2 and "broken.safetensors" in r.stderr
    assert "Traceback" not in r.stderr
    r = _cli("lora", "blocks", str(tmp_path / "missing.safetensors"))
    assert r.returncode == 2 and "Traceback" not in r.stderr

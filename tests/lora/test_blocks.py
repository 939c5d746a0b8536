"""`loratui lora blocks`: per-block ‖ΔW‖ on real files, mapped to the block-weight layout."""

from __future__ import annotations

import json

from lora_helpers import cli_process, run_cli, sd15_layout_lora, tiny_lora

from loratui.lora.block_layout import layout_for


def _cli(*args):
    return run_cli(*args)


SD15 = layout_for("sd15")


def _delta_norms_by_block(path, blocks=None, layout=SD15):
    """The reference: form every ΔW = up·down·alpha/rank with torch and take its norm."""
    from safetensors.torch import load_file

    sd = load_file(str(path))
    out: dict[str, float] = {}
    for key in sd:
        if not key.endswith(".lora_down.weight"):
            continue
        name = key[: -len(".lora_down.weight")]
        block = layout.block_of(name)
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


def _sdxl_lora(path, *, locon: bool = False, strong: str = "input_blocks_8_"):
    """kohya's SDXL key layout (LDM-named UNet, two text encoders) at small sizes: the
    attention blocks IN04/05/07/08, the middle block, OUT00–OUT05; cross-attention 2048
    wide; `locon` adds a conv in input_blocks_0 (IN00, only in the 20-block layout)."""
    import torch
    from safetensors.torch import save_file

    gen = torch.Generator().manual_seed(0)
    modules = [f"lora_te{i}_text_model_encoder_layers_0_self_attn_q_proj" for i in (1, 2)]
    for block in ("input_blocks_4_1", "input_blocks_5_1", "input_blocks_7_1",
                  "input_blocks_8_1", "middle_block_1",
                  *(f"output_blocks_{i}_1" for i in range(6))):
        modules += [f"lora_unet_{block}_transformer_blocks_{t}_{m}" for t in (0, 1)
                    for m in ("attn1_to_q", "attn2_to_k")]
    if locon:
        modules.append("lora_unet_input_blocks_0_0_conv")
    tensors = {}
    for name in modules:
        width = 2048 if name.endswith("attn2_to_k") else 32
        factor = 5.0 if strong in name else 1.0
        tensors[f"{name}.lora_down.weight"] = torch.randn(2, width, generator=gen)
        tensors[f"{name}.lora_up.weight"] = torch.randn(16, 2, generator=gen) * factor
        tensors[f"{name}.alpha"] = torch.tensor(1.0)
    save_file(tensors, str(path), {"ss_base_model_version": "sdxl_base_v1-0"})
    return path


def test_sdxl_lora_maps_to_the_extensions_12_and_20_block_layouts(tmp_path):
    from loratui.lora.block_layout import layout_for

    xl = layout_for("sdxl")
    path = _sdxl_lora(tmp_path / "xl.safetensors")
    r = _cli("lora", "blocks", str(path), "--json")
    assert r.returncode == 0, r.stderr
    data = json.loads(r.stdout)
    assert data["family"] == "sdxl" and data["layout"] == 12
    assert [b["block"] for b in data["blocks"]] == ["BASE", "IN04", "IN05", "IN07", "IN08",
                                                   "M00", *(f"OUT{i:02d}" for i in range(6))]
    assert all(b["modules"] == (4 if b["block"] != "BASE" else 2) for b in data["blocks"])
    assert data["dominant"][0] == "IN08"
    ref = _delta_norms_by_block(path, layout=xl)
    for b in data["blocks"]:
        assert abs(b["strength"] - ref[b["block"]]) < 1e-6 * max(1.0, ref[b["block"]])
    assert len(data["blocks_20"]) == 20
    locon = _sdxl_lora(tmp_path / "xl_locon.safetensors", locon=True)
    data = json.loads(_cli("lora", "blocks", str(locon), "--json").stdout)
    assert data["layout"] == 20 and data["blocks"][1] == {**data["blocks"][1], "block": "IN00",
                                                          "modules": 1}
    r = _cli("lora", "blocks", str(path))
    assert r.returncode == 0 and "12-block layout" in r.stdout and "OUT05" in r.stdout
    # the presets keep their meaning by block name; ALL stays whole
    assert xl.vector("INS")["IN04"] == 1 and xl.vector("INS")["IN05"] == 0
    whole = xl.vector("ALL")
    assert {whole[b] for b in xl.lora_blocks} == {1.0} and xl.lbw_string(whole) == "ALL"

"""Model families: the data each Family holds matches the full-size models (built on the meta
device from the shipped configs), detection of the base model's family, overrides."""

from __future__ import annotations

import re

import pytest

from loratui import families
from tests.model_files import checkpoint_with, diffusers_folder


def test_families_are_data_backed_and_distinct():
    sd15, sdxl = families.get("sd15"), families.get("sdxl")
    assert (sd15.native_resolution, sdxl.native_resolution) == (512, 1024)
    assert sd15.kohya_prefixes == ("lora_unet", "lora_te")
    assert sdxl.kohya_prefixes == ("lora_unet", "lora_te1", "lora_te2")
    assert [t.pad_token for t in sdxl.text_encoders] == ["<|endoftext|>", "!"]
    assert sdxl.base_model_version(False) == "sdxl_base_v1-0"
    assert sdxl.modelspec_architecture == "stable-diffusion-xl-v1-base/lora"
    assert families.by_lbw_count(12) is sdxl and families.by_lbw_count(17) is sd15
    assert families.by_lbw_count(13) is None
    with pytest.raises(families.FamilyError, match="unknown model family"):
        families.get("flux")


@pytest.mark.parametrize("fid", ["sd15", "sdxl"])
def test_family_data_matches_the_full_size_models(fid):
    """Parameter counts (VRAM estimate), kohya module counts and LoRA sizes, checked against
    the real module layout: SDXL UNet 2.567 B, TE1 123 M, TE2 694.7 M; kohya creates 722 +
    72 + 192 modules on SDXL, 192 + 72 on SD1.5."""
    import torch

    from loratui.train.export import kohya_module_names
    from loratui.train.lora import add_text_encoder_lora, add_unet_lora

    fam = families.get(fid)
    unet, tes = fam.meta_models()
    assert sum(p.numel() for p in unet.parameters()) == fam.unet_params
    assert [sum(p.numel() for p in te.parameters()) for te in tes] == \
        [t.params for t in fam.text_encoders]
    with torch.device("meta"):
        add_unet_lora(unet, 1, 1)
        for te in tes:
            add_text_encoder_lora(te, 1, 1)
    names = kohya_module_names(unet, tes, fam)
    assert len(names) == len(set(names))
    counts = [sum(n.startswith(p + "_") for n in names) for p in fam.kohya_prefixes]
    assert counts == [fam.unet_kohya_modules, *(t.kohya_modules for t in fam.text_encoders)]
    lora = [sum(p.numel() for n, p in m.named_parameters() if "lora_" in n)
            for m in (unet, *tes)]
    assert lora == [fam.unet_lora_in_out, *(t.lora_in_out for t in fam.text_encoders)]
    if fid == "sdxl":
        assert counts == [722, 72, 192]
        assert (fam.unet_params, *(t.params for t in fam.text_encoders)) == \
            (2_567_463_684, 123_060_480, 694_659_840)
        # kohya's LDM names (FORMATS.md): input 4-8, middle 1, output 0-5
        for name in ("lora_unet_input_blocks_4_1_transformer_blocks_0_attn1_to_q",
                     "lora_unet_input_blocks_8_1_transformer_blocks_9_ff_net_2",
                     "lora_unet_middle_block_1_proj_in",
                     "lora_unet_output_blocks_5_1_transformer_blocks_1_attn2_to_out_0",
                     "lora_te1_text_model_encoder_layers_11_mlp_fc2",
                     "lora_te2_text_model_encoder_layers_31_self_attn_q_proj"):
            assert name in names
        blocks = {_ldm_block(n) for n in names if n.startswith("lora_unet_")}
        assert blocks == {f"lora_unet_input_blocks_{i}" for i in (4, 5, 7, 8)} | \
            {"lora_unet_middle_block"} | {f"lora_unet_output_blocks_{i}" for i in range(6)}
    else:
        assert counts == [192, 72]


def test_detection_and_overrides(tmp_path):
    xl = diffusers_folder(tmp_path / "xl", {"_class_name": "StableDiffusionXLPipeline",
                                   "text_encoder_2": ["transformers", "CLIPTextModelWithProjection"]},
                 {"cross_attention_dim": 2048, "addition_embed_type": "text_time"})
    v15 = diffusers_folder(tmp_path / "v15", {"_class_name": "StableDiffusionPipeline"},
                  {"cross_attention_dim": 768})
    pony = checkpoint_with(tmp_path / "ponyDiffusionV6XL.safetensors",
                       ["conditioner.embedders.0.transformer.text_model.x",
                        "conditioner.embedders.1.model.ln_final.weight"])
    anything = checkpoint_with(tmp_path / "anything.safetensors",
                           ["cond_stage_model.transformer.text_model.x"])
    assert families.detect(xl) == "sdxl" and families.detect(pony) == "sdxl"
    assert families.detect(v15) == "sd15" and families.detect(anything) == "sd15"
    assert families.resolve(pony).id == "sdxl"
    assert families.resolve(pony, "sdxl").id == "sdxl"
    assert families.resolve(anything, "auto").id == "sd15"
    with pytest.raises(families.FamilyError) as err:
        families.resolve(pony, "sd15")
    assert "detected 'sdxl'" in str(err.value) and "SDXL" in str(err.value)
    with pytest.raises(families.FamilyError, match="detected 'sd15'"):
        families.resolve(v15, "sdxl")


def test_wrong_family_override_stops_before_loading(tmp_path):
    from loratui.config import RunConfig
    from loratui.train.safety import preflight

    pony = checkpoint_with(tmp_path / "pony.safetensors", ["conditioner.embedders.1.model.x"])
    (tmp_path / "data").mkdir()
    cfg = RunConfig.model_validate({"model": {"base": str(pony), "family": "sd15"},
                                    "dataset": {"dir": str(tmp_path / "data")},
                                    "output": {"dir": str(tmp_path / "runs")}})
    problems = preflight(cfg)
    assert any("detected 'sdxl'" in p for p in problems), problems
    cfg.model.family = "auto"
    assert not any("family" in p for p in preflight(cfg))


def _ldm_block(name: str) -> str:
    """lora_unet_output_blocks_1_1_… → lora_unet_output_blocks_1"""
    return re.match(r"(lora_unet_(?:input_blocks_\d+|output_blocks_\d+|middle_block))_1_",
                    name).group(1)


def test_single_file_sdxl_checkpoint_loads_offline(tiny_sdxl_model, tmp_path, monkeypatch):
    """The tiny SDXL saved the way Pony / Illustrious / NoobAI ship (SGM keys, one file) loads
    through the SDXL pipeline's from_single_file with the shipped-style configs; weights are
    identical; both tokenizers come from one CLIP vocabulary and the second pads with "!"."""
    import torch
    from ldm_checkpoint import save_sgm_checkpoint

    from loratui.train.models import load_components

    ckpt = save_sgm_checkpoint(tiny_sdxl_model, tmp_path / "tinyPonyXL.safetensors")
    assert families.detect(ckpt) == "sdxl"
    monkeypatch.setenv("LORATUI_CLIP_TOKENIZER", str(tiny_sdxl_model / "tokenizer"))
    single = load_components(ckpt, config_dir=tiny_sdxl_model)
    folder = load_components(tiny_sdxl_model)
    assert single.family.id == "sdxl" and len(single.text_encoders) == 2
    for a_model, b_model in zip((folder.unet, folder.vae, *folder.text_encoders),
                                (single.unet, single.vae, *single.text_encoders), strict=True):
        a, b = a_model.state_dict(), b_model.state_dict()
        assert a.keys() == b.keys()
        assert all(torch.equal(a[k], b[k]) for k in a), type(a_model).__name__
    tok1, tok2 = single.tokenizers
    assert tok1.pad_token == "<|endoftext|>" and tok2.pad_token == "!"
    ids1, ids2 = tok1("sks", padding="max_length").input_ids, tok2("sks",
                                                                 padding="max_length").input_ids
    assert ids1[:3] == ids2[:3] and ids1[-1] == tok1.eos_token_id
    assert ids2[-1] == tok2.convert_tokens_to_ids("!")
    assert folder.tokenizers[1].pad_token == "!"  # the tiny folder's own tokenizer_2


def test_pickle_sdxl_checkpoint_is_refused(tmp_path):
    from loratui.train.models import ModelLoadError, load_components

    (tmp_path / "ponyDiffusionV6XL.ckpt").write_bytes(b"\x80\x02}q\x00.")
    with pytest.raises(ModelLoadError, match="pickle"):
        load_components(tmp_path / "ponyDiffusionV6XL.ckpt")

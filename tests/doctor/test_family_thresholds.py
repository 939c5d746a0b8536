"""Thresholds by model family: the rules' own figures are the guide's (SD1.5), the family's
`[doctor]` table (data/<family>/family.toml) replaces them for the family the input shows,
and the user's `[doctor]` values win over both."""

from __future__ import annotations

import json

import numpy as np
import pytest
from safetensors.numpy import save_file

from loratui.doctor import diagnose_config
from loratui.doctor.catalog import load_catalog, thresholds_for
from loratui.presets import load_presets
from tests.model_files import checkpoint_with

from .helpers import codes, run_doctor, write

# Rules whose thresholds differ by family.
FAMILY_RULES = {"CF101", "CF102", "CF105", "CF106", "CF107", "CF110", "CF111", "CF113",
                "CF118", "LF108"}
SDXL_BASE = "/models/sd_xl_base_1.0.safetensors"
SD15_BASE = "/models/v1-5-pruned-emaonly.safetensors"


def _rule(code):
    return next(r for r in load_catalog(use_cache=False).rules if r.code == code)


def test_layers_rule_then_family_then_user():
    cf102, cf110 = _rule("CF102"), _rule("CF110")
    assert thresholds_for(cf102, {})["max_rank"] == 16
    assert thresholds_for(cf102, {}, "sd15")["max_rank"] == 16
    assert thresholds_for(cf102, {}, "sd2")["max_rank"] == 16  # no data: the rule's
    assert thresholds_for(cf102, {}, "sdxl")["max_rank"] == 64
    assert thresholds_for(cf102, {"max_rank": 128}, "sdxl")["max_rank"] == 128
    assert thresholds_for(cf102, {"CF102": {"max_rank": 8}}, "sdxl")["max_rank"] == 8
    # a per-rule value of the family's table reaches that rule only
    assert thresholds_for(cf110, {}, "sdxl")["small_card_gb"] == 12.5
    assert thresholds_for(_rule("CF113"), {}, "sdxl")["small_card_gb"] == 16.5
    assert thresholds_for(_rule("CF118"), {}, "sdxl")["bucket_multiple"] == 32
    assert thresholds_for(_rule("CF118"), {}, "sd15")["bucket_multiple"] == 64


def _kohya(tmp_path, name, **values):
    cfg = {"output_dir": "/out", "output_name": "x", "LoRA_type": "Standard",
           "optimizer": "AdamW8bit", "learning_rate": 1e-4, "unet_lr": 1e-4,
           "text_encoder_lr": 0, "network_train_unet_only": True, "enable_bucket": True,
           "mixed_precision": "bf16", "no_half_vae": True, "xformers": "sdpa",
           "cache_latents": True, "train_batch_size": 1, "gradient_checkpointing": True}
    cfg.update(values)
    return write(tmp_path, name, json.dumps(cfg))


def test_sdxl_settings_are_fine_for_sdxl_and_flagged_for_sd15(tmp_path):
    """Rank 32, 1024 px, bucket step 32: an ordinary SDXL run; on SD1.5 each is a finding."""
    xl = dict(network_dim=32, network_alpha=16, max_resolution="1024,1024",
              bucket_reso_steps=32)
    sdxl = _kohya(tmp_path, "xl.json", sdxl=True, pretrained_model_name_or_path=SDXL_BASE,
                  **xl)
    sd15 = _kohya(tmp_path, "v15.json", sdxl=False, pretrained_model_name_or_path=SD15_BASE,
                  **xl)
    assert not codes(run_doctor([sdxl], args=["--vram", "12GB"])[0]) & FAMILY_RULES
    found = {d.code: d.message for d in run_doctor([sd15], args=["--vram", "12GB"])[0]}
    assert {"CF101", "CF102", "CF118"} <= set(found), found
    assert "is above 16" in found["CF102"] and "8–16 is enough" in found["CF102"]
    assert "divisible by 64" in found["CF118"]
    # rank 128 is too much for SDXL as well, with SDXL's figures in the message
    big = _kohya(tmp_path, "big.json", sdxl=True, pretrained_model_name_or_path=SDXL_BASE,
                 **dict(xl, network_dim=128, network_alpha=64))
    msg = next(d.message for d in run_doctor([big])[0] if d.code == "CF102")
    assert "is above 64" in msg and "32–64 is enough" in msg


def test_sd15_settings_are_fine_for_sd15_and_flagged_for_sdxl(tmp_path):
    """512 px, batch 2 on a 10 GB card, no checkpointing on 12 GB, fp32 on 16 GB: fine for
    SD1.5, each a finding for SDXL."""
    base = dict(network_dim=16, network_alpha=16, max_resolution="512,512",
                bucket_reso_steps=64)
    cases = [("10GB", dict(train_batch_size=2), "CF110"),
             ("12GB", dict(gradient_checkpointing=False), "CF113"),
             ("16GB", dict(mixed_precision="no"), "CF111")]
    for vram, change, code in cases:
        v15 = _kohya(tmp_path, f"v15-{code}.json", pretrained_model_name_or_path=SD15_BASE,
                     **base, **change)
        xl = _kohya(tmp_path, f"xl-{code}.json", sdxl=True,
                    pretrained_model_name_or_path=SDXL_BASE, **base, **change)
        assert not codes(run_doctor([v15], args=["--vram", vram])[0]) & FAMILY_RULES, code
        found = codes(run_doctor([xl], args=["--vram", vram])[0])
        assert {code, "CF101"} <= found, (code, found)


def test_a_config_that_shows_no_family_gets_the_rules_own_figures(tmp_path):
    """Nothing says SDXL: the guide's figures, never an SDXL guess."""
    plain = _kohya(tmp_path, "plain.json", network_dim=32, network_alpha=16,
                   pretrained_model_name_or_path="/models/my_merge.safetensors")
    assert "CF102" in codes(run_doctor([plain])[0])


def _lora(path, *, rank, sdxl):
    """A kohya LoRA whose tensors show its family: SDXL's second text encoder (lora_te2_)
    and 2048-wide cross-attention, or SD1.5's 768."""
    rng = np.random.default_rng(0)
    width = 2048 if sdxl else 768
    t = {}
    names = ["lora_unet_input_blocks_4_1_transformer_blocks_0_attn2_to_k" if sdxl else
             "lora_unet_down_blocks_0_attentions_0_transformer_blocks_0_attn2_to_k"]
    if sdxl:
        names.append("lora_te2_text_model_encoder_layers_0_mlp_fc1")
    for name in names:
        t[f"{name}.lora_down.weight"] = rng.standard_normal((rank, width)).astype(np.float16)
        t[f"{name}.lora_up.weight"] = np.full((640, rank), 0.01, dtype=np.float16)
        t[f"{name}.alpha"] = np.array(rank / 2, dtype=np.float16)
    save_file(t, str(path), metadata={
        "ss_network_dim": str(rank), "ss_network_alpha": str(rank / 2),
        "ss_base_model_version": "sdxl_base_v1-0" if sdxl else "sd_v1"})
    return path


def test_lora_file_rank_by_the_family_its_tensors_show(tmp_path):
    assert "LF108" not in codes(run_doctor([_lora(tmp_path / "xl.safetensors", rank=32,
                                                  sdxl=True)])[0])
    diags = run_doctor([_lora(tmp_path / "v15.safetensors", rank=32, sdxl=False)])[0]
    msg = next(d.message for d in diags if d.code == "LF108")
    assert "rank 32 (guide: 8–16 for this family)" in msg
    assert "LF108" in codes(run_doctor([_lora(tmp_path / "xl128.safetensors", rank=128,
                                              sdxl=True)])[0])


@pytest.mark.parametrize("preset", [p for p in load_presets() if not p.cpu],
                         ids=lambda p: p.id)
def test_every_shipped_preset_passes_its_familys_thresholds(preset):
    """loratui's GPU presets, SD1.5 and SDXL, on the smallest card of their tier."""
    cfg = preset.to_config()
    found = {d.code: d.message for d in diagnose_config(cfg, vram_gb=preset.min_vram_gb)}
    assert not set(found) & FAMILY_RULES, found


def test_the_base_model_on_disk_tells_the_family(tmp_path):
    """A loratui.toml with model.family = "auto" and a base model folder whose name says
    nothing: its model_index.json (or a checkpoint's tensor names) is what the input shows."""
    xl = tmp_path / "models" / "base"
    xl.mkdir(parents=True)
    (xl / "model_index.json").write_text(json.dumps(
        {"_class_name": "StableDiffusionXLPipeline", "text_encoder_2": ["transformers", "x"]}))
    checkpoint_with(tmp_path / "models" / "merged.safetensors",
                    ["cond_stage_model.transformer.text_model.embeddings.x"])
    body = '[network]\nrank = 32\nalpha = 16.0\n[dataset]\nresolution = 1024\n'
    on_xl = write(tmp_path, "xl.toml", f'[model]\nbase = "models/base"\n{body}')
    on_v15 = write(tmp_path, "v15.toml", f'[model]\nbase = "models/merged.safetensors"\n{body}')
    assert not codes(run_doctor([on_xl])[0]) & {"CF101", "CF102"}
    assert {"CF101", "CF102"} <= codes(run_doctor([on_v15])[0])
    # the wizard's path: a RunConfig, the base model resolved the same way
    from loratui.config import RunConfig

    cfg = RunConfig()
    cfg.model.base = str(xl)
    cfg.network.rank, cfg.network.alpha = 32, 16.0
    assert "CF102" not in {d.code for d in diagnose_config(cfg, vram_gb=24)}
    cfg.model.base = str(tmp_path / "models" / "merged.safetensors")
    assert "CF102" in {d.code for d in diagnose_config(cfg, vram_gb=24)}


def test_rule_explanation_shows_each_familys_thresholds_where_they_differ():
    """`loratui rule CODE`: the rule's own figures, then a line per family whose
    `[doctor]` table changes them, in English and in Chinese."""
    from loratui import i18n
    from loratui.doctor.explain import explain_rule

    text = explain_rule(_rule("CF102"))
    assert "Thresholds: max_rank = 16, suggested_rank = 8 (" in text
    assert "Thresholds for SDXL: max_rank = 64, suggested_rank = 32 (" in text
    assert "Thresholds for SD1.5" not in text  # its table repeats the rule's figures
    assert "Thresholds for SDXL: suggested = 1e-05 (" in explain_rule(_rule("CF105"))
    assert "Thresholds for SDXL: native_resolutions = [1024] (" in explain_rule(_rule("CF101"))
    assert "Thresholds for SDXL: small_card_gb = 12.5, max_batch_small_card = 1 (" in \
        explain_rule(_rule("CF110"))
    assert "Thresholds for" not in explain_rule(_rule("CF106"))  # the same for every family
    try:
        i18n.set_language("zh")
        zh = explain_rule(_rule("CF102"))
    finally:
        i18n.set_language(None)
    assert "阈值：max_rank = 16, suggested_rank = 8（" in zh
    assert "SDXL 的阈值：max_rank = 64, suggested_rank = 32（" in zh


def test_rule_json_carries_each_familys_thresholds(capsys):
    """`loratui rule CODE --format json`: the same per-family figures as the text, keyed by
    family id and threshold name (English in any language)."""
    from loratui import i18n
    from loratui.cli import main

    try:
        assert main(["rule", "CF102", "--format", "json", "--lang", "zh"]) == 0
    finally:
        i18n.set_language(None)
    [cf102] = json.loads(capsys.readouterr().out)
    assert cf102["thresholds"] == {"max_rank": 16, "suggested_rank": 8}
    assert cf102["family_thresholds"] == {"sdxl": {"max_rank": 64, "suggested_rank": 32}}
    assert main(["rule", "CF106", "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out)[0]["family_thresholds"] == {}


def test_native_sizes_are_a_threshold_users_can_override(tmp_path):
    """CF101's native sizes come from the family's table, and `--set` changes them."""
    cfg = _kohya(tmp_path, "xl.json", sdxl=True, pretrained_model_name_or_path=SDXL_BASE,
                 max_resolution="896,896", network_dim=32, network_alpha=16)
    from loratui.doctor.engine import Options, diagnose

    def found(overrides):
        return codes(diagnose([str(cfg)], options=Options(overrides=overrides))[0])

    assert "CF101" in found({})
    assert "CF101" not in found({"CF101": {"native_resolutions": [896, 1024]}})
    assert "CF101" not in found({"CF101": {"native_resolutions": 896}})  # --set's one number


def test_chinese_reference_tabulates_the_family_thresholds():
    from loratui.doctor.reference import render

    text = render()
    assert "| 代码 | 阈值 | SD1.5 | SDXL |" in text
    assert "| CF102 | `max_rank` | 16 | 64 |" in text
    assert "| CF118 | `bucket_multiple` | 64 | 32 |" in text
    assert "| CF106 |" not in text.split("## 按模型系列的阈值")[1].split("## ")[0]

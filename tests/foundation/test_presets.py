import pytest

from loratui.config import RunConfig
from loratui.presets import choose, load_presets, next_smaller, parse_vram
from loratui.vram import VramInputs, estimate, lora_param_count

TIERS = (4, 6, 8, 12, 16, 24, 40)


def test_every_tier_and_kind_exists_with_rationale():
    presets = load_presets()
    for gb in TIERS:
        for kind in ("character", "style"):
            match = [p for p in presets if p.min_vram_gb == gb and p.kind == kind and not p.cpu
                     and p.family == "sd15"]
            assert len(match) == 1, (gb, kind)
            p = match[0]
            assert p.rationale and p.label
            for key in ("network.rank", "network.alpha", "training.batch_size",
                        "training.gradient_accumulation", "training.mixed_precision",
                        "training.gradient_checkpointing", "training.attention",
                        "network.train_text_encoder"):
                assert p.get(key) is not None, (p.id, key)
            p.to_config()  # validates against RunConfig
    assert any(p.cpu for p in presets)


SDXL_TIERS = (8, 10, 12, 16, 24, 40)


def test_every_sdxl_tier_and_kind_exists_at_1024():
    presets = [p for p in load_presets() if p.family == "sdxl"]
    assert sorted({p.min_vram_gb for p in presets}) == list(SDXL_TIERS)
    for gb in SDXL_TIERS:
        for kind in ("character", "style"):
            match = [p for p in presets if p.min_vram_gb == gb and p.kind == kind]
            assert len(match) == 1, (gb, kind)
            p = match[0]
            assert p.rationale and p.get("dataset.resolution") == 1024
            cfg = p.to_config()
            assert cfg.model.family == "sdxl" and cfg.training.no_half_vae  # SDXL VAE, P15
            assert p.estimate().fits(gb), p.id


def test_sdxl_small_cards_follow_sd_scripts():
    """sd-scripts' SDXL docs: 8-10 GB = U-Net only, cached text-encoder outputs, gradient
    checkpointing, Adafactor (or an 8-bit optimizer)."""
    for gb in (8, 10):
        p = choose(gb, "character", "sdxl")
        assert p.family == "sdxl" and p.min_vram_gb == gb
        assert p.get("network.train_text_encoder") is False
        assert p.get("training.gradient_checkpointing") is True
        assert p.get("optimizer.name") in ("Adafactor", "AdamW8bit")
        assert p.vram_inputs().cache_text_encoder_outputs
    assert choose(12, "style", "sdxl").id == "sdxl-12gb-style"
    assert choose(80, "character", "sdxl").min_vram_gb == 40
    assert next_smaller(choose(12, "character", "sdxl")).id == "sdxl-10gb-character"


def test_sdxl_estimate_uses_sdxl_parameter_counts():
    sd15 = estimate(VramInputs(resolution=512))
    xl = estimate(VramInputs(resolution=1024, family="sdxl"))
    # fp16 weights: UNet 2.567 B + TE1 123 M + TE2 694.7 M params × 2 bytes
    assert xl.weights_gb == round((2_567_463_684 + 123_060_480 + 694_659_840) * 2 / 2**30, 2)
    assert xl.total_gb > 2 * sd15.total_gb
    cached = estimate(VramInputs(resolution=1024, family="sdxl", train_text_encoder=False,
                                 cache_text_encoder_outputs=True))
    assert cached.weights_gb == round(2_567_463_684 * 2 / 2**30, 2)
    assert lora_param_count(8, True, "sdxl") == 8 * (2_659_840 + 165_888 + 737_280)


def test_8gb_preset_is_the_guides():
    p = choose(8, "character")
    assert p.min_vram_gb == 8
    assert p.get("training.batch_size") == 1 and p.get("training.gradient_accumulation") == 4
    assert p.get("training.mixed_precision") == "fp16"
    assert p.get("training.gradient_checkpointing") is True
    assert p.get("training.attention") in ("sdpa", "xformers")


@pytest.mark.parametrize("vram, tier", [(3.9, 4), (6.0, 6), (7.6, 8), (8, 8), (11.7, 12),
                                        (15.9, 16), (23.6, 24), (80, 40), (2, 4)])
def test_choose_by_card_size(vram, tier):
    assert choose(vram).min_vram_gb == tier


def test_no_gpu_gives_cpu_preset():
    assert choose(None).cpu and choose(0).cpu


def test_next_smaller():
    assert next_smaller(choose(12)).min_vram_gb == 8
    assert next_smaller(choose(4)) is None


def test_parse_vram():
    assert parse_vram("8GB") == 8 and parse_vram("7.6 GiB") == 7.6 and parse_vram("12") == 12
    with pytest.raises(ValueError):
        parse_vram("lots")


def test_estimate_fits_each_tier_and_guide_oom_case():
    for p in load_presets():
        if not p.cpu:
            assert p.estimate().fits(p.min_vram_gb), p.id
    # P12: batch 4 on an 8 GB card runs out of memory.
    assert not estimate(VramInputs(batch_size=4, gradient_checkpointing=False)).fits(8)


def test_estimate_is_monotonic():
    base = estimate(VramInputs()).total_gb
    assert estimate(VramInputs(batch_size=2)).total_gb > base
    assert estimate(VramInputs(resolution=768)).total_gb > base
    assert estimate(VramInputs(gradient_checkpointing=False)).total_gb > base
    assert estimate(VramInputs(mixed_precision="no")).total_gb > base
    assert estimate(VramInputs(attention="eager", gradient_checkpointing=False)).total_gb > \
        estimate(VramInputs(gradient_checkpointing=False)).total_gb


def test_lora_param_count_matches_kohya_rank8_size():
    # A kohya SD1.5 rank-8 LoRA (192 UNet + 72 TE modules) holds 4,718,592 parameters.
    assert lora_param_count(8) == 4_718_592
    assert lora_param_count(8, text_encoder=False) == 8 * 423_936


def test_from_config():
    inp = VramInputs.from_config(RunConfig())
    assert inp.rank == 8 and inp.train_text_encoder


def test_a_config_made_from_a_preset_is_matched_back_to_it():
    from loratui.presets import load_presets, matching

    presets = load_presets()
    for preset in presets:  # (two tiers may hold the same settings: either name is true)
        found = matching(preset.to_config(), presets)
        assert found is not None and found.to_config() == preset.to_config(), preset.id
    assert matching(next(p for p in presets if p.id == "cpu-demo").to_config()).id == "cpu-demo"
    demo = next(p for p in presets if p.id == "cpu-demo").to_config()
    edited = demo.model_copy(update={"network": demo.network.model_copy(update={"rank": 7})})
    assert matching(edited, presets) is None

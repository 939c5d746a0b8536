"""The tiny SD1.5-shaped model: offline, deterministic, loadable by diffusers and by us."""

from __future__ import annotations

import pytest


def test_tokenizer_written_by_us_loads_and_knows_the_trigger(tiny_model):
    from transformers import CLIPTokenizer

    tok = CLIPTokenizer.from_pretrained(str(tiny_model / "tokenizer"))
    assert tok.model_max_length == 77
    assert tok.tokenize("sks, a girl with red hair")[:4] == ["sks</w>", ",</w>", "a</w>",
                                                              "girl</w>"]
    ids = tok("a photo of sks", padding="max_length", max_length=77).input_ids
    assert len(ids) == 77 and ids[0] == tok.bos_token_id


def test_tiny_model_is_sd15_shaped_and_loads_offline(tiny_model):
    import json

    from loratui.train.models import load_components

    comps = load_components(tiny_model)
    names = dict(comps.unet.named_modules())
    for path in ("down_blocks.0.attentions.0.proj_in",
                 "down_blocks.0.attentions.0.transformer_blocks.0.attn2.to_k",
                 "down_blocks.0.attentions.0.transformer_blocks.0.ff.net.0.proj",
                 "up_blocks.1.attentions.0.transformer_blocks.0.attn1.to_out.0"):
        assert path in names
    assert comps.vae.config.scaling_factor == pytest.approx(0.18215)
    assert len(comps.vae.config.block_out_channels) == 4  # 8× downsampling, as SD
    sched = json.loads((tiny_model / "scheduler" / "scheduler_config.json").read_text())
    assert sched["beta_schedule"] == "scaled_linear" and sched["beta_end"] == 0.012
    assert comps.noise_scheduler.config.num_train_timesteps == 1000
    size = sum(f.stat().st_size for f in tiny_model.rglob("*") if f.is_file())
    assert size < 8 * 2**20


def test_tiny_model_build_is_deterministic(tmp_path):
    import hashlib

    from loratui.tiny import build_tiny_model

    a = build_tiny_model(tmp_path / "a")
    b = build_tiny_model(tmp_path / "b")
    digest = [hashlib.sha256((m / "unet" / "diffusion_pytorch_model.safetensors").read_bytes())
              .hexdigest() for m in (a, b)]
    assert digest[0] == digest[1]


def test_model_loading_errors_name_the_path_and_fix(tmp_path, monkeypatch):
    from loratui.train.models import ModelLoadError, load_components

    with pytest.raises(ModelLoadError, match="not found"):
        load_components(tmp_path / "missing")
    (tmp_path / "m.ckpt").write_bytes(b"x")
    with pytest.raises(ModelLoadError, match="pickle"):
        load_components(tmp_path / "m.ckpt")
    (tmp_path / "folder").mkdir()
    with pytest.raises(ModelLoadError, match=r"model_index\.json"):
        load_components(tmp_path / "folder")
    monkeypatch.delenv("LORATUI_CLIP_TOKENIZER", raising=False)
    (tmp_path / "single.safetensors").write_bytes(b"x")
    with pytest.raises(ModelLoadError, match=r"single\.safetensors: "):
        load_components(tmp_path / "single.safetensors")


def test_single_file_checkpoint_loads_offline_with_local_configs(tiny_model, tmp_path,
                                                                 monkeypatch):
    """The tiny model saved the way A1111-era checkpoints are (LDM key names, one file)
    loads through from_single_file(config=local folder), weights identical."""
    import torch
    from ldm_checkpoint import save_ldm_checkpoint

    from loratui.train.models import load_components

    ckpt = save_ldm_checkpoint(tiny_model, tmp_path / "tiny.safetensors")
    monkeypatch.setenv("LORATUI_CLIP_TOKENIZER", str(tiny_model / "tokenizer"))
    single = load_components(ckpt, config_dir=tiny_model)
    folder = load_components(tiny_model)
    for name in ("unet", "vae", "text_encoder"):
        a, b = getattr(folder, name).state_dict(), getattr(single, name).state_dict()
        assert a.keys() == b.keys()
        assert all(torch.equal(a[k], b[k]) for k in a), name
    assert single.tokenizer("sks").input_ids == folder.tokenizer("sks").input_ids
    assert single.noise_scheduler.config.num_train_timesteps == 1000

"""The Start step's SD1.5 check (loratui.basemodel) on real folders and safetensors headers."""

from __future__ import annotations

from loratui.basemodel import check_base_model
from tests.model_files import checkpoint_with, diffusers_folder


def sd_folder(root, dim, extra=None):
    """A diffusers SD folder whose UNet has this cross-attention width."""
    return diffusers_folder(root, {"_class_name": "StableDiffusionPipeline"},
                            {"cross_attention_dim": dim, **(extra or {})})


def test_diffusers_folders_by_cross_attention(tmp_path) -> None:
    assert check_base_model(sd_folder(tmp_path / "a", 768)).ok is True
    sd2 = check_base_model(sd_folder(tmp_path / "b", 1024))
    assert sd2.ok is False and sd2.family == "sd2" and "SD1.5" in sd2.message
    xl = check_base_model(sd_folder(tmp_path / "c", 2048,
                                           {"addition_embed_type": "text_time"}))
    assert xl.family == "sdxl"


def test_single_file_checkpoints_by_tensor_names(tmp_path) -> None:
    sd15 = checkpoint_with(tmp_path / "v1.safetensors",
                           ["model.diffusion_model.out.2.bias", "first_stage_model.quant_conv.bias",
                            "cond_stage_model.transformer.text_model.embeddings.x"])
    assert check_base_model(sd15).ok is True
    xl = checkpoint_with(tmp_path / "xl.safetensors", ["conditioner.embedders.1.model.x"])
    assert check_base_model(xl).family == "sdxl"


def test_refusals_and_unknowns(tmp_path) -> None:
    assert check_base_model(tmp_path / "missing").ok is False
    (tmp_path / "m.ckpt").write_bytes(b"\x80\x02")
    assert "pickle" in check_base_model(tmp_path / "m.ckpt").message
    (tmp_path / "empty").mkdir()
    assert "model_index.json" in check_base_model(tmp_path / "empty").message
    odd = sd_folder(tmp_path / "odd", 320)
    assert check_base_model(odd).ok is None

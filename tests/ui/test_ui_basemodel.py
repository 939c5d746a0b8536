"""The Start step's SD1.5 check (loratui.basemodel) on real folders and safetensors headers."""

from __future__ import annotations

import json
import struct

from loratui.basemodel import check_base_model


def diffusers_folder(root, dim, extra=None):
    (root / "unet").mkdir(parents=True)
    (root / "model_index.json").write_text(json.dumps({"_class_name": "StableDiffusionPipeline"}))
    (root / "unet" / "config.json").write_text(json.dumps({"cross_attention_dim": dim,
                                                            **(extra or {})}))
    return root


def safetensors_with(path, names):
    header = {n: {"dtype": "F16", "shape": [1], "data_offsets": [2 * i, 2 * i + 2]}
              for i, n in enumerate(names)}
    blob = json.dumps(header).encode()
    path.write_bytes(struct.pack("<Q", len(blob)) + blob + b"\0\0" * len(names))
    return path


def test_diffusers_folders_by_cross_attention(tmp_path) -> None:
    assert check_base_model(diffusers_folder(tmp_path / "a", 768)).ok is True
    sd2 = check_base_model(diffusers_folder(tmp_path / "b", 1024))
    assert sd2.ok is False and sd2.family == "sd2" and "SD1.5" in sd2.message
    xl = check_base_model(diffusers_folder(tmp_path / "c", 2048,
                                           {"addition_embed_type": "text_time"}))
    assert xl.family == "sdxl"


def test_single_file_checkpoints_by_tensor_names(tmp_path) -> None:
    sd15 = safetensors_with(tmp_path / "v1.safetensors",
                            ["cond_stage_model.transformer.text_model.embeddings.x"])
    assert check_base_model(sd15).ok is True
    xl = safetensors_with(tmp_path / "xl.safetensors", ["conditioner.embedders.1.model.x"])
    assert check_base_model(xl).family == "sdxl"


def test_refusals_and_unknowns(tmp_path) -> None:
    assert check_base_model(tmp_path / "missing").ok is False
    (tmp_path / "m.ckpt").write_bytes(b"\x80\x02")
    assert "pickle" in check_base_model(tmp_path / "m.ckpt").message
    (tmp_path / "empty").mkdir()
    assert "model_index.json" in check_base_model(tmp_path / "empty").message
    odd = diffusers_folder(tmp_path / "odd", 320)
    assert check_base_model(odd).ok is None

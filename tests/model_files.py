"""Base-model files as small as a check that reads only their layout needs: a diffusers
folder (model_index.json and the UNet's config) and a single-file checkpoint whose header
names the tensors (one F16 zero each)."""

from __future__ import annotations

import json
import struct
from pathlib import Path

TRIGGER = "sks"  # the trigger word the tiny models (loratui.tiny) have as a single token


def diffusers_folder(root: Path, index: dict, unet_config: dict) -> Path:
    """`root` with model_index.json = `index` and unet/config.json = `unet_config`, and the
    other parts' folders a complete download has (empty: no weights)."""
    xl = str(index.get("_class_name", "")).startswith("StableDiffusionXL") or \
        unet_config.get("addition_embed_type") == "text_time"
    for part in ("unet", "vae", "scheduler", "text_encoder", "tokenizer",
                 *(("text_encoder_2", "tokenizer_2") if xl else ())):
        (root / part).mkdir(parents=True)
    (root / "model_index.json").write_text(json.dumps(index))
    (root / "unet" / "config.json").write_text(json.dumps(unet_config))
    return root


def checkpoint_with(path: Path, names: list[str]) -> Path:
    """A .safetensors file holding a one-element F16 tensor for each of `names`."""
    header = {n: {"dtype": "F16", "shape": [1], "data_offsets": [2 * i, 2 * i + 2]}
              for i, n in enumerate(names)}
    blob = json.dumps(header).encode()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(struct.pack("<Q", len(blob)) + blob + b"\0\0" * len(names))
    return path

"""What a diffusers model folder says about itself, read from its small JSON files: its
family and its native size. Only `os`, `json` and the families' data table: the doctor reads these at start-up."""

from __future__ import annotations

import json
import os

from loratui.familydata import family_of_cross_attention


def read_json(path: str | os.PathLike) -> dict:
    """A JSON object from `path`; {} when it is missing, unreadable or not an object."""
    try:
        with open(path, encoding="utf-8") as fh:
            data = json.load(fh)
        return data if isinstance(data, dict) else {}
    except (OSError, ValueError, RecursionError):
        return {}


def folder_family_source(folder: str | os.PathLike) -> tuple[str | None, str]:
    """A diffusers folder's family and the file that tells it."""
    folder = os.fspath(folder)
    index = read_json(os.path.join(folder, "model_index.json"))
    if str(index.get("_class_name", "")).startswith("StableDiffusionXL") \
            or "text_encoder_2" in index:
        return "sdxl", "model_index.json"
    unet = read_json(os.path.join(folder, "unet", "config.json"))
    dim = unet.get("cross_attention_dim")
    if isinstance(dim, list):
        dim = dim[0] if dim else None
    if unet.get("addition_embed_type") == "text_time":
        return "sdxl", "unet/config.json"
    family = family_of_cross_attention(dim)
    return (family, "unet/config.json") if family else (None, "")


def native_resolution(folder: str | os.PathLike) -> int | None:
    """The square size a diffusers model folder was trained at, as its pipeline defaults to:
    the UNet's `sample_size` (latent) times the VAE's downscale, 2 ** (levels - 1) — 512 for
    SD1.5, 1024 for SDXL, 64 for loratui's tiny demo model. None when the folder does not say."""
    folder = os.fspath(folder)
    sample = read_json(os.path.join(folder, "unet", "config.json")).get("sample_size")
    levels = read_json(os.path.join(folder, "vae", "config.json")).get("block_out_channels")
    if isinstance(sample, list):
        sample = sample[0] if sample else None
    if not isinstance(sample, int) or sample <= 0 or not isinstance(levels, list) or not levels:
        return None
    return sample * 2 ** (len(levels) - 1)

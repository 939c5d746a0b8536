"""Is this path a Stable Diffusion 1.5 base model? Reads headers and configs only.

A diffusers folder is judged by `model_index.json` and `unet/config.json`
(`cross_attention_dim` 768 = SD1.x, 1024 = SD2.x, 2048 with added embeddings = SDXL);
a single `.safetensors` checkpoint by its tensor names (`loratui.lora.reader`).
Pickle checkpoints are named as such and never opened. Never raises.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

FAMILY_NAMES = {"sd15": "SD1.5", "sd2": "SD2.x", "sdxl": "SDXL"}
PICKLE_SUFFIXES = (".ckpt", ".pt", ".pth", ".bin")


@dataclass(frozen=True)
class BaseModelCheck:
    ok: bool | None  # True: SD1.5; False: not usable; None: cannot tell
    family: str | None
    message: str


def _read_json(path: Path) -> dict:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return data if isinstance(data, dict) else {}
    except (OSError, ValueError):
        return {}


def folder_family(folder: Path) -> str | None:
    unet = _read_json(folder / "unet" / "config.json")
    dim = unet.get("cross_attention_dim")
    if isinstance(dim, list):
        dim = dim[0] if dim else None
    if unet.get("addition_embed_type") == "text_time" or dim == 2048:
        return "sdxl"
    if dim == 1024:
        return "sd2"
    if dim == 768:
        return "sd15"
    return None


def native_resolution(folder: Path | str) -> int | None:
    """The square size a diffusers model folder was trained at, as its pipeline defaults to:
    the UNet's `sample_size` (latent) times the VAE's downscale, 2 ** (levels - 1) — 512 for
    SD1.5, 1024 for SDXL, 64 for loratui's tiny demo model. None when the folder does not say."""
    folder = Path(folder)
    sample = _read_json(folder / "unet" / "config.json").get("sample_size")
    levels = _read_json(folder / "vae" / "config.json").get("block_out_channels")
    if isinstance(sample, list):
        sample = sample[0] if sample else None
    if not isinstance(sample, int) or sample <= 0 or not isinstance(levels, list) or not levels:
        return None
    return sample * 2 ** (len(levels) - 1)


def check_base_model(path: Path | str) -> BaseModelCheck:
    path = Path(path).expanduser()
    if not path.exists():
        return BaseModelCheck(False, None, f"{path} does not exist")
    if path.is_dir():
        index = _read_json(path / "model_index.json")
        if not index:
            return BaseModelCheck(False, None, f"{path} has no model_index.json: not a "
                                  "diffusers model folder")
        if (path / "loratui_tiny.json").is_file():  # loratui.tiny's marker
            return BaseModelCheck(True, "sd15", "✓ the tiny SD1.5-shaped demo model (CPU "
                                  "demos and tests; real LoRAs need a real SD1.5)")
        family = folder_family(path)
        kind = "diffusers folder"
    elif path.suffix.lower() in PICKLE_SUFFIXES:
        return BaseModelCheck(False, None, f"{path.name} is a pickle checkpoint: it can run code "
                              "when loaded and is refused; convert it to .safetensors")
    elif path.suffix.lower() == ".safetensors":
        from loratui.lora.reader import checkpoint_family

        family = checkpoint_family(path)
        kind = "single-file checkpoint"
    else:
        return BaseModelCheck(False, None, f"{path.name}: not a diffusers folder nor a "
                              ".safetensors checkpoint")
    if family == "sd15":
        return BaseModelCheck(True, family, f"✓ SD1.5 {kind}")
    if family is not None:
        return BaseModelCheck(False, family, f"{FAMILY_NAMES[family]} {kind}: loratui trains "
                              "SD1.5 LoRAs only; pick an SD1.5 model (P3)")
    return BaseModelCheck(None, None, f"{kind}: cannot tell which model family it is; training "
                          "will fail if it is not SD1.5")

"""Load the base model's parts offline: a diffusers folder or a single-file checkpoint."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from loratui.resources import data_dir
from loratui.train.quiet import quiet_libraries, set_quiet_env


class ModelLoadError(Exception):
    """The base model cannot be loaded; the message names the path and the fix."""


@dataclass
class Components:
    unet: Any
    vae: Any
    text_encoder: Any
    tokenizer: Any
    noise_scheduler: Any  # DDPMScheduler for training (as diffusers' example does)
    scheduler_config: dict  # the model's own inference scheduler config, for samples
    source: str = ""


SINGLE_FILE_SUFFIXES = (".safetensors",)
PICKLE_SUFFIXES = (".ckpt", ".pt", ".pth", ".bin")


def sd15_config_dir() -> Path:
    """Shipped SD1.5 component configs (no weights): `data/sd15/`."""
    return data_dir("data") / "sd15"


def load_components(base: str | Path, *, config_dir: Path | str | None = None) -> Components:
    """Load UNet, VAE, CLIP text encoder, tokenizer and noise scheduler from a local path.

    `config_dir`: diffusers component configs for a single-file checkpoint (default: the
    shipped SD1.5 configs, `data/sd15/`)."""
    set_quiet_env()
    path = Path(base).expanduser()
    if not str(base):
        raise ModelLoadError("model.base is empty: set it to a diffusers folder or a "
                             ".safetensors checkpoint")
    if not path.exists():
        raise ModelLoadError(f"{path}: base model not found (model.base must be a local "
                             "diffusers folder or a .safetensors file; nothing is downloaded)")
    from loratui.basemodel import weights_problem

    problem = weights_problem(path)     # safetensors only, checked from the headers
    if problem:
        raise ModelLoadError(problem)
    if path.is_dir():
        return _load_folder(path)
    if path.suffix.lower() in PICKLE_SUFFIXES:
        raise ModelLoadError(f"{path}: pickle checkpoints ({path.suffix}) can run code when "
                             "loaded and are refused; convert it to .safetensors first")
    if path.suffix.lower() in SINGLE_FILE_SUFFIXES:
        return _load_single_file(path, Path(config_dir) if config_dir else sd15_config_dir())
    raise ModelLoadError(f"{path}: not a diffusers folder (model_index.json) nor a "
                         ".safetensors checkpoint")


def _load_folder(path: Path) -> Components:
    if not (path / "model_index.json").is_file():
        raise ModelLoadError(f"{path}: no model_index.json — not a diffusers model folder")
    from diffusers import AutoencoderKL, DDPMScheduler, UNet2DConditionModel
    from transformers import CLIPTextModel, CLIPTokenizer

    quiet_libraries()
    # safetensors only: a folder that also ships .bin pickles never has them read
    kw = {"local_files_only": True, "use_safetensors": True}
    try:
        text_encoder = CLIPTextModel.from_pretrained(path, subfolder="text_encoder", **kw)
        return Components(
            unet=UNet2DConditionModel.from_pretrained(path, subfolder="unet", **kw),
            vae=AutoencoderKL.from_pretrained(path, subfolder="vae", **kw),
            text_encoder=text_encoder,
            tokenizer=_fit(CLIPTokenizer.from_pretrained(path, subfolder="tokenizer", **kw),
                           text_encoder),
            noise_scheduler=DDPMScheduler.from_pretrained(path, subfolder="scheduler", **kw),
            scheduler_config=_read_json(path / "scheduler" / "scheduler_config.json"),
            source=str(path),
        )
    except (OSError, ValueError) as exc:
        raise ModelLoadError(f"{path}: cannot load the diffusers model ({exc})") from None


def _fit(tokenizer, text_encoder):
    """Cap the tokenizer at the encoder's positions (a tokenizer saying 8192 would pad
    captions past them and stop training at its first step)."""
    from loratui.clip_tokenizer import cap_max_length

    return cap_max_length(tokenizer, getattr(text_encoder.config, "max_position_embeddings",
                                             None))


def find_clip_tokenizer(checkpoint: Path) -> Path | None:
    """A user's own CLIP tokenizer for a single-file checkpoint: $LORATUI_CLIP_TOKENIZER, or a
    `tokenizer/` folder beside the file. None: the shipped CLIP vocabulary serves (SD1.5 has
    no other)."""
    candidates = []
    if os.environ.get("LORATUI_CLIP_TOKENIZER"):
        candidates.append(Path(os.environ["LORATUI_CLIP_TOKENIZER"]).expanduser())
    candidates += [checkpoint.parent / "tokenizer", checkpoint.with_suffix("") / "tokenizer"]
    for cand in candidates:
        if (cand / "vocab.json").is_file() or (cand / "tokenizer.json").is_file():
            return cand
    return None


def single_file_tokenizer(checkpoint: Path):
    from loratui.clip_tokenizer import clip_tokenizer

    tok_dir = find_clip_tokenizer(checkpoint)
    if tok_dir is None:
        return clip_tokenizer()
    from transformers import CLIPTokenizer

    try:
        return CLIPTokenizer.from_pretrained(tok_dir, local_files_only=True)
    except (OSError, ValueError) as exc:
        raise ModelLoadError(f"{tok_dir}: cannot load this CLIP tokenizer ({exc}); remove it "
                             "(or unset LORATUI_CLIP_TOKENIZER) to use the built-in one") \
            from None


def _load_single_file(path: Path, config: Path) -> Components:
    from diffusers import DDPMScheduler, StableDiffusionPipeline

    quiet_libraries()
    tokenizer = single_file_tokenizer(path)
    try:
        pipe = StableDiffusionPipeline.from_single_file(
            str(path), config=str(config), local_files_only=True, tokenizer=tokenizer,
            safety_checker=None, feature_extractor=None, requires_safety_checker=False)
    except (OSError, ValueError, KeyError, RuntimeError) as exc:
        raise ModelLoadError(f"{path}: cannot load the single-file checkpoint as SD1.5 ({exc})") \
            from None
    sched_cfg = dict(pipe.scheduler.config)
    return Components(unet=pipe.unet, vae=pipe.vae, text_encoder=pipe.text_encoder,
                      tokenizer=_fit(pipe.tokenizer, pipe.text_encoder),
                      noise_scheduler=DDPMScheduler.from_config(sched_cfg),
                      scheduler_config=sched_cfg, source=str(path))


def _read_json(path: Path) -> dict:
    import json

    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError, RecursionError):
        return {}
    return data if isinstance(data, dict) else {}


def meta_sd15(text_encoder: bool = True):
    """Full-size SD1.5 UNet (and CLIP text encoder) built from the shipped configs on the
    meta device: the real module layout, no weights, no memory."""
    import json

    import torch
    from diffusers import UNet2DConditionModel

    cfg_dir = sd15_config_dir()
    unet_cfg = json.loads((cfg_dir / "unet" / "config.json").read_text())
    with torch.device("meta"):
        unet = UNet2DConditionModel.from_config(unet_cfg)
        te = None
        if text_encoder:
            from transformers import CLIPTextConfig, CLIPTextModel

            te = CLIPTextModel(CLIPTextConfig.from_json_file(cfg_dir / "text_encoder" /
                                                             "config.json"))
    return unet, te

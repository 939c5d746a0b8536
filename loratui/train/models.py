"""Load the base model's parts offline: a diffusers folder or a single-file checkpoint.

What to load (how many text encoders, which classes, which shipped configs) comes from the
model's `Family`; the same code loads SD1.5 and SDXL.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from loratui.i18n import N_, Message, message_of
from loratui.modelfolder import read_json
from loratui.resources import data_dir
from loratui.train.quiet import quiet_libraries, set_quiet_env


class ModelLoadError(Exception):
    """The base model cannot be loaded; the message names the path and the fix."""


@dataclass
class Components:
    unet: Any
    vae: Any
    text_encoders: list[Any]
    tokenizers: list[Any]
    noise_scheduler: Any  # DDPMScheduler for training (as diffusers' example does)
    scheduler_config: dict  # the model's own inference scheduler config, for samples
    source: str = ""
    family: Any = field(default=None)  # loratui.families.Family

    @property
    def text_encoder(self):
        return self.text_encoders[0]

    @property
    def tokenizer(self):
        return self.tokenizers[0]

    def pipeline_parts(self) -> dict[str, Any]:
        """Text encoders and tokenizers under their pipeline names (text_encoder_2 …)."""
        parts: dict[str, Any] = {}
        for slot, te, tok in zip(self.family.text_encoders, self.text_encoders, self.tokenizers,
                                 strict=True):
            parts[slot.attr] = te
            parts[slot.tokenizer] = tok
        return parts


SINGLE_FILE_SUFFIXES = (".safetensors",)


def sd15_config_dir() -> Path:
    """Shipped SD1.5 component configs (no weights): `data/sd15/`."""
    return data_dir("data") / "sd15"


def load_components(base: str | Path, *, config_dir: Path | str | None = None,
                    family=None, vae: str | Path | None = None) -> Components:
    """Load UNet, VAE, text encoder(s), tokenizer(s) and noise scheduler from a local path.

    `family`: a `Family` (default: detected from the base model). `config_dir`: diffusers
    component configs for a single-file checkpoint (default: the family's shipped configs).
    `vae`: a separate VAE (diffusers folder or .safetensors), e.g. SDXL's fp16-fixed VAE."""
    set_quiet_env()
    path = Path(base).expanduser()
    if not str(base):
        raise ModelLoadError(Message(N_("model.base is empty: set it to a diffusers folder or "
                                        "a .safetensors checkpoint")))
    if not path.exists():
        raise ModelLoadError(Message(N_("{path}: base model not found (model.base must be a "
                                        "local diffusers folder or a .safetensors file; "
                                        "nothing is downloaded)"), path=str(path)))
    from loratui.basemodel import weights_problem

    problem = weights_problem(path)     # safetensors only, checked from the headers
    if problem:
        raise ModelLoadError(problem)
    if family is None:
        from loratui import families

        try:
            family = families.resolve(path)
        except families.FamilyError as exc:
            raise ModelLoadError(message_of(exc)) from None
    if path.is_dir():
        comps = _load_folder(path, family)
        if vae:
            comps.vae = load_vae(vae)
    elif path.suffix.lower() in SINGLE_FILE_SUFFIXES:
        if config_dir is None:      # the family's standard configs: the file must fit them
            from loratui.basemodel import layout_problem
            from loratui.checkpoint import inspect

            info = inspect(path)
            problem = layout_problem(path, info) if info else None
            if problem:
                raise ModelLoadError(problem)
        # a separate VAE goes in before the file is read: a checkpoint without a baked VAE
        # loads only with one
        comps = _load_single_file(path, family, Path(config_dir) if config_dir
                                  else family.config_dir, vae=load_vae(vae) if vae else None)
    else:
        raise ModelLoadError(Message(N_("{path}: not a diffusers folder (model_index.json) "
                                        "nor a .safetensors checkpoint"), path=str(path)))
    return comps


def _classes(family):
    import transformers
    from diffusers import AutoencoderKL, DDPMScheduler, UNet2DConditionModel

    te_classes = [getattr(transformers, slot.cls) for slot in family.text_encoders]
    return AutoencoderKL, DDPMScheduler, UNet2DConditionModel, te_classes


def _load_folder(path: Path, family=None) -> Components:
    if not (path / "model_index.json").is_file():
        raise ModelLoadError(Message(N_("{path}: no model_index.json — not a diffusers model "
                                        "folder"), path=str(path)))
    if family is None:
        from loratui import families

        detected = families.detect(path)
        family = families.get(detected if detected in families.ids() else "sd15")
    from transformers import CLIPTokenizer

    quiet_libraries()
    AutoencoderKL, DDPMScheduler, UNet2DConditionModel, te_classes = _classes(family)
    from loratui.basemodel import WEIGHT_PARTS, weight_variant

    # safetensors only: a folder that also ships .bin pickles never has them read
    kw = {"local_files_only": True, "use_safetensors": True}

    def weights(part: str) -> dict:     # the hub's fp16-only folders load as variant="fp16"
        return {**kw, "variant": weight_variant(path / part, WEIGHT_PARTS[part])}

    try:
        text_encoders = [cls.from_pretrained(path, subfolder=slot.attr, **weights(slot.attr))
                         for cls, slot in zip(te_classes, family.text_encoders, strict=True)]
        return Components(
            unet=UNet2DConditionModel.from_pretrained(path, subfolder="unet", **weights("unet")),
            vae=AutoencoderKL.from_pretrained(path, subfolder="vae", **weights("vae")),
            text_encoders=text_encoders,
            tokenizers=[_fit(CLIPTokenizer.from_pretrained(path, subfolder=slot.tokenizer, **kw),
                             te) for slot, te in zip(family.text_encoders, text_encoders,
                                                     strict=True)],
            noise_scheduler=DDPMScheduler.from_pretrained(path, subfolder="scheduler", **kw),
            scheduler_config=read_json(path / "scheduler" / "scheduler_config.json"),
            source=str(path), family=family,
        )
    except (OSError, ValueError) as exc:
        raise ModelLoadError(Message(N_("{path}: cannot load the diffusers {family} model "
                                        "({error})"), path=str(path), family=family.label,
                                     error=str(exc))) from None


def load_vae(vae: str | Path):
    """A separate VAE: a diffusers folder (config.json or vae/) or a .safetensors file."""
    from diffusers import AutoencoderKL

    from loratui.basemodel import PICKLE_SUFFIXES, pickle_problem

    path = Path(vae).expanduser()
    try:
        if path.is_dir():
            sub = "vae" if (path / "vae" / "config.json").is_file() else None
            return AutoencoderKL.from_pretrained(path, subfolder=sub, local_files_only=True)
        if path.suffix.lower() in PICKLE_SUFFIXES:
            raise ModelLoadError(pickle_problem(path))
        if path.suffix.lower() == ".safetensors" and path.is_file():
            return AutoencoderKL.from_single_file(str(path), local_files_only=True)
    except (OSError, ValueError, KeyError, RuntimeError) as exc:
        raise ModelLoadError(Message(N_("{path}: cannot load the VAE ({error})"),
                                     path=str(path), error=str(exc))) from None
    raise ModelLoadError(Message(N_("{path}: model.vae must be a diffusers VAE folder or a "
                                    ".safetensors file"), path=str(path)))


def _fit(tokenizer, text_encoder):
    """Cap the tokenizer at the encoder's positions (a tokenizer saying 8192 would pad
    captions past them and stop training at its first step)."""
    from loratui.clip_tokenizer import cap_max_length

    return cap_max_length(tokenizer, getattr(text_encoder.config, "max_position_embeddings",
                                             None))


def find_clip_tokenizer(checkpoint: Path) -> Path | None:
    """A user's own CLIP tokenizer for a single-file checkpoint: $LORATUI_CLIP_TOKENIZER, or a
    `tokenizer/` folder beside the file. None: the shipped CLIP vocabulary serves (SD1.5 and
    both SDXL tokenizers share it)."""
    candidates = []
    if os.environ.get("LORATUI_CLIP_TOKENIZER"):
        candidates.append(Path(os.environ["LORATUI_CLIP_TOKENIZER"]).expanduser())
    candidates += [checkpoint.parent / "tokenizer", checkpoint.with_suffix("") / "tokenizer"]
    for cand in candidates:
        if (cand / "vocab.json").is_file() or (cand / "tokenizer.json").is_file():
            return cand
    return None


def single_file_tokenizer(checkpoint: Path, pad_token: str | None = None):
    """The CLIP tokenizer for a single-file checkpoint: the user's own, else the shipped CLIP
    vocabulary. `pad_token="!"` gives SDXL's second tokenizer."""
    from loratui.clip_tokenizer import EOS, clip_tokenizer

    tok_dir = find_clip_tokenizer(checkpoint)
    if tok_dir is None:
        return clip_tokenizer(pad_token=pad_token or EOS)
    from transformers import CLIPTokenizer

    kw = {"pad_token": pad_token} if pad_token else {}
    try:
        return CLIPTokenizer.from_pretrained(tok_dir, local_files_only=True, **kw)
    except (OSError, ValueError) as exc:
        raise ModelLoadError(Message(N_("{path}: cannot load this CLIP tokenizer ({error}); "
                                        "remove it (or unset LORATUI_CLIP_TOKENIZER) to use "
                                        "the built-in one"), path=str(tok_dir),
                                     error=str(exc))) from None


def single_file_tokenizers(checkpoint: Path, family) -> dict[str, Any]:
    """Every tokenizer the family needs, from one CLIP BPE vocabulary (SDXL's two tokenizers
    share CLIP's vocabulary; the second pads with "!")."""
    return {slot.tokenizer: single_file_tokenizer(checkpoint, slot.pad_token)
            for slot in family.text_encoders}


def _load_single_file(path: Path, family, config: Path, vae=None) -> Components:
    from diffusers import DDPMScheduler
    from diffusers.loaders.single_file_utils import SingleFileComponentError

    quiet_libraries()
    tokenizers = single_file_tokenizers(path, family)
    extra = ({"safety_checker": None, "feature_extractor": None,
              "requires_safety_checker": False} if family.pipeline == "StableDiffusionPipeline"
             else {})
    if vae is not None:
        extra["vae"] = vae
    try:
        pipe = family.pipeline_class().from_single_file(
            str(path), config=str(config), local_files_only=True, **tokenizers, **extra)
    except (OSError, ValueError, KeyError, RuntimeError, SingleFileComponentError) as exc:
        raise ModelLoadError(Message(N_("{path}: cannot load the single-file checkpoint as "
                                        "{family} ({error})"), path=str(path),
                                     family=family.label, error=str(exc))) from None
    sched_cfg = dict(pipe.scheduler.config)
    return Components(unet=pipe.unet, vae=pipe.vae,
                      text_encoders=[getattr(pipe, s.attr) for s in family.text_encoders],
                      tokenizers=[_fit(getattr(pipe, s.tokenizer), getattr(pipe, s.attr))
                                  for s in family.text_encoders],
                      noise_scheduler=DDPMScheduler.from_config(sched_cfg),
                      scheduler_config=sched_cfg, source=str(path), family=family)


def meta_models(family, text_encoders: bool = True):
    """Full-size UNet and text encoders of `family`, built from the shipped configs on the
    meta device: the real module layout, no weights, no memory. Returns (unet, [te, …])."""
    import json

    import torch
    import transformers
    from diffusers import UNet2DConditionModel

    cfg_dir = family.config_dir
    unet_cfg = json.loads((cfg_dir / "unet" / "config.json").read_text())
    with torch.device("meta"):
        unet = UNet2DConditionModel.from_config(unet_cfg)
        tes = []
        if text_encoders:
            for slot in family.text_encoders:
                config = transformers.CLIPTextConfig.from_json_file(cfg_dir / slot.attr /
                                                                    "config.json")
                tes.append(getattr(transformers, slot.cls)(config))
    return unet, tes


def meta_sd15(text_encoder: bool = True):
    """Full-size SD1.5 UNet (and CLIP text encoder) on the meta device."""
    from loratui.families import get

    unet, tes = meta_models(get("sd15"), text_encoder)
    return unet, (tes[0] if tes else None)

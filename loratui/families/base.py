"""The `Family` noun: what differs between model families, read from `data/<id>/family.toml`.

A family module (`sd15.py`, `sdxl.py`) subclasses `Family` only where code must differ
(loading, text conditioning, kohya's UNet naming); everything else is data. Nothing here
imports torch / diffusers at import time.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from loratui import familydata
from loratui.resources import data_dir


@dataclass(frozen=True)
class TextEncoderSlot:
    """One text encoder of a family, in pipeline order."""
    attr: str  # pipeline attribute: text_encoder / text_encoder_2
    tokenizer: str  # tokenizer / tokenizer_2
    cls: str  # transformers class name
    params: int
    kohya_prefix: str  # lora_te / lora_te1 / lora_te2
    kohya_modules: int  # LoRA modules kohya creates on the full-size encoder
    lora_in_out: int  # Σ(in + out features) over those modules; LoRA params = rank × this
    pad_token: str


@dataclass(frozen=True)
class VramTerms:
    """Per-family activation terms of the analytic estimate (ESTIMATES until measured)."""
    act_per_image_gb: float
    eager_extra_gb: float
    checkpointing_divisor: float
    text_encoder_act_gb: float
    vae_encode_act_gb: float


@dataclass(frozen=True)
class Family:
    id: str
    label: str
    pipeline: str
    native_resolution: int
    bucket_step: int
    tiny_resolution: int
    unet_params: int
    unet_kohya_prefix: str
    unet_kohya_naming: str
    unet_kohya_modules: int
    unet_lora_in_out: int
    text_encoders: tuple[TextEncoderSlot, ...]
    vae_params: int
    ss_base_model_version: str
    ss_base_model_version_v: str
    modelspec_architecture: str
    lbw_layouts: dict[int, tuple[str, ...]]
    vram: VramTerms
    doctor: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_data(cls, family_id: str) -> Family:
        d = familydata.table(family_id)
        if d is None:
            raise FileNotFoundError(f"no family data: {familydata.table_path(family_id)}")
        fam, unet, exp = d["family"], d["unet"], d["export"]
        tes = tuple(TextEncoderSlot(t["attr"], t["tokenizer"], t["class"], int(t["params"]),
                                    t["kohya_prefix"], int(t["kohya_modules"]),
                                    int(t["lora_in_out"]), t["pad_token"])
                    for t in d["text_encoders"])
        return cls(
            id=fam["id"], label=fam["label"], pipeline=fam["pipeline"],
            native_resolution=int(fam["native_resolution"]),
            bucket_step=int(fam["bucket_step"]), tiny_resolution=int(fam["tiny_resolution"]),
            unet_params=int(unet["params"]), unet_kohya_prefix=unet["kohya_prefix"],
            unet_kohya_naming=unet["kohya_naming"], unet_kohya_modules=int(unet["kohya_modules"]),
            unet_lora_in_out=int(unet["lora_in_out"]),
            text_encoders=tes, vae_params=int(d["vae"]["params"]),
            ss_base_model_version=exp["ss_base_model_version"],
            ss_base_model_version_v=exp["ss_base_model_version_v"],
            modelspec_architecture=exp["modelspec_architecture"],
            lbw_layouts={int(k): tuple(v) for k, v in d.get("lbw", {}).items()},
            vram=VramTerms(**d["vram"]), doctor=familydata.doctor_thresholds(family_id) or {},
        )

    # ------------------------------------------------------------------ data views
    @property
    def config_dir(self) -> Path:
        """Shipped diffusers component configs (no weights): `data/<id>/`."""
        return data_dir("data") / self.id

    @property
    def text_encoder_params(self) -> int:
        return sum(t.params for t in self.text_encoders)

    @property
    def kohya_prefixes(self) -> tuple[str, ...]:
        return (self.unet_kohya_prefix, *(t.kohya_prefix for t in self.text_encoders))

    def lora_param_count(self, rank: int, text_encoders: bool = True) -> int:
        """Trainable LoRA parameters at `rank` on kohya's modules of the full-size model."""
        te = sum(t.lora_in_out for t in self.text_encoders) if text_encoders else 0
        return rank * (self.unet_lora_in_out + te)

    def base_model_version(self, v_prediction: bool) -> str:
        return self.ss_base_model_version_v if v_prediction else self.ss_base_model_version

    # ------------------------------------------------------------------ kohya names
    def kohya_unet_path(self, path: str) -> str:
        """kohya's module path for a diffusers UNet module path (identity for SD1.x)."""
        return path

    def kohya_module_name(self, prefix: str, path: str) -> str:
        """`lora_unet_…` / `lora_te…_text_model_…` name of a LoRA'd module."""
        if prefix == self.unet_kohya_prefix:
            path = self.kohya_unet_path(path)
        elif not path.startswith("text_model."):
            path = "text_model." + path  # transformers 5.x dropped this level from the paths
        return f"{prefix}_{path}".replace(".", "_")

    # ------------------------------------------------------------------ code hooks
    def load(self, base: str | Path, *, vae: str | Path | None = None):
        """UNet, VAE, text encoders, tokenizers and noise scheduler from a local path."""
        from loratui.train.models import load_components

        return load_components(base, family=self, vae=vae)

    def conditioner(self, components):
        """Turns captions into the UNet's conditioning (family-specific)."""
        raise NotImplementedError

    def meta_models(self, text_encoders: bool = True):
        """Full-size UNet (and text encoders) from the shipped configs on the meta device."""
        from loratui.train.models import meta_models

        return meta_models(self, text_encoders)

    def pipeline_class(self):
        import diffusers

        return getattr(diffusers, self.pipeline)

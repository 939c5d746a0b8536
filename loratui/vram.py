"""Analytic GPU-memory estimate for LoRA training, per model family (SD1.5, SDXL).

    total = (weights + lora_state + activations + vae + fixed_overhead) × (1 + fragmentation)

- weights: frozen UNet and text encoders in the compute dtype (2 bytes for fp16/bf16,
  4 for fp32); text encoders leave the GPU when their outputs are cached (frozen encoders,
  fixed captions); the VAE only when latents are not cached (fp32 with no_half_vae).
- lora_state: trainable LoRA parameters in fp32 × (weight + grad + optimizer state):
  16 bytes/param for AdamW, 10 for AdamW8bit, 12 for Adafactor. Parameter counts come
  from the family's exact module shapes (`Family.lora_param_count`).
- activations: per image, the family's figure at its native resolution, scaled by
  (resolution/native)² (token count) and, for eager attention maps, (resolution/native)⁴;
  divided by the family's checkpointing divisor; doubled in fp32.
- fixed_overhead: CUDA context, cuDNN/cuBLAS workspaces.

The parameter counts are exact (checked against the full-size models in the tests). The
activation and overhead terms (`[vram]` in `data/<family>/family.toml` and the constants
below) are ESTIMATES from public reports of LoRA runs (kohya_ss, diffusers) until measured
on a GPU (`bench/gpu_check.py` records the measured peak beside this estimate).
"""

from __future__ import annotations

from dataclasses import dataclass

from loratui.i18n import N_

GB = 1024**3

# SD1.5 parameter counts (frozen weights); kept for callers, the family data is the source.
SD15_UNET_PARAMS = 859_520_964
SD15_TEXT_ENCODER_PARAMS = 123_060_480
SD15_VAE_PARAMS = 83_653_863

# Estimated constants (GB), shared by the families.
FIXED_OVERHEAD_GB = 0.8
FRAGMENTATION = 0.10
OPTIMIZER_STATE_BYTES = {"AdamW": 16, "AdamW8bit": 10, "Adafactor": 12, "Lion": 12,
                         "Prodigy": 20, "SGD": 12}


def _family(name: str):
    from loratui import families

    return families.get(name if name in families.ids() else "sd15")


def _family_id_of(cfg) -> str:
    from loratui.families import family_id_of

    try:
        return family_id_of(cfg)
    except AttributeError:  # duck-typed configs without a model section
        return "sd15"


def lora_param_count(rank: int, text_encoder: bool = True, family: str = "sd15") -> int:
    return _family(family).lora_param_count(rank, text_encoder)


@dataclass(frozen=True)
class VramInputs:
    rank: int = 8
    batch_size: int = 1
    resolution: int = 512
    mixed_precision: str = "fp16"  # no / fp16 / bf16
    gradient_checkpointing: bool = True
    attention: str = "sdpa"  # sdpa / xformers / eager
    train_text_encoder: bool = True
    cache_latents: bool = True
    no_half_vae: bool = True
    optimizer: str = "AdamW"
    family: str = "sd15"
    cache_text_encoder_outputs: bool = False  # frozen encoders, fixed captions: off the GPU

    @classmethod
    def from_config(cls, cfg) -> VramInputs:
        """From a RunConfig (duck-typed so the doctor can pass any object with the sections)."""
        return cls(
            rank=cfg.network.rank,
            batch_size=cfg.training.batch_size,
            resolution=cfg.dataset.resolution,
            mixed_precision=cfg.training.mixed_precision,
            gradient_checkpointing=cfg.training.gradient_checkpointing,
            attention=cfg.training.attention,
            train_text_encoder=cfg.network.train_text_encoder and cfg.optimizer.text_encoder_lr > 0,
            cache_latents=cfg.training.cache_latents,
            no_half_vae=cfg.training.no_half_vae,
            optimizer=cfg.optimizer.name,
            family=_family_id_of(cfg),
            cache_text_encoder_outputs=not (cfg.network.train_text_encoder
                                            and cfg.optimizer.text_encoder_lr > 0)
            and not (cfg.dataset.shuffle_captions or cfg.dataset.caption_dropout),
        )


@dataclass(frozen=True)
class VramEstimate:
    weights_gb: float
    lora_state_gb: float
    activations_gb: float
    vae_gb: float
    overhead_gb: float
    total_gb: float

    def fits(self, card_gb: float, headroom: float = 0.95) -> bool:
        return self.total_gb <= card_gb * headroom

    def as_rows(self) -> list[tuple[str, float]]:
        return [
            (N_("frozen weights"), self.weights_gb),
            (N_("LoRA params + grads + optimizer"), self.lora_state_gb),
            (N_("activations"), self.activations_gb),
            ("VAE", self.vae_gb),
            (N_("CUDA context / workspaces"), self.overhead_gb),
            (N_("total (estimate)"), self.total_gb),
        ]


def estimate(inp: VramInputs) -> VramEstimate:
    fam = _family(inp.family)
    terms = fam.vram
    half = inp.mixed_precision in ("fp16", "bf16")
    wbytes = 2 if half else 4
    te_on_gpu = inp.train_text_encoder or not inp.cache_text_encoder_outputs
    frozen = fam.unet_params + (fam.text_encoder_params if te_on_gpu else 0)
    weights = frozen * wbytes / GB
    state_bytes = OPTIMIZER_STATE_BYTES.get(inp.optimizer, 16)
    lora_state = fam.lora_param_count(inp.rank, inp.train_text_encoder) * state_bytes / GB

    scale = (inp.resolution / fam.native_resolution) ** 2
    per_image = terms.act_per_image_gb * scale
    if inp.attention == "eager":
        per_image += terms.eager_extra_gb * scale**2
    if inp.gradient_checkpointing:
        per_image /= terms.checkpointing_divisor
    if not half:
        per_image *= 2
    if inp.train_text_encoder:
        per_image += terms.text_encoder_act_gb * len(fam.text_encoders)
    activations = per_image * inp.batch_size

    vae = 0.0
    if not inp.cache_latents:
        vae_bytes = 4 if (inp.no_half_vae or not half) else 2
        vae = fam.vae_params * vae_bytes / GB + terms.vae_encode_act_gb * scale * inp.batch_size
    subtotal = weights + lora_state + activations + vae + FIXED_OVERHEAD_GB
    total = subtotal * (1 + FRAGMENTATION)
    return VramEstimate(
        round(weights, 2), round(lora_state, 3), round(activations, 2), round(vae, 2),
        FIXED_OVERHEAD_GB, round(total, 2),
    )

"""Analytic GPU-memory estimate for SD1.5 LoRA training.

    total = (weights + lora_state + activations + vae + fixed_overhead) × (1 + fragmentation)

- weights: frozen UNet and text encoder in the compute dtype (2 bytes for fp16/bf16,
  4 for fp32); the VAE only when latents are not cached (fp32 with no_half_vae).
- lora_state: trainable LoRA parameters in fp32 × (weight + grad + optimizer state):
  16 bytes/param for AdamW, 10 for AdamW8bit. Parameter counts come from SD1.5's
  exact module shapes (`lora_param_count`).
- activations: per image, scaled by (resolution/512)² (token count) and, for eager
  attention maps, (resolution/512)⁴; divided by ~5 with gradient checkpointing;
  doubled in fp32.
- fixed_overhead: CUDA context, cuDNN/cuBLAS workspaces.

The activation and overhead constants are ESTIMATES from public reports of SD1.5 LoRA
runs (kohya_ss, diffusers) until measured on a GPU (`bench/train_step.py --gpu`
records the measured peak beside this estimate in bench/RESULTS.md).
"""

from __future__ import annotations

from dataclasses import dataclass

GB = 1024**3

# SD1.5 parameter counts (frozen weights).
SD15_UNET_PARAMS = 859_520_964
SD15_TEXT_ENCODER_PARAMS = 123_060_480
SD15_VAE_PARAMS = 83_653_863

# Estimated constants (GB) — see module docstring.
ACT_PER_IMAGE_SDPA_GB = 2.6  # 512 px, fp16, no checkpointing, memory-efficient attention
ACT_PER_IMAGE_EAGER_EXTRA_GB = 2.5  # extra for materialised attention maps at 512 px
CHECKPOINTING_DIVISOR = 5.0
TEXT_ENCODER_ACT_GB = 0.15  # per image, when the text encoder is trained
VAE_ENCODE_ACT_GB = 1.2  # encoding one 512 px image when latents are not cached
FIXED_OVERHEAD_GB = 0.8
FRAGMENTATION = 0.10


def _sd15_unet_lora_sum() -> int:
    """Σ(in + out) over kohya's 192 SD1.5 UNet LoRA modules (rank multiplies it)."""
    per_block = {320: 5, 640: 5, 1280: 6}  # transformer blocks per channel width
    total = 0
    for c, n in per_block.items():
        # proj_in, attn1 q/k/v/out, attn2 q/out (C→C); attn2 k/v (768→C); ff 0 (C→8C), 2 (4C→C); proj_out
        total += n * (2 * c + 4 * 2 * c + 2 * 2 * c + 2 * (768 + c) + 9 * c + 5 * c + 2 * c)
    return total


def _sd15_te_lora_sum() -> int:
    """Σ(in + out) over the 72 text-encoder modules (12 layers × q/k/v/out, fc1, fc2)."""
    return 12 * (4 * (768 + 768) + (768 + 3072) + (3072 + 768))


def lora_param_count(rank: int, text_encoder: bool = True) -> int:
    return rank * (_sd15_unet_lora_sum() + (_sd15_te_lora_sum() if text_encoder else 0))


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
            ("frozen weights", self.weights_gb),
            ("LoRA params + grads + optimizer", self.lora_state_gb),
            ("activations", self.activations_gb),
            ("VAE", self.vae_gb),
            ("CUDA context / workspaces", self.overhead_gb),
            ("total (estimate)", self.total_gb),
        ]


def estimate(inp: VramInputs) -> VramEstimate:
    half = inp.mixed_precision in ("fp16", "bf16")
    wbytes = 2 if half else 4
    weights = (SD15_UNET_PARAMS + SD15_TEXT_ENCODER_PARAMS) * wbytes / GB
    state_bytes = 10 if inp.optimizer == "AdamW8bit" else 16
    lora_state = lora_param_count(inp.rank, inp.train_text_encoder) * state_bytes / GB

    scale = (inp.resolution / 512) ** 2
    per_image = ACT_PER_IMAGE_SDPA_GB * scale
    if inp.attention == "eager":
        per_image += ACT_PER_IMAGE_EAGER_EXTRA_GB * scale**2
    if inp.gradient_checkpointing:
        per_image /= CHECKPOINTING_DIVISOR
    if not half:
        per_image *= 2
    if inp.train_text_encoder:
        per_image += TEXT_ENCODER_ACT_GB
    activations = per_image * inp.batch_size

    vae = 0.0
    if not inp.cache_latents:
        vae_bytes = 4 if (inp.no_half_vae or not half) else 2
        vae = SD15_VAE_PARAMS * vae_bytes / GB + VAE_ENCODE_ACT_GB * scale * inp.batch_size
    subtotal = weights + lora_state + activations + vae + FIXED_OVERHEAD_GB
    total = subtotal * (1 + FRAGMENTATION)
    return VramEstimate(
        round(weights, 2), round(lora_state, 3), round(activations, 2), round(vae, 2),
        FIXED_OVERHEAD_GB, round(total, 2),
    )

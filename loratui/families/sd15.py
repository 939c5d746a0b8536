"""Stable Diffusion 1.x: one CLIP ViT-L text encoder, 512 px, kohya names = diffusers paths."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from loratui.families.base import Family


@dataclass
class SD15Conditioner:
    """Captions → the last hidden state of CLIP (diffusers' `train_text_to_image_lora.py`)."""
    components: Any

    def tokenize(self, captions: list[str]) -> tuple:
        tok = self.components.tokenizers[0]
        return (tok(captions, padding="max_length", truncation=True,
                    max_length=tok.model_max_length, return_tensors="pt").input_ids,)

    def encode(self, text_encoders, ids: tuple) -> tuple[Any, dict | None]:
        return text_encoders[0](ids[0].to(text_encoders[0].device), return_dict=False)[0], None

    def unet_kwargs(self, items, pooled, device, dtype) -> dict:
        return {}


class SD15Family(Family):
    def conditioner(self, components):
        return SD15Conditioner(components)


FAMILY = SD15Family.from_data("sd15")

"""Stable Diffusion XL (and Pony, Illustrious, NoobAI …): two CLIP text encoders, pooled
embeddings and size/crop micro-conditioning, 1024 px, kohya's LDM-style UNet names.

The conditioning follows diffusers' `train_dreambooth_lora_sdxl.py`: the penultimate hidden
states of both encoders concatenated (768 + 1280 = 2048 channels), the second encoder's
projected pooled output, and `add_time_ids` = original size + crop top-left + target size.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from loratui.families.base import Family

# diffusers UNet paths → kohya's LDM names. SDXL has 2 layers per block and a downsampler
# after each level but the last, so level i's attention j is input block 3·i + j + 1; the
# up path has 3 layers per level: output block 3·i + j.
_DOWN = re.compile(r"^down_blocks\.(\d+)\.attentions\.(\d+)\.")
_UP = re.compile(r"^up_blocks\.(\d+)\.attentions\.(\d+)\.")
_MID = re.compile(r"^mid_block\.attentions\.0\.")


@dataclass
class SDXLConditioner:
    components: Any

    def tokenize(self, captions: list[str]) -> tuple:
        return tuple(tok(captions, padding="max_length", truncation=True,
                         max_length=tok.model_max_length, return_tensors="pt").input_ids
                     for tok in self.components.tokenizers)

    def encode(self, text_encoders, ids: tuple) -> tuple[Any, Any]:
        """(prompt embeds [B, 77, 2048], pooled embeds [B, 1280]) as SDXL's pipeline does."""
        import torch

        hidden, pooled = [], None
        for te, tok_ids in zip(text_encoders, ids, strict=True):
            out = te(tok_ids.to(te.device), output_hidden_states=True, return_dict=True)
            hidden.append(out.hidden_states[-2])
            pooled = out.text_embeds if hasattr(out, "text_embeds") else out.pooler_output
        return torch.cat(hidden, dim=-1), pooled

    def unet_kwargs(self, items, pooled, device, dtype) -> dict:
        import torch

        time_ids = torch.tensor([time_ids_for(it.width, it.height, it.bucket) for it in items],
                                dtype=dtype, device=device)
        return {"added_cond_kwargs": {"text_embeds": pooled.to(device, dtype),
                                      "time_ids": time_ids}}


def time_ids_for(width: int, height: int, bucket: tuple[int, int]) -> list[int]:
    """SDXL's micro-conditioning: (orig h, orig w, crop top, crop left, target h, target w)
    for an image scaled to cover its bucket and centre-cropped (`train.data.load_pixels`)."""
    from loratui.train.data import cover_crop

    _, (top, left) = cover_crop(width, height, bucket)
    return [height, width, top, left, bucket[1], bucket[0]]


class SDXLFamily(Family):
    def kohya_unet_path(self, path: str) -> str:
        if m := _DOWN.match(path):
            i, j = int(m[1]), int(m[2])
            return f"input_blocks.{3 * i + j + 1}.1.{path[m.end():]}"
        if m := _UP.match(path):
            i, j = int(m[1]), int(m[2])
            return f"output_blocks.{3 * i + j}.1.{path[m.end():]}"
        if m := _MID.match(path):
            return f"middle_block.1.{path[m.end():]}"
        return path

    def conditioner(self, components):
        return SDXLConditioner(components)


FAMILY = SDXLFamily.from_data("sdxl")

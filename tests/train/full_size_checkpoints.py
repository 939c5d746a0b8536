"""Full-size single-file checkpoints as users download them, without the weights.

The tensor names and shapes come from loratui's shipped SD1.5 / SDXL configs built on the
meta device and renamed to the original (LDM / SGM) layout by `ldm_checkpoint`; the file is
a real safetensors header followed by a sparse hole as long as the data (os.truncate), so a
6.9 GB SDXL checkpoint takes a few kB of disk and reads back as zeros.
"""

from __future__ import annotations

import json
import os
import struct
from functools import cache
from pathlib import Path

DTYPE_BYTES = {"F16": 2, "BF16": 2, "F32": 4, "F8_E4M3": 1, "F8_E5M2": 1}


@cache
def layout(family_id: str) -> dict[str, tuple[int, ...]]:
    """Every tensor of a full-size original-layout checkpoint: name -> shape."""
    import torch
    from diffusers import AutoencoderKL
    from ldm_checkpoint import open_clip_to_sgm, te_to_ldm, unet_to_ldm, vae_to_ldm

    from loratui import families

    fam = families.get(family_id)
    unet, tes = fam.meta_models()
    vae_cfg = json.loads((fam.config_dir / "vae" / "config.json").read_text())
    with torch.device("meta"):
        vae = AutoencoderKL.from_config(vae_cfg)
    sd = {**unet_to_ldm(unet), **vae_to_ldm(vae)}
    if family_id == "sd15":
        sd.update(te_to_ldm(tes[0]))
    else:
        state = unet.state_dict()
        for a, b in (("add_embedding.linear_1.", "label_emb.0.0."),
                     ("add_embedding.linear_2.", "label_emb.0.2.")):
            for kind in ("weight", "bias"):
                sd[f"model.diffusion_model.{b}{kind}"] = state[f"{a}{kind}"]
        sd = {k: v for k, v in sd.items() if ".add_embedding." not in k}
        sd.update({k.replace("cond_stage_model.transformer.",
                             "conditioner.embedders.0.transformer."): v
                   for k, v in te_to_ldm(tes[0]).items()})
        sd.update(open_clip_to_sgm(tes[1]))
    return {k: tuple(v.shape) for k, v in sd.items()}


def write_sparse(path: Path, tensors: dict[str, tuple[int, ...]], dtype: str = "F16",
                 metadata: dict[str, str] | None = None) -> Path:
    """A safetensors file with these tensors whose data is a sparse hole (zeros)."""
    header: dict = {"__metadata__": metadata} if metadata else {}
    offset = 0
    for name, shape in tensors.items():
        n = DTYPE_BYTES[dtype]
        for s in shape:
            n *= s
        header[name] = {"dtype": dtype, "shape": list(shape), "data_offsets": [offset,
                                                                                offset + n]}
        offset += n
    raw = json.dumps(header).encode()
    raw += b" " * (-len(raw) % 8)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as fh:
        fh.write(struct.pack("<Q", len(raw)) + raw)
    os.truncate(path, 8 + len(raw) + offset)
    return path


def without(tensors: dict, *prefixes: str) -> dict:
    return {k: v for k, v in tensors.items() if not k.startswith(prefixes)}

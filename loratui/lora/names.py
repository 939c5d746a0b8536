"""LoRA tensor key names: every format's keys to one canonical kohya module name, and back.

Canonical = kohya's `lora_unet_<diffusers path, "." → "_">` / `lora_te_<CLIP path>`
(FORMATS.md §1.1), the names A1111, ComfyUI and the block-weight extension read.
Read: kohya (`.lora_down/.lora_up/.alpha`, also `.lora_A/.lora_B`), PEFT / diffusers
(`unet.<path>.lora_A.weight`, with or without an adapter name), and the old diffusers
attention-processor keys (`…processor.to_q_lora.down.weight`, `.lora_linear_layer.`).
Pure string work: no torch.
"""

from __future__ import annotations

import re

# kohya prefix ↔ diffusers pipeline component
PREFIX_COMPONENT = {"lora_unet": "unet", "lora_te": "text_encoder", "lora_te1": "text_encoder",
                    "lora_te2": "text_encoder_2"}
COMPONENT_PREFIX = {"unet": "lora_unet", "text_encoder": "lora_te",
                    "text_encoder_2": "lora_te2"}

_KOHYA_KEY = re.compile(r"^(lora_(?:unet|te\d?)_[^.]+)\.(lora_down\.weight|lora_up\.weight|"
                        r"lora_A\.weight|lora_B\.weight|alpha)$")
_PEFT_KEY = re.compile(r"^(.+)\.lora_(A|B)(?:\.[^.]+)?\.weight$")
_OLD_PROC = re.compile(r"^(.+)\.processor\.(to_q|to_k|to_v|to_out)_lora\.(down|up)\.weight$")
_OLD_LINEAR = re.compile(r"^(.+?)\.(?:lora_linear_layer|lora)\.(down|up)\.weight$")
_PART = {"lora_down.weight": "down", "lora_A.weight": "down", "lora_up.weight": "up",
         "lora_B.weight": "up", "alpha": "alpha", "A": "down", "B": "up"}

# Diffusers / CLIP module-name words that contain "_" (everything else splits on "_").
_COMPOUNDS = ("down_blocks", "up_blocks", "mid_block", "transformer_blocks", "to_q", "to_k",
              "to_v", "to_out", "proj_in", "proj_out", "conv_shortcut", "time_emb_proj",
              "text_model", "self_attn", "q_proj", "k_proj", "v_proj", "out_proj", "conv_in",
              "conv_out", "conv_norm_out", "time_embedding", "linear_1", "linear_2",
              "add_embedding", "final_layer_norm", "layer_norm1", "layer_norm2",
              "input_blocks", "output_blocks", "middle_block", "in_layers", "out_layers",
              "emb_layers", "skip_connection", "time_embed")
_COMPOUND_RE = re.compile("|".join(sorted((c.replace("_", r"\.") for c in _COMPOUNDS),
                                          key=len, reverse=True)))


def split_key(key: str) -> tuple[str, str] | None:
    """(canonical kohya module name, "down" | "up" | "alpha") for a LoRA tensor key."""
    m = _KOHYA_KEY.match(key)
    if m:
        return m.group(1), _PART[m.group(2)]
    m = _OLD_PROC.match(key)
    if m:
        proj = m.group(2) + (".0" if m.group(2) == "to_out" else "")
        return path_to_kohya(f"{m.group(1)}.{proj}"), m.group(3)
    m = _PEFT_KEY.match(key)
    if m:
        return path_to_kohya(m.group(1)), _PART[m.group(2)]
    m = _OLD_LINEAR.match(key)
    if m:
        return path_to_kohya(m.group(1)), m.group(2)
    if key.endswith(".alpha") and "." in key[:-6]:
        return path_to_kohya(key[:-6]), "alpha"
    return None


def path_to_kohya(path: str) -> str:
    """`unet.down_blocks.0….to_q` / `text_encoder.text_model…` / a bare UNet path → kohya."""
    for strip in ("base_model.model.",):
        if path.startswith(strip):
            path = path[len(strip):]
    component, _, rest = path.partition(".")
    if component not in COMPONENT_PREFIX:
        component, rest = "unet", path  # bare attention-processor / UNet paths
    prefix = COMPONENT_PREFIX[component]
    if prefix.startswith("lora_te") and not rest.startswith("text_model."):
        rest = "text_model." + rest  # transformers 5.x module names lack this level
    return f"{prefix}_{rest}".replace(".", "_")


def kohya_to_path(name: str) -> tuple[str, str]:
    """(pipeline component, diffusers module path) of a canonical kohya module name."""
    for prefix in sorted(PREFIX_COMPONENT, key=len, reverse=True):
        if name.startswith(prefix + "_"):
            rest = name[len(prefix) + 1:]
            dotted = _COMPOUND_RE.sub(lambda m: m.group(0).replace(".", "_"),
                                      rest.replace("_", "."))
            return PREFIX_COMPONENT[prefix], dotted
    raise ValueError(f"not a kohya LoRA module name: {name}")

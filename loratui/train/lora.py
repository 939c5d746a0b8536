"""LoRA adapters on the modules kohya's sd-scripts targets, through peft.

UNet: every Linear / 1×1 Conv2d inside a `Transformer2DModel` (proj_in, attn1/attn2
to_q/k/v/out.0, ff.net.0.proj, ff.net.2, proj_out): 192 modules on SD1.5.
Text encoder: the Linear layers of CLIP's attention and MLP blocks (q/k/v/out_proj,
fc1, fc2): 72 modules on SD1.5.

Version note (issue 8, TINY_MODEL.md §4): transformers 5.24 refuses
`CLIPTextModel.add_adapter()` unless peft >= 0.22, which is not on PyPI yet (0.21.2).
`add_adapter` is only that version check plus `peft.inject_adapter_in_model`, so we call
`inject_adapter_in_model` directly for the text encoder instead of pinning transformers<5.24;
it works on every transformers version. The UNet uses diffusers' `add_adapter` (no such check).
"""

from __future__ import annotations

from collections.abc import Iterable

UNET_TARGET_BLOCKS = ("Transformer2DModel",)
TE_TARGET_BLOCKS = ("CLIPAttention", "CLIPSdpaAttention", "CLIPFlashAttention2", "CLIPMLP")
ADAPTER = "default"


def target_module_names(model, block_types: Iterable[str]) -> list[str]:
    """Module paths of Linear / 1×1 Conv2d layers inside blocks of the given class names."""
    import torch

    block_types = tuple(block_types)
    names: list[str] = []
    for name, module in model.named_modules():
        if type(module).__name__ not in block_types:
            continue
        for child_name, child in module.named_modules():
            if not child_name:
                continue
            is_linear = isinstance(child, torch.nn.Linear)
            is_conv1x1 = isinstance(child, torch.nn.Conv2d) and child.kernel_size == (1, 1)
            full = f"{name}.{child_name}" if name else child_name
            if (is_linear or is_conv1x1) and full not in names:
                names.append(full)
    return names


def lora_config(targets: list[str], rank: int, alpha: float, dropout: float = 0.0):
    from peft import LoraConfig

    # Exact module paths: peft matches a target by equality or a ".<target>" suffix, and a full
    # path has only one match. kohya initialises down with kaiming-uniform and up with zeros,
    # which is peft's default init.
    return LoraConfig(r=rank, lora_alpha=alpha, lora_dropout=dropout, target_modules=targets,
                      init_lora_weights=True)


def add_unet_lora(unet, rank: int, alpha: float, dropout: float = 0.0) -> list[str]:
    targets = target_module_names(unet, UNET_TARGET_BLOCKS)
    unet.add_adapter(lora_config(targets, rank, alpha, dropout), adapter_name=ADAPTER)
    return targets


def add_text_encoder_lora(text_encoder, rank: int, alpha: float,
                          dropout: float = 0.0) -> list[str]:
    from peft import inject_adapter_in_model

    targets = target_module_names(text_encoder, TE_TARGET_BLOCKS)
    # Not text_encoder.add_adapter(): see the module docstring (transformers 5.24 vs peft 0.21).
    inject_adapter_in_model(lora_config(targets, rank, alpha, dropout), text_encoder, ADAPTER)
    return targets


def lora_layers(model) -> dict[str, object]:
    """Module path → peft LoRA layer carrying our adapter."""
    from peft.tuners.lora import LoraLayer

    return {name: m for name, m in model.named_modules()
            if isinstance(m, LoraLayer) and ADAPTER in m.lora_A}


def lora_parameters(model) -> list:
    return [p for n, p in model.named_parameters() if "lora_" in n and p.requires_grad]


def set_multiplier(models: Iterable, multiplier: float) -> None:
    """Scale every LoRA's output by `multiplier` (1.0 = as trained; the dynamic weight, P27)."""
    for model in models:
        if model is None:
            continue
        for layer in lora_layers(model).values():
            base = layer.lora_alpha[ADAPTER] / layer.r[ADAPTER]
            layer.scaling[ADAPTER] = base * multiplier

"""Pieces of the trainer's set-up: attention kernel, optimiser."""

from __future__ import annotations

import logging

log = logging.getLogger("loratui.train")


class TrainingStopped(Exception):
    """An expected reason to stop (config, disk, resume state); `reason` names it."""

    def __init__(self, reason: str, message: str):
        self.reason = reason
        super().__init__(message)


class StopRequested(Exception):
    """SIGINT / SIGTERM arrived before the loop began (loading, caching, resuming)."""


def set_attention(unet, kind: str) -> None:
    """PyTorch SDPA (default), xformers when asked for and installed, or eager attention."""
    if kind == "xformers":
        try:
            unet.enable_xformers_memory_efficient_attention()
            log.info("attention: xformers")
            return
        except (ImportError, ModuleNotFoundError, ValueError, RuntimeError) as exc:
            log.warning("xformers asked for but not usable (%s); using PyTorch SDPA", exc)
            kind = "sdpa"
    from diffusers.models.attention_processor import AttnProcessor, AttnProcessor2_0

    unet.set_attn_processor(AttnProcessor() if kind == "eager" else AttnProcessor2_0())


def make_optimizer(opt, groups):
    """The optimiser named in `[optimizer]` over the LoRA parameter groups."""
    import torch

    if opt.name == "AdamW":
        return torch.optim.AdamW(groups, weight_decay=opt.weight_decay)
    if opt.name == "SGD":
        return torch.optim.SGD(groups, weight_decay=opt.weight_decay, momentum=0.9)
    if opt.name == "AdamW8bit":
        try:
            import bitsandbytes as bnb
        except ImportError:
            raise TrainingStopped("config", "optimizer.name = AdamW8bit needs bitsandbytes "
                                  "(CUDA only): pip install bitsandbytes, or use AdamW") \
                from None
        return bnb.optim.AdamW8bit(groups, weight_decay=opt.weight_decay)
    if opt.name == "Adafactor":  # transformers' implementation, with explicit LRs
        from transformers.optimization import Adafactor

        return Adafactor(groups, scale_parameter=False, relative_step=False,
                         warmup_init=False, weight_decay=opt.weight_decay)
    if opt.name == "Prodigy":
        try:
            from prodigyopt import Prodigy
        except ImportError:
            raise TrainingStopped("config", "optimizer.name = Prodigy needs prodigyopt: "
                                  "pip install prodigyopt, or use AdamW") from None
        return Prodigy(groups, weight_decay=opt.weight_decay)
    if opt.name == "Lion":
        try:
            from lion_pytorch import Lion
        except ImportError:
            raise TrainingStopped("config", "optimizer.name = Lion needs lion-pytorch: "
                                  "pip install lion-pytorch, or use AdamW") from None
        return Lion(groups, weight_decay=opt.weight_decay)
    raise TrainingStopped("config", f"unknown optimizer {opt.name!r}")

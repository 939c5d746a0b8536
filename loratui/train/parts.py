"""Pieces of the trainer's set-up: attention kernel, optimiser."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from loratui.i18n import N_, Message

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


@dataclass(frozen=True)
class OptimizerSpec:
    """Where an optimiser comes from; `package`: what to install when it is not a dependency."""
    module: str
    cls: str
    package: str = ""
    note: str = ""
    kwargs: dict[str, Any] = field(default_factory=dict)  # beyond the groups and weight decay


OPTIMIZERS = {  # optimizer.name -> where it comes from
    "AdamW": OptimizerSpec("torch.optim", "AdamW"),
    "SGD": OptimizerSpec("torch.optim", "SGD", kwargs={"momentum": 0.9}),
    "AdamW8bit": OptimizerSpec("bitsandbytes.optim", "AdamW8bit", "bitsandbytes", " (CUDA only)"),
    # transformers' implementation, with explicit LRs
    "Adafactor": OptimizerSpec("transformers.optimization", "Adafactor", kwargs={
        "scale_parameter": False, "relative_step": False, "warmup_init": False}),
    "Prodigy": OptimizerSpec("prodigyopt", "Prodigy", "prodigyopt"),
    "Lion": OptimizerSpec("lion_pytorch", "Lion", "lion-pytorch"),
}


def make_optimizer(opt, groups):
    """The optimiser named in `[optimizer]` over the LoRA parameter groups."""
    import importlib

    spec = OPTIMIZERS.get(opt.name)
    if spec is None:
        raise TrainingStopped("config", Message(N_("unknown optimizer {name}"),
                                                name=repr(opt.name)))
    try:
        factory = getattr(importlib.import_module(spec.module), spec.cls)
    except ImportError:
        if not spec.package:
            raise
        raise TrainingStopped("config", Message(
            N_("optimizer.name = {name} needs {package}{note}: pip install {package}, or use "
               "AdamW"), name=opt.name, package=spec.package, note=spec.note)) from None
    return factory(groups, weight_decay=opt.weight_decay, **spec.kwargs)

"""Export the trained LoRA as a kohya sd-scripts file (what A1111, ComfyUI and diffusers load).

Written by hand rather than with diffusers' `convert_state_dict_to_kohya`, which writes the
SDXL-style `lora_te1_` prefix for SD1.5 and alpha = rank (FORMATS.md §2.1). The names come
from the model's `Family` (FORMATS.md §2.6):
- SD1.5: `lora_unet_<diffusers module path, "." → "_">` and `lora_te_text_model_<CLIP path>`;
- SDXL: `lora_unet_<LDM path>` (`input_blocks_4_1_…`), `lora_te1_…` and `lora_te2_…`;
- the `text_model.` level is inserted when transformers 5.x left it out of the module path;
- `.lora_down.weight` = peft lora_A, `.lora_up.weight` = peft lora_B, shapes as they are
  (1×1 convs stay 4-D), `.alpha` = the trained lora_alpha (0-dim tensor);
- string-only metadata: kohya's `ss_*`, `sshs_model_hash` (sha256 of the data region) and
  `sshs_legacy_hash`, plus `modelspec.*`.
"""

from __future__ import annotations

import hashlib
import json
import struct
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from loratui.atomic import atomic_write_bytes
from loratui.train.lora import ADAPTER, lora_layers

SAVE_DTYPES = {"fp16": "float16", "bf16": "bfloat16", "no": "float32"}


def _family(family=None, cfg=None):
    """The family given, else the one `cfg` trains (model.family, else its base model's),
    else SD1.5."""
    from loratui import families

    if family is not None:
        return family
    return families.get(families.family_id_of(cfg) if cfg is not None else "sd15")


def _as_list(text_encoders) -> list:
    if text_encoders is None:
        return []
    return list(text_encoders) if isinstance(text_encoders, (list, tuple)) else [text_encoders]


def _prefixed_models(family, unet, text_encoders) -> list[tuple[str, Any]]:
    """(kohya prefix, model) pairs; a text encoder that is None (frozen) is left out."""
    pairs = [(family.unet_kohya_prefix, unet)]
    for slot, te in zip(family.text_encoders, _as_list(text_encoders), strict=False):
        if te is not None:
            pairs.append((slot.kohya_prefix, te))
    return pairs


def kohya_module_name(prefix: str, path: str, family=None) -> str:
    return _family(family).kohya_module_name(prefix, path)


def kohya_module_names(unet, text_encoders=None, family=None) -> list[str]:
    """kohya module names of every LoRA layer in the models (no tensors needed)."""
    family = _family(family)
    return [family.kohya_module_name(prefix, p)
            for prefix, model in _prefixed_models(family, unet, text_encoders)
            for p in lora_layers(model)]


def kohya_state_dict(unet, text_encoders=None, *, dtype: str = "fp16",
                     multiplier: float = 1.0, family=None) -> dict[str, Any]:
    """kohya tensors. `multiplier` (the dynamic weight at the end of training) is folded into
    the alphas so that the file at strength 1.0 behaves like the model did when it stopped."""
    import torch

    family = _family(family)
    torch_dtype = getattr(torch, SAVE_DTYPES.get(dtype, dtype))
    out: dict[str, torch.Tensor] = {}
    for prefix, model in _prefixed_models(family, unet, text_encoders):
        for path, layer in lora_layers(model).items():
            name = family.kohya_module_name(prefix, path)
            down = layer.lora_A[ADAPTER].weight.detach()
            up = layer.lora_B[ADAPTER].weight.detach()
            alpha = float(layer.lora_alpha[ADAPTER]) * multiplier
            out[f"{name}.lora_down.weight"] = down.to("cpu", torch_dtype).contiguous()
            out[f"{name}.lora_up.weight"] = up.to("cpu", torch_dtype).contiguous()
            out[f"{name}.alpha"] = torch.tensor(alpha, dtype=torch_dtype)
    return out


def now_iso() -> str:
    return datetime.now(timezone.utc).replace(microsecond=0).isoformat()


def unix_time(when: str | float | None) -> str:
    """kohya's form of a time in the metadata: Unix seconds as a decimal string ("" unknown).
    Takes the ISO 8601 times the run folder keeps, or seconds."""
    if when is None or when == "":
        return ""
    if isinstance(when, (int, float)):
        return str(float(when))
    try:
        stamp = datetime.fromisoformat(when)
    except ValueError:
        return ""
    if stamp.tzinfo is None:
        stamp = stamp.replace(tzinfo=timezone.utc)
    return str(stamp.timestamp())


def tag_frequency(captions_by_dir: dict[str, list[str]]) -> dict[str, dict[str, int]]:
    """kohya's ss_tag_frequency: {dir basename: {lowercased comma-separated tag: count}}."""
    freq: dict[str, dict[str, int]] = {}
    for folder, captions in captions_by_dir.items():
        counts: dict[str, int] = {}
        for caption in captions:
            for tag in caption.split(","):
                tag = tag.strip().lower()
                if tag:
                    counts[tag] = counts.get(tag, 0) + 1
        freq[folder] = counts
    return freq


def build_metadata(cfg, info: dict[str, Any], family=None) -> dict[str, str]:
    """kohya `ss_*` + `modelspec.*` metadata. `info` holds what only the run knows:
    num_train_images, num_reg_images, num_batches_per_epoch, epoch, steps, max_steps,
    num_epochs (run so far), tag_frequency, dataset_dirs, started_at, finished_at (ISO 8601),
    session_id, alpha, base_model_hash."""
    tr, net, opt, ds = cfg.training, cfg.network, cfg.optimizer, cfg.dataset
    family = _family(family, cfg)
    te_lr = opt.text_encoder_lr if net.train_text_encoder and opt.text_encoder_lr > 0 else None
    res = f"({ds.resolution}, {ds.resolution})"
    alpha = info.get("alpha", net.effective_alpha)
    meta: dict[str, Any] = {
        "ss_session_id": info.get("session_id", ""),
        # Unix seconds, as kohya writes them: A1111's metadata dialog calls float() on them
        "ss_training_started_at": unix_time(info.get("started_at")),
        "ss_training_finished_at": unix_time(info.get("finished_at")),
        "ss_output_name": cfg.output.name,
        "ss_learning_rate": opt.unet_lr,
        "ss_unet_lr": opt.unet_lr,
        "ss_text_encoder_lr": te_lr,
        "ss_num_train_images": info.get("num_train_images", 0),
        "ss_num_reg_images": info.get("num_reg_images", 0),
        "ss_num_batches_per_epoch": info.get("num_batches_per_epoch", 0),
        "ss_num_epochs": info.get("num_epochs", tr.epochs),  # the epochs actually run
        "ss_epoch": info.get("epoch", 0),
        "ss_steps": info.get("steps", 0),
        "ss_max_train_steps": info.get("max_steps", 0),
        "ss_batch_size_per_device": tr.batch_size,
        "ss_total_batch_size": cfg.effective_batch,
        "ss_gradient_accumulation_steps": tr.gradient_accumulation,
        "ss_gradient_checkpointing": tr.gradient_checkpointing,
        "ss_lr_warmup_steps": opt.warmup_steps,
        "ss_lr_scheduler": opt.scheduler,
        "ss_optimizer": f"torch.optim.adamw.{opt.name}" if opt.name == "AdamW" else opt.name,
        "ss_max_grad_norm": opt.max_grad_norm,
        "ss_network_module": "networks.lora",
        "ss_network_dim": net.rank,
        "ss_network_alpha": _num(alpha),
        "ss_network_dropout": net.dropout,
        "ss_mixed_precision": tr.mixed_precision,
        "ss_full_fp16": False,
        "ss_v2": False,
        "ss_base_model_version": family.base_model_version(cfg.model.v_prediction),
        "ss_clip_skip": None,
        "ss_max_token_length": None,
        "ss_cache_latents": tr.cache_latents,
        "ss_seed": tr.seed,
        "ss_noise_offset": tr.noise_offset or None,
        "ss_resolution": res,
        "ss_enable_bucket": ds.bucketing,
        "ss_shuffle_caption": ds.shuffle_captions,
        "ss_keep_tokens": ds.keep_tokens,
        "ss_caption_dropout_rate": ds.caption_dropout,
        "ss_prior_loss_weight": ds.prior_loss_weight,
        "ss_color_aug": False,
        "ss_flip_aug": False,
        "ss_random_crop": False,
        "ss_tag_frequency": json.dumps(info.get("tag_frequency", {}), ensure_ascii=False),
        "ss_dataset_dirs": json.dumps(info.get("dataset_dirs", {}), ensure_ascii=False),
        "ss_bucket_info": json.dumps(info.get("bucket_info", {})),
        "ss_sd_model_name": Path(cfg.model.base).name,
        "ss_training_comment": info.get("comment", "trained with loratui"),
        "ss_loss_type": "l2",
    }
    if "base_model_hash" in info:
        meta["ss_new_sd_model_hash"] = info["base_model_hash"]
    if cfg.tricks.dynamic_weight.enabled:
        dw = cfg.tricks.dynamic_weight
        meta["ss_network_args"] = json.dumps({"loratui_dynamic_weight": {
            "start_fraction": dw.start_fraction, "end_scale": dw.end_scale,
            "folded_into_alpha": info.get("multiplier", 1.0)}})
    trigger = ds.trigger_word.strip()
    spec = {
        "modelspec.sai_model_spec": "1.0.1",
        "modelspec.architecture": family.modelspec_architecture,
        "modelspec.implementation": "diffusers",
        "modelspec.title": cfg.output.name,
        "modelspec.resolution": f"{ds.resolution}x{ds.resolution}",
        "modelspec.prediction_type": "v" if cfg.model.v_prediction else "epsilon",
        "modelspec.date": info.get("finished_at") or now_iso(),
        "modelspec.description": f"{cfg.network.kind} LoRA trained with loratui",
    }
    if trigger:
        spec["modelspec.trigger_phrase"] = trigger
    meta.update(spec)
    return {k: (v if isinstance(v, str) else str(v)) for k, v in meta.items()}


def _num(x: float) -> str | float:
    return int(x) if float(x).is_integer() else x


def data_region_sha256(blob: bytes) -> str:
    (header_len,) = struct.unpack("<Q", blob[:8])
    return hashlib.sha256(blob[8 + header_len:]).hexdigest()


def legacy_hash(blob: bytes) -> str:
    """kohya's sshs_legacy_hash: sha256 of 64 KiB at offset 1 MiB, first 8 hex digits."""
    return hashlib.sha256(blob[0x100000:0x110000]).hexdigest()[:8]


def serialize(tensors: dict[str, Any], metadata: dict[str, str]) -> bytes:
    """safetensors bytes with kohya's hash keys added (computed as sd-scripts does)."""
    from safetensors.torch import save

    from loratui.userfiles import json_safe

    metadata = json_safe(metadata)      # a file name's undecodable bytes as \xNN (UTF-8 only)
    ss_only = {k: v for k, v in metadata.items() if k.startswith("ss_")}
    first = save(tensors, metadata=ss_only)
    full = dict(metadata)
    full["sshs_model_hash"] = data_region_sha256(first)
    full["sshs_legacy_hash"] = legacy_hash(first)
    return save(tensors, metadata=full)


def export_lora(path: Path | str, unet, text_encoders, cfg, info: dict[str, Any] | None = None,
                *, multiplier: float = 1.0, dtype: str | None = None, family=None) -> Path:
    """Write the kohya-format LoRA of `unet` (+ the text encoders that carry a LoRA) to
    `path`, atomically. `text_encoders`: one model, a list in pipeline order, or None."""
    path = Path(path)
    info = dict(info or {})
    family = _family(family, cfg)
    tes = [te if te is not None and lora_layers(te) else None for te in _as_list(text_encoders)]
    tensors = kohya_state_dict(unet, tes, dtype=dtype or cfg.output.save_precision,
                               multiplier=multiplier, family=family)
    info.setdefault("alpha", cfg.network.effective_alpha * multiplier)
    info["multiplier"] = multiplier
    info.setdefault("finished_at", now_iso())
    atomic_write_bytes(path, serialize(tensors, build_metadata(cfg, info, family)))
    return path


def estimate_export_bytes(unet, text_encoders=None, dtype: str = "fp16") -> int:
    n = 0
    for model in (unet, *_as_list(text_encoders)):
        if model is None:
            continue
        for layer in lora_layers(model).values():
            n += layer.lora_A[ADAPTER].weight.numel() + layer.lora_B[ADAPTER].weight.numel() + 1
    return n * (4 if dtype == "no" else 2) + 256 * 1024

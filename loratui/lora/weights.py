"""A LoRA's tensors in memory, keyed by canonical kohya module name, and its writers.

Reads kohya, PEFT / diffusers (alphas from `lora_adapter_metadata`, else alpha = rank as
diffusers does) and old diffusers attention-processor files. Writes kohya (what every
consumer loads, FORMATS.md §2.6) or PEFT / diffusers with `lora_adapter_metadata`.
Tensors are kept as read (dtype and values), so a conversion changes only key names.
torch is imported inside the functions.
"""

from __future__ import annotations

import json
import os
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from loratui.i18n import N_, Message
from loratui.lora.names import kohya_to_path, split_key
from loratui.lora.reader import LoraError, open_lora, two_matrices

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

ADAPTER_METADATA_KEY = "lora_adapter_metadata"  # diffusers' LORA_ADAPTER_METADATA_KEY
ALPHA_DTYPE_KEY = "loratui_alpha_dtype"          # kept so PEFT → kohya is bit-exact
HISTORY_KEY = "loratui_history"                  # JSON list: what the tools did


class WeightsError(Exception):
    """The file cannot be used by the LoRA tools; the message says why and what to do."""


@dataclass
class Module:
    down: Any                 # [r, in] or [r, in, k, k]
    up: Any                   # [out, r] or [out, r, 1, 1]
    alpha: Any | None = None  # 0-dim tensor as stored; None = no alpha (= rank)

    @property
    def rank(self) -> int:
        return int(self.down.shape[0])

    @property
    def alpha_value(self) -> float:
        return float(self.alpha) if self.alpha is not None else float(self.rank)

    @property
    def scale(self) -> float:
        return self.alpha_value / self.rank

    def delta(self):
        """ΔW = up · down · alpha / rank in float32, shaped like the layer's weight."""
        up = self.up.float().flatten(1)
        down = self.down.float().flatten(1)
        dw = (up @ down) * self.scale
        if self.down.dim() == 4:
            return dw.reshape(self.up.shape[0], *self.down.shape[1:])
        return dw


@dataclass
class LoraWeights:
    modules: dict[str, Module]
    metadata: dict[str, str] = field(default_factory=dict)
    source_format: str = "kohya"
    path: Path | None = None

    @property
    def dtype(self):
        return next(iter(self.modules.values())).down.dtype

    def ranks(self) -> Counter:
        return Counter(m.rank for m in self.modules.values())

    def alphas(self) -> Counter:
        return Counter(round(m.alpha_value, 6) for m in self.modules.values())

    def with_note(self, op: str, **details: Any) -> dict[str, str]:
        """Metadata with ss_network_dim / ss_network_alpha updated and the step recorded."""
        meta = dict(self.metadata)
        ranks, alphas = self.ranks(), self.alphas()
        if ranks:
            meta["ss_network_dim"] = str(ranks.most_common(1)[0][0])
            alpha = alphas.most_common(1)[0][0]
            meta["ss_network_alpha"] = f"{alpha:g}"
        try:
            history = json.loads(meta.get(HISTORY_KEY, "[]"))
            history = history if isinstance(history, list) else []
        except (ValueError, RecursionError):   # the file author's free text
            history = []
        history.append({"op": op, "at": datetime.now(timezone.utc).replace(
            microsecond=0).isoformat(), **details})
        meta[HISTORY_KEY] = json.dumps(history, ensure_ascii=False)
        for stale in ("sshs_model_hash", "sshs_legacy_hash", ADAPTER_METADATA_KEY,
                      ALPHA_DTYPE_KEY):
            meta.pop(stale, None)
        return meta


def load_weights(path: str | Path) -> LoraWeights:
    """Read a LoRA file (header checked first, no pickle) into canonical modules."""
    from safetensors.torch import load_file

    path = Path(path)
    lora = open_lora(path)  # LoraError on anything that is not safetensors
    fmt = lora.format()
    if fmt == "lycoris":
        algorithm = lora.lycoris_algo()
        raise WeightsError(Message(N_("a LyCORIS file ({algorithm}): the LoRA tools work on "
                                      "plain LoRA / LoCon up·down pairs only"),
                                   algorithm=algorithm or Message(N_("not plain LoRA"))))
    if fmt in ("checkpoint", "unknown"):
        raise WeightsError(Message(N_("not a LoRA ({format} tensor names): `loratui lora "
                                      "inspect` shows what it holds"), format=fmt))
    try:
        tensors = load_file(os.fsencode(path).decode("utf-8"))
    except UnicodeDecodeError:      # the library takes UTF-8 paths only: read the bytes here
        from safetensors.torch import load

        tensors = load(path.read_bytes())
    parts: dict[str, dict[str, Any]] = {}
    unknown = []
    for key, tensor in tensors.items():
        split = split_key(key)
        if split is None:
            unknown.append(key)
            continue
        parts.setdefault(split[0], {})[split[1]] = tensor
    if unknown:
        raise WeightsError(Message.ngettext(
            "{n} tensor the LoRA tools do not handle, e.g. `{key}` (DoRA scales or LyCORIS "
            "parts)", "{n} tensors the LoRA tools do not handle, e.g. `{key}` (DoRA scales or "
            "LyCORIS parts)", len(unknown), key=unknown[0]))
    modules: dict[str, Module] = {}
    for name, p in parts.items():
        if "down" not in p or "up" not in p:
            raise WeightsError(Message(N_("module `{name}` has no up tensor: the file is "
                                          "incomplete") if "down" in p else
                                       N_("module `{name}` has no down tensor: the file is "
                                          "incomplete"), name=name))
        down, up, alpha = p["down"], p["up"], p.get("alpha")
        if not two_matrices(down.shape, up.shape):
            raise WeightsError(Message(N_("module `{name}`: lora_down {down} and lora_up {up} "
                                          "are not two matrices of rank 1 or more: a damaged "
                                          "or crafted file"), name=name,
                                       down=list(down.shape), up=list(up.shape)))
        if alpha is not None and alpha.numel() != 1:
            raise WeightsError(Message(N_("module `{name}`: its alpha holds {n} values, not "
                                          "one: a damaged or crafted file"), name=name,
                                       n=alpha.numel()))
        if p["up"].shape[1] != p["down"].shape[0]:
            raise WeightsError(Message(N_("module `{name}`: lora_up rank {up} ≠ lora_down "
                                          "rank {down}"), name=name, up=p["up"].shape[1],
                                       down=p["down"].shape[0]))
        modules[name] = Module(p["down"], p["up"], p.get("alpha"))
    if fmt == "peft":
        _peft_alphas(modules, lora.metadata)
    return LoraWeights(dict(sorted(modules.items())), dict(lora.metadata), fmt, path)


def _peft_alphas(modules: dict[str, Module], metadata: dict[str, str]) -> None:
    """PEFT files carry alphas in diffusers' `lora_adapter_metadata` (LoraConfig fields with
    `unet.` / `text_encoder.` prefixes); without it diffusers uses alpha = rank."""
    import torch

    raw = metadata.get(ADAPTER_METADATA_KEY)
    if not raw:
        return
    try:
        config = json.loads(raw)
    except (ValueError, RecursionError):
        return
    if not isinstance(config, dict):
        return
    dtype = getattr(torch, str(metadata.get(ALPHA_DTYPE_KEY, "")), None)
    dtype = dtype if isinstance(dtype, torch.dtype) else None     # not e.g. torch.save
    for name, module in modules.items():
        if module.alpha is not None:
            continue
        component, path = kohya_to_path(name)
        short = path.removeprefix("text_model.")
        pattern = config.get(f"{component}.alpha_pattern") or {}
        pattern = pattern if isinstance(pattern, dict) else {}
        alpha = pattern.get(short, pattern.get(path, config.get(f"{component}.lora_alpha")))
        if isinstance(alpha, (int, float, str)) and not isinstance(alpha, bool):
            try:
                module.alpha = torch.tensor(float(alpha), dtype=dtype or module.down.dtype)
            except ValueError:     # not a number: diffusers' default, alpha = rank
                continue


def kohya_tensors(weights: LoraWeights) -> dict[str, Any]:
    import torch

    out = {}
    for name, m in weights.modules.items():
        out[f"{name}.lora_down.weight"] = m.down.contiguous()
        out[f"{name}.lora_up.weight"] = m.up.contiguous()
        out[f"{name}.alpha"] = (m.alpha if m.alpha is not None else
                                torch.tensor(float(m.rank), dtype=m.down.dtype))
    return out


def peft_tensors(weights: LoraWeights) -> tuple[dict[str, Any], dict[str, str]]:
    """(tensors, extra metadata) in diffusers' PEFT layout."""
    tensors: dict[str, Any] = {}
    per_component: dict[str, dict[str, tuple[int, float]]] = {}
    alpha_dtypes = set()
    for name, m in weights.modules.items():
        component, path = kohya_to_path(name)
        tensors[f"{component}.{path}.lora_A.weight"] = m.down.contiguous()
        tensors[f"{component}.{path}.lora_B.weight"] = m.up.contiguous()
        # peft matches patterns as module-name suffixes: drop `text_model.`, which
        # transformers 5.x no longer has, so the names match on every version
        per_component.setdefault(component, {})[path.removeprefix("text_model.")] = (
            m.rank, m.alpha_value)
        if m.alpha is not None and m.alpha.dtype != m.down.dtype:
            alpha_dtypes.add(str(m.alpha.dtype).removeprefix("torch."))
    config: dict[str, Any] = {}
    for component, mods in per_component.items():
        r = Counter(v[0] for v in mods.values()).most_common(1)[0][0]
        a = Counter(v[1] for v in mods.values()).most_common(1)[0][0]
        config[f"{component}.r"] = r
        config[f"{component}.lora_alpha"] = a
        config[f"{component}.rank_pattern"] = {p: v[0] for p, v in mods.items() if v[0] != r}
        config[f"{component}.alpha_pattern"] = {p: v[1] for p, v in mods.items() if v[1] != a}
        config[f"{component}.target_modules"] = sorted(mods)
    extra = {ADAPTER_METADATA_KEY: json.dumps(config, sort_keys=True), "format": "pt"}
    if len(alpha_dtypes) == 1:
        extra[ALPHA_DTYPE_KEY] = alpha_dtypes.pop()
    return tensors, extra


def serialize_weights(weights: LoraWeights, metadata: dict[str, str], fmt: str = "kohya"
                      ) -> bytes:
    from loratui.train.export import serialize

    if fmt == "peft":
        tensors, extra = peft_tensors(weights)
        return serialize(tensors, {**metadata, **extra})
    return serialize(kohya_tensors(weights), metadata)


def read_error(exc: Exception) -> str:
    """One line for any failure to read a LoRA for the tools."""
    if isinstance(exc, (LoraError, WeightsError)):
        from loratui.i18n import error_text

        return error_text(exc)
    if isinstance(exc, OSError):
        return exc.strerror or str(exc)
    return f"{type(exc).__name__}: {exc}"

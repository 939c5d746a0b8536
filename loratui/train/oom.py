"""What to suggest after CUDA out-of-memory: the next smaller preset (P12, P14, P32)."""

from __future__ import annotations

from typing import Any

from loratui.i18n import N_, Message

# Config keys that decide memory use, shown in the suggestion.
MEMORY_KEYS = ("training.batch_size", "dataset.resolution", "network.rank",
               "training.gradient_checkpointing", "training.mixed_precision",
               "network.train_text_encoder", "training.gradient_accumulation")


def _get(data: dict[str, Any], dotted: str) -> Any:
    node: Any = data
    for part in dotted.split("."):
        node = node.get(part) if isinstance(node, dict) else None
    return node


def _leaf_keys(preset) -> list[str]:
    out: list[str] = []

    def walk(node: dict[str, Any], prefix: str) -> None:
        for key, value in node.items():
            if isinstance(value, dict):
                walk(value, f"{prefix}{key}.")
            else:
                out.append(prefix + key)
    walk(preset.config, "")
    return out


def current_preset(cfg, presets=None):
    """The preset whose memory-relevant values all match the config, else the one the
    detected GPU would get."""
    from loratui.families import family_id_of
    from loratui.presets import choose, load_presets

    presets = presets if presets is not None else load_presets()
    data = cfg.model_dump()
    family = family_id_of(cfg)
    same_kind = [p for p in presets if not p.cpu and p.kind == cfg.network.kind
                 and p.family == family]
    # A config written from a preset carries all its values; several tiers can be equal,
    # then the smallest of them is the one that really ran.
    for keys_of in (_leaf_keys, lambda p: MEMORY_KEYS):
        hits = [p for p in same_kind
                if all(_get(p.config, k) in (None, _get(data, k)) for k in keys_of(p))]
        if hits:
            return min(hits, key=lambda p: p.min_vram_gb)
    try:
        from loratui.gpu import detect

        best = detect(allow_torch=True).best
        vram = best.total_bytes / 2**30 if best else None
    except Exception:
        vram = None
    if vram:
        return choose(vram, cfg.network.kind, family, presets)
    return None


def suggestion(cfg) -> tuple[str, dict[str, Any] | None]:
    """(advice text, {"id", "label", "changes"}) for the event record."""
    from loratui.presets import next_smaller

    try:
        preset = current_preset(cfg)
        smaller = next_smaller(preset) if preset is not None else None
    except Exception:  # advice must never hide the OOM itself
        preset = smaller = None
    generic = Message(N_("Lower training.batch_size (raise gradient_accumulation to keep the "
                         "effective batch), turn on training.gradient_checkpointing, use "
                         "fp16/bf16, and make sure no other process holds the GPU "
                         "(nvidia-smi; P32)."))
    if smaller is None:
        return generic, None
    data = cfg.model_dump()

    def changes_of(p) -> dict[str, Any]:
        return {k: _get(p.config, k) for k in MEMORY_KEYS
                if _get(p.config, k) is not None and _get(p.config, k) != _get(data, k)}

    changes = changes_of(smaller)
    while not changes:  # a tier with the same settings would fail the same way
        lower = next_smaller(smaller)
        if lower is None:
            return generic, None
        smaller, changes = lower, changes_of(lower)
    command = (f"loratui presets --family {smaller.family} --gpu {smaller.min_vram_gb:g}GB "
               f"--kind {smaller.kind} --write loratui.toml")
    text = Message(N_("Try the next smaller preset `{id}` ({label}): `{command}` — it changes "
                      "{changes}. {advice}"), id=smaller.id, label=smaller.label,
                   command=command, changes=", ".join(f"{k} = {v}" for k, v in changes.items()),
                   advice=generic)
    return text, {"id": smaller.id, "label": smaller.label, "changes": changes,
                  "from": preset.id if preset else None}

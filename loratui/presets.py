"""GPU-size presets: data in `presets/*.toml`, chosen by card memory and LoRA kind."""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib

from loratui.i18n import N_, Message
from loratui.resources import presets_dir
from loratui.vram import VramEstimate, VramInputs, estimate

# A card sold as "8 GB" reports 7.6–8.0 GiB; accept this much below a tier's nominal size.
TIER_TOLERANCE_GB = 0.6


@dataclass(frozen=True)
class Preset:
    id: str
    family: str
    kind: str
    min_vram_gb: float
    label: str
    rationale: str
    config: dict[str, Any] = field(default_factory=dict)
    cpu: bool = False
    path: Path | None = None
    # language -> {"label": ..., "rationale": ...} from the file's [preset.zh] table
    translations: dict[str, dict[str, str]] = field(default_factory=dict)
    # why for_gpu() changed the precision (a Message), appended to the rationale
    adjustment: str = ""

    def text(self, name: str) -> str:
        """`label` or `rationale` in the current language (English when the file has no
        translation for it), with the GPU adjustment after the rationale."""
        from loratui.i18n import _, language, localized

        english = {"label": self.label, "rationale": self.rationale}[name]
        translated = self.translations.get(language(), {}).get(name)
        if translated is None:
            return english
        if name == "rationale" and self.adjustment:
            return translated + " " + _("Here: {why}.").format(
                why=localized(self.adjustment))
        return translated

    def get(self, dotted: str, default: Any = None) -> Any:
        node: Any = self.config
        for part in dotted.split("."):
            if not isinstance(node, dict) or part not in node:
                return default
            node = node[part]
        return node

    def vram_inputs(self) -> VramInputs:
        d = VramInputs()
        te = self.get("network.train_text_encoder", d.train_text_encoder) and \
            self.get("optimizer.text_encoder_lr", 5e-6) > 0
        return VramInputs(
            rank=self.get("network.rank", d.rank),
            batch_size=self.get("training.batch_size", d.batch_size),
            resolution=self.get("dataset.resolution", d.resolution),
            mixed_precision=self.get("training.mixed_precision", d.mixed_precision),
            gradient_checkpointing=self.get("training.gradient_checkpointing",
                                            d.gradient_checkpointing),
            attention=self.get("training.attention", d.attention),
            train_text_encoder=te,
            cache_latents=self.get("training.cache_latents", d.cache_latents),
            no_half_vae=self.get("training.no_half_vae", d.no_half_vae),
            optimizer=self.get("optimizer.name", d.optimizer),
            family=self.family if not self.cpu else d.family,
            cache_text_encoder_outputs=not te and not (
                self.get("dataset.shuffle_captions", False)
                or self.get("dataset.caption_dropout", 0.0)),
        )

    def estimate(self) -> VramEstimate:
        return estimate(self.vram_inputs())

    def apply(self, base: dict[str, Any] | None = None) -> dict[str, Any]:
        """Deep-merge this preset's values over a config dict (RunConfig.model_dump())."""
        out = copy.deepcopy(base or {})
        _deep_merge(out, self.config)
        return out

    def for_gpu(self, gpu: Any = None) -> Preset:
        """This preset with the mixed precision the GPU trains in (`loratui.precision`):
        fp32 on GTX 16xx-class cards, bf16 only on a GPU known to have it. `gpu` is a
        `GpuInfo` or None when only the card's size is known."""
        from loratui.precision import precision_for

        preferred = self.get("training.mixed_precision")
        if not preferred:
            return self
        name = getattr(gpu, "name", None)
        precision, why = precision_for(preferred, name, getattr(gpu, "compute_capability", None))
        if precision == preferred:
            return self
        config = copy.deepcopy(self.config)
        config.setdefault("training", {})["mixed_precision"] = precision
        if precision == "no":
            config["training"]["no_half_vae"] = True
        return replace(self, config=config, rationale=f"{self.rationale} Here: {why}.",
                       adjustment=why)

    def to_config(self, base=None):
        """A RunConfig with this preset applied over `base` (a RunConfig or None)."""
        from loratui.config import RunConfig

        data = base.model_dump() if base is not None else RunConfig().model_dump()
        return RunConfig.model_validate(self.apply(data))


def _deep_merge(dst: dict[str, Any], src: dict[str, Any]) -> None:
    for key, value in src.items():
        if isinstance(value, dict) and isinstance(dst.get(key), dict):
            _deep_merge(dst[key], value)
        else:
            dst[key] = copy.deepcopy(value)


class PresetError(Exception):
    pass


def load_preset(path: Path) -> Preset:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
        meta = data["preset"]
        return Preset(
            id=meta["id"], family=meta["family"], kind=meta["kind"],
            min_vram_gb=float(meta["min_vram_gb"]), label=meta["label"],
            rationale=meta["rationale"], config=data.get("config", {}),
            cpu=bool(meta.get("cpu", False)), path=path,
            translations={lang: {k: str(v) for k, v in texts.items()}
                          for lang, texts in meta.items() if isinstance(texts, dict)},
        )
    except (OSError, tomllib.TOMLDecodeError, KeyError, TypeError, ValueError) as exc:
        raise PresetError(f"{path}: invalid preset ({exc})") from None


def load_presets(folder: Path | None = None) -> list[Preset]:
    folder = folder or presets_dir()
    presets = [load_preset(p) for p in sorted(folder.glob("*.toml"))]
    return sorted(presets, key=lambda p: (p.cpu is False, p.min_vram_gb, p.kind))


def parse_vram(text: str) -> float:
    """'8GB', '8 gb', '8', '7.6GiB', '12G' → gigabytes."""
    m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*(g|gb|gib)?\s*", text, re.IGNORECASE)
    if not m:
        raise ValueError(Message(N_("cannot read {text} as a memory size; write it like 8GB"),
                                 text=repr(text)))
    return float(m.group(1))


def matching(cfg: Any, presets: list[Preset] | None = None) -> Preset | None:
    """The preset whose settings `cfg` already holds (applying it changes nothing), if any:
    how a config made from a preset is named again when it is opened."""
    for preset in presets if presets is not None else load_presets():
        if preset.to_config(cfg) == cfg:
            return preset
    return None


def choose(vram_gb: float | None, kind: str = "character", family: str = "sd15",
           presets: list[Preset] | None = None, gpu: Any = None) -> Preset:
    """The largest preset tier that fits `vram_gb`; the CPU preset when there is no GPU.
    Its mixed precision is the one `gpu` (a `GpuInfo`, None when only the size is known)
    trains in, and the tier is chosen with that precision's memory estimate."""
    presets = presets if presets is not None else load_presets()
    presets = [p if p.cpu else p.for_gpu(gpu) for p in presets]
    if vram_gb is None or vram_gb <= 0:
        cpu = [p for p in presets if p.cpu]
        if cpu:
            return cpu[0]
        raise PresetError("no CPU preset found")
    candidates = [p for p in presets if not p.cpu and p.family == family and p.kind == kind]
    if not candidates:
        raise PresetError(f"no preset for family={family} kind={kind}")
    fitting = [p for p in candidates if p.min_vram_gb <= vram_gb + TIER_TOLERANCE_GB]
    if not fitting:
        return min(candidates, key=lambda p: p.min_vram_gb)
    # Highest tier whose own estimate also fits the card.
    for preset in sorted(fitting, key=lambda p: p.min_vram_gb, reverse=True):
        if preset.estimate().fits(max(vram_gb, preset.min_vram_gb)):
            return preset
    return min(fitting, key=lambda p: p.min_vram_gb)


def next_smaller(preset: Preset, presets: list[Preset] | None = None) -> Preset | None:
    """The next tier down (same family and kind), e.g. after an out-of-memory error."""
    presets = presets if presets is not None else load_presets()
    smaller = [p for p in presets if not p.cpu and p.family == preset.family
               and p.kind == preset.kind and p.min_vram_gb < preset.min_vram_gb]
    return max(smaller, key=lambda p: p.min_vram_gb, default=None)

"""The LoRA Block Weight extension's block layouts (FORMATS.md §3.2).

Data plus one mapping function: which block (BASE = text encoder, INnn, M00, OUTnn) a
kohya module belongs to, the short layout a plain (attention-only) LoRA has, the long one
of LyCORIS / LoCon, and the extension's built-in presets. Each model family owns its
layout in its data (`[lbw]` in family.toml: SD1.x 17 / 26, SDXL 12 / 20); `layout_for`
builds it from there.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field

from loratui.i18n import N_, Message


@dataclass(frozen=True)
class BlockLayout:
    family: str
    blocks: tuple[str, ...]            # the long layout (LyCORIS / LoCon)
    lora_blocks: tuple[str, ...]       # the short layout of an attention-only LoRA
    presets: dict[str, tuple[float, ...]] = field(default_factory=dict)  # short layout
    # (regex over the kohya module name, its match → block name)
    rules: tuple[tuple[str, Callable[[re.Match], str]], ...] = ()

    def block_of(self, module: str) -> str | None:
        """The block a canonical kohya module name belongs to (None: outside all blocks,
        e.g. conv_out or the time embedding, which the extension leaves at full weight)."""
        for pattern, block in self.rules:
            m = re.match(pattern, module)
            if m:
                return block(m)
        return None

    def vector(self, spec: str) -> dict[str, float]:
        """Block → weight for a preset name, a single block name (`IN02`: that block
        alone, as the extension's README shows) or a comma list of 17 / 26 values. Blocks
        absent from a short list are 0, as the extension's `to26()` does."""
        text = spec.strip().strip('"')
        if text in self.presets:
            values = self.presets[text]
            return _pad(dict(zip(self.lora_blocks, values, strict=True)), self.blocks)
        if text in self.blocks:
            return {b: 1.0 if b in (text, "BASE") else 0.0 for b in self.blocks}
        parts = [p.strip() for p in text.split(",")]
        try:
            values = tuple(float(p) for p in parts)
        except ValueError:
            raise ValueError(Message(N_("`{spec}`: not a preset ({presets}), a block name or "
                                        "a list of numbers"),
                                     spec=spec, presets=", ".join(self.presets))) from None
        for names in (self.lora_blocks, self.blocks):
            if len(values) == len(names):
                return _pad(dict(zip(names, values, strict=True)), self.blocks)
        raise ValueError(Message.ngettext(
            "`{spec}` has {n} value; the {family} layout takes {short} (LoRA) or {long} "
            "(LyCORIS)",
            "`{spec}` has {n} values; the {family} layout takes {short} (LoRA) or {long} "
            "(LyCORIS)", len(values), spec=spec, family=self.family,
            short=len(self.lora_blocks), long=len(self.blocks)))

    def lbw_string(self, weights: dict[str, float], *, long: bool = False) -> str:
        """The shortest `lbw=` value for these block weights: a preset name when one
        matches, else the 17- (or 26-) value list."""
        if not long:
            short = tuple(weights.get(b, 0.0) for b in self.lora_blocks)
            for name, values in self.presets.items():
                if name != "NONE" and values == short:
                    return name
            return ",".join(_fmt(v) for v in short)
        return ",".join(_fmt(weights.get(b, 0.0)) for b in self.blocks)


def _pad(weights: dict[str, float], blocks: tuple[str, ...]) -> dict[str, float]:
    return {b: float(weights.get(b, 0.0)) for b in blocks}


def _fmt(v: float) -> str:
    return f"{v:g}"


# The columns of the extension's 17-value presets below (SD1.x's short layout).
SD15_LORA_BLOCKS = ("BASE", "IN01", "IN02", "IN04", "IN05", "IN07", "IN08", "M00", "OUT03",
                    "OUT04", "OUT05", "OUT06", "OUT07", "OUT08", "OUT09", "OUT10", "OUT11")


def _preset(ones: str) -> tuple[float, ...]:
    return tuple(float(c) for c in ones.split(","))


SD15_PRESETS = {  # the extension's DEF_WEIGHT_PRESET (17 values)
    "NONE": _preset("0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0"),
    "ALL": _preset("1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1"),
    "INS": _preset("1,1,1,1,0,0,0,0,0,0,0,0,0,0,0,0,0"),
    "IND": _preset("1,0,0,0,1,1,1,0,0,0,0,0,0,0,0,0,0"),
    "INALL": _preset("1,1,1,1,1,1,1,0,0,0,0,0,0,0,0,0,0"),
    "MIDD": _preset("1,0,0,0,1,1,1,1,1,1,1,1,0,0,0,0,0"),
    "OUTD": _preset("1,0,0,0,0,0,0,0,1,1,1,1,0,0,0,0,0"),
    "OUTS": _preset("1,0,0,0,0,0,0,0,0,0,0,0,1,1,1,1,1"),
    "OUTALL": _preset("1,0,0,0,0,0,0,0,1,1,1,1,1,1,1,1,1"),
    "ALL0.5": _preset(",".join(["0.5"] * 17)),
}

def _n(m: re.Match, i: int) -> int:
    return int(m.group(i))


# kohya (diffusers-named) module → block, the way A1111 renames it to LDM names
# (FORMATS.md §2.4: down i, layer j → input_blocks 1+3i+j) before the extension matches
# `input_blocks_N` → IN(N). LDM-named kohya keys map directly.
SD15_RULES: tuple[tuple[str, Callable[[re.Match], str]], ...] = (
    (r"lora_te\d?_", lambda m: "BASE"),
    (r"lora_unet_down_blocks_(\d+)_(?:attentions|resnets)_(\d+)_",
     lambda m: f"IN{1 + 3 * _n(m, 1) + _n(m, 2):02d}"),
    (r"lora_unet_down_blocks_(\d+)_downsamplers_", lambda m: f"IN{3 + 3 * _n(m, 1):02d}"),
    (r"lora_unet_mid_block_", lambda m: "M00"),
    (r"lora_unet_up_blocks_(\d+)_(?:attentions|resnets)_(\d+)_",
     lambda m: f"OUT{3 * _n(m, 1) + _n(m, 2):02d}"),
    (r"lora_unet_up_blocks_(\d+)_upsamplers_", lambda m: f"OUT{2 + 3 * _n(m, 1):02d}"),
    (r"lora_unet_conv_in", lambda m: "IN00"),
    (r"lora_unet_input_blocks_(\d+)_", lambda m: f"IN{_n(m, 1):02d}"),
    (r"lora_unet_middle_block_", lambda m: "M00"),
    (r"lora_unet_output_blocks_(\d+)_", lambda m: f"OUT{_n(m, 1):02d}"),
)



def _from_lbw(names: tuple[str, ...]) -> tuple[str, ...]:
    return tuple("M00" if n == "MID" else n for n in names)  # the extension's code name


def _derived_presets(lora_blocks: tuple[str, ...]) -> dict[str, tuple[float, ...]]:
    """The built-in presets on another family's short layout: uniform presets stay uniform;
    the others keep their value per block name (the extension expands a 17-value vector
    to the 26 named blocks, absent ones 0, and a layout reads its blocks by name)."""
    out = {}
    for name, values in SD15_PRESETS.items():
        if len(set(values)) == 1:
            out[name] = (values[0],) * len(lora_blocks)
        else:
            by_name = dict(zip(SD15_LORA_BLOCKS, values, strict=True))
            out[name] = tuple(by_name.get(b, 0.0) for b in lora_blocks)
    return out


def layout_from_family(family) -> BlockLayout:
    """A family's block layout from its `[lbw]` data (short = fewest weights). kohya's
    module names map to blocks with the same rules for SD1.x and SDXL: both number LDM
    input blocks 1 + 3·level + layer and output blocks 3·level + layer."""
    counts = sorted(family.lbw_layouts)
    short, long = _from_lbw(family.lbw_layouts[counts[0]]), _from_lbw(family.lbw_layouts[counts[-1]])
    presets = SD15_PRESETS if short == SD15_LORA_BLOCKS else _derived_presets(short)
    return BlockLayout(family=family.id, blocks=long, lora_blocks=short, presets=presets,
                       rules=SD15_RULES)


_LAYOUTS: dict[str, BlockLayout] = {}


def layout_for(family: str | None) -> BlockLayout | None:
    """The block layout of a model family, from the family's data (SD2 shares SD1's UNet
    block structure); None for a family loratui does not know."""
    from loratui import families

    fid = {"sd2": "sd15"}.get(family or "", family or "")
    if fid not in families.ids():
        return None
    if fid not in _LAYOUTS:
        _LAYOUTS[fid] = layout_from_family(families.get(fid))
    return _LAYOUTS[fid]

"""`loratui lora blocks`: how strongly a LoRA changes each block of the model.

Per module the strength is ‖ΔW‖_F with ΔW = up·down·alpha/rank, computed without forming
ΔW: ‖U·D‖² = Σ (UᵀU) ⊙ (D·Dᵀ), two rank×rank products. Strengths are summed per block of
the LoRA Block Weight extension's layout (BASE = text encoder). numpy only: reading the
tensors is the cost, so the command stays close to the time of a plain read.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from loratui.cjk import cells, wrap
from loratui.i18n import N_, Message, _, ngettext
from loratui.lora.block_layout import BlockLayout, layout_for
from loratui.lora.names import split_key
from loratui.lora.reader import LoraFile, _to_array, open_lora, two_matrices

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

DOMINANT_FACTOR = 1.5  # a block is dominant at 1.5× the mean share of the blocks in use
DOMINANT_MAX = 3


class BlocksError(Exception):
    """The file cannot be mapped to blocks (message names the reason and the fix)."""


@dataclass
class BlockStrengths:
    path: Path
    family: str
    layout: BlockLayout
    strength: dict[str, float]                       # block → Σ ‖ΔW‖
    modules: dict[str, int]                          # block → module count
    outside: float = 0.0                             # modules in no block (conv_out …)
    skipped: list[str] = field(default_factory=list)  # modules without a down/up pair

    @property
    def total(self) -> float:
        return sum(self.strength.values())

    def share(self, block: str) -> float:
        return self.strength.get(block, 0.0) / self.total if self.total else 0.0

    def long_layout_needed(self) -> bool:
        """True when modules sit in blocks only the 26-value layout has (LoCon)."""
        short = set(self.layout.lora_blocks)
        return any(n and b not in short for b, n in self.modules.items())

    def dominant(self) -> list[str]:
        """Up to three blocks, strongest first, well above the mean of the blocks in use."""
        used = [b for b, v in self.strength.items() if v > 0]
        if len(used) < 2:
            return used
        bar_ = DOMINANT_FACTOR / len(used)
        ranked = sorted(used, key=self.strength.get, reverse=True)
        return [b for b in ranked if self.share(b) >= bar_][:DOMINANT_MAX]

    def to_json(self) -> dict[str, Any]:
        blocks = self.layout.blocks if self.long_layout_needed() else self.layout.lora_blocks
        return {
            "path": str(self.path), "family": self.family, "total": self.total,
            "layout": len(blocks),
            "blocks": [{"block": b, "modules": self.modules.get(b, 0),
                        "strength": self.strength.get(b, 0.0), "share": self.share(b)}
                       for b in blocks],
            # blocks_26 / blocks_17 for SD1.x, blocks_20 / blocks_12 for SDXL
            f"blocks_{len(self.layout.blocks)}": {b: self.strength.get(b, 0.0)
                                                  for b in self.layout.blocks},
            f"blocks_{len(self.layout.lora_blocks)}": {b: self.strength.get(b, 0.0)
                                                       for b in self.layout.lora_blocks},
            "dominant": self.dominant(), "outside_blocks": self.outside,
            "skipped_modules": self.skipped,
        }


def module_pairs(lora: LoraFile) -> dict[str, dict[str, Any]]:
    """Canonical module → {"down": TensorInfo, "up": TensorInfo, "alpha": TensorInfo}."""
    pairs: dict[str, dict[str, Any]] = {}
    for key, info in lora.tensors.items():
        split = split_key(key)
        if split:
            pairs.setdefault(split[0], {})[split[1]] = info
    return pairs


def block_strengths(path: str | Path, lora: LoraFile | None = None) -> BlockStrengths:
    import numpy as np

    lora = lora or open_lora(path)
    pairs = module_pairs(lora)
    if not pairs:   # a base checkpoint or an empty file: say that, not its "family"
        raise BlocksError(Message(N_("no LoRA modules ({format} file): `loratui lora inspect` "
                                     "shows what it holds"), format=lora.format()))
    fam = lora.family()[0] or lora.metadata_family()
    layout = layout_for(fam)
    if layout is None:
        raise BlocksError(Message(N_("a {family}-family LoRA: block weights are mapped for "
                                     "SD1.x/SD2.x (17/26 blocks) and SDXL (12/20 blocks) "
                                     "LoRAs"), family=fam or Message(N_("unknown"))))
    result = BlockStrengths(Path(lora.path), layout.family, layout,
                            dict.fromkeys(layout.blocks, 0.0), dict.fromkeys(layout.blocks, 0))
    alphas = lora.alphas()
    alpha_by_module = {split_key(k + ".alpha")[0]: v for k, v in alphas.items()
                       if split_key(k + ".alpha")}
    with open(lora.path, "rb") as fh:
        def read(info) -> Any:
            fh.seek(lora.data_offset + info.start)
            arr = _to_array(np, fh.read(info.end - info.start), info.dtype)
            return arr.astype(np.float32).reshape(info.shape[0], -1)

        for module in sorted(pairs, key=lambda m: pairs[m].get("down", _Nil).start):
            parts = pairs[module]
            if "down" not in parts or "up" not in parts or \
                    not two_matrices(parts["down"].shape, parts["up"].shape):
                result.skipped.append(module)
                continue
            down = read(parts["down"])                   # [r, in·k·k]
            up = read(parts["up"])                       # [out, r]
            rank = down.shape[0]
            if up.shape[1] != rank:
                result.skipped.append(module)
                continue
            alpha = alpha_by_module.get(module, float(rank))
            gram = (up.T @ up) * (down @ down.T)
            norm = float(np.sqrt(max(float(gram.sum()), 0.0))) * abs(alpha / rank)
            block = layout.block_of(module)
            if block is None:
                result.outside += norm
                continue
            result.strength[block] += norm
            result.modules[block] += 1
    return result


class _Nil:
    start = 0


BAR_EIGHTHS = " ▏▎▍▌▋▊▉"


def bar(fraction: float, width: int) -> str:
    cells = max(0.0, min(1.0, fraction)) * width
    full = int(cells)
    rest = int((cells - full) * 8)
    return "█" * full + (BAR_EIGHTHS[rest] if rest and full < width else "")


def pad(text: str, columns: int, *, right: bool = False) -> str:
    """`text` padded to `columns` terminal columns (CJK characters take two)."""
    fill = " " * max(0, columns - cells(text))
    return fill + text if right else text + fill


def render(s: BlockStrengths, width: int = 80) -> str:
    data = s.to_json()
    top = max((b["strength"] for b in data["blocks"]), default=0.0) or 1.0
    bar_width = max(10, width - 38)
    dominant = set(data["dominant"])
    lines = [f"{s.path}", "  " + _("per-block strength ‖ΔW‖ (up·down·alpha/rank), {layout}-block "
                                   "layout (BASE = text encoder)").format(layout=data["layout"]),
             "", "  " + pad(_("block"), 6) + " " + pad(_("mods"), 4, right=True) + " " +
             pad(_("strength"), 9, right=True) + " " + pad(_("share"), 6, right=True) + "  "]
    for b in data["blocks"]:
        mark = "◀" if b["block"] in dominant else " "
        strength = f"{b['strength']:9.3g}" if b["modules"] else f"{'—':>9}"
        lines.append(f"  {b['block']:<6} {b['modules']:>4} {strength} "
                     f"{b['share'] * 100:5.1f}% {mark}{bar(b['strength'] / top, bar_width)}")
    lines.append("")
    if data["dominant"]:
        carried = sum(s.share(b) for b in data["dominant"]) * 100
        text = ngettext("dominant: {blocks} carries {share} of the LoRA's strength: try them "
                        "alone and zeroed on a grid (`loratui lora grid`) to see whether it "
                        "holds the subject or pollutes it",
                        "dominant: {blocks} carry {share} of the LoRA's strength: try them "
                        "alone and zeroed on a grid (`loratui lora grid`) to see whether it "
                        "holds the subject or pollutes it", len(data["dominant"])).format(
            blocks=", ".join(data["dominant"]), share=f"{carried:.0f}%")
        first, *rest = wrap(text, width - 4)
        lines += ["  " + first, *("    " + line for line in rest)]
    else:
        lines.append("  " + _("no dominant block: the strength is spread evenly"))
    empty = [b["block"] for b in data["blocks"] if not b["modules"]]
    if empty:
        lines.append("  " + _("no modules in {blocks}: their block weights change nothing")
                     .format(blocks=", ".join(empty)))
    if s.outside:
        lines.append("  " + _("{strength} more in modules outside the blocks (kept at full "
                              "weight by the block-weight extension)").format(
            strength=f"{s.outside:.3g}"))
    if s.skipped:
        lines.append("  " + ngettext("{n} module skipped (not a down/up pair), e.g. {example}",
                                     "{n} modules skipped (not a down/up pair), e.g. {example}",
                                     len(s.skipped)).format(n=len(s.skipped),
                                                            example=s.skipped[0]))
    return "\n".join(lines) + "\n"

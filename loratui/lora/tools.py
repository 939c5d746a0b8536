"""LoRA tools that fix a LoRA without retraining: resize (P20), merge (P19), scale (P27 after
the fact, or a block vector) and convert. Each returns new `LoraWeights` plus a report;
`write_output` writes atomically and never replaces a file without consent and a backup.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from loratui.i18n import N_
from loratui.i18n import Message as M
from loratui.lora.block_layout import BlockLayout, layout_for
from loratui.lora.weights import LoraWeights, Module, serialize_weights

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any


class ToolError(Exception):
    """A tool cannot do what was asked; the message names the fix."""


@dataclass
class Report:
    lines: list[str] = field(default_factory=list)
    data: dict[str, Any] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)


def layout_of(weights: LoraWeights) -> BlockLayout | None:
    """The block layout of the file's family (None: a family loratui has no layout for)."""
    from loratui.lora.reader import open_lora

    if weights.path is None:
        return layout_for("sd15")
    lora = open_lora(weights.path)
    family = lora.family()[0] or lora.metadata_family()
    return layout_for(family or "sd15")


# ------------------------------------------------------------------------------ resize
def _svd_lowrank(m: Module):
    """U, S, Vh of ΔW/scale = up·down from QR of both factors (exact, rank×rank SVD)."""
    import torch

    up = m.up.double().flatten(1)          # [out, r]
    down = m.down.double().flatten(1)      # [r, in]
    qu, ru = torch.linalg.qr(up)
    qd, rd = torch.linalg.qr(down.T)
    u_small, s, vh_small = torch.linalg.svd(ru @ rd.T)
    return qu @ u_small, s, (qd @ vh_small.T).T


def resize(weights: LoraWeights, rank: int, layout: BlockLayout | None
           ) -> tuple[LoraWeights, Report]:
    """Truncated SVD of every module's ΔW to `rank` (modules already at or below it keep
    their rank, recomposed). alpha/rank is kept (alpha scales with the rank), so the file
    at weight w behaves like the old one at w minus the dropped energy."""
    import torch

    if rank < 1:
        raise ToolError(M(N_("--rank must be at least 1")))
    out: dict[str, Module] = {}
    kept: dict[str, list[float]] = {}
    for name, m in weights.modules.items():
        if not (bool(torch.isfinite(m.down).all()) and bool(torch.isfinite(m.up).all())):
            raise ToolError(M(N_("module `{name}` holds NaN or infinite values (the training "
                                 "diverged): no resize can repair that; retrain, or use an "
                                 "earlier checkpoint (`loratui doctor FILE` lists them)"),
                              name=name))
        u, s, vh = _svd_lowrank(m)
        k = min(rank, int(s.numel()))
        energy = float((s**2).sum())
        block = (layout.block_of(name) if layout else None) or "other"
        acc = kept.setdefault(block, [0.0, 0.0])
        acc[0] += float((s[:k] ** 2).sum())
        acc[1] += energy
        new_alpha = m.alpha_value * k / m.rank
        root = s[:k].sqrt()
        up = (u[:, :k] * root)
        down = (root[:, None] * vh[:k])
        dtype = m.down.dtype
        up = up.reshape(m.up.shape[0], k, *m.up.shape[2:]).to(dtype)
        down = down.reshape(k, *m.down.shape[1:]).to(dtype)
        alpha_dtype = m.alpha.dtype if m.alpha is not None else dtype
        out[name] = Module(down.contiguous(), up.contiguous(),
                           torch.tensor(new_alpha, dtype=_exact_dtype(new_alpha, alpha_dtype)))
    report = Report()
    per_block = {b: (v[0] / v[1] if v[1] else 1.0) for b, v in kept.items()}
    total = sum(v[0] for v in kept.values()) / (sum(v[1] for v in kept.values()) or 1.0)
    report.data = {"rank": rank, "energy_kept": total, "energy_kept_per_block": per_block,
                   "from_rank": dict(weights.ranks())}
    report.lines.append(M(N_("rank {old} → {new}: {share} of the energy (Σσ²) kept"),
                          old=_ranks(weights), new=rank, share=f"{total * 100:.2f}%"))
    known = layout.blocks if layout else ()
    order = [b for b in known if b in per_block] + [b for b in per_block if b not in known]
    for b in order:
        report.lines.append(f"  {b:<6} {per_block[b] * 100:7.2f}%")
    low = [b for b in order if per_block[b] < 0.9]
    if low:
        report.warnings.append(M(N_("{blocks} keep less than {limit} of their energy: compare "
                                    "both files on a grid before deleting the old one"),
                                 blocks=", ".join(low), limit="90%"))
    return LoraWeights(out, weights.metadata, weights.source_format, weights.path), report


def _ranks(weights: LoraWeights) -> str:
    ranks = sorted(weights.ranks())
    return str(ranks[0]) if len(ranks) == 1 else f"{ranks[0]}–{ranks[-1]}"


def _exact_dtype(value: float, dtype):
    """`dtype` when it holds `value` exactly, else float32 (alphas like 5.6 in fp16)."""
    import torch

    return dtype if float(torch.tensor(value, dtype=dtype)) == value else torch.float32


# ------------------------------------------------------------------------------ merge
def merge(loras: list[LoraWeights], weights: list[float]) -> tuple[LoraWeights, Report]:
    """Exact merge: ranks are concatenated (down stacked, up scaled by w·alpha/rank), alpha =
    the new rank. The merged file at 1.0 equals the inputs applied at their weights."""
    import torch

    if len(loras) != len(weights):
        raise ToolError(M(N_("{files} files but {weights} weights: give one weight per file, "
                             "e.g. --weights 0.7,0.5"), files=len(loras), weights=len(weights)))
    dtype = loras[0].dtype
    names = sorted({n for lora in loras for n in lora.modules})
    shapes: dict[str, tuple] = {}
    out: dict[str, Module] = {}
    for name in names:
        downs, ups = [], []
        for lora, w in zip(loras, weights, strict=True):
            m = lora.modules.get(name)
            if m is None or w == 0:
                continue
            shape = (tuple(m.up.shape[:1]), tuple(m.down.shape[1:]))
            if shapes.setdefault(name, shape) != shape:
                raise ToolError(M(N_("`{name}` has different shapes in the files ({shape} vs "
                                     "{other}): they are for different base models"),
                                  name=name, shape=shape, other=shapes[name]))
            downs.append(m.down.float())
            ups.append(m.up.float() * (w * m.scale))
        if not downs:
            continue
        down = torch.cat(downs, 0)
        up = torch.cat(ups, 1)
        r = down.shape[0]
        out[name] = Module(down.to(dtype).contiguous(), up.to(dtype).contiguous(),
                           torch.tensor(float(r), dtype=dtype))
    meta = dict(loras[0].metadata)
    report = Report()
    report.data = {"weights": weights, "sum": sum(weights), "modules": len(out)}
    report.lines.append(M(N_("merged {n} LoRAs at {weights} = {total}: {modules} modules, rank "
                             "{ranks}"), n=len(loras),
                          weights=" + ".join(f"{w:g}" for w in weights),
                          total=f"{sum(weights):g}", modules=len(out), ranks=_ranks_of(out)))
    return LoraWeights(out, meta, "kohya", None), report


def _ranks_of(modules: dict[str, Module]) -> str:
    ranks = sorted({m.rank for m in modules.values()})
    return str(ranks[0]) if len(ranks) == 1 else f"{ranks[0]}–{ranks[-1]}"


# ------------------------------------------------------------------------------ scale
def scale(weights: LoraWeights, factor: float, blocks: dict[str, float] | None,
          layout: BlockLayout | None) -> tuple[LoraWeights, Report]:
    """Bake a weight (and optionally a block vector) into the alphas; the up/down tensors
    stay bit-identical. Modules whose weight becomes 0 are dropped (an alpha of 0 means
    "rank" to sd-scripts but "off" to A1111, so it is never written)."""
    import torch

    if blocks and layout is None:
        raise ToolError(M(N_("block vectors exist for SD1.x/SD2.x LoRAs only so far")))
    out: dict[str, Module] = {}
    dropped = 0
    for name, m in weights.modules.items():
        block = layout.block_of(name) if layout else None
        f = factor * (blocks.get(block, 1.0) if blocks and block else 1.0)
        if f == 0:
            dropped += 1
            continue
        value = m.alpha_value * f
        dtype = m.alpha.dtype if m.alpha is not None else m.down.dtype
        out[name] = Module(m.down, m.up, torch.tensor(value, dtype=_exact_dtype(value, dtype)))
    if not out:
        raise ToolError(M(N_("every module would be at weight 0: nothing left to write")))
    report = Report()
    report.data = {"weight": factor, "blocks": blocks, "dropped_modules": dropped}
    if blocks and layout:
        report.lines.append(M(N_("baked weight {weight} × block vector {vector} into the alphas: "
                                 "at strength 1.0 the new file acts as the old one at {weight} "
                                 "with those block weights"), weight=f"{factor:g}",
                              vector=layout.lbw_string(blocks)))
    else:
        report.lines.append(M(N_("baked weight {weight} into the alphas: at strength 1.0 the new "
                                 "file acts as the old one at {weight}"), weight=f"{factor:g}"))
    if dropped:
        report.lines.append(M.ngettext("  {n} module at block weight 0 left out",
                                       "  {n} modules at block weight 0 left out", dropped))
    return LoraWeights(out, weights.metadata, weights.source_format, weights.path), report


# ------------------------------------------------------------------------------ output
def default_output(source: Path, suffix: str) -> Path:
    return source.with_name(f"{source.stem}-{suffix}.safetensors")


def write_output(weights: LoraWeights, metadata: dict[str, str], out: Path, *,
                 inputs: list[Path], overwrite: bool, fmt: str = "kohya") -> Path | None:
    """Write atomically. An existing file is replaced only with `overwrite`, after a copy
    to `<name>.<UTC time>.bak` (an input file too; never over an earlier backup). Returns the
    backup path, if any."""
    from loratui.atomic import atomic_write_bytes
    from loratui.userfiles import keep_backup

    out = Path(out)
    backup = None
    if out.exists():
        is_input = any(out.resolve() == Path(p).resolve() for p in inputs)
        if not overwrite:
            raise ToolError(M(N_("{out} is the input file: choose another --output, or add "
                                 "--overwrite (the old file is kept as a timestamped .bak)")
                              if is_input else
                              N_("{out} exists: choose another --output, or add --overwrite "
                                 "(the old file is kept as a timestamped .bak)"), out=out))
        backup = keep_backup(out)
    atomic_write_bytes(out, serialize_weights(weights, metadata, fmt))
    return backup

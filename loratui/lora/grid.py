"""`loratui lora grid`: the guide's XY grid of test images (P23), rendered with diffusers.

Rows are LoRA weights (P17/P18), columns block vectors of the LoRA Block Weight extension
(its presets, each block alone, each block zeroed). Every cell uses the same prompt, seed,
sampler and step count; only the adapter scales change. Block weights are applied with
diffusers' `set_adapters` per-block scale dict (text encoder = BASE), so no weight is
patched by hand; LoRA layers outside the attention blocks (LoCon) get their block's scale
through peft's `set_scale`. Cells are cached as PNGs named by everything that decides
their pixels, so an interrupted grid resumes and a changed setting never reuses a stale
cell. torch / diffusers are imported inside the functions.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from loratui.i18n import N_, Message
from loratui.lora.block_layout import BlockLayout

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

DEFAULT_WEIGHTS = (0.3, 0.5, 0.7, 0.9, 1.0)
GRID_PRESETS = ("ALL", "INS", "IND", "INALL", "MIDD", "OUTD", "OUTS", "OUTALL")
ADAPTER = "lora"


class GridError(Exception):
    """The grid cannot be rendered; the message names the fix."""


@dataclass(frozen=True)
class Column:
    label: str
    vector: dict[str, float]


@dataclass
class GridSpec:
    lora: Path
    base: Path
    prompt: str
    out: Path
    negative: str = ""
    weights: tuple[float, ...] = DEFAULT_WEIGHTS
    columns: str = "presets,alone,zeroed"
    seed: int = 1234
    steps: int = 20
    size: int | None = None       # default: the model's native size
    guidance: float = 7.0

    @property
    def cells_dir(self) -> Path:
        return self.out.with_name(self.out.stem + ".cells")


@dataclass
class GridResult:
    path: Path
    rows: list[float]
    columns: list[Column]
    cells: dict[tuple[int, int], Path]
    rendered: int = 0
    reused: int = 0
    pipeline_seconds: float = 0.0
    sampler: str = ""
    size: int = 0
    blocks_in_use: list[str] = field(default_factory=list)


def columns_for(spec: str, layout: BlockLayout, in_use: list[str]) -> list[Column]:
    """`presets`, `alone`, `zeroed`, preset names, `IN07` (alone), `-IN07` (zeroed) or
    `label=v1,…` (17 / 26 values), comma- or space-separated groups."""
    cols: list[Column] = []
    ones = dict.fromkeys(layout.blocks, 1.0)
    for token in spec.replace(";", " ").replace(",", " ").split():
        if token == "presets":
            cols += [Column(p, layout.vector(p)) for p in GRID_PRESETS]
        elif token == "alone":
            cols += [Column(b, {**dict.fromkeys(layout.blocks, 0.0), b: 1.0}) for b in in_use]
        elif token == "zeroed":
            cols += [Column(f"-{b}", {**ones, b: 0.0}) for b in in_use]
        elif token.startswith("-") and token[1:] in layout.blocks:
            cols.append(Column(token, {**ones, token[1:]: 0.0}))
        elif token in layout.blocks:
            cols.append(Column(token, {**dict.fromkeys(layout.blocks, 0.0), token: 1.0}))
        elif "=" in token:
            label, _, values = token.partition("=")
            cols.append(Column(label, layout.vector(values.replace("/", ","))))
        elif token in layout.presets:
            cols.append(Column(token, layout.vector(token)))
        else:
            raise GridError(Message(N_(
                "column `{token}`: use presets, alone, zeroed, a preset name ({presets}), a "
                "block (IN07), -IN07 (zeroed) or name=v1/v2/… (17 or 26 values)"),
                token=token, presets=", ".join(layout.presets)))
    if not cols:
        raise GridError(Message(N_("no columns: --columns is empty")))
    return cols


# ---------------------------------------------------------------------------- scales
def unet_attention_blocks(unet, layout: BlockLayout) -> dict[str, tuple[str, int, int]]:
    """block name → ("down"/"up"/"mid", diffusers block index, attention index) for every
    attention of the UNet, named the way kohya modules in it map to blocks."""
    out: dict[str, tuple[str, int, int]] = {}
    for side, blocks, prefix in (("down", unet.down_blocks, "down_blocks"),
                                 ("up", unet.up_blocks, "up_blocks")):
        for i, block in enumerate(blocks):
            for j, _ in enumerate(getattr(block, "attentions", None) or []):
                name = layout.block_of(f"lora_unet_{prefix}_{i}_attentions_{j}_proj_in")
                if name:
                    out[name] = (side, i, j)
    if getattr(unet.mid_block, "attentions", None):
        out[layout.block_of("lora_unet_mid_block_attentions_0_proj_in") or "M00"] = ("mid", 0, 0)
    return out


def adapter_weights(unet, layout: BlockLayout, weight: float, vector: dict[str, float],
                    te: bool | tuple[str, ...]) -> dict[str, Any]:
    """diffusers' per-block `set_adapters` dict for weight × block vector. `te`: the text
    encoders carrying the LoRA (pipeline attributes; True = SD1.x's one), all at BASE: a
    text encoder left out of the dict would stay at 1.0."""
    unet_scales: dict[str, Any] = {"down": {}, "up": {}}
    for block, (side, i, j) in unet_attention_blocks(unet, layout).items():
        value = weight * vector.get(block, 0.0)
        if side == "mid":
            unet_scales["mid"] = value
        else:
            unet_scales[side].setdefault(f"block_{i}", []).append((j, value))
    for side in ("down", "up"):
        unet_scales[side] = {k: [v for _, v in sorted(vals)]
                             for k, vals in unet_scales[side].items()}
    out: dict[str, Any] = {"unet": unet_scales}
    for component in (("text_encoder",) if te is True else te or ()):
        out[component] = weight * vector.get("BASE", 0.0)
    return out


def apply_cell_scales(pipe, layout: BlockLayout, weight: float, vector: dict[str, float]
                      ) -> None:
    from peft.tuners.lora import LoraLayer

    te = text_encoders_with_lora(pipe)
    pipe.set_adapters([ADAPTER], adapter_weights=[adapter_weights(pipe.unet, layout, weight,
                                                                  vector, te)])
    # LoRA layers outside the attention blocks (LoCon convs): diffusers leaves them at 1.0
    for name, module in pipe.unet.named_modules():
        if isinstance(module, LoraLayer) and ADAPTER in module.lora_A and \
                ".attentions." not in name:
            block = layout.block_of("lora_unet_" + name.replace(".", "_"))
            module.set_scale(ADAPTER, weight * (vector.get(block, 0.0) if block else 1.0))


def text_encoders_with_lora(pipe) -> tuple[str, ...]:
    """The pipeline's text encoders (text_encoder, SDXL's text_encoder_2) carrying the LoRA."""
    return tuple(name for name, adapters in pipe.get_list_adapters().items()
                 if name.startswith("text_encoder") and ADAPTER in adapters)


# ---------------------------------------------------------------------------- cells
def file_fingerprint(path: Path) -> str:
    st = path.stat()
    h = hashlib.sha256(f"{path.resolve()}|{st.st_size}|{st.st_mtime_ns}".encode())
    with open(path, "rb") as fh:
        h.update(fh.read(1 << 20))
    return h.hexdigest()[:16]


def cell_key(settings: dict[str, Any], weight: float, vector: dict[str, float],
             in_use: list[str], te: bool) -> str:
    """Same key ⇔ same pixels: settings plus the scales that reach a layer."""
    scales = {b: round(weight * vector.get(b, 0.0), 6) for b in in_use}
    if not te:
        scales.pop("BASE", None)
    blob = json.dumps({"s": settings, "w": scales}, sort_keys=True)
    return hashlib.sha256(blob.encode()).hexdigest()[:20]


def load_grid_pipeline(base: Path, lora: Path):
    import torch

    from loratui.train.check import load_lora, load_pipeline

    base = Path(base)
    if not (base / "model_index.json").is_file():
        raise GridError(Message(N_("{path}: --base must be a local diffusers model folder "
                                   "(model_index.json); nothing is downloaded"), path=str(base)))
    pipe = load_pipeline(base)
    if torch.cuda.is_available():
        pipe.to("cuda", torch.float16)
    try:
        load_lora(pipe, lora, adapter=ADAPTER)
    except Exception as exc:
        raise GridError(Message(N_("{path}: diffusers cannot load this LoRA on {base}: "
                                   "{error}"), path=str(lora), base=base.name,
                                error=str(exc).splitlines()[0][:200])) from None
    return pipe


def render_grid(spec: GridSpec, layout: BlockLayout, in_use: list[str], *,
                progress: Callable[[int, int], None] | None = None,
                pipe: Any = None) -> GridResult:
    import torch

    from loratui.atomic import atomic_write_bytes

    pipe = pipe or load_grid_pipeline(spec.base, spec.lora)
    columns = columns_for(spec.columns, layout, in_use)
    size = spec.size or int(pipe.unet.config.sample_size) * pipe.vae_scale_factor
    te = bool(text_encoders_with_lora(pipe))
    sampler = type(pipe.scheduler).__name__
    settings = {"lora": file_fingerprint(spec.lora), "base": str(Path(spec.base).resolve()),
                "prompt": spec.prompt, "negative": spec.negative, "seed": spec.seed,
                "steps": spec.steps, "size": size, "cfg": spec.guidance, "sampler": sampler}
    spec.cells_dir.mkdir(parents=True, exist_ok=True)
    result = GridResult(spec.out, list(spec.weights), columns, {}, sampler=sampler,
                        size=size, blocks_in_use=in_use)
    todo = [(r, c) for r in range(len(spec.weights)) for c in range(len(columns))]
    device = pipe.unet.device
    for done, (r, c) in enumerate(todo, start=1):
        weight, col = spec.weights[r], columns[c]
        path = spec.cells_dir / f"{cell_key(settings, weight, col.vector, in_use, te)}.png"
        if path.is_file():
            result.reused += 1
        else:
            apply_cell_scales(pipe, layout, weight, col.vector)
            gen = torch.Generator(device="cpu").manual_seed(spec.seed)
            start = time.perf_counter()
            with torch.no_grad():
                image = pipe(spec.prompt, negative_prompt=spec.negative or None,
                             height=size, width=size, num_inference_steps=spec.steps,
                             guidance_scale=spec.guidance, generator=gen).images[0]
            if device.type == "cuda":
                torch.cuda.synchronize()
            result.pipeline_seconds += time.perf_counter() - start
            atomic_write_bytes(path, _png(image))
            result.rendered += 1
        result.cells[(r, c)] = path
        if progress:
            progress(done, len(todo))
    atomic_write_bytes(spec.out, _png(compose(result, spec)))
    return result


def _png(image) -> bytes:
    import io

    buf = io.BytesIO()
    image.save(buf, format="PNG")
    return buf.getvalue()


LABELS_LEFT, LABELS_TOP, FOOTER = 44, 18, 16  # px: the weights, the columns, the run's line


def compose(result: GridResult, spec: GridSpec):
    """One labelled PNG: weights down the left, block vectors across the top."""
    from PIL import Image, ImageDraw, ImageFont

    font = ImageFont.load_default()
    cell = result.size
    left, top, foot = LABELS_LEFT, LABELS_TOP, FOOTER
    w = left + cell * len(result.columns)
    h = top + cell * len(result.rows) + foot
    grid = Image.new("RGB", (w, h), (255, 255, 255))
    draw = ImageDraw.Draw(grid)
    for c, col in enumerate(result.columns):
        draw.text((left + c * cell + 2, 3), col.label[: max(3, cell // 6)], fill=(0, 0, 0),
                  font=font)
    for r, weight in enumerate(result.rows):
        draw.text((4, top + r * cell + cell // 2 - 5), f"{weight:g}", fill=(0, 0, 0), font=font)
        for c in range(len(result.columns)):
            with Image.open(result.cells[(r, c)]) as img:
                grid.paste(img.convert("RGB").resize((cell, cell)), cell_box(result, r, c)[:2])
    draw.text((4, h - foot + 3), f"{spec.lora.name} · seed {spec.seed} · {spec.steps} steps "
              f"{result.sampler} · cfg {spec.guidance:g}", fill=(80, 80, 80), font=font)
    return grid


def cell_box(result: GridResult, row: int, col: int) -> tuple[int, int, int, int]:
    """Pixel box of a cell inside the composed grid (for viewers)."""
    left, top, size = LABELS_LEFT, LABELS_TOP, result.size
    return (left + col * size, top + row * size, left + (col + 1) * size, top + (row + 1) * size)

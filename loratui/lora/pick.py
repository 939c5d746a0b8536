"""What the user picks after looking at a test grid: a weight, a block vector and maybe a
second LoRA. Turns the pick into what they paste (the A1111 prompt with `lbw=`, a ComfyUI
workflow applying the same weights), the guide's words on the blocks (P24/P25), and the
doctor's usage findings on it (P17–P22). Core only: the wizard's Test step shows it.

ComfyUI has no block-weight loader in its core nodes, so the workflow loads a copy of the
LoRA with the block vector baked into its alphas (`lora scale --blocks`), at the picked
weight: the same layers at the same strengths as the A1111 prompt.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path

from loratui.i18n import N_, Message
from loratui.lora.block_layout import BlockLayout
from loratui.lora.usage import Use, check_uses, lora_tag

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

RESCUE_WEIGHT = 0.3   # P21
SUM_LIMIT = 1.2       # P19 (the doctor's PR102 threshold decides; this is for the offer)

# P24, in the guide's words, by the weight the user gave a block
CORE = N_("{blocks}: core block (face, joints, weapon detail): the guide keeps these at 0.9–1")
EDGE = N_("{blocks}: edge block (clothing pattern, background): the guide uses 0.5–0.7")
POLLUTING = N_("{blocks}: polluting block: the guide turns these to 0–0.3 or off (the "
               "\"mysterious lace trim\"); finding and zeroing it saved 80 percent of "
               "debugging time (P25)")


@dataclass
class Pick:
    lora: Path
    weight: float = 0.6
    vector: str = "ALL"
    second: Path | None = None
    second_weight: float = 0.5


@dataclass
class PickResult:
    prompt: str
    uses: list[Use]
    workflow: dict[str, Any]
    baked: Path | None
    blocks: dict[str, float]
    notes: list[str] = field(default_factory=list)
    findings: list[Any] = field(default_factory=list)

    @property
    def problems(self) -> list[Any]:
        return [d for d in self.findings if d.severity in ("error", "warning")]


def block_words(blocks: dict[str, float], in_use: list[str]) -> list[str]:
    """The guide's classification of each block the LoRA has, by its picked weight."""
    lines = []
    for label, test in ((POLLUTING, lambda v: v <= 0.3), (EDGE, lambda v: 0.3 < v < 0.9),
                        (CORE, lambda v: v >= 0.9)):
        names = [b for b in in_use if test(blocks.get(b, 0.0))]
        if names:
            lines.append(Message(label, blocks=", ".join(names)))
    return lines


def rescue(pick: Pick) -> Pick:
    """P21: a LoRA that breaks at normal weights can still help at 0.3 beside a second
    LoRA of the same kind; the second gets what keeps the sum within P19."""
    second_weight = min(pick.second_weight or 0.6, round(SUM_LIMIT - RESCUE_WEIGHT, 3), 0.9)
    return Pick(pick.lora, RESCUE_WEIGHT, pick.vector, pick.second, second_weight)


KINDS = ("character", "style", "concept")
KIND_NAMES = {"character": N_("character"), "style": N_("style"), "concept": N_("concept")}
KIND_FIELDS = ("modelspec.description", "modelspec.tags", "ss_training_comment")


@dataclass
class Kinship:
    """Whether two LoRA files are of the same kind, as far as the files show (P21)."""
    same: bool | None  # None: the files cannot tell
    lines: list[Message]


def lora_kind(metadata: dict[str, str]) -> str | None:
    """character / style / concept when the metadata names exactly one of them."""
    words = set()
    for key in KIND_FIELDS:
        text = str(metadata.get(key) or "").lower()
        words |= {k for k in KINDS if re.search(rf"\b{k}\b", text)}
    return words.pop() if len(words) == 1 else None


def same_kind(first: Path, second: Path) -> Kinship:
    """Compare what both files show: the model family (tensor shapes, else ss_* /
    modelspec metadata) and character vs style where the metadata names it."""
    from loratui.families import NAMES
    from loratui.lora.reader import open_lora

    files = [open_lora(first), open_lora(second)]
    fams = [f.family()[0] or f.metadata_family() for f in files]
    kinds = [lora_kind(f.metadata) for f in files]
    names = [first.name, second.name]
    if None not in fams and fams[0] != fams[1]:
        return Kinship(False, [Message(
            N_("P21: not the same kind — {first} is {first_family}, {second} is "
               "{second_family}; a LoRA only works on its own family's model"),
            first=names[0], first_family=NAMES.get(fams[0], fams[0]), second=names[1],
            second_family=NAMES.get(fams[1], fams[1]))])
    if None not in kinds and kinds[0] != kinds[1]:
        return Kinship(False, [Message(
            N_("P21: not the same kind — {first} is a {first_kind} LoRA, {second} a "
               "{second_kind} LoRA (their metadata says so); the rescue pairs it with one of "
               "the same kind"),
            first=names[0], first_kind=Message(KIND_NAMES[kinds[0]]), second=names[1],
            second_kind=Message(KIND_NAMES[kinds[1]]))])
    kind = Message(KIND_NAMES[kinds[0]]) if None not in kinds else None
    if None in fams:
        unknown = [n for n, f in zip(names, fams, strict=True) if f is None]
        lines = [Message(N_("P21: cannot tell the model family of {files} (no telling "
                            "tensors, no ss_base_model_version): check both are for the same "
                            "model"), files=", ".join(unknown))]
        if kind is not None:
            lines.append(Message(N_("P21: both are {kind} LoRAs"), kind=kind))
    elif kind is None:
        lines = [Message(N_("P21: both are {family} LoRAs"), family=NAMES.get(fams[0], fams[0]))]
    else:
        lines = [Message(N_("P21: both are {family} LoRAs, both {kind} LoRAs"),
                         family=NAMES.get(fams[0], fams[0]), kind=kind)]
    if kind is None:
        unknown = [n for n, k in zip(names, kinds, strict=True) if k is None]
        lines.append(Message(N_("P21: whether they are both character or both style LoRAs "
                                "cannot be told: {files} does not say in its metadata"),
                             files=", ".join(unknown)))
    return Kinship(None if None in fams or None in kinds else True, lines)


def build(pick: Pick, layout: BlockLayout, in_use: list[str], *, trigger: str = "",
          text: str = "", bake_dir: Path | None = None, checkpoint: str | None = None,
          family: str | None = None) -> PickResult:
    """Everything the Test step shows for a pick; writes the baked copy when the vector is
    not ALL and `bake_dir` is given. `family`: the base model's (default: the LoRA's block
    layout's); `checkpoint`: its file name for the ComfyUI workflow (default: the family's
    usual one). Raises ValueError for an unreadable vector."""
    from loratui.familydata import usage_defaults

    family = family or layout.family
    default_checkpoint, size = usage_defaults(family)
    blocks = layout.vector(pick.vector)
    long = any(blocks.get(b) for b in layout.blocks if b not in layout.lora_blocks)
    lbw = layout.lbw_string(blocks, long=long)
    uses = [Use(pick.lora.stem, pick.weight, lbw)]
    if pick.second is not None:
        uses.append(Use(pick.second.stem, pick.second_weight))
    words = ", ".join(p for p in (trigger, text or "your prompt here") if p)
    prompt = f"{words}, " + " ".join(lora_tag(u) for u in uses)
    baked = None
    if lbw != "ALL" and bake_dir is not None:
        baked = bake(pick.lora, blocks, layout, bake_dir / f"{pick.lora.stem}-lbw.safetensors")
    chain = [((baked or pick.lora).name, pick.weight)]
    if pick.second is not None:
        chain.append((pick.second.name, pick.second_weight))
    result = PickResult(prompt, uses, comfy_workflow(chain, words, pick.lora.stem,
                                                     checkpoint or default_checkpoint, size),
                        baked, blocks)
    result.notes = block_words(blocks, in_use)
    result.findings = check_uses(uses, text=words, base=family)
    if baked:
        result.notes.append(Message(N_("ComfyUI: {name} is this LoRA with the block weights "
                                       "baked in (core ComfyUI has no block-weight loader); "
                                       "copy it beside the original"), name=baked.name))
    return result


def bake(lora: Path, blocks: dict[str, float], layout: BlockLayout, out: Path) -> Path:
    from loratui.lora import tools
    from loratui.lora.weights import load_weights

    weights = load_weights(lora)
    scaled, _ = tools.scale(weights, 1.0, blocks, layout)
    meta = scaled.with_note("scale", weight=1.0, blocks=layout.lbw_string(blocks),
                            **{"from": lora.name})
    meta["ss_output_name"] = out.stem
    tools.write_output(scaled, meta, out, inputs=[lora], overwrite=out.exists())
    return out


def comfy_workflow(chain: list[tuple[str, float]], text: str, name: str,
                   checkpoint: str, size: int = 512) -> dict[str, Any]:
    """ComfyUI API workflow: checkpoint → one LoraLoader per LoRA (chained) → sampler."""
    wf: dict[str, Any] = {
        "4": {"class_type": "CheckpointLoaderSimple", "inputs": {"ckpt_name": checkpoint}}}
    model, clip = ["4", 0], ["4", 1]
    for i, (file, weight) in enumerate(chain):
        node = str(10 + i)
        wf[node] = {"class_type": "LoraLoader", "_meta": {"title": f"LoRA {file}"},
                    "inputs": {"lora_name": file, "strength_model": round(weight, 3),
                               "strength_clip": round(weight, 3), "model": model,
                               "clip": clip}}
        model, clip = [node, 0], [node, 1]
    wf["6"] = {"class_type": "CLIPTextEncode", "inputs": {"text": text, "clip": clip}}
    wf["7"] = {"class_type": "CLIPTextEncode",
               "inputs": {"text": "lowres, bad anatomy", "clip": clip}}
    wf["5"] = {"class_type": "EmptyLatentImage",
               "inputs": {"width": size, "height": size, "batch_size": 1}}
    wf["3"] = {"class_type": "KSampler",
               "inputs": {"seed": 1234, "steps": 25, "cfg": 7.0, "sampler_name": "euler",
                          "scheduler": "normal", "denoise": 1.0, "model": model,
                          "positive": ["6", 0], "negative": ["7", 0],
                          "latent_image": ["5", 0]}}
    wf["8"] = {"class_type": "VAEDecode", "inputs": {"samples": ["3", 0], "vae": ["4", 2]}}
    wf["9"] = {"class_type": "SaveImage", "inputs": {"filename_prefix": name,
                                                    "images": ["8", 0]}}
    return wf


def write_outputs(result: PickResult, folder: Path, stem: str) -> tuple[Path, Path]:
    """`<stem>.prompt.txt` and `<stem>.comfyui-api.json` beside the LoRA, atomically."""
    from loratui.atomic import atomic_write_text

    prompt = folder / f"{stem}.prompt.txt"
    workflow = folder / f"{stem}.comfyui-api.json"
    atomic_write_text(prompt, result.prompt + "\n")
    atomic_write_text(workflow, json.dumps(result.workflow, indent=1) + "\n")
    return prompt, workflow

"""Put a finished LoRA where a WebUI finds it, and say how to use it.

- `find_lora_folder(path)`: the LoRA folder of an AUTOMATIC1111 / Forge (`models/Lora`) or
  ComfyUI (`models/loras`) install, given the install, its `models/` folder or the folder.
- `install_target(src, folder)`: where the copy goes, or why it cannot go there.
- `install_lora(src, folder)`: an atomic copy (temp file + rename) that never
  half-writes, readable as the umask says (a WebUI running as another user loads it); a
  file it replaces is kept as `<name>.<time>.bak`.
- `usage(...)`: the prompt to paste with the guide's weights (P17, P18: start at 0.6;
  style 0.6–0.8, character 0.75–0.9; above 0.95 most likely breaks), and a ComfyUI
  API-format workflow with a LoraLoader node.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from loratui.atomic import atomic_copy
from loratui.i18n import N_, Message

# The guide's weights (PITFALLS P17, P18). The doctor's usage rules check the same limits.
START_WEIGHT = 0.6
MAX_WEIGHT = 0.95
WEIGHT_RANGES = {"style": (0.6, 0.8), "character": (0.75, 0.9), "concept": (0.6, 0.8)}

# (kind, path below the install root), in the order they are tried.
LAYOUTS = (("AUTOMATIC1111", ("models", "Lora")), ("ComfyUI", ("models", "loras")))


class DeployError(Exception):
    """The LoRA cannot be installed there; its Message says why and what to do."""


@dataclass(frozen=True)
class LoraFolder:
    ui: str  # "AUTOMATIC1111", "ComfyUI" or "folder"
    path: Path


def find_lora_folder(path: Path | str) -> LoraFolder:
    p = Path(path).expanduser()
    if not p.exists():
        raise DeployError(Message(N_("{path} does not exist: give your WebUI's folder (the "
                                     "one with models/), or its models/Lora or models/loras "
                                     "folder"), path=str(p)))
    if not p.is_dir():
        raise DeployError(Message(N_("{path} is not a folder: give your WebUI's folder (the "
                                     "one with models/), or its models/Lora or models/loras "
                                     "folder"), path=str(p)))
    for ui, (models, loras) in LAYOUTS:
        if (p / models / loras).is_dir():  # the install itself
            return LoraFolder(ui, p / models / loras)
        if p.name == models and (p / loras).is_dir():  # its models/ folder
            return LoraFolder(ui, p / loras)
        if p.name == loras and p.parent.name == models:  # the LoRA folder
            return LoraFolder(ui, p)
    if (p / "models").is_dir():
        raise DeployError(Message(N_("{path}/models has neither Lora/ (AUTOMATIC1111) nor "
                                     "loras/ (ComfyUI): create the one your WebUI uses, or "
                                     "point at the folder itself"), path=str(p)))
    return LoraFolder("folder", p)


def install_target(src: Path | str, folder: Path | str) -> Path:
    """Where `install_lora` would copy `src`; DeployError when it cannot (the LoRA is gone,
    or a folder or special file of its name is in the way). The target may exist as a
    file: then only a copy with `overwrite` replaces it."""
    src, folder = Path(src), Path(folder)
    if not src.is_file():
        raise DeployError(Message(N_("{path}: the LoRA file is missing (did training "
                                     "finish?)"), path=str(src)))
    target = folder / src.name
    if target.is_dir() or (target.exists() and not target.is_file()):
        raise DeployError(Message(N_("{path} is a folder or a special file, not a LoRA: "
                                     "rename or move it, then copy again"), path=str(target)))
    return target


def install_lora(src: Path | str, folder: Path | str, *, overwrite: bool = False) -> Path:
    target = install_target(src, folder)
    if target.exists() and not overwrite:
        raise FileExistsError(f"{target} already exists")
    if target.exists():     # the file replaced is kept beside it (.bak: no WebUI lists it)
        from loratui.userfiles import keep_backup

        keep_backup(target)
    atomic_copy(src, target)
    return target


@dataclass(frozen=True)
class Usage:
    name: str
    kind: str
    weight: float
    low: float
    high: float
    prompt: str
    comfy_workflow: dict

    @property
    def advice(self) -> Message:
        kinds = {"character": N_("a character LoRA"), "style": N_("a style LoRA"),
                 "concept": N_("a concept LoRA")}
        return Message(N_("start at {weight}; {kind} usually sits at {low}–{high}; never "
                          "above {top} (P17, P18)"), weight=f"{self.weight:g}",
                       kind=Message(kinds.get(self.kind, N_("a style LoRA"))),
                       low=f"{self.low:g}", high=f"{self.high:g}", top=f"{MAX_WEIGHT:g}")


def usage(lora_file: Path | str, *, trigger: str = "", kind: str = "character",
          family: str = "sd15", checkpoint: str | None = None) -> Usage:
    """`checkpoint`: the base model's file name for the ComfyUI workflow (default: the
    family's usual one); the empty latent is the family's native size."""
    from loratui.familydata import usage_defaults

    default_checkpoint, size = usage_defaults(family)
    checkpoint = checkpoint or default_checkpoint
    name = Path(lora_file).stem
    low, high = WEIGHT_RANGES.get(kind, WEIGHT_RANGES["style"])
    w = START_WEIGHT
    parts = [p for p in (trigger, "your prompt here") if p]
    prompt = f"{', '.join(parts)}, <lora:{name}:{w:g}>"
    text = ", ".join(parts)
    workflow = {
        "4": {"class_type": "CheckpointLoaderSimple", "inputs": {"ckpt_name": checkpoint}},
        "10": {"class_type": "LoraLoader",
               "inputs": {"lora_name": Path(lora_file).name, "strength_model": w,
                          "strength_clip": w, "model": ["4", 0], "clip": ["4", 1]}},
        "6": {"class_type": "CLIPTextEncode", "inputs": {"text": text, "clip": ["10", 1]}},
        "7": {"class_type": "CLIPTextEncode",
              "inputs": {"text": "lowres, bad anatomy", "clip": ["10", 1]}},
        "5": {"class_type": "EmptyLatentImage",
              "inputs": {"width": size, "height": size, "batch_size": 1}},
        "3": {"class_type": "KSampler",
              "inputs": {"seed": 1234, "steps": 25, "cfg": 7.0, "sampler_name": "euler",
                         "scheduler": "normal", "denoise": 1.0, "model": ["10", 0],
                         "positive": ["6", 0], "negative": ["7", 0], "latent_image": ["5", 0]}},
        "8": {"class_type": "VAEDecode", "inputs": {"samples": ["3", 0], "vae": ["4", 2]}},
        "9": {"class_type": "SaveImage", "inputs": {"filename_prefix": name, "images": ["8", 0]}},
    }
    return Usage(name, kind, w, low, high, prompt, workflow)


def workflow_json(u: Usage) -> str:
    """The ComfyUI API workflow (load it with ComfyUI's "Load (API format)")."""
    return json.dumps(u.comfy_workflow, indent=1)

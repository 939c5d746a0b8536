"""Resumable training state in `checkpoints/resume/`, without pickle.

accelerate's `save_state` writes pickles (torch.save), which we do not load by default, so
the state is safetensors + JSON: the LoRA parameters under their peft names, the optimiser
state flattened to tensors (its structure in JSON), the global RNG state, and the loop
counters. The folder is written beside the old one and swapped in with renames, so a crash
while saving leaves the previous state intact.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

from loratui.atomic import atomic_write_bytes, atomic_write_text

# safetensors files, named `.st` so that LoRA browsers (A1111's Lora tab, `loratui doctor` on
# a run folder) do not take the resume state for a LoRA.
LORA_FILE = "lora.st"
OPTIMIZER_FILE = "optimizer.st"


def lora_state(models: dict[str, Any]) -> dict[str, Any]:
    out = {}
    for prefix, model in models.items():
        if model is None:
            continue
        for name, param in model.named_parameters():
            if "lora_" in name:
                out[f"{prefix}.{name}"] = param.detach().to("cpu").contiguous().clone()
    return out


def load_lora_state(models: dict[str, Any], tensors: dict[str, Any]) -> int:
    import torch

    n = 0
    with torch.no_grad():
        for prefix, model in models.items():
            if model is None:
                continue
            for name, param in model.named_parameters():
                key = f"{prefix}.{name}"
                if "lora_" in name:
                    if key not in tensors:
                        raise ValueError(f"resume state lacks {key}: different network settings?")
                    param.copy_(tensors[key].to(param.device, param.dtype))
                    n += 1
    return n


def optimizer_to_flat(state_dict: dict) -> tuple[dict[str, Any], dict]:
    import torch

    tensors, layout = {}, {"param_groups": state_dict["param_groups"], "state": {}}
    for pid, pstate in state_dict["state"].items():
        entry = {}
        for key, value in pstate.items():
            if isinstance(value, torch.Tensor):
                name = f"state.{pid}.{key}"
                tensors[name] = value.detach().to("cpu").contiguous().clone()
                entry[key] = {"tensor": name}
            else:
                entry[key] = {"value": value}
        layout["state"][str(pid)] = entry
    return tensors, layout


def optimizer_from_flat(tensors: dict[str, Any], layout: dict) -> dict:
    state = {}
    for pid, entry in layout["state"].items():
        state[int(pid)] = {k: tensors[v["tensor"]] if "tensor" in v else v["value"]
                           for k, v in entry.items()}
    return {"state": state, "param_groups": layout["param_groups"]}


def save(folder: Path, *, models: dict[str, Any], optimizer, counters: dict[str, Any]) -> Path:
    """Write the state to `folder` (replacing it atomically)."""
    import torch
    from safetensors.torch import save

    folder = Path(folder)
    tmp = folder.with_name(folder.name + ".tmp")
    old = folder.with_name(folder.name + ".old")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    # through bytes: safetensors' save_file creates 0600 files, whatever the umask
    atomic_write_bytes(tmp / LORA_FILE, save(lora_state(models)))
    opt_tensors, layout = optimizer_to_flat(optimizer.state_dict())
    opt_tensors["rng.torch"] = torch.get_rng_state()
    atomic_write_bytes(tmp / OPTIMIZER_FILE,
                       save(opt_tensors, metadata={"layout": json.dumps(layout)}))
    atomic_write_text(tmp / "trainer.json", json.dumps(counters, indent=2) + "\n")
    shutil.rmtree(old, ignore_errors=True)
    if folder.exists():
        folder.rename(old)
    tmp.rename(folder)
    shutil.rmtree(old, ignore_errors=True)
    return folder


def load(folder: Path, *, models: dict[str, Any], optimizer) -> dict[str, Any]:
    """Restore LoRA weights, optimiser and RNG state; returns the counters."""
    import torch
    from safetensors import safe_open
    from safetensors.torch import load_file

    folder = Path(folder)
    counters = json.loads((folder / "trainer.json").read_text(encoding="utf-8"))
    load_lora_state(models, load_file(str(folder / LORA_FILE)))
    opt_path = str(folder / OPTIMIZER_FILE)
    with safe_open(opt_path, framework="pt") as fh:
        layout = json.loads(fh.metadata()["layout"])
    tensors = load_file(opt_path)
    torch.set_rng_state(tensors.pop("rng.torch"))
    optimizer.load_state_dict(optimizer_from_flat(tensors, layout))
    return counters

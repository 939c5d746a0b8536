"""Resumable training state, without pickle, that detects its own damage.

accelerate's `save_state` writes pickles (torch.save), which we do not load by default, so
the state is safetensors + JSON: the LoRA parameters under their peft names, the optimiser
state flattened to tensors (its structure in JSON), the global RNG state, and the loop
counters. A state folder is written beside the old one and swapped in with renames, so a
crash or a full disk while saving leaves the previous state intact.

Folders under `checkpoints/` (names in `loratui.runs`): `resume/` (written when a run is
stopped or finishes) and `resume-eNNNN/` (at each epoch checkpoint; the newest
`KEEP_EPOCH_STATES` are kept). `trainer.json` carries the sha256 of both tensor files and a
checksum of its own fields, so truncation, garbage and bit flips are caught; `load` checks
everything (sums, counters, names and shapes) before it changes the model, and raises
`StateError` naming the damaged file, so the trainer can fall back to an older state.
"""

from __future__ import annotations

import hashlib
import json
import math
import shutil
from pathlib import Path
from typing import Any

from loratui.atomic import atomic_write_bytes, atomic_write_text
from loratui.i18n import N_, Message
from loratui.runs import EPOCH_STATE_PREFIX, STATE_DIRS, TRAINER_FILE

# safetensors files, named `.st` so that LoRA browsers (A1111's Lora tab, `loratui doctor` on
# a run folder) do not take the resume state for a LoRA.
LORA_FILE = "lora.st"
OPTIMIZER_FILE = "optimizer.st"
FORMAT = 2  # 1: no checksums (read, without the checks that need them)
KEEP_EPOCH_STATES = 2


class StateError(Exception):
    """A resume state that cannot be used; `path` is the damaged (or missing) file."""

    def __init__(self, path: Path, reason: str):
        self.path, self.reason = Path(path), reason
        super().__init__(Message(N_("{path}: {reason}"), path=str(path), reason=reason))


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _fields_checksum(fields: dict[str, Any]) -> str:
    canonical = json.dumps(fields, sort_keys=True, separators=(",", ":"), allow_nan=False)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def state_folders(checkpoints: Path) -> list[Path]:
    """State folders under `checkpoints/`, the one to try first first: `resume/`, then the
    epoch states, newest epoch first."""
    checkpoints = Path(checkpoints)
    epochs = sorted((p for p in checkpoints.glob(f"{EPOCH_STATE_PREFIX}*") if p.is_dir()
                     and p.name[len(EPOCH_STATE_PREFIX):].isdigit()), reverse=True)
    latest = [checkpoints / d for d in STATE_DIRS if (checkpoints / d).is_dir()]
    return latest + epochs


def epoch_state_name(epoch: int) -> str:
    return f"{EPOCH_STATE_PREFIX}{epoch:04d}"


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
    """Write the state to `folder`, replacing it only once the new one is complete. On an
    error (a full disk) the partial copy is removed and the old folder is left as it was."""
    import torch
    from safetensors.torch import save

    folder = Path(folder)
    tmp = folder.with_name(folder.name + ".tmp")
    old = folder.with_name(folder.name + ".old")
    shutil.rmtree(tmp, ignore_errors=True)
    try:
        tmp.mkdir(parents=True)
        # through bytes: safetensors' save_file creates 0600 files, whatever the umask
        atomic_write_bytes(tmp / LORA_FILE, save(lora_state(models)))
        opt_tensors, layout = optimizer_to_flat(optimizer.state_dict())
        opt_tensors["rng.torch"] = torch.get_rng_state()
        atomic_write_bytes(tmp / OPTIMIZER_FILE,
                           save(opt_tensors, metadata={"layout": json.dumps(layout)}))
        fields = {**counters, "format": FORMAT,
                  "files": {name: {"sha256": sha256_file(tmp / name),
                                   "bytes": (tmp / name).stat().st_size}
                            for name in (LORA_FILE, OPTIMIZER_FILE)}}
        fields["checksum"] = _fields_checksum(fields)
        atomic_write_text(tmp / TRAINER_FILE, json.dumps(fields, indent=2) + "\n")
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    shutil.rmtree(old, ignore_errors=True)
    if folder.exists():
        folder.rename(old)
    tmp.rename(folder)
    shutil.rmtree(old, ignore_errors=True)
    return folder


def read_counters(folder: Path) -> dict[str, Any]:
    """trainer.json, checked against its checksum; raises StateError."""
    path = Path(folder) / TRAINER_FILE
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise StateError(path, Message(N_("missing"))) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise StateError(path, Message(N_("cannot be read ({error})"), error=str(exc))) from None
    try:
        fields = json.loads(text)
    except (ValueError, RecursionError):
        raise StateError(path, Message(N_("is not valid JSON (truncated or overwritten)"))) \
            from None
    if not isinstance(fields, dict):
        raise StateError(path, Message(N_("is not a JSON object")))
    if fields.get("format", 1) >= 2:
        claimed = fields.pop("checksum", None)
        try:
            actual = _fields_checksum(fields)
        except ValueError:
            actual = None
        if claimed != actual:
            raise StateError(path, Message(N_("its checksum does not match its contents "
                                              "(changed or damaged on disk)")))
    return fields


def _count(fields: dict[str, Any], key: str, path: Path, low: int, high: float) -> int:
    value = fields.get(key)
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise StateError(path, Message(N_("{key} = {value} is not possible in this run "
                                          "(expected a whole number from {low} to {high})"),
                                       key=key, value=repr(value), low=low, high=f"{high:g}"))
    return value


def check_counters(fields: dict[str, Any], path: Path, *, max_steps: int, epochs: int,
                   steps_per_epoch: int, micro_per_epoch: int, num_processes: int) -> None:
    """The counters fit this run: no negative, absurd or contradictory numbers."""
    saved_procs = fields.get("num_processes", 1)
    if saved_procs != num_processes:
        raise StateError(path, Message(N_("saved by {saved} training process(es), resumed "
                                          "with {now}: resume with --gpus {saved}"),
                                       saved=saved_procs, now=num_processes))
    step = _count(fields, "step", path, 0, max_steps)
    epoch = _count(fields, "epoch", path, 0, epochs)
    _count(fields, "micro_in_epoch", path, 0, micro_per_epoch)
    _count(fields, "micro_total", path, step, epochs * micro_per_epoch)
    if epoch and not (epoch - 1) * steps_per_epoch <= step <= epoch * steps_per_epoch:
        raise StateError(path, Message.ngettext(
            "step {step} cannot be in epoch {epoch} ({n} step per epoch)",
            "step {step} cannot be in epoch {epoch} ({n} steps per epoch)", steps_per_epoch,
            step=step, epoch=epoch))
    loss = fields.get("loss_avg")
    if loss is not None and (not isinstance(loss, (int, float)) or not math.isfinite(loss)):
        raise StateError(path, Message(N_("loss_avg = {value} is not a finite number"),
                                       value=repr(loss)))


def _load_tensors(folder: Path, name: str, fields: dict[str, Any]):
    from safetensors import SafetensorError, safe_open
    from safetensors.torch import load_file

    path = folder / name
    if not path.is_file():
        raise StateError(path, Message(N_("missing")))
    expected = (fields.get("files") or {}).get(name)
    if fields.get("format", 1) >= 2:
        if not isinstance(expected, dict) or "sha256" not in expected:
            raise StateError(folder / TRAINER_FILE, Message(N_("has no checksum for {name}"),
                                                            name=name))
        if path.stat().st_size != expected.get("bytes") or sha256_file(path) != \
                expected["sha256"]:
            raise StateError(path, Message(N_("its sha256 differs from the one saved in "
                                              "trainer.json (truncated, overwritten or "
                                              "damaged on disk)")))
    try:
        with safe_open(str(path), framework="pt") as fh:
            metadata = fh.metadata() or {}
        return load_file(str(path)), metadata
    except (SafetensorError, OSError, ValueError) as exc:
        raise StateError(path, Message(N_("is not a readable safetensors file ({error})"),
                                       error=str(exc))) from None


def _check_lora(path: Path, models: dict[str, Any], tensors: dict[str, Any]) -> None:
    for prefix, model in models.items():
        if model is None:
            continue
        for name, param in model.named_parameters():
            if "lora_" not in name:
                continue
            key = f"{prefix}.{name}"
            if key not in tensors:
                raise StateError(path, Message(N_("lacks {key}: saved with other network "
                                                  "settings"), key=key))
            if tuple(tensors[key].shape) != tuple(param.shape):
                raise StateError(path, Message(
                    N_("{key} has shape {saved}, the model {model}: saved with another "
                       "network.rank or model"), key=key, saved=str(tuple(tensors[key].shape)),
                    model=str(tuple(param.shape))))


def _check_optimizer(path: Path, optimizer, tensors: dict[str, Any], layout: Any) -> dict:
    try:
        state = optimizer_from_flat(tensors, layout)
        groups = state["param_groups"]
        own = optimizer.state_dict()["param_groups"]
        if len(groups) != len(own) or any(len(a["params"]) != len(b["params"])
                                           for a, b in zip(groups, own, strict=True)):
            raise ValueError("different parameter groups")
        sizes = {pid: p.shape for pid, p in enumerate(
            p for g in optimizer.param_groups for p in g["params"])}
        for pid, entry in state["state"].items():
            for value in entry.values():
                if hasattr(value, "shape") and value.dim() and value.shape != sizes[pid]:
                    raise ValueError(f"parameter {pid}: shape {tuple(value.shape)}")
    except StateError:
        raise
    except (KeyError, TypeError, ValueError, AttributeError, IndexError) as exc:
        raise StateError(path, Message(N_("does not fit this run's optimiser ({error})"),
                                       error=str(exc))) from None
    return state


def load(folder: Path, *, models: dict[str, Any], optimizer,
         check=None) -> dict[str, Any]:
    """Check the whole state in `folder`, then restore LoRA weights, optimiser and RNG state;
    returns the counters. `check(fields, path)` validates the counters for this run. Raises
    StateError (naming the damaged file) before anything is changed."""
    import torch

    folder = Path(folder)
    fields = read_counters(folder)
    if check is not None:
        check(fields, folder / TRAINER_FILE)
    lora, _ = _load_tensors(folder, LORA_FILE, fields)
    _check_lora(folder / LORA_FILE, models, lora)
    opt_path = folder / OPTIMIZER_FILE
    tensors, metadata = _load_tensors(folder, OPTIMIZER_FILE, fields)
    rng = tensors.pop("rng.torch", None)
    if rng is None or rng.dtype != torch.uint8:
        raise StateError(opt_path, Message(N_("lacks the random generator state")))
    try:
        layout = json.loads(metadata["layout"])
    except (KeyError, ValueError, RecursionError):
        raise StateError(opt_path, Message(N_("lacks a readable optimiser layout"))) from None
    opt_state = _check_optimizer(opt_path, optimizer, tensors, layout)
    load_lora_state(models, lora)
    optimizer.load_state_dict(opt_state)
    torch.set_rng_state(rng)
    return fields


def prune_epoch_states(checkpoints: Path, keep: int = KEEP_EPOCH_STATES) -> None:
    epochs = [p for p in state_folders(checkpoints) if p.name.startswith(EPOCH_STATE_PREFIX)]
    for old in epochs[keep:]:
        shutil.rmtree(old, ignore_errors=True)

"""The wizard's one door into the core.

Every screen calls the core through these functions so that a core piece that is
missing (an older install, a branch not merged yet) turns into a plain "not
available" line on screen instead of an ImportError — never into a fake result.
Nothing here computes what the core does not: it adapts names and shapes only.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class Check:
    ok: bool | None  # None: the check could not run (core piece missing, or nothing to check)
    text: str


@dataclass(frozen=True)
class RunInfo:
    path: Path
    label: str
    active: bool


def unavailable(what: str) -> str:
    return f"not available in this build: {what} is missing from the core"


def _optional(module: str, attr: str) -> Any | None:
    try:
        return getattr(importlib.import_module(module), attr)
    except (ImportError, AttributeError):
        return None


def check_base_model(path: Path | None) -> Check:
    if path is None:
        return Check(None, "enter the path of an SD1.5 model (diffusers folder or .safetensors)")
    if not path.exists():
        return Check(False, f"{path} does not exist")
    fn = _optional("loratui.train.model", "check_base_model")
    if fn is None:
        return Check(None, unavailable("the SD1.5 model check"))
    result = fn(path)
    return Check(bool(getattr(result, "ok", result)), str(getattr(result, "message", result)))


def list_runs(output_dir: Path) -> list[RunInfo] | None:
    fn = _optional("loratui.runs", "list_runs")
    if fn is None:
        return None
    out = []
    for run in fn(output_dir):
        s = run.summary()
        label = f"{run.name} ({s['state']}, step {s['step']}/{s.get('max_steps') or '?'})"
        out.append(RunInfo(run.path, label, s["state"] in ACTIVE_STATES))
    return out


def run_folder_problem(folder: Path) -> str:
    if not folder.is_dir():
        return f"{folder} is not a folder"
    cls = _optional("loratui.runs", "RunFolder")
    if cls is not None and not cls(folder).exists():
        return f"{folder} is not a run folder (no state.json or config.toml in it)"
    return ""


def guide_range(key: str) -> str:
    """The guide's recommended range for a config key, from the doctor's rule data."""
    fn = _optional("loratui.doctor", "guide_range")
    return fn(key) if fn else ""


def config_findings(cfg: Any, gpu: Any) -> list[Any] | None:
    """Doctor findings for a config (None when the doctor is not in this build)."""
    fn = _optional("loratui.doctor", "check_config")
    if fn is None:
        return None
    return list(fn(cfg, gpu=gpu))


# ---- runs (loratui.runs: the torch-free run-folder reader) -------------------------------
ACTIVE_STATES: tuple[str, ...] = ("starting", "loading", "caching", "running", "saving")
TERMINAL_STATES: tuple[str, ...] = ("finished", "failed", "interrupted", "crashed")


class CoreMissing(RuntimeError):
    """A core feature is not in this build; the message says which."""


def open_run(path: Path):
    cls = _optional("loratui.runs", "RunFolder")
    if cls is None:
        raise CoreMissing(unavailable("the run folder reader (loratui.runs)"))
    return cls(path)


def start_training(config_path: Path) -> Path:
    """Start the trainer in its own session (it outlives the UI); returns the run folder."""
    fn = _optional("loratui.train.launch", "start_detached")
    if fn is None:
        raise CoreMissing(unavailable("starting a training process (loratui.train.launch)"))
    return Path(fn(config_path))


def stop_run(run_path: Path) -> str:
    fn = _optional("loratui.train.launch", "request_stop")
    if fn is None:
        return unavailable("stopping a run (loratui.train.launch)")
    return str(fn(run_path) or "stop requested: the run saves a resumable state and ends")


def resume_run(run_path: Path) -> Path:
    fn = _optional("loratui.train.launch", "resume_detached")
    if fn is None:
        raise CoreMissing(unavailable("resuming a run (loratui.train.launch)"))
    return Path(fn(run_path))

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
    fn = _optional("loratui.train.runfolder", "list_runs")
    if fn is None:
        return None
    return [RunInfo(Path(r.path), r.path.name, bool(r.active)) for r in fn(output_dir)]


def run_folder_problem(folder: Path) -> str:
    if not folder.is_dir():
        return f"{folder} is not a folder"
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

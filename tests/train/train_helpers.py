"""Helpers for the training tests (import as `train_helpers`)."""

from __future__ import annotations

import sys
import time
from pathlib import Path

from tests.model_files import TRIGGER


def make_config(model_dir: Path, dataset_dir: Path, out: Path, **sections):
    """The cpu-demo preset pointed at the test's files, with per-section overrides:
    make_config(..., training={"epochs": 2}, network={"rank": 4})."""
    from loratui.config import RunConfig
    from loratui.presets import load_presets

    preset = next(p for p in load_presets() if p.id == "cpu-demo")
    data = preset.to_config().model_dump()
    data["model"]["base"] = str(model_dir)
    data["dataset"].update(dir=str(dataset_dir), trigger_word=TRIGGER)
    data["output"].update(dir=str(out), name="test_lora")
    data["sample"]["every_n_epochs"] = 0
    for section, values in sections.items():
        node = data[section]
        for key, value in values.items():
            if isinstance(value, dict):
                node[key].update(value)
            else:
                node[key] = value
    return RunConfig.model_validate(data)



def repo_root() -> str:
    return str(Path(__file__).resolve().parents[2])


def cli(*args: str, cwd: Path | None = None, timeout: float = 300):
    import os
    import subprocess

    env = dict(os.environ)
    env["PYTHONPATH"] = repo_root() + os.pathsep + env.get("PYTHONPATH", "")
    return subprocess.run([sys.executable, "-m", "loratui", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=timeout)


def wait_for(pred, timeout: float = 120.0, every: float = 0.05):
    """Poll `pred` until it returns something truthy; that value, or AssertionError."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        value = pred()
        if value:
            return value
        time.sleep(every)
    raise AssertionError("timed out")


def read_lora_file(path):
    """(keys, metadata, tensors, module names) of an exported LoRA file."""
    from safetensors import safe_open

    with safe_open(str(path), framework="pt") as fh:
        keys = set(fh.keys())
        meta = fh.metadata()
        tensors = {k: fh.get_tensor(k) for k in keys}
    modules = {k.rsplit(".", 2)[0] if k.endswith(".weight") else k.rsplit(".", 1)[0]
               for k in keys}
    return keys, meta, tensors, modules

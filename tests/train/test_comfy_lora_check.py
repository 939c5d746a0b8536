"""bench/comfy_lora_check.py: bad input is one message and exit 2 (the check itself needs a
ComfyUI checkout, which is not a Python package; see docs/training.md)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[2] / "bench" / "comfy_lora_check.py"


def run(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(SCRIPT), *args], capture_output=True,
                          text=True, cwd=cwd, timeout=120)


def test_not_a_comfyui_checkout(tmp_path):
    out = run("--comfy", str(tmp_path), cwd=tmp_path)
    assert out.returncode == 2
    assert f"{tmp_path}: not a ComfyUI checkout (no comfy/lora.py)" in out.stderr
    assert "Traceback" not in out.stderr


def test_missing_lora_file(tmp_path):
    out = run("--comfy", str(tmp_path), str(tmp_path / "nope.safetensors"), cwd=tmp_path)
    assert out.returncode == 2
    assert "nope.safetensors: no such file" in out.stderr and "Traceback" not in out.stderr

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


def test_keep_never_overwrites(tmp_path):
    keep = tmp_path / "keep"
    keep.mkdir()
    (keep / "fullsize-sdxl.safetensors").write_bytes(b"mine")
    checkout = tmp_path / "ComfyUI"
    (checkout / "comfy").mkdir(parents=True)
    (checkout / "comfy" / "lora.py").write_text("")
    out = run("--comfy", str(checkout), "--keep", str(keep), cwd=tmp_path)
    assert out.returncode == 2 and "give --keep an empty folder" in out.stderr
    assert (keep / "fullsize-sdxl.safetensors").read_bytes() == b"mine"


def test_a_checkout_that_does_not_import_is_one_message(tmp_path):
    checkout = tmp_path / "ComfyUI"
    (checkout / "comfy").mkdir(parents=True)
    (checkout / "comfy" / "lora.py").write_text("import comfy_missing_requirement\n")
    out = run("--comfy", str(checkout), cwd=tmp_path)
    assert out.returncode == 2 and "importing ComfyUI failed" in out.stderr
    assert "requirements" in out.stderr and "Traceback" not in out.stderr

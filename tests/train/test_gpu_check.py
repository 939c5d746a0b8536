"""bench/gpu_check.py --cpu --tiny: the GPU check's code path, run as the user runs it."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "bench" / "gpu_check.py"
PRESETS = ["sd15-8gb-character", "sdxl-12gb-character"]


def run(tmp_path: Path, *extra: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(SCRIPT), "--cpu", "--tiny", *extra,
                           "--json", str(tmp_path / "check.json")],
                          capture_output=True, text=True, cwd=tmp_path, timeout=300)


@pytest.mark.slow
def test_cpu_tiny_trains_one_preset_of_each_family(tmp_path):
    out = run(tmp_path, "--steps", "2", "--warmup", "0", "--presets", *PRESETS)
    assert out.returncode == 0, out.stderr
    result = json.loads((tmp_path / "check.json").read_text())
    rows = result["rows"]
    assert [r["preset"] for r in rows] == PRESETS
    # what it ran on travels with the figures
    assert result["env"]["torch"] and "diffusers" in result["env"] and "gpu" not in result["env"]
    assert {r["family"] for r in rows} == {"sd15", "sdxl"}
    for r in rows:
        assert "error" not in r, r
        assert len(r["losses"]) == 2 and all(math.isfinite(x) for x in r["losses"])
        assert r["loss_finite"] is True and r["resolution"] == 64
        assert r["estimate_gb"] > 0 and r["peak_rss_gb"] > 0 and r["it_per_s"] > 0
        # the table shows the estimate beside the measured figure on the preset's row
        line = next(ln for ln in out.stderr.splitlines() if r["preset"] in ln)
        assert f"{r['estimate_gb']:.2f} GB" in line
        assert f"{r['peak_rss_gb']:.2f} GB" in line
    assert rows[1]["estimate_gb"] > rows[0]["estimate_gb"]  # SDXL needs more than SD1.5


def test_unknown_preset_id_is_an_error(tmp_path):
    out = run(tmp_path, "--presets", "sd15-8gb-character", "sd15-8gb-charcter")
    assert out.returncode == 2
    assert "unknown preset id(s): sd15-8gb-charcter" in out.stderr
    assert "Traceback" not in out.stderr and not (tmp_path / "check.json").exists()

"""Presets agree with the doctor on mixed precision: fp32 on GTX 16xx, bf16 only on >= 8.0."""

from __future__ import annotations

import json
import re
import subprocess
import sys

import pytest

from loratui.gpu import GIB, GpuInfo
from loratui.precision import bf16_supported, fp16_unreliable, precision_for
from loratui.presets import choose, load_presets

GPUS = {  # name, GB, compute capability
    "gtx1650": ("NVIDIA GeForce GTX 1650", 4, (7, 5)),
    "gtx1660s": ("NVIDIA GeForce GTX 1660 SUPER", 6, (7, 5)),
    "gtx1660ti_laptop": ("NVIDIA GeForce GTX 1660 Ti with Max-Q design", 6, (7, 5)),
    "t1000": ("NVIDIA T1000 8GB", 8, (7, 5)),
    "rtx2060": ("NVIDIA GeForce RTX 2060", 6, (7, 5)),
    "gtx1080ti": ("NVIDIA GeForce GTX 1080 Ti", 11, (6, 1)),
    "t4": ("Tesla T4", 16, (7, 5)),
    "v100": ("Tesla V100-SXM2-16GB", 16, (7, 0)),
    "p40": ("Tesla P40", 24, (6, 1)),
    "titanrtx": ("NVIDIA TITAN RTX", 24, (7, 5)),
    "rtx3090": ("NVIDIA GeForce RTX 3090", 24, (8, 6)),
    "a100": ("NVIDIA A100-SXM4-40GB", 40, (8, 0)),
}


def _gpu(key: str) -> GpuInfo:
    name, gb, cc = GPUS[key]
    return GpuInfo(0, name, gb * GIB, gb * GIB, cc)


def test_which_cards_lack_fp16_and_bf16():
    assert all(fp16_unreliable(GPUS[k][0]) for k in ("gtx1650", "gtx1660s", "gtx1660ti_laptop",
                                                    "t1000"))
    assert not any(fp16_unreliable(GPUS[k][0]) for k in ("rtx2060", "t4", "gtx1080ti", "a100"))
    assert not fp16_unreliable("NVIDIA GeForce RTX 4060 Ti") and not fp16_unreliable(None)
    assert bf16_supported((8, 0)) and not bf16_supported((7, 5)) and bf16_supported(None) is None
    assert precision_for("bf16", "Tesla T4", (7, 5))[0] == "fp16"
    assert precision_for("bf16", None, None)[0] == "fp16"  # size typed by hand: not offered
    assert precision_for("bf16", "NVIDIA GeForce GTX 1660", (7, 5))[0] == "no"
    assert precision_for("fp16", "NVIDIA GeForce RTX 3090", (8, 6)) == ("fp16", "")


@pytest.mark.parametrize("key", sorted(GPUS))
def test_chosen_preset_precision_suits_the_card(key):
    gpu = _gpu(key)
    preset = choose(gpu.total_gb, "character", gpu=gpu)
    precision = preset.get("training.mixed_precision")
    if fp16_unreliable(gpu.name):
        assert precision == "no" and preset.get("training.no_half_vae") is True
        assert "E06" in preset.rationale
    else:
        assert precision in ("fp16", "bf16")
    if precision == "bf16":
        assert gpu.compute_capability >= (8, 0)
    preset.to_config()  # still a valid RunConfig


def test_tiers_that_name_gtx16_cards_give_them_fp32():
    named = [p for p in load_presets() if re.search(r"\b16[3-6]0\b", p.label)]
    assert {p.min_vram_gb for p in named} >= {4, 6}
    for p in named:
        card = re.search(r"\b(16[3-6]0)\b", p.label).group(1)
        gpu = GpuInfo(0, f"NVIDIA GeForce GTX {card}", int(p.min_vram_gb * GIB),
                      int(p.min_vram_gb * GIB), (7, 5))
        assert p.for_gpu(gpu).get("training.mixed_precision") == "no", p.id
        assert "fp32" in p.rationale


def test_bf16_is_offered_only_on_a_gpu_known_to_have_it():
    for p in load_presets():
        assert p.for_gpu(None).get("training.mixed_precision") != "bf16", p.id
        assert p.for_gpu(_gpu("titanrtx")).get("training.mixed_precision") != "bf16"
    assert choose(24, gpu=_gpu("rtx3090")).get("training.mixed_precision") == "bf16"


@pytest.mark.parametrize("key", ["gtx1650", "gtx1660s", "t4", "p40", "rtx3090", "a100"])
def test_doctor_agrees_with_the_preset(key, monkeypatch):
    """The settings a preset gives a card raise no precision finding on that card."""
    from loratui.doctor import diagnose_config

    name, gb, cc = GPUS[key]
    monkeypatch.setenv("LORATUI_FAKE_GPU", f"{name}:{gb}:{cc[0]}.{cc[1]}")
    cfg = choose(gb, "character", gpu=_gpu(key)).to_config()
    codes = {d.code for d in diagnose_config(cfg)}
    assert not codes & {"CF111", "CF115", "CF116"}, codes


def test_presets_command_uses_the_detected_card():
    import os

    env = {**os.environ, "LORATUI_FAKE_GPU": "NVIDIA GeForce GTX 1650:4:7.5"}
    out = subprocess.run([sys.executable, "-m", "loratui", "presets", "--json", "--all"],
                         capture_output=True, text=True, env=env)
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    gpu_presets = [p for p in data["presets"] if p["id"] != "cpu-demo"]
    assert {p["config"]["training"]["mixed_precision"] for p in gpu_presets} == {"no"}

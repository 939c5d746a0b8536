"""`loratui demo --headless`: the whole flow on the CPU, in under two minutes."""

from __future__ import annotations

import time

import pytest
from train_helpers import cli


@pytest.mark.slow
def test_demo_headless_end_to_end(tmp_path):
    from safetensors import safe_open

    from loratui.runs import RunFolder, list_runs

    t0 = time.perf_counter()
    out = cli("demo", "--headless", "--dir", str(tmp_path / "demo"), timeout=300)
    wall = time.perf_counter() - t0
    assert out.returncode == 0, out.stderr[-3000:]
    assert wall < 120, f"demo took {wall:.0f} s"
    demo = tmp_path / "demo"
    assert (demo / "loratui.toml").is_file() and (demo / "model" / "model_index.json").is_file()
    assert len(list((demo / "dataset").glob("*.png"))) == 8
    run = RunFolder(list_runs(demo / "runs")[0].path)
    assert run.status == "finished"
    lora = run.lora_path()
    assert lora is not None and out.stdout.strip() == str(lora)
    with safe_open(str(lora), framework="pt") as fh:
        assert fh.metadata()["ss_base_model_version"] == "sd_v1"
    names = [p.name for p in run.samples()]
    assert "diffusers_lora_w0.8.png" in names and any(n.startswith("e0001") for n in names)
    if not (demo / "dataset_prepared").exists():  # without loratui.dataset's prepare step
        assert any(e["type"] == "warning" and "no caption" in e["message"]
                   for e in run.events())
    # the doctor step ran on the result and found the deliberate problems
    assert "doctor on the config" in out.stderr and "failed:" not in out.stderr
    assert "demo_04.png" in out.stderr  # the image without a caption


@pytest.mark.slow
def test_demo_sdxl_headless_end_to_end(tmp_path):
    """`loratui demo --family sdxl --headless`: the tiny SDXL-shaped model trains, exports a
    kohya SDXL file and renders through StableDiffusionXLPipeline, on the CPU."""
    from safetensors import safe_open

    from loratui.runs import RunFolder, list_runs

    t0 = time.perf_counter()
    out = cli("demo", "--family", "sdxl", "--headless", "--dir", str(tmp_path / "demo"),
              timeout=400)
    wall = time.perf_counter() - t0
    assert out.returncode == 0, out.stderr[-3000:]
    assert wall < 120, f"demo took {wall:.0f} s"
    demo = tmp_path / "demo"
    assert (demo / "model" / "text_encoder_2").is_dir()
    assert "tiny SDXL-shaped model" in out.stderr
    run = RunFolder(list_runs(demo / "runs")[0].path)
    assert run.status == "finished"
    with safe_open(str(run.lora_path()), framework="pt") as fh:
        keys = list(fh.keys())
        assert fh.metadata()["ss_base_model_version"] == "sdxl_base_v1-0"
    assert any(k.startswith("lora_unet_input_blocks_4_1_") for k in keys)
    assert any(k.startswith("lora_te2_") for k in keys)
    names = [p.name for p in run.samples()]
    assert "diffusers_lora_w0.8.png" in names

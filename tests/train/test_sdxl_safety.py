"""SDXL runs have SD1.5's safety paths: a NaN loss stops at the first bad step and keeps the
last good checkpoint, and a resume from it ends on the uninterrupted run's loss curve —
with LoRA on the UNet and both text encoders (three parameter groups, two text-encoder LRs)."""

from __future__ import annotations

import pytest
from train_helpers import make_config, read_lora_file

pytestmark = pytest.mark.slow


def _cfg(tiny_sdxl_model, demo_dataset, out):
    return make_config(tiny_sdxl_model, demo_dataset, out,
                       network={"rank": 4, "alpha": 2.0, "train_text_encoder": True},
                       optimizer={"unet_lr": 2e-2, "text_encoder_lr": 1e-2,
                                  "text_encoder_2_lr": 5e-3},
                       training={"epochs": 2, "save_every_n_epochs": 1})


@pytest.fixture(scope="module")
def broken_xl(tiny_sdxl_model, demo_dataset, tmp_path_factory):
    """An SDXL run whose loss turns NaN at step 11 (epoch checkpoint at step 8)."""
    from loratui.train import train
    from loratui.train.loop import Faults

    cfg = _cfg(tiny_sdxl_model, demo_dataset, tmp_path_factory.mktemp("xl") / "runs")
    assert cfg.model.family in ("auto", "sdxl")
    res = train(cfg, faults=Faults(nan_at_step=11), log_to_stderr=False)
    return cfg, res


def test_sdxl_nan_stops_at_the_first_bad_step_and_keeps_the_last_good_checkpoint(broken_xl):
    import torch
    from safetensors.torch import load_file

    from loratui.runs import RunFolder

    _, res = broken_xl
    assert res.state == "failed" and res.reason == "nan"
    assert res.step == 10 and res.lora_path is None
    run = RunFolder(res.run_dir)
    assert run.state()["state"] == "failed" and run.resumable()
    nan = [e for e in run.events() if e["type"] == "nan"]
    assert len(nan) == 1 and nan[0]["step"] == 11 and "P15" in nan[0]["refs"]
    good = nan[0]["last_good_checkpoint"]
    assert good.endswith("e0001.safetensors")
    tensors = load_file(good)
    assert all(torch.isfinite(t).all() for t in tensors.values())
    keys, meta, _, _ = read_lora_file(good)
    assert any(k.startswith("lora_te2_") for k in keys)  # an SDXL file, both encoders
    assert any(k.startswith("lora_unet_input_blocks_") for k in keys)
    assert meta["ss_base_model_version"] == "sdxl_base_v1-0"
    assert [r["step"] for r in run.metrics()][-1] == 10


def test_sdxl_resume_continues_the_same_loss_curve(broken_xl):
    from loratui.runs import RunFolder
    from loratui.train import train

    cfg, broken = broken_xl
    resumed = train(cfg, broken.run_dir, resume=True, log_to_stderr=False)
    assert resumed.state == "finished", resumed.message
    rows = RunFolder(broken.run_dir).metrics()
    assert [r["step"] for r in rows] == list(range(1, 17))  # steps 9-10 were lost, redone
    reference = train(cfg, log_to_stderr=False)
    assert reference.state == "finished" and len(reference.losses) == 16
    assert [r["loss"] for r in rows] == pytest.approx(reference.losses, rel=1e-6, abs=1e-7)
    keys, meta, _, _ = read_lora_file(resumed.lora_path)
    assert any(k.startswith("lora_te2_") for k in keys)
    assert meta["ss_base_model_version"] == "sdxl_base_v1-0"

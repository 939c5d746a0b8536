"""Real training on the tiny model: loss falls, runs are reproducible, safety paths work."""

from __future__ import annotations

import itertools
import json
import math

import pytest
from train_helpers import TRIGGER


def test_overfitting_one_image_lowers_the_loss(cfg_factory, tmp_path):
    """Our own micro_step with the same noise and timestep every step: the loss must fall."""
    from PIL import Image

    from loratui.train.loop import Trainer

    data = tmp_path / "one"
    data.mkdir()
    Image.new("RGB", (80, 64), (200, 40, 40)).save(data / "a.png")
    (data / "a.txt").write_text(f"{TRIGGER}, a red picture")
    cfg = cfg_factory(dataset={"dir": str(data)}, network={"rank": 8, "alpha": 8.0},
                      optimizer={"unet_lr": 5e-3, "text_encoder_lr": 1e-3})
    trainer = Trainer(cfg)
    trainer.setup()
    trainer.epoch = 1
    losses = [float(trainer.micro_step([0], seed=7)) for _ in range(30)]
    first, last = sum(losses[:5]) / 5, sum(losses[-5:]) / 5
    assert last < 0.8 * first, losses


def test_same_seed_same_losses_and_all_metrics_fields(cfg_factory):
    from loratui.runs import RunFolder
    from loratui.train import train

    cfg = cfg_factory(training={"epochs": 2, "save_every_n_epochs": 0})
    a = train(cfg, log_to_stderr=False)
    b = train(cfg, log_to_stderr=False)
    assert a.state == b.state == "finished"
    assert a.losses == b.losses and len(a.losses) == 16
    rows = RunFolder(a.run_dir).metrics()
    assert [r["step"] for r in rows] == list(range(1, 17))
    for key in ("step", "epoch", "loss", "loss_avg", "lr_unet", "lr_te", "sec_per_step",
                "images_per_sec", "eta_s", "mem_allocated_mb", "mem_reserved_mb",
                "mem_peak_mb"):
        assert key in rows[-1]
    assert rows[-1]["eta_s"] == 0
    assert rows[0]["lr_te"] == pytest.approx(cfg.optimizer.text_encoder_lr)
    run = RunFolder(a.run_dir)
    st = run.state()
    assert st["state"] == "finished" and run.lora_path() == a.lora_path
    env = run.environment()
    assert env["versions"]["torch"] and "gpu" in env and env["argv"]
    assert (run.path / "config.toml").is_file()
    finished = run.events()[-1]
    assert finished["type"] == "finished"
    assert finished["message"] == f"{a.lora_path.name} after 16 steps"
    from loratui.i18n import message_from_fields, set_language

    set_language("zh")   # the wizard reads the recorded msgid back in its own language
    try:
        assert message_from_fields(finished).localized() == f"{a.lora_path.name}，共 16 步"
    finally:
        set_language(None)


def test_tricks_buckets_prior_preservation_dynamic_weight(cfg_factory, tmp_path):
    """Buckets, regularisation images, caption shuffle/dropout, label pollution, noise offset
    and the dynamic weight together, on a real run."""
    from PIL import Image
    from safetensors import safe_open

    from loratui.runs import RunFolder
    from loratui.train import train

    reg = tmp_path / "reg" / "1_girl"
    reg.mkdir(parents=True)
    for i in range(3):
        Image.new("RGB", (64, 96), (i * 60, 90, 160)).save(reg / f"r{i}.png")
    cfg = cfg_factory(
        dataset={"reg_dir": str(reg.parent), "prior_loss_weight": 0.5, "bucketing": True,
                 "shuffle_captions": True, "keep_tokens": 1, "caption_dropout": 0.1},
        training={"epochs": 2, "noise_offset": 0.05, "save_every_n_epochs": 0,
                  "gradient_checkpointing": True, "attention": "xformers"},
        tricks={"dynamic_weight": {"enabled": True, "start_fraction": 0.5, "end_scale": 0.7},
                "label_pollution": {"enabled": True, "probability": 1.0}})
    res = train(cfg, log_to_stderr=False)
    assert res.state == "finished", res.message
    rows = RunFolder(res.run_dir).metrics()
    scales = [r["lora_scale"] for r in rows]
    assert scales[0] == 1.0 and scales[-1] == pytest.approx(0.7)
    assert all(a >= b for a, b in itertools.pairwise(scales))
    # 8 train + 8 reg entries per epoch (reg cycled to match, as kohya does)
    assert len(rows) == 2 * 16
    with safe_open(str(res.lora_path), framework="pt") as fh:
        meta = fh.metadata()
        alpha = float(fh.get_tensor("lora_unet_down_blocks_0_attentions_0_proj_in.alpha"))
    assert alpha == pytest.approx(4.0 * 0.7, rel=1e-3)  # end scale folded into alpha
    assert meta["ss_num_reg_images"] == "3" and meta["ss_enable_bucket"] == "True"
    assert json.loads(meta["ss_bucket_info"])["buckets"]
    log = (res.run_dir / "train.log").read_text()
    assert "xformers asked for but not usable" in log  # not installed here: SDPA instead


def test_nan_loss_stops_at_first_bad_step_and_keeps_last_good_checkpoint(cfg_factory):
    import torch
    from safetensors.torch import load_file

    from loratui.runs import RunFolder
    from loratui.train import train
    from loratui.train.loop import Faults

    cfg = cfg_factory(training={"epochs": 3, "save_every_n_epochs": 1})
    res = train(cfg, faults=Faults(nan_at_step=11), log_to_stderr=False)
    assert res.state == "failed" and res.reason == "nan"
    assert res.step == 10 and res.lora_path is None
    run = RunFolder(res.run_dir)
    st = run.state()
    assert st["state"] == "failed" and "unet_lr" in st["error"]
    nan = [e for e in run.events() if e["type"] == "nan"]
    assert len(nan) == 1 and nan[0]["step"] == 11
    assert "P15" in nan[0]["refs"] and nan[0]["last_good_checkpoint"].endswith("e0001.safetensors")
    ckpt = load_file(nan[0]["last_good_checkpoint"])
    assert all(torch.isfinite(t).all() for t in ckpt.values())
    assert [r["step"] for r in run.metrics()][-1] == 10
    assert not (run.path / "test_lora.safetensors").exists()


def test_out_of_memory_is_reported_with_a_smaller_preset(cfg_factory):
    from loratui.runs import RunFolder
    from loratui.train.loop import Faults, Trainer
    from loratui.train.runfolder import RunWriter

    cfg = cfg_factory(training={"epochs": 1})
    trainer = Trainer(cfg, RunWriter.create(cfg), faults=Faults(oom_at_step=2))
    res = trainer.train()
    assert res.state == "failed" and res.reason == "oom"
    assert trainer.unet is None and trainer.optimizer is None  # memory released
    ev = [e for e in RunFolder(res.run_dir).events() if e["type"] == "oom"]
    assert ev and "out of GPU memory" in ev[0]["message"] and "P32" in ev[0]["refs"]


def test_oom_suggestion_names_the_next_smaller_preset():
    from loratui.presets import load_presets
    from loratui.train.oom import suggestion

    presets = {p.id: p for p in load_presets() if not p.cpu and p.kind == "character"}
    eight = next(p for p in presets.values() if p.min_vram_gb == 8)
    text, preset = suggestion(eight.to_config())
    # the next smaller tier that changes something (tiers with equal settings are skipped)
    assert preset is not None and preset["changes"]
    smaller = presets[preset["id"]]
    assert smaller.min_vram_gb < 8 and smaller.id in text
    assert f"--gpu {smaller.min_vram_gb:g}GB" in text
    same = [p for p in presets.values() if p.min_vram_gb < 8 and p.config == eight.config]
    assert all(p.min_vram_gb > smaller.min_vram_gb for p in same)


def test_unwritable_output_is_reported_before_training(cfg_factory, tmp_path):
    from loratui.train import train
    from loratui.train.safety import PreflightError

    blocker = tmp_path / "a_file"
    blocker.write_text("not a folder")
    cfg = cfg_factory(output={"dir": str(blocker / "runs")})
    with pytest.raises(PreflightError) as err:
        train(cfg)
    assert "P34" in str(err.value) and str(blocker) in str(err.value)


def test_missing_model_and_dataset_fail_cleanly(cfg_factory, tmp_path):
    from loratui.train import train
    from loratui.train.safety import PreflightError

    cfg = cfg_factory(model={"base": str(tmp_path / "nope")},
                      dataset={"dir": str(tmp_path / "nodata")})
    with pytest.raises(PreflightError) as err:
        train(cfg)
    text = str(err.value)
    assert "base model not found" in text and "nodata" in text


def test_dynamic_multiplier_schedule():
    from loratui.config import RunConfig
    from loratui.train.loop import dynamic_multiplier

    cfg = RunConfig.model_validate({"tricks": {"dynamic_weight": {
        "enabled": True, "start_fraction": 1 / 3, "end_scale": 0.7}}})
    values = [dynamic_multiplier(cfg, s, 300) for s in (1, 100, 200, 300)]
    assert values[0] == values[1] == 1.0
    assert math.isclose(values[2], 0.85, rel_tol=1e-6) and math.isclose(values[3], 0.7)


def test_resume_from_an_epoch_checkpoint_after_a_failure_drops_lost_steps(cfg_factory):
    """A run that died after its last checkpoint (here: a NaN at step 11, checkpoint at step 8)
    resumes from step 8, forgets the metrics of steps 9-10 and ends on the same curve as an
    uninterrupted run."""
    from loratui.runs import RunFolder
    from loratui.train import train
    from loratui.train.loop import Faults

    cfg = cfg_factory(training={"epochs": 2, "save_every_n_epochs": 1})
    broken = train(cfg, faults=Faults(nan_at_step=11), log_to_stderr=False)
    assert broken.state == "failed" and RunFolder(broken.run_dir).resumable()
    resumed = train(cfg, broken.run_dir, resume=True, log_to_stderr=False)
    assert resumed.state == "finished", resumed.message
    rows = RunFolder(broken.run_dir).metrics()
    assert [r["step"] for r in rows] == list(range(1, 17))
    reference = train(cfg, log_to_stderr=False)
    assert [r["loss"] for r in rows] == pytest.approx(reference.losses, rel=1e-6, abs=1e-7)


def test_unusable_model_or_dataset_ends_the_run_as_failed_with_the_reason(cfg_factory,
                                                                          tmp_path):
    import shutil

    from loratui.runs import RunFolder
    from loratui.train import train
    from loratui.train.safety import PreflightError

    not_a_model = tmp_path / "not_a_model"
    not_a_model.mkdir()
    with pytest.raises(PreflightError, match=r"model_index\.json"):  # stopped before a run
        train(cfg_factory(model={"base": str(not_a_model)}), log_to_stderr=False)
    broken = tmp_path / "broken"
    shutil.copytree(cfg_factory().model.base, broken)
    (broken / "unet" / "config.json").write_text("{not json")   # only loading finds it
    res = train(cfg_factory(model={"base": str(broken)}), log_to_stderr=False)
    assert res.state == "failed" and res.reason == "model"
    assert "config.json" in RunFolder(res.run_dir).state()["error"]
    empty = tmp_path / "empty_dataset"
    empty.mkdir()
    res = train(cfg_factory(dataset={"dir": str(empty)}), log_to_stderr=False)
    assert res.state == "failed" and res.reason == "dataset"
    assert "no images" in RunFolder(res.run_dir).events()[-1]["message"]

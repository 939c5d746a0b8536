"""Damaged resume states are detected, named, and passed over for the newest intact epoch
state; resuming never spins. Real runs on the tiny model, real files damaged on disk."""

from __future__ import annotations

import json
import math
import shutil
import time

import pytest

EPOCHS, STEPS_PER_EPOCH = 3, 8


@pytest.fixture(scope="module")
def stopped_run(tiny_model, demo_dataset, tmp_path_factory):
    """A run that failed at step 20 (NaN): epoch states at steps 8 and 16."""
    from train_helpers import make_config

    from loratui.train import train
    from loratui.train.loop import Faults

    cfg = make_config(tiny_model, demo_dataset, tmp_path_factory.mktemp("runs"),
                      training={"epochs": EPOCHS, "save_every_n_epochs": 1})
    res = train(cfg, faults=Faults(nan_at_step=20), log_to_stderr=False)
    assert res.state == "failed" and res.step == 19
    ckpt = res.run_dir / "checkpoints"
    assert sorted(p.name for p in ckpt.iterdir() if p.is_dir()) == ["resume-e0001",
                                                                   "resume-e0002"]
    return cfg, res.run_dir


@pytest.fixture(scope="module")
def resumer(stopped_run):
    """A set-up trainer whose `_load_resume` is pointed at damaged copies of the run."""
    from loratui.train.loop import Trainer

    cfg, _ = stopped_run
    trainer = Trainer(cfg)
    trainer.setup()
    return trainer


def _copy(stopped_run, tmp_path):
    from loratui.train.runfolder import RunWriter

    _, run_dir = stopped_run
    copy = tmp_path / "run"
    shutil.copytree(run_dir, copy)
    return RunWriter(copy)


def _rewrite_counters(path, **changes):
    """Change counters and sign them again, as a tool that knows the format would."""
    from loratui.train.resume import _fields_checksum

    fields = json.loads(path.read_text())
    fields.pop("checksum")
    fields.update(changes)
    fields["checksum"] = _fields_checksum(fields)
    path.write_text(json.dumps(fields))


def _flip_one_bit(path, offset_from_end=100):
    data = bytearray(path.read_bytes())
    data[-offset_from_end] ^= 0x10
    path.write_bytes(bytes(data))


DAMAGE = {
    "trainer.json garbage": ("trainer.json", lambda p: p.write_bytes(b"\x00\xffgarbage{{")),
    "trainer.json truncated": ("trainer.json", lambda p: p.write_bytes(p.read_bytes()[:40])),
    "trainer.json edited": ("trainer.json",
                            lambda p: p.write_text(p.read_text().replace('"step": 16',
                                                                         '"step": 15'))),
    "negative step": ("trainer.json", lambda p: _rewrite_counters(p, step=-5)),
    "absurd step": ("trainer.json", lambda p: _rewrite_counters(p, step=10**9)),
    "step outside its epoch": ("trainer.json", lambda p: _rewrite_counters(p, step=3)),
    "not a number": ("trainer.json", lambda p: _rewrite_counters(p, micro_total="12")),
    "trainer.json missing": ("trainer.json", lambda p: p.unlink()),
    "lora.st garbage": ("lora.st", lambda p: p.write_bytes(b"garbage" * 100)),
    "lora.st truncated": ("lora.st", lambda p: p.write_bytes(p.read_bytes()[:1000])),
    "lora.st bit flip": ("lora.st", _flip_one_bit),
    "lora.st missing": ("lora.st", lambda p: p.unlink()),
    "optimizer.st truncated": ("optimizer.st", lambda p: p.write_bytes(p.read_bytes()[:-7])),
    "optimizer.st bit flip": ("optimizer.st", _flip_one_bit),
    "optimizer.st missing": ("optimizer.st", lambda p: p.unlink()),
}


@pytest.mark.parametrize("kind", list(DAMAGE))
def test_damaged_state_is_named_and_resume_falls_back_to_the_older_epoch_state(
        stopped_run, resumer, tmp_path, kind):
    run = _copy(stopped_run, tmp_path)
    name, damage = DAMAGE[kind]
    damaged = run.path / "checkpoints" / "resume-e0002" / name
    damage(damaged)
    resumer.run = run
    t0 = time.monotonic()
    resumer._load_resume()
    assert time.monotonic() - t0 < 20
    assert resumer.step == STEPS_PER_EPOCH and resumer.epoch == 1
    fallback = [e for e in run.events() if e["type"] == "resume_fallback"]
    assert len(fallback) == 1, run.events()[-3:]
    message = fallback[0]["message"]
    assert str(damaged) in message and "resume-e0001" in message and "step 8" in message
    assert [r["step"] for r in run.metrics()][-1] == STEPS_PER_EPOCH


def test_intact_state_resumes_from_the_newest_and_weights_match_the_file(stopped_run, resumer,
                                                                       tmp_path):
    from safetensors.torch import load_file

    run = _copy(stopped_run, tmp_path)
    resumer.run = run
    resumer._load_resume()
    assert resumer.step == 2 * STEPS_PER_EPOCH
    assert not [e for e in run.events() if e["type"] == "resume_fallback"]
    saved = load_file(str(run.path / "checkpoints" / "resume-e0002" / "lora.st"))
    for name, param in resumer.comps.unet.named_parameters():
        if "lora_" in name:
            assert param.detach().cpu().equal(saved[f"unet.{name}"])
    # the LR schedule is where 16 steps put it, without stepping it 16 times
    lr = resumer.lr_scheduler.get_last_lr()[0]
    assert lr == pytest.approx(resumer.cfg.optimizer.unet_lr *
                               resumer.lr_scheduler.lr_lambdas[0](16))


def test_every_state_damaged_stops_with_each_file_named(stopped_run, resumer, tmp_path):
    from loratui.train.parts import TrainingStopped

    run = _copy(stopped_run, tmp_path)
    (run.path / "checkpoints" / "resume-e0002" / "optimizer.st").unlink()
    _flip_one_bit(run.path / "checkpoints" / "resume-e0001" / "lora.st")
    resumer.run = run
    with pytest.raises(TrainingStopped) as err:
        resumer._load_resume()
    text = str(err.value)
    assert str(run.path / "checkpoints" / "resume-e0002" / "optimizer.st") in text
    assert str(run.path / "checkpoints" / "resume-e0001" / "lora.st") in text


def test_changed_rank_is_named(stopped_run, tmp_path):
    """The run's config.toml edited to another rank: every state names lora.st."""
    from loratui.config import load_config, save_config
    from loratui.train import train

    run = _copy(stopped_run, tmp_path)
    cfg = load_config(run.config_path)
    cfg.network.rank = 8
    save_config(cfg, run.config_path)
    res = train(cfg, run.path, resume=True, log_to_stderr=False)
    assert res.state == "failed" and res.reason == "resume"
    assert "lora.st" in res.message and "network.rank" in res.message
    assert run.state()["state"] == "failed"


def test_schedule_fast_forward_is_constant_time(resumer):
    t0 = time.monotonic()
    resumer._fast_forward_schedule(10**9)
    assert time.monotonic() - t0 < 1.0
    assert resumer.lr_scheduler.last_epoch == 10**9
    assert math.isfinite(resumer.lr_scheduler.get_last_lr()[0])


@pytest.mark.slow
def test_resume_after_fallback_continues_the_uninterrupted_curve(stopped_run, tmp_path):
    from loratui.train import train

    cfg, _ = stopped_run
    run = _copy(stopped_run, tmp_path)
    _flip_one_bit(run.path / "checkpoints" / "resume-e0002" / "optimizer.st")
    res = train(cfg, run.path, resume=True, log_to_stderr=False)
    assert res.state == "finished", res.message
    rows = run.metrics()
    assert [r["step"] for r in rows] == list(range(1, EPOCHS * STEPS_PER_EPOCH + 1))
    reference = train(cfg, log_to_stderr=False)
    assert [r["loss"] for r in rows] == pytest.approx(reference.losses, rel=1e-6, abs=1e-7)
    assert any(e["type"] == "resume_fallback" for e in run.events())
    # the finished run's states: the final one, and the newest epoch states
    names = sorted(p.name for p in (run.path / "checkpoints").iterdir() if p.is_dir())
    assert names == ["resume", "resume-e0001", "resume-e0002"]


@pytest.mark.slow
def test_sigterm_while_resuming_stops_at_once_and_keeps_the_states(stopped_run, tmp_path):
    import os
    import signal
    import subprocess
    import sys

    from train_helpers import repo_root

    run = _copy(stopped_run, tmp_path)
    ckpt = run.path / "checkpoints"
    before = {str(p.relative_to(ckpt)): p.read_bytes() for p in ckpt.rglob("*.st")}
    env = dict(os.environ, PYTHONPATH=repo_root() + os.pathsep + os.environ.get("PYTHONPATH", ""))
    proc = subprocess.Popen([sys.executable, "-m", "loratui", "train", "--resume", str(run.path),
                             "--foreground"], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 300
    while run.raw_state().get("state") not in ("loading", "caching", "running"):
        assert proc.poll() is None and time.monotonic() < deadline, proc.communicate()
        time.sleep(0.005)
    assert run.raw_state()["state"] != "running", "missed the set-up"
    os.kill(proc.pid, signal.SIGTERM)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err
    st = run.raw_state()
    assert st["state"] == "interrupted" and "before training began" in st["error"], st
    assert before == {str(p.relative_to(ckpt)): p.read_bytes() for p in ckpt.rglob("*.st")}

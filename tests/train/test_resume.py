"""Detached runs, signals and resume: kill a real trainer process mid-run, resume it, and get
the loss curve of an uninterrupted run."""

from __future__ import annotations

import os
import signal

import pytest
from train_helpers import cli, repo_root, wait_for


@pytest.mark.slow
def test_sigterm_saves_state_and_resume_continues_the_same_loss_curve(cfg_factory, tmp_path):
    from loratui.config import save_config
    from loratui.runs import RunFolder
    from loratui.train import start, train

    # batch 2 + accumulation 2: the resume must also land on an accumulation boundary
    cfg = cfg_factory(training={"epochs": 16, "batch_size": 2, "gradient_accumulation": 2,
                                "save_every_n_epochs": 0})
    config_path = tmp_path / "loratui.toml"
    save_config(cfg, config_path)

    started = start(config_path)  # detached, own session
    run = started.run
    assert os.getsid(started.pid) == started.pid  # a new session: outlives the terminal
    wait_for(lambda: (run.last_metric() or {}).get("step", 0) >= 4)
    os.kill(started.pid, signal.SIGTERM)
    _, status = os.waitpid(started.pid, 0)
    assert os.WEXITSTATUS(status) == 130
    st = run.state()
    assert st["state"] == "interrupted" and st["resumable"], st
    stopped_at = st["step"]
    assert 4 <= stopped_at < 32
    assert [e["type"] for e in run.events()][-1] == "interrupted"

    resumed = train(cfg, run.path, resume=True, log_to_stderr=False)
    assert resumed.state == "finished", resumed.message
    curve = [r["loss"] for r in RunFolder(run.path).metrics()]
    steps = [r["step"] for r in RunFolder(run.path).metrics()]
    assert steps == list(range(1, 33))

    reference = train(cfg, log_to_stderr=False)
    assert len(reference.losses) == 32
    assert curve == pytest.approx(reference.losses, rel=1e-6, abs=1e-7)
    assert "resumed" in [e["type"] for e in run.events()]


@pytest.mark.slow
def test_cli_train_detached_attach_and_runs(cfg_factory, tmp_path):
    import json

    from loratui.config import save_config

    cfg = cfg_factory(training={"epochs": 2})
    config_path = tmp_path / "loratui.toml"
    save_config(cfg, config_path)
    proc = cli("train", str(config_path))
    assert proc.returncode == 0, proc.stderr
    run_dir = proc.stdout.strip()
    assert os.path.isdir(run_dir) and "loratui attach" in proc.stderr
    # attach follows the run until it ends
    att = cli("attach", run_dir, "--interval", "0.2", timeout=240)
    assert att.returncode == 0, att.stderr + att.stdout
    assert "finished" in att.stdout
    listing = cli("runs", "--config", str(config_path), "--json")
    rows = json.loads(listing.stdout)
    assert rows[0]["state"] == "finished" and rows[0]["path"] == run_dir
    assert rows[0]["lora"].endswith("test_lora.safetensors")


@pytest.mark.slow
def test_accelerate_launch_starts_one_cpu_process(cfg_factory, tmp_path):
    import subprocess
    import sys

    from loratui.config import save_config
    from loratui.runs import RunFolder

    cfg = cfg_factory(training={"epochs": 1})
    config_path = tmp_path / "loratui.toml"
    save_config(cfg, config_path)
    prep = cli("train", str(config_path), "--no-start")
    assert prep.returncode == 0, prep.stderr
    run_dir = prep.stdout.strip()
    env = dict(os.environ)
    env["PYTHONPATH"] = repo_root() + os.pathsep + env.get("PYTHONPATH", "")
    proc = subprocess.run([sys.executable, "-m", "accelerate.commands.launch", "--cpu",
                           "--num_processes", "1", "--num_machines", "1",
                           "--mixed_precision", "no", "--dynamo_backend", "no",
                           "-m", "loratui.train.worker", run_dir],
                          env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    st = RunFolder(run_dir).state()
    assert st["state"] == "finished" and st["lora"]

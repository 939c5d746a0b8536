"""Several training processes (gloo over the CPU, through accelerate's own launcher): they
all step, draw their own noise, keep identical LoRA weights, stop together and resume."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from train_helpers import cli, repo_root, wait_for


def _config(cfg_factory, tmp_path, epochs):
    from loratui.config import save_config

    cfg = cfg_factory(training={"epochs": epochs, "save_every_n_epochs": 2})
    path = tmp_path / "loratui.toml"
    save_config(cfg, path)
    return path


def _assert_ranks_agree(st, n=2):
    ranks = st["ranks"]
    assert [r["rank"] for r in ranks] == list(range(n)) and st["processes"] == n
    assert len({r["pid"] for r in ranks}) == n
    assert {r["step"] for r in ranks} == {st["step"]}
    digests = {r["lora_digest"] for r in ranks}
    assert len(digests) == 1 and None not in digests
    return digests.pop()


@pytest.mark.slow
def test_gpus_2_group_steps_together_stops_and_resumes(cfg_factory, tmp_path):
    from loratui.runs import RunFolder, pid_alive

    config = _config(cfg_factory, tmp_path, epochs=6)
    started = cli("train", str(config), "--gpus", "2")
    assert started.returncode == 0, started.stderr
    run = RunFolder(started.stdout.strip())
    launcher = run.raw_state()["launcher_pid"]
    assert os.getsid(launcher) == launcher  # detached: its own session, like any run
    wait_for(lambda: (run.last_metric() or {}).get("step", 0) >= 2, timeout=300)
    listing = json.loads(cli("runs", "--dir", str(run.path.parent), "--json").stdout)
    assert listing[0]["processes"] == 2 and listing[0]["state"] == "running"
    assert "×2 processes" in cli("attach", str(run.path), "--once").stdout
    stop = cli("stop", str(run.path))
    assert stop.returncode == 0, stop.stderr
    wait_for(lambda: run.state()["state"] in ("interrupted", "failed", "crashed"), timeout=300)
    wait_for(lambda: not pid_alive(launcher), timeout=300)
    st = run.state()
    assert st["state"] == "interrupted" and st["resumable"], st
    stopped_at = st["step"]
    assert 2 <= stopped_at < 24
    first = _assert_ranks_agree(st)
    rows = run.metrics()
    assert [r["step"] for r in rows] == list(range(1, stopped_at + 1))
    for r in rows:  # the logged loss is the mean of the processes' own losses
        assert len(r["rank_losses"]) == 2
        assert r["loss"] == pytest.approx(sum(r["rank_losses"]) / 2, rel=1e-5)
    # own noise, timesteps and images: the two processes' losses differ
    assert all(a != b for a, b in (r["rank_losses"] for r in rows))
    assert "Traceback" not in run.log_path.read_text()

    resumed = cli("train", "--resume", str(run.path))  # the group size comes from the run
    assert resumed.returncode == 0, resumed.stderr
    wait_for(lambda: run.state()["state"] in ("finished", "failed", "crashed"), timeout=300)
    st = run.state()
    assert st["state"] == "finished", st
    assert [r["step"] for r in run.metrics()] == list(range(1, 25))
    assert _assert_ranks_agree(st) != first  # trained on after the resume, still identical
    assert "resumed" in [e["type"] for e in run.events()]
    # TensorBoard from process 0 only: one event file per session, the steps of metrics.jsonl
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    from loratui.runs import TENSORBOARD_DIR

    assert len(list((run.path / TENSORBOARD_DIR).glob("events.out.tfevents.*"))) == 2
    acc = EventAccumulator(str(run.path / TENSORBOARD_DIR))
    acc.Reload()
    points = acc.Scalars("loss/current")
    assert [p.step for p in points] == list(range(1, 25))
    assert [p.value for p in points] == pytest.approx([r["loss"] for r in run.metrics()],
                                                      rel=1e-6)


@pytest.mark.slow
def test_two_machines_on_localhost(cfg_factory, tmp_path):
    """The multi-node launch of docs/training.md, both "machines" on 127.0.0.1."""
    from loratui.runs import RunFolder
    from loratui.train.launch import free_port

    config = _config(cfg_factory, tmp_path, epochs=2)
    prep = cli("train", str(config), "--no-start")
    assert prep.returncode == 0, prep.stderr
    run = RunFolder(prep.stdout.strip())
    env = dict(os.environ, PYTHONPATH=repo_root() + os.pathsep + os.environ.get("PYTHONPATH", ""))
    port = str(free_port())
    machines = [subprocess.Popen(
        [sys.executable, "-m", "accelerate.commands.launch", "--multi_gpu",
         "--num_machines", "2", "--machine_rank", str(rank), "--num_processes", "2",
         "--main_process_ip", "127.0.0.1", "--main_process_port", port,
         "--mixed_precision", "no", "--dynamo_backend", "no",
         "-m", "loratui.train.worker", str(run.path)],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        for rank in (0, 1)]
    outputs = [m.communicate(timeout=400)[0] for m in machines]
    assert [m.returncode for m in machines] == [0, 0], outputs[1][-3000:] + outputs[0][-3000:]
    st = run.state()
    assert st["state"] == "finished" and st["step"] == 8, st
    _assert_ranks_agree(st)

"""The run-folder reader (no torch) and the `runs` / `attach` / `stop` commands."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from train_helpers import cli, repo_root


def _fake_run(root, name="r-20260101-000000", state="running", pid=None, steps=3):
    """A run folder written by the real writer (RunWriter), with made-up numbers."""
    from loratui.config import RunConfig
    from loratui.train.runfolder import RunWriter

    cfg = RunConfig.model_validate({"output": {"dir": str(root), "name": "r"}})
    run = RunWriter.create(cfg)
    for s in range(1, steps + 1):
        run.metric({"step": s, "epoch": 1, "loss": 1.0 / s, "loss_avg": 1.0 / s,
                    "lr_unet": 1e-4, "lr_te": 0.0, "sec_per_step": 0.5, "eta_s": 10.0,
                    "max_steps": 10})
    run.event("started", "step 0/10")
    run.set_state(state, pid=pid if pid is not None else os.getpid(), step=steps,
                  max_steps=10, epochs=2)
    return run


def test_reader_state_metrics_events_and_partial_lines(tmp_path):
    from loratui.runs import RunFolder, find_run, list_runs

    run = _fake_run(tmp_path)
    with run.metrics_path.open("a") as fh:
        fh.write('{"step": 4, "loss"')  # a line still being written
    reader = RunFolder(run.path)
    assert reader.state()["state"] == "running"  # our own pid is alive
    assert [m["step"] for m in reader.metrics()] == [1, 2, 3]
    assert reader.last_metric()["step"] == 3
    assert reader.events()[-1]["type"] == "started"
    assert reader.summary()["step"] == 3 and reader.summary()["max_steps"] == 10
    assert list_runs(tmp_path)[0].path == run.path
    assert find_run(run.name, tmp_path).path == run.path
    assert find_run("r-", tmp_path).path == run.path
    assert find_run(str(run.path)).path == run.path
    assert find_run("nothing", tmp_path) is None


def test_dead_process_is_reported_as_crashed(tmp_path):
    from loratui.runs import RunFolder

    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    run = _fake_run(tmp_path, pid=proc.pid)
    st = RunFolder(run.path).state()
    assert st["state"] == "crashed" and st["reported_state"] == "running"


def test_follower_returns_only_new_complete_rows(tmp_path):
    from loratui.runs import JsonlFollower

    path = tmp_path / "m.jsonl"
    path.write_text('{"a": 1}\n{"a": 2')
    f = JsonlFollower(path)
    assert f.poll() == [{"a": 1}]
    with path.open("a") as fh:
        fh.write('}\n{"a": 3}\n')
    assert f.poll() == [{"a": 2}, {"a": 3}]
    assert f.poll() == []
    path.write_text('{"a": 9}\n')  # rewritten shorter (metrics truncated on resume)
    assert f.poll() == [{"a": 9}]


def test_truncate_metrics_drops_steps_lost_in_a_crash(tmp_path):
    run = _fake_run(tmp_path, steps=5)
    assert run.truncate_metrics(3) == 3
    assert [m["step"] for m in run.metrics()] == [1, 2, 3]


def test_runs_and_attach_commands_without_torch(tmp_path):
    run = _fake_run(tmp_path, state="finished")
    code = ("import sys; from loratui.cli import main; rc = main(sys.argv[1:]); "
            "assert 'torch' not in sys.modules, 'torch imported'; sys.exit(rc)")
    env = dict(os.environ, PYTHONPATH=repo_root(), COLUMNS="120")
    out = subprocess.run([sys.executable, "-c", code, "runs", "--dir", str(tmp_path), "--json"],
                         capture_output=True, text=True, env=env)
    assert out.returncode == 0, out.stderr
    rows = json.loads(out.stdout)
    assert rows[0]["name"] == run.name and rows[0]["state"] == "finished"
    table = subprocess.run([sys.executable, "-c", code, "runs", "--dir", str(tmp_path)],
                           capture_output=True, text=True, env=env)
    assert table.returncode == 0 and run.name in table.stdout and "finished" in table.stdout
    att = subprocess.run([sys.executable, "-c", code, "attach", run.name, "--dir",
                          str(tmp_path), "--once"], capture_output=True, text=True, env=env)
    assert att.returncode == 0, att.stderr
    assert "3/10" in att.stdout and "loss" in att.stdout and run.name in att.stdout
    missing = cli("attach", "nope", "--dir", str(tmp_path), "--once")
    assert missing.returncode == 2 and "no such run" in missing.stderr


def test_stop_signals_a_running_trainer(tmp_path):
    """`loratui stop` sends SIGINT to the run's pid (here a stand-in process that records it)."""
    flag = tmp_path / "got_sigint"
    script = ("import signal, sys, time, pathlib\n"
              "def h(*a):\n"
              f"    pathlib.Path({str(flag)!r}).write_text('1'); sys.exit(0)\n"
              "signal.signal(signal.SIGINT, h)\n"
              "print('ready', flush=True)\n"
              "time.sleep(60)\n")
    proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "ready"
    run = _fake_run(tmp_path, pid=proc.pid)
    out = cli("stop", str(run.path))
    assert out.returncode == 0, out.stderr
    proc.wait(timeout=10)
    assert flag.read_text() == "1"
    done = _fake_run(tmp_path / "b", state="finished")
    assert cli("stop", str(done.path)).returncode == 1


def test_train_cli_reports_config_and_preflight_problems(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text("[training]\nbatch_size = 0\n")
    out = cli("train", str(bad))
    assert out.returncode == 2 and "training.batch_size" in out.stderr
    blocker = tmp_path / "file"
    blocker.write_text("x")
    cfg = tmp_path / "loratui.toml"
    cfg.write_text(f'[model]\nbase = "{tmp_path}"\n[dataset]\ndir = "{tmp_path}"\n'
                   f'[output]\ndir = "{blocker}/runs"\n')
    out = cli("train", str(cfg))
    assert out.returncode == 2
    assert "P34" in out.stderr and str(blocker) in out.stderr
    assert not (blocker.parent / "runs").exists()


def test_a_failed_foreground_run_says_why_in_chinese(cfg_factory, tmp_path):
    from loratui.config import save_config
    from loratui.runs import list_runs

    empty = tmp_path / "训练集"
    empty.mkdir()
    (empty / "notes.txt").write_text("no images here", encoding="utf-8")
    path = tmp_path / "loratui.toml"
    save_config(cfg_factory(dataset={"dir": str(empty)}), path)
    out = cli("train", str(path), "--foreground", "--lang", "zh")
    assert out.returncode != 0, out.stderr
    said = out.stderr.strip().splitlines()[-1]
    assert said.startswith("loratui train: ") and str(empty) in said
    assert "没有找到图片" in said and "no images found" not in said, said
    (run,) = list_runs(tmp_path / "runs")
    st = json.loads((run.path / "state.json").read_text("utf-8"))
    assert st["error"].startswith(f"{empty}: no images found")   # the record stays English


def test_train_cli_refusals_in_chinese(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    cfg = tmp_path / "loratui.toml"
    cfg.write_text(f'[model]\nbase = "{tmp_path}"\n[dataset]\ndir = "{tmp_path}"\n'
                   f'[output]\ndir = "{blocker}/runs"\n')
    out = cli("--lang", "zh", "train", str(cfg))
    assert out.returncode == 2
    assert f"{blocker}：这是一个已存在的文件，所以无法创建输出文件夹 {blocker}/runs" in out.stderr, \
        out.stderr
    missing = cli("--lang", "zh", "train", "--resume", str(tmp_path / "no-run"))
    assert missing.returncode == 2
    assert f"{tmp_path / 'no-run'}：没有这个训练文件夹" in missing.stderr, missing.stderr

"""The terminal live view of `loratui watch` (rich), fed through a real pipe."""

from __future__ import annotations

import os
import subprocess
import sys

from tests.trainer_streams import OOM_TRACEBACK, sd_scripts


def watch(*args, stdin: bytes, tmp_path):
    env = {**os.environ, "COLUMNS": "120", "XDG_STATE_HOME": str(tmp_path / "state")}
    return subprocess.run([sys.executable, "-m", "loratui", "watch", *args], input=stdin,
                          env=env, capture_output=True, timeout=60)


def test_live_view_follows_a_pipe_to_its_end(tmp_path):
    r = watch("-", "--interval", "0.05", stdin=sd_scripts(steps=30, epochs=3).data,
              tmp_path=tmp_path)
    out = r.stdout.decode()
    assert r.returncode == 0, r.stderr.decode()
    assert "loratui watch" in out and "finished" in out and "30/30" in out
    assert "epoch 3" in out and "sd-scripts" in out


def test_live_view_shows_findings_and_fails_with_the_run(tmp_path):
    data = sd_scripts(steps=30, epochs=2).data
    data = data[:data.index(b"steps:  50%")] + b"\n" + OOM_TRACEBACK.encode()
    r = watch("-", "--interval", "0.05", stdin=data, tmp_path=tmp_path)
    out = r.stdout.decode()
    assert r.returncode == 1
    assert "LG103" in out and "Out of memory" in out and "gradient checkpointing" in out
    assert "failed" in out


def test_gpu_memory_of_the_run_found_by_its_pid():
    from loratui.gpustats import process_gpu_memory

    class Proc:
        def __init__(self, pid, used):
            self.pid, self.usedGpuMemory = pid, used

    class FakeNvml:  # NVML's three calls, for a machine with two GPUs
        @staticmethod
        def nvmlDeviceGetCount():
            return 2

        @staticmethod
        def nvmlDeviceGetHandleByIndex(i):
            return i

        @staticmethod
        def nvmlDeviceGetComputeRunningProcesses(h):
            return [Proc(os.getpid(), 3 << 30), Proc(1, 5 << 30)] if h == 1 else [Proc(1, 1)]

    assert process_gpu_memory(os.getpid(), FakeNvml) == [(1, 3 << 30)]


def test_live_view_of_a_finished_loratui_run_exits(tmp_path):
    import json

    run = tmp_path / "runs" / "mylora-20260101-120000"
    run.mkdir(parents=True)
    (run / "state.json").write_text(json.dumps({"state": "finished", "step": 2,
                                                "max_steps": 2}))
    (run / "metrics.jsonl").write_text("".join(json.dumps(
        {"step": s, "loss": 0.1, "loss_avg": 0.1, "max_steps": 2}) + "\n" for s in (1, 2)))
    r = watch(str(run), "--interval", "0.05", stdin=b"", tmp_path=tmp_path)
    assert r.returncode == 0, r.stderr.decode()
    assert "finished" in r.stdout.decode() and "loratui" in r.stdout.decode()


def test_live_view_shows_the_doctors_findings_in_chinese(tmp_path):
    data = sd_scripts(steps=30, epochs=2).data
    data = data[:data.index(b"steps:  50%")] + b"\n" + OOM_TRACEBACK.encode()
    r = subprocess.run([sys.executable, "-m", "loratui", "--lang", "zh", "watch", "-",
                        "--interval", "0.05"], input=data, capture_output=True, timeout=60,
                       env={**os.environ, "COLUMNS": "120",
                            "XDG_STATE_HOME": str(tmp_path / "state")})
    out = r.stdout.decode()
    assert r.returncode == 1
    assert "LG103" in out and "爆显存" in out and "显存不够了" in out and "梯度检查点" in out
    assert "Out of memory" not in out and "gradient checkpointing" not in out
    assert "LG103：爆显存" in out   # the failed state names the finding in Chinese too


def test_finding_events_keep_english_beside_the_current_language(tmp_path):
    from loratui import i18n
    from loratui.watch import open_source, shown
    from tests.watch.helpers import findings

    data = sd_scripts(steps=30, epochs=2).data
    log = tmp_path / "train.log"
    log.write_bytes(data[:data.index(b"steps:  50%")] + b"\n" + OOM_TRACEBACK.encode())
    i18n.set_language("zh")
    try:
        oom = findings(open_source(log).poll()[1], "LG103")[0]
        assert "Out of memory" in oom["title"] and oom["title_zh"] == "爆显存"
        assert "20.00 MiB" in oom["message_zh"] and "梯度检查点" in shown(oom, "fix")
        old = {k: v for k, v in oom.items() if not k.endswith("_zh")}   # an older record
        assert shown(old, "title") == oom["title"]
    finally:
        i18n.set_language(None)

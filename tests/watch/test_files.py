"""Following files as they live on disk: huge logs, rotation, truncation, samples,
output folders, loratui run folders, the writing process."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import tracemalloc

import pytest

from loratui.watch import WatchError, open_source
from tests.trainer_streams import onetrainer, sd_scripts, tqdm_line
from tests.watch.helpers import findings


def poll_all(source, times=3):
    rows, events, state, samples = [], [], None, None
    for _ in range(times):
        r, e, state, s = source.poll()
        rows += r
        events += e
        samples = s if s is not None else samples
    return rows, events, state, samples


def test_a_2gb_log_is_followed_with_bounded_memory(tmp_path):
    log = tmp_path / "train.log"
    head = sd_scripts(steps=10, epochs=1).data.split(b"running training")[0]
    tail = sd_scripts(steps=3000, epochs=3, seed=9)
    with open(log, "wb") as fh:
        fh.write(head)
        fh.truncate(2 << 30)  # sparse: 2 GB on paper, nothing on disk
        fh.seek(0, os.SEEK_END)
        fh.write(tail.data)
    assert log.stat().st_size > 2 << 30
    tracemalloc.start()
    t0 = time.monotonic()
    source = open_source(log)
    rows, _events, state, _s = poll_all(source, times=6)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert time.monotonic() - t0 < 20
    assert peak < 64 << 20, f"peak {peak >> 20} MiB"
    assert source.tail.offset == log.stat().st_size  # caught up without reading the middle
    assert source.trainer == "sd-scripts"  # the head was read: the banner
    assert (state["step"], state["max_steps"]) == (3000, 3000)
    assert rows[-1]["loss_avg"] == pytest.approx(tail.rows[-1]["loss_avg"])
    with open(log, "ab") as fh:  # and it goes on following
        fh.write(("\r" + tqdm_line("steps", 3001, 4000, 5000, 1.5, "avr_loss=nan")).encode())
    rows, events, _st, _s = source.poll()
    assert [r["step"] for r in rows] == [3001] and findings(events, "LG101")


def test_rotation_and_truncation(tmp_path):
    log = tmp_path / "train.log"
    data = sd_scripts(steps=40, epochs=2).data
    cut = data.index(b"steps:  50%")
    log.write_bytes(data[:cut])
    source = open_source(log)
    rows, _e, _st, _s = poll_all(source)
    assert rows[-1]["step"] == 19
    log.rename(tmp_path / "train.log.1")  # logrotate: moved away, a new file started
    (tmp_path / "train.log").write_bytes(data[cut:])
    rows, events, state, _s = poll_all(source)
    assert "rotated" in [e["type"] for e in events]
    assert [r["step"] for r in rows] == list(range(20, 41)) and state["state"] == "finished"
    second = sd_scripts(steps=30, epochs=2, seed=4).data
    with open(log, "r+b") as fh:  # truncated in place, then a new run writes it
        fh.truncate(0)
        fh.write(second)
    rows, events, state, _s = poll_all(source)
    kinds = [e["type"] for e in events]
    assert "truncated" in kinds and "restarted" in kinds
    assert [r["step"] for r in rows] == list(range(1, 31)) and state["max_steps"] == 30


def test_samples_are_reported_as_they_are_written(tmp_path):
    out = tmp_path / "out"
    (out / "sample").mkdir(parents=True)
    (out / "train.log").write_bytes(sd_scripts(steps=20, epochs=2).data)
    source = open_source(out)  # an sd-scripts output folder: its log and sample/
    assert source.source == str(out / "train.log")
    *_x, samples = source.poll()
    assert samples is None
    png = out / "sample" / "my_lora_000010_00_20240501.png"
    png.write_bytes(b"\x89PNG\r\n\x1a\n")
    os.utime(out / "sample", (time.time() + 5, time.time() + 5))
    *_x, samples = source.poll()
    assert samples == [str(png)]
    *_x, samples = source.poll()
    assert samples is None and source.snapshot()["samples"] == [str(png)]


def test_onetrainer_workspace_without_a_log_reads_its_tensorboard(tmp_path):
    pytest.importorskip("tensorboard")
    from tensorboard.summary.writer.event_file_writer import EventFileWriter

    from tests.watch.test_tensorboard import ONETRAINER, write_steps

    ws = tmp_path / "workspace"
    for name in ("samples", "save", "backup"):
        (ws / name).mkdir(parents=True)
    writer = EventFileWriter(str(ws / "tensorboard"))
    write_steps(writer, ONETRAINER, range(1, 6))
    writer.close()
    source = open_source(ws)
    rows, _e, state, _s = poll_all(source)
    assert [r["step"] for r in rows] == [1, 2, 3, 4, 5] and state["trainer"] == "onetrainer"
    assert source.samples.folders == [ws / "samples"]


def test_a_log_in_a_sub_folder_of_the_output(tmp_path):
    ws = tmp_path / "output" / "my_lora"
    (ws / "samples").mkdir(parents=True)
    (ws / "config.yaml").write_text("job: extension\nconfig:\n  name: my_lora\n")
    (ws / "logs").mkdir()
    (ws / "logs" / "log.txt").write_bytes(onetrainer(epochs=1, per_epoch=5).data)
    source = open_source(ws)
    assert source.source == str(ws / "logs" / "log.txt")


def test_loratui_run_folder(tmp_path):
    run = tmp_path / "runs" / "mylora-20260101-120000"
    run.mkdir(parents=True)
    (run / "state.json").write_text(json.dumps({"state": "running", "pid": os.getpid(),
                                                "step": 2, "max_steps": 10, "epoch": 1}))
    rows = [{"step": s, "epoch": 1, "loss": 0.1, "loss_avg": 0.1, "lr_unet": 1e-4,
             "max_steps": 10, "time": "2026-01-01T12:00:0%dZ" % s} for s in (1, 2)]
    (run / "metrics.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    (run / "events.jsonl").write_text(json.dumps({"time": "x", "type": "started",
                                                  "message": "go"}) + "\n")
    source = open_source(run)
    got, events, state, _s = source.poll()
    assert got == rows and events[0]["type"] == events[0]["event"] == "started"
    assert (state["state"], state["trainer"], state["max_steps"]) == ("running", "loratui", 10)
    with open(run / "metrics.jsonl", "a") as fh:
        fh.write(json.dumps({**rows[-1], "step": 3, "loss": float("nan")}) + "\n")
    got, events, state, _s = source.poll()
    assert [r["step"] for r in got] == [3] and findings(events, "LG101")
    (run / "state.json").write_text(json.dumps({"state": "failed", "error": "NaN loss",
                                                "step": 3}))
    assert source.poll()[2]["state"] == "failed" and source.state()["error"] == "NaN loss"


def test_the_writing_process_is_found_and_its_end_judged(tmp_path):
    log = tmp_path / "train.log"
    data = sd_scripts(steps=20, epochs=2).data
    half = data[:data.index(b"steps:  50%")]
    code = ("import sys, time\nf = open(sys.argv[1], 'ab')\nf.write(sys.stdin.buffer.read())\n"
            "f.flush()\ntime.sleep(float(sys.argv[2]))\n")
    proc = subprocess.Popen([sys.executable, "-c", code, str(log), "1.5"], stdin=subprocess.PIPE)
    proc.stdin.write(half)
    proc.stdin.close()
    deadline = time.monotonic() + 10
    while not log.exists() or log.stat().st_size < len(half):
        assert time.monotonic() < deadline
        time.sleep(0.05)
    source = open_source(log)
    _rows, _e, state, _s = source.poll()
    assert state["pid"] == proc.pid and state["state"] == "running"
    proc.wait(10)
    deadline = time.monotonic() + 5
    while state["state"] == "running" and time.monotonic() < deadline:
        _rows, _events, state, _s = source.poll()
        time.sleep(0.05)
    assert state["state"] == "failed" and "stopped at step 9 of 20" in state["error"]


def test_unknown_paths_and_trainers(tmp_path):
    with pytest.raises(WatchError, match="no such file"):
        open_source(tmp_path / "missing.log")
    with pytest.raises(WatchError, match="unknown trainer"):
        open_source(tmp_path, trainer="kohya")


def test_powershell_utf16_log(tmp_path):
    """`python train_network.py ... > train.log` in PowerShell 5 writes UTF-16 with a BOM."""
    stream = sd_scripts(steps=20, epochs=2, crlf=True)
    log = tmp_path / "train.log"
    data = stream.data.decode("utf-8").encode("utf-16")
    log.write_bytes(data[:len(data) // 2 + 1])  # cut inside a character
    source = open_source(log)
    rows = source.poll()[0]
    with open(log, "ab") as fh:
        fh.write(data[len(data) // 2 + 1:])
    rows += source.poll()[0] + source.poll()[0]
    assert [r["step"] for r in rows] == list(range(1, 21))
    assert rows[-1]["loss_avg"] == pytest.approx(stream.rows[-1]["loss_avg"])


def test_a_weights_file_is_not_a_log(tmp_path):
    lora = tmp_path / "my_lora.safetensors"
    lora.write_bytes(b"\x08\x00\x00\x00\x00\x00\x00\x00{}      ")
    with pytest.raises(WatchError, match="not a training log"):
        open_source(lora)

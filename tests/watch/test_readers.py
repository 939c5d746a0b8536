"""Each reader on a real-shaped stream replayed into a growing file: the rows it gives
carry the numbers the stream printed, each step once, in order."""

from __future__ import annotations

import pytest

from tests.trainer_streams import ai_toolkit, onetrainer, sd_scripts
from tests.watch.helpers import findings, follow_growing, same


def check_rows(rows, expected, keys):
    assert [r["step"] for r in rows] == [e["step"] for e in expected]
    for got, want in zip(rows, expected, strict=True):
        for key in keys:
            assert same(got[key], want[key]), (got, want, key)
        assert got["sec_per_step"] == pytest.approx(want["spi"], abs=0.006)


@pytest.mark.parametrize("crlf", [False, True])
def test_sd_scripts_progress_rows(tmp_path, crlf):
    stream = sd_scripts(steps=60, epochs=3, crlf=crlf)
    source, rows, events, states = follow_growing(tmp_path, stream.data, seed=3)
    check_rows(rows, stream.rows, ("loss_avg", "epoch", "max_steps"))
    assert "loss" not in rows[0]  # sd-scripts prints only its average: no raw loss made up
    assert source.trainer == "sd-scripts"
    st = states[-1]
    assert (st["state"], st["step"], st["max_steps"], st["epoch"]) == ("finished", 60, 60, 3)
    assert findings(events) == []  # a healthy run: the doctor stays quiet
    snap = source.snapshot()
    assert snap["last"]["step"] == 60 and snap["totals"]["rows"] == 60


def test_kohya_gui_output_is_read_as_kohya_ss(tmp_path):
    stream = sd_scripts(steps=30, epochs=2, gui=True, crlf=True, output_dir=str(tmp_path))
    source, rows, _events, _ = follow_growing(tmp_path, stream.data)
    assert source.trainer == "kohya_ss"
    check_rows(rows, stream.rows, ("loss_avg", "epoch"))


def test_onetrainer_nested_bars_give_global_steps(tmp_path):
    stream = onetrainer(epochs=3, per_epoch=20)
    source, rows, _events, states = follow_growing(tmp_path, stream.data, seed=5)
    assert source.trainer == "onetrainer"
    check_rows(rows, stream.rows, ("loss", "loss_avg", "epoch", "max_steps"))
    assert states[-1]["state"] == "finished"


def test_ai_toolkit_bar_and_its_sampling_bars(tmp_path):
    stream = ai_toolkit(steps=50)
    source, rows, _events, states = follow_growing(tmp_path, stream.data, seed=7)
    assert source.trainer == "ai-toolkit"
    check_rows(rows, stream.rows, ("loss", "lr_unet", "max_steps"))
    assert states[-1]["step"] == 50


def test_trainer_can_be_named(tmp_path):
    stream = ai_toolkit(steps=10)
    source, rows, _e, _s = follow_growing(tmp_path, stream.data, trainer="ai-toolkit")
    assert source.trainer == "ai-toolkit" and len(rows) == 10


def test_a_restarted_run_in_the_same_log(tmp_path):
    first, second = sd_scripts(steps=30, epochs=2, seed=1), sd_scripts(steps=40, epochs=2, seed=2)
    _source, rows, events, states = follow_growing(tmp_path, first.data + second.data)
    restarts = [e for e in events if e["type"] == "restarted"]
    assert len(restarts) == 1
    assert [r["step"] for r in rows] == list(range(1, 31)) + list(range(1, 41))
    assert states[-1]["max_steps"] == 40 and states[-1]["step"] == 40


def test_gui_prefixed_lines_as_users_paste_them(tmp_path):
    """`[08:03:35] [STDERR] steps:  38%|███▊ | 36/96 [13:09<21:55, 21.93s/it, avr_loss=0.0796]`:
    each update on its own line behind a clock, some printed twice."""
    stream = sd_scripts(steps=40, epochs=2, prefixed=True)
    _source, rows, _events, states = follow_growing(tmp_path, stream.data)
    check_rows(rows, stream.rows, ("loss_avg", "epoch", "max_steps"))
    assert states[-1]["state"] == "finished"


def test_a_bar_at_the_end_of_a_very_long_line_is_read():
    from loratui.watch.progress import parse_update

    text = "[junk] " * 3000 + "steps:  38%|###| 380/1000 [01:00<01:40, 6.30it/s, avr_loss=0.123]"
    u = parse_update(text)
    assert u is not None and (u.desc, u.n, u.total) == ("steps", 380, 1000)
    assert u.postfix == {"avr_loss": 0.123}


def test_a_huge_line_that_is_not_a_bar_does_not_stall_the_watch(tmp_path):
    """A line of 4 MB that starts like a bar: the bar pattern once took minutes on it."""
    import os
    import subprocess
    import sys

    log = tmp_path / "train.log"
    log.write_bytes(b"steps:   1%|" + b"x" * (4 << 20) + b"\nepoch 1/10 " + b"a|b" * 300_000 +
                    b"\n" + b"loss=0.1, " * 200_000 + b"\n")
    r = subprocess.run([sys.executable, "-m", "loratui", "watch", "--once", str(log)],
                       capture_output=True, timeout=60, env={**os.environ, "COLUMNS": "100"})
    assert r.returncode == 0 and b"Traceback" not in r.stderr, r.stderr

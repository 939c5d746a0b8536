"""The doctor on a live stream: a finding the moment its rule fires, once, with the
catalog's code and fix."""

from __future__ import annotations

import os
import time

from loratui.watch import open_source
from tests.trainer_streams import OOM_TRACEBACK, sd_scripts, tqdm_line
from tests.watch.helpers import findings, follow_growing


def test_one_injected_nan_fires_within_one_poll(tmp_path):
    stream = sd_scripts(steps=30, epochs=2)
    log = tmp_path / "train.log"
    log.write_bytes(stream.data)
    source = open_source(log)
    _rows, events, _st, _s = source.poll()
    assert findings(events) == []
    with open(log, "ab") as fh:
        fh.write(("\r" + tqdm_line("steps", 31, 60, 50, 1.5, "avr_loss=nan")).encode())
    rows, events, _state, _s = source.poll()
    nan = findings(events, "LG101")
    assert len(nan) == 1 and rows[-1]["step"] == 31
    assert nan[0]["severity"] == "error" and "from step 31 of 60" in nan[0]["message"]
    assert "learning rate" in nan[0]["fix"] and nan[0]["refs"][:1] == ["R01"]
    with open(log, "ab") as fh:  # the NaN goes on: the finding does not repeat
        fh.write(("\r" + tqdm_line("steps", 32, 60, 52, 1.5, "avr_loss=nan")).encode())
    _rows, events, _st, _s = source.poll()
    assert findings(events, "LG101") == []
    assert [f["code"] for f in source.snapshot()["findings"]] == ["LG101"]


def test_nan_in_a_growing_log(tmp_path):
    stream = sd_scripts(steps=40, epochs=2, nan_at=25)
    _src, _rows, events, _ = follow_growing(tmp_path, stream.data)
    nan = findings(events, "LG101")
    assert len(nan) == 1 and "from step 25 of 40" in nan[0]["message"]


def test_out_of_memory_traceback_fails_the_run(tmp_path):
    stream = sd_scripts(steps=30, epochs=2)
    data = stream.data.replace(b"\r\n", b"\n")
    cut = data.index(b"steps:  50%")
    _source, _rows, events, _states = follow_growing(tmp_path, data[:cut] + b"\n" +
                                                   OOM_TRACEBACK.encode())
    oom = findings(events, "LG103")
    assert len(oom) == 1 and "20.00 MiB" in oom[0]["message"]
    assert "gradient checkpointing" in oom[0]["fix"]


def test_killed_process(tmp_path):
    stream = sd_scripts(steps=30, epochs=2)
    data = stream.data[:stream.data.index(b"steps:  50%")]
    tail = (b"\nKilled\n"
            b"subprocess.CalledProcessError: Command '['/home/me/venv/bin/python', "
            b"'train_network.py']' died with <Signals.SIGKILL: 9>.\n")
    _src, _rows, events, _ = follow_growing(tmp_path, data + tail)
    assert [f["code"] for f in findings(events, "LG133")] == ["LG133"]


def test_slowdown_fires_when_steps_become_many_times_slower(tmp_path):
    stream = sd_scripts(steps=200, epochs=2, slow_from=120)
    _src, _rows, events, _ = follow_growing(tmp_path, stream.data, max_chunk=4000)
    slow = findings(events, "LG163")
    assert len(slow) == 1
    assert float(slow[0]["message"].split(" s/it")[0].split()[-1]) < 2  # before: ~1.5 s/it


def test_healthy_run_has_no_slowdown(tmp_path):
    """Pauses for sample images (45 s every 25 steps, the bar's clock running on) are not
    a slowdown."""
    stream = sd_scripts(steps=200, epochs=2, sample_every=25)
    _src, _rows, events, _ = follow_growing(tmp_path, stream.data, max_chunk=4000)
    assert findings(events) == []


def test_output_folder_that_cannot_be_created(tmp_path):
    blocker = tmp_path / "not_a_dir"
    blocker.write_text("x")
    stream = sd_scripts(steps=20, epochs=2, gui=True, output_dir=str(blocker / "out"))
    _src, _rows, events, _ = follow_growing(tmp_path, stream.data)
    p34 = findings(events, "CF129")
    assert len(p34) == 1 and "P34" in p34[0]["refs"]


def test_loss_rising_over_an_epoch_live_and_in_the_doctor(tmp_path):
    stream = sd_scripts(steps=60, epochs=3, rise=0.04)
    _src, _rows, events, _ = follow_growing(tmp_path, stream.data)
    rising = findings(events, "LG168")
    assert len(rising) == 1 and "rose" in rising[0]["message"]
    assert rising[0]["severity"] == "warning" and "epoch 2" in rising[0]["message"]
    # the doctor reads the same from the finished log
    from loratui.doctor import diagnose_paths

    diags, _inputs = diagnose_paths([str(tmp_path / "train.log")])
    assert [d.code for d in diags if d.code == "LG168"] == ["LG168"]


def test_falling_loss_is_not_flagged_by_the_doctor(tmp_path):
    log = tmp_path / "train.log"
    log.write_bytes(sd_scripts(steps=60, epochs=3).data)
    from loratui.doctor import diagnose_paths

    diags, _inputs = diagnose_paths([str(log)])
    assert "LG168" not in [d.code for d in diags]


def test_onetrainer_stops_on_nan_with_its_own_message(tmp_path):
    from tests.trainer_streams import onetrainer

    data = onetrainer(epochs=2, per_epoch=10).data
    data = data[:data.index(b"Saving")] + (
        b"\nTraceback (most recent call last):\n"
        b'  File "/home/me/OneTrainer/modules/trainer/GenericTrainer.py", line 760, in train\n'
        b"    raise RuntimeError(\"Training loss became NaN. ...\")\n"
        b"RuntimeError: Training loss became NaN. This may be due to invalid parameters, "
        b"precision issues, or a bug in the loss computation.\n")
    _src, _rows, events, _ = follow_growing(tmp_path, data)
    assert [f["code"] for f in findings(events)] == ["LG101"]


def test_a_traceback_the_run_went_on_after_is_not_a_crash(tmp_path):
    """A warning traceback (a dataloader worker, a probe) printed mid-run, then progress:
    the fallback rule (LG139) waits for the output to stop, and then sees the run went on."""
    data = sd_scripts(steps=30, epochs=2).data
    cut = data.index(b"\rsteps:  50%")
    odd = (b"\nTraceback (most recent call last):\n"
           b'  File "/home/me/sd-scripts/library/train_util.py", line 2103, in __getitem__\n'
           b"    img = self.load_image(path)\n"
           b"SomeWorkerError: worker 3 hiccup, retrying\n")
    source, _rows, events, states = follow_growing(tmp_path, data[:cut] + odd + data[cut:])
    os.utime(tmp_path / "train.log", (time.time() - 60, time.time() - 60))  # long quiet
    events += source.poll()[1]
    assert findings(events) == [] and states[-1]["state"] == "finished"


def test_a_traceback_the_output_stopped_on_is_reported_once_quiet(tmp_path):
    data = sd_scripts(steps=30, epochs=2).data
    cut = data.index(b"\rsteps:  50%")
    crash = (b"\nTraceback (most recent call last):\n"
             b'  File "/home/me/sd-scripts/train_network.py", line 783, in train\n'
             b"    loss = self.strange_step()\n"
             b"SomeOddError: nothing any rule knows\n")
    source, _rows, events, _ = follow_growing(tmp_path, data[:cut] + crash)
    assert findings(events) == []  # not yet: the trainer may go on
    os.utime(tmp_path / "train.log", (time.time() - 60, time.time() - 60))
    events = source.poll()[1]
    assert [f["code"] for f in findings(events)] == ["LG139"]


def test_a_loss_that_does_not_move_over_an_epoch(tmp_path):
    stream = sd_scripts(steps=60, epochs=3, frozen=True)
    _src, _rows, events, _ = follow_growing(tmp_path, stream.data)
    flat = findings(events, "LG168")
    assert len(flat) == 1 and "stayed flat from epoch 1 to epoch 2" in flat[0]["message"]
    assert "nothing is being learned" in flat[0]["message"]

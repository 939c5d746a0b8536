"""TensorBoard event folders, written with tensorboard's own writer while the source
reads them: the rows carry the scalars written, each step once."""

from __future__ import annotations

import math
import time

import pytest

pytest.importorskip("tensorboard")

from tensorboard.compat.proto import event_pb2, summary_pb2
from tensorboard.summary.writer.event_file_writer import EventFileWriter

from loratui.watch import open_source

SD_SCRIPTS = {"loss": "loss/current", "loss_avg": "loss/average", "lr_unet": "lr/unet",
              "lr_te": "lr/textencoder"}
ONETRAINER = {"loss": "loss/train_step", "loss_avg": "smooth_loss/train_step",
              "lr_unet": "lr/unet"}


def scalar_event(step: int, tag: str, value: float, wall: float):
    summary = summary_pb2.Summary(value=[summary_pb2.Summary.Value(tag=tag, simple_value=value)])
    return event_pb2.Event(step=step, wall_time=wall, summary=summary)


def values(step: int) -> dict[str, float]:
    return {"loss": 0.12 + 0.01 * math.sin(step), "loss_avg": 0.12 - step * 1e-4,
            "lr_unet": 1e-4, "lr_te": 5e-5}


def write_steps(writer, tags, steps, t0=1_700_000_000.0, spi=1.5):
    for step in steps:
        for key, tag in tags.items():
            writer.add_event(scalar_event(step, tag, values(step)[key], t0 + step * spi))
        # sd-scripts writes other scalars too; they are not metrics of the view
        writer.add_event(scalar_event(step, "lr/d*lr", 1.0, t0 + step * spi))
    writer.flush()


@pytest.mark.parametrize(("tags", "trainer"), [(SD_SCRIPTS, "sd-scripts"),
                                               (ONETRAINER, "onetrainer")])
def test_event_folder_read_as_it_grows(tmp_path, tags, trainer):
    logdir = tmp_path / "logs" / "my_lora20240501190211"  # sd-scripts: <prefix><time>/
    writer = EventFileWriter(str(logdir), flush_secs=1)
    write_steps(writer, tags, range(1, 11))
    source = open_source(tmp_path / "logs")
    got = []
    for _ in range(2):
        rows, _events, state, _s = source.poll()
        got += rows
    write_steps(writer, tags, range(11, 31))
    for _ in range(2):
        rows, _events, state, _s = source.poll()
        got += rows
    writer.close()
    assert [r["step"] for r in got] == list(range(1, 31))
    for row in got:
        want = values(row["step"])
        for key in tags:
            assert row[key] == pytest.approx(want[key], rel=1e-6)
    assert got[5]["sec_per_step"] == pytest.approx(1.5, rel=1e-3)
    assert source.trainer == trainer and state["step"] == 30
    assert state["state"] == "running"


def test_event_file_path_and_a_new_run_folder(tmp_path):
    first = EventFileWriter(str(tmp_path / "logs" / "run1"))
    write_steps(first, SD_SCRIPTS, range(1, 6))
    first.close()
    files = list((tmp_path / "logs" / "run1").iterdir())
    source = open_source(files[0])  # an event file given: its folder is watched
    rows = source.poll()[0] + source.poll()[0]
    assert [r["step"] for r in rows] == [1, 2, 3, 4, 5]
    time.sleep(0.01)
    second = EventFileWriter(str(tmp_path / "logs" / "run1"), filename_suffix=".2")
    write_steps(second, SD_SCRIPTS, range(1, 4))
    second.close()
    # a second file in the same folder (a resumed run) is read too; its steps go back
    rows = source.poll()[0] + source.poll()[0]
    assert rows == []  # steps already shown are not repeated
    watch_logs = open_source(tmp_path / "logs")
    watch_logs.poll()
    third = EventFileWriter(str(tmp_path / "logs" / "run2"))
    write_steps(third, SD_SCRIPTS, range(1, 4))
    third.close()
    rows, events, _st, _s = watch_logs.poll()
    rows += watch_logs.poll()[0]
    assert [e["type"] for e in events] == ["restarted"]
    assert [r["step"] for r in rows] == [1, 2, 3]


def test_nan_scalar_raises_the_finding(tmp_path):
    writer = EventFileWriter(str(tmp_path / "tb"))
    write_steps(writer, SD_SCRIPTS, range(1, 5))
    writer.add_event(scalar_event(5, "loss/current", float("nan"), 1_700_000_100.0))
    writer.add_event(scalar_event(6, "loss/current", 0.1, 1_700_000_101.0))
    writer.close()
    source = open_source(tmp_path / "tb")
    _rows, events, _st, _s = source.poll()
    assert [e["code"] for e in events if e["type"] == "finding"] == ["LG101"]


def test_loratui_run_tensorboard_folder(tmp_path):
    run = tmp_path / "runs" / "mylora-20260101-120000"
    (run / "tensorboard").mkdir(parents=True)
    (run / "state.json").write_text('{"state": "running", "step": 3}')
    writer = EventFileWriter(str(run / "tensorboard"))
    write_steps(writer, SD_SCRIPTS, range(1, 4))
    writer.close()
    source = open_source(run / "tensorboard")
    rows = source.poll()[0] + source.poll()[0]
    assert [r["step"] for r in rows] == [1, 2, 3] and source.trainer == "loratui"


def test_epoch_loss_scalars_rising_raise_lg168(tmp_path):
    writer = EventFileWriter(str(tmp_path / "tb"))
    write_steps(writer, SD_SCRIPTS, range(1, 4))
    source = open_source(tmp_path / "tb")
    source.poll()
    for epoch, loss in ((1, 0.100), (2, 0.098), (3, 0.125)):  # sd-scripts: x = epoch
        writer.add_event(scalar_event(epoch, "loss/epoch", loss, 1_700_000_000.0 + epoch))
        writer.flush()
        events = source.poll()[1] + source.poll()[1]
        codes = [e["code"] for e in events if e["type"] == "finding"]
        assert codes == (["LG168"] if epoch == 3 else [])
    writer.close()

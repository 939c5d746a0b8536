"""`watch`'s own events, its read warnings and its errors come in the reader's language,
like the trainer's: the event keeps its English text (JSON, --notify) and knows its
msgid, so the view shows it in Chinese."""

from __future__ import annotations

import pytest

from loratui import i18n
from loratui.i18n import localized
from loratui.watch import WatchError, open_source
from tests.trainer_streams import sd_scripts
from tests.watch.helpers import findings
from tests.watch.test_cli import loratui


@pytest.fixture
def chinese():
    i18n.set_language("zh")
    yield
    i18n.set_language(None)


def _shown(events, kind):
    return [str(localized(e["message"])) for e in events if e["type"] == kind]


def test_a_truncated_log_and_a_new_run_in_it_are_told_in_chinese(tmp_path, chinese):
    log = tmp_path / "train.log"
    log.write_bytes(sd_scripts(steps=20, epochs=2).data)
    source = open_source(log)
    source.poll()
    with open(log, "r+b") as fh:   # truncated in place, then a new run writes it
        fh.truncate(0)
        fh.write(sd_scripts(steps=30, epochs=2, seed=4).data)
    events = [e for _ in range(3) for e in source.poll()[1]]
    (truncated,) = _shown(events, "truncated")
    assert truncated == f"{log} 被截断了；从头开始跟踪它"
    assert _shown(events, "restarted") == ["同一个日志里开始了新的一次训练"]
    (english,) = [e["message"] for e in events if e["type"] == "restarted"]
    assert str.__str__(english) == "a new run started in the same log"   # JSON, --notify


def test_a_rotated_log_is_told_in_chinese(tmp_path, chinese):
    log = tmp_path / "train.log"
    data = sd_scripts(steps=40, epochs=2).data
    cut = data.index(b"steps:  50%")
    log.write_bytes(data[:cut])
    source = open_source(log)
    source.poll()
    log.rename(tmp_path / "train.log.1")   # logrotate: moved away, a new file started
    log.write_bytes(data[cut:])
    events = [e for _ in range(3) for e in source.poll()[1]]
    assert _shown(events, "rotated") == [f"{log} 已被轮换（换成了新文件）；从头开始跟踪它"]


def test_tensorboard_restart_damage_and_nan_are_told_in_chinese(tmp_path, chinese):
    pytest.importorskip("tensorboard")
    from tensorboard.summary.writer.event_file_writer import EventFileWriter
    from tensorboard.summary.writer.record_writer import RecordWriter

    from tests.watch.test_tensorboard import SD_SCRIPTS, scalar_event, write_steps

    first = EventFileWriter(str(tmp_path / "logs" / "run1"))
    write_steps(first, SD_SCRIPTS, range(1, 4))
    first.close()
    source = open_source(tmp_path / "logs")
    source.poll()
    second = EventFileWriter(str(tmp_path / "logs" / "run2"))
    write_steps(second, SD_SCRIPTS, range(1, 4))
    second.flush()
    events = source.poll()[1]
    assert _shown(events, "restarted") == [f"新的一次训练正在写入 {tmp_path / 'logs' / 'run2'}"]
    (path,) = (tmp_path / "logs" / "run2").iterdir()
    with open(path, "ab") as fh:   # a record whose checksum holds but is no event
        RecordWriter(fh).write(b"\xff\xff\xff\xff not an event")
    events = source.poll()[1]
    (warning,) = _shown(events, "warning")
    assert warning.startswith(f"{path.name}：有一条损坏的记录已跳过（DecodeError: ")
    assert warning.endswith("）；继续跟踪这个文件")
    second.add_event(scalar_event(4, "loss/current", float("nan"), 1_700_000_100.0))
    second.add_event(scalar_event(5, "loss/current", 0.1, 1_700_000_101.0))
    second.close()
    rows, events, _st, _s = source.poll()
    assert 4 in [r["step"] for r in rows]   # the file is followed past the damage
    (nan,) = findings(events, "LG101")
    assert "第 4 步：loss = nan" in nan["message_zh"] and "step" not in nan["message_zh"]


def test_watch_errors_are_told_in_chinese(tmp_path, chinese):
    with pytest.raises(WatchError) as info:
        open_source(tmp_path / "missing.log")
    assert i18n.error_text(info.value).startswith(f"{tmp_path / 'missing.log'}：没有这个文件或文件夹")
    (tmp_path / "model.safetensors").write_bytes(b"")
    r = loratui("--lang", "zh", "watch", tmp_path / "model.safetensors", "--once")
    err = r.stderr.decode()
    assert r.returncode == 2 and "不是训练日志" in err and "training log" not in err, err


def test_a_failing_notify_command_is_told_in_chinese(tmp_path, chinese, capsys):
    from loratui.watch.notify import Notifier

    log = tmp_path / "train.log"
    log.write_bytes(sd_scripts(steps=20, epochs=2, nan_at=5).data)
    failing = Notifier("exit 3", str(log))
    failing(open_source(log).poll()[1])
    failing.wait(5)
    err = capsys.readouterr().err
    assert "--notify 命令退出状态为 3" in err and "exited" not in err, err
    assert any("exited with status 3" in f for f in failing.failures)


def test_an_interrupted_run_folder_says_so_in_chinese(tmp_path, chinese):
    run = tmp_path / "runs" / "demo-1"
    (run / "checkpoints" / "resume").mkdir(parents=True)
    (run / "checkpoints" / "resume" / "trainer.json").write_text("{}", encoding="utf-8")
    (run / "state.json").write_text('{"state": "interrupted", "step": 7}', encoding="utf-8")
    state = open_source(run).poll()[2]
    assert state["error"] == "interrupted (resumable)"   # English for JSON
    assert localized(state["error"]) == "已中断（可续训）"

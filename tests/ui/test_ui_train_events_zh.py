"""The Train view shows the trainer's events in the wizard's language: the trainer records
each message's msgid and arguments beside its English text (events.jsonl), and an event
written before that (English text only) still shows as written."""

from __future__ import annotations

import json
from pathlib import Path

from PIL import Image

from loratui.i18n import N_, Message, localized
from loratui.runs import RunFolder
from loratui.train import data as D
from loratui.train.runfolder import RunWriter
from loratui.ui.screens.train import event_line


def _dataset(root: Path) -> Path:
    ds = root / "dataset"
    ds.mkdir()
    Image.new("RGB", (64, 64), "red").save(ds / "a.png")          # no caption
    Image.new("RGB", (64, 64), "blue").save(ds / "b.png")
    (ds / "b.txt").write_text("a blue square", encoding="utf-8")  # lacks the trigger
    (ds / "c.png").write_bytes(b"\x89PNG\r\n\x1a\n broken")       # cannot be decoded
    return ds


def test_trainer_events_read_back_in_chinese(tmp_path: Path, chinese) -> None:
    ds = _dataset(tmp_path)
    _, warnings = D.scan(ds, trigger="sks")
    run = RunWriter(tmp_path / "run")
    run.path.mkdir()
    for w in warnings:
        run.event("warning", w)
    steps = Message(N_("loss = {loss} at step {step}; stopped before applying it"),
                    loss="nan", step=12)
    run.event("nan", Message(N_("{problem}. {hint}"), problem=steps, hint="P14"), step=12)
    run.event("checkpoint", "demo-000002.safetensors", step=10)   # written before: English

    raw = [json.loads(line) for line in run.events_path.read_text("utf-8").splitlines()]
    assert all(e["message"].isascii() for e in raw)               # the record stays English
    assert raw[0]["msgid"] and "args" in raw[0]

    lines = [event_line(e, tmp_path) for e in RunFolder(run.path).events()]
    text = "\n".join(lines)
    assert "没有标注" in text and "a.png" in text and "'sks'" in text
    assert "标注里缺少触发词" in text and "b.txt" in text
    assert "无法读取图片" in text and "c.png" in text and "已跳过" in text
    assert "第 12 步 loss = nan；已在应用这一步之前停止。P14" in text
    assert "no caption" not in text and "skipped" not in text
    assert lines[-1].endswith("demo-000002.safetensors")           # English text, shown as is


def test_old_style_event_shows_its_english_message(tmp_path: Path, chinese) -> None:
    old = {"time": "2024-05-01T10:00:00Z", "type": "warning",
           "message": "dataset/x.png: no caption; training it with 'sks'"}
    assert event_line(old, tmp_path).endswith("dataset/x.png: no caption; training it with 'sks'")
    broken = {**old, "msgid": "{missing} thing", "args": {}}          # hand-edited: not ours
    assert event_line(broken, tmp_path).endswith(old["message"])


def _nan_failure() -> Message:
    problem = Message(N_("loss = {loss} at step {step}; stopped before applying it"),
                      loss="nan", step=12)
    return Message(N_("{problem}. {hint}"), problem=problem, hint="P14")


async def test_a_failed_runs_dialog_gives_its_error_in_chinese(project, gpu12, chinese) -> None:
    from ui_helpers import wait_for, write_run

    from loratui.ui.app import create_app
    from loratui.ui.dialogs import ErrorDialog

    folder = write_run(project / "runs" / "demo-1", steps=12)
    app = create_app(project, gpu=gpu12, run_dir=folder, step="train", watch_interval=0.05)
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_for(pilot, lambda: app.screen.run_state.get("state") == "running")
        RunWriter(folder).set_state("failed", error=_nan_failure(), reason="nan")
        await wait_for(pilot, lambda: isinstance(app.screen, ErrorDialog))
        assert "第 12 步 loss = nan；已在应用这一步之前停止。P14" in app.screen.message
        assert "stopped before" not in app.screen.message


def test_state_error_keeps_its_english_and_old_files_show_theirs(tmp_path: Path,
                                                                 chinese) -> None:
    run = RunWriter(tmp_path / "run")
    run.path.mkdir()
    run.set_state("failed", error=_nan_failure())
    raw = json.loads((run.path / "state.json").read_text("utf-8"))
    assert raw["error"] == "loss = nan at step 12; stopped before applying it. P14"
    assert raw["error_message"]["msgid"] == "{problem}. {hint}"
    assert localized(RunFolder(run.path).state()["error"]).startswith("第 12 步 loss = nan")
    run.set_state("starting", error=None)          # a resume clears both
    assert RunFolder(run.path).raw_state().get("error_message") is None
    run.set_state("failed", error="RuntimeError: boom")   # no Message: as written
    assert RunFolder(run.path).state()["error"] == "RuntimeError: boom"
    old = {"state": "failed", "error": "out of GPU memory"}   # written before error_message
    (run.path / "state.json").write_text(json.dumps(old), encoding="utf-8")
    assert localized(RunFolder(run.path).state()["error"]) == "out of GPU memory"

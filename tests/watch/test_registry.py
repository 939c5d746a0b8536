"""The registry of watched runs: one small JSON file, atomic, bounded, never fatal."""

from __future__ import annotations

import json
import os

from loratui.watch import registry


def state(path, step=1, st="running"):
    return {"source": str(path), "trainer": "sd-scripts", "state": st, "step": step,
            "max_steps": 100}


def test_entries_update_in_place_newest_first(tmp_path):
    reg = tmp_path / "state" / "loratui" / "watched.json"
    registry.record(state(tmp_path / "a.log"))
    registry.record(state(tmp_path / "b.log"))
    registry.record(state(tmp_path / "a.log", step=50, st="finished"))
    assert reg.is_file() and oct(reg.stat().st_mode & 0o777) == oct(0o666 & ~_umask())
    entries = registry.load()
    assert [e["path"] for e in entries] == [str(tmp_path / "a.log"), str(tmp_path / "b.log")]
    a = entries[0]
    assert (a["last_state"], a["last_step"], a["max_steps"], a["trainer"]) == \
        ("finished", 50, 100, "sd-scripts")
    assert a["first_seen"] <= a["last_seen"]
    assert set(a) == set(registry.FIELDS)


def test_bounded_to_the_newest_fifty(tmp_path):
    for i in range(60):
        registry.record(state(tmp_path / f"{i}.log"))
    entries = registry.load()
    assert len(entries) == 50
    assert str(tmp_path / "59.log") in {e["path"] for e in entries}
    assert str(tmp_path / "0.log") not in {e["path"] for e in entries}


def test_damaged_file_reads_empty_and_is_replaced(tmp_path):
    reg = registry.registry_path()
    reg.parent.mkdir(parents=True)
    reg.write_text("{not json")
    assert registry.load() == []
    registry.record(state(tmp_path / "a.log"))
    assert json.loads(reg.read_text())["watched"][0]["path"] == str(tmp_path / "a.log")


def test_stdin_is_not_recorded_and_an_unwritable_home_is_not_fatal(tmp_path, monkeypatch):
    registry.record(state("-"))
    assert registry.load() == []
    blocker = tmp_path / "file"
    blocker.write_text("x")
    monkeypatch.setenv("XDG_STATE_HOME", str(blocker))  # a file where a folder should be
    registry.record(state(tmp_path / "a.log"))  # no exception


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask

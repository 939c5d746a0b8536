"""`loratui runs` lists the other trainers' runs `loratui watch` followed beside loratui's own."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from train_helpers import repo_root


def _runs(tmp_path, *args):
    code = ("import sys; from loratui.cli import main; rc = main(sys.argv[1:]); "
            "assert 'torch' not in sys.modules, 'torch imported'; sys.exit(rc)")
    env = dict(os.environ, PYTHONPATH=repo_root(), COLUMNS="160",
               XDG_STATE_HOME=str(tmp_path / "state"))
    return subprocess.run([sys.executable, "-c", code, "runs", *args], capture_output=True,
                          text=True, env=env)


def test_runs_lists_watched_runs_beside_loratuis_own(tmp_path, monkeypatch):
    from loratui.config import RunConfig
    from loratui.train.runfolder import RunWriter
    from loratui.watch import registry

    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    own = RunWriter.create(RunConfig.model_validate({"output": {"dir": str(tmp_path / "runs"),
                                                                "name": "mine"}}))
    own.set_state("finished", step=10, max_steps=10)
    log = tmp_path / "kohya" / "train.log"
    log.parent.mkdir()
    log.write_text("steps:  50%|█████     | 150/300 [04:01<04:01,  1.61s/it, avr_loss=0.0912]")
    gone = tmp_path / "onetrainer-workspace"
    gone.mkdir()
    registry.record({"source": str(gone), "trainer": "onetrainer", "state": "failed",
                     "step": 12, "max_steps": 400})
    gone.rmdir()
    registry.record({"source": str(log), "trainer": "sd-scripts", "state": "running",
                     "step": 150, "max_steps": 300})
    registry.record({"source": str(own.path), "trainer": "loratui", "state": "finished",
                     "step": 10, "max_steps": 10})  # listed once, as loratui's own

    out = _runs(tmp_path, "--dir", str(tmp_path / "runs"), "--json")
    assert out.returncode == 0, out.stderr
    rows = json.loads(out.stdout)
    assert [(r["trainer"], r["watched"]) for r in rows] == [
        ("loratui", False), ("sd-scripts", True), ("onetrainer", True)]
    assert rows[0]["path"] == str(own.path) and rows[0]["state"] == "finished"
    kohya = rows[1]
    assert kohya["path"] == str(log) and kohya["state"] == "running"
    assert (kohya["step"], kohya["max_steps"]) == (150, 300)
    assert kohya["last_seen"] and kohya["name"] == "train.log"
    assert rows[2]["state"] == "missing"  # its folder is gone since

    table = _runs(tmp_path, "--dir", str(tmp_path / "runs"))
    assert table.returncode == 0, table.stderr
    assert own.path.name in table.stdout
    assert "watched runs" in table.stdout
    line = next(ln for ln in table.stdout.splitlines() if "sd-scripts" in ln)
    assert "150/300" in line and "running" in line and str(log) in line

    empty = _runs(tmp_path, "--dir", str(tmp_path / "nothing-here"))
    assert empty.returncode == 0
    assert "no runs under" in empty.stderr and "sd-scripts" in empty.stdout


def test_runs_with_a_damaged_registry_lists_loratuis_runs(tmp_path):
    state = tmp_path / "state" / "loratui"
    state.mkdir(parents=True)
    (state / "watched.json").write_text('{"watched": [{"path": 3}, "x"', encoding="utf-8")
    out = _runs(tmp_path, "--dir", str(tmp_path / "runs"), "--json")
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout) == []

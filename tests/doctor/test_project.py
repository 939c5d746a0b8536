"""`loratui doctor` with no path (the project here), and one finding in one place."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

from PIL import Image

from .helpers import run_doctor
from .test_inputs import make_lora

CONFIG = """\
[model]
base = "/models/v1-5-pruned-emaonly.safetensors"
[dataset]
dir = "{dir}"
caption_extension = ".txt"
trigger_word = "zq_cat"
resolution = 512
[network]
rank = 64
alpha = 64.0
[output]
dir = "runs"
name = "zq"
"""


def _doctor(cwd: Path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "NO_COLOR": "1"}
    return subprocess.run([sys.executable, "-m", "loratui", "doctor", *args], cwd=cwd,
                          capture_output=True, text=True, env=env)


def _dataset(folder: Path) -> Path:
    folder.mkdir(parents=True)
    for i in range(4):
        Image.new("RGB", (640, 480), (i * 50, 90, 160)).save(folder / f"{i}.png")
        (folder / f"{i}.txt").write_text("a photo of a cat", encoding="utf-8")  # no trigger
    Image.new("RGB", (512, 512)).save(folder / "uncaptioned.png")
    return folder


def _run(runs: Path, name: str, data: Path, age: float) -> Path:
    """A run folder as the trainer leaves it: the resolved config copy, state, log, LoRA."""
    run = runs / name
    run.mkdir(parents=True)
    (run / "config.toml").write_text(CONFIG.format(dir=data.as_posix()), encoding="utf-8")
    (run / "state.json").write_text(json.dumps({"state": "finished", "step": 40}),
                                    encoding="utf-8")
    (run / "train.log").write_text("steps: 100%|##########| 40/40 [00:10<00:00, 4.0it/s]\n",
                                   encoding="utf-8")
    make_lora(run / "zq.safetensors")
    stamp = time.time() - age
    os.utime(run / "state.json", (stamp, stamp))
    return run


def _project(tmp: Path) -> tuple[Path, Path]:
    data = _dataset(tmp / "data")
    (tmp / "loratui.toml").write_text(CONFIG.format(dir="data"), encoding="utf-8")
    _run(tmp / "runs", "zq-2026-01-01_10-00-00", data.resolve(), age=3600)
    newest = _run(tmp / "runs", "zq-2026-01-02_10-00-00", data.resolve(), age=60)
    return data, newest


def test_no_path_and_nothing_here_says_so_and_exits_2(tmp_path):
    out = _doctor(tmp_path)
    assert out.returncode == 2
    assert "nothing to check" in out.stderr and "loratui.toml" in out.stderr
    assert "All checks passed" not in out.stdout + out.stderr


def test_nothing_checked_is_never_all_passed():
    from loratui.doctor.output import render_text

    assert "All checks passed" not in render_text([], checked=[])
    assert "All checks passed in 1 input" in render_text([], checked=["a.toml"])


def test_no_path_checks_the_project_here(tmp_path):
    _data, newest = _project(tmp_path)
    out = _doctor(tmp_path, "--format", "json")
    assert out.returncode in (0, 1), out.stderr
    assert "loratui.toml" in out.stderr and "data" in out.stderr and newest.name in out.stderr
    report = json.loads(out.stdout)
    checked = {i["path"] for i in report["inputs"]}
    assert checked == {"loratui.toml", os.path.join("runs", newest.name)}
    codes = {d["code"] for d in report["diagnostics"]}
    assert "CF102" in codes  # rank 64, from the config
    assert {"DS105", "DS113"} <= codes  # the dataset, through the config


def test_same_dataset_through_config_folder_and_run_is_reported_once(tmp_path, monkeypatch):
    _data, newest = _project(tmp_path)
    monkeypatch.chdir(tmp_path)
    for paths in (["loratui.toml", "data", str(newest)], [str(newest), "data", "loratui.toml"],
                  ["loratui.toml", str(newest)]):
        diags, _ = run_doctor(paths)
        per_code = Counter(d.code for d in diags if d.code.startswith("DS"))
        assert per_code and max(per_code.values()) == 1, (paths, per_code)
        # the run's copy of the config repeats the config's findings: shown once
        per_config = Counter((d.code, d.location.key) for d in diags if d.code.startswith("CF"))
        assert max(per_config.values()) == 1, (paths, per_config)


def test_wizard_doctor_targets_report_the_dataset_once(tmp_path):
    from loratui.ui import core

    data, newest = _project(tmp_path)
    diags = core.diagnose_paths([tmp_path / "loratui.toml", data, newest])
    per_code = Counter(d.code for d in diags if d.code.startswith("DS"))
    assert per_code and max(per_code.values()) == 1, per_code


def test_wizard_cli_and_rule_agree_on_code_name_and_severity(tmp_path):
    """A dataset finding has one code, name and severity: the wizard's problem list, the
    doctor's report and `loratui rule CODE` show the same three."""
    from loratui.dataset import ScanOptions, scan
    from loratui.dataset.report import DOCTOR_CODES
    from loratui.ui.screens.dataset import _shown

    data = _dataset(tmp_path / "data")
    (data / "notes.png").write_bytes(b"")  # a broken image: DS110
    report = scan(data, ScanOptions(trigger_word="zq_cat", caption_extension=".txt",
                                    workers=0))
    out = _doctor(tmp_path, str(data), "--format", "json")
    cli = {(d["code"]): (d["name"], d["severity"]) for d in json.loads(out.stdout)["diagnostics"]}
    shown = {}
    for f in report.findings:
        title, code, severity = _shown(f)
        if code:
            shown[code] = (title.split(" ", 1)[1], severity)
    assert {"DS105", "DS110"} <= set(shown), shown
    both = set(shown) & set(cli)
    assert {"DS105", "DS110"} <= both, (shown, cli)
    for code in both:
        assert shown[code] == cli[code], code
    rules = subprocess.run([sys.executable, "-m", "loratui", "rule", "--all", "--format",
                            "json"], capture_output=True, text=True)
    catalog = {r["code"]: (r["name"], r["severity"]) for r in json.loads(rules.stdout)}
    for code in set(DOCTOR_CODES.values()):
        assert code in catalog, code
    for code, pair in shown.items():
        assert catalog[code] == pair, code


def test_fix_in_a_project_writes_the_users_config_not_the_runs_record(tmp_path):
    _data, newest = _project(tmp_path)
    record = (newest / "config.toml").read_bytes()
    out = _doctor(tmp_path, "--fix", "--unsafe-fixes")
    assert out.returncode in (0, 1), out.stderr
    assert "rank = 8" in (tmp_path / "loratui.toml").read_text(encoding="utf-8")
    backups = list(tmp_path.glob("loratui.toml.*.bak"))
    assert [b.read_text(encoding="utf-8") for b in backups] == [CONFIG.format(dir="data")]
    assert (newest / "config.toml").read_bytes() == record
    assert not list(newest.glob("config.toml*.bak"))

"""Counts in what a user reads: "1 caption", "2 captions", never "caption(s)"."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from loratui.wording import a_an, plural

REPO = Path(__file__).resolve().parents[2]


def test_plural_and_article():
    assert plural(1, "caption") == "1 caption"
    assert plural(0, "caption") == "0 captions"
    assert plural(2, "sample image") == "2 sample images"
    assert plural(3, "kind", "kinds") == "3 kinds"
    assert a_an("8 GB card") == "an 8 GB card" and a_an("12 GB card") == "a 12 GB card"


@pytest.fixture(scope="module")
def demo_project(tmp_path_factory) -> Path:
    """The demo's dataset, its prepared copy and loratui.toml (no model: it takes seconds),
    plus the README's run (written by loratui's trainer) as the project's run."""
    from loratui.demo import DEMO_STEPS, run_demo

    root = tmp_path_factory.mktemp("wording") / "demo"
    steps = [s for s in DEMO_STEPS if s.name in ("dataset", "prepare", "config")]
    ctx = run_demo(root, steps=steps, log=lambda _msg: None)
    assert ctx.failed is None
    shutil.copytree(REPO / "tests" / "fixtures" / "readme-run", root / "runs" / "readme-run")
    return root


def _loratui(cwd: Path, *args: str) -> str:
    env = {**os.environ, "LORATUI_FAKE_GPU": "", "COLUMNS": "200"}
    out = subprocess.run([sys.executable, "-m", "loratui", *args], cwd=cwd, env=env,
                         capture_output=True, text=True, timeout=60)
    assert out.returncode in (0, 1), (args, out.stderr[-2000:])
    return out.stdout + out.stderr


COMMANDS = [
    ("dataset", "scan", "dataset", "--fail-on", "never"),
    ("dataset", "scan", "--config", "loratui.toml", "--json", "--fail-on", "never"),
    ("dataset", "prepare", "dataset", "--out", "copy", "--resolution", "64"),
    ("dataset", "trigger", "dataset", "lrt_girl"),
    ("dataset", "caption", "dataset_prepared", "--dedupe", "--dry-run"),
    ("config", "check", "loratui.toml"),
    ("doctor", "loratui.toml", "dataset", "runs/readme-run"),
    ("presets",),
    ("runs", "--config", "loratui.toml"),
    ("train", "--help"),
]


@pytest.mark.parametrize("args", COMMANDS, ids=lambda a: " ".join(a[:2]))
def test_main_commands_write_no_s_in_parentheses(demo_project, args):
    text = _loratui(demo_project, *args)
    assert text.strip(), args
    assert "(s)" not in text, [ln for ln in text.splitlines() if "(s)" in ln]


def test_one_of_a_kind_is_singular(demo_project):
    """The demo's dataset has exactly one image without a caption and one caption in
    another style: said in the singular."""
    text = _loratui(demo_project, "dataset", "scan", "dataset", "--fail-on", "never")
    assert "1 image without a .txt caption" in text
    assert re.search(r"\b1 (sentence|tag-list) caption among mostly", text), text
    assert "1 image folder," in text and "0 errors," in text

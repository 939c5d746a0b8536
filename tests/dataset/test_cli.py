"""`loratui dataset ...` as a user runs it (subprocess), and the cheap-import rule."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from .dataset_fixtures import write_image

REPO = Path(__file__).resolve().parents[2]


def run(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(REPO) + os.pathsep + env.get("PYTHONPATH", "")
    return subprocess.run([sys.executable, "-m", "loratui", "dataset", *args], env=env,
                          capture_output=True, text=True, cwd=cwd, timeout=120)


pytestmark = pytest.mark.slow


def test_scan_json_and_exit_codes(broken_set):
    root, kinds = broken_set
    p = run("scan", str(root), "--json")
    assert p.returncode == 1, p.stderr                  # errors found
    data = json.loads(p.stdout)
    found = {f["kind"]: f["paths"] for f in data["findings"]}
    assert kinds["truncated"] in found["truncated"]
    assert data["totals"]["usable"] == 7
    text = run("scan", str(root), "--fail-on", "never")
    assert text.returncode == 0
    assert "cut.jpg" in text.stdout and "[D05]" in text.stdout
    cfg = root.parent / "loratui.toml"
    cfg.write_text(f'[dataset]\ndir = "{root.name}"\ntrigger_word = "zz_tr_"\n', encoding="utf-8")
    by_config = run("scan", "--config", str(cfg), "--json", "--fail-on", "never")
    assert by_config.returncode == 0, by_config.stderr
    assert json.loads(by_config.stdout)["trigger_word"] == "zz_tr_"
    missing = run("scan", str(root / "nope"))
    assert missing.returncode == 2 and "no such folder" in missing.stderr and not missing.stdout


def test_prepare_then_trigger_insert(tmp_path):
    src = tmp_path / "src ü"
    for i in range(3):
        write_image(src / f"{i}.png", 700, 500, seed=i, caption="red dress")
    out = tmp_path / "out"
    p = run("prepare", str(src), "--out", str(out), "--mode", "bucket", "--json")
    assert p.returncode == 0, p.stderr
    assert json.loads(p.stdout)["written"] == 3
    bad = run("trigger", str(out), "beautiful girl")
    assert bad.returncode == 1 and "trigger-common-phrase" in bad.stdout
    refused = run("trigger", str(src), "zq_dress_", "--insert")
    assert refused.returncode == 2 and "source folder" in refused.stderr
    cfg = tmp_path / "loratui.toml"
    cfg.write_text('[dataset]\nbucketing = true\ntrigger_word = "zq_cfg_"\n', encoding="utf-8")
    by_cfg = run("prepare", str(src), "--out", str(tmp_path / "out2"), "--config", str(cfg),
                 "--json")
    assert json.loads(by_cfg.stdout)["sizes"] == {"576x448": 3}
    assert (tmp_path / "out2" / "0.txt").read_text() == "zq_cfg_, red dress\n"
    ok = run("trigger", str(out), "zq_dress_", "--insert")
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert (out / "0.txt").read_text() == "zq_dress_, red dress\n"
    again = run("scan", str(out), "--trigger", "zq_dress_", "--json", "--fail-on", "warning")
    kinds = {f["kind"] for f in json.loads(again.stdout)["findings"]}
    assert "caption-no-trigger" not in kinds


def test_caption_edits_and_missing_model(tmp_path):
    write_image(tmp_path / "a.png", seed=1, caption="a, watermark, b, b")
    p = run("caption", str(tmp_path), "--remove-tag", "watermark", "--dedupe", "--in-place",
            "--add-prefix", "zq_x_")
    assert p.returncode == 0, p.stderr
    assert (tmp_path / "a.txt").read_text() == "zq_x_, a, b\n"
    assert "backed up" in p.stdout
    env_model = run("caption", str(tmp_path), "--model", str(tmp_path / "no-blip"))
    assert env_model.returncode == 2 and "hf download" in env_model.stderr


def test_dataset_commands_do_not_import_torch(tmp_path):
    write_image(tmp_path / "a.png", seed=1)
    code = ("import sys, runpy; sys.argv=['loratui','dataset','scan',%r];"
            "from loratui.cli import main; rc = main();"
            "heavy=[m for m in ('torch','transformers','diffusers','textual','pydantic') "
            "if m in sys.modules]; print('HEAVY', heavy)" % str(tmp_path))
    env = dict(os.environ, PYTHONPATH=str(REPO))
    p = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                       timeout=60)
    assert "HEAVY []" in p.stdout, p.stdout + p.stderr
    code = ("import sys, loratui.dataset, loratui.dataset.prepare, loratui.dataset.trigger, "
            "loratui.dataset.models, loratui.cli.dataset_cmd;"
            "print([m for m in ('torch','transformers','PIL','numpy') if m in sys.modules])")
    p = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                       timeout=60)
    assert p.stdout.strip() == "[]", p.stdout + p.stderr


def test_scan_takes_the_captions_a_kohya_folder_has(tmp_path):
    """A kohya `10_name` folder with upper-case extensions, a .webp and sd-scripts' own
    `.caption` files: without a config every image counts as captioned; a config that
    reads .txt is told its captions are ignored."""
    sub = tmp_path / "train" / "10_mei"
    for i, name in enumerate(["IMG_0001.JPG", "IMG_0002.PNG", "photo3.webp", "IMG_0004.JPEG"]):
        write_image(sub / name, 512, 512, seed=i, caption=None)
        (sub / name).with_suffix(".caption").write_text(f"mei_zx, 1girl, pose {i}",
                                                         encoding="utf-8")
    p = run("scan", str(tmp_path / "train"))
    assert p.returncode == 0, p.stdout + p.stderr
    assert "4 usable / 4 found" in p.stdout and "4 captioned" in p.stdout
    assert "10_mei ×10 (4)" in p.stdout and "captions .caption files" in p.stdout
    assert "caption-other-extension" not in p.stdout
    data = json.loads(run("scan", str(tmp_path / "train"), "--json").stdout)
    assert data["caption_extension"] == ".caption" and data["layout"] == "kohya"
    assert sorted(data["totals"]["formats"]) == ["JPEG", "PNG", "WEBP"]
    cfg = tmp_path / "loratui.toml"
    cfg.write_text('[dataset]\ndir = "train"\n', encoding="utf-8")
    by_config = run("scan", "--config", str(cfg))
    assert by_config.returncode == 1 and "caption-other-extension" in by_config.stdout

"""`loratui doctor DIR` runs the dataset scanner (loratui.dataset) and its rules DS201-DS215."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from PIL import Image

from .helpers import codes, run_doctor, write

SCAN_CODES = {f"DS2{n:02d}" for n in range(1, 16)}


def _img(path, size=(512, 512), mode="RGB", fmt=None, caption="zq_girl_, red dress", **kw):
    path.parent.mkdir(parents=True, exist_ok=True)
    colour = (hash(path.name) % 256, 80, 160)[: len(mode)] if mode != "L" else 128
    im = Image.new("RGB" if mode == "CMYK" else mode, size, colour)
    for x in range(0, size[0], 37):      # some structure, different per file
        im.putpixel((x, (x * 7 + len(path.name)) % size[1]), colour if mode == "L" else
                    (255, 255, 255)[: len(mode)] if mode != "CMYK" else (255, 255, 255))
    if mode == "CMYK":
        im = im.convert("CMYK")
    im.save(path, fmt, **kw)
    if caption is not None:
        path.with_suffix(".txt").write_text(caption, encoding="utf-8")


def test_clean_dataset_fires_no_scanner_rule(tmp_path):
    root = tmp_path / "clean"
    for i in range(3):
        _img(root / f"{i}.png", caption=f"zq_girl_, red dress, pose {i}")
    assert not (codes(run_doctor([root])[0]) & SCAN_CODES)


def test_each_scanner_rule_fires(tmp_path):
    root = tmp_path / "ds"
    _img(root / "liar.png", fmt="JPEG")                                      # DS201
    _img(root / "a.png")
    (root / "a_copy.png").write_bytes((root / "a.png").read_bytes())         # DS202
    (root / "a_copy.txt").write_text("zq_girl_, copy", encoding="utf-8")
    _img(root / "long.png", caption="zq_girl_, " + ", ".join(f"tag{i} x" for i in range(60)))
    _img(root / "bom.png", caption=None)
    (root / "bom.txt").write_bytes("\ufeffzq_girl_, hat".encode())          # DS205
    _img(root / "late.png", caption="red dress, zq_girl_")                  # DS206 (config)
    exif = Image.Exif()
    exif[0x0112] = 6
    _img(root / "rot.jpg", fmt="JPEG", exif=exif.tobytes())                 # DS207
    _img(root / "cmyk.jpg", mode="CMYK", fmt="JPEG")                        # DS208
    _img(root / "wide.png", size=(1600, 512))                               # DS209
    (root / "a.npz").write_bytes(b"PK")                                     # DS210
    os.symlink(root / "missing.png", root / "gone.png")                     # DS211
    _img(root / "deeper" / "n.png")                                         # DS212
    frames = [Image.new("RGB", (512, 512), (40 * i, 90, 9)) for i in range(3)]
    frames[0].save(root / "dance.webp", save_all=True, append_images=frames[1:])  # DS214
    _img(root / "nocap.png", caption=None)
    (root / "nocap.txt").mkdir()                                            # DS215
    found = codes(run_doctor([root])[0])
    assert {"DS201", "DS202", "DS204", "DS205", "DS207", "DS208", "DS209", "DS210", "DS211",
            "DS212", "DS214", "DS215"} <= found, found
    # the config's trigger word reaches the scanner's rules (DS206)
    cfg = write(tmp_path, "run.json", json.dumps({"train_data_dir": str(root),
                                                  "caption_extension": ".txt",
                                                  "trigger_word": "zq_girl_"}))
    assert "DS206" in codes(run_doctor([cfg])[0])


def test_near_duplicates_and_large_sets(tmp_path):
    from loratui.dataset import scan
    from loratui.dataset.doctor_rules import facts_from_report, scan_findings
    from loratui.doctor.catalog import load_catalog

    root = tmp_path / "big"
    root.mkdir()
    for i in range(301):
        Image.new("RGB", (8, 8), (i % 256, i // 256, 0)).save(root / f"{i}.png")
    assert "DS213" in codes(run_doctor([root])[0])                          # > 300 images
    # DS203 reads near-duplicates, which a --dupes/--deep scan computes
    small = tmp_path / "near"
    small.mkdir()
    im = Image.linear_gradient("L").convert("RGB")
    im.paste((200, 30, 30), (40, 60, 150, 200))
    im.save(small / "x.png")
    im.resize((200, 200)).save(small / "y.png")
    report = scan(small, duplicates=True)
    facts = facts_from_report(report, ".txt", "auto")
    assert report.finding("near-duplicate") and facts.report is report

    class Inp:
        data = facts

    rule = load_catalog(use_cache=False).get("DS203")
    hits = list(scan_findings(Inp, None, rule, {}))
    assert hits and hits[0].vars["n"] == 1


def test_doctor_cli_on_a_dataset_folder(tmp_path):
    root = tmp_path / "cli ds"
    _img(root / "liar.png", fmt="JPEG")
    (root / "zero.png").write_bytes(b"")
    p = subprocess.run([sys.executable, "-m", "loratui", "doctor", str(root), "--format",
                        "json"], capture_output=True, text=True, timeout=120)
    data = json.loads(p.stdout)
    by_code = {d["code"]: d for d in data["diagnostics"]}
    assert "DS201" in by_code and "D05" in by_code["DS201"]["refs"]
    assert "DS110" in by_code
    assert "zero.png: 0 bytes; re-export it or delete it" in by_code["DS110"]["message"]
    assert p.returncode == 1


def test_every_dataset_kind_maps_to_a_real_rule():
    from loratui.dataset.report import DOCTOR_CODES, KINDS
    from loratui.doctor import code_for_dataset_kind
    from loratui.doctor.catalog import load_catalog

    codes_known = {r.code for r in load_catalog(use_cache=False).rules}
    for kind, code in DOCTOR_CODES.items():
        assert kind in KINDS and code in codes_known, (kind, code)
    assert code_for_dataset_kind("truncated") == "DS110"
    assert code_for_dataset_kind("caption-orphan") == ""


def test_doctor_on_the_broken_file_folder(tmp_path):
    """One of each broken kind (symlink loop included): diagnosed, never a crash."""
    from tests.dataset.dataset_fixtures import make_broken_set

    root = tmp_path / "broken set"
    make_broken_set(root)
    diags, _ = run_doctor([root])
    found = codes(diags)
    assert {"DS110", "DS109", "DS201", "DS211", "DS212"} <= found, found
    assert not any(d.code.startswith("DR") for d in diags)     # no rule crashed
    assert "DS112" not in found            # a non-UTF-8 caption is not an empty one
    ds103 = next((d for d in diags if d.code == "DS103"), None)
    assert ds103 is None or "20000" not in ds103.message        # the bomb is not sized


def test_scan_findings_rules_name_real_finding_kinds():
    from loratui.dataset.report import KINDS
    from loratui.doctor.catalog import load_catalog

    rules = [r for r in load_catalog(use_cache=False).rules if r.predicate == "scan_findings"]
    assert len(rules) >= 10
    for rule in rules:
        assert rule.kinds, rule.code
        assert set(rule.kinds) <= set(KINDS), (rule.code, rule.kinds)

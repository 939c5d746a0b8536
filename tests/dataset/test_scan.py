"""Scanner on real folders: every broken kind named with its path, layouts, captions."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest
from PIL import Image

from loratui.dataset import DatasetReport, ScanOptions, scan
from loratui.dataset.headers import read_path

from .dataset_fixtures import make_broken_set, write_image


def kinds(report: DatasetReport) -> dict[str, list[str]]:
    return {f.kind: f.paths for f in report.findings}


def test_broken_set_every_kind_reported_and_skipped(broken_set):
    root, expected = broken_set
    report = scan(root)
    found = kinds(report)
    for kind, path in expected.items():
        if kind == "nested":
            continue
        assert path in found[kind], (kind, found.get(kind))
    # broken files are not usable; good ones (incl. non-ASCII path with spaces) are
    by_path = {r.path: r for r in report.images}
    for kind in ("truncated", "empty-file", "decompression-bomb", "corrupt",
                 "unsupported-format"):
        assert not by_path[expected[kind]].ok
    nested = by_path["sub dir é/图 片 1.png"]
    assert nested.ok and (nested.width, nested.height) == (600, 800)
    assert nested.caption == "长裙, garden"
    assert by_path["liar.png"].ok and by_path["liar.png"].format == "JPEG"
    assert report.totals.usable == 7
    assert "quote.txt" in found["caption-not-utf8"]
    detail = report.finding("caption-not-utf8").details["quote.txt"]
    assert "0x92" in detail and "Windows-1252" in detail


def test_deep_scan_finds_damage_inside_a_file(tmp_path):
    write_image(tmp_path / "ok.png", seed=1)
    bad = write_image(tmp_path / "bad.png", seed=2)
    data = bytearray(bad.read_bytes())
    data[200:260] = b"\x00" * 60                       # corrupt compressed data, tail intact
    bad.write_bytes(bytes(data))
    assert "bad.png" not in kinds(scan(tmp_path)).get("corrupt", [])   # header looks fine
    deep = scan(tmp_path, deep=True)
    assert "bad.png" in kinds(deep)["corrupt"]
    assert deep.duplicates_checked


def test_report_round_trips_through_json(broken_set):
    root, _ = broken_set
    report = scan(root, trigger_word="zz_")
    data = json.loads(report.to_json())
    again = DatasetReport.from_dict(data)
    assert again.totals == report.totals
    assert [f.kind for f in again.findings] == [f.kind for f in report.findings]
    assert again.images[0] == report.images[0]


def _plain(value):
    """Every record field by field, recursively (what `dataclasses.asdict` gave)."""
    from loratui.dataset.report import Record

    if isinstance(value, Record):
        return {name: _plain(getattr(value, name)) for name in value._fields}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value


def test_report_json_is_every_field_one_record_per_line(broken_set):
    root, _ = broken_set
    report = scan(root, trigger_word="zz_")
    plain = _plain(report)
    assert report.to_dict() == plain
    assert list(plain) == ["root", "layout", "deep", "duplicates_checked", "caption_extension",
                           "trigger_word", "resolution", "tokens_exact", "subsets", "images",
                           "findings", "totals", "elapsed_s", "schema_version"]
    text = report.to_json()
    assert json.loads(text) == plain == json.loads(report.to_json(None))
    lines = text.splitlines()
    image_lines = [ln for ln in lines if ln.lstrip().startswith('{"path": ')
                   and '"format": ' in ln]
    assert len(image_lines) == len(report.images)  # each image on its own line
    assert lines[0] == "{" and lines[1].startswith('  "root": ')
    assert "\n" not in report.to_json(None)


def test_report_json_keeps_records_apart_whatever_captions_and_names_hold(tmp_path):
    """Captions that look like JSON record boundaries, control characters, non-ASCII and a
    file name that is not UTF-8: one valid UTF-8 record per image line, equal to to_dict."""
    captions = {"img0.png": 'a}, {"path": "x"}, {b', "img1.png": "tab\there\x00nul",
                "img2.png": "ünï ×", "img3.png": "}\n{"}
    for i, (name, text) in enumerate(captions.items()):
        write_image(tmp_path / name, 64, 64, seed=i, caption=text)
    write_image(Path(os.fsdecode(bytes(tmp_path) + b"/bad\xff.png")), 64, 64, caption=None)
    report = scan(tmp_path)
    data = report.to_json_bytes()
    text = data.decode("utf-8")                      # strict: valid UTF-8
    assert text == report.to_json()
    parsed = json.loads(text)
    assert {r["path"]: r["caption"] for r in parsed["images"]} == {**captions,
                                                                     "bad\\xff.png": None}
    rows = [ln for ln in text.splitlines() if ln.startswith('    {"path": ')
            and '"subset": ' in ln]
    assert len(rows) == len(report.images) == 5
    assert [json.loads(r.rstrip(","))["path"] for r in rows] == \
        [r["path"] for r in parsed["images"]]
    report.elapsed_s = float("nan")                 # JSON has no NaN: null
    assert json.loads(report.to_json(None))["elapsed_s"] is None


def test_kohya_layout_repeats_and_layout_errors(tmp_path):
    root = tmp_path / "train"
    for i in range(3):
        write_image(root / "10_hanfu" / f"{i}.png", seed=i)
    write_image(root / "5_bg" / "a.png", seed=9)
    write_image(root / "loose.png", seed=10)                    # beside N_name folders
    write_image(root / "100 Testtraining" / "x.png", seed=11)   # space, not underscore
    (root / ".ipynb_checkpoints").mkdir()
    write_image(root / "10_hanfu" / "deeper" / "n.png", seed=12)
    report = scan(root)
    assert report.layout == "kohya"
    reps = {s.path: s.repeats for s in report.subsets}
    assert reps["10_hanfu"] == 10 and reps["5_bg"] == 5
    found = kinds(report)
    assert found["images-in-parent"] == ["loose.png"]
    assert found["bad-folder-name"] == ["100 Testtraining"]
    assert found["stray-folder"] == [".ipynb_checkpoints"]
    assert "10_hanfu/deeper/n.png" in found["nested-images"]
    ref = report.finding("bad-folder-name").refs
    assert "D02" in ref


def test_leaf_folder_and_reg_dir(tmp_path):
    leaf = tmp_path / "20_girl"
    write_image(leaf / "a.png", seed=1)
    reg = tmp_path / "reg"
    write_image(reg / "1_person" / "r.png", seed=2)
    report = scan(leaf, reg_dir=reg)
    assert report.layout == "leaf"
    assert "leaf-folder" in kinds(report)
    assert report.totals.reg_images == 1 and report.totals.images == 1
    assert report.totals.steps_per_epoch_images == 20


def test_same_stem_and_duplicates(tmp_path):
    write_image(tmp_path / "a.png", seed=1)
    write_image(tmp_path / "a.jpg", seed=2, fmt="JPEG")
    write_image(tmp_path / "b.png", seed=3)
    (tmp_path / "b_copy.png").write_bytes((tmp_path / "b.png").read_bytes())
    im = Image.open(tmp_path / "b.png").convert("RGB")
    im.resize((500, 500)).save(tmp_path / "b_small.png")        # near duplicate
    write_image(tmp_path / "c.png", seed=4)
    header = kinds(scan(tmp_path))
    assert sorted(header["same-stem"]) == ["a.jpg", "a.png"]
    assert header["exact-duplicate"] == ["b_copy.png"]
    assert "near-duplicate" not in header                       # needs pixels
    deep = kinds(scan(tmp_path, duplicates=True))
    assert deep["near-duplicate"] == ["b_small.png"]


def test_pixel_findings(tmp_path):
    write_image(tmp_path / "square.png", 512, 512, seed=1)
    write_image(tmp_path / "small.png", 300, 400, seed=2)
    write_image(tmp_path / "wide.png", 1600, 512, seed=3)
    write_image(tmp_path / "alpha.png", 512, 512, seed=4, mode="RGBA")
    write_image(tmp_path / "grey.png", 512, 512, seed=5, mode="L")
    write_image(tmp_path / "cmyk.jpg", 512, 512, seed=6, mode="CMYK", fmt="JPEG")
    exif = Image.Exif()
    exif[0x0112] = 6
    write_image(tmp_path / "rot.jpg", 640, 512, seed=7, fmt="JPEG", exif=exif.tobytes())
    report = scan(tmp_path)
    found = kinds(report)
    assert report.totals.buckets["512x512"] == 4 and report.totals.buckets["832x256"] == 1
    assert set(found["not-512"]) == {"small.png", "wide.png", "rot.jpg"}
    assert found["small-image"] == ["small.png"]
    assert found["extreme-aspect"] == ["wide.png"]
    assert found["alpha"] == ["alpha.png"]
    assert found["grayscale"] == ["grey.png"]
    assert found["cmyk"] == ["cmyk.jpg"]
    assert found["exif-rotated"] == ["rot.jpg"]


def test_caption_findings(tmp_path):
    write_image(tmp_path / "tags.png", seed=1, caption="zz_tr_, red dress, garden")
    write_image(tmp_path / "tags2.png", seed=2, caption="zz_tr_, blue sky, smile")
    write_image(tmp_path / "tags3.png", seed=3, caption="red dress, zz_tr_, hat")
    write_image(tmp_path / "sent.png", seed=4,
                caption="zz_tr_ a woman in a long red dress standing in a garden.")
    write_image(tmp_path / "none.png", seed=5, caption=None)
    write_image(tmp_path / "empty.png", seed=6, caption=None)
    (tmp_path / "empty.txt").write_text("  \n", encoding="utf-8")
    write_image(tmp_path / "bom.png", seed=7, caption=None)
    (tmp_path / "bom.txt").write_bytes("\ufeffzz_tr_, hat".encode())
    write_image(tmp_path / "other.png", seed=8, caption=None)
    (tmp_path / "other.caption").write_text("zz_tr_, hat", encoding="utf-8")
    write_image(tmp_path / "long.png", seed=9, caption=None)
    (tmp_path / "long.txt").write_text("zz_tr_, " + ", ".join(f"tag{i} word" for i in range(40)),
                                       encoding="utf-8")
    (tmp_path / "orphan.txt").write_text("no image", encoding="utf-8")
    write_image(tmp_path / "full.png", seed=10, caption=None)
    (tmp_path / "full.png.txt").write_text("zz_tr_, hat", encoding="utf-8")
    report = scan(tmp_path, trigger_word="zz_tr_")
    found = kinds(report)
    assert found["caption-missing"] == ["full.png", "none.png"]
    assert found["caption-empty"] == ["empty.txt"]
    assert found["caption-bom"] == ["bom.txt"]
    assert found["caption-other-extension"] == ["other.png"]
    assert found["caption-too-long"] == ["long.txt"]
    assert found["trigger-not-first"] == ["tags3.txt"]
    assert found["caption-style-mixed"] == ["sent.txt"]
    assert sorted(found["caption-orphan"]) == ["full.png.txt", "orphan.txt"]
    assert "rename to full.txt" in report.finding("caption-orphan").details["full.png.txt"]
    assert "caption-no-trigger" not in found
    assert {r.path: r.caption for r in report.images}["bom.png"] == "zz_tr_, hat"
    assert kinds(scan(tmp_path, trigger_word="hanfu_"))["caption-no-trigger"]


def test_parallel_scan_equals_in_process(tmp_path):
    for i in range(300):
        fmt = ("PNG", "JPEG", "WEBP")[i % 3]
        ext = {"PNG": "png", "JPEG": "jpg", "WEBP": "webp"}[fmt]
        Image.new("RGB", (64 + i % 7, 48), (i % 256, 0, 0)).save(tmp_path / f"{i}.{ext}", fmt)
    (tmp_path / "0.txt").write_text("x", encoding="utf-8")
    # a caption longer than the scanner's first read, and exact duplicates found in workers
    (tmp_path / "1.txt").write_text("long, " * 20000, encoding="utf-8")
    for i, ext in ((3, "png"), (4, "jpg"), (5, "webp")):
        shutil.copy(tmp_path / f"{i}.{ext}", tmp_path / f"dup{i}.{ext}")
    one = scan(tmp_path, workers=1)
    two = scan(tmp_path, workers=2)
    assert one.images == two.images
    assert one.totals == two.totals
    assert one.findings == two.findings
    assert sorted(one.finding("exact-duplicate").paths) == ["dup3.png", "dup4.jpg", "dup5.webp"]
    assert {r.path: r.caption for r in two.images}["1.jpg"] == ("long, " * 20000)


def test_missing_folder_raises_clear_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="no such folder"):
        scan(tmp_path / "nope")
    f = tmp_path / "file.png"
    f.write_bytes(b"x")
    with pytest.raises(NotADirectoryError):
        scan(f)


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads everything")
def test_unreadable_file_reported(tmp_path):
    p = write_image(tmp_path / "locked.png", seed=1)
    p.chmod(0)
    try:
        assert "locked.png" in kinds(scan(tmp_path))["unreadable"]
    finally:
        p.chmod(0o644)


def test_options_from_config(tmp_path):
    from loratui.config import RunConfig

    cfg = RunConfig()
    cfg.dataset.dir = str(tmp_path)
    cfg.dataset.caption_extension = ".caption"
    cfg.dataset.trigger_word = "zz_tr_"
    opts = ScanOptions.from_config(cfg)
    assert (opts.caption_extension, opts.trigger_word, opts.resolution) == (".caption",
                                                                            "zz_tr_", 512)
    make_broken_set(tmp_path / "x")
    assert Path(scan(tmp_path / "x", opts).root).name == "x"


def test_formats_without_a_signature_and_raw_tiffs(tmp_path):
    write_image(tmp_path / "a.tga", 64, 64, seed=1, fmt="TGA")
    write_image(tmp_path / "b.tif", 64, 64, seed=2, fmt="TIFF")
    (tmp_path / "c.tga").write_bytes(b"\x00" * 10)                       # not a TGA at all
    report = scan(tmp_path)
    found = kinds(report)
    assert sorted(found["unsupported-format"]) == ["a.tga", "b.tif"]
    assert found["corrupt"] == ["c.tga"]
    assert "wrong-extension" not in found
    assert {r.path: r.width for r in report.images}["a.tga"] == 64


def test_parallel_scan_from_a_worker_thread(tmp_path):
    """The UI scans from a thread: the pool must not fork a threaded process."""
    import threading

    for i in range(260):
        Image.new("RGB", (32, 24), (i % 256, 0, 0)).save(tmp_path / f"{i}.png")
    out = {}
    t = threading.Thread(target=lambda: out.update(r=scan(tmp_path, workers=2)))
    t.start()
    t.join(120)
    assert out["r"].totals.usable == 260


def test_heic_is_unsupported_not_corrupt(tmp_path):
    (tmp_path / "phone.heic").write_bytes(b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic"
                                          + b"\x00" * 200)
    found = kinds(scan(tmp_path))
    assert found["unsupported-format"] == ["phone.heic"]
    assert "corrupt" not in found


def test_scan_leaves_the_garbage_collector_on(tmp_path):
    """The wizard scans in a thread of a long-lived app: the scan must not switch off the
    process-wide collector (only the one-shot `dataset scan` command may)."""
    import gc
    import threading

    for i in range(40):
        Image.new("RGB", (32, 24), (i, 0, 0)).save(tmp_path / f"{i}.png")
    seen: list[bool] = []
    t = threading.Thread(target=lambda: scan(tmp_path, workers=1,
                                             progress=lambda *_: seen.append(gc.isenabled())))
    t.start()
    t.join(60)
    assert seen and all(seen)
    assert gc.isenabled()


def test_scan_command_pauses_the_collector_for_its_scan_only(tmp_path, monkeypatch, capsys):
    import gc

    import loratui.dataset
    from loratui.cli import main

    for i in range(3):
        write_image(tmp_path / f"{i}.png", 64, 64, seed=i, caption="red dress")
    real_scan, seen = loratui.dataset.scan, []

    def scan_watching(*args, **kwargs):
        seen.append(gc.isenabled())
        return real_scan(*args, **kwargs)

    monkeypatch.setattr(loratui.dataset, "scan", scan_watching)
    assert gc.isenabled()
    assert main(["dataset", "scan", str(tmp_path), "--json", "--fail-on", "never"]) == 0
    assert seen == [False]
    assert gc.isenabled()                      # switched back on after the command
    assert len(json.loads(capsys.readouterr().out)["images"]) == 3


def test_uncompressed_bmps_that_share_their_first_rows_are_not_duplicates(tmp_path):
    """BMPs of one size that start alike (a plain bottom edge) differ in the middle: only
    the byte-identical copy is an exact duplicate."""
    for name, colour in (("a", (200, 0, 0)), ("b", (0, 200, 0))):
        im = Image.new("RGB", (256, 256), (255, 255, 255))
        im.paste(colour, (0, 0, 256, 140))   # the upper rows (stored last in a BMP)
        im.save(tmp_path / f"{name}.bmp", "BMP")
    shutil.copy(tmp_path / "a.bmp", tmp_path / "a copy.bmp")
    a, b = (tmp_path / "a.bmp").read_bytes(), (tmp_path / "b.bmp").read_bytes()
    assert len(a) == len(b) and a[:4096] == b[:4096] and a != b
    # the duplicate pre-filter key already tells them apart (no sampling needed)
    assert read_path(str(tmp_path / "a.bmp")).head_crc != read_path(str(tmp_path / "b.bmp")).head_crc
    assert kinds(scan(tmp_path))["exact-duplicate"] in (["a.bmp"], ["a copy.bmp"])

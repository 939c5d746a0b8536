"""Dataset side of training: files, captions, buckets, pixels (real images, no torch)."""

from __future__ import annotations

import random

import pytest


def test_scan_demo_dataset_reports_its_problems(demo_dataset):
    from loratui.train.data import scan

    items, warnings = scan(demo_dataset, trigger="sks")
    assert len(items) == 8
    missing = [w for w in warnings if "no caption" in w]
    no_trigger = [w for w in warnings if "lacks the trigger word" in w]
    assert len(missing) == 1 and "demo_04.png" in missing[0]
    assert len(no_trigger) == 1 and "demo_06.txt" in no_trigger[0]
    by_name = {i.path.name: i for i in items}
    assert by_name["demo_04.png"].caption == "sks"  # trained with the trigger word
    assert {(i.width, i.height) for i in items} >= {(512, 512), (640, 480), (1024, 768)}


def test_kohya_repeat_folders_and_broken_files(tmp_path):
    from PIL import Image

    from loratui.train.data import DatasetError, scan

    sub = tmp_path / "10_hanfu girl"
    sub.mkdir()
    Image.new("RGB", (64, 64)).save(sub / "a.png")
    (sub / "a.txt").write_text("x, y")
    (tmp_path / "broken.png").write_bytes(b"not a png")
    Image.new("RGB", (32, 48)).save(tmp_path / "top.jpg")
    items, warnings = scan(tmp_path, repeats=2)
    reps = {i.path.name: i.repeats for i in items}
    assert reps == {"a.png": 10, "top.jpg": 2}
    assert any("broken.png" in w and "cannot read" in w for w in warnings)
    (tmp_path / "empty").mkdir()
    with pytest.raises(DatasetError, match="no images"):
        scan(tmp_path / "empty")
    with pytest.raises(DatasetError, match="not found"):
        scan(tmp_path / "missing")


def test_regularisation_captions_default_to_the_class_name(tmp_path):
    from PIL import Image

    from loratui.train.data import scan

    reg = tmp_path / "1_girl"
    reg.mkdir()
    Image.new("RGB", (64, 64)).save(reg / "r.png")
    items, _ = scan(tmp_path, is_reg=True)
    assert items[0].caption == "girl" and items[0].is_reg


def test_buckets_keep_area_and_steps():
    from loratui.train.data import make_buckets, nearest_bucket

    buckets = make_buckets(512)
    assert (512, 512) in buckets
    assert all(w % 64 == 0 and h % 64 == 0 and w * h <= 512 * 512 for w, h in buckets)
    assert nearest_bucket(1024, 768, buckets) in {(576, 448), (640, 384)}
    w, h = nearest_bucket(384, 576, buckets)  # kohya's rule: the largest h for each w
    assert (w, h) == (384, 640) and abs(w / h - 384 / 576) < 0.1
    assert nearest_bucket(300, 300, buckets) == (512, 512)
    assert all(w % 8 == 0 for w, _ in make_buckets(64))


def test_load_pixels_reads_16_bit_palette_and_cmyk_as_their_colours(tmp_path):
    """A 16-bit PNG went through a plain convert("RGB"), which clips it: a mid-grey photo
    trained as solid white."""
    from PIL import Image

    from loratui.train.data import load_pixels

    Image.new("I;16", (32, 32), 32768).save(tmp_path / "grey16.png")
    Image.new("RGB", (32, 32), (200, 40, 40)).convert("P").save(tmp_path / "red.png")
    Image.new("CMYK", (32, 32), (0, 255, 255, 0)).save(tmp_path / "cmyk.jpg")
    grey = load_pixels(tmp_path / "grey16.png", (32, 32))
    assert grey.max() == pytest.approx(0.0, abs=0.01)          # 32768 / 65535 ≈ mid-grey
    red = load_pixels(tmp_path / "red.png", (32, 32))[:, 0, 0]
    assert red[0] > 0.4 and red[1] < -0.5
    cmyk = load_pixels(tmp_path / "cmyk.jpg", (32, 32))[:, 0, 0]
    assert cmyk[0] > 0.9 and cmyk[1] < -0.9                    # C=0 M=Y=full: red


def test_load_pixels_resizes_crops_and_flattens_alpha(tmp_path):
    from PIL import Image

    from loratui.train.data import load_pixels

    img = Image.new("RGBA", (120, 60), (0, 0, 0, 0))
    img.save(tmp_path / "t.png")
    arr = load_pixels(tmp_path / "t.png", (64, 64))
    assert arr.shape == (3, 64, 64) and arr.dtype.name == "float32"
    assert arr.min() == pytest.approx(1.0)  # transparent → white, scaled to [-1, 1]
    Image.new("L", (50, 80), 0).save(tmp_path / "g.png")
    assert load_pixels(tmp_path / "g.png", (48, 64)).min() == pytest.approx(-1.0)


def test_caption_rules_keep_shuffle_dropout_pollution():
    from loratui.train.data import CaptionRules

    cap = "sks, red hair, smiling, outdoors, blue sky"
    shuffled = CaptionRules(shuffle=True, keep_tokens=1)
    outs = {shuffled.apply(cap, random.Random(i)) for i in range(20)}
    assert len(outs) > 5 and all(o.startswith("sks, ") for o in outs)
    assert all(sorted(o.split(", ")) == sorted(cap.split(", ")) for o in outs)
    assert CaptionRules(dropout=1.0).apply(cap, random.Random(0)) == ""
    polluted = CaptionRules(pollution=True, pollution_tags=("hat",)).apply(cap, random.Random(1))
    tags = polluted.split(", ")
    assert tags[0] == "sks" and "hat" in tags and len(tags) == 6
    # regularisation captions are never polluted
    assert CaptionRules(pollution=True).apply(cap, random.Random(1), is_reg=True) == cap


def test_epoch_batches_are_deterministic_and_bucket_pure(tmp_path):
    from loratui.train.data import DatasetPlan, Item, epoch_batches

    items = [Item(tmp_path / f"{i}.png", "c", 2 if i < 3 else 1, i >= 5, 64, 64, "d",
                  (64, 64) if i % 2 else (56, 72)) for i in range(8)]
    plan = DatasetPlan(items)
    a = epoch_batches(plan, 2, 42, 1)
    assert a == epoch_batches(plan, 2, 42, 1) and a != epoch_batches(plan, 2, 42, 2)
    flat = [i for b in a for i in b]
    train = [i for i in flat if not items[i].is_reg]
    assert sorted(train) == [0, 0, 1, 1, 2, 2, 3, 4]  # repeats
    assert len(flat) - len(train) == len(train)  # as many reg entries as train entries
    assert all(len({items[i].bucket for i in b}) == 1 for b in a)


def test_captions_in_utf16_are_read_and_other_encodings_named(tmp_path):
    from PIL import Image

    from loratui.train.data import scan

    for name in ("a", "b", "c"):
        Image.new("RGB", (64, 64)).save(tmp_path / f"{name}.png")
    (tmp_path / "a.txt").write_bytes("zq_girl, 日本語".encode("utf-16"))       # Notepad
    (tmp_path / "b.txt").write_bytes("zq_girl, smile".encode("utf-16-le"))     # no BOM
    (tmp_path / "c.txt").write_bytes(b"zq_girl, caf\xe9")                     # cp1252
    items, warnings = scan(tmp_path, trigger="zq_girl")
    assert {i.path.name: i.caption for i in items} == {
        "a.png": "zq_girl, 日本語", "b.png": "zq_girl, smile", "c.png": "zq_girl"}
    assert any("c.txt: cannot read the caption (not valid UTF-8 text (byte 0xe9" in w
               and "save it as UTF-8" in w for w in warnings), warnings

"""prepare: a correct, idempotent, resumable copy; the source is never touched."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
from PIL import Image

from loratui.dataset.buckets import bucket_resolutions, choose_bucket
from loratui.dataset.prepare import MANIFEST, PrepareError, prepare

from .dataset_fixtures import write_image


def tree_digest(root: Path) -> dict[str, str]:
    return {p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file() and not p.is_symlink()}


def test_buckets_follow_sd15_rules():
    buckets = bucket_resolutions(512)
    assert (512, 512) in buckets and (256, 1024) in buckets and (1024, 256) in buckets
    for w, h in buckets:
        assert w % 64 == 0 and h % 64 == 0 and w * h <= 512 * 512
        assert 256 <= w <= 1024 and 256 <= h <= 1024
    assert choose_bucket(600, 800) == (448, 576)
    assert choose_bucket(1000, 1000) == (512, 512)
    assert choose_bucket(1920, 1080) == (640, 384)


def test_prepare_crop_never_touches_source(broken_set, tmp_path):
    src, _ = broken_set
    before = tree_digest(src)
    out = tmp_path / "out"
    res = prepare(src, out, trigger_word="zz_tr_", workers=2)
    assert tree_digest(src) == before
    assert res.failed == {}
    assert set(res.excluded) == {"cut.jpg", "zero.png", "bomb.png", "page.jpg"}
    images = sorted(p for p in out.rglob("*.png"))
    assert len(images) == 8          # 7 usable + the GIF converted
    for p in images:
        with Image.open(p) as im:
            assert im.size == (512, 512) and im.mode == "RGB"
        caption = p.with_suffix(".txt").read_text(encoding="utf-8")
        assert caption.startswith("zz_tr_")
    assert (out / "quote.txt").read_text(encoding="utf-8") == "zz_tr_, girl’s red dress, garden\n"
    assert (out / "sub dir é" / "图 片 1.png").exists()


def test_prepare_bucket_sizes_and_no_distortion(tmp_path):
    src = tmp_path / "src"
    im = Image.new("RGB", (600, 800), "white")
    im.paste((255, 0, 0), (0, 0, 600, 400))          # top half red, bottom white
    src.mkdir()
    im.save(src / "portrait.png")
    res = prepare(src, tmp_path / "out", mode="bucket")
    assert res.sizes == {"448x576": 1}
    with Image.open(tmp_path / "out" / "portrait.png") as out:
        assert out.size == (448, 576)
        assert out.getpixel((224, 100))[1] < 30                      # red stays on top
        assert out.getpixel((224, 500)) == (255, 255, 255)
    assert res.captions_missing == ["portrait.png"]


def test_alpha_flattened_on_background_and_exif_applied(tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    Image.new("RGBA", (512, 512), (0, 0, 0, 0)).save(src / "clear.png")
    exif = Image.Exif()
    exif[0x0112] = 6                                   # rotate 90°: 800x600 shows as 600x800
    im = Image.new("RGB", (800, 600), (0, 0, 255))
    im.paste((255, 0, 0), (0, 0, 400, 600))           # left half red -> top after rotation
    im.save(src / "rot.jpg", exif=exif.tobytes(), quality=95)
    prepare(src, tmp_path / "out", mode="pad", background=(0, 255, 0))
    with Image.open(tmp_path / "out" / "clear.png") as out:
        assert out.getpixel((10, 10)) == (0, 255, 0)
    with Image.open(tmp_path / "out" / "rot.png") as out:
        # pad mode keeps the whole 600x800 portrait: green bars left and right
        assert out.getpixel((5, 256)) == (0, 255, 0)
        r, _g, b = out.getpixel((256, 100))
        assert r > 200 and b < 60                       # red on top after the rotation


def test_idempotent_resumable_and_synced(tmp_path):
    src = tmp_path / "src"
    for i in range(6):
        write_image(src / f"{i}.png", 640, 640, seed=i)
    out = tmp_path / "out"
    first = prepare(src, out)
    assert first.written == 6
    again = prepare(src, out)
    assert (again.written, again.up_to_date) == (0, 6)
    # an interrupted run: outputs and manifest entries missing for two files
    manifest = json.loads((out / MANIFEST).read_text())
    for name in ("2.png", "3.png"):
        manifest["files"].pop(name)
    (out / MANIFEST).write_text(json.dumps(manifest))
    (out / "3.png").unlink()
    resumed = prepare(src, out)
    assert (resumed.written, resumed.up_to_date) == (2, 4)
    # a changed source caption and a deleted source image
    (src / "1.txt").write_text("new caption", encoding="utf-8")
    (src / "5.png").unlink()
    synced = prepare(src, out)
    assert (synced.written, synced.removed) == (1, 1)
    assert not (out / "5.png").exists() and not (out / "5.txt").exists()
    assert (out / "1.txt").read_text() == "new caption\n"
    # no temp files left behind
    assert not [p for p in out.rglob("*") if p.name.endswith(".tmp") or p.name.startswith(".0")]


def test_settings_clash_needs_force(tmp_path):
    src = tmp_path / "src"
    write_image(src / "a.png", 700, 500, seed=1)
    out = tmp_path / "out"
    prepare(src, out, mode="crop")
    with pytest.raises(PrepareError, match=r"other settings.*mode.*--force"):
        prepare(src, out, mode="bucket")
    res = prepare(src, out, mode="bucket", force=True)
    assert res.written == 1 and res.sizes == {"576x448": 1}


def test_refuses_to_write_into_source(tmp_path):
    src = tmp_path / "src"
    write_image(src / "a.png", seed=1)
    with pytest.raises(PrepareError, match="source folder"):
        prepare(src, src)
    with pytest.raises(PrepareError, match="inside the source"):
        prepare(src, src / "out")


def test_same_stem_gets_distinct_outputs(tmp_path):
    src = tmp_path / "src"
    write_image(src / "a.png", seed=1, caption="shared")
    write_image(src / "a.jpg", seed=2, fmt="JPEG", caption="shared")
    prepare(src, tmp_path / "out")
    names = sorted(p.name for p in (tmp_path / "out").iterdir() if not p.name.startswith("."))
    assert names == ["a-png.png", "a-png.txt", "a.png", "a.txt"]


def test_kohya_layout_is_kept(tmp_path):
    src = tmp_path / "src"
    write_image(src / "10_girl" / "x.png", 800, 600, seed=1)
    prepare(src, tmp_path / "out", format="jpg")
    with Image.open(tmp_path / "out" / "10_girl" / "x.jpg") as im:
        assert im.format == "JPEG" and im.size == (512, 512)


def test_interrupted_prepare_resumes_where_it_stopped(tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    for i in range(40):
        Image.new("RGB", (80, 80), (i, 2 * i, 3 * i)).save(src / f"{i:02d}.png")
    out = tmp_path / "out"

    def stop_after_first_chunk(done, total):
        if done:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        prepare(src, out, resolution=64, workers=1, progress=stop_after_first_chunk)
    saved = json.loads((out / MANIFEST).read_text())["files"]
    assert 0 < len(saved) < 40
    res = prepare(src, out, resolution=64, workers=1)
    assert (res.up_to_date, res.written) == (len(saved), 40 - len(saved))


def test_images_already_right_are_copied_not_re_encoded(tmp_path):
    src = tmp_path / "src"
    write_image(src / "ok.jpg", 512, 512, seed=1, fmt="JPEG", quality=70)
    write_image(src / "big.jpg", 700, 600, seed=2, fmt="JPEG", quality=70)
    prepare(src, tmp_path / "out", format="jpg")
    assert (tmp_path / "out" / "ok.jpg").read_bytes() == (src / "ok.jpg").read_bytes()
    assert (tmp_path / "out" / "big.jpg").read_bytes() != (src / "big.jpg").read_bytes()
    with Image.open(tmp_path / "out" / "big.jpg") as im:
        assert im.size == (512, 512)

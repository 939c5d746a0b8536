"""Hostile files inside a dataset: animations, names held by folders and pipes, odd
formats and colour modes. Each is written as a real file and scanned for real."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image

from loratui.dataset import scan


def _still(path: Path, caption: str | None = "zq_girl_, red dress") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", (64, 64), (len(path.name) * 9 % 256, 90, 30)).save(path)
    if caption is not None:
        path.with_suffix(".txt").write_text(caption, encoding="utf-8")
    return path


def _animation(path: Path, frames: int = 3, **kw) -> Path:
    images = [Image.new("RGB", (64, 64), (40 * i, 200 - 40 * i, 90)) for i in range(frames)]
    images[0].save(path, save_all=frames > 1, append_images=images[1:], duration=100, **kw)
    path.with_suffix(".txt").write_text("zq_girl_, dancing", encoding="utf-8")
    return path


def _kinds(report) -> dict[str, list[str]]:
    return {f.kind: f.paths for f in report.findings}


def test_animations_are_flagged_with_their_frame_count(tmp_path):
    _still(tmp_path / "still.png")
    _animation(tmp_path / "dance.webp", 4)
    _animation(tmp_path / "wave.png", 3)                 # APNG
    _animation(tmp_path / "blink.gif", 2)
    _animation(tmp_path / "one.png", 1)                  # a plain PNG
    report = scan(tmp_path, workers=0)
    found = _kinds(report)
    assert sorted(found["animated"]) == ["blink.gif", "dance.webp", "wave.png"]
    details = next(f for f in report.findings if f.kind == "animated").details
    assert details["dance.webp"] == "4 frames" and details["wave.png"] == "3 frames"
    assert details["blink.gif"] == "2 frames"
    assert "blink.gif" in found["unsupported-format"]    # and still not a trainer's format
    # an animation is still usable (its first frame): it counts as an image
    assert {r.path for r in report.images if r.ok} >= {"dance.webp", "wave.png", "still.png"}


def test_doctor_and_json_name_animations(tmp_path):
    _still(tmp_path / "a.png")
    _animation(tmp_path / "dance.webp", 5)
    env = {**os.environ, "COLUMNS": "200"}
    r = subprocess.run([sys.executable, "-m", "loratui", "doctor", str(tmp_path)],
                       capture_output=True, text=True, env=env, timeout=120)
    assert "DS214" in r.stdout and "dance.webp" in r.stdout and "5 frames" in r.stdout, r.stdout
    assert "Traceback" not in r.stderr


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="named pipes are POSIX")
def test_caption_names_held_by_a_pipe_or_a_folder(tmp_path):
    _still(tmp_path / "piped.png", caption=None)
    os.mkfifo(tmp_path / "piped.txt")                    # opening it would wait for a writer
    _still(tmp_path / "folder.png", caption=None)
    (tmp_path / "folder.txt").mkdir()
    _still(tmp_path / "fine.png")
    os.mkfifo(tmp_path / "ghost.png")                    # a pipe named like an image
    os.mkfifo(tmp_path / "orphan.txt")                   # a pipe named like a caption only
    (tmp_path / "old.txt").mkdir()                       # a folder so named, no image of it
    report = scan(tmp_path, workers=0)                   # returns: the pipe is never read
    found = _kinds(report)
    # no image pairs with orphan.txt or old.txt: no trainer reads them, nothing to report
    assert sorted(found["not-a-file"]) == ["folder.txt", "ghost.png", "piped.txt"]
    details = next(f for f in report.findings if f.kind == "not-a-file").details
    assert details["piped.txt"] == "a named pipe, not a file"
    assert details["folder.txt"] == "a folder, not a file"
    # the images are not said to lack a caption: their caption is named as the problem
    assert "caption-missing" not in found
    assert sorted(found["caption-orphan"]) == ["old.txt", "orphan.txt"]  # as any lone caption
    assert {r.path for r in report.images} == {"piped.png", "folder.png", "fine.png"}


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="named pipes are POSIX")
def test_scan_with_a_caption_pipe_through_the_command(tmp_path):
    _still(tmp_path / "a.png", caption=None)
    os.mkfifo(tmp_path / "a.txt")
    r = subprocess.run([sys.executable, "-m", "loratui", "dataset", "scan", str(tmp_path)],
                       capture_output=True, text=True, timeout=60,
                       env={**os.environ, "COLUMNS": "200"})
    assert "named pipe" in r.stdout and "a.txt" in r.stdout, r.stdout + r.stderr
    assert "Traceback" not in r.stderr


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="named pipes are POSIX")
def test_prepare_and_doctor_never_wait_on_a_caption_pipe(tmp_path):
    src = tmp_path / "src"
    _still(src / "a.png", caption=None)
    os.mkfifo(src / "a.txt")
    _still(src / "b.png", caption=None)
    (src / "b.txt").mkdir()
    env = {**os.environ, "COLUMNS": "200"}
    r = subprocess.run([sys.executable, "-m", "loratui", "dataset", "prepare", str(src),
                        "--out", str(tmp_path / "copy")], capture_output=True, text=True,
                       timeout=60, env=env)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "could not be read (cannot read: a named pipe)" in r.stdout, r.stdout
    assert (tmp_path / "copy" / "a.png").is_file()
    r = subprocess.run([sys.executable, "-m", "loratui", "doctor", str(src)],
                       capture_output=True, text=True, timeout=60, env=env)
    assert "DS215" in r.stdout, r.stdout
    assert "DS112" not in r.stdout, "a pipe or a folder is not an empty caption"


def test_a_caption_of_hundreds_of_megabytes_is_not_read_whole(tmp_path):
    """A log renamed `.txt` (here a sparse 2 GB file: no disk used) is named as no caption,
    without reading it into memory."""
    _still(tmp_path / "a.png", caption=None)
    with open(tmp_path / "a.txt", "wb") as fh:
        fh.truncate(2 * 1024**3)
    _still(tmp_path / "b.png")
    report = scan(tmp_path, workers=0)
    found = _kinds(report)
    assert found["caption-too-large"] == ["a.txt"]
    assert "caption-missing" not in found and "caption-too-long" not in found
    detail = next(f for f in report.findings if f.kind == "caption-too-large").details
    assert detail["a.txt"].startswith("2,147.5 MB: far too large for a caption")


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="named pipes are POSIX")
def test_trigger_insertion_leaves_a_caption_pipe_or_folder_alone(tmp_path):
    from loratui.dataset.edit import insert_trigger

    _still(tmp_path / "piped.png", caption=None)
    os.mkfifo(tmp_path / "piped.txt")
    _still(tmp_path / "folder.png", caption=None)
    (tmp_path / "folder.txt").mkdir()
    _still(tmp_path / "fine.png", caption="red dress")
    res = insert_trigger(tmp_path, "zq_girl_", in_place=True)
    assert res.changed == ["fine.txt"]
    assert sorted(res.skipped) == ["folder.txt", "piped.txt"]
    assert (tmp_path / "fine.txt").read_text() == "zq_girl_, red dress\n"
    assert (tmp_path / "folder.txt").is_dir()


def test_jpeg_with_megabytes_of_metadata_segments(tmp_path):
    """Segments before the frame header are passed over, not gathered: 6 MB of APP2
    segments cost one seek each, and 20 MB (past any real metadata) hands over to Pillow."""
    import io
    import struct

    from loratui.dataset.headers import read_path

    buf = io.BytesIO()
    Image.new("RGB", (64, 48), (9, 9, 9)).save(buf, "JPEG")
    jpeg = buf.getvalue()
    segment = b"\xff\xe2" + struct.pack(">H", 65535) + b"\0" * 65533
    (tmp_path / "six.jpg").write_bytes(jpeg[:2] + segment * 100 + jpeg[2:])
    (tmp_path / "twenty.jpg").write_bytes(jpeg[:2] + segment * 320 + jpeg[2:])
    h = read_path(str(tmp_path / "six.jpg"))
    assert (h.width, h.height, h.error) == (64, 48, "")
    assert "16 MB" in read_path(str(tmp_path / "twenty.jpg")).error
    report = scan(tmp_path, workers=0)
    assert {(r.path, r.width, r.ok) for r in report.images} == {("six.jpg", 64, True),
                                                                 ("twenty.jpg", 64, True)}


def test_prepare_replaces_a_link_in_its_copy_instead_of_writing_through_it(tmp_path):
    """Writes follow a linked loratui.toml, but never a link inside a prepared copy: one
    there pointing back at a source image must not lead the copy's write into the source."""
    from loratui.dataset.prepare import PrepareOptions, prepare

    src = tmp_path / "src"
    big = Image.new("RGB", (700, 600), (10, 120, 200))
    src.mkdir()
    big.save(src / "a.png")
    (src / "a.txt").write_text("zq_girl_, red dress", encoding="utf-8")
    out = tmp_path / "copy"
    prepare(src, out, PrepareOptions())
    before = (src / "a.png").read_bytes()
    (out / "a.png").unlink()
    (out / "a.png").symlink_to(src / "a.png")
    (out / "a.txt").unlink()
    (out / "a.txt").symlink_to(src / "a.txt")
    prepare(src, out, PrepareOptions(trigger_word="zq_new_", force=True))
    assert (src / "a.png").read_bytes() == before
    assert (src / "a.txt").read_text(encoding="utf-8") == "zq_girl_, red dress"
    assert not (out / "a.txt").is_symlink()


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="named pipes are POSIX")
def test_the_trainers_own_scan_never_waits_on_or_swallows_a_caption_name(tmp_path):
    """The trainer reads captions too: a pipe, a folder and a sparse 2 GB file named like
    captions are named in its warnings, none read (a pipe would hang the run)."""
    from loratui.train.data import scan as training_items

    for name in ("pipe", "folder", "huge", "fine"):
        _still(tmp_path / f"{name}.png", caption=None)
    os.mkfifo(tmp_path / "pipe.txt")
    (tmp_path / "folder.txt").mkdir()
    with open(tmp_path / "huge.txt", "wb") as fh:
        fh.truncate(2 * 1024**3)
    (tmp_path / "fine.txt").write_text("zq_girl_, red dress", encoding="utf-8")
    items, warnings = training_items(tmp_path, trigger="zq_girl_")
    assert {i.path.name: i.caption for i in items} == {
        "pipe.png": "zq_girl_", "folder.png": "zq_girl_", "huge.png": "zq_girl_",
        "fine.png": "zq_girl_, red dress"}
    text = "\n".join(map(str, warnings))
    assert "pipe.txt: cannot read the caption (a named pipe)" in text
    assert "folder.txt: cannot read the caption (a folder)" in text
    assert "huge.txt: cannot read the caption (2,147.5 MB: far too large" in text

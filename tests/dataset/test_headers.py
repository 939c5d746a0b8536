"""The header parser agrees with Pillow on real files, and finds truncation."""

from __future__ import annotations

import io

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from loratui.dataset.headers import read_header, sniff

from .dataset_fixtures import noise_image


def _header(data: bytes):
    return read_header(io.BytesIO(data), len(data))


def _encode(im: Image.Image, fmt: str, **kw) -> bytes:
    buf = io.BytesIO()
    im.save(buf, format=fmt, **kw)
    return buf.getvalue()


CASES = [
    ("PNG", "RGB", {}, "RGB", False),
    ("PNG", "RGBA", {}, "RGBA", True),
    ("PNG", "L", {}, "L", False),
    ("PNG", "LA", {}, "LA", True),
    ("PNG", "P", {"transparency": 0}, "P", True),
    ("PNG", "I;16", {}, "I;16", False),
    ("JPEG", "RGB", {"quality": 80}, "RGB", False),
    ("JPEG", "L", {}, "L", False),
    ("JPEG", "CMYK", {}, "CMYK", False),
    ("JPEG", "RGB", {"progressive": True}, "RGB", False),
    ("WEBP", "RGB", {"quality": 70}, "RGB", False),
    ("WEBP", "RGBA", {"lossless": True}, "RGBA", True),
    ("BMP", "RGB", {}, "RGB", False),
]


@pytest.mark.parametrize(("fmt", "mode", "kw", "want_mode", "alpha"), CASES)
def test_header_matches_pillow(fmt, mode, kw, want_mode, alpha):
    im = noise_image(97, 61, seed=3)
    if mode == "I;16":
        im = im.convert("L").convert("I;16")
    elif mode != "RGB":
        im = im.convert(mode)
    if mode == "RGBA":
        im.putalpha(Image.linear_gradient("L").resize(im.size))   # real transparency
    data = _encode(im, fmt, **kw)
    h = _header(data)
    ref = Image.open(io.BytesIO(data))
    assert (h.format, h.width, h.height) == (ref.format, ref.width, ref.height)
    assert h.mode == want_mode
    assert h.mode == ref.mode or (mode, ref.mode) == ("I;16", "I;16")
    assert h.has_alpha == alpha
    assert not h.truncated and not h.error


def test_exif_orientation_read_from_jpeg_header():
    im = noise_image(80, 40, seed=1)
    exif = Image.Exif()
    exif[0x0112] = 6
    h = _header(_encode(im, "JPEG", exif=exif.tobytes()))
    assert h.orientation == 6


@pytest.mark.parametrize("fmt", ["PNG", "JPEG"])
def test_truncated_file_detected_from_tail(fmt):
    data = _encode(noise_image(256, 256, seed=2), fmt)
    h = _header(data[: len(data) * 2 // 3])
    assert h.truncated
    assert not _header(data).truncated


def test_sniff_names_non_images():
    assert sniff(b"<!DOCTYPE html><html>") == "HTML page"
    assert sniff(b"version https://git-lfs.github.com/spec/v1\n") == "git-lfs pointer"
    assert sniff(b"GIF89a....") == "GIF"
    assert sniff(b"\x00\x00\x00\x18ftypheic") == "HEIF"
    assert sniff(b"random bytes") == ""


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.binary(max_size=3000), cut=st.integers(min_value=0, max_value=4000),
       fmt=st.sampled_from(["PNG", "JPEG", "WEBP", "BMP", "GIF"]))
def test_header_parser_never_raises(data, cut, fmt):
    """Random bytes, and real headers cut anywhere or followed by garbage, never raise."""
    real = _encode(noise_image(40, 30, seed=1), fmt)
    for blob in (data, real[:cut], real[:cut] + data, data + real):
        h = _header(blob)
        assert h.width >= 0 and h.height >= 0


def test_scan_survives_garbage_files(tmp_path):
    import random

    from loratui.dataset import scan

    rng = random.Random(5)
    real = _encode(noise_image(64, 64, seed=2), "PNG")
    for i in range(40):
        ext = rng.choice([".png", ".jpg", ".webp", ".bmp", ".gif", ".tif"])
        blob = rng.choice([real[: rng.randrange(len(real))], bytes(rng.randrange(256)
                                                                      for _ in range(300))])
        (tmp_path / f"{i}{ext}").write_bytes(blob)
    report = scan(tmp_path, deep=True)
    assert len(report.images) == 40
    assert all(not r.ok for r in report.images if r.bytes < 60)


def test_jpeg_header_beyond_the_first_read_and_long_small_files(tmp_path):
    """A JPEG whose EXIF block is longer than the first read is read on to its frame header;
    `read_small` returns all of a file longer than its first read."""
    from loratui.dataset.headers import FIRST_READ, read_path, read_small

    exif = Image.Exif()
    exif[0x0112] = 8
    exif[0x010E] = "x" * (3 * FIRST_READ)          # ImageDescription: a long EXIF block
    path = tmp_path / "big_exif.jpg"
    noise_image(320, 200, seed=3).save(path, "JPEG", exif=exif.tobytes())
    h = read_path(str(path))
    assert (h.format, h.width, h.height, h.mode, h.orientation) == ("JPEG", 320, 200, "RGB", 8)
    assert not h.truncated and not h.error
    assert h.size == path.stat().st_size
    data = bytes(range(256)) * 1000                  # 256 KB
    (tmp_path / "long.txt").write_bytes(data)
    assert read_small(str(tmp_path / "long.txt")) == data

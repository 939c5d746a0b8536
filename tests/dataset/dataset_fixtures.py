"""Real dataset folders written by the tests with PIL: good images and one of each
kind of broken file."""

from __future__ import annotations

import os
import random
import struct
import zlib
from pathlib import Path

from PIL import Image


def noise_image(w: int, h: int, seed: int, mode: str = "RGB") -> Image.Image:
    """A picture with structure (so perceptual hashes differ between seeds)."""
    rng = random.Random(seed)
    im = Image.new("RGB", (w, h), tuple(rng.randrange(256) for _ in range(3)))
    px = im.load()
    for _ in range(12):
        x0, y0 = rng.randrange(w), rng.randrange(h)
        x1, y1 = min(w, x0 + rng.randrange(1, w)), min(h, y0 + rng.randrange(1, h))
        colour = tuple(rng.randrange(256) for _ in range(3))
        for y in range(y0, y1, 3):
            for x in range(x0, x1, 3):
                px[x, y] = colour
    return im.convert(mode) if mode != "RGB" else im


def write_image(path: Path, w: int = 512, h: int = 512, seed: int = 0, fmt: str | None = None,
                mode: str = "RGB", caption: str | None = "", **save) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    noise_image(w, h, seed, mode).save(path, format=fmt, **save)
    if caption is not None:
        path.with_suffix(".txt").write_text(caption or f"photo {seed}, red dress, garden",
                                            encoding="utf-8")
    return path


def png_bomb(path: Path, w: int = 20000, h: int = 20000) -> None:
    """A tiny PNG whose header claims a huge size (a decompression bomb)."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(
            ">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
    ihdr = struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0)
    raw = zlib.compress(b"\x00" * 1024)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", raw)
                     + chunk(b"IEND", b""))


def make_broken_set(root: Path) -> dict[str, str]:
    """One of each broken kind, plus good images around them. Returns {kind: rel path}."""
    root.mkdir(parents=True, exist_ok=True)
    for i in range(4):
        write_image(root / f"good_{i}.png", seed=100 + i)
    kinds: dict[str, str] = {}
    # truncated JPEG
    write_image(root / "cut.jpg", 512, 512, seed=1, caption="cut image")
    data = (root / "cut.jpg").read_bytes()
    (root / "cut.jpg").write_bytes(data[: len(data) // 2])
    kinds["truncated"] = "cut.jpg"
    # zero bytes
    (root / "zero.png").write_bytes(b"")
    kinds["empty-file"] = "zero.png"
    # lying extension: a JPEG named .png
    write_image(root / "liar.png", 512, 512, seed=2, fmt="JPEG", caption="liar")
    kinds["wrong-extension"] = "liar.png"
    # unsupported format
    write_image(root / "anim.gif", 512, 512, seed=3, fmt="GIF", caption="gif")
    kinds["unsupported-format"] = "anim.gif"
    # macOS AppleDouble file
    (root / "._good_0.png").write_bytes(b"\x00\x05\x16\x07" + b"\x00" * 80)
    kinds["junk-file"] = "._good_0.png"
    # symlink loop (folder link back to the root) and a link to itself
    try:
        os.symlink(root, root / "loop", target_is_directory=True)
        os.symlink(root / "self.png", root / "self.png")
        kinds["symlink-loop"] = "loop"
        kinds["broken-symlink"] = "self.png"
    except OSError:
        pass
    # decompression bomb
    png_bomb(root / "bomb.png")
    (root / "bomb.txt").write_text("bomb", encoding="utf-8")
    kinds["decompression-bomb"] = "bomb.png"
    # non-UTF-8 caption (Windows-1252 smart quote)
    write_image(root / "quote.png", 512, 512, seed=4, caption=None)
    (root / "quote.txt").write_bytes(b"girl\x92s red dress, garden")
    kinds["caption-not-utf8"] = "quote.txt"
    # non-ASCII and spaces in the path: a good image that must scan fine
    write_image(root / "sub dir é" / "图 片 1.png", 600, 800, seed=5, caption="长裙, garden")
    kinds["nested"] = "sub dir é/图 片 1.png"
    # not an image at all: an HTML page saved as .jpg
    (root / "page.jpg").write_bytes(b"<!DOCTYPE html><html><body>404</body></html>")
    kinds["corrupt"] = "page.jpg"
    return kinds

"""Read an image's format, size, mode and EXIF orientation from its header bytes only.

Pillow's `Image.open` costs ~200 µs a file (plugin probing, decoder set-up); parsing
the few header bytes of PNG, JPEG, WebP and BMP ourselves costs a few µs, which is
what lets a 10,000-image scan run near raw-I/O speed. Anything unusual falls back to
Pillow. A cheap tail check (PNG `IEND`, JPEG `EOI`, RIFF/BMP declared size) finds
truncated files without decoding them. Stdlib only.
"""

from __future__ import annotations

import os
import struct
import zlib

from .report import Record

TYPE_CHECKING = False  # not typing's: importing typing costs the doctor's start-up time
if TYPE_CHECKING:
    from typing import BinaryIO

FIRST_READ = 4096         # enough for PNG/WebP/BMP/GIF headers and most JPEG ones
HEAD_BYTES = 16384        # JPEG and PNG read on in steps of this when the header goes on
TAIL_BYTES = 64
MAX_JPEG_HEADER = 16 * 1024 * 1024   # real metadata (EXIF, XMP, ICC) is well under 1 MB

# Formats trainers (sd-scripts, OneTrainer, ours) read. Extension -> detected format.
TRAINABLE_EXTS = {".png": "PNG", ".jpg": "JPEG", ".jpeg": "JPEG", ".jpe": "JPEG",
                  ".jfif": "JPEG", ".webp": "WEBP", ".bmp": "BMP"}
# Image formats people drop into datasets that trainers skip or mis-read (D11).
OTHER_IMAGE_EXTS = {".gif": "GIF", ".tif": "TIFF", ".tiff": "TIFF", ".heic": "HEIF",
                    ".heif": "HEIF", ".avif": "AVIF", ".jxl": "JXL", ".psd": "PSD",
                    ".svg": "SVG", ".ico": "ICO", ".tga": "TGA", ".dng": "TIFF", ".cr2": "TIFF",
                    ".nef": "TIFF", ".arw": "TIFF", ".jp2": "JPEG2000", ".qoi": "QOI"}
ALL_IMAGE_EXTS = {**TRAINABLE_EXTS, **OTHER_IMAGE_EXTS}
TRAINABLE_FORMATS = frozenset(TRAINABLE_EXTS.values())

_SOF = frozenset({0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF})
_HEIF_BRANDS = {b"heic", b"heix", b"hevc", b"hevx", b"mif1", b"msf1", b"heim", b"heis"}


class Header(Record):
    """What an image file's header says: format, size, mode, problems."""

    _fields = ("format", "width", "height", "mode", "bits", "has_alpha", "orientation", "animated",
                 "truncated", "error", "size", "head_crc", "notes", "frames")
    __slots__ = _fields

    def __init__(self, format: str = "", width: int = 0, height: int = 0, mode: str = "",
                 bits: int = 8, has_alpha: bool = False, orientation: int = 1,
                 animated: bool = False, truncated: bool = False, error: str = "", size: int = 0,
                 head_crc: int = 0, notes: list[str] | None = None, frames: int = 0) -> None:
        self.format = format  # detected from content; "" = unknown
        self.width = width
        self.height = height
        self.mode = mode
        self.bits = bits  # bits per channel
        self.has_alpha = has_alpha
        self.orientation = orientation
        self.animated = animated
        self.truncated = truncated
        self.error = error  # why the header could not be read
        self.size = size  # file size in bytes
        # checksum of the first 4 KB and of the bytes read at the end (or, for an uncompressed
        # BMP, of 4 KB from its middle): a cheap pre-filter for exact duplicates
        self.head_crc = head_crc
        self.notes: list[str] = [] if notes is None else notes
        # an animation's frame count when the header states it (APNG); 0: not stated
        # (`animated` is then the format's animation flag, as WebP's VP8X has)
        self.frames = frames


def sniff(head: bytes) -> str:
    """The format name that the leading bytes announce, or a description of non-images."""
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "PNG"
    if head.startswith(b"\xff\xd8\xff"):
        return "JPEG"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "WEBP"
    if head[:2] == b"BM" and len(head) >= 26:
        return "BMP"
    if head[:6] in (b"GIF87a", b"GIF89a"):
        return "GIF"
    if head[:4] in (b"II*\x00", b"MM\x00*"):
        return "TIFF"
    if head[4:8] == b"ftyp":
        brand = head[8:12]
        if brand in (b"avif", b"avis"):
            return "AVIF"
        if brand in _HEIF_BRANDS:
            return "HEIF"
        return "MP4/ISO media"
    if head.startswith(b"\xff\x0a") or head.startswith(b"\x00\x00\x00\x0cJXL \r\n\x87\n"):
        return "JXL"
    if head.startswith(b"8BPS"):
        return "PSD"
    if head.startswith(b"\x00\x00\x01\x00"):
        return "ICO"
    if head.startswith(b"\x00\x00\x00\x0cjP  "):
        return "JPEG2000"
    if head.startswith(b"qoif"):
        return "QOI"
    if head.startswith(b"%PDF"):
        return "PDF"
    if head.startswith(b"version https://git-lfs"):
        return "git-lfs pointer"
    start = head[:512].lstrip().lower()
    if start.startswith((b"<!doctype html", b"<html")):
        return "HTML page"
    if b"<svg" in head[:1024].lower():
        return "SVG"
    if start.startswith((b"<?xml", b"{", b"[")):
        return "text"
    return ""


def _exif_orientation(tiff: bytes) -> int:
    """Orientation tag (0x0112) from a TIFF-structured EXIF block; 1 when absent."""
    if len(tiff) < 8 or tiff[:2] not in (b"II", b"MM"):
        return 1
    e = "<" if tiff[:2] == b"II" else ">"
    try:
        (offset,) = struct.unpack_from(e + "I", tiff, 4)
        (count,) = struct.unpack_from(e + "H", tiff, offset)
        for k in range(min(count, 512)):
            entry = offset + 2 + 12 * k
            tag, _typ, _n = struct.unpack_from(e + "HHI", tiff, entry)
            if tag == 0x0112:
                (value,) = struct.unpack_from(e + "H", tiff, entry + 8)
                return value if 1 <= value <= 8 else 1
    except struct.error:
        return 1
    return 1


def _png(f: BinaryIO, buf: bytes, h: Header) -> None:
    if len(buf) < 33 or buf[12:16] != b"IHDR":
        h.error = "PNG without an IHDR header chunk"
        return
    w, ht, depth, ctype = struct.unpack_from(">IIBB", buf, 16)
    h.width, h.height, h.bits = w, ht, depth
    h.mode = {0: "L", 2: "RGB", 3: "P", 4: "LA", 6: "RGBA"}.get(ctype, "")
    if ctype == 0 and depth == 16:
        h.mode = "I;16"
    if ctype == 0 and depth == 1:
        h.mode = "1"
    if not h.mode:
        h.error = f"PNG with invalid colour type {ctype}"
        return
    h.has_alpha = ctype in (4, 6)
    pos = 8
    while True:                            # chunks before the image data
        if pos + 8 > len(buf):
            more = f.read(HEAD_BYTES) if len(buf) < 4 * 1024 * 1024 else b""
            if not more:
                break
            buf += more
            continue
        (length,) = struct.unpack_from(">I", buf, pos)
        ctype_b = buf[pos + 4:pos + 8]
        if ctype_b == b"IDAT":
            break
        if ctype_b == b"tRNS":
            h.has_alpha = True
        elif ctype_b == b"acTL" and pos + 12 <= len(buf):   # APNG: frame count first
            (h.frames,) = struct.unpack_from(">I", buf, pos + 8)
            h.animated = h.frames > 1
        elif ctype_b == b"eXIf":
            while pos + 8 + length > len(buf):
                more = f.read(HEAD_BYTES)
                if not more:
                    break
                buf += more
            h.orientation = _exif_orientation(buf[pos + 8:pos + 8 + length])
        pos += 12 + length


def _jpeg(f: BinaryIO, buf: bytes, h: Header) -> None:
    pos, adobe = 2, False
    start = 0        # file offset of buf[0]: segments passed over are dropped, not kept
    while True:
        if start + pos > MAX_JPEG_HEADER:  # thousands of metadata segments: crafted or broken
            h.error = "JPEG metadata over 16 MB before its frame header"
            return
        if pos + 4 > len(buf):
            if pos > len(buf):         # the rest of a long segment: seek over it
                f.seek(pos - len(buf), 1)
            start, buf, pos = start + pos, buf[pos:], 0
            more = f.read(HEAD_BYTES)
            if not more:
                h.truncated = True
                h.error = "JPEG ends before its frame header"
                return
            buf += more
            continue
        if buf[pos] != 0xFF:
            h.error = f"JPEG marker expected at byte {start + pos}"
            return
        marker = buf[pos + 1]
        if marker == 0xFF:
            pos += 1
            continue
        if marker in (0xD8, 0x01) or 0xD0 <= marker <= 0xD7:
            pos += 2
            continue
        (seglen,) = struct.unpack_from(">H", buf, pos + 2)
        if marker in _SOF:
            while pos + 10 > len(buf):
                more = f.read(HEAD_BYTES)
                if not more:
                    h.truncated, h.error = True, "JPEG ends inside its frame header"
                    return
                buf += more
            precision, ht, w, comps = struct.unpack_from(">BHHB", buf, pos + 4)
            h.width, h.height, h.bits = w, ht, precision
            h.mode = {1: "L", 3: "RGB", 4: "CMYK"}.get(comps, "")
            if not h.mode:
                h.error = f"JPEG with {comps} colour components"
            if comps == 4 and adobe:
                h.notes.append("Adobe CMYK/YCCK")
            return
        if marker == 0xDA:
            h.error = "JPEG image data before its frame header"
            return
        if marker == 0xE1 and buf[pos + 4:pos + 10] == b"Exif\x00\x00":
            end = pos + 2 + seglen
            while end > len(buf):
                more = f.read(HEAD_BYTES)
                if not more:
                    break
                buf += more
            h.orientation = _exif_orientation(buf[pos + 10:end])
        elif marker == 0xEE and buf[pos + 4:pos + 9] == b"Adobe":
            adobe = True
        pos += 2 + seglen


def _webp(buf: bytes, size: int, h: Header) -> None:
    (riff,) = struct.unpack_from("<I", buf, 4)
    if size < riff + 8:
        h.truncated = True
    chunk = buf[12:16]
    try:
        if chunk == b"VP8 ":
            if buf[23:26] != b"\x9d\x01\x2a":
                h.error = "WebP VP8 frame without its start code"
                return
            w, ht = struct.unpack_from("<HH", buf, 26)
            h.width, h.height, h.mode = w & 0x3FFF, ht & 0x3FFF, "RGB"
        elif chunk == b"VP8L":
            (bits,) = struct.unpack_from("<I", buf, 21)
            h.width, h.height = (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1
            h.has_alpha = bool((bits >> 28) & 1)
            h.mode = "RGBA" if h.has_alpha else "RGB"
        elif chunk == b"VP8X":
            flags = buf[20]
            h.has_alpha, h.animated = bool(flags & 0x10), bool(flags & 0x02)
            h.width = int.from_bytes(buf[24:27], "little") + 1
            h.height = int.from_bytes(buf[27:30], "little") + 1
            h.mode = "RGBA" if h.has_alpha else "RGB"
        else:
            h.error = f"WebP with unknown first chunk {chunk!r}"
    except struct.error:
        h.truncated, h.error = True, "WebP ends inside its header"


def _bmp(buf: bytes, size: int, h: Header) -> None:
    try:
        (declared,) = struct.unpack_from("<I", buf, 2)
        (dib,) = struct.unpack_from("<I", buf, 14)
        if dib == 12:
            w, ht, _planes, bpp = struct.unpack_from("<HHHH", buf, 18)
        else:
            w, ht, _planes, bpp = struct.unpack_from("<iiHH", buf, 18)
    except struct.error:
        h.truncated, h.error = True, "BMP ends inside its header"
        return
    h.width, h.height = abs(w), abs(ht)
    h.mode = "P" if bpp <= 8 else "RGB"
    if declared and size < declared:
        h.truncated = True


def _gif(buf: bytes, h: Header) -> None:
    w, ht = struct.unpack_from("<HH", buf, 6)
    h.width, h.height, h.mode = w, ht, "P"


def _tail_ok(fmt: str, tail: bytes) -> bool:
    if fmt == "PNG":
        return b"IEND" in tail
    if fmt == "JPEG":
        return b"\xff\xd9" in tail
    if fmt == "GIF":
        return b"\x3b" in tail
    return True


def read_header(f: BinaryIO, size: int | None = None) -> Header:
    """Parse the header of the binary file `f` (positioned at 0). `size` is looked up
    when not given; it is known without a stat when the file is shorter than the head."""
    buf = f.read(FIRST_READ)    # (a larger first read costs more than a rare second one)
    if size is None:
        size = len(buf) if len(buf) < FIRST_READ else os.fstat(f.fileno()).st_size
    h = Header(format=sniff(buf), size=size, head_crc=zlib.adler32(buf[:4096]))
    try:
        if h.format == "PNG":
            _png(f, buf, h)
        elif h.format == "JPEG":
            _jpeg(f, buf, h)
        elif h.format == "WEBP":
            _webp(buf, size, h)
        elif h.format == "BMP":
            _bmp(buf, size, h)
        elif h.format == "GIF" and len(buf) >= 10:
            _gif(buf, h)
    except (struct.error, IndexError):
        h.truncated, h.error = True, f"{h.format} header is cut short"
    if h.format in ("PNG", "JPEG", "GIF") and not h.error:
        if size > len(buf):
            try:
                tail = os.pread(f.fileno(), TAIL_BYTES, max(0, size - TAIL_BYTES))
            except (AttributeError, OSError, ValueError):   # no fd (BytesIO) or no pread
                f.seek(max(0, size - TAIL_BYTES))
                tail = f.read(TAIL_BYTES)
        else:
            tail = buf[-TAIL_BYTES:]
        if not _tail_ok(h.format, tail):
            h.truncated = True
        h.head_crc = zlib.adler32(tail, h.head_crc)
    elif h.format == "BMP" and size > 2 * FIRST_READ:
        # uncompressed rows: images of one size often share their first 4 KB (a gradient, a
        # plain background), and the parent would then sample every one of them
        try:
            middle = os.pread(f.fileno(), FIRST_READ, size // 2)
        except (AttributeError, OSError, ValueError):   # no fd (BytesIO) or no pread
            f.seek(size // 2)
            middle = f.read(FIRST_READ)
        h.head_crc = zlib.adler32(middle, h.head_crc)
    if h.format and h.width == 0 and not h.error and h.format in ("PNG", "JPEG", "WEBP", "BMP"):
        h.error = f"{h.format} header without a size"
    return h


_O_READ = os.O_RDONLY | getattr(os, "O_BINARY", 0)


class RawFile:
    """The least a header read needs, over an OS file descriptor (no Python file object:
    `open()` costs more than the read itself on a small header)."""

    __slots__ = ("fd",)

    def __init__(self, path: str) -> None:
        self.fd = os.open(path, _O_READ)

    def read(self, n: int) -> bytes:
        return os.read(self.fd, n)

    def fileno(self) -> int:
        return self.fd

    def seek(self, offset: int, whence: int = 0) -> int:
        return os.lseek(self.fd, offset, whence)

    def close(self) -> None:
        os.close(self.fd)


def read_path(path: str) -> Header:
    """`read_header` of the file at `path`."""
    f = RawFile(path)
    try:
        return read_header(f)
    finally:
        f.close()


class NotAFileError(OSError):
    """A name that holds a folder, a named pipe, a socket or a device instead of a file."""


class TooLargeError(OSError):
    """A file far larger than its kind ever is (a caption of hundreds of MB)."""


MAX_CAPTION_BYTES = 1024 * 1024


def what_it_is(mode: int) -> str:
    """The kind of a file system entry that is not a regular file, in words (a Message)."""
    import stat

    from loratui.i18n import N_, Message

    if stat.S_ISDIR(mode):
        return Message(N_("a folder"))
    if stat.S_ISFIFO(mode):
        return Message(N_("a named pipe"))
    if stat.S_ISSOCK(mode):
        return Message(N_("a socket"))
    return Message(N_("a device"))


# a named pipe opens at once (no wait for a writer) and is then refused by its mode
_O_SMALL = _O_READ | getattr(os, "O_NONBLOCK", 0)


def read_small(path: str, first: int = 65536, limit: int = MAX_CAPTION_BYTES) -> bytes:
    """Whole contents of a small file (a caption) with one open and usually one read.
    (`os.read` allocates its whole size up front: a small first read is much cheaper.)
    `NotAFileError` for a folder, pipe or device of that name (a read would fail or wait),
    `TooLargeError` for a file over `limit` bytes (read whole, a stray 4 GB file would
    take the memory)."""
    import stat

    fd = os.open(path, _O_SMALL)
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise NotAFileError(0, what_it_is(st.st_mode), path)
        if st.st_size > limit:
            from loratui.i18n import N_, Message

            raise TooLargeError(0, Message(N_("{size} MB: far too large for a caption (one "
                                              "is a few hundred bytes), a log or another "
                                              "file named like one"),
                                           size=f"{st.st_size / 1e6:,.1f}"), path)
        data = os.read(fd, first)
        if len(data) < first:
            return data
        parts = [data]
        while (chunk := os.read(fd, 1 << 20)) and sum(map(len, parts)) <= limit:
            parts.append(chunk)
        return b"".join(parts)[:limit]
    finally:
        os.close(fd)

"""Scan a dataset folder into a `DatasetReport`.

Default: headers only (no pixel decode), in parallel processes for large sets.
`deep=True` decodes every image fully (finds corrupt data inside a file, real alpha
use) and checks near-duplicates; `duplicates=True` adds the near-duplicate check
(perceptual hash of a thumbnail) to a header scan. Exact duplicates are always found
(files of equal size are hashed). Nothing is ever written.
"""

from __future__ import annotations

import os
import time
import zlib
from collections import Counter, defaultdict
from collections.abc import Callable
from functools import partial

from loratui.i18n import N_
from loratui.i18n import Message as M

from . import captions as cap
from .headers import (
    ALL_IMAGE_EXTS,
    TRAINABLE_FORMATS,
    NotAFileError,
    TooLargeError,
    read_path,
    read_small,
)
from .layout import Walk, walk_dataset
from .report import DatasetReport, Finding, ImageRecord, Record, Totals, make_finding

TYPE_CHECKING = False  # not typing's: importing typing costs the doctor's start-up time
if TYPE_CHECKING:
    from typing import Any

# what `headers` calls content that is not an image, for the catalogue
CONTENT_NAMES = {"HTML page": N_("HTML page"), "text": N_("text"), "PDF": N_("PDF document"),
                 "git-lfs pointer": N_("git-lfs pointer"), "MP4/ISO media": N_("MP4/ISO media")}
OTHER_FORMATS = frozenset({"GIF", "TIFF", "HEIF", "AVIF", "JXL", "PSD", "ICO", "JPEG2000",
                           "QOI", "SVG", "TGA"})
BROKEN = frozenset({"empty-file", "truncated", "corrupt", "unsupported-format",
                    "decompression-bomb", "unreadable"})
PIL_MAX_PIXELS = 89_478_485        # Pillow's own default decompression-bomb limit
POOL_MIN_FILES = 256               # below this a process pool costs more than it saves


class ScanOptions(Record):
    """How to scan: depth, caption extension, workers and limits."""

    _fields = ("deep", "duplicates", "caption_extension", "trigger_word", "resolution", "reg_dir",
               "default_repeats", "tiny_images", "min_images", "max_images", "max_pixels", "max_caption_tokens",
               "near_duplicate_distance", "extreme_aspect", "workers", "tokenizer")

    def __init__(self, deep: bool = False, duplicates: bool | None = None,
                 caption_extension: str = ".txt", trigger_word: str = "", resolution: int = 512,
                 reg_dir: str | os.PathLike | None = None, default_repeats: int = 1,
                 tiny_images: int | None = None, min_images: int | None = None,
                 max_images: int | None = None, max_pixels: int = PIL_MAX_PIXELS,
                 max_caption_tokens: int = cap.CLIP_WINDOW, near_duplicate_distance: int = 4,
                 extreme_aspect: float = 2.0, workers: int | None = None,
                 tokenizer: Any = None) -> None:
        self.deep = deep
        self.duplicates = duplicates  # None: only with deep
        self.caption_extension = caption_extension  # "auto": the extension most captions have
        self.trigger_word = trigger_word
        self.resolution = resolution
        self.reg_dir = reg_dir
        self.default_repeats = default_repeats
        # P2 image counts; None: the doctor rules' thresholds (DS101, DS102, DS213)
        self.tiny_images = tiny_images
        self.min_images = min_images
        self.max_images = max_images
        self.max_pixels = max_pixels
        self.max_caption_tokens = max_caption_tokens
        self.near_duplicate_distance = near_duplicate_distance  # of 64 phash bits
        self.extreme_aspect = extreme_aspect
        self.workers = workers  # None: all cores; 0/1: in this process
        self.tokenizer = tokenizer  # a CLIP tokenizer (exact counts) or None

    @classmethod
    def from_config(cls, cfg, **overrides) -> ScanOptions:
        """Options from a `RunConfig` (dataset section and doctor threshold overrides)."""
        ds = cfg.dataset
        doc = getattr(cfg, "doctor", {}) or {}
        opts = cls(caption_extension=ds.caption_extension, trigger_word=ds.trigger_word,
                   resolution=ds.resolution, reg_dir=ds.reg_dir or None,
                   default_repeats=ds.repeats, **image_count_limits(doc))
        for k, v in overrides.items():
            setattr(opts, k, v)
        return opts


# The doctor rules that judge the image count, and the threshold each ScanOptions field reads.
_COUNT_RULES = {"tiny_images": ("DS101", "min_images"), "min_images": ("DS102", "recommended_min"),
                "max_images": ("DS213", "max_images")}


def image_count_limits(overrides: dict | None = None) -> dict[str, int]:
    """ScanOptions' image-count fields from the doctor rules that judge the same count
    (rules/*.toml, with the `[doctor]` table's overrides), so a scan and `loratui doctor`
    give one folder the same finding."""
    from loratui.doctor.catalog import localized_catalog, thresholds_for

    catalog = localized_catalog()   # the doctor's (its thresholds are the same in all languages)
    return {field: int(thresholds_for(catalog.get(code), overrides or {})[name])
            for field, (code, name) in _COUNT_RULES.items()}


# ---------------------------------------------------------------------------- workers
def _decode(path: str, max_pixels: int):
    """Open and fully decode; returns the image or raises."""
    import warnings

    from PIL import Image

    Image.MAX_IMAGE_PIXELS = max_pixels
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        im = Image.open(path)
        im.load()
    return im


def _phash(im) -> str:
    import imagehash

    return str(imagehash.phash(im))


# what a worker sends back for one image (a tuple pickles cheaper than a dict)
Probe = tuple   # (bytes, crc, format, width, height, mode, has_alpha, orientation, phash,
                #  problems [(kind, detail)], captions [(ext, path, text, bom, error, info)])


def _orientation(im) -> int:
    """EXIF orientation (1 = upright; also for an unreadable EXIF block)."""
    try:
        return int(im.getexif().get(0x0112, 1) or 1)
    except Exception:
        return 1


def _probe(path: str, caption_files: list[tuple[str, str]], settings: tuple) -> Probe:
    """Everything about one image that needs its bytes. Runs in a worker process."""
    deep, hashes, max_pixels, trigger, estimate, resolution, aspect = settings
    problems: list[tuple[str, str]] = []
    out: dict[str, Any] = {"problems": problems}
    try:
        h = read_path(path)
        out = {"problems": problems, "bytes": h.size, "crc": h.head_crc, "format": h.format,
               "width": h.width, "height": h.height, "mode": h.mode, "bits": h.bits,
               "has_alpha": h.has_alpha, "orientation": h.orientation}
        if h.size == 0:
            problems.append(("empty-file", M(N_("0 bytes"))))
        else:
            _check_pixels(path, h, out, deep, hashes, max_pixels)
            if not any(k in BROKEN for k, _ in problems):
                problems.extend(pixel_problems(out, resolution, aspect))
            if h.animated or h.format == "GIF":
                frames = _frames(path, h)
                if frames > 1:
                    problems.append(("animated", M(N_("{n} frames"), n=frames)))
    except OSError as exc:
        problems.append(("unreadable", M(N_("cannot be read ({error})"),
                                         error=exc.strerror or str(exc))))
    except Exception as exc:   # a file we cannot make sense of never stops the scan
        problems.append(("corrupt", M(N_("cannot be read as an image ({error})"),
                                      error=f"{type(exc).__name__}: {exc}")))
    captions = []
    for ext, cpath in caption_files:
        try:
            data = read_small(cpath)
        except NotAFileError as exc:   # a folder or a pipe of that name: not "no caption"
            captions.append((ext, cpath, None, False, ("not-a-file", M(
                N_("{what}, not a file"), what=exc.strerror)), None))
            continue
        except TooLargeError as exc:
            captions.append((ext, cpath, None, False, ("caption-too-large", exc.strerror),
                             None))
            continue
        except OSError as exc:    # there but unreadable: said so, not "no caption"
            captions.append((ext, cpath, None, False, ("unreadable", M(
                N_("cannot be read ({error})"), error=exc.strerror or str(exc))), None))
            continue
        d = cap.decode_caption(data)
        text = (d.text or "").strip()
        info = None
        if text:   # (tokens, style, has trigger, trigger first)
            info = (cap.estimate_clip_tokens(text) if estimate else 0, cap.caption_style(text),
                    bool(trigger) and cap.has_trigger(text, trigger),
                    bool(trigger) and cap.trigger_first(text, trigger))
        captions.append((ext, cpath, d.text, d.bom, d.error, info))
    get = out.get
    return (get("bytes", 0), get("crc", 0), get("format", ""), get("width", 0),
            get("height", 0), get("mode", ""), bool(get("has_alpha")),
            get("orientation", 1) or 1, get("phash", ""), problems, captions)


def _check_pixels(path: str, h, out: dict, deep: bool, hashes: bool, max_pixels: int) -> None:
    problems = out["problems"]
    ext = path[path.rfind("."):].lower()       # the walk only passes files with an extension
    expected = ALL_IMAGE_EXTS.get(ext, ext[1:].upper())
    fmt = h.format
    if fmt and fmt not in TRAINABLE_FORMATS and fmt not in OTHER_FORMATS:
        name = M(CONTENT_NAMES[fmt]) if fmt in CONTENT_NAMES else fmt
        problems.append(("corrupt", M(N_("not an image: the content is a {format}"), format=name)))
        return
    if not fmt:   # no signature we know (TGA has none): Pillow decides
        if _pil_size(path, out) and out.get("format"):
            problems.append(("unsupported-format", M(N_("{format} is not read by trainers"),
                                                        format=out["format"])))
        return
    if fmt != expected:
        problems.append(("wrong-extension", M(N_("content is {format}, extension is {ext}"),
                                              format=fmt, ext=ext)))
    if fmt not in TRAINABLE_FORMATS:
        readable = _pil_size(path, out, report=False)
        problems.append(("unsupported-format", M(N_("{format} is not read by trainers"), format=fmt)
                         if readable else M(N_("{format} is not read by trainers; Pillow cannot "
                                               "read it either (convert it elsewhere)"), format=fmt)))
        return
    # when our parser gives up, Pillow decides (it knows more variants)
    if h.error and not h.truncated and not _pil_size(path, out):
        return
    if out.get("width", 0) * out.get("height", 0) > max_pixels:
        problems.append(("decompression-bomb",
                         M(N_("{width}×{height} px > limit {limit}"), width=out["width"],
                           height=out["height"], limit=f"{max_pixels:,}")))
        return
    need_decode = deep or h.truncated or h.error
    im = None
    if need_decode:
        try:
            im = _decode(path, max_pixels)
        except Exception as exc:
            msg = str(exc) or type(exc).__name__
            kind = "truncated" if (h.truncated or "truncated" in msg) else "corrupt"
            if "decompression bomb" in msg.lower():
                kind = "decompression-bomb"
            problems.append((kind, M(N_("the file ends before its image data does"))
                             if kind == "truncated" else M(N_("cannot be decoded: {error}"),
                                                           error=msg)))
            return
        out.update(width=im.width, height=im.height, mode=im.mode)
        if im.mode in ("RGBA", "LA", "PA") or (im.mode == "P" and "transparency" in im.info):
            alpha = im.convert("RGBA").getchannel("A") if im.mode != "LA" else im.getchannel("A")
            out["has_alpha"] = alpha.getextrema()[0] < 255
        out["orientation"] = _orientation(im)
    if hashes:
        try:
            if im is None:
                from PIL import Image

                with Image.open(path) as im:
                    if im.format == "JPEG":
                        im.draft("RGB", (64, 64))
                    out["phash"] = _phash(im)
            else:
                out["phash"] = _phash(im)
        except Exception as exc:
            problems.append(("corrupt", M(N_("cannot decode for hashing: {error}"), error=str(exc))))


def _frames(path: str, h) -> int:
    """Frames of an animation: the APNG header's count, else Pillow's (a GIF, an animated
    WebP); 1 when the file cannot say."""
    if h.frames:
        return h.frames
    from PIL import Image

    try:
        with Image.open(path) as im:
            return int(getattr(im, "n_frames", 1))
    except Exception:      # a broken file is reported by the pixel checks
        return 1


def _pil_size(path: str, out: dict, report: bool = True) -> bool:
    """Fill size/mode from Pillow's header reader; False (and a problem when `report`) if it
    cannot."""
    from PIL import Image

    try:
        with Image.open(path) as im:
            out.update(format=im.format or out.get("format", ""), width=im.width,
                       height=im.height, mode=im.mode)
        return True
    except Exception as exc:   # UnidentifiedImageError, OSError, DecompressionBombError, ...
        msg = str(exc) or type(exc).__name__
        if "decompression bomb" in msg.lower():
            out["problems"].append(("decompression-bomb", M(
                N_("Pillow refuses it as a decompression bomb ({error})"), error=msg)))
        elif report and type(exc).__name__ == "UnidentifiedImageError":
            out["problems"].append(("corrupt", M(N_("not an image: Pillow cannot identify its "
                                                    "content"))))
        elif report:
            out["problems"].append(("corrupt", M(N_("cannot be decoded: {error}"), error=msg)))
        return False


def _probe_chunk(settings: tuple, tasks: list[tuple]) -> list[Probe]:
    return [_probe(path, captions, settings) for path, captions in tasks]


def _pool_context():
    # fork is fastest, but forking a threaded process (the Textual UI) can deadlock.
    import multiprocessing
    import sys
    import threading

    methods = multiprocessing.get_all_start_methods()
    # (macOS lists fork too, but system libraries there are not fork-safe)
    if sys.platform.startswith("linux") and threading.active_count() == 1:
        return multiprocessing.get_context("fork")
    if "forkserver" in methods:
        return multiprocessing.get_context("forkserver")
    return multiprocessing.get_context("spawn")


def iter_parallel(fn: Callable[[list], list], tasks: list, workers: int | None,
                  chunk: int | None = None, min_parallel: int = POOL_MIN_FILES):
    """Yield `fn(chunk)` for consecutive chunks of `tasks`, in order; in worker processes
    when there are enough tasks and more than one worker."""
    total = len(tasks)
    n = (os.cpu_count() or 1) if workers is None else workers
    if n <= 1 or total < min_parallel:
        step = chunk or 32
        for i in range(0, total, step):
            yield fn(tasks[i:i + step])
        return
    chunk = chunk or max(8, min(256, total // (n * 8) or 1))
    bounds = [(i, min(total, i + chunk)) for i in range(0, total, chunk)]
    from concurrent.futures import ProcessPoolExecutor

    ctx = _pool_context()
    forked = ctx.get_start_method() == "fork"
    global _FORKED
    try:
        if forked:   # forked workers inherit `fn` and `tasks`: only chunk bounds travel
            _FORKED = (fn, tasks)
        with ProcessPoolExecutor(max_workers=n, mp_context=ctx) as ex:
            yield from (ex.map(_run_forked, bounds) if forked
                        else ex.map(fn, [tasks[i:j] for i, j in bounds]))
    finally:
        _FORKED = None


_FORKED: tuple[Callable[[list], list], list] | None = None   # set while a fork pool runs


def _run_forked(bounds: tuple[int, int]) -> list:
    if _FORKED is None:
        raise RuntimeError("worker started without the parent's tasks")
    fn, tasks = _FORKED
    return fn(tasks[bounds[0]:bounds[1]])


# --------------------------------------------------------------------------- assembly
def scan(root: str | os.PathLike, options: ScanOptions | None = None, *,
         progress: Callable[[int, int], None] | None = None, **overrides) -> DatasetReport:
    """Scan the dataset at `root`. Never raises for bad files; raises FileNotFoundError /
    NotADirectoryError when `root` itself is unusable."""
    opts = (options or ScanOptions()).replace(**overrides)
    root = os.path.normpath(os.path.expanduser(os.fspath(root)))  # str: no pathlib import
    if not os.path.exists(root):
        from loratui.userfiles import broken_link, shown

        link = broken_link(root)
        raise FileNotFoundError(M(N_("{path}: {detail}"), path=shown(root), detail=link)
                                if link else M(N_("{path}: no such folder"), path=shown(root)))
    if not os.path.isdir(root):
        raise NotADirectoryError(M(N_("{path}: not a folder (give the dataset folder)"),
                                   path=root))
    return _scan(root, opts, progress)


def _scan(root: str, opts: ScanOptions, progress: Callable[[int, int], None] | None
          ) -> DatasetReport:
    t0 = time.perf_counter()
    hashes = opts.deep if opts.duplicates is None else opts.duplicates
    auto_ext = opts.caption_extension in ("", "auto")
    walk = walk_dataset(root, reg_dir=opts.reg_dir,
                        caption_extension=".txt" if auto_ext else opts.caption_extension,
                        default_repeats=opts.default_repeats)
    cap_counts = Counter(ext for found in walk.captions.values() for ext in found)
    if auto_ext:   # the extension most captions have (.txt when there are none)
        opts = opts.replace(caption_extension=max(
            cap_counts, key=lambda e: (cap_counts[e], e == ".txt"), default=".txt"))
    report = DatasetReport(root=str(root), layout=walk.layout, deep=opts.deep,
                           duplicates_checked=bool(hashes),
                           caption_extension=opts.caption_extension,
                           trigger_word=opts.trigger_word, resolution=opts.resolution,
                           tokens_exact=opts.tokenizer is not None, subsets=walk.subsets)
    report.findings.extend(walk.findings)
    cap_ext = opts.caption_extension.lower()
    tasks = []
    for img in walk.images:
        found = walk.captions.get(img.key)
        tasks.append((img.abspath, [] if not found else [(cap_ext, found[cap_ext])]
                      if cap_ext in found else sorted(found.items())[:1]))
    settings = (opts.deep, hashes, opts.max_pixels, opts.trigger_word.strip(),
                opts.tokenizer is None, opts.resolution, opts.extreme_aspect)
    per_kind: dict[str, dict[str, str]] = defaultdict(dict)
    cap_info: dict[str, tuple] = {}
    images = iter(walk.images)
    records = report.images
    # usable files by (size, head checksum) -> exact-duplicate candidates, whose sampled
    # digests are taken here, while the workers probe the next chunks
    by_size: dict[tuple[int, int], list[ImageRecord]] = {}
    samples: dict[str, int | None] = {}
    root_str = str(root)
    for part in iter_parallel(partial(_probe_chunk, settings), tasks, opts.workers):
        for res in part:
            rec = _record(next(images), res, cap_ext, per_kind, cap_info)
            records.append(rec)
            if rec.ok and rec.bytes:
                group = by_size.setdefault((rec.bytes, res[1]), [])
                group.append(rec)
                if len(group) > 1:
                    for other in group[:-1] if len(group) == 2 else ():
                        samples[other.path] = _sample_digest_or_none(root_str, other)
                    samples[rec.path] = _sample_digest_or_none(root_str, rec)
        if progress:
            progress(len(records), len(tasks))
    _file_findings(report, walk, per_kind)
    _duplicates(report, opts, per_kind, by_size, samples)
    _caption_findings(report, walk, opts, per_kind, cap_info)
    _emit(report, per_kind)
    _set_findings(report, opts)
    report.totals = _totals(report, opts)
    report.totals.caption_files = dict(cap_counts)
    order = {"error": 0, "warning": 1, "info": 2}
    report.findings.sort(key=lambda f: (order[f.severity], f.kind))
    report.elapsed_s = round(time.perf_counter() - t0, 3)
    return report


def _record(img, res: Probe, cap_ext: str, per_kind, cap_info: dict) -> ImageRecord:
    (size, _crc, fmt, width, height, mode, has_alpha, orientation, phash, problems,
     captions) = res
    rec = ImageRecord(img.rel, img.subset, size, fmt, width, height, mode, has_alpha,
                      orientation, phash=phash, is_reg=img.is_reg)
    path = rec.path
    for kind, detail in problems:
        if kind.startswith("caption"):
            continue
        rec.problems.append(kind)
        per_kind[kind][path] = detail
        if kind in BROKEN:
            rec.ok = False
    for ext, cpath, text, bom, error, info in captions:
        if info is not None:
            cap_info[path] = info
        rec.caption_path = _rel_to(cpath, img)
        if ext != cap_ext:
            rec.problems.append("caption-other-extension")
            per_kind["caption-other-extension"][path] = f"found {rec.caption_path}"
        if isinstance(error, tuple):    # (kind, detail): the caption file cannot be read
            rec.problems.append(error[0])
            per_kind[error[0]][rec.caption_path] = error[1]
            continue
        if error:
            rec.problems.append("caption-not-utf8")
            per_kind["caption-not-utf8"][rec.caption_path] = error
            continue
        if bom:
            rec.problems.append("caption-bom")
            per_kind["caption-bom"][rec.caption_path] = M(N_("starts with EF BB BF"))
        rec.caption = text
    return rec


def _rel_to(cpath: str, img) -> str:
    """Caption path relative to the scan root, derived from the image's relative path."""
    slash = img.rel.rfind("/")
    return img.rel[:slash + 1] + cpath[cpath.rfind(os.sep) + 1:]


def pixel_problems(info: dict, resolution: int, extreme: float) -> list[tuple[str, str]]:
    """(kind, detail) for size, aspect and colour-mode findings of a readable image."""
    w, h, mode = info.get("width", 0), info.get("height", 0), info.get("mode", "")
    bits, orientation = info.get("bits", 8), info.get("orientation", 1)
    short, long_ = min(w, h), max(w, h)
    out = []
    if w != resolution or h != resolution:
        out.append(("not-512", f"{w}×{h}"))
    if short < resolution:
        out.append(("small-image", M(N_("short side {px} px"), px=short)))
    if long_ > extreme * max(1, short):
        out.append(("extreme-aspect", f"{w}×{h} ({long_ / max(1, short):.1f}:1)"))
    if info.get("has_alpha"):
        out.append(("alpha", M(N_("mode {mode}"), mode=mode)))
    if mode == "P":
        out.append(("palette", M(N_("palette (P)"))))
    elif mode == "CMYK":
        out.append(("cmyk", "CMYK"))
    if bits == 16 or mode.startswith("I"):
        out.append(("16-bit", M(N_("{bits}-bit, mode {mode}"), bits=bits, mode=mode)))
    if mode in ("L", "LA", "1", "I;16", "I"):
        out.append(("grayscale", M(N_("mode {mode}"), mode=mode)))
    if orientation not in (0, 1):
        out.append(("exif-rotated", M(N_("orientation {n}"), n=orientation)))
    return out


def _file_findings(report: DatasetReport, walk: Walk, per_kind) -> None:
    for rel in walk.junk:
        per_kind["junk-file"][rel] = M(N_("OS metadata file"))
    for rel in walk.double_ext:
        per_kind["double-extension"][rel] = M(N_("two extensions"))
    for rel in walk.broken_links:
        per_kind["broken-symlink"][rel] = M(N_("link target missing or a link loop"))
    for rel in walk.loops:
        per_kind["symlink-loop"][rel] = M(N_("folder already scanned through another path"))
    for rel, why in walk.unreadable.items():
        per_kind["unreadable"][rel] = why
    for rel, what in walk.not_files.items():
        per_kind["not-a-file"][rel] = M(N_("{what}, not a file"), what=what)
    if walk.latent_caches:
        cache = M(N_(".npz latent cache"))
        per_kind["latent-cache"].update(dict.fromkeys(walk.latent_caches, cache))
    # same stem, different image extension (D06)
    groups: dict[str, list[str]] = defaultdict(list)
    by_path = {r.path: r for r in report.images}
    for rec in report.images:
        groups[rec.path[:rec.path.rfind(".")]].append(rec.path)   # images have an extension
    for paths in groups.values():
        if len(paths) > 1:
            for p in paths:
                per_kind["same-stem"][p] = M(N_("shares its stem with {paths}"), paths=", ".join(
                    q for q in paths if q != p))
                by_path[p].problems.append("same-stem")


def _duplicates(report: DatasetReport, opts: ScanOptions, per_kind,
                by_size: dict[tuple[int, int], list[ImageRecord]],
                samples: dict[str, int | None]) -> None:
    """Exact duplicates among `by_size` groups (usable files by size and head checksum,
    with `samples` taken of every group of two or more); near duplicates by phash."""
    root = report.root
    exact_pairs: set[tuple[str, str]] = set()
    for group in by_size.values():
        if len(group) < 2:
            continue
        for same in _identical_groups(root, group, samples):
            for rec in same[1:]:
                per_kind["exact-duplicate"][rec.path] = M(N_("same bytes as {path}"),
                                                            path=same[0].path)
                rec.problems.append("exact-duplicate")
                exact_pairs.add((same[0].path, rec.path))
    hashed = [r for r in report.images if r.ok and r.phash]
    if len(hashed) < 2:
        return
    import numpy as np

    values = np.array([int(r.phash, 16) for r in hashed], dtype=np.uint64)
    reported: set[str] = set()
    for i in range(len(hashed) - 1):
        dist = _popcount(np, values[i + 1:] ^ values[i])
        for j in np.nonzero(dist <= opts.near_duplicate_distance)[0]:
            a, b = hashed[i], hashed[i + 1 + int(j)]
            if (a.path, b.path) in exact_pairs or b.path in reported:
                continue
            reported.add(b.path)
            per_kind["near-duplicate"][b.path] = M(N_("looks like {path} (hash distance {n})"),
                                                   path=a.path, n=int(dist[j]))
            b.problems.append("near-duplicate")


def _sample_digest(path: str, size: int) -> int:
    """Checksum of 8 blocks spread over the file: different files almost always differ (a
    pre-filter only: equal samples are confirmed by `_full_digest`)."""
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_BINARY", 0))
    try:
        blocks = [_pread(fd, 4096, (size - 4096) * k // 7 if size > 4096 else 0)
                  for k in range(8)]
    finally:
        os.close(fd)
    return zlib.crc32(b"".join(blocks))


def _sample_digest_or_none(root: str, rec: ImageRecord) -> int | None:
    try:
        return _sample_digest(os.path.join(root, rec.path), rec.bytes)
    except OSError:
        return None


def _pread(fd: int, n: int, offset: int) -> bytes:
    if hasattr(os, "pread"):
        return os.pread(fd, n, offset)
    os.lseek(fd, offset, 0)          # Windows has no pread
    return os.read(fd, n)


def _full_digest(path: str) -> bytes:
    import hashlib

    h = hashlib.blake2b()
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            h.update(chunk)
    return h.digest()


def _identical_groups(root: str, group: list[ImageRecord],
                      samples: dict[str, int | None]) -> list[list[ImageRecord]]:
    """Groups of byte-identical files among files of one size: a sampled hash first
    (`samples`), the full hash only for files whose samples match."""
    def split(recs: list[ImageRecord], digest) -> list[list[ImageRecord]]:
        keyed: dict[Any, list[ImageRecord]] = defaultdict(list)
        for rec in recs:
            try:
                key = digest(rec)
            except OSError:
                continue
            if key is not None:
                keyed[key].append(rec)
        return [g for g in keyed.values() if len(g) > 1]

    out: list[list[ImageRecord]] = []
    for candidates in split(group, lambda rec: samples.get(rec.path)):
        out.extend(split(candidates, lambda rec: _full_digest(os.path.join(root, rec.path))))
    return out


def _popcount(np, x):
    """Set bits per uint64 (numpy >= 2 has bitwise_count; 1.26 unpacks the bytes)."""
    if hasattr(np, "bitwise_count"):
        return np.bitwise_count(x)
    return np.unpackbits(x.view(np.uint8).reshape(-1, 8), axis=1).sum(axis=1)


def _caption_findings(report: DatasetReport, walk: Walk, opts: ScanOptions, per_kind,
                      cap_info: dict) -> None:
    trigger = opts.trigger_word.strip()
    styles: dict[str, list[str]] = defaultdict(list)
    class_tokens = {s.path: s.name for s in report.subsets
                    if report.layout in ("kohya", "leaf") and s.name}
    for rec in report.images:
        if not rec.ok:
            continue
        if rec.caption is None:
            if not {"caption-not-utf8", "unreadable", "not-a-file",
                    "caption-too-large"} & set(rec.problems):
                rec.problems.append("caption-missing")
                token = class_tokens.get(rec.subset, "")
                expected = os.path.splitext(rec.path)[0] + opts.caption_extension
                per_kind["caption-missing"][rec.path] = M(
                    N_("no {caption} (sd-scripts trains it as the folder's class token "
                       "`{token}`)"), caption=expected, token=token) if token else \
                    M(N_("no {caption}"), caption=expected)
            continue
        text = rec.caption.strip()
        if not text:
            rec.problems.append("caption-empty")
            per_kind["caption-empty"][rec.caption_path] = M(N_("empty"))
            continue
        info = cap_info.get(rec.path)
        if info is None:     # (not from a worker)
            info = (0, cap.caption_style(text), cap.has_trigger(text, trigger),
                    cap.trigger_first(text, trigger))
        tokens, rec.caption_style, has_trigger, first = info
        rec.caption_tokens = (cap.count_tokens(text, opts.tokenizer)
                              if opts.tokenizer is not None or not tokens else tokens)
        styles[rec.caption_style].append(rec.caption_path)
        if rec.caption_tokens > opts.max_caption_tokens:
            rec.problems.append("caption-too-long")
            per_kind["caption-too-long"][rec.caption_path] = M(
                N_("{n} tokens") if opts.tokenizer is not None else N_("about {n} tokens"),
                n=rec.caption_tokens)
        if trigger:
            if not has_trigger:
                rec.problems.append("caption-no-trigger")
                per_kind["caption-no-trigger"][rec.caption_path] = M(N_("no `{trigger}`"),
                                                                       trigger=trigger)
            elif not first:
                rec.problems.append("trigger-not-first")
                per_kind["trigger-not-first"][rec.caption_path] = M(N_("trigger word not first"))
    if len(styles) > 1:
        minority = min(styles, key=lambda s: len(styles[s]))   # tags or sentence
        detail = M(STYLE_DETAILS[minority])
        for p in styles[minority]:
            per_kind["caption-style-mixed"][p] = detail
    # captions with no image
    image_keys = {i.key for i in walk.images}
    root = report.root
    for key, files in walk.captions.items():
        if key not in image_keys:
            inner = os.path.splitext(key[1])
            named_after = (key[0], inner[0]) in image_keys and inner[1].lower() in ALL_IMAGE_EXTS
            for path in files.values():
                rel = os.path.relpath(path, root).replace(os.sep, "/")
                if rel in walk.not_files:    # reported as what it is
                    continue
                per_kind["caption-orphan"][rel] = M(
                    N_("named after the whole image file name: rename to {name}"),
                    name=inner[0] + os.path.splitext(path)[1]) if named_after else \
                    M(N_("no image with this stem"))


# the odd caption style out -> its detail, and the finding's message for one and several
STYLE_DETAILS = {"tags": N_("a tag list among mostly sentence captions"),
                 "sentence": N_("a sentence among mostly tag-list captions")}
STYLE_MESSAGES: dict[str, Callable[..., M]] = {
    "tags": lambda n, **a: M.ngettext("{n} tag-list caption among mostly sentence captions",
                                      "{n} tag-list captions among mostly sentence captions", n),
    "sentence": lambda n, **a: M.ngettext(
        "{n} sentence caption among mostly tag-list captions",
        "{n} sentence captions among mostly tag-list captions", n),
}

# kind -> its finding's message for n files (`res`, `ext`, `trigger` given)
_MESSAGES: dict[str, Callable[..., M]] = {
    "empty-file": lambda n, **a: M.ngettext(
        "{n} empty (0-byte) file",
        "{n} empty (0-byte) files", n, **a),
    "truncated": lambda n, **a: M.ngettext(
        "{n} truncated image",
        "{n} truncated images", n, **a),
    "corrupt": lambda n, **a: M.ngettext(
        "{n} unreadable or non-image file with an image extension",
        "{n} unreadable or non-image files with an image extension", n, **a),
    "wrong-extension": lambda n, **a: M.ngettext(
        "{n} file whose extension does not match the content",
        "{n} files whose extension does not match the content", n, **a),
    "unsupported-format": lambda n, **a: M.ngettext(
        "{n} image in a format trainers do not read",
        "{n} images in a format trainers do not read", n, **a),
    "decompression-bomb": lambda n, **a: M.ngettext(
        "{n} image refused as a decompression bomb",
        "{n} images refused as decompression bombs", n, **a),
    "junk-file": lambda n, **a: M.ngettext(
        "{n} OS metadata file (._*, .DS_Store, Thumbs.db)",
        "{n} OS metadata files (._*, .DS_Store, Thumbs.db)", n, **a),
    "double-extension": lambda n, **a: M.ngettext(
        "{n} file with a double extension",
        "{n} files with a double extension", n, **a),
    "unreadable": lambda n, **a: M.ngettext(
        "{n} path that cannot be read",
        "{n} paths that cannot be read", n, **a),
    "broken-symlink": lambda n, **a: M.ngettext(
        "{n} broken or looping symbolic link",
        "{n} broken or looping symbolic links", n, **a),
    "symlink-loop": lambda n, **a: M.ngettext(
        "{n} folder link back into the tree (skipped)",
        "{n} folder links back into the tree (skipped)", n, **a),
    "latent-cache": lambda n, **a: M.ngettext(
        "{n} .npz latent cache file beside the images",
        "{n} .npz latent cache files beside the images", n, **a),
    "same-stem": lambda n, **a: M.ngettext(
        "{n} image shares a stem with another image",
        "{n} images share a stem with another image", n, **a),
    "exact-duplicate": lambda n, **a: M.ngettext(
        "{n} exact duplicate image",
        "{n} exact duplicate images", n, **a),
    "near-duplicate": lambda n, **a: M.ngettext(
        "{n} near-duplicate image",
        "{n} near-duplicate images", n, **a),
    "not-512": lambda n, **a: M.ngettext(
        "{n} image is not {res}×{res}, the training resolution",
        "{n} images are not {res}×{res}, the training resolution", n, **a),
    "small-image": lambda n, **a: M.ngettext(
        "{n} image with the short side below {res} px, the training resolution",
        "{n} images with the short side below {res} px, the training resolution", n, **a),
    "extreme-aspect": lambda n, **a: M.ngettext(
        "{n} image longer than 2:1",
        "{n} images longer than 2:1", n, **a),
    "alpha": lambda n, **a: M.ngettext(
        "{n} image with transparency",
        "{n} images with transparency", n, **a),
    "palette": lambda n, **a: M.ngettext(
        "{n} palette image",
        "{n} palette images", n, **a),
    "cmyk": lambda n, **a: M.ngettext(
        "{n} CMYK image",
        "{n} CMYK images", n, **a),
    "16-bit": lambda n, **a: M.ngettext(
        "{n} 16-bit image",
        "{n} 16-bit images", n, **a),
    "grayscale": lambda n, **a: M.ngettext(
        "{n} greyscale image",
        "{n} greyscale images", n, **a),
    "exif-rotated": lambda n, **a: M.ngettext(
        "{n} image rotated by EXIF orientation",
        "{n} images rotated by EXIF orientation", n, **a),
    "caption-missing": lambda n, **a: M.ngettext(
        "{n} image without a {ext} caption",
        "{n} images without a {ext} caption", n, **a),
    "caption-empty": lambda n, **a: M.ngettext(
        "{n} empty caption",
        "{n} empty captions", n, **a),
    "caption-not-utf8": lambda n, **a: M.ngettext(
        "{n} caption not in UTF-8",
        "{n} captions not in UTF-8", n, **a),
    "caption-bom": lambda n, **a: M.ngettext(
        "{n} caption starts with a UTF-8 byte-order mark",
        "{n} captions start with a UTF-8 byte-order mark", n, **a),
    "caption-other-extension": lambda n, **a: M.ngettext(
        "{n} caption found only with another extension than {ext}",
        "{n} captions found only with another extension than {ext}", n, **a),
    "caption-too-long": lambda n, **a: M.ngettext(
        "{n} caption longer than CLIP's 75-token window",
        "{n} captions longer than CLIP's 75-token window", n, **a),
    "caption-no-trigger": lambda n, **a: M.ngettext(
        "{n} caption without the trigger word `{trigger}`",
        "{n} captions without the trigger word `{trigger}`", n, **a),
    "trigger-not-first": lambda n, **a: M.ngettext(
        "{n} caption where `{trigger}` is not first",
        "{n} captions where `{trigger}` is not first", n, **a),
    "not-a-file": lambda n, **a: M.ngettext(
        "{n} image or caption name held by a folder or a named pipe, not a file",
        "{n} image or caption names held by folders or named pipes, not files", n, **a),
    "caption-too-large": lambda n, **a: M.ngettext(
        "{n} caption file far too large to be a caption",
        "{n} caption files far too large to be captions", n, **a),
    "animated": lambda n, **a: M.ngettext(
        "{n} animated image (trainers use its first frame only)",
        "{n} animated images (trainers use their first frame only)", n, **a),
    "caption-orphan": lambda n, **a: M.ngettext(
        "{n} caption file without an image",
        "{n} caption files without an image", n, **a),
}


def _emit(report: DatasetReport, per_kind: dict[str, dict[str, str]]) -> None:
    for kind, details in per_kind.items():
        if not details:
            continue
        if kind == "caption-style-mixed":   # which style is the odd one out
            first = next(iter(details.values())).template
            message = STYLE_MESSAGES[next(k for k, v in STYLE_DETAILS.items() if v == first)]
        else:
            message = _MESSAGES[kind]
        msg = message(len(details), res=report.resolution, ext=report.caption_extension,
                      trigger=report.trigger_word)
        report.findings.append(make_finding(kind, msg, list(details), details=details))


def _set_findings(report: DatasetReport, opts: ScanOptions) -> None:
    train = [r for r in report.images if not r.is_reg]
    usable = sum(r.ok for r in train)
    limits = image_count_limits() if None in (opts.tiny_images, opts.min_images,
                                              opts.max_images) else {}
    tiny = opts.tiny_images if opts.tiny_images is not None else limits["tiny_images"]
    low = opts.min_images if opts.min_images is not None else limits["min_images"]
    high = opts.max_images if opts.max_images is not None else limits["max_images"]
    if not train:
        report.findings.append(make_finding(
            "no-images", M(N_("no images found (looked for .png .jpg .jpeg .webp .bmp)")), []))
    elif usable < low:
        report.findings.append(make_finding(
            "very-few-images" if usable < tiny else "too-few-images", M.ngettext(
                "{n} usable image; the guide recommends {low}–{high}",
                "{n} usable images; the guide recommends {low}–{high}", usable,
                low=low, high=high), []))
    elif usable > high:
        report.findings.append(make_finding("many-images", M(
            N_("{n} usable images; the guide's range is {low}–{high}"), n=usable,
            low=low, high=high), []))


def _short_bucket(s: int) -> str:
    for limit, name in ((256, "<256"), (512, "256-511"), (768, "512-767"), (1024, "768-1023")):
        if s < limit:
            return name
    return "1024+"


def _aspect_name(w: int, h: int) -> str:
    if not h:
        return "unknown"
    r = w / h
    if 0.95 <= r <= 1.05:
        return "square"
    if r > 2 or r < 0.5:
        return "extreme"
    return "landscape" if r > 1 else "portrait"


def _totals(report: DatasetReport, opts: ScanOptions) -> Totals:
    t = Totals()
    repeats = {s.path: s.repeats for s in report.subsets}
    sizes: Counter = Counter()
    modes: Counter = Counter()
    formats: Counter = Counter()
    styles: Counter = Counter()
    for r in report.images:
        if r.is_reg:
            t.reg_images += 1
            continue
        t.images += 1
        if not r.ok:
            t.broken += 1
            continue
        t.usable += 1
        t.steps_per_epoch_images += repeats.get(r.subset, 1)
        if r.caption_style:            # set for every non-empty caption
            # only captions the trainer reads (the configured extension) count as captioned;
            # the others are caption-other-extension (DS106)
            t.captioned += "caption-other-extension" not in r.problems
            styles[r.caption_style] += 1
        sizes[(r.width, r.height)] += 1
        modes[r.mode] += 1
        formats[r.format] += 1
    from .buckets import choose_bucket

    for (w, h), n in sizes.most_common():
        t.resolutions[f"{w}x{h}"] = n
        if w and h:    # the SD1.5 bucket each size lands in with bucketing on (D10)
            bw, bh = choose_bucket(w, h, opts.resolution)
            t.buckets[f"{bw}x{bh}"] = t.buckets.get(f"{bw}x{bh}", 0) + n
        sb, an = _short_bucket(min(w, h)), _aspect_name(w, h)
        t.short_sides[sb] = t.short_sides.get(sb, 0) + n
        t.aspects[an] = t.aspects.get(an, 0) + n
    t.modes, t.formats, t.caption_styles = dict(modes), dict(formats), dict(styles)
    return t


def scan_config(cfg, **overrides) -> DatasetReport:
    """Scan `cfg.dataset.dir` with the config's caption extension, trigger and resolution."""
    opts = ScanOptions.from_config(cfg, **overrides)
    return scan(cfg.dataset.dir, opts)


__all__ = ["Finding", "ScanOptions", "scan", "scan_config"]

"""Write a training-ready copy of a dataset; the source folder is never modified.

Per image: EXIF orientation applied, converted to 8-bit RGB (transparency flattened
onto a chosen background), then centre-cropped to resolution² (`crop`), fitted and
padded (`pad`), or cropped to its SD1.5 aspect bucket (`bucket`). Captions are copied
beside each image (UTF-8, BOM stripped, optional trigger word put first). The folder
layout (kohya `N_name` folders) is kept.

Idempotent and resumable: `<out>/.loratui-prepare.json` records the settings and, per
source file, its size and mtime and what was written; a re-run skips what is up to date
and removes outputs of deleted sources. Every file is written atomically.

Never overwrites or deletes what it did not write: a folder holding other files and no
record is refused unless `force`; with it, or when files were added to a prepared copy
later, those files are left alone and a copy whose name would clash gets another name.
Only files the record lists (written, or about to be written when a run was killed) are
ever replaced or removed.
"""

from __future__ import annotations

import functools
import json
import os
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from loratui.atomic import atomic_write_bytes, atomic_write_text
from loratui.i18n import N_
from loratui.i18n import Message as M
from loratui.userfiles import shown

from . import captions as cap
from ._io import OLD_TEMP_IMAGE, TEMP_NAME, atomic_save_image, remove_stale_temps
from .buckets import choose_bucket
from .headers import read_small
from .scanner import PIL_MAX_PIXELS, ScanOptions, iter_parallel, scan

MANIFEST = ".loratui-prepare.json"
MANIFEST_VERSION = 1
MODES = ("crop", "pad", "bucket")
BROKEN = ("empty-file", "truncated", "corrupt", "unsupported-format", "decompression-bomb",
          "unreadable")


class PrepareError(Exception):
    """The copy cannot be made (bad folders, settings clash); str() says what to do."""


@dataclass
class PrepareOptions:
    mode: str = "crop"                       # crop | pad | bucket
    resolution: int = 512
    background: tuple[int, int, int] = (255, 255, 255)
    format: str = "png"                      # png | jpg
    quality: int = 95                        # jpg only
    caption_extension: str = ".txt"
    trigger_word: str = ""                   # put first in every caption of the copy
    min_bucket: int = 256
    max_bucket: int = 1024
    bucket_step: int = 64
    max_pixels: int = PIL_MAX_PIXELS
    workers: int | None = None               # None: all cores
    force: bool = False                      # rebuild when the settings changed

    def signature(self) -> dict[str, Any]:
        """The settings that change the output (stored in the manifest)."""
        keys = ("mode", "resolution", "background", "format", "quality", "caption_extension",
                "trigger_word", "min_bucket", "max_bucket", "bucket_step")
        return {k: (list(v) if isinstance(v, tuple) else v)
                for k, v in asdict(self).items() if k in keys}


@dataclass
class PrepareResult:
    out: str
    written: int = 0
    up_to_date: int = 0
    removed: int = 0
    failed: dict[str, str] = field(default_factory=dict)     # source path -> error
    excluded: dict[str, str] = field(default_factory=dict)   # broken in the scan -> why
    upscaled: list[str] = field(default_factory=list)
    captions_converted: dict[str, str] = field(default_factory=dict)
    captions_missing: list[str] = field(default_factory=list)
    sizes: dict[str, int] = field(default_factory=dict)      # "WxH" -> count (this run)
    kept: list[str] = field(default_factory=list)            # files in out loratui did not write
    elapsed_s: float = 0.0


# ------------------------------------------------------------------------ pixel work
def to_rgb(im, background: tuple[int, int, int]):
    """8-bit RGB; transparency composited onto `background`; 16-bit scaled, not clipped."""
    from PIL import Image

    if im.mode in ("I;16", "I;16B", "I;16L", "I"):
        import numpy as np

        arr = np.asarray(im).astype(np.float32)
        top = 65535.0 if im.mode.startswith("I;16") or arr.max() > 255 else 255.0
        im = Image.fromarray((arr * (255.0 / top)).clip(0, 255).astype(np.uint8), "L")
    if im.mode == "CMYK" and im.info.get("icc_profile"):
        try:
            import io

            from PIL import ImageCms

            src = ImageCms.ImageCmsProfile(io.BytesIO(im.info["icc_profile"]))
            im = ImageCms.profileToProfile(im, src, ImageCms.createProfile("sRGB"),
                                           outputMode="RGB")
        except Exception:
            im = im.convert("RGB")
    has_alpha = im.mode in ("RGBA", "LA", "PA", "La", "RGBa") or (
        im.mode == "P" and "transparency" in im.info)
    if has_alpha:
        rgba = im.convert("RGBA")
        canvas = Image.new("RGBA", rgba.size, (*background, 255))
        canvas.alpha_composite(rgba)
        return canvas.convert("RGB")
    return im if im.mode == "RGB" else im.convert("RGB")


def cover(im, size: tuple[int, int]):
    """Scale to cover `size`, centre-crop the overflow (no distortion)."""
    from PIL import Image

    tw, th = size
    w, h = im.size
    scale = max(tw / w, th / h)
    cw, ch = tw / scale, th / scale
    left, top = (w - cw) / 2, (h - ch) / 2
    return im.resize(size, Image.Resampling.LANCZOS, box=(left, top, left + cw, top + ch),
                     reducing_gap=3.0)


def contain(im, size: tuple[int, int], background: tuple[int, int, int]):
    """Scale to fit inside `size`, pad the rest with `background` (no distortion, no loss)."""
    from PIL import Image

    tw, th = size
    w, h = im.size
    scale = min(tw / w, th / h)
    new = (max(1, round(w * scale)), max(1, round(h * scale)))
    resized = im.resize(new, Image.Resampling.LANCZOS, reducing_gap=3.0)
    canvas = Image.new("RGB", size, background)
    canvas.paste(resized, ((tw - new[0]) // 2, (th - new[1]) // 2))
    return canvas


def target_size(w: int, h: int, s: dict) -> tuple[int, int]:
    if s["mode"] == "bucket":
        return choose_bucket(w, h, s["resolution"], s["min_bucket"], s["max_bucket"],
                             s["bucket_step"])
    return (s["resolution"], s["resolution"])


def _already_right(im, size: tuple[int, int], orientation: int, s: dict) -> bool:
    """The source is already what we would write: copy its bytes (no re-encoding loss)."""
    return (im.size == size and orientation in (0, 1) and im.mode == "RGB"
            and "transparency" not in im.info
            and im.format == ("JPEG" if s["format"] == "jpg" else "PNG"))


def _prepare_one(task: tuple) -> dict[str, Any]:
    """Convert one image (and its caption). Runs in a worker process."""
    import warnings

    from PIL import Image, ImageOps

    src, dst, cap_src, cap_dst, s = task
    res: dict[str, Any] = {"src": src}
    Image.MAX_IMAGE_PIXELS = s["max_pixels"]
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(src) as im:
                w0, h0 = im.size
                orientation = im.getexif().get(0x0112, 1)
                if orientation in (5, 6, 7, 8):
                    w0, h0 = h0, w0
                size = target_size(w0, h0, s)
                res["upscaled"] = min(w0 / size[0], h0 / size[1]) < 1
                if _already_right(im, size, orientation, s):
                    im.load()          # decodes fully: a damaged file is not passed on
                    with open(src, "rb") as f:
                        atomic_write_bytes(dst, f.read(), fsync=False, through_links=False)
                    res["size"], res["copied"] = f"{w0}x{h0}", True
                    res["caption"] = _copy_caption(cap_src, cap_dst, s["trigger_word"], res)
                    return res
                if im.format == "JPEG" and s["mode"] != "pad":
                    need = max(size)
                    im.draft("RGB", (need, need))
                im = ImageOps.exif_transpose(im)
                im = to_rgb(im, tuple(s["background"]))
                out = contain(im, size, tuple(s["background"])) if s["mode"] == "pad" \
                    else cover(im, size)
        if s["format"] == "jpg":
            atomic_save_image(out, dst, format="JPEG", quality=s["quality"], subsampling=0)
        else:
            atomic_save_image(out, dst, format="PNG", compress_level=4)
        res["size"] = f"{out.width}x{out.height}"
    except Exception as exc:
        res["error"] = str(exc) or type(exc).__name__
        return res
    res["caption"] = _copy_caption(cap_src, cap_dst, s["trigger_word"], res)
    return res


def _copy_caption(cap_src: str | None, cap_dst: str, trigger: str, res: dict) -> bool:
    text = None
    if cap_src:
        try:
            d = cap.decode_caption(read_small(cap_src))  # a pipe of that name: refused
            if d.text is None:
                text = d.guess
                res["converted"] = d.error
            else:
                text = d.text
        except OSError as exc:
            res["converted"] = M(N_("cannot read: {error}"), error=exc.strerror or str(exc))
    if text is None and not trigger:
        Path(cap_dst).unlink(missing_ok=True)
        return False
    text = " ".join((text or "").split())      # one line, single spaces
    if trigger:
        text = cap.add_prefix(text, trigger)
    atomic_write_text(cap_dst, text + "\n", fsync=False, through_links=False)
    return True


def _prepare_chunk(tasks: list[tuple]) -> list[dict[str, Any]]:
    return [_prepare_one(t) for t in tasks]


# -------------------------------------------------------------------------- planning
def _check_folders(src: Path, out: Path) -> None:
    if not src.is_dir():
        from loratui.userfiles import broken_link

        problem = broken_link(src) or (M(N_("not a folder (give the dataset folder)"))
                                       if src.exists() else M(N_("no such folder")))
        raise PrepareError(M(N_("{path}: {detail}"), path=shown(src), detail=problem))
    s, o = src.resolve(), out.resolve()
    if s == o:
        raise PrepareError(M(N_("--out {out} is the source folder: prepare never writes into "
                                "the source; choose a new folder"), out=out))
    if o.is_relative_to(s):
        raise PrepareError(M(N_("--out {out} is inside the source folder {src}: a later scan "
                                "would count the copies twice; choose a folder outside it"),
                             out=out, src=src))
    if out.exists() and not out.is_dir():
        raise PrepareError(M(N_("--out {out} exists and is not a folder"), out=out))


def _load_manifest(out: Path) -> dict[str, Any] | None:
    """The prepare record of `out`; None when there is none or it cannot be used (a damaged
    record names no file as loratui's, so nothing is then replaced or removed)."""
    path = out / MANIFEST
    if not path.exists():
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError, RecursionError):
        return None
    if not isinstance(data, dict) or data.get("version") != MANIFEST_VERSION or \
            not isinstance(data.get("settings"), dict) or not isinstance(data.get("files"), dict):
        return None
    data["files"] = {k: v for k, v in data["files"].items() if isinstance(v, dict)}
    return data


def _save_manifest(out: Path, manifest: dict[str, Any]) -> None:
    # ASCII escapes: a file name that is not valid UTF-8 round-trips exactly
    atomic_write_bytes(out / MANIFEST, json.dumps(manifest, indent=1).encode("ascii"),
                       through_links=False)


def _owned(out: Path, manifest: dict[str, Any] | None) -> set[str]:
    """Paths (relative to `out`) that the record says loratui wrote or was writing."""
    if not manifest:
        return set()
    names = [e.get(k) for e in manifest["files"].values() for k in ("out", "caption")]
    pending = manifest.get("pending")
    names += pending if isinstance(pending, list) else []
    return {n for n in names if isinstance(n, str) and _inside(out, n)}


def _inside(out: Path, rel: str) -> bool:
    """A relative path that stays inside `out` (a record never points outside)."""
    p = Path(rel)
    return bool(rel) and not p.is_absolute() and ".." not in p.parts


def _foreign(out: Path, owned: set[str]) -> list[str]:
    """Files under `out` that loratui did not write (relative paths, sorted)."""
    manifest_found = (out / MANIFEST).is_file()
    found = []
    for root, dirs, files in os.walk(out):
        # a linked folder is listed as one entry: a copy written through it would land
        # somewhere else, so nothing is written into it (see `_through_link`)
        files = files + [d for d in dirs if os.path.islink(os.path.join(root, d))]
        dirs[:] = sorted(d for d in dirs if d != ".loratui-backup"
                         and not os.path.islink(os.path.join(root, d)))
        for name in files:
            rel = Path(os.path.relpath(os.path.join(root, name), out)).as_posix()
            if rel != MANIFEST and rel not in owned and not TEMP_NAME.match(name) \
                    and not (manifest_found and OLD_TEMP_IMAGE.match(name)):
                found.append(rel)
    return sorted(found)


def _through_link(rel: str, out: Path) -> str | None:
    """The linked folder (relative to `out`) that `rel` would be written through, if any."""
    for parent in reversed(Path(rel).parents[:-1] if len(Path(rel).parents) > 1 else []):
        if (out / parent).is_symlink():
            return parent.as_posix()
    return None


def _out_names(records, fmt: str, caption_ext: str = ".txt",
               avoid: frozenset[str] | set[str] = frozenset()) -> dict[str, str]:
    """Source rel path -> output rel path. Stems shared by two images get a suffix, and so
    does a name whose image or caption would land on a file in `avoid` (not ours)."""
    ext = ".jpg" if fmt == "jpg" else ".png"
    names: dict[str, str] = {}
    taken: set[str] = set()

    def free(name: str) -> bool:
        cap = Path(name).with_suffix(caption_ext).as_posix()
        return name not in taken and name not in avoid and cap not in avoid

    for rec in records:
        p = Path(rec.path)
        candidates = [f"{p.stem}{ext}", f"{p.stem}-{p.suffix.lstrip('.').lower()}{ext}"]
        n = 2
        while not free(name := (p.parent / candidates[0]).as_posix()):
            candidates.pop(0)
            if not candidates:
                candidates.append(f"{p.stem}-{n}{ext}")
                n += 1
        taken.add(name)
        names[rec.path] = name
    return names


def prepare(src: Path | str, out: Path | str, options: PrepareOptions | None = None, *,
            progress: Callable[[int, int], None] | None = None, **overrides) -> PrepareResult:
    """Write the training copy of `src` into `out` (see the module doc)."""
    t0 = time.perf_counter()
    opts = options or PrepareOptions()
    for k, v in overrides.items():
        setattr(opts, k, v)
    if opts.mode not in MODES:
        raise PrepareError(M(N_("mode {mode!r}: use one of {modes}"), mode=opts.mode,
                             modes=", ".join(MODES)))
    if opts.format not in ("png", "jpg"):
        raise PrepareError(M(N_("format {format!r}: use png or jpg"), format=opts.format))
    src, out = Path(src).expanduser(), Path(out).expanduser()
    _check_folders(src, out)
    settings = opts.signature()
    manifest = _load_manifest(out)
    owned = _owned(out, manifest)
    foreign = _foreign(out, owned) if out.is_dir() else []
    if foreign and manifest is None and not opts.force:
        damaged = M(N_(" (its prepare record is damaged)")) if (out / MANIFEST).exists() else ""
        raise PrepareError(M.ngettext(
            "--out {out} already holds {n} file that loratui did not write{damaged}, e.g. "
            "{example}: choose a new or empty folder, or add --force to write beside them "
            "(they are never overwritten or deleted)",
            "--out {out} already holds {n} files that loratui did not write{damaged}, e.g. "
            "{example}: choose a new or empty folder, or add --force to write beside them "
            "(they are never overwritten or deleted)", len(foreign), out=out,
            example=shown(foreign[0]), damaged=damaged))
    stale: set[str] = set()     # our outputs of a rebuild, removed unless written again
    if manifest and manifest.get("settings") != settings:
        if not opts.force:
            changed = [k for k, v in settings.items() if manifest["settings"].get(k) != v]
            raise PrepareError(M(
                N_("{out} was prepared with other settings ({changed}): add --force to rebuild "
                   "it, or choose a new --out folder"), out=out, changed=", ".join(changed)))
        stale, manifest = owned, None
    elif manifest:   # outputs of a killed run that were not recorded as done
        stale = owned - {v for e in manifest["files"].values() for k in ("out", "caption")
                         if isinstance(v := e.get(k), str)}
        manifest.pop("pending", None)
    if manifest is None:
        manifest = {"version": MANIFEST_VERSION, "source": str(src.resolve()),
                    "settings": settings, "files": {}}
    out.mkdir(parents=True, exist_ok=True)
    # left by an interrupted earlier run (only where a record says the folder is ours: a
    # temp file in someone else's folder may be another program's write in progress)
    if (out / MANIFEST).is_file():
        remove_stale_temps(out, old_image_temps=True)

    report = scan(src, ScanOptions(caption_extension=opts.caption_extension,
                                   max_pixels=opts.max_pixels, workers=opts.workers))
    result = PrepareResult(out=str(out))
    usable = []
    for rec in report.images:
        broken = [k for k in rec.problems if k in BROKEN]
        if rec.ok or (broken == ["unsupported-format"] and rec.width):
            usable.append(rec)     # GIF/TIFF/...: Pillow reads it, the copy is PNG/JPEG
        else:
            result.excluded[rec.path] = ", ".join(broken) or "unusable"
    result.kept = foreign
    names = _out_names(usable, opts.format, opts.caption_extension, set(foreign))
    files: dict[str, Any] = manifest["files"]
    s_dict = {**settings, "max_pixels": opts.max_pixels}
    tasks = []
    for rec in usable:
        src_abs = src / rec.path
        try:
            st = src_abs.stat()
        except OSError as exc:     # gone since the scan
            result.failed[rec.path] = f"cannot read: {exc.strerror or exc}"
            continue
        cap_src = src / rec.caption_path if rec.caption_path else None
        cap_sig = _sig(cap_src)
        dst_rel = names[rec.path]
        link = _through_link(dst_rel, out)
        if link:
            result.failed[rec.path] = (f"{out / link} is a link to another folder, not written "
                                       "through; remove the link or choose another --out")
            continue
        cap_rel = str(Path(dst_rel).with_suffix(opts.caption_extension).as_posix())
        entry = files.get(rec.path)
        if (entry and entry.get("sig") == [st.st_size, st.st_mtime_ns]
                and entry.get("caption_sig") == cap_sig and entry.get("out") == dst_rel
                and (out / dst_rel).exists()):
            result.up_to_date += 1
            continue
        if entry and entry.get("out") != dst_rel:   # renamed: our old copy goes
            stale.update(v for k in ("out", "caption") if isinstance(v := entry.get(k), str)
                         and _inside(out, v))
        files.pop(rec.path, None)
        tasks.append((str(src_abs), str(out / dst_rel), str(cap_src) if cap_src else None,
                      str(out / cap_rel), s_dict,
                      (rec.path, dst_rel, cap_rel, [st.st_size, st.st_mtime_ns], cap_sig)))
    # outputs whose source is gone (or is now broken)
    live = {r.path for r in usable}
    for gone in [k for k in files if k not in live]:
        entry = files.pop(gone)
        stale.update(v for k in ("out", "caption") if isinstance(v := entry.get(k), str)
                     and _inside(out, v))
        result.removed += 1
    planned = {p for t in tasks for p in (t[5][1], t[5][2])}
    kept_outputs = {v for e in files.values() for k in ("out", "caption")
                    if isinstance(v := e.get(k), str)}
    for rel in sorted(stale - planned - kept_outputs):
        (out / rel).unlink(missing_ok=True)
    # Recorded before the first write: after a kill -9 the next run still knows them as ours.
    manifest["pending"] = sorted(planned)
    _save_manifest(out, manifest)

    total, done, last_save = len(tasks), 0, time.monotonic()
    worker_tasks = [t[:5] for t in tasks]
    meta = {t[0]: t[5] for t in tasks}
    if progress:
        progress(0, total)
    try:
        for part in iter_parallel(_prepare_chunk, worker_tasks, opts.workers, min_parallel=16):
            for res in part:
                rel, dst_rel, cap_rel, sig, cap_sig = meta[res["src"]]
                if "error" in res:
                    result.failed[rel] = res["error"]
                    continue
                result.written += 1
                result.sizes[res["size"]] = result.sizes.get(res["size"], 0) + 1
                if res.get("upscaled"):
                    result.upscaled.append(rel)
                if "converted" in res:
                    result.captions_converted[rel] = res["converted"]
                if not res.get("caption"):
                    result.captions_missing.append(rel)
                files[rel] = {"sig": sig, "caption_sig": cap_sig, "out": dst_rel,
                              "caption": cap_rel if res.get("caption") else "",
                              "size": res["size"]}
            done += len(part)
            if progress:
                progress(done, total)
            if time.monotonic() - last_save > 2.0:     # resumable after an interrupt
                _save_manifest(out, manifest)
                last_save = time.monotonic()
        manifest.pop("pending", None)
    finally:   # what is done stays done, even on Ctrl-C
        _save_manifest(out, manifest)
    result.elapsed_s = round(time.perf_counter() - t0, 3)
    return result


def _sig(path: Path | None) -> list[int] | None:
    if path is None:
        return None
    try:
        st = path.stat()
        return [st.st_size, st.st_mtime_ns]
    except OSError:
        return None


def is_prepared_copy(folder: Path | str) -> bool:
    """True for a folder written by `prepare` (its own files are edited without backups;
    `written_by_prepare` says which those are)."""
    return (Path(folder) / MANIFEST).is_file()


def written_by_prepare(folder: Path | str) -> frozenset[str]:
    """The files of `folder` (relative paths) that `prepare` wrote: edits may change them
    without a backup. Anything else in the folder is the user's."""
    folder = Path(folder)
    try:
        st = (folder / MANIFEST).stat()
    except OSError:
        return frozenset()
    return _written_cached(str(folder), st.st_mtime_ns, st.st_size)


@functools.lru_cache(maxsize=8)
def _written_cached(folder: str, mtime_ns: int, size: int) -> frozenset[str]:
    out = Path(folder)
    manifest = _load_manifest(out)
    done = {v for e in (manifest or {}).get("files", {}).values() for k in ("out", "caption")
            if isinstance(v := e.get(k), str) and _inside(out, v)}
    return frozenset(done)


__all__ = ["MODES", "PrepareError", "PrepareOptions", "PrepareResult", "is_prepared_copy",
           "prepare", "written_by_prepare"]


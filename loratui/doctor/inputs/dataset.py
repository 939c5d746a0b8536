"""Dataset folders: the small facts the doctor's dataset rules need.

This is a seam. `DatasetFacts` is what dataset rules read; `scan_folder` fills it with
simple size / caption / naming checks. The full scanner (`loratui.dataset.scan`) can
replace it: `set_dataset_provider(fn)` where `fn(path, caption_extension, layout)`
returns a `DatasetFacts` (or a subclass with more facts for its own rules). File names
are strings (os.path): pathlib costs start-up time.
"""

from __future__ import annotations

import os
import re
from collections import Counter
from collections.abc import Callable

from loratui.doctor.inputs import IMAGE_EXTS
from loratui.i18n import N_
from loratui.i18n import Message as M

CAPTION_EXTS = (".txt", ".caption", ".cap", ".tags")
JUNK_NAMES = (".ds_store", "thumbs.db", "desktop.ini")
MAX_IMAGES = 20000
# An image that cannot be used, as the doctor says it: the file, what is wrong (a parser's
# own words may stay English inside it), and the fix for that kind of problem.
BROKEN_IMAGE = N_("{file}: {problem}; re-export it or delete it")
BROKEN_IMAGE_BY_KIND = {"unreadable": N_("{file}: {problem}; check that it can be read (its "
                                         "permissions, the disk)")}


def broken_image(file: str, problem, kind: str = "corrupt") -> M:
    return M(BROKEN_IMAGE_BY_KIND.get(kind, BROKEN_IMAGE), file=file, problem=problem)


class ImageFact:
    __slots__ = ("caption", "caption_error", "caption_path", "error", "folder", "height",
                 "mode", "path", "width")

    def __init__(self, path: str, folder: str) -> None:
        self.path = path
        self.folder = folder
        self.width: int | None = None
        self.height: int | None = None
        self.mode: str | None = None
        self.error: str | None = None   # a sentence naming the file and the fix
        self.caption: str | None = None
        self.caption_path: str | None = None
        self.caption_error: str | None = None


class DatasetFacts:
    def __init__(self, root: str, caption_extension: str | None, layout: str) -> None:
        self.root = root
        self.caption_extension = caption_extension  # None = unknown, look for any
        self.layout = layout  # "kohya" (parent of N_name), "flat" or "auto"
        self.images: list[ImageFact] = []
        self.subdirs: list[tuple[str, int]] = []  # (name, image count)
        self.root_images = 0
        self.caption_exts: Counter = Counter()
        self.junk: list[str] = []
        self.double_ext: list[str] = []
        self.duplicate_stems: list[list[str]] = []
        self.truncated = False
        self.config = None  # ConfigFacts of the config that points here, when there is one


def _read_caption(img: ImageFact, exts: tuple[str, ...]) -> None:
    stem = os.path.splitext(img.path)[0]
    for ext in exts:
        p = stem + ext
        if os.path.isfile(p):
            img.caption_path = p
            try:
                with open(p, "rb") as fh:
                    raw = fh.read()
            except OSError as exc:
                img.caption_error = str(exc)
                return
            try:
                img.caption = raw.decode("utf-8-sig").strip()
            except UnicodeDecodeError as exc:
                img.caption_error = M(N_("byte {byte} at offset {offset}"),
                                      byte=f"{raw[exc.start]:#04x}", offset=exc.start)
                img.caption = raw.decode("utf-8", errors="replace").strip()
            return


def _suffix(name: str) -> str:
    return os.path.splitext(name)[1].lower()


def scan_folder(root: str, caption_extension: str | None = None, layout: str = "auto",
                read_sizes: bool = True) -> DatasetFacts:
    root = os.fspath(root)
    facts = DatasetFacts(root, caption_extension, layout)
    folders: list[tuple[str, str]] = [(root, "")]
    try:
        entries = sorted(os.scandir(root), key=lambda e: e.name)
    except OSError:
        return facts
    for e in entries:
        if e.is_dir() and not e.name.startswith("."):
            folders.append((e.path, e.name))
    exts = (caption_extension,) if caption_extension else CAPTION_EXTS
    Image = None
    if read_sizes:
        from PIL import Image
    for folder, label in folders:
        try:
            files = sorted(os.scandir(folder), key=lambda e: e.name)
        except OSError:
            continue
        stems: dict[str, list[str]] = {}
        count = 0
        for f in files:
            if not f.is_file():
                continue
            name = f.name
            low = name.lower()
            p = f.path
            if low in JUNK_NAMES or name.startswith("._"):
                facts.junk.append(p)
                continue
            stem, suffix = os.path.splitext(name)
            suffix = suffix.lower()
            if suffix in CAPTION_EXTS:
                facts.caption_exts[suffix] += 1
                if _suffix(stem) in CAPTION_EXTS:
                    facts.double_ext.append(p)
                continue
            if suffix not in IMAGE_EXTS:
                continue
            if _suffix(stem) in IMAGE_EXTS:
                facts.double_ext.append(p)
            stems.setdefault(stem, []).append(p)
            count += 1
            if len(facts.images) >= MAX_IMAGES:
                facts.truncated = True
                continue
            img = ImageFact(p, label)
            if Image is not None:
                try:
                    with Image.open(p) as im:
                        img.width, img.height = im.size
                        img.mode = im.mode
                        if im.mode == "P" and "transparency" in im.info:
                            img.mode = "PA"
                except Exception as exc:  # unreadable image: a finding, not a crash
                    img.error = broken_image(
                        os.path.relpath(p, root), M(N_("Pillow cannot open it ({error})"),
                                                    error=f"{type(exc).__name__}: {exc}"),
                        "unreadable" if isinstance(exc, PermissionError) else "corrupt")
            _read_caption(img, exts)
            facts.images.append(img)
        facts.duplicate_stems += [v for v in stems.values() if len(v) > 1]
        if label:
            facts.subdirs.append((label, count))
        else:
            facts.root_images = count
    return facts


_SCANNER = "scanner"   # default: the full scanner, loratui.dataset.doctor_rules.provide
_PROVIDER: Callable[..., DatasetFacts] | str | None = _SCANNER


def set_dataset_provider(fn: Callable[..., DatasetFacts] | None) -> None:
    """Let another scanner supply the facts (None restores the built-in scan)."""
    global _PROVIDER
    _PROVIDER = fn


def load_dataset(path: str, caption_extension: str | None = None, layout: str = "auto"
                 ) -> DatasetFacts:
    provider = _PROVIDER
    if provider == _SCANNER:
        from loratui.dataset.doctor_rules import provide as provider
    if provider is not None:
        return provider(path, caption_extension=caption_extension, layout=layout)
    return scan_folder(os.fspath(path), caption_extension, layout)


REPEATS_RE = re.compile(r"^\d+_\S")

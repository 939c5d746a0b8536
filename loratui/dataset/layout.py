"""Walk a dataset folder: find image, caption and junk files, and read its layout.

Layouts: flat (images in the folder), kohya (`N_name` repeat folders under the
folder, optionally a regularisation folder of the same shape), leaf (the folder is
itself an `N_name` folder). Folder links are followed once: a link back into the tree
is reported, never looped. Stdlib only.
"""

from __future__ import annotations

import os
import re

from loratui.i18n import Message as M

from .headers import ALL_IMAGE_EXTS, what_it_is
from .report import Finding, Record, Subset, make_finding

REPEAT_DIR = re.compile(r"^(\d+)_(.+)$")
JUNK_NAMES = {".ds_store", "thumbs.db", "desktop.ini", "ehthumbs.db"}
CAPTION_EXTS = (".txt", ".caption", ".tags")
# Our own bookkeeping: never part of a dataset.
OWN_NAMES = {".loratui-backup", ".loratui-prepare.json"}


class ImageFile(Record):
    """One image file found by the walk, with its subset."""

    _fields = ("abspath", "rel", "subset", "nested", "is_reg", "key")

    def __init__(self, abspath: str, rel: str, subset: str, nested: bool = False,
                 is_reg: bool = False, key: tuple[str, str] = ("", "")) -> None:
        self.abspath = abspath
        self.rel = rel  # relative to the scan root (posix separators)
        self.subset = subset  # subset path relative to the scan root ("." for the root)
        self.nested = nested  # below the subset folder itself
        self.is_reg = is_reg
        self.key = key  # (folder abspath, stem): pairs it with its caption


class Walk(Record):
    """The dataset walk's result: subsets, image files and layout findings."""

    _fields = ("root", "layout", "subsets", "images", "captions", "junk", "double_ext", "latent_caches",
               "findings", "broken_links", "loops", "unreadable", "not_files")

    def __init__(self, root: str, layout: str = "flat", subsets: list[Subset] | None = None,
                 images: list[ImageFile] | None = None,
                 captions: dict[tuple[str, str], dict[str, str]] | None = None,
                 junk: list[str] | None = None, double_ext: list[str] | None = None,
                 latent_caches: list[str] | None = None, findings: list[Finding] | None = None,
                 broken_links: list[str] | None = None, loops: list[str] | None = None,
                 unreadable: dict[str, str] | None = None,
                 not_files: dict[str, str] | None = None) -> None:
        self.root = root
        self.layout = layout
        self.subsets: list[Subset] = [] if subsets is None else subsets
        self.images: list[ImageFile] = [] if images is None else images
        # (folder abspath, stem) -> {extension (lower): abspath}
        self.captions: dict[tuple[str, str], dict[str, str]] = {} if captions is None else captions
        self.junk: list[str] = [] if junk is None else junk
        self.double_ext: list[str] = [] if double_ext is None else double_ext
        self.latent_caches: list[str] = [] if latent_caches is None else latent_caches
        self.findings: list[Finding] = [] if findings is None else findings
        self.broken_links: list[str] = [] if broken_links is None else broken_links
        self.loops: list[str] = [] if loops is None else loops
        self.unreadable: dict[str, str] = {} if unreadable is None else unreadable
        # relative path -> what it is ("a named pipe"): named like an image, not a file
        self.not_files: dict[str, str] = {} if not_files is None else not_files


def _splitext(name: str) -> tuple[str, str]:
    """`os.path.splitext` of a bare file name, without its cost in the common case."""
    dot = name.rfind(".")
    if dot > 0 and name[0] != ".":
        return name[:dot], name[dot:]
    return os.path.splitext(name)


def _rel(path: str, root: str) -> str:
    return os.path.relpath(path, root).replace(os.sep, "/")


class _Walker:
    def __init__(self, walk: Walk, caption_exts: tuple[str, ...]):
        self.walk = walk
        self.caption_exts = caption_exts
        self.seen: set[tuple[int, int]] = set()

    def enter(self, path: str) -> bool:
        """False (and a finding) when this folder was already visited through a link."""
        try:
            st = os.stat(path)
        except OSError as exc:
            self.walk.unreadable[_rel(path, self.walk.root)] = exc.strerror or str(exc)
            return False
        key = (st.st_dev, st.st_ino)
        if key in self.seen:
            self.walk.loops.append(_rel(path, self.walk.root))
            return False
        self.seen.add(key)
        return True

    def list_dir(self, path: str) -> tuple[list[os.DirEntry], list[os.DirEntry]]:
        """(sub-folders, files) of `path`, sorted by name; records what cannot be read."""
        dirs, files = [], []
        try:
            with os.scandir(path) as it:
                entries = sorted(it, key=lambda e: e.name)
        except OSError as exc:
            self.walk.unreadable[_rel(path, self.walk.root)] = exc.strerror or str(exc)
            return dirs, files
        for e in entries:
            if e.name in OWN_NAMES:
                continue
            try:
                if e.is_dir():
                    dirs.append(e)
                    self.not_a_file(e, None)
                elif e.is_file():
                    files.append(e)
                elif e.is_symlink():
                    self.walk.broken_links.append(_rel(e.path, self.walk.root))
                else:
                    self.not_a_file(e, what_it_is(e.stat().st_mode))
            except OSError as exc:   # e.g. ELOOP on a self-referencing link
                if e.is_symlink():
                    self.walk.broken_links.append(_rel(e.path, self.walk.root))
                else:
                    self.walk.unreadable[_rel(e.path, self.walk.root)] = str(exc)
        return dirs, files

    def not_a_file(self, e: os.DirEntry, what: str | None) -> None:
        """A folder (`what` None) named like a caption, or a pipe, socket or device named
        like an image or a caption: a caption of that name pairs with its image (which then
        has an unusable caption, not none, and the scan reports it with the image); one with
        no image of its name is no trainer's business. Images of that kind are `not-a-file`."""
        stem, ext = _splitext(e.name)
        ext = ext.lower()
        if ext in self.caption_exts:
            self.walk.captions.setdefault((os.path.dirname(e.path), stem), {})[ext] = e.path
            return
        if what is None or ext not in ALL_IMAGE_EXTS:
            return
        self.walk.not_files[_rel(e.path, self.walk.root)] = what

    def add_files(self, files: list[os.DirEntry], subset: str, nested: bool, is_reg: bool) -> int:
        n = 0
        if not files:
            return 0
        folder_abs = os.path.dirname(files[0].path)
        folder = _rel(folder_abs, self.walk.root)
        prefix = "" if folder == "." else folder + "/"
        for e in files:
            name = e.name
            lower = name.lower()
            rel = prefix + name
            if lower.startswith("._") or lower in JUNK_NAMES:
                self.walk.junk.append(rel)
                continue
            stem, ext = _splitext(name)
            ext = ext.lower()
            inner = _splitext(stem)[1].lower() if "." in stem else ""
            if ext in ALL_IMAGE_EXTS:
                if inner in ALL_IMAGE_EXTS:
                    self.walk.double_ext.append(rel)
                self.walk.images.append(ImageFile(e.path, rel, subset, nested, is_reg,
                                                  (folder_abs, stem)))
                n += 1
            elif ext in self.caption_exts:
                if inner in self.caption_exts:
                    self.walk.double_ext.append(rel)
                self.walk.captions.setdefault((folder_abs, stem), {})[ext] = e.path
            elif ext == ".npz":
                self.walk.latent_caches.append(rel)
        return n

    def subset_tree(self, path: str, subset: str, is_reg: bool, nested: bool = False) -> int:
        """Add every file under the subset folder `path`; returns the image count."""
        dirs, files = self.list_dir(path)
        n = self.add_files(files, subset, nested, is_reg)
        for d in dirs:
            if d.name.startswith(".") or not self.enter(d.path):
                continue
            n += self.subset_tree(d.path, subset, is_reg, nested=True)
        return n


def _contains_images(path: str, limit: int = 20000) -> bool:
    """Whether the folder holds images (hidden folders such as .git are not searched)."""
    if os.path.basename(path).startswith("."):
        return False
    seen = 0
    for _dirpath, dirs, files in os.walk(path):
        dirs[:] = [d for d in dirs if not d.startswith(".")]
        if any(os.path.splitext(f)[1].lower() in ALL_IMAGE_EXTS for f in files):
            return True
        seen += len(files) + len(dirs)
        if seen > limit:
            break
    return False


def _scan_root(w: _Walker, root: str, *, is_reg: bool, default_repeats: int) -> str:
    """Add the subsets under `root`; returns the layout name."""
    walk = w.walk
    if not w.enter(root):
        return "flat"
    dirs, files = w.list_dir(root)
    extra = ("D03",) if is_reg else ()
    repeat_dirs = [d for d in dirs if REPEAT_DIR.match(d.name)]
    root_name = os.path.basename(os.path.normpath(root))
    if repeat_dirs:
        loose = w.add_files(files, _rel(root, walk.root), False, is_reg)
        if loose:
            paths = [i.rel for i in walk.images[-loose:]]
            walk.findings.append(make_finding(
                "images-in-parent", M.ngettext(
                    "{n} image directly in {folder}/, beside the `N_name` folders",
                    "{n} images directly in {folder}/, beside the `N_name` folders", loose,
                    folder=root_name), paths, extra_refs=extra))
        bad, stray = [], []
        for d in dirs:
            match = REPEAT_DIR.match(d.name)
            rel = _rel(d.path, walk.root)
            if match:
                if not w.enter(d.path):
                    continue
                n = w.subset_tree(d.path, rel, is_reg)
                walk.subsets.append(Subset(rel, int(match.group(1)) or 1, match.group(2),
                                           is_reg, n))
            elif _contains_images(d.path):
                bad.append(rel)
                if w.enter(d.path):
                    n = w.subset_tree(d.path, rel, is_reg)
                    walk.subsets.append(Subset(rel, default_repeats, d.name, is_reg, n))
            elif not d.name.startswith(".loratui"):
                stray.append(rel)
        if bad:
            walk.findings.append(make_finding(
                "bad-folder-name", M.ngettext(
                    "{n} image folder not named `<repeats>_<name>`: {folders}",
                    "{n} image folders not named `<repeats>_<name>`: {folders}", len(bad),
                    folders=", ".join(bad[:5])), bad, extra_refs=extra))
        if stray:
            walk.findings.append(make_finding(
                "stray-folder", M.ngettext(
                    "{n} folder without images among the `N_name` folders: {folders}",
                    "{n} folders without images among the `N_name` folders: {folders}",
                    len(stray), folders=", ".join(stray[:5])), stray, extra_refs=extra))
        return "kohya"
    match = REPEAT_DIR.match(root_name)
    before = len(walk.images)
    n = w.add_files(files, _rel(root, walk.root), False, is_reg)
    for d in dirs:
        if d.name.startswith(".") or not w.enter(d.path):
            continue
        n += w.subset_tree(d.path, _rel(root, walk.root), is_reg, nested=True)
    repeats = int(match.group(1)) if match else default_repeats
    walk.subsets.append(Subset(_rel(root, walk.root), max(1, repeats),
                               match.group(2) if match else root_name, is_reg, n))
    if match and n:
        walk.findings.append(make_finding(
            "leaf-folder", M.ngettext("{folder}/ is itself a repeat folder ({n} repeat)",
                                      "{folder}/ is itself a repeat folder ({n} repeats)",
                                      repeats, folder=root_name),
            [_rel(root, walk.root)], extra_refs=extra))
        return "leaf"
    nested = [i.rel for i in walk.images[before:] if i.nested]
    if nested:
        walk.findings.append(make_finding(
            "nested-images", M.ngettext("{n} image in sub-folders of {folder}/",
                                        "{n} images in sub-folders of {folder}/", len(nested),
                                        folder=root_name),
            nested, extra_refs=extra))
    return "flat"


def walk_dataset(root: str | os.PathLike, *, reg_dir: str | os.PathLike | None = None,
                 caption_extension: str = ".txt", default_repeats: int = 1) -> Walk:
    """Find every file of the dataset at `root` (and of `reg_dir` when given)."""
    root = os.path.normpath(os.path.expanduser(os.fspath(root)))  # str: no pathlib import
    walk = Walk(root=root)
    caption_exts = tuple(dict.fromkeys((caption_extension.lower(), *CAPTION_EXTS)))
    walker = _Walker(walk, caption_exts)
    walk.layout = _scan_root(walker, str(root), is_reg=False, default_repeats=default_repeats)
    if reg_dir:
        _scan_root(walker, os.path.normpath(os.path.expanduser(os.fspath(reg_dir))), is_reg=True,
                   default_repeats=default_repeats)
    # nested images inside kohya subsets
    nested = [i.rel for i in walk.images if i.nested and walk.layout != "flat"]
    if nested:
        walk.findings.append(make_finding(
            "nested-images", M.ngettext("{n} image in sub-folders of `N_name` folders",
                                        "{n} images in sub-folders of `N_name` folders",
                                        len(nested)),
            nested))
    return walk

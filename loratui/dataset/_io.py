"""Atomic image saves (through `loratui.atomic`) and backups; stdlib only."""

from __future__ import annotations

import os
import re
import shutil
import time
from pathlib import Path

from loratui.atomic import atomic_write

BACKUP_DIR = ".loratui-backup"
# `.<target name>.<mkstemp's 8 characters>.tmp`: our temp files. Hidden and not named like an
# image or a caption, so that no scanner (ours, kohya's glob, a UI's file list) takes a
# partial file left by a kill -9 for data.
TEMP_NAME = re.compile(r"^\..+\.[a-z0-9_]{8}\.tmp$")
# Older versions kept the image suffix on their temp files (`.<stem>.<8 chars>.png`).
OLD_TEMP_IMAGE = re.compile(r"^\..+\.[a-z0-9_]{8}\.(png|jpg|jpeg|webp)$")


def atomic_save_image(image, path: Path | str, **save_kw) -> None:
    """`image.save()` through a temp file + rename, so a crash never leaves half an image."""
    path = Path(path)
    if "format" not in save_kw:  # the temp file's name says nothing of the format
        from PIL import Image

        save_kw["format"] = Image.registered_extensions().get(path.suffix.lower())
    # The temp file ends in .tmp, not in the image's suffix: a partial file left by a kill -9
    # is never taken for an image (and `remove_stale_temps` cleans it up).
    atomic_write(path, lambda fh: image.save(fh, **save_kw), fsync=False,
                 through_links=False)     # images are written into loratui's own copy


def remove_stale_temps(folder: Path | str, *, old_image_temps: bool = False) -> list[Path]:
    """Delete the temp files an interrupted write (kill -9, power loss) left under `folder`;
    with `old_image_temps`, also those of older versions that kept an image suffix (only
    for folders loratui wrote, such as a prepared copy). Returns what was removed."""
    removed = []
    for dirpath, dirnames, filenames in os.walk(folder):
        dirnames[:] = [d for d in dirnames if d != BACKUP_DIR]
        for name in filenames:
            if TEMP_NAME.match(name) or (old_image_temps and OLD_TEMP_IMAGE.match(name)):
                path = Path(dirpath) / name
                try:
                    path.unlink()
                except OSError:
                    continue
                removed.append(path)
    return removed


class Backup:
    """Copies files into `<root>/.loratui-backup/<timestamp>/` before they are changed.
    `skip`: paths relative to `root` that loratui wrote itself (a prepared copy's outputs),
    changed without a copy."""

    def __init__(self, root: Path | str, skip: frozenset[str] | set[str] = frozenset()):
        self.root = Path(root)
        self.skip = skip
        self.dir = self.root / BACKUP_DIR / time.strftime("%Y%m%d-%H%M%S")
        self.saved: list[Path] = []
        self._reserved = False

    def _reserve(self) -> None:
        """Create this backup's own folder; a second backup within the same second gets
        `-2`, `-3` …, so it never writes into (or over) an earlier one."""
        (self.root / BACKUP_DIR).mkdir(parents=True, exist_ok=True)
        stamp, n = self.dir.name, 1
        while True:
            try:
                self.dir.mkdir()
                break
            except FileExistsError:
                n += 1
                self.dir = self.dir.with_name(f"{stamp}-{n}")
        self._reserved = True

    def save(self, path: Path | str) -> None:
        path = Path(path)
        if not path.exists() or path.relative_to(self.root).as_posix() in self.skip:
            return
        if not self._reserved:
            self._reserve()
        target = self.dir / path.relative_to(self.root)
        target.parent.mkdir(parents=True, exist_ok=True)
        if not target.exists():
            try:
                shutil.copy2(path, target)
            except BaseException:    # a full disk: no half copy taken later for a backup
                target.unlink(missing_ok=True)
                raise
            self.saved.append(target)

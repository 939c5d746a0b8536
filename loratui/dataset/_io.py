"""Atomic writes and backups (stdlib only; the config package would pull in pydantic)."""

from __future__ import annotations

import os
import re
import shutil
import tempfile
import time
from pathlib import Path

BACKUP_DIR = ".loratui-backup"
# `.<target name>.<mkstemp's 8 characters>.tmp`: our temp files. Hidden and not named like an
# image or a caption, so that no scanner (ours, kohya's glob, a UI's file list) takes a
# partial file left by a kill -9 for data.
TEMP_NAME = re.compile(r"^\..+\.[a-z0-9_]{8}\.tmp$")
# Older versions kept the image suffix on their temp files (`.<stem>.<8 chars>.png`).
OLD_TEMP_IMAGE = re.compile(r"^\..+\.[a-z0-9_]{8}\.(png|jpg|jpeg|webp)$")


def _umask() -> int:
    mask = os.umask(0o22)
    os.umask(mask)
    return mask


_FILE_MODE = 0o666 & ~_umask()    # what open() would give; mkstemp alone gives 0600


def atomic_write_bytes(path: Path | str, data: bytes, *, fsync: bool = True) -> None:
    """Write through a temp file in the same folder, then rename over the target."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.chmod(tmp, _FILE_MODE)
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            if fsync:
                fh.flush()
                os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def atomic_write_text(path: Path | str, text: str, *, fsync: bool = True) -> None:
    atomic_write_bytes(path, text.encode("utf-8"), fsync=fsync)


def atomic_save_image(image, path: Path | str, **save_kw) -> None:
    """`image.save()` through a temp file + rename, so a crash never leaves half an image."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.chmod(tmp, _FILE_MODE)
        with os.fdopen(fd, "wb") as fh:
            image.save(fh, **save_kw)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


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
    """Copies files into `<root>/.loratui-backup/<timestamp>/` before they are changed."""

    def __init__(self, root: Path | str):
        self.root = Path(root)
        self.dir = self.root / BACKUP_DIR / time.strftime("%Y%m%d-%H%M%S")
        self.saved: list[Path] = []

    def save(self, path: Path | str) -> None:
        path = Path(path)
        if not path.exists():
            return
        target = self.dir / path.relative_to(self.root)
        target.parent.mkdir(parents=True, exist_ok=True)
        if not target.exists():
            shutil.copy2(path, target)
            self.saved.append(target)

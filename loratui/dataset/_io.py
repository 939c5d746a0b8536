"""Atomic writes and backups (stdlib only; the config package would pull in pydantic)."""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from pathlib import Path

BACKUP_DIR = ".loratui-backup"


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
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.stem}.", suffix=path.suffix)
    try:
        os.chmod(tmp, _FILE_MODE)
        with os.fdopen(fd, "wb") as fh:
            image.save(fh, **save_kw)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


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
            shutil.copy2(path, target)
            self.saved.append(target)

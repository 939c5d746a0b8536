"""Atomic image saves (through `loratui.atomic`) and backups; stdlib only."""

from __future__ import annotations

import shutil
import time
from pathlib import Path

from loratui.atomic import atomic_write

BACKUP_DIR = ".loratui-backup"


def atomic_save_image(image, path: Path | str, **save_kw) -> None:
    """`image.save()` through a temp file + rename, so a crash never leaves half an image."""
    path = Path(path)
    atomic_write(path, lambda fh: image.save(fh, **save_kw), fsync=False, suffix=path.suffix)


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

"""Atomic file writes: a temp file in the target's folder, fsync, then one rename.

The one helper every writer uses (config, export, dataset, deploy, fixer, run folder), so
a crash or a full disk never leaves half a file, and the result has the permissions a
plain `open(path, "w")` would give: a new file follows the umask (0644 under umask 022,
so a WebUI running as another user can read a LoRA), an existing file keeps its mode.
`tempfile.mkstemp` alone creates 0600 files; that is what this module corrects.

Standard library only: imported by the light paths (doctor, dataset scan, `--help`).
"""

from __future__ import annotations

import errno
import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

COPY_CHUNK = 1024 * 1024


def current_umask() -> int:
    """The process umask, read without changing it where the OS allows (Linux ≥ 4.7)."""
    try:
        with open("/proc/self/status", encoding="ascii", errors="replace") as fh:
            for line in fh:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    mask = os.umask(0o022)  # elsewhere: set and restore (the only portable way)
    os.umask(mask)
    return mask


def file_mode(path: Path | str) -> int:
    """The mode `open(path, "w")` would leave: the existing file's, else 0666 minus umask."""
    try:
        return os.stat(path).st_mode & 0o7777
    except OSError:
        return 0o666 & ~current_umask()


def follow_umask(paths) -> None:
    """Give files a library wrote as 0600 (safetensors' `save_file`) the mode a plain
    `open()` would have: 0666 minus the umask."""
    mode = 0o666 & ~current_umask()
    for path in paths:
        os.chmod(path, mode)


def atomic_write(path: Path | str, write: Callable[[BinaryIO], object], *,
                 fsync: bool = True, suffix: str = ".tmp", through_links: bool = True) -> Path:
    """Call `write(fh)` on a temp file beside `path`, then rename it over `path`.

    `suffix`: the temp file's ending (an image writer may infer the format from it).
    A symbolic link is written through: its target gets the new contents and the link
    stays a link (a `loratui.toml` linked from a dotfiles repository keeps pointing there).
    `through_links=False` replaces the link itself: for files in a folder loratui owns (a
    prepared copy), where a link must never lead a write back into the user's source."""
    path = _through_links(Path(path)) if through_links else Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    mode = file_mode(path)
    try:
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=suffix)
    except OSError as exc:
        raise _naming(exc, path) from None
    try:
        with os.fdopen(fd, "wb") as fh:
            os.fchmod(fh.fileno(), mode)
            write(fh)
            if fsync:
                fh.flush()
                os.fsync(fh.fileno())
        os.replace(tmp, path)
    except OSError as exc:
        Path(tmp).unlink(missing_ok=True)
        if exc.filename not in (None, tmp):
            raise
        raise _naming(exc, path) from None
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def _through_links(path: Path) -> Path:
    """The file a write to `path` should replace: `path` itself, or the file its chain of
    links ends at (created there when the last link dangles). A loop is an OSError."""
    if not path.is_symlink():
        return path
    try:
        return Path(os.path.realpath(path, strict=True))
    except FileNotFoundError:     # dangling: write where the link points, if that folder is
        target = Path(os.path.realpath(path))  # there (not into an unmounted drive's place)
        if not target.parent.is_dir():
            raise FileNotFoundError(errno.ENOENT, f"a symbolic link to {target}, whose folder "
                                    "does not exist", str(path)) from None
        return target
    except OSError as exc:        # ELOOP
        raise OSError(exc.errno, exc.strerror, str(path)) from None


def _naming(exc: OSError, path: Path) -> OSError:
    """`exc` about the file the user asked for, not its hidden temporary twin (a full
    disk, a folder without write permission): messages name what the user knows."""
    if exc.errno is None:
        return exc
    return OSError(exc.errno, exc.strerror, str(path)).with_traceback(exc.__traceback__)


def atomic_write_bytes(path: Path | str, data: bytes, *, fsync: bool = True,
                       through_links: bool = True) -> Path:
    return atomic_write(path, lambda fh: fh.write(data), fsync=fsync,
                        through_links=through_links)


def atomic_write_text(path: Path | str, text: str, *, fsync: bool = True,
                      through_links: bool = True) -> Path:
    """UTF-8, line endings exactly as in `text` (no translation on any OS)."""
    return atomic_write_bytes(path, text.encode("utf-8"), fsync=fsync,
                              through_links=through_links)


def atomic_copy(src: Path | str, dst: Path | str, *, fsync: bool = True) -> Path:
    """Copy `src` to `dst` atomically; a new `dst` follows the umask, not `src`'s mode."""
    with open(src, "rb") as inp:
        return atomic_write(dst, lambda out: shutil.copyfileobj(inp, out, COPY_CHUNK),
                            fsync=fsync)

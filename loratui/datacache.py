"""loratui's own TOML data (rule files, family tables), parsed once and kept as `marshal`.

Importing a TOML parser and parsing ~150 rules with it costs more than the whole start-up
budget of `loratui doctor`. So what loratui parses from
its shipped data is cached in the user cache folder (`$LORATUI_CACHE_DIR`,
`$XDG_CACHE_HOME/loratui` or `~/.cache/loratui`; `LORATUI_NO_CACHE=1` turns it off), keyed by
the files' absolute paths (not resolved: `realpath`'s system calls cost start-up time),
sizes and mtimes and the Python version. The cache holds plain data in
`marshal` form: built in, so reading it imports nothing. `marshal` is not meant for
untrusted input, so the file is ours only: written atomically here, with a magic number and
a CRC-32 of the payload checked before it is read; anything else is ignored and the files
are parsed again. Never used for the user's own files.
"""

from __future__ import annotations

import marshal
import os
import sys
import zlib

TYPE_CHECKING = False  # not `typing.TYPE_CHECKING`: typing costs start-up time
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

CACHE_VERSION = 6
CACHE_MAGIC = b"LTRC"
KEEP_CACHES = 4  # per kind: a checkout and a venv used in turn each keep theirs


def toml_loads(text: str) -> dict[str, Any]:
    """Parsed TOML; the parser is imported only when some TOML is really parsed."""
    from loratui.tomlparser import loads

    return loads(text)


def cached(kind: str, files: list[str], build: Callable[[list[str]], Any]) -> Any:
    """`build(files)`, from the cache when the files have not changed since it was
    written. `kind` names the cache file (`rules`, `family-sdxl`)."""
    path = _cache_path(kind, files)
    if path is not None:
        found = _read(path)
        if found is not None:
            return found[0]
    value = build(files)
    if path is not None:
        _write(path, kind, value)
    return value


def _cache_path(kind: str, files: list[str]) -> str | None:
    if os.environ.get("LORATUI_NO_CACHE"):
        return None
    base = os.environ.get("LORATUI_CACHE_DIR") or os.environ.get("XDG_CACHE_HOME") or \
        os.path.join(os.path.expanduser("~"), ".cache")
    key = [f"{CACHE_VERSION}|{sys.version_info[:2]}|{marshal.version}|{kind}"]
    try:
        for f in files:
            st = os.stat(f)
            key.append(f"{os.path.abspath(f)}|{st.st_size}|{st.st_mtime_ns}")
    except OSError:
        return None  # a missing file: let `build` report it
    digest = zlib.crc32("\n".join(key).encode()) ^ (len(files) << 24)
    return os.path.join(base, "loratui", f"{kind}-{digest & 0xFFFFFFFF:08x}.cache")


def _read(path: str) -> tuple[Any] | None:
    """(value,) from a cache file of ours, or None."""
    try:
        with open(path, "rb") as fh:
            blob = fh.read()
    except OSError:
        return None
    payload = blob[8:]
    if blob[:4] != CACHE_MAGIC or int.from_bytes(blob[4:8], "little") != zlib.crc32(payload):
        return None
    try:
        value = marshal.loads(payload)
    except (ValueError, EOFError, TypeError):
        return None
    return (value,)


def _write(path: str, kind: str, value: Any) -> None:
    import contextlib

    folder = os.path.dirname(path)
    try:
        payload = marshal.dumps(value)
    except ValueError:  # a value marshal cannot hold (a TOML date): no cache
        return
    try:
        os.makedirs(folder, exist_ok=True)
        tmp = os.path.join(folder, f".{os.path.basename(path)}.{os.getpid()}.tmp")
        with open(tmp, "wb") as fh:
            fh.write(CACHE_MAGIC + zlib.crc32(payload).to_bytes(4, "little") + payload)
        os.replace(tmp, path)
        old = sorted((os.path.join(folder, n) for n in os.listdir(folder)
                      if n.startswith(kind + "-") and n.endswith(".cache")),
                     key=os.path.getmtime, reverse=True)
        for stale in old[KEEP_CACHES:]:
            with contextlib.suppress(OSError):
                os.unlink(stale)
    except OSError:
        pass  # a read-only home is fine: the files are parsed every time

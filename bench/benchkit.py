"""What several bench scripts share: the `loratui` command as the user runs it, and whether
loratui's modules have current bytecode (without it, every run compiles them, and the
figures include that)."""

from __future__ import annotations

import importlib.util
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def loratui_command() -> list[str]:
    """The console script `pip install` put beside this Python, else `python -m loratui`."""
    script = Path(sys.executable).with_name("loratui")
    return [str(script)] if script.is_file() else [sys.executable, "-m", "loratui"]


def has_bytecode() -> bool:
    """Whether every loratui module has bytecode at least as new as its source."""
    for path in (ROOT / "loratui").rglob("*.py"):
        cached = importlib.util.cache_from_source(str(path))
        if not os.path.exists(cached) or os.stat(cached).st_mtime < os.stat(path).st_mtime:
            return False
    return True


def instructions(cmd: list[str], env=None) -> int | None:
    """User-space instructions `cmd` executes (its main process), counted by valgrind's
    callgrind; None without valgrind. Unlike wall time it hardly moves when other work
    shares the cores, so two versions compare on a busy machine; it leaves out system
    time and the cost of the process's memory, so it is a guide, not the target."""
    valgrind = shutil.which("valgrind")
    if valgrind is None:
        return None
    out = subprocess.run([valgrind, "--tool=callgrind", "--callgrind-out-file=/dev/null", *cmd],
                         env=env, capture_output=True, text=True)
    found = re.search(r"Collected : (\d+)", out.stderr)
    return int(found.group(1)) if found else None

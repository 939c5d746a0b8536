"""Find the process writing a log or an event folder: the one holding the file open
(a redirected stdout, a TensorBoard writer), else one naming it on its command line."""

from __future__ import annotations

import os

TRAINER_HINTS = ("python", "accelerate", "torchrun")


def writer_pid(path: str) -> int | None:
    import psutil

    target = os.path.realpath(path)
    me = os.getpid()
    named = None
    for proc in psutil.process_iter(["pid", "name", "cmdline"]):
        try:
            info = proc.info
            if info["pid"] == me:
                continue
            cmdline = info.get("cmdline") or []
            words = " ".join(cmdline).lower() + " " + (info.get("name") or "").lower()
            if not any(h in words for h in TRAINER_HINTS):
                continue
            for f in proc.open_files():
                if f.path == target or f.path.startswith(target + os.sep):
                    return info["pid"]
            if named is None and any(target in os.path.realpath(a.split("=", 1)[-1])
                                     for a in cmdline[1:] if os.sep in a):
                named = info["pid"]
        except (psutil.Error, OSError):
            continue
    return named

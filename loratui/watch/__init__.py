"""Watch a training run that any trainer writes: loratui, sd-scripts, kohya_ss,
OneTrainer or ai-toolkit, from its log (a file being written or a pipe), its TensorBoard
event folder, or its output folder.

    source = open_source("train.log")          # or "-", a folder, runs/<name>-<time>/
    rows, events, state, samples = source.poll()
    source.snapshot()                          # what `loratui watch --once --json` prints
    source.close()

`poll()` has the shape of `loratui.ui.runwatch.RunPoller.poll()`, so a view that follows a
loratui run follows any trainer's:

- rows: new metric rows with metrics.jsonl's keys: step, max_steps, epoch, loss,
  loss_avg (the smoothed loss: sd-scripts' avr_loss, OneTrainer's smooth loss),
  lr_unet, lr_te, sec_per_step, eta_s, time (ISO 8601, UTC).
- events: new events with events.jsonl's keys: type (also under "event"), time,
  message; a live doctor finding is {"type": "finding", "code", "severity", "title",
  "message", "fix", "refs"}; also "restarted", "truncated", "rotated", "finished",
  "failed".
- state: state (running / finished / failed / stalled / unknown), step, max_steps,
  epoch, trainer, source, pid (when known), error (when failed).
- samples: every sample image so far when a new one appeared, else None.

Core only: no UI, no torch; tensorboard is imported only when an event folder is watched.
"""

from __future__ import annotations

import os
from typing import Any

TRAINERS = ("sd-scripts", "kohya_ss", "onetrainer", "ai-toolkit", "loratui", "unknown")
STATES = ("running", "finished", "failed", "stalled", "unknown")

__all__ = ["STATES", "TRAINERS", "WatchError", "WatchSource", "open_source"]


class WatchError(Exception):
    """A PATH that cannot be watched; the message is one line naming it and the fix."""


def open_source(path: str | os.PathLike, *, trainer: str | None = None):
    """The source behind PATH: a loratui run folder, a log file, "-" (stdin), a
    TensorBoard event folder (sd-scripts' --logging_dir) or a OneTrainer / ai-toolkit /
    sd-scripts output folder. Raises WatchError for anything else."""
    from loratui.watch.detect import open_path

    return open_path(path, trainer=trainer)


def __getattr__(name: str):
    if name == "WatchSource":
        from loratui.watch.source import WatchSource

        return WatchSource
    raise AttributeError(f"module 'loratui.watch' has no attribute {name!r}")


def shown(finding: dict[str, Any], field: str) -> str:
    """A finding's `title`, `message` or `fix` in the current language, English where the
    event has no text in it (recorded in English, or by an older loratui)."""
    from loratui.i18n import language

    return str(finding.get(f"{field}_{language()}") or finding.get(field) or "")


def finding_text(finding: dict[str, Any], field: str):
    """A finding's field as English text that knows its translations (`title_zh` ...),
    for a message built from it and shown later (`Message(..., title=...)`)."""
    from loratui.i18n import Translated

    prefix = f"{field}_"
    return Translated(str(finding.get(field) or ""),
                      {k[len(prefix):]: str(v) for k, v in finding.items()
                       if k.startswith(prefix) and isinstance(v, str)})

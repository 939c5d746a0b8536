"""`WatchSource`: what every watched run gives a view, whatever wrote it.

A subclass reads its input (`_read`: new rows and events); the base keeps the run's
state, totals and findings, reports sample images, and tells a run that stopped from one
that ended (the writer's process gone, a pipe closed, no output for a long time).
"""

from __future__ import annotations

import os
import time
from collections import deque
from pathlib import Path
from typing import Any

from loratui.i18n import N_, Message
from loratui.watch import finding_text
from loratui.watch.progress import utc_now

IMAGE_EXTS = (".png", ".jpg", ".jpeg", ".webp")
STALL_SECONDS = 600.0  # no new output for this long (and 20 steps' time): stalled
MAX_FINDINGS = 50


def event(kind: str, message: str = "", **fields: Any) -> dict[str, Any]:
    return {"type": kind, "event": kind, "time": utc_now(), "message": message, **fields}


class SampleFolders:
    """Image files in a trainer's sample folders; reports the list when one appears."""

    def __init__(self, folders: list[Path]) -> None:
        self.folders = folders
        self.seen: list[str] = []
        self._mtimes: dict[Path, float] = {}

    def poll(self) -> list[str] | None:
        changed = False
        for folder in self.folders:
            try:
                mtime = folder.stat().st_mtime
            except OSError:
                continue
            if self._mtimes.get(folder) != mtime:
                self._mtimes[folder] = mtime
                changed = True
        if not changed:
            return None
        images = []
        for folder in self.folders:
            try:
                images += [str(p) for p in folder.iterdir()
                           if p.suffix.lower() in IMAGE_EXTS and p.is_file()]
            except OSError:
                continue
        images.sort(key=_mtime)
        if images == self.seen:
            return None
        self.seen = images
        return images


def _mtime(path: str) -> tuple[float, str]:
    try:
        return os.stat(path).st_mtime, path
    except OSError:
        return 0.0, path


class WatchSource:
    """Base of every source. `poll()` → (rows, events, state, new samples or None)."""

    def __init__(self, source: str, trainer: str, *, sample_dirs: list[Path] | None = None
                 ) -> None:
        self.source = source
        self.trainer = trainer
        self.pid: int | None = None
        self.state_name = "unknown"
        self.error: str | None = None
        self.step = 0
        self.max_steps: int | None = None
        self.epoch: Any = None
        self.last_row: dict[str, Any] = {}
        self.totals = {"rows": 0, "events": 0, "findings": 0, "samples": 0, "restarts": 0}
        self.findings: deque[dict[str, Any]] = deque(maxlen=MAX_FINDINGS)
        self.recent_events: deque[dict[str, Any]] = deque(maxlen=20)
        self.samples = SampleFolders(sample_dirs or [])
        self.ended = False  # the writer is gone (pipe closed, process exited)
        self.finished_seen = False
        self._last_output = time.monotonic()

    # -- what subclasses provide
    def _read(self) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        raise NotImplementedError

    def _writer_alive(self) -> bool | None:
        """Whether the writing process runs (None: not known)."""
        if self.pid is None:
            return None
        from loratui.runs import pid_alive

        return pid_alive(self.pid)

    # -- the interface
    @property
    def name(self) -> str:
        """A short name for a title: the log's or the folder's name, "stdin" for a pipe."""
        return "stdin" if self.source == "-" else Path(self.source).name

    def poll(self) -> tuple[list[dict], list[dict], dict[str, Any], list[str] | None]:
        rows, events = self._read()
        now = time.monotonic()
        if rows or events:
            self._last_output = now
        for row in rows:
            self._account_row(row)
        for ev in events:
            self._account_event(ev)
        events += self._judge_end(now)
        samples = self.samples.poll()
        if samples is not None:
            self.totals["samples"] = len(samples)
        return rows, events, self.state(), samples

    def state(self) -> dict[str, Any]:
        st: dict[str, Any] = {"state": self.state_name, "step": self.step,
                              "max_steps": self.max_steps, "epoch": self.epoch,
                              "trainer": self.trainer, "source": self.source}
        if self.pid is not None:
            st["pid"] = self.pid
        if self.error:
            st["error"] = self.error
        return st

    def snapshot(self) -> dict[str, Any]:
        """The run as it stands: state, last metrics, totals, findings so far."""
        return {**self.state(), "last": dict(self.last_row), "totals": dict(self.totals),
                "findings": list(self.findings), "events": list(self.recent_events),
                "samples": self.samples.seen[-5:]}

    def close(self) -> None:
        pass

    # -- bookkeeping
    def _account_row(self, row: dict[str, Any]) -> None:
        self.totals["rows"] += 1
        self.last_row = row
        if isinstance(row.get("step"), int):
            self.step = row["step"]
        if row.get("max_steps"):
            self.max_steps = row["max_steps"]
        if row.get("epoch") is not None:
            self.epoch = row["epoch"]
        if self.state_name in ("unknown", "stalled"):
            self.state_name = "running"
        if self.max_steps and self.step >= self.max_steps:
            self.state_name = "finished"
            self.finished_seen = True

    def _account_event(self, ev: dict[str, Any]) -> None:
        self.totals["events"] += 1
        self.recent_events.append(ev)
        kind = ev.get("type")
        if kind == "finding":
            self.totals["findings"] += 1
            self.findings.append(ev)
        elif kind == "restarted":
            self.totals["restarts"] += 1
            self.state_name, self.error, self.finished_seen = "running", None, False
            self.step = 0
        elif kind == "finished":
            self.state_name, self.finished_seen = "finished", True
        elif kind == "failed":
            self.state_name = "failed"
            self.error = ev.get("message") or self.error

    def _judge_end(self, now: float) -> list[dict[str, Any]]:
        """finished / failed once the writer is gone; stalled after a long silence."""
        if self.state_name in ("finished", "failed"):
            return []
        alive = self._writer_alive()
        if self.ended or alive is False:
            return self._ended_event()
        silent = self._silent_for(now)
        step_time = self.last_row.get("sec_per_step") or 0
        if self.state_name == "running" and silent > max(STALL_SECONDS, 20 * step_time):
            self.state_name = "stalled"
        return []

    def _silent_for(self, now: float) -> float:
        """Seconds since the writer last wrote."""
        return now - self._last_output

    def _ended_event(self) -> dict[str, Any]:
        if self.finished_seen or (self.max_steps and self.step >= self.max_steps):
            self.state_name = "finished"
            ev = event("finished", Message(N_("the run ended at step {step}"), step=self.step))
        else:
            errors = [f for f in self.findings if f.get("severity") == "error"]
            self.state_name = "failed"
            self.error = Message(N_("{code}: {title}"), code=errors[-1]["code"],
                                 title=finding_text(errors[-1], "title")) if errors else \
                Message(N_("the trainer stopped at step {step} of {total}"), step=self.step,
                        total=self.max_steps or "?")
            ev = event("failed", self.error)
        self.recent_events.append(ev)
        self.totals["events"] += 1
        return [ev]

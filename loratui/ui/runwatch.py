"""Follow a run folder from a worker thread and turn rows into what the Train screen shows.

The run folder is the trainer's (see `loratui.runs`); this only reads it. Speed and
ETA come from the trainer's own fields when it writes them, else from the rows' times.
"""

from __future__ import annotations

import time
from collections import deque
from typing import Any, Protocol

from loratui.watch.progress import iso_seconds


def row_time(row: dict[str, Any]) -> float | None:
    value = row.get("time", row.get("t"))
    if isinstance(value, (int, float)):
        return float(value)
    return iso_seconds(value)


class Speed:
    """Steps per second over a sliding window of recent metric rows."""

    def __init__(self, window: int = 30) -> None:
        self.points: deque[tuple[int, float]] = deque(maxlen=window)
        self.step_seconds: deque[float] = deque(maxlen=window)
        self.reported_eta: float | None = None
        self.reported_at_step = 0

    def add(self, row: dict[str, Any]) -> None:
        sec = row.get("sec_per_step")
        if isinstance(sec, (int, float)) and sec > 0:
            self.step_seconds.append(float(sec))
        if isinstance(row.get("eta_s"), (int, float)):
            self.reported_eta = float(row["eta_s"])
            self.reported_at_step = row.get("step", 0)
        t = row_time(row)
        if t is not None and isinstance(row.get("step"), int):
            self.points.append((row["step"], t))

    @property
    def per_second(self) -> float | None:
        """Optimiser steps per second: the trainer's own step times, else row timestamps."""
        if self.step_seconds:
            return len(self.step_seconds) / sum(self.step_seconds)
        if len(self.points) < 2:
            return None
        (s0, t0), (s1, t1) = self.points[0], self.points[-1]
        return (s1 - s0) / (t1 - t0) if t1 > t0 and s1 > s0 else None

    def eta_seconds(self, step: int, max_steps: int | None) -> float | None:
        if max_steps and step >= max_steps:
            return None
        if self.reported_eta is not None and self.reported_at_step == step:
            return self.reported_eta  # the trainer's ETA (counts checkpoints and samples)
        rate = self.per_second
        if not rate or not max_steps or step >= max_steps:
            return None
        return (max_steps - step) / rate


Poll = tuple[list[dict[str, Any]], list[dict[str, Any]], dict[str, Any], "list[str] | None"]


class RunSource(Protocol):
    """A source of run updates: what the Train step's live view follows. A loratui run
    folder (`RunPoller`) or any trainer's run (`loratui.watch.open_source`)."""

    def poll(self) -> Poll:
        """(new metric rows, new events, state, every sample so far if a new one appeared)."""
        ...

    def close(self) -> None: ...


class RunPoller:
    """One poll of a run folder: rows appended since the last poll, state, samples."""

    def __init__(self, run) -> None:  # run: loratui.runs.RunFolder
        self.run = run
        self.metrics = run.follow_metrics()
        self.events = run.follow_events()
        self.last_samples: list[str] = []

    def close(self) -> None:
        pass

    def poll(self) -> tuple[list[dict], list[dict], dict[str, Any], list[str] | None]:
        metrics = self.metrics.poll()
        events = self.events.poll()
        state = self.run.state()
        samples = [str(p) for p in self.run.samples()]
        new_samples = samples if samples != self.last_samples else None
        self.last_samples = samples
        return metrics, events, state, new_samples


def open_run_source(path, *, foreign: bool = False) -> RunSource:
    """What the live view follows at `path`: a run folder loratui's trainer writes, or
    (`foreign`) another trainer's log, TensorBoard folder or output folder. Raises
    loratui.watch.WatchError (one line naming the path and the fix) for a foreign path
    that cannot be watched."""
    if foreign:
        from loratui.watch import open_source

        return open_source(path)
    from loratui.runs import RunFolder

    return RunPoller(RunFolder(path))


def sleep_until(deadline: float) -> None:
    time.sleep(max(0.0, deadline - time.monotonic()))

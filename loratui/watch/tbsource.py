"""TensorBoard event files (sd-scripts' --logging_dir, OneTrainer's workspace
`tensorboard/`, ai-toolkit's log folder, loratui's own trackers), read as they grow
through tensorboard's own `EventFileLoader`: each `Load()` goes on from the record the
last one reached, so memory stays bounded whatever the file's size.

Scalars of one step arrive as several events; a step's row is given out once a later
step shows up, or when a poll found nothing new after it.
"""

from __future__ import annotations

import os
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from loratui.i18n import N_, Message
from loratui.watch.doctor_live import LiveDoctor
from loratui.watch.source import WatchSource, event

EVENT_MARK = "tfevents"
MAX_DEPTH = 3
MAX_EVENTS_PER_POLL = 200_000

# tag → metric key, in order of preference (the first tag present wins)
TAGS: dict[str, tuple[str, ...]] = {
    "loss": ("loss/current", "loss/train_step", "loss", "train/loss", "train_loss",
             "loss/loss"),
    "loss_avg": ("loss/average", "smooth_loss/train_step", "loss_avg", "train/loss_avg"),
    "lr_unet": ("lr/unet", "lr_unet", "lr", "learning_rate", "lr/transformer", "lr/group0",
                "lr/unet_lr"),
    "lr_te": ("lr/textencoder", "lr_te", "lr/te1", "lr/text_encoder", "lr/textencoder1"),
    "epoch": ("epoch",),
}
EPOCH_LOSS_TAG = "loss/epoch"
EPOCH_STEPS_UNKNOWN = 1 << 30  # its epochs are whole: the step-count check passes
TAG_KEY = {tag: key for key, tags in TAGS.items() for tag in tags}
# a tag only one trainer writes; loratui's runs write sd-scripts' tags and are told by
# their run folder (state.json) instead
TRAINER_TAGS = (("loss/current", "sd-scripts"), ("loss/train_step", "onetrainer"))


def event_files(folder: Path) -> list[Path]:
    """Event files under `folder` (a few levels deep), oldest first."""
    found = []
    base = len(folder.parts)
    for dirpath, dirnames, filenames in os.walk(folder):
        if len(Path(dirpath).parts) - base >= MAX_DEPTH:
            dirnames[:] = []
        dirnames[:] = [d for d in dirnames if not d.startswith(".") or d == ".tensorboard"]
        found += [Path(dirpath) / f for f in filenames if EVENT_MARK in f]
    return sorted(found, key=lambda p: (_mtime(p), str(p)))


def _mtime(p: Path) -> float:
    try:
        return p.stat().st_mtime
    except OSError:
        return 0.0


def _scalar(value) -> float | None:
    if value.HasField("simple_value"):
        return float(value.simple_value)
    if value.HasField("tensor"):
        from tensorboard.util import tensor_util

        try:
            arr = tensor_util.make_ndarray(value.tensor)
        except Exception:
            return None
        return float(arr.reshape(-1)[0]) if arr.size == 1 else None
    return None


class TensorBoardSource(WatchSource):
    def __init__(self, folder: Path, *, trainer: str | None = None,
                 sample_dirs: list[Path] | None = None) -> None:
        super().__init__(str(folder), trainer or "unknown", sample_dirs=sample_dirs)
        try:
            from tensorboard.backend.event_processing.event_file_loader import (
                EventFileLoader,
            )
        except ImportError as exc:
            from loratui.watch import WatchError

            raise WatchError(Message(N_("{path}: reading TensorBoard event files needs the "
                                        "`tensorboard` package ({error}); pip install "
                                        "tensorboard"), path=str(folder), error=str(exc))) \
                from exc
        self._loader_cls = EventFileLoader
        self.folder = folder
        self.doctor = LiveDoctor(folder.name)
        self.loaders: dict[Path, Any] = {}
        self.run_dir: Path | None = None
        self.pending: dict[int, dict[str, Any]] = {}
        self.tags_seen: set[str] = set()
        self._last_wall: tuple[int, float] | None = None
        self._emitted = -1
        self._first_wall: float | None = None
        self.epoch_means: list[tuple[int, float, int]] = []
        self._epochs_judged = 0
        self._guessed = trainer is not None
        self._pid_checked = False

    def _read(self):
        events: list[dict[str, Any]] = []
        files = event_files(self.folder)
        if files:
            newest_dir = files[-1].parent
            if self.run_dir is not None and newest_dir != self.run_dir:
                events.append(event("restarted", Message(N_("a new run writes {folder}"),
                                                         folder=str(newest_dir))))
                self.loaders.clear()
                self.pending.clear()
                self.doctor.reset()
                self._last_wall = None
                self._emitted = -1
                self._first_wall = None
                self.epoch_means, self._epochs_judged = [], 0
            self.run_dir = newest_dir
        got = 0
        for path in [f for f in files if f.parent == self.run_dir]:
            loader = self.loaders.get(path)
            if loader is None:
                loader = self.loaders[path] = self._loader_cls(str(path))
            try:
                for ev in loader.Load():
                    got += 1
                    self._take(ev)
                    if got >= MAX_EVENTS_PER_POLL:
                        break
            except Exception as exc:  # a damaged record: report it, keep following
                events.append(event("warning", Message(
                    N_("{file}: a damaged record was skipped ({error}); following the file "
                       "on"), file=path.name, error=f"{type(exc).__name__}: {exc}")))
        rows = self._rows(flush_last=got == 0)
        events += self.doctor.check_rows(rows)
        events += self._judge_epochs()
        if not self._pid_checked and self.run_dir is not None:
            self._pid_checked = True
            from loratui.watch.procs import writer_pid

            self.pid = writer_pid(str(self.run_dir))
        return rows, events

    def _take(self, ev) -> None:
        if not ev.HasField("summary"):
            return
        for value in ev.summary.value:
            key = TAG_KEY.get(value.tag)
            self.tags_seen.add(value.tag)
            if value.tag == EPOCH_LOSS_TAG:  # sd-scripts: the epoch's mean loss, x = epoch
                number = _scalar(value)
                if number is not None:
                    self.epoch_means.append((int(ev.step), number, EPOCH_STEPS_UNKNOWN))
            if key is None:
                continue
            number = _scalar(value)
            if number is None:
                continue
            row = self.pending.setdefault(int(ev.step), {"step": int(ev.step)})
            row["_wall"] = ev.wall_time
            # the first tag of the list wins over later ones for the same key
            rank = TAGS[key].index(value.tag)
            if rank <= row.get(f"_{key}_rank", rank):
                row[key] = int(number) if key == "epoch" else number
                row[f"_{key}_rank"] = rank
        if not self._guessed:
            for tag, name in TRAINER_TAGS:
                if tag in self.tags_seen:
                    self.trainer, self._guessed = name, True
                    break

    def _judge_epochs(self) -> list[dict[str, Any]]:
        """LG168 on sd-scripts' `loss/epoch` scalars, as each epoch's arrives."""
        if len(self.epoch_means) == self._epochs_judged:
            return []
        self._epochs_judged = len(self.epoch_means)
        return self.doctor.check_epoch_means(self.epoch_means)

    def _rows(self, *, flush_last: bool) -> list[dict[str, Any]]:
        if not self.pending:
            return []
        steps = sorted(self.pending)
        ready = steps if flush_last else steps[:-1]
        rows = []
        for step in ready:
            raw = self.pending.pop(step)
            if step <= self._emitted:
                continue  # the rest of a step given out already
            self._emitted = step
            wall = raw.get("_wall")
            row = {k: v for k, v in raw.items() if not k.startswith("_")}
            if wall is not None:
                row["time"] = datetime.fromtimestamp(wall, timezone.utc).replace(
                    microsecond=0).isoformat()
                if self._last_wall is not None and step > self._last_wall[0]:
                    row["sec_per_step"] = round((wall - self._last_wall[1]) /
                                                (step - self._last_wall[0]), 4)
                self._last_wall = (step, wall)
                if self._first_wall is None:
                    self._first_wall = wall
                row["elapsed_s"] = round(wall - self._first_wall, 3)  # since the first step
            rows.append(row)
        return rows

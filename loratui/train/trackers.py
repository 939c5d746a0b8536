"""A run's experiment trackers (accelerate's): TensorBoard event files in the run folder,
Weights & Biases when installed and asked for (`training.log_with`).

Scalars carry sd-scripts' tags (`loss/current`, `loss/average`, `lr/unet`, `lr/textencoder`,
`loss/epoch`), so dashboards and `tensorboard --logdir` made for kohya runs read loratui's
the same way. metrics.jsonl stays the run's own record; a tracker that cannot start or
write is named once in train.log and the run goes on without it.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from loratui.i18n import N_, Message
from loratui.runs import TENSORBOARD_DIR

log = logging.getLogger("loratui.train")

WANDB_PROJECT = "loratui"


def tracker_names(log_with: str) -> list[str]:
    """accelerate tracker names for a `training.log_with` value ("all": every one installed)."""
    if log_with == "none":
        return []
    if log_with != "all":
        return [log_with]
    from accelerate.tracking import get_available_trackers

    names = [str(t) for t in get_available_trackers()]
    return ["tensorboard"] + [n for n in names if n != "tensorboard"]


def step_scalars(row: dict[str, Any], *, text_encoder: bool) -> dict[str, float]:
    """One metrics.jsonl row as sd-scripts' step scalars."""
    values = {"loss/current": row["loss"], "loss/average": row["loss_avg"],
              "lr/unet": row["lr_unet"]}
    if text_encoder:
        values["lr/textencoder"] = row["lr_te"]
    return {k: float(v) for k, v in values.items()}


def epoch_scalars(losses: list[float]) -> dict[str, float]:
    """An epoch's step losses as sd-scripts' epoch scalar: their mean, logged at step = the
    epoch's number."""
    return {"loss/epoch": float(sum(losses) / len(losses))}


class RunTrackers:
    """The trackers of one run, on the main process (others keep an empty set)."""

    def __init__(self, accel, folder: Path | None, log_with: str) -> None:
        self.accel = accel
        self.folder = folder
        self.names = tracker_names(log_with) if folder is not None else []
        self.warnings: list[str] = []

    def start(self, *, step: int, run_name: str, config: dict[str, Any]) -> list[str]:
        """Start each tracker; returns what could not start (one line each). A resumed run
        passes the step it resumes from: TensorBoard then drops the older session's points
        after it (the steps a crash lost), as metrics.jsonl does."""
        from accelerate.utils import is_wandb_available

        for name in self.names:
            if name == "wandb" and not is_wandb_available():
                self.warnings.append(Message(N_("training.log_with asks for wandb, which is not "
                                                "installed (pip install wandb); not logging to "
                                                "wandb")))
                continue
            try:
                tracker = self._make(name, step=step, run_name=run_name)
                tracker.start()
                if name == "wandb":
                    tracker.store_init_configuration(config)
            except Exception as exc:  # a tracker never stops training
                error = f"{type(exc).__name__}: {exc}"
                self.warnings.append(Message(N_(
                    "{name} tracker did not start: {error} (run `wandb login`, or set "
                    "WANDB_MODE=offline)") if name == "wandb" else
                    N_("{name} tracker did not start: {error}"), name=name, error=error))
                continue
            self.accel.trackers.append(tracker)
        return self.warnings

    def _make(self, name: str, *, step: int, run_name: str):
        from accelerate.tracking import LOGGER_TYPE_TO_CLASS, TensorBoardTracker, WandBTracker

        if name == "tensorboard":  # <run>/tensorboard/events.out.tfevents.*
            kwargs = {"purge_step": step + 1} if step else {}
            return TensorBoardTracker(TENSORBOARD_DIR, str(self.folder), **kwargs)
        if name == "wandb":
            return WandBTracker(WANDB_PROJECT, name=run_name, dir=str(self.folder))
        cls = LOGGER_TYPE_TO_CLASS[name]
        if cls.requires_logging_directory:
            return cls(WANDB_PROJECT, str(self.folder))
        return cls(WANDB_PROJECT)

    @property
    def active(self) -> bool:
        return bool(self.accel.trackers)

    def log(self, values: dict[str, float], step: int) -> None:
        if not self.accel.trackers:
            return
        try:
            self.accel.log(values, step=step)
        except Exception as exc:  # e.g. a full disk under tensorboard/: metrics.jsonl goes on
            log.warning("trackers stopped logging: %s: %s", type(exc).__name__, exc)
            self.finish()

    def finish(self) -> None:
        trackers, self.accel.trackers = list(self.accel.trackers), []
        for tracker in trackers:
            try:
                tracker.finish()
            except Exception as exc:
                log.warning("%s tracker did not close cleanly: %s", tracker.name, exc)

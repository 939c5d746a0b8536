"""The training engine. Importing this package is cheap; torch loads inside the functions.

Public API:
- `train(cfg, run_dir=None, *, resume=False) -> TrainResult` — train in this process.
- `start(config, *, resume=None, detach=True, gpus=None) -> StartResult` — `config` is a
  loratui.toml path or a RunConfig; create (or reopen, with `resume=RUN`) a run folder after
  the pre-flight checks and start the trainer in its own session (`detach=False`: here;
  `gpus=N`: N processes through accelerate's launcher).
- `export_lora(path, unet, text_encoder, cfg, info)` — kohya-format export (train.export).
- run folders are read with `loratui.runs.RunFolder`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from loratui.train.launch import StartResult
    from loratui.train.loop import TrainResult

__all__ = ["start", "train"]


def train(cfg, run_dir=None, *, resume: bool = False, faults=None,
          log_to_stderr: bool = True) -> TrainResult:
    from loratui.train.launch import train_in_process

    return train_in_process(cfg, run_dir, resume=resume, faults=faults,
                            log_to_stderr=log_to_stderr)


def start(config_path, *, resume=None, detach: bool = True, gpus: int | None = None
          ) -> StartResult:
    from loratui.train.launch import start as _start

    return _start(config_path, resume=resume, detach=detach, gpus=gpus)

"""The trainer process: `python -m loratui.train.worker RUN_DIR [--resume]`.

`loratui train` starts it detached (`--gpus N`: N of them through `accelerate launch`); by
hand: `accelerate launch --multi_gpu --num_processes 2 -m loratui.train.worker RUN_DIR`
(RUN_DIR from `loratui train CONFIG --no-start`). Exit: 0 finished, 130 interrupted, 1 failed;
in a group of several processes an interrupted run exits 0, so that accelerate's launcher
does not report a stop as a crash (state.json says `interrupted`).
"""

from __future__ import annotations

import argparse
import logging
import os
import sys


def main(argv: list[str] | None = None) -> int:
    from loratui.train.quiet import set_quiet_env

    set_quiet_env()
    parser = argparse.ArgumentParser(prog="python -m loratui.train.worker")
    parser.add_argument("run_dir")
    parser.add_argument("--resume", action="store_true")
    parser.add_argument("--detached", action="store_true",
                        help="stdout/stderr already go to train.log")
    args = parser.parse_args(argv)

    from loratui.config import ConfigError, load_config
    from loratui.train.loop import Trainer
    from loratui.train.runfolder import RunWriter, setup_logging

    run = RunWriter(args.run_dir)
    rank = int(os.environ.get("RANK", os.environ.get("LOCAL_RANK", "0")) or 0)
    run.enabled = rank == 0
    try:
        cfg = load_config(run.config_path)
    except ConfigError as exc:
        print(f"loratui worker: {exc}", file=sys.stderr)
        return 2
    resume = args.resume
    run.set_state("starting", pid=os.getpid(), ranks=None)  # a group records its own
    # Detached: stderr is train.log already, so log there once.
    # the other processes of a group log only their problems, marked with their rank
    setup_logging(run, to_file=not args.detached and rank == 0, to_stderr=True,
                  level=logging.INFO if rank == 0 else logging.WARNING,
                  prefix=f"rank {rank}: " if rank else "")
    run.write_environment({"mode": "detached" if args.detached else "worker"})
    result = Trainer(cfg, run, resume=resume).train()
    in_group = int(os.environ.get("WORLD_SIZE", "1") or 1) > 1
    if in_group and result.state == "interrupted":
        return 0
    return result.exit_code


if __name__ == "__main__":
    sys.exit(main())

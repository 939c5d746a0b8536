"""`loratui train`: start a training run (detached by default) or resume one."""

from __future__ import annotations

import argparse
import sys

from loratui.cli import add_command
from loratui.i18n import N_, _, error_text, localized

EPILOG = N_("""\
examples:
  loratui train loratui.toml                  start in the background, print the run folder
  loratui train loratui.toml --foreground     train in this terminal (Ctrl-C saves and stops)
  loratui train --resume runs/my_lora-20260101-120000
  loratui train loratui.toml --resume my_lora  newest run whose name starts with my_lora
  loratui attach runs/my_lora-20260101-120000  follow a run live
several GPUs (one process each, through accelerate's launcher; runs/attach/stop as usual):
  loratui train loratui.toml --gpus 2
several machines (the run folder and dataset at the same paths on each):
  RUN=$(loratui train loratui.toml --no-start)
  accelerate launch --multi_gpu --num_machines 2 --machine_rank 0 --num_processes 4 \
    --main_process_ip 10.0.0.1 --main_process_port 29500 -m loratui.train.worker "$RUN"
  (and --machine_rank 1 on the second machine; see docs/training.md)
""")


def register(sub: argparse._SubParsersAction) -> None:
    p = add_command(sub, "train", help=_("train a LoRA from a loratui.toml (detached by default)"),
                    epilog=EPILOG)
    p.add_argument("config", nargs="?", metavar="CONFIG", help=_("the run config (loratui.toml)"))
    p.add_argument("--resume", metavar="RUN",
                   help=_("continue an interrupted run (folder path or name) from its saved state"))
    p.add_argument("--foreground", action="store_true",
                   help=_("train in this process instead of a detached one"))
    p.add_argument("--gpus", type=int, metavar="N",
                   help=_("train with N processes (one per GPU) through accelerate's launcher; "
                        "a resumed run keeps the number it was trained with"))
    p.add_argument("--no-start", action="store_true",
                   help=_("only check and create the run folder, print it (for accelerate launch)"))
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from loratui.config import ConfigError
    from loratui.train.safety import PreflightError

    if not args.config and not args.resume:
        print("loratui train: " + _("give a CONFIG (loratui.toml) or --resume RUN"),
              file=sys.stderr)
        return 2
    try:
        if args.no_start:
            from loratui.train.launch import prepare_run

            _config, run_folder = prepare_run(args.config, resume=args.resume)
            print(run_folder.path)
            return 0
        from loratui.train import start

        result = start(args.config, resume=args.resume, detach=not args.foreground,
                       gpus=args.gpus)
    except ConfigError as exc:
        print(f"loratui train: {error_text(exc)}", file=sys.stderr)
        return 2
    except PreflightError as exc:
        if len(exc.problems) == 1:
            print("loratui train: " + _("cannot start: {problem}").format(
                problem=localized(exc.problems[0])), file=sys.stderr)
            return 2
        print("loratui train: " + _("cannot start:"), file=sys.stderr)
        for problem in exc.problems:
            print(f"  - {localized(problem)}", file=sys.stderr)
        return 2
    run_dir = result.run.path
    if result.exit_code is not None:
        st = result.run.state()
        print(run_dir)
        if st.get("lora"):
            print(f"LoRA: {st['lora']}", file=sys.stderr)
        elif st.get("error"):
            print(f"loratui train: {localized(st['error'])}", file=sys.stderr)
        return result.exit_code
    print(run_dir)
    print(_("training in the background (pid {pid}); it keeps going if this terminal closes.")
          .format(pid=result.pid) + "\n  " +
          _("follow: {command}").format(command=f"loratui attach {run_dir}") + "\n  " +
          _("stop:   {command}  (saves a resumable state)").format(
              command=f"loratui stop {run_dir}"), file=sys.stderr)
    return 0

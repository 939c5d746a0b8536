"""`loratui watch PATH`: follow any trainer's run live, with the doctor watching it."""

from __future__ import annotations

import argparse
import math
import sys

from loratui.cli import add_command
from loratui.i18n import N_, _, error_text

WATCH_EPILOG = N_("""\
PATH is one of:
  a training log being written     kohya_ss / sd-scripts / OneTrainer / ai-toolkit output
  -                                stdin: `accelerate launch train_network.py ... 2>&1 |
                                   loratui watch -`
  a TensorBoard log folder         sd-scripts' --logging_dir, OneTrainer's tensorboard/
  a trainer's output folder        its log (or TensorBoard events) and sample/ images
  a loratui run folder             runs/<name>-<time>/

The doctor's log rules run as the output arrives: NaN loss, out of memory, steps
becoming many times slower, a killed process, a loss not falling over an epoch, an
output folder that cannot be written. Each finding shows once, with its code and fix.

examples:
  loratui watch train.log                          live view (Ctrl-C stops watching)
  kohya_gui ... 2>&1 | tee train.log | loratui watch -
  loratui watch ~/lora/logs                        sd-scripts' --logging_dir
  loratui watch train.log --once --json            the state now, for scripts
  loratui watch train.log --notify 'curl -d "$LORATUI_TITLE: $LORATUI_MESSAGE" ntfy.sh/my-runs'
""")


def register(sub: argparse._SubParsersAction) -> None:
    p = add_command(sub, "watch", help=_("follow any trainer's run live, with the doctor "
                    "watching (logs, pipes, TensorBoard folders)"), epilog=WATCH_EPILOG)
    p.add_argument("path", metavar="PATH", help=_("log file, - for stdin, TensorBoard folder, "
                   "output folder or loratui run folder"))
    p.add_argument("--trainer", choices=("sd-scripts", "kohya_ss", "onetrainer",
                                         "ai-toolkit", "loratui"),
                   help=_("the trainer writing PATH (default: recognised from its output)"))
    p.add_argument("--once", action="store_true",
                   help=_("read what is there now, print the state and exit"))
    p.add_argument("--json", action="store_true", help=_("with --once: print JSON"))
    p.add_argument("--notify", metavar="CMD",
                   help=_("shell command run on each error finding; the finding is in "
                   "$LORATUI_CODE, $LORATUI_TITLE, $LORATUI_MESSAGE, $LORATUI_FIX, "
                   "$LORATUI_SOURCE"))
    p.add_argument("--interval", type=float, default=0.5, help=_("refresh seconds (default 0.5)"))
    p.set_defaults(run=run_watch)


def run_watch(args: argparse.Namespace) -> int:
    from loratui.watch import WatchError, open_source

    if args.path == "-" and sys.stdin is not None and sys.stdin.isatty():
        # nothing is piped in: it would wait, silent, for output typed at the keyboard
        print("loratui watch: " + _("- reads a trainer's output from stdin, and stdin is "
                                    "this terminal; pipe it in (`accelerate launch "
                                    "train_network.py ... 2>&1 | loratui watch -`) or "
                                    "give its log file"), file=sys.stderr)
        return 2
    try:
        source = open_source(args.path, trainer=args.trainer)
    except WatchError as exc:
        print(f"loratui watch: {error_text(exc)}", file=sys.stderr)
        return 2
    notifier = None
    if args.notify:
        from loratui.watch.notify import Notifier

        notifier = Notifier(args.notify, source.source)
    try:
        if args.once:
            return _once(source, as_json=args.json, notifier=notifier)
        from loratui.cli.watch_view import follow

        return follow(source, interval=max(0.05, args.interval), notifier=notifier)
    finally:
        source.close()
        if notifier is not None:
            notifier.wait()


def catch_up(source, notifier=None, *, max_polls: int = 10_000):
    """Poll until what is written now is read (stdin: until it closes)."""
    import time

    for _poll in range(max_polls):
        rows, events, _state, _samples = source.poll()
        if notifier is not None:
            notifier(events)
        tail = getattr(source, "tail", None)
        if tail is None or (not tail.pending and getattr(tail, "closed", True)):
            if not rows and not events:
                break
        elif source.source == "-" and not tail.pending:
            time.sleep(0.05)  # a pipe still open: wait for more or its end
    return source.state()


def _once(source, *, as_json: bool, notifier) -> int:
    catch_up(source, notifier)
    snap = source.snapshot()
    from loratui.watch import registry

    registry.record(snap)
    if as_json:
        from loratui.userfiles import dumps_json

        print(dumps_json(_plain(snap), indent=2))  # a file name's undecodable bytes too
    else:
        from rich.console import Console

        from loratui.cli.watch_view import render

        Console().print(render(snap, [source.last_row] if source.last_row else [], []))
    return 0


def _plain(value):
    """JSON-safe: NaN and infinities become the strings "nan", "inf", "-inf"."""
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value

"""`loratui lora inspect FILE`: format, family, ranks, alphas, health, metadata."""

from __future__ import annotations

import sys

from loratui.cli import add_command

EPILOG = """\
examples:
  loratui lora inspect my_lora.safetensors
  loratui lora inspect my_lora.safetensors --json | jq .rank
  loratui lora inspect my_lora.safetensors --json --modules   rank/alpha per module
  loratui doctor my_lora.safetensors                           findings and fixes
"""


def register(sub) -> None:
    p = add_command(sub, "lora", help="inspect LoRA .safetensors files", epilog=EPILOG)
    lsub = p.add_subparsers(title="lora commands", metavar="ACTION")
    i = add_command(lsub, "inspect", help="show what a LoRA file is", epilog=EPILOG)
    i.add_argument("file", nargs="+", help=".safetensors file(s)")
    i.add_argument("--json", action="store_true", help="print JSON")
    i.add_argument("--modules", action="store_true", help="include rank/alpha per module")
    i.add_argument("--no-stats", action="store_true",
                   help="header only: skip the NaN/Inf/zero scan of tensor values")
    i.set_defaults(run=run_inspect)
    p.set_defaults(run=lambda args: (p.print_help(), 2)[1])


def run_inspect(args) -> int:

    from loratui.lora.inspect import render, summarize
    from loratui.lora.reader import LoraError, open_lora

    results = []
    status = 0
    for path in args.file:
        try:
            lora = open_lora(path)
        except LoraError as exc:
            print(f"loratui lora inspect: {path}: {exc}", file=sys.stderr)
            status = 2 if len(args.file) == 1 else 1
            continue
        except OSError as exc:
            print(f"loratui lora inspect: {path}: {exc.strerror or exc}", file=sys.stderr)
            status = 2
            continue
        results.append(summarize(lora, stats=not args.no_stats, per_module=args.modules))
    if args.json:
        payload = results[0] if len(results) == 1 and len(args.file) == 1 else results
        from loratui.userfiles import dumps_json

        print(dumps_json(payload, indent=2))
    else:
        sys.stdout.write("\n".join(render(r) for r in results))
    return status

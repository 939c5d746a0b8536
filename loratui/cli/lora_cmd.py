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
  loratui lora blocks my_lora.safetensors                      strength per block
"""

BLOCKS_EPILOG = """\
examples:
  loratui lora blocks my_lora.safetensors          table and bar chart per block
  loratui lora blocks my_lora.safetensors --json   the same as JSON (17 and 26 blocks)

The strength of a block is the sum over its modules of the norm of
dW = up @ down * alpha / rank. Blocks follow the LoRA Block Weight extension
(BASE = text encoder, IN01..OUT11); the dominant blocks are the ones to try
alone and zeroed on a test grid.
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
    b = add_command(lsub, "blocks", help="strength of the LoRA in each model block",
                    epilog=BLOCKS_EPILOG)
    b.add_argument("file", help=".safetensors LoRA file")
    b.add_argument("--json", action="store_true", help="print JSON")
    b.set_defaults(run=run_blocks)
    p.set_defaults(run=lambda args: (p.print_help(), 2)[1])


def run_inspect(args) -> int:
    import json

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
        print(json.dumps(payload, indent=2, ensure_ascii=False))
    else:
        sys.stdout.write("\n".join(render(r) for r in results))
    return status


def fail(command: str, path, message: str) -> int:
    print(f"loratui lora {command}: {path}: {message}", file=sys.stderr)
    return 2


def run_blocks(args) -> int:
    import json

    from loratui.cli import terminal_width
    from loratui.lora.blocks import BlocksError, block_strengths, render
    from loratui.lora.reader import LoraError

    try:
        result = block_strengths(args.file)
    except (LoraError, BlocksError) as exc:
        return fail("blocks", args.file, str(exc))
    except OSError as exc:
        return fail("blocks", args.file, exc.strerror or str(exc))
    if args.json:
        print(json.dumps(result.to_json(), indent=2))
    else:
        sys.stdout.write(render(result, terminal_width()))
    return 0

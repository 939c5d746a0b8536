"""`loratui lora inspect FILE`: format, family, ranks, alphas, health, metadata."""

from __future__ import annotations

import sys

from loratui.cli import add_command
from loratui.i18n import N_, _, error_text

EPILOG = N_("""\
examples:
  loratui lora inspect my_lora.safetensors
  loratui lora inspect my_lora.safetensors --json | jq .rank
  loratui lora inspect my_lora.safetensors --json --modules   rank/alpha per module
  loratui doctor my_lora.safetensors                           findings and fixes
  loratui lora blocks my_lora.safetensors                      strength per block
""")

BLOCKS_EPILOG = N_("""\
examples:
  loratui lora blocks my_lora.safetensors          table and bar chart per block
  loratui lora blocks my_lora.safetensors --json   the same as JSON (17 and 26 blocks)

The strength of a block is the sum over its modules of the norm of
dW = up @ down * alpha / rank. Blocks follow the LoRA Block Weight extension
(BASE = text encoder, IN01..OUT11); the dominant blocks are the ones to try
alone and zeroed on a test grid.
""")


def register(sub) -> None:
    p = add_command(sub, "lora", help=_("inspect, test, resize, merge and convert LoRA files"), epilog=EPILOG)
    lsub = p.add_subparsers(title=_("lora commands"), metavar="ACTION")
    i = add_command(lsub, "inspect", help=_("show what a LoRA file is"), epilog=EPILOG)
    i.add_argument("file", nargs="+", help=_("one or more .safetensors files"))
    i.add_argument("--json", action="store_true", help=_("print JSON"))
    i.add_argument("--modules", action="store_true", help=_("include rank/alpha per module"))
    i.add_argument("--no-stats", action="store_true",
                   help=_("header only: skip the NaN/Inf/zero scan of tensor values"))
    i.set_defaults(run=run_inspect)
    b = add_command(lsub, "blocks", help=_("strength of the LoRA in each model block"),
                    epilog=BLOCKS_EPILOG)
    b.add_argument("file", help=_(".safetensors LoRA file"))
    b.add_argument("--json", action="store_true", help=_("print JSON"))
    b.set_defaults(run=run_blocks)
    register_tools(lsub)
    p.set_defaults(run=lambda args: (p.print_help(), 2)[1])


def run_inspect(args) -> int:

    from loratui.lora.inspect import render, summarize
    from loratui.lora.reader import LoraError, open_lora
    from loratui.userfiles import shown

    results = []
    status = 0
    for path in args.file:
        try:
            lora = open_lora(path)
        except LoraError as exc:
            print(f"loratui lora inspect: {shown(path)}: {error_text(exc)}", file=sys.stderr)
            status = 2 if len(args.file) == 1 else 1
            continue
        except OSError as exc:
            print(f"loratui lora inspect: {shown(path)}: {exc.strerror or exc}", file=sys.stderr)
            status = 2
            continue
        results.append(summarize(lora, stats=not args.no_stats, per_module=args.modules))
    if args.json:
        payload = results[0] if len(results) == 1 and len(args.file) == 1 else results
        from loratui.userfiles import dumps_json

        print(dumps_json(payload, indent=2))
    else:
        from loratui.cli import terminal_width
        from loratui.textfit import fit

        sys.stdout.write(fit("\n".join(render(r) for r in results), terminal_width()))
    return status


TOOLS_EPILOG = {
    "resize": N_("""\
examples:
  loratui lora resize my_lora.safetensors --rank 8          → my_lora-r8.safetensors
  loratui lora resize my_lora.safetensors --rank 8 -o small.safetensors

Truncated SVD of every module's dW to the new rank, reporting the energy kept per block.
Mosaic artefacts are a sign the rank should come down (16 → 8, guide P20). alpha/rank
is kept, so the weight you use stays the same.
"""),
    "merge": N_("""\
examples:
  loratui lora merge character.safetensors outfit.safetensors --weights 0.7,0.5
  loratui lora merge a.safetensors b.safetensors --weights 0.7,0.5 -o both.safetensors

The merged file at weight 1.0 equals the inputs applied at their weights (exact: the
ranks are stacked). Weights that add up to more than 1.2 get a warning (guide P19).
"""),
    "scale": N_("""\
examples:
  loratui lora scale my_lora.safetensors --weight 0.7         bake weight 0.7 in
  loratui lora scale my_lora.safetensors --blocks OUTALL     keep only the OUT blocks
  loratui lora scale my_lora.safetensors --weight 0.8 --blocks 1,1,1,1,1,1,1,1,0,1,1,1,1,1,1,1,1

The "dynamic weight" after the fact (guide P27): the new file at 1.0 acts as the old one
at --weight, with the block vector (17 or 26 values, or a preset of the block-weight
extension) applied. Only the alphas change; blocks at 0 are left out.
"""),
    "convert": N_("""\
examples:
  loratui lora convert pytorch_lora_weights.safetensors --to kohya   for A1111 / ComfyUI
  loratui lora convert my_lora.safetensors --to peft                 for diffusers

Reads kohya, PEFT / diffusers and old diffusers (attention-processor) keys. Tensors are
copied bit for bit; alphas travel as .alpha tensors (kohya) or lora_adapter_metadata (peft).
"""),
}


GRID_EPILOG = N_("""\
examples:
  loratui lora grid my_lora.safetensors --base ./sd15 --prompt "sks, a girl, outdoors"
  loratui lora grid my_lora.safetensors --base ./sd15 --prompt "..." --columns ALL,MIDD,-OUT03
  loratui lora grid my_lora.safetensors --base ./sd15 --prompt "..." --use 0.7:OUTALL

Rows are weights (default 0.3,0.5,0.7,0.9,1.0; guide P17/P18), columns block vectors of
the LoRA Block Weight extension: its presets (ALL INS IND INALL MIDD OUTD OUTS OUTALL),
each block alone (IN07) and each block zeroed (-IN07), for the blocks the LoRA has.
Same seed and sampler in every cell. Cells are kept in GRID.cells/: run it again after
an interruption and only the missing cells are rendered. --use W:VECTOR prints the
A1111 prompt tag for your pick, checked by the doctor's prompt rules.
""")


def register_tools(lsub) -> None:
    def common(p, suffix_help: str) -> None:
        p.add_argument("-o", "--output",
                       help=_("output file (default: {name})").format(name=suffix_help))
        p.add_argument("--overwrite", action="store_true",
                       help=_("replace an existing output (kept first as <name>.<time>.bak)"))
        p.add_argument("--json", action="store_true", help=_("print the report as JSON"))

    r = add_command(lsub, "resize", help=_("lower the rank (SVD), energy kept per block"),
                    epilog=TOOLS_EPILOG["resize"])
    r.add_argument("file")
    r.add_argument("--rank", type=int, required=True, help=_("new rank, e.g. 8"))
    common(r, "FILE-rN.safetensors")
    r.set_defaults(run=lambda a: _tool(a, "resize"))
    m = add_command(lsub, "merge", help=_("merge LoRAs at given weights into one file"),
                    epilog=TOOLS_EPILOG["merge"])
    m.add_argument("files", nargs="+", metavar="FILE")
    m.add_argument("--weights", required=True, help=_("one weight per file, e.g. 0.7,0.5"))
    common(m, _("A+B.safetensors beside the first file"))
    m.set_defaults(run=lambda a: _tool(a, "merge"))
    s = add_command(lsub, "scale", help=_("bake a weight or a block vector into the file"),
                    epilog=TOOLS_EPILOG["scale"])
    s.add_argument("file")
    s.add_argument("--weight", type=float, default=1.0, help=_("weight to bake in, e.g. 0.7"))
    s.add_argument("--blocks", help=_("block vector: 17 / 26 values or a preset (OUTALL …)"))
    common(s, "FILE-x0.7.safetensors")
    s.set_defaults(run=lambda a: _tool(a, "scale"))
    c = add_command(lsub, "convert", help=_("convert between kohya and PEFT/diffusers keys"),
                    epilog=TOOLS_EPILOG["convert"])
    c.add_argument("file")
    c.add_argument("--to", required=True, choices=("kohya", "peft"))
    common(c, "FILE-kohya.safetensors / FILE-peft.safetensors")
    c.set_defaults(run=lambda a: _tool(a, "convert"))
    g = add_command(lsub, "grid", help=_("test-image grid: weights × block vectors"),
                    epilog=GRID_EPILOG)
    g.add_argument("file", help=_(".safetensors LoRA file"))
    g.add_argument("--base", required=True, help=_("local diffusers base model folder"))
    g.add_argument("--prompt", required=True, help=_("prompt for every cell"))
    g.add_argument("--negative", default="", help=_("negative prompt"))
    g.add_argument("--weights", default="0.3,0.5,0.7,0.9,1.0", help=_("row weights"))
    g.add_argument("--columns", default="presets,alone,zeroed",
                   help=_("presets, alone, zeroed, preset names, IN07, -IN07, name=v1/v2/…"))
    g.add_argument("--seed", type=int, default=1234)
    g.add_argument("--steps", type=int, default=20)
    g.add_argument("--size", type=int, help=_("image size (default: the model's)"))
    g.add_argument("--cfg", type=float, default=7.0, help=_("guidance scale"))
    g.add_argument("-o", "--output", help=_("grid PNG (default: FILE-grid.png here)"))
    g.add_argument("--use", default="0.6:ALL",
                   help=_("weight:vector to print the prompt tag for (default 0.6:ALL, P17)"))
    g.add_argument("--json", action="store_true", help=_("print a JSON summary"))
    g.set_defaults(run=_grid)


def _grid(args) -> int:
    from loratui.cli.lora_tools import run_grid

    return run_grid(args)


def _tool(args, command: str) -> int:
    from loratui.cli.lora_tools import run_tool

    return run_tool(args, command)


def fail(command: str, path, message: str) -> int:
    print(f"loratui lora {command}: {path}: {message}", file=sys.stderr)
    return 2


def run_blocks(args) -> int:
    import json
    import os

    # rank×rank products: BLAS threads only add start-up and, on a busy machine, wait time
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

    from loratui.cli import terminal_width
    from loratui.lora.blocks import BlocksError, block_strengths, render
    from loratui.lora.reader import LoraError

    try:
        result = block_strengths(args.file)
    except (LoraError, BlocksError) as exc:
        return fail("blocks", args.file, error_text(exc))
    except OSError as exc:
        return fail("blocks", args.file, exc.strerror or str(exc))
    if args.json:
        print(json.dumps(result.to_json(), indent=2))
    else:
        sys.stdout.write(render(result, terminal_width()))
    return 0

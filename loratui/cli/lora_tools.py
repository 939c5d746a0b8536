"""`loratui lora resize | merge | scale | convert`: read, transform, write, report."""

from __future__ import annotations

import json
import sys
from pathlib import Path


def _fail(command: str, path, message: str) -> int:
    print(f"loratui lora {command}: {path}: {message}", file=sys.stderr)
    return 2


def run_tool(args, command: str) -> int:
    from loratui.lora import tools
    from loratui.lora.weights import load_weights, read_error

    files = [Path(f) for f in (args.files if command == "merge" else [args.file])]
    loaded = []
    for path in files:
        try:
            loaded.append(load_weights(path))
        except Exception as exc:  # one message for any unreadable input, never a traceback
            return _fail(command, path, read_error(exc))
    try:
        weights, report, out, fmt, note = _transform(args, command, loaded, files)
        metadata = weights.with_note(command, **note)
        if command == "merge":
            metadata["ss_output_name"] = out.stem
        backup = tools.write_output(weights, metadata, out, inputs=files,
                                    overwrite=args.overwrite, fmt=fmt)
    except tools.ToolError as exc:
        return _fail(command, files[0] if len(files) == 1 else ", ".join(map(str, files)),
                     str(exc))
    except OSError as exc:
        return _fail(command, args.output or files[0], exc.strerror or str(exc))
    if args.json:
        print(json.dumps({"output": str(out), "backup": str(backup) if backup else None,
                          "warnings": report.warnings, **report.data}, indent=2))
    else:
        for line in report.lines:
            print(line)
        print(f"wrote {out}" + (f" (previous file kept as {backup})" if backup else ""))
    for warning in report.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    return 0


def _transform(args, command: str, loaded, files):
    from loratui.lora import tools

    src = files[0]
    layout = tools.layout_of(loaded[0])
    if command == "resize":
        weights, report = tools.resize(loaded[0], args.rank, layout)
        out = Path(args.output) if args.output else tools.default_output(src, f"r{args.rank}")
        return weights, report, out, "kohya", {"rank": args.rank, "from": src.name,
                                               "energy_kept": round(
                                                   report.data["energy_kept"], 6)}
    if command == "merge":
        try:
            ws = [float(w) for w in args.weights.split(",")]
        except ValueError:
            raise tools.ToolError(f"--weights {args.weights!r}: give numbers, e.g. "
                                  "0.7,0.5") from None
        weights, report = tools.merge(loaded, ws)
        report.warnings += _usage_warnings(files, ws)
        out = Path(args.output) if args.output else \
            src.with_name("+".join(f.stem for f in files) + ".safetensors")
        return weights, report, out, "kohya", {"from": [f.name for f in files],
                                               "weights": ws}
    if command == "scale":
        blocks = None
        if args.blocks:
            if layout is None:
                raise tools.ToolError("block vectors exist for SD1.x/SD2.x LoRAs only so far")
            try:
                blocks = layout.vector(args.blocks)
            except ValueError as exc:
                raise tools.ToolError(str(exc)) from None
        weights, report = tools.scale(loaded[0], args.weight, blocks, layout)
        tag = f"x{args.weight:g}" + ("-" + args.blocks if args.blocks and "," not in
                                     args.blocks else "-blocks" if args.blocks else "")
        out = Path(args.output) if args.output else tools.default_output(src, tag)
        return weights, report, out, loaded[0].source_format if \
            loaded[0].source_format in ("kohya", "peft") else "kohya", \
            {"weight": args.weight, "blocks": args.blocks, "from": src.name}
    weights = loaded[0]
    report = tools.Report([f"{weights.source_format} → {args.to}: {len(weights.modules)} "
                           "modules, tensors copied unchanged"],
                          {"from": weights.source_format, "to": args.to,
                           "modules": len(weights.modules)})
    out = Path(args.output) if args.output else tools.default_output(src, args.to)
    return weights, report, out, args.to, {"from": src.name, "from_format":
                                           weights.source_format, "to": args.to}


def _usage_warnings(files, weights) -> list[str]:
    """The doctor's P19 check on the merge: the files used together at these weights."""
    from loratui.lora.usage import Use, check_uses

    diags = check_uses([Use(f.stem, w) for f, w in zip(files, weights, strict=True)])
    return [f"{d.code} {d.message}" for d in diags if d.code == "PR102"]

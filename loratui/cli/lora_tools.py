"""`loratui lora resize | merge | scale | convert`: read, transform, write, report."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from loratui.i18n import N_, Message, _, error_text, localized


def _fail(command: str, path, message: str) -> int:
    from loratui.userfiles import shown

    print(f"loratui lora {command}: {shown(path)}: {message}", file=sys.stderr)
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
                     error_text(exc))
    except OSError as exc:
        return _fail(command, exc.filename or args.output or files[0],
                     _("{error}; check the path, the free space and your permissions").format(
                         error=exc.strerror or exc))
    from loratui.userfiles import dumps_json, shown

    if args.json:
        print(dumps_json({"output": str(out), "backup": str(backup) if backup else None,
                          "warnings": report.warnings, **report.data}, indent=2))
    else:
        for line in report.lines:
            print(localized(line))
        print(_("wrote {path} (previous file kept as {backup})").format(
            path=shown(out), backup=shown(backup)) if backup else
            _("wrote {path}").format(path=shown(out)))
    for warning in report.warnings:
        print(_("warning: {message}").format(message=localized(warning)), file=sys.stderr)
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
            raise tools.ToolError(Message(N_("--weights {weights!r}: give numbers, e.g. 0.7,0.5"),
                                          weights=args.weights)) from None
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
                raise tools.ToolError(Message(N_("block vectors exist for SD1.x/SD2.x LoRAs only "
                                                 "so far")))
            try:
                blocks = layout.vector(args.blocks)
            except ValueError as exc:
                raise tools.ToolError(exc.args[0]) from None
        weights, report = tools.scale(loaded[0], args.weight, blocks, layout)
        tag = f"x{args.weight:g}" + ("-" + args.blocks if args.blocks and "," not in
                                     args.blocks else "-blocks" if args.blocks else "")
        out = Path(args.output) if args.output else tools.default_output(src, tag)
        return weights, report, out, loaded[0].source_format if \
            loaded[0].source_format in ("kohya", "peft") else "kohya", \
            {"weight": args.weight, "blocks": args.blocks, "from": src.name}
    weights = loaded[0]
    report = tools.Report([Message.ngettext("{source} → {target}: {n} module, tensors copied "
                                            "unchanged", "{source} → {target}: {n} modules, "
                                            "tensors copied unchanged", len(weights.modules),
                                            source=weights.source_format, target=args.to)],
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


def _numbers(flag: str, texts: list[str]) -> tuple[float, ...]:
    try:
        return tuple(float(t) for t in texts)
    except ValueError:
        raise ValueError(Message(N_("{flag} {value}: not a number"), flag=flag,
                                 value=",".join(texts))) from None


def run_grid(args) -> int:
    from loratui.lora.blocks import BlocksError, block_strengths
    from loratui.lora.grid import GridError, GridSpec, columns_for, render_grid
    from loratui.lora.reader import LoraError

    path = Path(args.file)
    try:
        strengths = block_strengths(path)
        weights = _numbers("--weights", args.weights.split(","))
        use_weight, _colon, use_vector = args.use.partition(":")
        pick_weight = _numbers("--use", [use_weight])[0]
        pick = strengths.layout.vector(use_vector or "ALL")
    except (LoraError, BlocksError, OSError) as exc:
        return _fail("grid", path, getattr(exc, "strerror", None) or error_text(exc))
    except ValueError as exc:
        return _fail("grid", path, error_text(exc))
    layout = strengths.layout
    in_use = [b for b in layout.blocks if strengths.modules.get(b)]
    out = Path(args.output) if args.output else Path(f"{path.stem}-grid.png")
    spec = GridSpec(lora=path, base=Path(args.base), prompt=args.prompt, out=out,
                    negative=args.negative, weights=weights, columns=args.columns,
                    seed=args.seed, steps=args.steps, size=args.size, guidance=args.cfg)
    try:
        columns_for(spec.columns, layout, in_use)
        with _progress() as advance:
            result = render_grid(spec, layout, in_use, progress=advance)
    except GridError as exc:
        return _fail("grid", path, error_text(exc))
    tag, findings = pick_tag(path.stem, pick_weight, pick, layout, base_family(spec.base, layout))
    summary = {"grid": str(out), "cells_dir": str(spec.cells_dir), "rows": result.rows,
               "columns": [c.label for c in result.columns], "rendered": result.rendered,
               "reused": result.reused, "pipeline_seconds": round(result.pipeline_seconds, 4),
               "sampler": result.sampler, "size": result.size, "prompt_tag": tag,
               "doctor": [{"code": d.code, "severity": d.severity, "message": d.message}
                          for d in findings]}
    if args.json:
        print(json.dumps(summary, indent=2))
        return 0
    print(_("wrote {path} ({rows} weights × {columns} block vectors; {rendered} rendered, "
            "{reused} reused; {sampler}, seed {seed}, {steps} steps)").format(
        path=out, rows=len(result.rows), columns=len(result.columns), rendered=result.rendered,
        reused=result.reused, sampler=result.sampler, seed=args.seed, steps=args.steps))
    print(_("prompt: {tag}").format(tag=tag))
    for d in findings:
        print(f"  {d.severity} {d.code} {d.message}")
    return 0


def base_family(base: Path, layout) -> str:
    """The grid's base model family (what the tag is used with), else the LoRA's."""
    from loratui import families

    try:
        return families.detect(base) or layout.family
    except (OSError, ValueError):
        return layout.family


def pick_tag(name: str, weight: float, vector: dict[str, float], layout, base: str = "sd15"):
    """The A1111 tag for a weight and block vector, and the doctor's findings on it (with a
    base model of the family `base`)."""
    from loratui.lora.usage import Use, check_uses, lora_tag

    lbw = layout.lbw_string(vector, long=any(
        vector.get(b) for b in layout.blocks if b not in layout.lora_blocks))
    use = Use(name, weight, lbw)
    return lora_tag(use), check_uses([use], base=base)


class _progress:
    """A rich progress bar on stderr; yields the callback render_grid calls per cell."""

    def __enter__(self):
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn

        self.bar = Progress("cells", BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
                            console=Console(stderr=True), transient=True)
        self.bar.__enter__()
        self.task = self.bar.add_task("cells", total=None)

        def advance(done: int, total: int) -> None:
            self.bar.update(self.task, completed=done, total=total)
        return advance

    def __exit__(self, *exc):
        return self.bar.__exit__(*exc)

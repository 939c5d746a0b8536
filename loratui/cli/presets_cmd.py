"""`loratui presets`: what to start from on this GPU."""

from __future__ import annotations

import argparse
import sys

from loratui.cli import add_command
from loratui.i18n import N_, _

EPILOG = N_("""\
examples:
  loratui presets                         detect the GPU and recommend a preset
  loratui presets --gpu 8GB --kind style  recommendation for an 8 GB card, style LoRA
  loratui presets --gpu 12GB --write loratui.toml
  loratui presets --family sdxl --gpu 12GB  SDXL (Pony, Illustrious, NoobAI) on a 12 GB card
  loratui presets --base ponyDiffusionV6XL.safetensors   family from the base model
  loratui presets --all                   every preset and its memory estimate
  loratui presets --json                  machine-readable
""")


def register(sub: argparse._SubParsersAction) -> None:
    p = add_command(sub, "presets", help=_("recommend training settings for a GPU size"),
                    epilog=EPILOG)
    p.add_argument("--gpu", default="auto", metavar="auto|SIZE",
                   help=_("card memory, e.g. 8GB; `auto` detects it with NVML (default), "
                        "`cpu` for the CPU demo preset"))
    p.add_argument("--kind", choices=("character", "style"), default="character",
                   help=_("what the LoRA teaches (default: character)"))
    p.add_argument("--family", default="auto", metavar="auto|sd15|sdxl",
                   help=_("model family; `auto` (default) takes it from --base, or from the "
                        "model.base of the --write file, else sd15"))
    p.add_argument("--base", metavar="PATH",
                   help=_("base model whose family picks the presets (headers only)"))
    p.add_argument("--write", metavar="TOML",
                   help=_("write the recommendation into this loratui.toml (created, or updated "
                        "keeping its comments)"))
    p.add_argument("--all", action="store_true", help=_("list every preset"))
    p.add_argument("--json", action="store_true", help=_("print JSON instead of a table"))
    p.set_defaults(run=run)


def _resolve_vram(gpu: str):
    """(card memory in GB, how it is shown, the detected GpuInfo or None)."""
    from loratui.gpu import detect
    from loratui.presets import parse_vram

    low = gpu.strip().lower()
    if low == "cpu":
        return None, "CPU (no GPU)", None
    if low != "auto":
        gb = parse_vram(gpu)
        return gb, f"{gb:g} GB (as given)", None
    report = detect(allow_torch=False)
    best = report.best
    if best is None:
        return None, report.summary(), None
    return best.total_gb, f"{best.name}, {best.total_gb:.1f} GB", best


def run(args: argparse.Namespace) -> int:
    import json

    from loratui.presets import PresetError, choose, load_presets

    try:
        family = _resolve_family(args)
        vram, gpu_text, gpu = _resolve_vram(args.gpu)
        presets = [p if p.cpu else p.for_gpu(gpu) for p in load_presets()
                   if p.cpu or p.family == family]
        preset = choose(vram, args.kind, family, presets=presets, gpu=gpu)
    except (ValueError, PresetError) as exc:
        print(f"loratui presets: {exc}", file=sys.stderr)
        return 2

    if args.json:
        shown = presets if args.all else [preset]
        print(json.dumps({
            "gpu": gpu_text,
            "family": family,
            "vram_gb": vram,
            "recommended": preset.id,
            "presets": [{"id": p.id, "label": p.label, "kind": p.kind,
                         "min_vram_gb": p.min_vram_gb, "rationale": p.rationale,
                         "config": p.config, "estimate_gb": p.estimate().total_gb}
                        for p in shown],
        }, indent=2))
    else:
        _print_tables(presets if args.all else [preset], preset, vram, gpu_text, family)

    if args.write:
        return _write(preset, args.write)
    return 0


def _resolve_family(args: argparse.Namespace) -> str:
    """--family, else the family of --base, else of the --write file's model.base."""
    from pathlib import Path

    from loratui import families

    if args.family != "auto":
        if args.family not in families.ids():
            raise ValueError(f"--family {args.family}: choose one of auto, "
                             f"{', '.join(families.ids())}")
        return args.family
    base = args.base
    if base is None and args.write and Path(args.write).is_file():
        from loratui.config import ConfigError, load_config

        try:
            base = load_config(Path(args.write), resolve=False).model.base or None
        except ConfigError:
            base = None
    if base:
        if not Path(base).expanduser().exists():
            raise ValueError(f"--base {base}: no such file or folder")
        fam = families.detect(Path(base).expanduser())
        if fam in families.ids():
            return fam
    return "sd15"


def _print_tables(shown, recommended, vram, gpu_text, family: str = "sd15") -> None:
    from rich.console import Console
    from rich.table import Table

    from loratui import families
    from loratui.config import field_docs
    from loratui.wording import a_an

    fam = families.get(family)
    console = Console()
    console.print(f"[bold]GPU:[/] {gpu_text}   [bold]family:[/] {fam.label}")
    if len(shown) > 1:
        table = Table(title=f"{fam.label} LoRA presets ({fam.native_resolution} px)",
                      title_justify="left")
        for col in ("preset", "rank", "batch×acc", "precision", "ckpt", "estimate"):
            table.add_column(col, no_wrap=True)
        for p in shown:
            mark = " ◀" if p.id == recommended.id else ""
            table.add_row(
                p.id + mark, str(p.get("network.rank")),
                f"{p.get('training.batch_size')}×{p.get('training.gradient_accumulation')}",
                p.get("training.mixed_precision"),
                "yes" if p.get("training.gradient_checkpointing") else "no",
                "tiny model" if p.cpu else f"{p.estimate().total_gb:.1f} GB",
            )
        console.print(table)
        return

    p = recommended
    console.print(f"[bold]Preset:[/] {p.id} — {p.label}")
    console.print(f"[dim]{p.rationale}[/]")
    docs = {row["key"]: row for row in field_docs()}
    table = Table(show_header=True, header_style="bold")
    table.add_column("setting")
    table.add_column("value", justify="right")
    table.add_column("why / range")
    for section, values in p.config.items():
        for key, value in values.items():
            row = docs.get(f"{section}.{key}", {})
            refs = f" [dim]({', '.join(row['pitfalls'])})[/]" if row.get("pitfalls") else ""
            table.add_row(f"{section}.{key}", str(value), (row.get("description") or "") + refs)
    console.print(table)
    est = p.estimate()
    verdict = ""
    if vram:
        verdict = "fits" if est.fits(vram) else "[red]may not fit[/]"
        verdict = f" on {a_an(f'{vram:g} GB')} card: {verdict}"
    console.print(f"[bold]VRAM estimate:[/] {est.total_gb:.1f} GB{verdict} "
                  "[dim](analytic estimate, not yet measured on a GPU)[/]")
    for name, gb in est.as_rows()[:-1]:
        console.print(f"  {name:<34} {gb:6.2f} GB")


def _write(preset, target: str) -> int:
    from pathlib import Path

    from loratui.config import ConfigError, RunConfig, load_config, save_config

    path = Path(target)
    backup = None
    try:
        base = load_config(path, resolve=False) if path.exists() else RunConfig()
        cfg = preset.to_config(base)
        if path.is_file() and path.stat().st_size:
            from loratui.userfiles import keep_backup

            backup = keep_backup(path)
        save_config(cfg, path)
    except (ConfigError, OSError) as exc:
        print(f"loratui presets: {exc}", file=sys.stderr)
        return 2
    print(f"wrote {preset.id} into {path}" + (f" (the previous file is kept as {backup})"
                                              if backup else ""), file=sys.stderr)
    return 0

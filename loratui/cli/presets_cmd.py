"""`loratui presets`: what to start from on this GPU."""

from __future__ import annotations

import argparse
import sys

from loratui.cli import add_command
from loratui.i18n import N_, Message, _, error_text, language, localized, pgettext, width

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
        return None, Message(N_("CPU (no GPU)")), None
    if low != "auto":
        gb = parse_vram(gpu)
        return gb, Message(N_("{gb} GB (as given)"), gb=f"{gb:g}"), None
    report = detect(allow_torch=False)
    best = report.best
    if best is None:
        return None, report.summary(), None   # a Message: English in JSON, shown localized
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
        print(f"loratui presets: {error_text(exc)}", file=sys.stderr)
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
            raise ValueError(Message(N_("--family {family}: choose one of auto, {families}"),
                                     family=args.family, families=", ".join(families.ids())))
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
            raise ValueError(Message(N_("--base {base}: no such file or folder"), base=base))
        fam = families.detect(Path(base).expanduser())
        if fam in families.ids():
            return fam
    return "sd15"


def _print_tables(shown, recommended, vram, gpu_text, family: str = "sd15") -> None:
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    from loratui import families
    from loratui.config import field_docs
    from loratui.wording import a_an

    fam = families.get(family)
    console = Console()
    header = _("[bold]GPU:[/] {gpu}   [bold]family:[/] {family}").format(
        gpu=localized(gpu_text), family=fam.label)
    # one line when both fields fit, else one a line: a field is never split
    if Text.from_markup(header).cell_len <= console.width:
        console.print(header)
    else:
        for field in header.split("   "):
            console.print(field.strip())
    if len(shown) > 1:
        table = Table(title=_("{family} LoRA presets ({px} px)").format(
            family=fam.label, px=fam.native_resolution), title_justify="left")
        for col in (N_("preset"), N_("rank"), N_("batch×acc"), N_("precision"), N_("ckpt"),
                    N_("estimate")):
            table.add_column(_(col), no_wrap=True)
        for p in shown:
            mark = " ◀" if p.id == recommended.id else ""
            table.add_row(
                p.id + mark, str(p.get("network.rank")),
                f"{p.get('training.batch_size')}×{p.get('training.gradient_accumulation')}",
                p.get("training.mixed_precision"),
                pgettext("switch", "yes") if p.get("training.gradient_checkpointing") else
                pgettext("switch", "no"),
                _("tiny model") if p.cpu else f"{p.estimate().total_gb:.1f} GB",
            )
        console.print(table)
        return

    p = recommended
    console.print(_("[bold]Preset:[/] {id} — {label}").format(id=p.id, label=p.text("label")))
    console.print(f"[dim]{p.text('rationale')}[/]")
    docs = {row["key"]: row for row in field_docs()}
    table = Table(show_header=True, header_style="bold")
    table.add_column(_("setting"))
    table.add_column(_("value"), justify="right")
    table.add_column(_("why / range"))
    for section, values in p.config.items():
        for key, value in values.items():
            row = docs.get(f"{section}.{key}", {})
            refs = f" [dim]({', '.join(row['pitfalls'])})[/]" if row.get("pitfalls") else ""
            table.add_row(f"{section}.{key}", str(value), _(row.get("description") or "") + refs)
    console.print(table)
    est = p.estimate()
    gb = f"{est.total_gb:.1f}"
    line = _("[bold]VRAM estimate:[/] {gb} GB").format(gb=gb)
    if vram:
        size = f"{vram:g} GB"
        card = a_an(size) if language() == "en" else size   # "an 8 GB card"
        line = (_("[bold]VRAM estimate:[/] {gb} GB on {card} card: fits") if est.fits(vram)
                else _("[bold]VRAM estimate:[/] {gb} GB on {card} card: [red]may not fit[/]")
                ).format(gb=gb, card=card)
    console.print(line + " " + _("[dim](analytic estimate, not yet measured on a GPU)[/]"))
    for name, gb in est.as_rows()[:-1]:
        label = _(name)
        console.print(f"  {label}{' ' * max(1, 34 - width(label))} {gb:6.2f} GB")


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
        from loratui.cli import unexpected_message

        text = unexpected_message(exc) if isinstance(exc, OSError) else error_text(exc)
        print(f"loratui presets: {text}", file=sys.stderr)
        return 2
    print(_("wrote {preset} into {path} (the previous file is kept as {backup})").format(
        preset=preset.id, path=path, backup=backup) if backup else
          _("wrote {preset} into {path}").format(preset=preset.id, path=path), file=sys.stderr)
    return 0

"""The demo: a tiny model, a small dataset with deliberate problems, a config from the
`cpu-demo` preset, then training, export and samples — on any CPU, in about a minute on
two cores (measured: docs/training.md).

The demo is a list of `DemoStep`s so other areas can add theirs (dataset scan / prepare,
doctor) without touching the rest: `DEMO_STEPS.insert(i, DemoStep(...))` or pass `steps=`.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from loratui.i18n import N_, _, error_text, localized, ngettext, pgettext

DEMO_TRIGGER = "lrt_girl"  # unique, as the guide asks (P7); not a word the model knows
DEMO_PRESET = "cpu-demo"


@dataclass
class DemoContext:
    root: Path
    trigger: str = DEMO_TRIGGER
    family: str = "sd15"  # which tiny model: sd15 or sdxl
    log: Callable[[str], None] = lambda msg: print(msg, file=sys.stderr)
    model_dir: Path | None = None
    dataset_dir: Path | None = None  # what training reads (the prepared copy, when made)
    source_dir: Path | None = None  # the generated dataset, when a prepared copy replaced it
    config_path: Path | None = None
    run_dir: Path | None = None
    lora_path: Path | None = None
    samples: list[Path] = field(default_factory=list)
    results: dict[str, Any] = field(default_factory=dict)  # step name → what it returned
    timings: dict[str, float] = field(default_factory=dict)
    failed: str | None = None


@dataclass
class DemoStep:
    name: str
    title: str
    run: Callable[[DemoContext], str | None]  # returns a one-line summary
    required: bool = True  # a failing optional step is reported, the demo goes on


def step_model(ctx: DemoContext) -> str:
    from loratui.families import get
    from loratui.tiny import build_tiny_model

    ctx.model_dir = build_tiny_model(ctx.root / "model", extra_words=[ctx.trigger],
                                     family=ctx.family)
    return _("tiny {family}-shaped model in {folder}").format(family=get(ctx.family).label,
                                                               folder=ctx.model_dir)


def step_dataset(ctx: DemoContext) -> str:
    from loratui.tiny import write_demo_dataset

    ctx.dataset_dir = write_demo_dataset(ctx.root / "dataset", ctx.trigger)
    n = len(list(ctx.dataset_dir.glob("*.png")))
    return _("{n} images in {folder} (with problems: non-512 sizes, a missing caption, a caption "
             "without the trigger word)").format(n=n, folder=ctx.dataset_dir)


def step_scan(ctx: DemoContext) -> str:
    """The dataset scanner (`loratui.dataset`) on the generated images."""
    from loratui.dataset import ScanOptions, scan
    from loratui.dataset.text import severity_label

    report = scan(ctx.dataset_dir, ScanOptions(trigger_word=ctx.trigger, workers=0))
    ctx.results["scan_report"] = report
    for f in report.by_severity("warning")[:8]:
        ctx.log(f"        {severity_label(f.severity)} {f.kind}: {localized(f.message)[:100]}")
    images, kinds = len(report.images), len(report.findings)
    return _("{images}, {kinds}").format(
        images=ngettext("{n} image", "{n} images", images).format(n=images),
        kinds=ngettext("{n} kind of finding", "{n} kinds of finding", kinds).format(n=kinds))


def demo_preset():
    from loratui.presets import load_presets

    return next(p for p in load_presets() if p.id == DEMO_PRESET)


def step_prepare(ctx: DemoContext) -> str:
    """A cleaned training copy at the preset's resolution (the tiny model's native 64 px):
    square crops, the trigger word first in every caption."""
    from loratui.dataset.prepare import PrepareOptions, prepare

    size = demo_preset().to_config().dataset.resolution
    out = ctx.root / "dataset_prepared"
    res = prepare(ctx.dataset_dir, out, PrepareOptions(mode="crop", resolution=size,
                                                       trigger_word=ctx.trigger, workers=0))
    ctx.source_dir, ctx.dataset_dir = ctx.dataset_dir, out
    return _("{n} images in {folder} ({size}×{size} crops, trigger word first); {missing} still "
             "without a caption").format(n=res.written + res.up_to_date, folder=out, size=size,
                                         missing=len(res.captions_missing))


def step_config(ctx: DemoContext) -> str:
    from loratui.config import save_config

    cfg = demo_preset().to_config()
    data = cfg.model_dump()
    data["model"]["base"] = "model"
    data["model"]["family"] = ctx.family
    data["dataset"].update(dir=str(ctx.dataset_dir.relative_to(ctx.root)),
                           trigger_word=ctx.trigger)
    data["output"].update(dir="runs", name="demo_lora")
    data["sample"]["prompts"] = ["{trigger}, a girl with red hair, smiling",
                                 "{trigger}, portrait of a girl, blue background"]
    cfg = type(cfg).model_validate(data)
    ctx.config_path = ctx.root / "loratui.toml"
    save_config(cfg, ctx.config_path)
    return _("{path} from preset {preset}").format(path=ctx.config_path, preset=DEMO_PRESET)


def step_train(ctx: DemoContext) -> str:
    from loratui.config import load_config
    from loratui.train import train

    cfg = load_config(ctx.config_path)
    result = train(cfg, log_to_stderr=False)
    ctx.run_dir = result.run_dir
    if result.state != "finished":
        raise RuntimeError(f"training {result.state}: {result.message}")
    ctx.lora_path = result.lora_path
    losses = result.losses
    k = max(1, len(losses) // 4)  # first vs last quarter: single steps are noisy
    first, last = sum(losses[:k]) / k, sum(losses[-k:]) / k
    return _("{steps} steps, mean loss {first} (first {k} steps) → {last} (last {k}); run folder "
             "{folder}").format(steps=result.step, first=f"{first:.3f}", k=k, last=f"{last:.3f}",
                                folder=ctx.run_dir)


def step_export(ctx: DemoContext) -> str:
    """Check the exported file the way a user's UI would read it, and render it with
    diffusers' `load_lora_weights` next to the base model."""
    from safetensors import safe_open

    from loratui.runs import RunFolder
    from loratui.train.check import render_with_lora

    with safe_open(str(ctx.lora_path), framework="pt") as fh:
        keys = list(fh.keys())
        meta = fh.metadata() or {}
    modules = {k.split(".")[0] for k in keys}
    out = ctx.run_dir / "samples"
    paths = render_with_lora(ctx.model_dir, ctx.lora_path, out,
                             prompt=f"{ctx.trigger}, a girl with red hair, smiling",
                             weights=(0.0, 0.8))
    ctx.samples = RunFolder(ctx.run_dir).samples()
    return _("{name}: {n} kohya modules, alpha {alpha}, {base}; diffusers renders {images}").format(
        name=ctx.lora_path.name, n=len(modules), alpha=meta.get("ss_network_alpha"),
        base=meta.get("ss_base_model_version"), images=", ".join(p.name for p in paths))


def step_doctor(ctx: DemoContext) -> str:
    """`loratui doctor` on the config, the dataset and the finished run (with its LoRA)."""
    from loratui.dataset.text import severity_label
    from loratui.doctor.catalog import localized_catalog
    from loratui.doctor.engine import diagnose

    # The run folder holds the resolved copy of the config, so the config is read once, there.
    paths = [p for p in (ctx.source_dir or ctx.dataset_dir, ctx.run_dir) if p is not None]
    diags, _inputs = diagnose([str(p) for p in paths], catalog=localized_catalog())
    ctx.results["doctor_diagnostics"] = diags
    counts: dict[str, int] = {}
    for d in diags:
        counts[d.severity] = counts.get(d.severity, 0) + 1
    shown_for = None
    for d in diags[:12]:
        if len(paths) > 1 and d.location.path != shown_for:  # say which input it is about
            shown_for = d.location.path
            ctx.log(f"      {_shown_path(shown_for, ctx.root)}")
        ctx.log(f"        {severity_label(d.severity)} {d.code} {d.shown_message[:110]}")
    said = {"error": lambda n: ngettext("{n} error", "{n} errors", n),
            "warning": lambda n: ngettext("{n} warning", "{n} warnings", n),
            "info": lambda n: ngettext("{n} info", "{n} info", n)}
    summary = pgettext("list separator", ", ").join(
        said[sev](n).format(n=n) for sev, n in sorted(counts.items()) if sev in said) \
        or _("no findings")
    return _("{summary} (the demo's deliberate dataset problems and its CPU-size settings); full "
             "report: {command}").format(summary=summary, command="loratui doctor " + " ".join(
                 str(p) for p in paths))


def _shown_path(path: str, root: Path) -> str:
    """A finding's file or folder, relative to the demo folder when it is inside it."""
    try:
        return str(Path(path).resolve().relative_to(root.resolve()))
    except ValueError:
        return path


DEMO_STEPS: list[DemoStep] = [
    DemoStep("model", N_("build the tiny model"), step_model),
    DemoStep("dataset", N_("write the demo dataset"), step_dataset),
    # scan / prepare use loratui.dataset and are skipped in a build without it
    DemoStep("scan", N_("scan the dataset"), step_scan, required=False),
    DemoStep("prepare", N_("prepare a training copy"), step_prepare, required=False),
    DemoStep("config", N_("write loratui.toml"), step_config),
    DemoStep("train", N_("train the LoRA"), step_train),
    DemoStep("export", N_("check and render the exported LoRA"), step_export),
    DemoStep("doctor", N_("doctor on the config, dataset and run"), step_doctor, required=False),
]


def run_demo(root: Path | str, steps: list[DemoStep] | None = None,
             log: Callable[[str], None] | None = None, family: str = "sd15") -> DemoContext:
    root = Path(root).expanduser().resolve()
    root.mkdir(parents=True, exist_ok=True)
    ctx = DemoContext(root=root, family=family)
    if log is not None:
        ctx.log = log
    steps = steps if steps is not None else DEMO_STEPS
    for n, step in enumerate(steps, start=1):
        ctx.log(f"[{n}/{len(steps)}] {_(step.title)} ...")
        t0 = time.perf_counter()
        try:
            summary = step.run(ctx)
        except Exception as exc:
            ctx.timings[step.name] = time.perf_counter() - t0
            ctx.log("      " + _("failed: {kind}: {error}").format(kind=type(exc).__name__,
                                                                  error=error_text(exc)))
            if step.required:
                ctx.failed = step.name
                return ctx
            continue
        ctx.timings[step.name] = time.perf_counter() - t0
        ctx.results[step.name] = summary
        if summary:
            ctx.log("      " + _("{summary} ({seconds} s)").format(
                summary=summary, seconds=f"{ctx.timings[step.name]:.1f}"))
    return ctx

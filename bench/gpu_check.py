"""GPU check: every preset of every family, measured against loratui's VRAM estimate.

For each preset (SD1.5 and SDXL tiers, character and style) this builds random-weight
full-size models from the shipped component configs (`data/<family>/`; nothing is
downloaded), runs N real training steps through loratui's trainer with the preset's
settings (precision, checkpointing, optimizer, text-encoder training and caching, batch,
resolution) and records:

- measured peak VRAM: torch's `max_memory_allocated` and NVML's per-process usage
  (what nvidia-smi shows, including the CUDA context and the allocator's cache);
- the analytic estimate (`loratui.vram`) and the ratio measured / estimate;
- it/s over the timed steps (after warm-up).

It prints one table and writes JSON. The estimate is to be held to ±10 % of NVML's figure.

    python bench/gpu_check.py                       # CUDA machine: every preset
    python bench/gpu_check.py --family sdxl --steps 5 --presets sdxl-12gb-character
    python bench/gpu_check.py --cpu --tiny          # same code path on the CPU (CI)

`--cpu --tiny` uses the tiny SD1.5- and SDXL-shaped models at 64 px instead of full-size
ones and reports the process's peak RSS in place of VRAM: it checks that every preset's
settings train through the same path, not the memory figures.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from loratui.train.quiet import set_quiet_env  # noqa: E402

set_quiet_env()


def full_size_components(family, device: str):
    """Random-weight full-size components of `family` from its shipped configs."""
    import torch
    import transformers
    from diffusers import AutoencoderKL, DDPMScheduler, UNet2DConditionModel

    from loratui.clip_tokenizer import clip_tokenizer
    from loratui.train.models import Components

    cfg_dir = family.config_dir
    read = lambda *p: json.loads(cfg_dir.joinpath(*p).read_text())  # noqa: E731
    with torch.device(device):
        unet = UNet2DConditionModel.from_config(read("unet", "config.json"))
        vae = AutoencoderKL.from_config(read("vae", "config.json"))
        tes = [getattr(transformers, slot.cls)(transformers.CLIPTextConfig.from_json_file(
            cfg_dir / slot.attr / "config.json")) for slot in family.text_encoders]
    sched = read("scheduler", "scheduler_config.json")
    return Components(unet=unet, vae=vae, text_encoders=tes,
                      tokenizers=[clip_tokenizer(pad_token=s.pad_token)
                                  for s in family.text_encoders],
                      noise_scheduler=DDPMScheduler.from_config(sched), scheduler_config=sched,
                      source=f"random {family.label} from {cfg_dir.name}/", family=family)


def tiny_components(family, folder: Path):
    from loratui.tiny import build_tiny_model
    from loratui.train.models import load_components

    model = folder / f"tiny-{family.id}"
    if not (model / "model_index.json").is_file():
        build_tiny_model(model, extra_words=["sks"], family=family.id)
    return load_components(model, family=family), model


def nvml_process_gb() -> float | None:
    """This process's GPU memory as NVML reports it (nvidia-smi's figure)."""
    try:
        import pynvml

        pynvml.nvmlInit()
        handle = pynvml.nvmlDeviceGetHandleByIndex(0)
        for proc in pynvml.nvmlDeviceGetComputeRunningProcesses(handle):
            if proc.pid == os.getpid() and proc.usedGpuMemory:
                return proc.usedGpuMemory / 2**30
    except Exception:  # NVML missing, no permission, or a MIG slice without per-process data
        return None
    return None


def run_preset(preset, args, workdir: Path) -> dict:
    import torch

    from loratui import families
    from loratui.config import RunConfig
    from loratui.tiny import write_demo_dataset
    from loratui.train.data import epoch_batches
    from loratui.train.loop import Trainer

    family = families.get(preset.family)
    cuda = not args.cpu
    data = workdir / "data"
    if not data.is_dir():
        write_demo_dataset(data, "sks")
    if args.tiny:
        comps, base = tiny_components(family, workdir)
    else:
        comps, base = full_size_components(family, "cuda" if cuda else "cpu"), workdir
    cfg_data = preset.to_config().model_dump()
    cfg_data["model"].update(base=str(base), family=family.id)
    cfg_data["dataset"].update(dir=str(data), trigger_word="sks")
    if args.tiny:
        cfg_data["dataset"]["resolution"] = 64
    cfg_data["output"].update(dir=str(workdir / "runs"))
    cfg_data["sample"]["every_n_epochs"] = 0
    if not cuda:
        cfg_data["training"]["mixed_precision"] = "no"
    if cfg_data["optimizer"]["name"] == "AdamW8bit":
        try:
            import bitsandbytes  # noqa: F401
        except ImportError:
            cfg_data["optimizer"]["name"] = "AdamW"  # recorded below
    cfg = RunConfig.model_validate(cfg_data)
    trainer = Trainer(cfg, None, cpu=not cuda, components=comps)
    trainer.setup()
    batches = [b for b in epoch_batches(trainer.plan, cfg.training.batch_size, 0, 1)
               if len(b) == cfg.training.batch_size] or \
        epoch_batches(trainer.plan, cfg.training.batch_size, 0, 1)
    trainer.epoch = 1
    for k in range(args.warmup):
        trainer.micro_step(batches[k % len(batches)], seed=k)
    if cuda:
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
    t0 = time.perf_counter()
    losses: list[float] = []
    for k in range(args.steps):
        losses.append(float(trainer.micro_step(batches[k % len(batches)], seed=1000 + k)))
    if cuda:
        torch.cuda.synchronize()
    dt = time.perf_counter() - t0
    est = preset.estimate()
    row = {"preset": preset.id, "family": family.id, "optimizer": cfg.optimizer.name,
           "resolution": cfg.dataset.resolution, "batch": cfg.training.batch_size,
           "estimate_gb": est.total_gb, "it_per_s": args.steps / dt,
           "losses": losses,
           "loss_finite": all(math.isfinite(x) for x in losses),
           "tiny": args.tiny}
    if cuda:
        row["torch_peak_gb"] = torch.cuda.max_memory_allocated() / 2**30
        row["nvml_gb"] = nvml_process_gb()
        measured = row["nvml_gb"] or row["torch_peak_gb"]
        row["measured_over_estimate"] = measured / est.total_gb
    else:
        row["peak_rss_gb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
    del trainer, comps
    if cuda:
        torch.cuda.empty_cache()
    return row


def child(preset_id: str, args, workdir: Path) -> dict:
    """One preset in a fresh process, so peaks do not carry over between presets."""
    import subprocess

    cmd = [sys.executable, __file__, "--only", preset_id, "--steps", str(args.steps),
           "--warmup", str(args.warmup), "--workdir", str(workdir)]
    cmd += ["--cpu"] if args.cpu else []
    cmd += ["--tiny"] if args.tiny else []
    out = subprocess.run(cmd, capture_output=True, text=True)
    try:
        return json.loads(out.stdout.strip().splitlines()[-1])
    except (ValueError, IndexError):
        return {"preset": preset_id, "error": out.stderr.strip().splitlines()[-1:] or
                [f"exit {out.returncode}"]}


def print_table(rows: list[dict], cpu: bool) -> None:
    import shutil

    from rich.console import Console
    from rich.table import Table

    table = Table(title="loratui presets: measured vs estimated memory", title_justify="left")
    for col in ("preset", "optimizer", "res×batch", "estimate",
                "peak RSS" if cpu else "torch peak", "NVML", "meas/est", "it/s"):
        table.add_column(col, no_wrap=True)
    gb = lambda v: "—" if v is None else f"{v:.2f} GB"  # noqa: E731
    for r in rows:
        if "error" in r:
            table.add_row(r["preset"], "error", " ".join(r["error"])[:60], "", "", "", "", "")
            continue
        ratio = r.get("measured_over_estimate")
        table.add_row(r["preset"], r["optimizer"], f"{r['resolution']}×{r['batch']}",
                      gb(r["estimate_gb"]), gb(r.get("torch_peak_gb", r.get("peak_rss_gb"))),
                      gb(r.get("nvml_gb")), "—" if ratio is None else f"{ratio:.2f}",
                      f"{r['it_per_s']:.2f}")
    # wide enough for every column even when stderr is a pipe (CI logs)
    width = max(110, shutil.get_terminal_size((110, 24)).columns)
    Console(stderr=True, width=width).print(table)


def environment(cuda: bool) -> dict:
    """What the figures were measured on (the JSON's `env`): GPU, driver and library
    versions, so a result sent back can be read without asking."""
    import importlib.metadata as md
    import platform

    import torch

    env = {"python": platform.python_version(), "torch": torch.__version__,
           "cuda": torch.version.cuda}
    for lib in ("diffusers", "transformers", "peft", "accelerate", "bitsandbytes"):
        try:
            env[lib] = md.version(lib)
        except md.PackageNotFoundError:
            env[lib] = None
    if cuda:
        props = torch.cuda.get_device_properties(0)
        env.update(gpu=props.name, gpu_total_gb=round(props.total_memory / 2**30, 2),
                   compute_capability=f"{props.major}.{props.minor}")
        try:
            import pynvml

            pynvml.nvmlInit()
            env["driver"] = pynvml.nvmlSystemGetDriverVersion()
        except Exception:  # NVML missing or unreadable: the rest still says enough
            env["driver"] = None
    return env


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--family", choices=("all", "sd15", "sdxl"), default="all")
    ap.add_argument("--presets", nargs="*", help="only these preset ids")
    ap.add_argument("--steps", type=int, default=10, help="timed steps per preset")
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--cpu", action="store_true", help="run on the CPU (with --tiny: CI)")
    ap.add_argument("--tiny", action="store_true", help="tiny models at 64 px")
    ap.add_argument("--json", default="gpu_check.json", help="where to write the results")
    ap.add_argument("--only", help=argparse.SUPPRESS)
    ap.add_argument("--workdir", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if not args.cpu:
        import torch

        if not torch.cuda.is_available():
            print("gpu_check: no CUDA GPU; run with --cpu --tiny to check the code path",
                  file=sys.stderr)
            return 2
    from loratui.presets import load_presets

    presets = {p.id: p for p in load_presets() if not p.cpu}
    unknown = [i for i in [*(args.presets or []), *([args.only] if args.only else [])]
               if i not in presets]
    if unknown:
        print(f"gpu_check: unknown preset id(s): {', '.join(unknown)}; known: "
              f"{', '.join(presets)}", file=sys.stderr)
        return 2
    if args.only:
        print(json.dumps(run_preset(presets[args.only], args, Path(args.workdir))))
        return 0
    chosen = [p for p in presets.values()
              if (args.family == "all" or p.family == args.family)
              and (not args.presets or p.id in args.presets)]
    if not chosen:
        print(f"gpu_check: no preset of family {args.family} among {', '.join(args.presets or [])}",
              file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory() as tmp:
        rows = [child(p.id, args, Path(tmp)) for p in chosen]
    print_table(rows, args.cpu)
    out = {"date": time.strftime("%Y-%m-%d %H:%M"), "cpu": args.cpu, "tiny": args.tiny,
           "steps": args.steps, "env": environment(not args.cpu), "rows": rows}
    Path(args.json).write_text(json.dumps(out, indent=2) + "\n", encoding="utf-8")
    print(f"wrote {args.json}", file=sys.stderr)
    return 1 if any("error" in r for r in rows) else 0


if __name__ == "__main__":
    sys.exit(main())

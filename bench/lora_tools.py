"""LoRA tools bench (issue 14, "Measured by"). Whole processes, ratios in one run.

1. blocks: `loratui lora blocks FILE` on a full-size SD1.5 LoRA (264 modules, every
   shape of the real layout, fp16, --rank 32 by default) divided by a process that only
   reads its tensors (`safetensors.numpy.load_file`). Target < 2.0.
2. grid: `loratui lora grid` on the tiny model (default rows and columns, --steps steps)
   divided by a process that loads the same pipeline and LoRA and makes the same number of
   pipeline calls with the same arguments. Target ≤ 1.10.

Usage: python bench/lora_tools.py [--rank 32] [--repeat 3] [--steps 8] [--dir PATH]
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchkit import loratui_command  # noqa: E402  (beside this script)

PIPELINE_CALLS = """
import sys, torch
from pathlib import Path
from loratui.lora.grid import load_grid_pipeline
base, lora, n, steps, size = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), \\
    int(sys.argv[5])
pipe = load_grid_pipeline(Path(base), Path(lora))
pipe.set_adapters(["lora"], adapter_weights=[0.7])
for _ in range(n):
    gen = torch.Generator().manual_seed(1234)
    with torch.no_grad():
        pipe("sks, a girl", height=size, width=size, num_inference_steps=steps,
             guidance_scale=7.0, generator=gen)
"""


def timed(cmd: list[str]) -> tuple[float, str]:
    start = time.perf_counter()
    r = subprocess.run(cmd, capture_output=True, text=True)
    wall = time.perf_counter() - start
    if r.returncode != 0:
        raise SystemExit(f"{cmd[:4]} failed: {r.stderr[-800:]}")
    return wall, r.stdout


def bench_blocks(folder: Path, rank: int, repeat: int) -> float:
    from tests.lora.lora_helpers import sd15_layout_lora

    path = folder / f"sd15_r{rank}.safetensors"
    if not path.exists():
        sd15_layout_lora(path, rank=rank, alpha=rank / 2)
    size = path.stat().st_size / 2**20
    read = [sys.executable, "-c", "import sys; from safetensors.numpy import load_file; "
            "load_file(sys.argv[1])", str(path)]
    blocks = [*loratui_command(), "lora", "blocks", str(path)]
    timed(read), timed(blocks)  # warm the page cache and bytecode
    base, ours = [], []
    for _ in range(repeat):  # interleaved, so load changes hit both sides
        base.append(timed(read)[0])
        ours.append(timed(blocks)[0])
    b, o = statistics.median(base), statistics.median(ours)
    print(f"blocks: full-size SD1.5 LoRA rank {rank} ({size:.0f} MB, 264 modules)")
    print(f"  read tensors (safetensors.numpy) {b:.3f} s   loratui lora blocks {o:.3f} s   "
          f"ratio {o / b:.2f} (target < 2.0)")
    return o / b


def bench_grid(folder: Path, steps: int, repeat: int) -> float:
    from loratui.tiny import build_tiny_model
    from tests.lora.lora_helpers import tiny_lora

    model = folder / "tiny"
    if not (model / "model_index.json").exists():
        build_tiny_model(model, extra_words=["sks"])
    lora = folder / "tiny_lora.safetensors"
    if not lora.exists():
        tiny_lora(model, lora, seed=1)
    size = 64
    base, ours, calls, inside = [], [], 0, []
    for i in range(repeat + 1):
        out = folder / f"grid{i}.png"
        shutil.rmtree(out.with_name(out.stem + ".cells"), ignore_errors=True)
        wall, stdout = timed([*loratui_command(), "lora", "grid", str(lora), "--base", str(model),
                              "--prompt", "sks, a girl", "--steps", str(steps), "--size",
                              str(size), "-o", str(out), "--json"])
        data = json.loads(stdout)
        calls = data["rendered"]
        b = timed([sys.executable, "-c", PIPELINE_CALLS, str(model), str(lora), str(calls),
                   str(steps), str(size)])[0]
        if i:  # the first pair warms caches
            ours.append(wall)
            base.append(b)
            inside.append(data["pipeline_seconds"])
    b, o = statistics.median(base), statistics.median(ours)
    print(f"grid: tiny model, {calls} pipeline calls ({data['rows'].__len__()} weights × "
          f"{len(data['columns'])} columns, identical cells rendered once), {steps} steps, "
          f"{size}px")
    print(f"  same pipeline calls alone {b:.2f} s   loratui lora grid {o:.2f} s   "
          f"ratio {o / b:.3f} (target ≤ 1.10); inside pipeline calls "
          f"{statistics.median(inside):.2f} s")
    return o / b


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rank", type=int, default=32)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--steps", type=int, default=8)
    ap.add_argument("--dir", type=Path)
    ap.add_argument("--only", choices=("blocks", "grid"))
    args = ap.parse_args()
    folder = args.dir or Path(tempfile.mkdtemp(prefix="loratui-bench-lora-"))
    folder.mkdir(parents=True, exist_ok=True)
    if args.only != "grid":
        bench_blocks(folder, args.rank, args.repeat)
    if args.only != "blocks":
        bench_grid(folder, args.steps, args.repeat)
    return 0


if __name__ == "__main__":
    sys.exit(main())

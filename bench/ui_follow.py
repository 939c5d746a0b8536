"""UI memory while following a 10,000-step training run (target: < 200 MB RSS).

A writer process plays the trainer: it appends 10,000 metric rows (the trainer's row
format) to a run folder, with events, state.json rewrites and a sample PNG every 1,000
steps, at about 1,000 steps/s. The real wizard runs headless in another process on the
Train step and follows the folder (worker thread, chart redrawn on its timer) until it
has all 10,000 points; then it reports its RSS. The baseline, measured in the same run,
is the same wizard idle on the Start step with no run.

Usage: python bench/ui_follow.py [--steps 10000] [--rate 1000]
"""

from __future__ import annotations

import argparse
import json
import math
import os
import socket
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

LIMIT_MB = 200


def write_state(run: Path, **fields) -> None:
    tmp = run / ".state.json.tmp"
    tmp.write_text(json.dumps(fields))
    os.replace(tmp, run / "state.json")


def play_trainer(run: Path, steps: int, rate: float) -> None:
    """Append rows like loratui.train.loop does, paced at `rate` steps per second."""
    from PIL import Image

    (run / "samples").mkdir(parents=True, exist_ok=True)
    (run / "config.toml").write_text('[output]\nname = "bench"\n')
    base = dict(pid=os.getpid(), host=socket.gethostname(), max_steps=steps, epochs=10,
                started_at=datetime.now(timezone.utc).isoformat())
    write_state(run, state="running", step=0, **base)
    t0 = time.monotonic()
    avg = None
    with (run / "metrics.jsonl").open("a") as metrics, (run / "events.jsonl").open("a") as ev:
        ev.write(json.dumps({"time": "", "type": "started", "message": f"{steps} steps"}) + "\n")
        for step in range(1, steps + 1):
            loss = 0.1 + 0.1 * math.exp(-step / 2000) + 0.02 * math.sin(step)
            avg = loss if avg is None else 0.98 * avg + 0.02 * loss
            metrics.write(json.dumps({
                "step": step, "epoch": 1 + step * 10 // steps, "loss": loss, "loss_avg": avg,
                "lr_unet": 1e-4, "lr_te": 5e-6, "sec_per_step": 1 / rate,
                "eta_s": (steps - step) / rate, "max_steps": steps,
                "time": datetime.now(timezone.utc).isoformat()}) + "\n")
            if step % 100 == 0:
                metrics.flush()
                write_state(run, state="running", step=step, **base)
            if step % 1000 == 0:
                Image.new("RGB", (512, 512), (step % 255, 90, 160)).save(
                    run / "samples" / f"s{step:06d}-0.png")
                ev.write(json.dumps({"time": "", "type": "sample", "message": f"{step}"}) + "\n")
                ev.flush()
            delay = t0 + step / rate - time.monotonic()
            if delay > 0:
                time.sleep(delay)
    write_state(run, state="finished", step=steps, **base)


UI_CHILD = r"""
import json, resource, sys, time
from pathlib import Path
import psutil
from loratui.gpu import GpuReport
from loratui.ui.app import create_app
from loratui.ui.widgets.loss_chart import LossChart

project, run, steps, idle = Path(sys.argv[1]), sys.argv[2], int(sys.argv[3]), float(sys.argv[4])
app = create_app(project, gpu=GpuReport(reason="bench"), run_dir=run or None,
                 step="train" if run else "start", watch_interval=0.5)
result = {}

def check():
    if run:
        chart = app.screen.query_one(LossChart) if hasattr(app.screen, "run_path") else None
        if chart is None or len(chart.steps) < steps:
            return
        result["points"] = len(chart.steps)
        result["redraws"] = chart.redraws
    elif time.monotonic() - t0 < idle:
        return
    result["rss_mb"] = psutil.Process().memory_info().rss / 2**20
    result["peak_mb"] = max(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, result["rss_mb"])
    result["seconds"] = time.monotonic() - t0
    app.exit()

t0 = time.monotonic()
app.call_later(lambda: app.set_interval(0.25, check))
app.run(headless=True, size=(120, 40))
print(json.dumps(result))
"""


def run_ui(project: Path, run: Path | None, steps: int, idle: float) -> dict:
    env = dict(os.environ, LORATUI_IMAGES="halfcell",
               PYTHONPATH=str(Path(__file__).resolve().parents[1]))
    out = subprocess.run([sys.executable, "-c", UI_CHILD, str(project), str(run or ""),
                          str(steps), str(idle)], capture_output=True, text=True, env=env,
                         timeout=600)
    if out.returncode != 0:
        raise SystemExit(f"UI process failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--steps", type=int, default=10_000)
    ap.add_argument("--rate", type=float, default=1000.0, help="steps per second written")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        project = Path(tmp) / "project"
        project.mkdir()
        run = project / "runs" / "bench-20260101-000000"
        run.mkdir(parents=True)
        writer = subprocess.Popen([sys.executable, "-c",
                                   "import sys; sys.path.insert(0, sys.argv[1]);"
                                   "import ui_follow; from pathlib import Path;"
                                   "ui_follow.play_trainer(Path(sys.argv[2]), int(sys.argv[3]),"
                                   " float(sys.argv[4]))",
                                   str(Path(__file__).parent), str(run), str(args.steps),
                                   str(args.rate)])
        following = run_ui(project, run, args.steps, 0)
        writer.wait(timeout=600)
        baseline = run_ui(project, None, args.steps, following["seconds"])
    ratio = following["rss_mb"] / baseline["rss_mb"]
    print(f"baseline: wizard idle on the Start step      RSS {baseline['rss_mb']:6.1f} MB "
          f"(peak {baseline['peak_mb']:.1f} MB)")
    print(f"following a {args.steps:,}-step run ({following['seconds']:.1f} s, "
          f"{following['redraws']} chart redraws)  RSS {following['rss_mb']:6.1f} MB "
          f"(peak {following['peak_mb']:.1f} MB)")
    print(f"ratio following / idle = {ratio:.2f}; peak {following['peak_mb']:.1f} MB vs "
          f"limit {LIMIT_MB} MB: {'OK' if following['peak_mb'] < LIMIT_MB else 'OVER LIMIT'}")


if __name__ == "__main__":
    main()

"""UI memory while following a 10,000-step training run (target: < 200 MB RSS).

`--foreign`: the wizard watches another trainer's run instead (Start step, "watch an
existing run"): a writer process plays sd-scripts, printing its tqdm lines (`\r`
updates, `epoch N/M` lines) into a growing log; 10,000 steps at speed, then a steady
phase at a trainer's pace during which the UI process's CPU time is measured (target:
< 5 % of one core), then one NaN line, whose time until the view shows the live
doctor's finding is measured (target: < 2 s). RSS as above.

A writer process plays the trainer: it appends 10,000 metric rows (the trainer's row
format) to a run folder, with events, state.json rewrites and a sample PNG every 1,000
steps, at about 1,000 steps/s. The real wizard runs headless in another process on the
Train step and follows the folder (worker thread, chart redrawn on its timer) until it
has all 10,000 points; then it reports its RSS. The baseline, measured in the same run,
is the same wizard idle on the Start step with no run.

Usage: python bench/ui_follow.py [--steps 10000] [--rate 1000]
       python bench/ui_follow.py --foreign [--steady-rate 5] [--window 20]
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
CPU_LIMIT = 0.05  # of one core, while following a run at a trainer's pace
NAN_LIMIT_S = 2.0


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


def tqdm_line(n: int, total: int, spi: float, avr_loss: str) -> str:
    """sd-scripts' progress bar as tqdm redraws it."""
    frac = n / total
    bar = ("█" * int(frac * 10)).ljust(10)
    elapsed, left = int(n * spi), int((total - n) * spi)
    rate = f"{spi:5.2f}s/it" if spi >= 1 else f"{1 / spi:5.2f}it/s"
    return (f"\rsteps: {int(100 * frac):3d}%|{bar}| {n}/{total} [{elapsed // 60:02d}:"
            f"{elapsed % 60:02d}<{left // 60:02d}:{left % 60:02d}, {rate}, avr_loss={avr_loss}]")


def play_sd_scripts(log: Path, steps: int, rate: float, steady_rate: float,
                    steady_s: float, nan_file: Path) -> None:
    """`steps` updates at `rate`/s, then `steady_s` seconds at `steady_rate`/s, then a NaN
    update; its wall time goes to `nan_file`."""
    steady = int(steady_rate * steady_s)
    total = steps + steady + 1
    epochs = 10
    per_epoch = max(1, total // epochs)
    with log.open("a", encoding="utf-8") as fh:
        fh.write("prepare tokenizer\nimport network module: networks.lora\n"
                 "running training / 学習開始\n"
                 f"  total optimization steps / 学習ステップ数: {total}\n")
        t0, avg = time.monotonic(), 0.12
        for step in range(1, steps + steady + 1):
            if (step - 1) % per_epoch == 0:
                fh.write(f"\n\nepoch {(step - 1) // per_epoch + 1}/{epochs}\n")
            avg = 0.98 * avg + 0.02 * (0.1 + 0.02 * math.sin(step))
            fh.write(tqdm_line(step, total, 1.5, f"{avg:.4f}"))
            fh.flush()
            due = (t0 + step / rate if step <= steps
                   else t0 + steps / rate + (step - steps) / steady_rate)
            delay = due - time.monotonic()
            if delay > 0:
                time.sleep(delay)
        tmp = nan_file.with_suffix(".tmp")
        tmp.write_text(repr(time.time()))
        tmp.replace(nan_file)
        fh.write(tqdm_line(steps + steady + 1, total, 1.5, "nan"))
        fh.flush()
    time.sleep(30)  # the trainer lives on (a NaN does not stop sd-scripts)


UI_WATCH_CHILD = r"""
import json, resource, sys, time
from pathlib import Path
import psutil
from loratui.gpu import GpuReport
from loratui.ui.app import create_app
from loratui.ui.widgets.loss_chart import LossChart

project, log, steps, window = Path(sys.argv[1]), Path(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4])
nan_file = Path(sys.argv[5])
app = create_app(project, gpu=GpuReport(reason="bench"), step="start", watch_interval=0.5)
me = psutil.Process()
result, mark = {}, {}

def cpu():
    t = me.cpu_times()
    return t.user + t.system

def watch():
    app.state.watch_path = log
    app.goto("train")
    screen = app.screen
    shown = screen._finding

    def finding(ev, events_log):  # the moment the view shows a finding
        shown(ev, events_log)
        result.setdefault("findings", []).append((ev.get("code"), time.time()))

    screen._finding = finding

def check():
    screen = app.screen
    if not getattr(screen, "foreign", False):
        return
    now = time.monotonic()
    points = len(screen.query_one(LossChart).smooth_steps)
    if "caught_up" not in mark:
        if points >= steps:
            mark["caught_up"] = now
            result["catch_up_s"] = now - t0
            result["rss_after_10k_mb"] = me.memory_info().rss / 2**20
        return
    if "cpu0" not in mark and now - mark["caught_up"] >= 2.0:  # settled: the steady phase
        mark["cpu0"], mark["wall0"], mark["points0"] = cpu(), now, points
        return
    if "cpu0" in mark and "cpu_fraction" not in result and now - mark["wall0"] >= window:
        result["cpu_fraction"] = (cpu() - mark["cpu0"]) / (now - mark["wall0"])
        result["window_s"] = now - mark["wall0"]
        result["steps_in_window"] = points - mark["points0"]
    if nan_file.exists() and "nan_seen" not in result:
        written = float(nan_file.read_text() or "inf")
        after = [(c, t) for c, t in result.get("findings", []) if t >= written]
        if after:
            result["finding"], result["nan_seen"] = after[0]
    if "nan_seen" in result and "cpu_fraction" in result:
        result["points"] = points
        result["rss_mb"] = me.memory_info().rss / 2**20
        result["peak_mb"] = max(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                                result["rss_mb"])
        result["seconds"] = now - t0
        app.exit()

t0 = time.monotonic()
app.call_later(watch)
app.call_later(lambda: app.set_interval(0.5, check))
app.run(headless=True, size=(120, 40))
print(json.dumps(result))
"""


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


def foreign(args) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        project = Path(tmp) / "project"
        project.mkdir()
        log, nan_file = Path(tmp) / "train.log", Path(tmp) / "nan-written"
        log.write_text("")
        writer = subprocess.Popen([sys.executable, "-c",
                                   "import sys; sys.path.insert(0, sys.argv[1]);"
                                   "import ui_follow; from pathlib import Path as P;"
                                   "ui_follow.play_sd_scripts(P(sys.argv[2]), int(sys.argv[3]),"
                                   " float(sys.argv[4]), float(sys.argv[5]), float(sys.argv[6]),"
                                   " P(sys.argv[7]))",
                                   str(Path(__file__).parent), str(log), str(args.steps),
                                   str(args.rate), str(args.steady_rate),
                                   str(args.window + 6), str(nan_file)])
        try:
            env = dict(os.environ, LORATUI_IMAGES="halfcell",
                       PYTHONPATH=str(Path(__file__).resolve().parents[1]))
            out = subprocess.run([sys.executable, "-c", UI_WATCH_CHILD, str(project), str(log),
                                  str(args.steps), str(args.window), str(nan_file)],
                                 capture_output=True,
                                 text=True, env=env, timeout=900)
            if out.returncode != 0:
                raise SystemExit(f"UI process failed:\n{out.stderr[-3000:]}")
            r = json.loads(out.stdout.strip().splitlines()[-1])
            nan_written = float(nan_file.read_text())
        finally:
            writer.kill()
            writer.wait()
    nan_s = r["nan_seen"] - nan_written
    load = os.getloadavg()
    print(f"following an sd-scripts log: {args.steps:,} steps at {args.rate:g}/s caught up in "
          f"{r['catch_up_s']:.1f} s, RSS {r['rss_after_10k_mb']:.1f} MB")
    print(f"steady phase at {args.steady_rate:g} steps/s: UI process CPU "
          f"{100 * r['cpu_fraction']:.2f} % of one core over {r['window_s']:.1f} s "
          f"({r['steps_in_window']} steps); ratio to the {100 * CPU_LIMIT:g} % limit = "
          f"{r['cpu_fraction'] / CPU_LIMIT:.2f}")
    before = sorted({c for c, t in r.get("findings", []) if t < nan_written})
    print(f"findings before the NaN: {', '.join(before) or 'none'}")
    print(f"NaN line written -> {r['finding']} shown in the view: {nan_s:.2f} s "
          f"(limit {NAN_LIMIT_S:g} s; ratio {nan_s / NAN_LIMIT_S:.2f})")
    print(f"end: RSS {r['rss_mb']:.1f} MB (peak {r['peak_mb']:.1f} MB) vs limit {LIMIT_MB} MB: "
          f"{'OK' if r['peak_mb'] < LIMIT_MB else 'OVER LIMIT'}; load average "
          f"{load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")
    print(json.dumps({**r, "nan_latency_s": nan_s, "load_avg": load,
                      "cpu_ratio_to_limit": r["cpu_fraction"] / CPU_LIMIT}))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--steps", type=int, default=10_000)
    ap.add_argument("--rate", type=float, default=1000.0, help="steps per second written")
    ap.add_argument("--foreign", action="store_true",
                    help="watch an sd-scripts log instead of a loratui run folder")
    ap.add_argument("--steady-rate", type=float, default=5.0,
                    help="--foreign: steps per second in the steady phase (default 5)")
    ap.add_argument("--window", type=float, default=20.0,
                    help="--foreign: seconds of the steady phase measured (default 20)")
    args = ap.parse_args()
    if args.foreign:
        foreign(args)
        return
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

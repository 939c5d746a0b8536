"""Dataset speed bench (issue 5, item 7). Ratios are measured against baselines in the same run.

1. scan: `loratui.dataset.scan()` (header-only default, all cores) over 10,000 generated
   images of mixed sizes and formats, divided by a baseline loop that only opens each
   file and reads its first 64 KB. Target ≤ 2.0.
2. the command as a user runs it: `loratui dataset scan DIR --json` and the text output,
   whole processes (start-up, imports, workers, output written to a pipe), divided by a
   process that lists the folder and reads the first 64 KB of every file. Target ≤ 2.0.
3. prepare: throughput of `loratui.dataset.prepare()` on all cores divided by a
   single-process PIL loop doing the same work (open, EXIF transpose, RGB, centre-crop
   to 512², save PNG). Target ≥ 1.7 on 2 cores.

Usage: python bench/dataset_scan.py [--images 10000] [--prepare-images 400] [--dir PATH]
                                    [--cli-only [--bytecode]]
The generated set is kept in --dir (default: a temp folder) and reused when present.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchkit import has_bytecode, loratui_command

SIZES = [(512, 512), (640, 480), (480, 640), (768, 1024), (1024, 768), (300, 400),
         (1200, 800), (512, 768), (256, 256), (1536, 1024)]
FORMATS = [("png", "PNG"), ("jpg", "JPEG"), ("jpg", "JPEG"), ("webp", "WEBP"), ("bmp", "BMP")]


def _make(args: tuple[int, str]) -> None:
    from PIL import Image, ImageDraw

    i, folder = args
    rng = random.Random(i)
    w, h = SIZES[i % len(SIZES)]
    ext, fmt = FORMATS[i % len(FORMATS)]
    mode = "RGBA" if (fmt in ("PNG", "WEBP") and i % 11 == 0) else "RGB"
    im = Image.linear_gradient("L").resize((w, h)).convert(mode)
    d = ImageDraw.Draw(im)
    for _ in range(6):
        x, y = rng.randrange(w), rng.randrange(h)
        d.rectangle((x, y, x + rng.randrange(20, 200), y + rng.randrange(20, 200)),
                    fill=tuple(rng.randrange(256) for _ in range(len(mode))))
    sub = Path(folder) / f"{1 + i % 3}_set{i % 3}"
    path = sub / f"img_{i:05d}.{ext}"
    kw = {"quality": 90} if fmt in ("JPEG", "WEBP") else {}
    if fmt == "PNG":
        kw["compress_level"] = 1
    im.save(path, fmt, **kw)
    if i % 2 == 0:
        (sub / f"img_{i:05d}.txt").write_text(f"zq_bench_, photo {i}, red dress, garden",
                                              encoding="utf-8")


def generate(folder: Path, n: int) -> None:
    stamp = folder / f".generated-{n}"
    if stamp.exists():
        return
    shutil.rmtree(folder, ignore_errors=True)
    for k in range(3):
        (folder / f"{k + 1}_set{k}").mkdir(parents=True)
    t = time.perf_counter()
    with ProcessPoolExecutor() as ex:
        list(ex.map(_make, [(i, str(folder)) for i in range(n)], chunksize=64))
    stamp.write_text("ok")
    print(f"generated {n} images in {time.perf_counter() - t:.1f} s", file=sys.stderr)


def image_paths(folder: Path) -> list[str]:
    return sorted(str(p) for p in folder.rglob("img_*") if p.suffix != ".txt")


def baseline_read(paths: list[str]) -> None:
    for p in paths:
        with open(p, "rb") as f:
            f.read(65536)


def baseline_walk_read(folder: Path) -> None:
    """List the folder and read the first 64 KB of every file in it (images and captions):
    the I/O floor of a scan, which must look at every file."""
    for dirpath, _dirs, files in os.walk(folder):
        for name in files:
            with open(os.path.join(dirpath, name), "rb") as f:
                f.read(65536)


def _spin(n: int) -> int:
    s = 0
    for i in range(n):
        s += i * i
    return s


def cpu_scaling(cores: int, n: int = 3_000_000) -> float:
    """How much `cores` processes speed up plain CPU work here (the ceiling of item 2)."""
    t = time.perf_counter()
    for _ in range(cores):
        _spin(n)
    serial = time.perf_counter() - t
    with ProcessPoolExecutor(cores) as ex:
        list(ex.map(_spin, [1000] * cores))             # start the workers first
        t = time.perf_counter()
        list(ex.map(_spin, [n] * cores))
        parallel = time.perf_counter() - t
    return serial / parallel


CPU: list[float] = []   # best CPU seconds (this process + finished workers) of the last best_of


def best_of(fns, repeat: int) -> list[float]:
    """Best wall time of each function, run in alternating rounds so that a change of load
    on the machine hits every side alike. Best CPU times are left in `CPU`."""
    best = [float("inf")] * len(fns)
    cpu = [float("inf")] * len(fns)
    for _ in range(repeat):
        for k, fn in enumerate(fns):
            c0 = _cpu()
            t = time.perf_counter()
            fn()
            best[k] = min(best[k], time.perf_counter() - t)
            cpu[k] = min(cpu[k], _cpu() - c0)
    CPU[:] = cpu
    return best


def _cpu() -> float:
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system


READ_LOOP = """
import os, sys
for dirpath, _dirs, files in os.walk(sys.argv[1]):
    for name in files:
        with open(os.path.join(dirpath, name), "rb") as f:
            f.read(65536)
"""


def run_process(cmd: list[str]) -> None:
    """Run `cmd` with its output read through a pipe, as a terminal or `| jq` would."""
    import subprocess

    out = subprocess.run(cmd, capture_output=True, check=False)
    if out.returncode not in (0, 1):  # 1: findings at --fail-on level
        raise SystemExit(f"{' '.join(cmd)} failed: {out.stderr.decode()[-2000:]}")


def cli_figures(data: Path, repeat: int) -> None:
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    print(f"load average {load}; "
          + ("loratui bytecode present" if has_bytecode() else
             "no loratui bytecode: every run compiles its sources"))
    base = [sys.executable, "-c", READ_LOOP, str(data)]
    scan_cmd = [*loratui_command(), "dataset", "scan", str(data)]
    run_process(scan_cmd)  # warm the page cache and the rules cache
    t_base, t_json, t_text = best_of([lambda: run_process(base),
                                      lambda: run_process([*scan_cmd, "--json"]),
                                      lambda: run_process(scan_cmd)], repeat)
    c_base, c_json, c_text = CPU
    print(f"read-loop process {t_base:7.3f} s  (python: list the folder, read 64 KB of each "
          f"file; CPU {c_base:.3f} s)")
    for name, t, c in (("--json", t_json, c_json), ("text  ", t_text, c_text)):
        ratio = t / t_base
        print(f"loratui dataset scan DIR {name} {t:7.3f} s  ratio {ratio:.2f}  target <= 2.0  "
              f"{'PASS' if ratio <= 2.0 else 'FAIL'}   (CPU {c:.3f} s, ratio "
              f"{c / max(c_base, 1e-9):.2f})")


def baseline_prepare(paths: list[str], out: Path) -> None:
    from PIL import Image, ImageOps

    out.mkdir(parents=True, exist_ok=True)
    for p in paths:
        with Image.open(p) as im:
            im = ImageOps.exif_transpose(im).convert("RGB")
            im = ImageOps.fit(im, (512, 512), Image.Resampling.LANCZOS)
            im.save(out / (Path(p).stem + ".png"), "PNG", compress_level=4)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--images", type=int, default=10_000)
    ap.add_argument("--prepare-images", type=int, default=400)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--cli-only", action="store_true",
                    help="only the whole-command figures (2.)")
    ap.add_argument("--bytecode", action="store_true",
                    help="with --cli-only: then compile loratui (as a wheel install leaves it) "
                         "and time the commands again")
    ap.add_argument("--dir", default=os.path.join(tempfile.gettempdir(), "loratui-bench-dataset"))
    args = ap.parse_args()

    from loratui.dataset import scan
    from loratui.dataset.prepare import prepare

    root = Path(args.dir)
    data = root / "set"
    generate(data, args.images)
    paths = image_paths(data)
    cores = os.cpu_count() or 1
    print(f"{len(paths)} images ({', '.join(sorted({Path(p).suffix for p in paths}))}), "
          f"{cores} cores, python {sys.version.split()[0]}")

    if args.cli_only:
        cli_figures(data, args.repeat)
        if args.bytecode and not has_bytecode():
            import subprocess

            subprocess.run([sys.executable, "-m", "compileall", "-q",
                            str(Path(__file__).resolve().parents[1] / "loratui")],
                           stdout=subprocess.DEVNULL, check=True)
            print("with bytecode (compileall, as a wheel install leaves it):")
            cli_figures(data, args.repeat)
        return 0
    scaling = cpu_scaling(cores)
    print(f"this machine: {cores} processes run plain CPU work {scaling:.2f}x faster than one")
    baseline_walk_read(data)                   # warm the page cache for both sides
    scan(data)
    reports = []
    t_base, t_imgs, t_scan, t_scan1 = best_of(
        [lambda: baseline_walk_read(data), lambda: baseline_read(paths),
         lambda: reports.append(scan(data)), lambda: scan(data, workers=1)], args.repeat)
    c_base, _c_imgs, c_scan, c_scan1 = CPU
    r = reports[-1]
    ratio = t_scan / t_base
    print(f"scan     {t_scan:7.3f} s  ({len(paths) / t_scan:,.0f} images/s, all cores; "
          f"{r.totals.usable} usable, {len(r.findings)} finding kinds); one process "
          f"{t_scan1:.3f} s")
    print(f"baseline {t_base:7.3f} s  (one loop: list the folder, open every file, read its "
          "first 64 KB)")
    print(f"scan / baseline = {ratio:.2f}   target <= 2.0   "
          f"{'PASS' if ratio <= 2.0 else 'FAIL'}")
    print(f"  (against images only, list given: {t_imgs:.3f} s, ratio {t_scan / t_imgs:.2f})")
    print(f"  CPU time, not disturbed by other load: scan {c_scan1:.3f} s in one process, "
          f"{c_scan:.3f} s with workers; baseline {c_base:.3f} s; one-process CPU ratio "
          f"{c_scan1 / max(c_base, 1e-9):.2f}")

    cli_figures(data, args.repeat)

    # prepare: a sample of the same images (every size and format)
    src = root / "prepare-src"
    sample = paths[:: max(1, len(paths) // args.prepare_images)][: args.prepare_images]
    if not src.exists() or len(list(src.iterdir())) != len(sample):
        shutil.rmtree(src, ignore_errors=True)
        src.mkdir(parents=True)
        for p in sample:
            shutil.copy2(p, src / Path(p).name)
    out_base, out_ours = root / "prepare-baseline", root / "prepare-ours"

    def run_base():
        shutil.rmtree(out_base, ignore_errors=True)
        baseline_prepare(sorted(str(p) for p in src.iterdir()), out_base)

    def run_ours():
        shutil.rmtree(out_ours, ignore_errors=True)
        res = prepare(src, out_ours)
        assert res.written == len(sample) and not res.failed, res

    t_pb, t_po = best_of([run_base, run_ours], max(1, args.repeat - 1))
    speed = t_pb / t_po
    print(f"prepare  {t_po:7.3f} s  ({len(sample) / t_po:,.1f} images/s, all cores)")
    print(f"baseline {t_pb:7.3f} s  ({len(sample) / t_pb:,.1f} images/s, single-process PIL)")
    print(f"prepare throughput / baseline = {speed:.2f}   target >= 1.7 on 2 cores   "
          f"{'PASS' if speed >= 1.7 else 'FAIL'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

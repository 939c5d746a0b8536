"""Start-up cost of `loratui --help` against `python -c "import rich"`, measured in one run.

The commands run in alternating rounds (a change of load on the machine hits every side
alike); prints the median wall time of each, the ratio (target <= 2.0), and the ratio of
CPU time, which other load disturbs less. Usage: python bench/startup.py [-n RUNS]
"""

from __future__ import annotations

import argparse
import resource
import statistics
import subprocess
import sys
import time


def children_cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def measure(cases: dict[str, list[str]], runs: int) -> dict[str, tuple[float, float]]:
    """(median wall, median CPU) of each command, rounds alternating between them."""
    for cmd in cases.values():
        subprocess.run(cmd, capture_output=True)  # warm the file cache
    wall: dict[str, list[float]] = {name: [] for name in cases}
    cpu: dict[str, list[float]] = {name: [] for name in cases}
    for _ in range(runs):
        for name, cmd in cases.items():
            c0, t0 = children_cpu(), time.perf_counter()
            subprocess.run(cmd, capture_output=True, check=True)
            wall[name].append(time.perf_counter() - t0)
            cpu[name].append(children_cpu() - c0)
    return {name: (statistics.median(wall[name]), statistics.median(cpu[name]))
            for name in cases}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("-n", "--runs", type=int, default=21)
    runs = ap.parse_args().runs
    py = sys.executable
    base_name = "baseline: python -c 'import rich'"
    cases = {
        base_name: [py, "-c", "import rich"],
        "loratui --help": [py, "-m", "loratui", "--help"],
        "loratui presets --gpu 8GB": [py, "-m", "loratui", "presets", "--gpu", "8GB"],
    }
    results = measure(cases, runs)
    base, base_cpu = results[base_name]
    for name, (t, c) in results.items():
        print(f"{name:<40} {t * 1000:7.1f} ms   ratio {t / base:4.2f}   "
              f"CPU {c * 1000:6.1f} ms  ratio {c / max(base_cpu, 1e-9):4.2f}")
    ratio = results["loratui --help"][0] / base
    print(f"\nloratui --help / import rich = {ratio:.2f} (target <= 2.0): "
          f"{'OK' if ratio <= 2.0 else 'OVER TARGET'}")


if __name__ == "__main__":
    main()

"""Start-up cost of `loratui --help` against `python -c "import rich"`, measured in one run.

Prints the medians and the ratio (target <= 2.0). Usage: python bench/startup.py [-n RUNS]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time


def median_wall(cmd: list[str], runs: int) -> float:
    subprocess.run(cmd, capture_output=True)  # warm the file cache
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        subprocess.run(cmd, capture_output=True, check=True)
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("-n", "--runs", type=int, default=21)
    runs = ap.parse_args().runs
    py = sys.executable
    cases = {
        "baseline: python -c 'import rich'": [py, "-c", "import rich"],
        "loratui --help": [py, "-m", "loratui", "--help"],
        "loratui presets --gpu 8GB": [py, "-m", "loratui", "presets", "--gpu", "8GB"],
    }
    results = {name: median_wall(cmd, runs) for name, cmd in cases.items()}
    base = results["baseline: python -c 'import rich'"]
    for name, t in results.items():
        print(f"{name:<40} {t * 1000:7.1f} ms   ratio {t / base:4.2f}")
    ratio = results["loratui --help"] / base
    print(f"\nloratui --help / import rich = {ratio:.2f} (target <= 2.0): "
          f"{'OK' if ratio <= 2.0 else 'OVER TARGET'}")


if __name__ == "__main__":
    main()

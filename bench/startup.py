"""Start-up cost of `loratui --help` against `python -c "import rich"`, measured in one run,
in English and in Chinese (`--lang zh`: the message catalogue is read; in English it is
never opened), as the user runs them: the installed `loratui` script, a whole process.

Also `loratui doctor <the demo's loratui.toml>` (its dataset scanned through the config) in
both languages. The commands run in alternating rounds (a change of load on the machine
hits every side alike); prints the median wall time of each, the ratio to `import rich`
(target <= 2.0 for --help in both languages), the ratio of CPU time, which other load
disturbs less, and the load average before and after.
Usage: python bench/startup.py [-n RUNS]
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import time


def children_cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def measure(cases: dict[str, list[str]], runs: int, env=None
            ) -> dict[str, tuple[float, float]]:
    """(median wall, median CPU) of each command, rounds alternating between them."""
    for cmd in cases.values():
        subprocess.run(cmd, capture_output=True, env=env)  # warm the file and rule caches
    wall: dict[str, list[float]] = {name: [] for name in cases}
    cpu: dict[str, list[float]] = {name: [] for name in cases}
    for _ in range(runs):
        for name, cmd in cases.items():
            c0, t0 = children_cpu(), time.perf_counter()
            subprocess.run(cmd, capture_output=True, env=env)   # doctor exits 1 on findings
            wall[name].append(time.perf_counter() - t0)
            cpu[name].append(children_cpu() - c0)
    return {name: (statistics.median(wall[name]), statistics.median(cpu[name]))
            for name in cases}


def main() -> None:
    import tempfile
    from pathlib import Path

    from doctor import loratui_command, write_demo_project  # bench/doctor.py

    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("-n", "--runs", type=int, default=21)
    runs = ap.parse_args().runs
    py = sys.executable
    loratui = loratui_command()
    base_name = "baseline: python -c 'import rich'"
    load = os.getloadavg()
    with tempfile.TemporaryDirectory() as tmp:
        demo = str(write_demo_project(Path(tmp) / "demo"))
        cases = {
            base_name: [py, "-c", "import rich"],
            "loratui --help": [*loratui, "--help"],
            "loratui --lang zh --help": [*loratui, "--lang", "zh", "--help"],
            "loratui presets --gpu 8GB": [*loratui, "presets", "--gpu", "8GB"],
            "loratui doctor DEMO": [*loratui, "doctor", demo],
            "loratui --lang zh doctor DEMO": [*loratui, "--lang", "zh", "doctor", demo],
        }
        # loratui's data cache in a folder of its own (see bench/doctor.py)
        env = {**os.environ, "LORATUI_CACHE_DIR": str(Path(tmp) / "cache")}
        results = measure(cases, runs, env)
    base, base_cpu = results[base_name]
    for name, (t, c) in results.items():
        print(f"{name:<40} {t * 1000:7.1f} ms   ratio {t / base:4.2f}   "
              f"CPU {c * 1000:6.1f} ms  ratio {c / max(base_cpu, 1e-9):4.2f}")
    after = os.getloadavg()
    print(f"\nload average {load[0]:.2f} before, {after[0]:.2f} after; DEMO = the demo's "
          "loratui.toml with its dataset")
    for name in ("loratui --help", "loratui --lang zh --help"):
        ratio = results[name][0] / base
        print(f"{name} / import rich = {ratio:.2f} (target <= 2.0): "
              f"{'OK' if ratio <= 2.0 else 'OVER TARGET'}")
    zh, en = results["loratui --lang zh doctor DEMO"][0], results["loratui doctor DEMO"][0]
    print(f"doctor DEMO in Chinese / in English = {zh / en:.2f}")


if __name__ == "__main__":
    main()

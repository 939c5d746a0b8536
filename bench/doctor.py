"""Speed of `loratui doctor`, as ratios measured in one run (see GUIDE: bench/ scripts).

1. doctor on a config vs `python -c "import rich"` (target ≤ 2.0; no torch import).
2. doctor on a generated 50 MB training log vs `grep -c` over the same file (aim ≤ 10).
Run: python bench/doctor.py [--mb 50] [--repeat 7]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def best(cmd: list[str], repeat: int, env=None) -> float:
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
        times.append(time.perf_counter() - t)
    return min(times), statistics.median(times)


def make_log(path: Path, mb: int) -> None:
    line = ("steps:  42%|████▏     | 4200/10000 [1:02:03<1:25:41,  1.13it/s, avr_loss=0.0934]\r")
    chunk = (line * 200 + "\n" + "INFO epoch 3/10 saving checkpoint\n") * 10
    with open(path, "w", encoding="utf-8") as fh:
        written = 0
        while written < mb * 1024 * 1024:
            fh.write(chunk)
            written += len(chunk.encode())
        fh.write("torch.cuda.OutOfMemoryError: CUDA out of memory. Tried to allocate 20.00 MiB\n")


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--mb", type=int, default=50)
    ap.add_argument("--repeat", type=int, default=7)
    args = ap.parse_args()
    root = Path(__file__).resolve().parent.parent
    env = dict(os.environ, PYTHONPATH=str(root) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    py = sys.executable
    with tempfile.TemporaryDirectory() as tmp:
        cfg = Path(tmp) / "loratui.toml"
        cfg.write_text("[network]\nrank = 32\nalpha = 64\n[training]\nbatch_size = 4\n",
                       encoding="utf-8")
        subprocess.run([py, "-m", "loratui", "doctor", str(cfg)], env=env,
                       stdout=subprocess.DEVNULL)  # warm the rule cache
        rich_b, rich_m = best([py, "-c", "import rich"], args.repeat)
        doc_b, doc_m = best([py, "-m", "loratui", "doctor", str(cfg)], args.repeat, env)
        print(f"import rich          best {rich_b*1000:7.1f} ms  median {rich_m*1000:7.1f} ms")
        print(f"doctor loratui.toml  best {doc_b*1000:7.1f} ms  median {doc_m*1000:7.1f} ms")
        print(f"ratio config/rich    {doc_b / rich_b:.2f} (target <= 2.0)")
        log = Path(tmp) / "train.log"
        make_log(log, args.mb)
        grep = shutil.which("grep")
        if grep is None:
            print("grep not found: skipping the log ratio")
            return 0
        g_b, g_m = best([grep, "-c", "loss", str(log)], args.repeat)
        d_b, d_m = best([py, "-m", "loratui", "doctor", str(log)], max(3, args.repeat // 2), env)
        print(f"grep -c ({args.mb} MB)     best {g_b*1000:7.1f} ms  median {g_m*1000:7.1f} ms")
        print(f"doctor log ({args.mb} MB)  best {d_b*1000:7.1f} ms  median {d_m*1000:7.1f} ms")
        print(f"ratio log/grep       {d_b / g_b:.2f} (aim <= 10)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Speed of `loratui doctor`, as the user runs it, in ratios measured in one run (GUIDE:
bench/ scripts time whole processes).

1. `loratui doctor FILE` (the installed console script, a fresh process, the environment as
   it is) vs `python -c "import rich"` (target <= 2.0; no torch import), on:
   - a real kohya_ss GUI preset (tests/fixtures/kohya_ss_presets, Apache-2.0),
   - a loratui.toml as `loratui presets --write` makes it (paths filled in, rank 32),
   - the demo's loratui.toml with its dataset (written by the demo's own steps: the dataset,
     its prepared copy and the config; the doctor scans the dataset through the config).
   Nothing is compiled first: where PYTHONDONTWRITEBYTECODE is set and the install is
   editable, every run compiles loratui's sources, and the figures include that. The bench
   says which case it measured; `--bytecode` compiles loratui first (as `pip install` of a
   wheel does) and times both.
2. doctor on a generated 50 MB sd-scripts training log vs `grep -c` of a needle a user
   would grep for, over the same file (aim <= 10). The log is what `accelerate launch
   train_network.py ... 2>&1 | tee train.log` leaves: rich-handler INFO lines, tqdm
   progress with thousands of `\\r` updates per line, epoch and checkpoint lines, benign
   warnings, and a CUDA out-of-memory traceback near the end. The bench checks that the
   doctor found it (LG103, at the right line).
3. peak memory (whole process, max RSS) of doctor on a 200 MB log of short lines and on one
   made only of newlines (target < 300 MB; it was 1.9 GB for the newlines): the log is
   streamed, never held twice.

Commands take turns run by run; best and median of each are printed; ratios are of bests,
with the load average before and after (2 shared cores: only quiet runs compare). loratui's
data cache (parsed rules) is a folder of the bench's own, filled by a first run: other
checkouts sharing the user cache folder evict each other's entries, and a run that re-parses
the rules is not what a user's second run does.
`--instructions` also counts the instructions of each command (valgrind), a figure that
stays put under load, for comparing two versions on a busy machine.
Run: python bench/doctor.py [--mb 50] [--repeat 15] [--memory-mb 200] [--bytecode] [--no-log]
                            [--lang en|zh] [--instructions]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchkit import has_bytecode, instructions, loratui_command  # noqa: E402  (beside this script)

from tests.trainer_streams import tqdm_line  # noqa: E402  (the trainer output the tests use)

CONFIG = """\
[model]
base = "/models/v1-5-pruned-emaonly.safetensors"
family = "sd15"
v_prediction = false

[dataset]
dir = "/data/hanfu/10_hanfu"
resolution = 512
bucketing = false
caption_extension = ".txt"
trigger_word = "hanfu_girl_"
keep_tokens = 1
repeats = 10

[network]
kind = "character"
rank = 32
alpha = 16.0
train_text_encoder = true

[optimizer]
unet_lr = 0.0001
text_encoder_lr = 5e-05
name = "AdamW8bit"
scheduler = "cosine"

[training]
batch_size = 4
gradient_accumulation = 1
epochs = 10
mixed_precision = "fp16"
gradient_checkpointing = true
attention = "sdpa"
no_half_vae = false
cache_latents = true
seed = 42
save_every_n_epochs = 1

[output]
dir = "runs"
name = "hanfu"
save_precision = "fp16"
"""

NEEDLE = "CUDA out of memory"  # what a user greps a failed run's log for


def peak_rss_mb(cmd: list[str], env=None) -> float:
    """Max resident memory of `cmd` as a whole process, in MiB: measured by a fresh
    Python parent (RUSAGE_CHILDREN keeps the largest child it waited for)."""
    probe = ("import resource, subprocess, sys; "
             "subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL); "
             "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)")
    out = subprocess.run([sys.executable, "-c", probe, *cmd], env=env, capture_output=True,
                         text=True, check=True)
    kb = int(out.stdout.strip().splitlines()[-1])
    return kb / (1024 * 1024) if sys.platform == "darwin" else kb / 1024


def write_short_lines(path: Path, mb: int) -> None:
    """`mb` MB of short log lines (steps and losses), written in 1 MB pieces."""
    piece = "".join(f"step {i} loss 0.{i % 97:02d}\n" for i in range(60_000)).encode()
    with open(path, "wb") as fh:
        while fh.tell() < mb << 20:
            fh.write(piece)


def write_newlines(path: Path, mb: int) -> None:
    with open(path, "wb") as fh:
        for _ in range(mb):
            fh.write(b"\n" * (1 << 20))


def timed(cmds: list[list[str]], repeat: int, env=None) -> list[tuple[float, float]]:
    """(best, median) wall time in seconds of each command. The commands take turns, run
    by run, so a machine that gets busier or quieter meanwhile affects them alike."""
    times: list[list[float]] = [[] for _ in cmds]
    for _ in range(repeat):
        for cmd, out in zip(cmds, times, strict=True):
            t = time.perf_counter()
            subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
            out.append(time.perf_counter() - t)
    return [(min(t), statistics.median(t)) for t in times]


# ------------------------------------------------------------------ a realistic training log

def _stamp(t: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(1_763_600_000 + t))


def _info(t: float, msg: str, src: str, level: str = "INFO") -> str:
    return f"{_stamp(t)} {level:<8} {msg:<70} {src}\n"


def _bar(desc: str, i: int, total: int, elapsed: float, rate: float, loss: str | None) -> str:
    """sd-scripts' progress line at `rate` it/s, as tqdm draws it."""
    return tqdm_line(desc, i, total, elapsed, 1 / rate if rate else 0,
                     f"avr_loss={loss}" if loss else "")


HEADER = """\
The following values were not passed to `accelerate launch` and had defaults used instead:
\t`--num_processes` was set to a value of `1`
\t`--num_machines` was set to a value of `1`
\t`--mixed_precision` was set to a value of `'no'`
\t`--dynamo_backend` was set to a value of `'no'`
To avoid this warning pass in values for each of the problematic parameters or run `accelerate config`.
"""


def make_log(path: Path, mb: int, seed: int = 0) -> int:
    """Write a ~`mb` MB sd-scripts log; returns the 1-based line of the OOM error."""
    rng = random.Random(seed)
    target = mb * 1024 * 1024
    out: list[str] = [HEADER]
    t = 0.0
    for msg, src in [
        ("Loading settings from /workspace/config/hanfu.toml...", "train_util.py:4174"),
        ("/workspace/config/hanfu", "train_util.py:4193"),
        ("prepare tokenizer", "train_util.py:4658"),
        ("update token length: 225", "train_util.py:4675"),
        ("Using DreamBooth method.", "train_network.py:281"),
        ("prepare images.", "train_util.py:1871"),
        ("found directory /workspace/data/10_hanfu contains 120 image files",
         "train_util.py:1818"),
        ("1200 train images with repeating.", "train_util.py:1912"),
        ("0 reg images.", "train_util.py:1915"),
    ]:
        out.append(_info(t, msg, src))
        t += 0.01
    out.append(_info(t, "no regularization images / 正則化画像が見つかりませんでした",
                     "train_util.py:1920", "WARNING"))
    out.append("A matching Triton is not available, some optimizations will not be enabled\n")
    for msg, src in [("loading model for process 0/1", "train_util.py:4813"),
                     ("load StableDiffusion checkpoint: /models/v1-5-pruned-emaonly.safetensors",
                      "train_util.py:4769"),
                     ("UNet2DConditionModel: 64, 8, 768, False, False", "original_unet.py:1387"),
                     ("loading u-net: <All keys matched successfully>", "model_util.py:1009"),
                     ("loading vae: <All keys matched successfully>", "model_util.py:1017"),
                     ("loading text encoder: <All keys matched successfully>",
                      "model_util.py:1074"),
                     ("Enable xformers for U-Net", "train_util.py:2577"),
                     ("caching latents.", "train_util.py:923")]:
        t += rng.uniform(0.2, 3)
        out.append(_info(t, msg, src))
    updates = [_bar("", i, 120, i / 5.6, 5.6, None) for i in range(0, 121, 3)]
    out.append("\r" + "\r".join(updates) + "\n")
    for msg, src in [("create LoRA network. base dim (rank): 16, alpha: 8", "lora.py:810"),
                     ("create LoRA for Text Encoder: 72 modules.", "lora.py:866"),
                     ("create LoRA for U-Net: 192 modules.", "lora.py:874"),
                     ("enable LoRA for text encoder", "lora.py:917"),
                     ("enable LoRA for U-Net", "lora.py:922"),
                     ("use 8-bit AdamW optimizer | {}", "train_util.py:3773")]:
        out.append(_info(t, msg, src))
    epochs = 40
    per_update = sum(len(_bar("steps", k * 32000, 640000, 200000, 1.66, "0.0934").encode()) + 1
                     for k in range(21)) / 21
    steps_per_epoch = max(50, int(target / per_update / epochs))
    total = steps_per_epoch * epochs
    out.append(f"running training / 学習開始\n  num train images * repeats / 学習画像の数×繰り返し回数: "
               f"{steps_per_epoch}\n  num epochs / epoch数: {epochs}\n  batch size per device / "
               f"バッチサイズ: 1\n  total optimization steps / 学習ステップ数: {total}\n")
    out.append(_bar("steps", 0, total, 0, 0.0, None) + "\n")
    newlines = 0  # written so far
    oom_line = 0
    loss = 0.12
    step = 0
    with open(path, "w", encoding="utf-8", newline="") as fh:
        for epoch in range(1, epochs + 1):
            out.append(f"\nepoch {epoch}/{epochs}\n")
            block = []
            crash = epoch == epochs
            n = steps_per_epoch if not crash else steps_per_epoch * 3 // 4
            for _ in range(n):
                step += 1
                loss += rng.uniform(-0.003, 0.003) - (loss - 0.09) * 0.01
                block.append(_bar("steps", step, total, t, 1.66, f"{loss:.4f}"))
                t += 0.6
                if step % 997 == 0 and rng.random() < 0.3:  # a warning printed mid-bar
                    block[-1] += ("/usr/lib/python3/torch/utils/checkpoint.py:429: UserWarning: "
                                  "None of the inputs have requires_grad=True. Gradients will "
                                  "be None\n  warnings.warn(")
            out.append("\r" + "\r".join(block))
            if crash:  # the traceback lands right after the last update, as stderr does
                before = "".join(out)
                head = OOM_TRACE[:OOM_TRACE.index("torch.cuda.OutOfMemoryError")]
                oom_line = newlines + before.count("\n") + head.count("\n") + 1
                fh.write(before + OOM_TRACE)
                break
            out.append("\n")
            out.append(_info(t, f"saving checkpoint: /workspace/output/hanfu-{epoch:06d}"
                                ".safetensors", "train_network.py:1050"))
            chunk = "".join(out)
            fh.write(chunk)
            newlines += chunk.count("\n")
            out = []
    return oom_line


OOM_TRACE = """Traceback (most recent call last):
  File "/workspace/sd-scripts/train_network.py", line 1115, in <module>
    trainer.train(args)
  File "/workspace/sd-scripts/train_network.py", line 889, in train
    accelerator.backward(loss)
  File "/usr/lib/python3/site-packages/accelerate/accelerator.py", line 2151, in backward
    loss.backward(**kwargs)
  File "/usr/lib/python3/site-packages/torch/_tensor.py", line 522, in backward
    torch.autograd.backward(
torch.cuda.OutOfMemoryError: CUDA out of memory. Tried to allocate 20.00 MiB (GPU 0; 7.76 GiB total capacity; 6.89 GiB already allocated; 11.69 MiB free; 7.12 GiB reserved in total by PyTorch) If reserved memory is >> allocated memory try setting max_split_size_mb to avoid fragmentation.
Traceback (most recent call last):
  File "/usr/bin/accelerate", line 8, in <module>
    sys.exit(main())
subprocess.CalledProcessError: Command '['/usr/bin/python', 'train_network.py', '--config_file=/workspace/config/hanfu.toml']' returned non-zero exit status 1.
"""


def write_demo_project(root: Path) -> Path:
    """The demo's loratui.toml and dataset, by the demo's own steps (no model, no training)."""
    from loratui.demo import DEMO_STEPS, run_demo

    steps = [s for s in DEMO_STEPS if s.name in ("dataset", "prepare", "config")]
    ctx = run_demo(root, steps=steps, log=lambda _msg: None)
    if ctx.failed or ctx.config_path is None:
        raise SystemExit(f"could not write the demo project: {ctx.failed}")
    return ctx.config_path


def count_instructions(cases: dict[str, Path], doctor: list[str], env) -> None:
    rich = instructions([sys.executable, "-c", "import rich"], env)
    if rich is None:
        print("  instructions: valgrind not found")
        return
    label = 'instructions: python -c "import rich"'
    print(f"  {label:<44} {rich / 1e6:7.1f} M")
    for name, path in cases.items():
        n = instructions([*doctor, str(path)], env) or 0
        print(f"  {'instructions: doctor ' + name:<44} {n / 1e6:7.1f} M  ratio {n / rich:.2f}")


def time_configs(cases: dict[str, Path], doctor: list[str], repeat: int, env) -> list[float]:
    for path in cases.values():  # warm the rule cache and the file cache
        subprocess.run([*doctor, str(path)], env=env, stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL, cwd=path.parent)
    cmds = [[sys.executable, "-c", "import rich"]] + [[*doctor, str(p)] for p in cases.values()]
    load = os.getloadavg()[0]
    results = timed(cmds, repeat, env)
    print(f"  load average {load:.2f} before, {os.getloadavg()[0]:.2f} after")
    (rich_b, rich_m) = results[0]
    rich = 'python -c "import rich"'
    print(f"  {rich:<44} best {rich_b * 1000:6.1f} ms  "
          f"median {rich_m * 1000:6.1f} ms")
    ratios = []
    for name, (best, median) in zip(cases, results[1:], strict=True):
        ratios.append(best / rich_b)
        print(f"  {'loratui doctor ' + name:<44} best {best * 1000:6.1f} ms  "
              f"median {median * 1000:6.1f} ms  ratio {best / rich_b:.2f} (target <= 2.0)")
    return ratios


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--mb", type=int, default=50)
    ap.add_argument("--repeat", type=int, default=15)
    ap.add_argument("--memory-mb", type=int, default=200)
    ap.add_argument("--bytecode", action="store_true",
                    help="also time with loratui compiled to bytecode (as a wheel install)")
    ap.add_argument("--no-log", action="store_true", help="skip the 50 MB log part")
    ap.add_argument("--instructions", action="store_true",
                    help="also count instructions (valgrind): steady under load")
    ap.add_argument("--lang", choices=("en", "zh"),
                    help="messages in this language (LORATUI_LANG); default: as set")
    args = ap.parse_args()
    env = dict(os.environ)
    if args.lang:
        env["LORATUI_LANG"] = args.lang
    doctor = [*loratui_command(), "doctor"]
    ok = True
    with tempfile.TemporaryDirectory() as tmp:
        env["LORATUI_CACHE_DIR"] = str(Path(tmp) / "cache")
        toml = Path(tmp) / "preset" / "loratui.toml"
        toml.parent.mkdir()
        toml.write_text(CONFIG, encoding="utf-8")
        kohya = ROOT / "tests" / "fixtures" / "kohya_ss_presets" / \
            "SDXL - LoRA AI_characters standard v1.1.json"
        cases = {"kohya_ss preset .json": kohya, "loratui.toml (preset)": toml,
                 "demo loratui.toml + dataset": write_demo_project(Path(tmp) / "demo")}
        where = "loratui bytecode present" if has_bytecode() else \
            "no loratui bytecode: every run compiles its sources"
        dont = " (PYTHONDONTWRITEBYTECODE set)" if os.environ.get("PYTHONDONTWRITEBYTECODE") \
            else ""
        lang = env.get("LORATUI_LANG") or "as the locale says"
        print(f"as installed: {' '.join(doctor[:1])}; {where}{dont}; language: {lang}")
        ratios = time_configs(cases, doctor, args.repeat * 3, env)
        if args.bytecode and not has_bytecode():
            subprocess.run([sys.executable, "-m", "compileall", "-q", str(ROOT / "loratui")],
                           stdout=subprocess.DEVNULL, check=True)
            print("with bytecode (compileall, as a wheel install leaves it):")
            ratios = time_configs(cases, doctor, args.repeat * 3, env)
        if args.instructions:
            count_instructions(cases, doctor, env)
        ok = all(r <= 2.0 for r in ratios)
        if not args.no_log:
            ok = time_log(Path(tmp), doctor, args, env) and ok
    return 0 if ok else 1


def time_log(tmp: Path, doctor: list[str], args, env) -> bool:
    log = tmp / "train.log"
    oom_line = make_log(log, args.mb)
    size = log.stat().st_size
    lines = log.read_bytes().count(b"\n") + 1
    out = subprocess.run([*doctor, str(log), "--format", "json"], env=env,
                         capture_output=True, text=True)
    found = json.loads(out.stdout)["diagnostics"]
    oom = [d for d in found if d["code"] == "LG103"]
    ok = bool(oom) and oom[0]["location"].get("line") == oom_line
    print(f"log: {size / 2**20:.1f} MB, {lines} lines; doctor found "
          f"{sorted({d['code'] for d in found})}; OOM at line "
          f"{oom[0]['location'].get('line') if oom else None} (expected {oom_line}): "
          f"{'OK' if ok else 'WRONG'}")
    grep = shutil.which("grep")
    if grep is None:
        print("grep not found: skipping the log ratio")
    else:
        (g_b, g_m), (d_b, d_m) = timed([[grep, "-c", NEEDLE, str(log)], [*doctor, str(log)]],
                                       args.repeat, env)
        print(f"grep -c '{NEEDLE}'  best {g_b * 1000:7.1f} ms  median {g_m * 1000:7.1f} ms")
        print(f"doctor train.log         best {d_b * 1000:7.1f} ms  median {d_m * 1000:7.1f} "
              f"ms  ratio {d_b / g_b:.2f} (aim <= 10)")
    log.unlink()
    for name, write in (("short lines", write_short_lines), ("only newlines", write_newlines)):
        big = tmp / "big.log"
        write(big, args.memory_mb)
        t = time.perf_counter()
        peak = peak_rss_mb([*doctor, str(big)], env)
        took = time.perf_counter() - t
        print(f"doctor {args.memory_mb} MB log of {name:<13} peak {peak:6.0f} MiB "
              f"({took:.1f} s)  target < 300 MiB")
        ok = ok and peak < 300
        big.unlink()
    return ok


if __name__ == "__main__":
    raise SystemExit(main())

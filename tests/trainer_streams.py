"""Real-shaped trainer output, generated with the values it prints, and a replayer that
writes it into a growing file in uneven chunks (cut mid-line, mid-CRLF, mid-UTF-8).

Shapes follow what users paste from their terminals and `tee`d logs: sd-scripts' rich
log lines with ANSI colours and bilingual banners, tqdm's `\\r` updates that never end a
line until an `epoch N/M` print breaks it, the kohya_ss GUI's `Executing command:` line
and Windows CRLF, OneTrainer's nested `epoch:` / `step:` bars (the inner one drawn one
row down: `\\n`, the bar, `\\x1b[A`), ai-toolkit's job-named bar with `lr: … loss: …`
and its sampling bars, warnings and tracebacks in between.
"""

from __future__ import annotations

import random

ESC = "\x1b"
BLOCKS = " ▏▎▍▌▋▊▉█"


def bar(frac: float, width: int = 10) -> str:
    full = int(frac * width)
    rest = int((frac * width - full) * 8)
    return ("█" * full + (BLOCKS[rest] if full < width else "")).ljust(width)[:width]


def clock(seconds: float) -> str:
    seconds = int(seconds)
    h, rem = divmod(seconds, 3600)
    m, s = divmod(rem, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m:02d}:{s:02d}"


def tqdm_line(desc: str, n: int, total: int, elapsed: float, spi: float, postfix: str = ""
              ) -> str:
    pct = int(100 * n / total)
    if n == 0:
        rate, remaining = "?it/s", "?"
    else:
        rate = f"{spi:5.2f}s/it" if spi >= 1 else f"{1 / spi:5.2f}it/s"
        remaining = clock((total - n) * spi)
    post = f", {postfix}" if postfix else ""
    head = f"{desc}: " if desc else ""
    return f"{head}{pct:3d}%|{bar(n / total)}| {n}/{total} [{clock(elapsed)}<{remaining}, {rate}{post}]"


def rich_log(level: str, text: str, where: str = "train_util.py:3744") -> str:
    colour = {"INFO": "34", "WARNING": "31"}.get(level, "0")
    return (f"{ESC}[2;36m2024-05-01 10:00:01{ESC}[0m{ESC}[2;36m \x1b[0m{ESC}[{colour}m{level:8s}"
            f"{ESC}[0m {text}" + " " * 8 + f"{ESC}[2m{where}{ESC}[0m\n")


class Stream:
    """Bytes as the trainer wrote them, plus the rows a reader must find."""

    def __init__(self) -> None:
        self.parts: list[str] = []
        self.rows: list[dict] = []

    def add(self, text: str) -> None:
        self.parts.append(text)

    @property
    def data(self) -> bytes:
        return "".join(self.parts).encode("utf-8")


def sd_scripts(steps: int = 60, epochs: int = 3, *, nan_at: int | None = None,
               slow_from: int | None = None, crlf: bool = False, gui: bool = False,
               output_dir: str = "/data/lora/out", rise: float = 0.0, prefixed: bool = False,
               frozen: bool = False, sample_every: int = 0, seed: int = 1) -> Stream:
    rnd = random.Random(seed)
    s = Stream()
    if gui:
        s.add("19:02:11-529437 INFO     Start training LoRA Standard ...\n")
        s.add("19:02:11-530437 INFO     Executing command: C:\\kohya_ss\\venv\\Scripts\\accelerate.EXE launch "
              "--dynamo_backend no --num_processes 1 --num_machines 1 --num_cpu_threads_per_process 2 "
              "C:/kohya_ss/sd-scripts/train_network.py --config_file "
              f"C:/lora/config_lora-20240501-190211.toml --output_dir=\"{output_dir}\"\n")
    s.add(rich_log("INFO", "Loading settings from /home/me/lora/config.toml..."))
    s.add(rich_log("INFO", "prepare tokenizer"))
    s.add("import network module: networks.lora\n")
    s.add(f"{ESC}[33m/home/me/sd-scripts/venv/lib/python3.10/site-packages/torch/utils/checkpoint.py:91: "
          f"UserWarning: None of the inputs have requires_grad=True. Gradients will be None{ESC}[0m\n")
    s.add("  warnings.warn(\n")
    s.add("100%|██████████| 20/20 [00:03<00:00,  6.02it/s]\n")  # latents caching
    s.add("running training / 学習開始\n")
    s.add("  num train images * repeats / 学習画像の数×繰り返し回数: 200\n")
    s.add(f"  num epochs / epoch数: {epochs}\n")
    s.add(f"  total optimization steps / 学習ステップ数: {steps}\n")
    s.add("\r" + tqdm_line("steps", 0, steps, 0, 0))
    per_epoch = steps // epochs
    elapsed, avg, losses = 0.0, 0.0, []
    for step in range(1, steps + 1):
        epoch = (step - 1) // per_epoch + 1
        if (step - 1) % per_epoch == 0:
            s.add(f"\n\nepoch {epoch}/{epochs}\n")
        spi = 1.5 + rnd.random() * 0.1
        if slow_from and step >= slow_from:
            spi *= 10
        elapsed += spi
        if sample_every and step % sample_every == 0:  # sample images: the bar's clock runs on
            s.add("\n" + rich_log("INFO", f"generating sample images at step / サンプル画像生成 "
                                   f"ステップ: {step}", "train_util.py:5506"))
            elapsed += 45
        loss = 0.12 - 0.0004 * step + rnd.random() * 0.01 + rise * (epoch - 1)
        if frozen:  # learning rate 0: the same loss, give or take the timestep noise
            loss = 0.12 + (0.0001 if step % 2 else -0.0001)
        losses.append(loss)
        avg = sum(losses[-per_epoch:]) / len(losses[-per_epoch:])
        avg = round(avg, 4)
        if nan_at and step >= nan_at:
            avg = float("nan")
        shown = "nan" if avg != avg else f"{avg:.4f}".rstrip("0")
        s.add("\r" + tqdm_line("steps", step, steps, elapsed, spi, f"avr_loss={shown}"))
        s.rows.append({"step": step, "epoch": epoch, "loss_avg": avg, "max_steps": steps,
                       "spi": spi})
        if step == steps // 2:  # a warning in the middle of the bar's line
            s.add("\n" + rich_log("WARNING", "clip_skip will be unexpected / SDXL学習では"
                                  "clip_skipは動作しません"))
    s.add("\n" + rich_log("INFO", "model saved.", "train_network.py:1116"))
    text = "".join(s.parts)
    if prefixed:  # a GUI that logs the trainer's stderr: each update on a line of its own,
        # after a clock and the stream's name, some twice, a log line glued to a bar
        lines = [f"[08:03:{i % 60:02d}] [STDERR] {seg}" for i, seg in
                 enumerate(x for x in text.replace("\r", "\n").split("\n") if x)]
        lines = [x for line in lines for x in ((line, line) if "avr_loss" in line else (line,))]
        text = "\n".join(lines) + "\n"
        text = text.replace("]\n[08:03:01] [STDERR] ", "]INFO:train_util:epoch is incremented.\n", 1)
    if crlf:
        text = text.replace("\n", "\r\n")
    s.parts = [text]
    return s


def onetrainer(epochs: int = 3, per_epoch: int = 20, seed: int = 2) -> Stream:
    rnd = random.Random(seed)
    s = Stream()
    s.add("Fetching 17 files: 100%|██████████| 17/17 [00:00<00:00, 8502.58it/s]\n")
    s.add("TensorFlow installation not found - running with reduced feature set.\n")
    s.add("Serving TensorBoard on localhost; to expose to the network, use a proxy or pass --bind_all\n")
    s.add("TensorBoard 2.16.2 at http://localhost:6006/ (Press CTRL+C to quit)\n")
    s.add("enumerating sample paths: 100%|██████████| 1/1 [00:00<00:00, 500.04it/s]\n")
    s.add("\r" + tqdm_line("epoch", 0, epochs, 0, 0))
    elapsed, ema, steps = 0.0, None, 0
    for e in range(epochs):
        if e:
            s.add("\r" + tqdm_line("epoch", e, epochs, elapsed, 35.0))
        s.add("\n\r" + tqdm_line("step", 0, per_epoch, 0, 0) + f"{ESC}[A")
        start = elapsed
        for n in range(1, per_epoch + 1):
            steps += 1
            spi = 0.7 + rnd.random() * 0.05
            elapsed += spi
            loss = 0.15 - 0.001 * steps + rnd.random() * 0.02
            ema = loss if ema is None else ema * 0.99 + loss * 0.01
            post = f"loss={loss:.3g}, smooth loss={ema:.3g}"
            s.add("\n\r" + tqdm_line("step", n, per_epoch, elapsed - start, spi, post) + f"{ESC}[A")
            s.rows.append({"step": steps, "epoch": e + 1, "loss": float(f"{loss:.3g}"),
                           "loss_avg": float(f"{ema:.3g}"), "max_steps": epochs * per_epoch,
                           "spi": spi})
    s.add("\r" + tqdm_line("epoch", epochs, epochs, elapsed, 35.0) + "\n")
    s.add("Saving models/lora.safetensors\n")
    return s


def ai_toolkit(steps: int = 50, name: str = "my_first_flux_lora_v1", seed: int = 3) -> Stream:
    rnd = random.Random(seed)
    s = Stream()
    s.add("Running 1 job\n")
    s.add("{\n    \"type\": \"sd_trainer\",\n    \"training_folder\": \"output\",\n}\n")
    s.add("#############################################\n")
    s.add(f"# Running job: {name}\n")
    s.add("#############################################\n\n")
    s.add("Loading Flux model\nLoading transformer\nQuantizing transformer\n")
    s.add("Caching latents to disk\n")
    s.add("\r" + tqdm_line("Caching latents to disk", 20, 20, 4, 0.2) + "\n")
    s.add("Generating baseline samples before training\n")
    s.add("\r" + tqdm_line("Generating Images", 4, 4, 40, 10.0) + "\n")
    s.add("\r" + tqdm_line(name, 0, steps, 0, 0))
    elapsed = 0.0
    for step in range(1, steps + 1):
        spi = 3.0 + rnd.random() * 0.2
        elapsed += spi
        lr = 1e-4
        loss = 0.45 - 0.002 * step + rnd.random() * 0.03
        post = f"lr: {lr:.1e} loss: {loss:.3e}"
        s.add("\r" + tqdm_line(name, step, steps, elapsed, spi, post))
        s.rows.append({"step": step, "loss": float(f"{loss:.3e}"), "lr_unet": float(f"{lr:.1e}"),
                       "max_steps": steps, "spi": spi})
        if step == steps // 2:  # sampling breaks the bar: its own bar, then the run's again
            s.add("\n\rGenerating Images:  50%|█████     | 2/4 [00:20<00:20, 10.00s/it]")
            s.add("\rGenerating Images: 100%|██████████| 4/4 [00:40<00:00, 10.00s/it]\n")
            s.add(f"Saving at step {step}\n")
    s.add(f"\nSaved to output/{name}/{name}.safetensors\n")
    return s


OOM_TRACEBACK = """Traceback (most recent call last):
  File "/home/me/sd-scripts/train_network.py", line 1012, in <module>
    trainer.train(args)
  File "/home/me/sd-scripts/train_network.py", line 783, in train
    accelerator.backward(loss)
  File "/home/me/sd-scripts/venv/lib/python3.10/site-packages/accelerate/accelerator.py", line 1905, in backward
    loss.backward(**kwargs)
torch.cuda.OutOfMemoryError: CUDA out of memory. Tried to allocate 20.00 MiB (GPU 0; 7.76 GiB total capacity; 7.12 GiB already allocated; 9.00 MiB free; 7.30 GiB reserved in total by PyTorch)
"""


def replay(data: bytes, write, poll, *, seed: int = 0, max_chunk: int = 700) -> None:
    """Write `data` through `write` in uneven chunks, calling `poll()` after each."""
    rnd = random.Random(seed)
    i = 0
    while i < len(data):
        n = rnd.randint(1, max_chunk)
        write(data[i:i + n])
        i += n
        poll()

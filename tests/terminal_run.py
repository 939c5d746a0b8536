"""`loratui ARGV` in a subprocess with the environment of another person's terminal: a
locale, an output encoding, TERM, NO_COLOR, COLUMNS; its output piped, or on a
pseudo-terminal of a given size (what a user's terminal is to the program)."""

from __future__ import annotations

import json
import os
import select
import shutil
import subprocess
import sys
from pathlib import Path

# what the caller's own terminal would add to every run
CLEARED = ("LANG", "LANGUAGE", "LC_ALL", "LC_CTYPE", "LC_MESSAGES", "PYTHONIOENCODING",
           "PYTHONUTF8", "LORATUI_LANG", "NO_COLOR", "FORCE_COLOR", "CLICOLOR_FORCE", "COLUMNS",
           "LINES", "TERM", "COLORTERM", "TEXTUAL_COLOR_SYSTEM")

C_LOCALE = {"PYTHONUTF8": "0", "LC_ALL": "C", "LANG": "C"}   # a server's bare locale
CAPTION = "sks woman, red dress \u2014 smiling \u00d7 2, \u6c49\u670d"   # — × 汉服
FIXTURES = Path(__file__).resolve().parent / "fixtures"
NOT_UTF8 = {"C": C_LOCALE, "ascii": {"PYTHONIOENCODING": "ascii"},
            "latin-1": {"PYTHONIOENCODING": "latin-1"}}


def environment(**env: str) -> dict[str, str]:
    """The test's environment without the caller's terminal settings, plus `env`
    (a value of None removes the variable)."""
    out = {k: v for k, v in os.environ.items() if k not in CLEARED}
    out.update({"LORATUI_FAKE_GPU": "", "TERM": "xterm-256color"})
    out.update(env)
    return {k: v for k, v in out.items() if v is not None}


def command(*args: str) -> list[str]:
    return [sys.executable, "-m", "loratui", *map(str, args)]


def run_piped(*args: str, cwd=None, stdin=subprocess.DEVNULL, **env: str
              ) -> subprocess.CompletedProcess:
    """stdout and stderr as bytes (what a file receives)."""
    return subprocess.run(command(*args), cwd=cwd, env=environment(**env), stdin=stdin,
                          capture_output=True, timeout=120)


def run_on_tty(*args: str, cwd=None, columns: int = 80, rows: int = 24, **env: str
               ) -> tuple[int, bytes]:
    """(exit status, everything written) with stdin, stdout and stderr on a
    pseudo-terminal of `columns` x `rows`."""
    import fcntl
    import pty
    import struct
    import termios

    main_fd, tty_fd = pty.openpty()
    fcntl.ioctl(tty_fd, termios.TIOCSWINSZ, struct.pack("HHHH", rows, columns, 0, 0))
    proc = subprocess.Popen(command(*args), cwd=cwd, env=environment(**env), stdin=tty_fd,
                            stdout=tty_fd, stderr=tty_fd, close_fds=True)
    os.close(tty_fd)
    out = b""
    try:
        while select.select([main_fd], [], [], 60)[0]:
            try:
                chunk = os.read(main_fd, 65536)
            except OSError:        # the process closed the terminal
                break
            if not chunk:
                break
            out += chunk
    finally:
        if proc.poll() is None:
            proc.kill()
        code = proc.wait(timeout=30)
        os.close(main_fd)
    return code, out


def sample_project(root: Path) -> Path:
    """`root` with a config, a dataset with captions (— × and Chinese in them), a kohya
    LoRA, a trainer's log and a run folder: an input for each command."""
    import numpy as np
    import pytest
    from PIL import Image
    from safetensors.numpy import save_file

    from tests.inprocess_cli import run_in_process

    ds = root / "ds" / "10_sks woman"
    ds.mkdir(parents=True)
    for i in range(3):
        Image.new("RGB", (320 + 64 * i, 448), (40 * i, 90, 90)).save(ds / f"img{i}.png")
        (ds / f"img{i}.txt").write_text(CAPTION, encoding="utf-8")
    rng = np.random.default_rng(0)
    tensors = {}
    for name, size in (("lora_unet_down_blocks_0_attentions_0_proj_in", 320),
                       ("lora_te_text_model_encoder_layers_0_self_attn_q_proj", 768)):
        tensors[f"{name}.lora_down.weight"] = rng.standard_normal((4, size)).astype(np.float16)
        tensors[f"{name}.lora_up.weight"] = rng.standard_normal((size, 4)).astype(np.float16)
        tensors[f"{name}.alpha"] = np.array(2.0, dtype=np.float16)
    save_file(tensors, str(root / "my_lora.safetensors"), metadata={
        "ss_network_dim": "4", "ss_network_alpha": "2", "ss_output_name": "my\u2014lora",
        "ss_tag_frequency": json.dumps({"10_sks": {"sks": 3, "\u6c49\u670d": 3}})})
    (root / "train.log").write_text(
        "steps:  10%|\u2588         | 100/1000 [01:00<09:00, 1.5it/s, avr_loss=0.12]\n"
        "torch.cuda.OutOfMemoryError: CUDA out of memory. Tried to allocate 2.00 GiB\n")
    shutil.copytree(FIXTURES / "readme-run", root / "runs" / "hanfu-1")
    with pytest.MonkeyPatch.context() as mp:
        code, _out, err = run_in_process(["presets", "--gpu", "8GB", "--write",
                                          str(root / "loratui.toml")], mp)
    assert code == 0, err
    return root

"""A write killed with SIGKILL leaves a temp file that no scanner takes for an image, and
the next prepare removes it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from PIL import Image

from loratui.dataset.prepare import MANIFEST, prepare

from .dataset_fixtures import write_image

# A slow image write (a large noisy PNG at the highest compression) in its own process.
WRITER = """
import sys
from PIL import Image
from loratui.dataset._io import atomic_save_image
im = Image.effect_noise((3000, 3000), 80).convert("RGB")
print("ready", flush=True)
atomic_save_image(im, sys.argv[1], format="PNG", compress_level=9)
"""


def _kill_mid_write(target: Path) -> list[Path]:
    env = dict(os.environ, PYTHONPATH=str(Path(__file__).resolve().parents[2]))
    proc = subprocess.Popen([sys.executable, "-c", WRITER, str(target)], env=env,
                            stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout.readline().strip() == "ready"
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            partial = [p for p in target.parent.iterdir()
                       if p.name.startswith(f".{target.name}") and p.stat().st_size > 0]
            if partial:
                break
            time.sleep(0.01)
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.wait()
    assert proc.returncode == -signal.SIGKILL, "the write finished before the kill"
    assert not target.exists()
    return [p for p in target.parent.iterdir() if p.name != MANIFEST and p.name.startswith(".")]


def test_kill_9_mid_write_leaves_no_file_taken_for_an_image_and_prepare_cleans_it(tmp_path):
    from loratui.dataset import scan
    from loratui.train.data import scan as train_scan

    src = tmp_path / "src"
    src.mkdir()
    write_image(src / "a.png", 600, 600)
    out = tmp_path / "out"
    prepare(src, out)
    assert (out / MANIFEST).is_file()
    leftovers = _kill_mid_write(out / "b.png")
    assert len(leftovers) == 1 and leftovers[0].suffix == ".tmp", leftovers
    # neither the trainer nor the dataset scanner takes the partial file for data
    items, _ = train_scan(out)
    assert [it.path.name for it in items] == ["a.png"]
    assert [r.path for r in scan(out).images] == ["a.png"]
    # an older version's partial file kept the image suffix: a prepare removes both kinds
    old_style = out / ".c.k2j4h5g6.png"
    old_style.write_bytes(leftovers[0].read_bytes()[:200])
    user_hidden = out / ".keep.png"   # not a temp name: never touched
    Image.new("RGB", (8, 8)).save(user_hidden)
    prepare(src, out)
    assert not leftovers[0].exists() and not old_style.exists()
    assert user_hidden.exists()
    assert sorted(p.name for p in out.iterdir() if p.suffix == ".png") == [".keep.png", "a.png"]

"""A full disk during training: real ENOSPC on a small tmpfs mounted in a private mount
namespace (`unshare`), the real trainer writing to it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from train_helpers import repo_root

# Runs inside the namespace, with the tmpfs at argv[1]. Fills the disk as soon as the epoch-1
# checkpoint is written, so the epoch-2 checkpoint meets a full disk: once with the free-space
# check before saving, once without it (the write itself fails with ENOSPC; then the disk is
# freed and the run resumed). Prints one JSON object.
SCRIPT = r"""
import json, os, sys
from pathlib import Path

disk = Path(sys.argv[1])
spec = json.loads(os.environ["FULL_DISK_SPEC"])
sys.path.insert(0, spec["helpers"])
from train_helpers import make_config
from loratui.runs import RunFolder
from loratui.train import train
from loratui.train.loop import Trainer

def fill_disk(filler):
    with open(filler, "wb") as fh:
        try:
            while True:
                fh.write(b"\0" * 65536)
                fh.flush()
        except OSError:
            pass

# Fill the disk right after the epoch-1 checkpoint, in the trainer's own thread, so the
# epoch-2 checkpoint always meets a full disk however fast the steps run.
checkpoint = Trainer._checkpoint
def checkpoint_then_fill(self, epoch):
    checkpoint(self, epoch)
    if epoch == 1:
        fill_disk(FILLER[0])
Trainer._checkpoint = checkpoint_then_fill
FILLER = [None]

out = {}
for case in ("precheck", "write"):
    root = disk / case
    cfg = make_config(Path(spec["model"]), Path(spec["dataset"]), root,
                      training={"epochs": 3, "batch_size": 4, "save_every_n_epochs": 1})
    if case == "write":
        Trainer._need_disk = lambda self, path: None   # let the write itself meet the full disk
    filler = disk / f"filler-{case}"
    FILLER[0] = filler
    res = train(cfg, log_to_stderr=False)
    run = RunFolder(res.run_dir)
    entry = {"state": res.state, "reason": res.reason, "message": res.message,
             "state_json": run.raw_state(),
             "files": sorted(str(p.relative_to(run.path)) for p in run.path.rglob("*")),
             "free": os.statvfs(disk).f_bavail}
    filler.unlink()
    if case == "write":  # the kept state resumes once there is room again
        again = train(cfg, res.run_dir, resume=True, log_to_stderr=False)
        entry.update(resumed=again.state, resumed_message=again.message,
                     steps=[r["step"] for r in run.metrics()], max_steps=again.max_steps,
                     events=[e["type"] for e in run.events()])
    out[case] = entry
print("RESULT " + json.dumps(out))
"""


def _unshare() -> list[str] | None:
    base = ["unshare", "--mount"] if os.geteuid() == 0 else ["unshare", "-r", "--mount"]
    try:
        probe = subprocess.run([*base, "true"], capture_output=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return base if probe.returncode == 0 else None


@pytest.mark.slow
def test_checkpoint_on_a_full_disk_fails_cleanly_keeps_the_last_good_one_and_resumes(
        tiny_model, demo_dataset, tmp_path):
    base = _unshare()
    if base is None:
        pytest.skip("needs a private mount namespace (unshare) for a small tmpfs")
    mount = tmp_path / "disk"
    mount.mkdir()
    env = dict(os.environ, PYTHONPATH=repo_root() + os.pathsep + os.environ.get("PYTHONPATH", ""),
               FULL_DISK_SPEC=json.dumps({"model": str(tiny_model), "dataset": str(demo_dataset),
                                          "helpers": str(Path(__file__).parent)}))
    shell = 'mount -t tmpfs -o size=96m tmpfs "$1" && exec "$2" -c "$3" "$1"'
    proc = subprocess.run([*base, "sh", "-c", shell, "sh", str(mount), sys.executable, SCRIPT],
                          env=env, capture_output=True, text=True, timeout=600)
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("RESULT ")]
    assert proc.returncode == 0 and lines, proc.stderr[-3000:]
    assert "Traceback" not in proc.stderr, proc.stderr[-3000:]
    out = json.loads(lines[-1][len("RESULT "):])
    for case, r in out.items():
        assert r["state"] == "failed" and r["reason"] == "disk", (case, r["message"])
        st = r["state_json"]  # recorded on the full disk itself, not left at `running`
        assert st["state"] == "failed" and st["reason"] == "disk", (case, st)
        assert st["error"] == r["message"]
        # the previous good checkpoint and its state are kept; no partial files are left
        assert "checkpoints/test_lora-e0001.safetensors" in r["files"]
        assert "checkpoints/resume-e0001/trainer.json" in r["files"]
        assert not [f for f in r["files"] if f.endswith(".tmp") or "resume-e0002" in f], \
            r["files"]
    r = out["write"]
    assert r["resumed"] == "finished", r["resumed_message"]
    assert r["steps"] == list(range(1, r["max_steps"] + 1)) and "resumed" in r["events"]
    pre = out["precheck"]["message"]
    assert "MiB free" in pre and "free some disk space" in pre
    write = out["write"]["message"]
    assert "No space left on device" in write and "test_lora-e0001.safetensors, is kept" in write
    assert "--resume" in write

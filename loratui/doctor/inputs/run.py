"""Run folders: a config, a log and the output LoRA, read together so rules can cross-check
them (e.g. NaN in the log + fp16 + no no_half_vae → one root cause). A folder holding only
LoRA files (and their UI sidecars) is a folder of LoRAs: every file in it is checked."""

from __future__ import annotations

import os
from pathlib import Path

from loratui.doctor import inputs as I
from loratui.i18n import N_, Message

MAX_DEPTH = 2


def _walk(root: Path):
    for dirpath, dirnames, filenames in os.walk(root):
        depth = len(Path(dirpath).relative_to(root).parts)
        dirnames[:] = [d for d in dirnames if not d.startswith(".") and depth < MAX_DEPTH
                       and d not in ("samples", "sample", "__pycache__", "img", "images")]
        for name in sorted(filenames):
            path = Path(dirpath) / name
            if path.is_file():     # not a pipe a trainer writes into (reading it would wait)
                yield path


def load_run(inp: I.Input, path: Path) -> None:
    configs, logs, loras = [], [], []
    for f in _walk(path):
        low = f.name.lower()
        ext = f.suffix.lower()
        if ext in I.WEIGHT_EXTS:
            loras.append(f)
        elif ext in I.LOG_EXTS or low in ("stdout.txt", "stderr.txt", "output.txt"):
            logs.append(f)
        elif ext in (".toml", ".json") or ext in I.CMD_EXTS:
            if low in ("metrics.jsonl", "events.jsonl") or low.endswith("_meta.json"):
                continue
            configs.append(f)
    # `name.json` beside `name.safetensors` is a UI's sidecar (A1111, Civitai), not a config.
    stems = {f.parent / f.stem for f in loras}
    configs = [f for f in configs if f.parent / f.name.split(".", 1)[0] not in stems]
    if configs or logs:  # a run: its newest LoRA (the final one); older epochs add little
        loras = sorted(loras, key=lambda p: p.stat().st_mtime)[-1:]
    # else a folder of LoRAs (a download folder, a UI's models/Lora): every file is checked
    recorded = (path / "state.json").is_file()
    for f in configs + logs + loras:
        kind = I.detect(f)
        if kind is None or kind in ("prompt", "dataset", "run"):
            continue
        child = I.load(f, kind)
        child.parent = inp
        # a loratui run's config is the record of what ran: reported, never rewritten
        child.read_only = recorded
        inp.children.append(child)
    if not inp.children:
        inp.error = Message(N_("no config, log or LoRA file found in this folder"))

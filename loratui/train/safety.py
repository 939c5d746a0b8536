"""Checks that stop a run early instead of after hours: writable output (P34), free disk,
signals that save a resumable state, non-finite losses."""

from __future__ import annotations

import shutil
import signal
import tempfile
from pathlib import Path

from loratui.i18n import N_, localized
from loratui.i18n import Message as M
from loratui.userfiles import shown

MIN_FREE_BYTES = 64 * 1024 * 1024


class PreflightError(Exception):
    """A problem found before training; `problems` lists one message per problem."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__("\n".join(problems))

    def localized(self) -> str:
        return "\n".join(localized(p) for p in self.problems)


def check_writable(folder: Path | str) -> str | None:
    """None when `folder` exists or can be created and a file can be written in it (P34)."""
    folder = Path(folder).expanduser()
    probe = folder
    while not probe.exists():
        if probe.parent == probe:
            break
        probe = probe.parent
    if probe.exists() and not probe.is_dir():
        return M(N_("{path}: exists and is a file, so the output folder {folder} cannot be "
                    "created; set output.dir to a folder (P34)"), path=str(probe),
                 folder=str(folder))
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=folder, prefix=".loratui-write-test-"):
            pass
    except OSError as exc:
        return M(N_("{folder}: the output folder cannot be written ({error}); use an absolute "
                    "path to a folder you own, e.g. output.dir = \"{example}\" (P34)"),
                 folder=str(folder), error=str(exc.strerror or exc),
                 example=str(Path.home() / "loras"))
    return None


def free_bytes(folder: Path | str) -> int:
    folder = Path(folder)
    while not folder.exists() and folder.parent != folder:
        folder = folder.parent
    return shutil.disk_usage(folder).free


def check_free_disk(folder: Path | str, need: int) -> str | None:
    free = free_bytes(folder)
    if free < need + MIN_FREE_BYTES:
        return M(N_("{folder}: only {free} MiB free, {need} MiB needed to save; free some disk "
                    "space or change output.dir"), folder=str(folder),
                 free=f"{free / 2**20:.0f}", need=f"{(need + MIN_FREE_BYTES) / 2**20:.0f}")
    return None


def family_problems(cfg, base: Path | None, detected: str | None) -> list[str]:
    """model.family checked against the base model's detected family (headers only)."""
    from loratui import families

    fam = cfg.model.family
    if fam not in ("auto", *families.ids()):
        return [M(N_("model.family = {name}: loratui trains {families} (or \"auto\" to detect "
                     "it from the base model)"), name=repr(fam), families=", ".join(families.ids()))]
    problem = families.override_problem(base, fam, detected) if base is not None else None
    return [problem] if problem else []


def tokenizer_problem(base: Path) -> str | None:
    """A diffusers folder needs a usable `tokenizer/`; a single file uses the shipped CLIP
    vocabulary unless the user points at their own (then that one must be usable)."""
    from loratui.clip_tokenizer import tokenizer_folder_problem

    if base.is_dir():
        if not (base / "model_index.json").is_file():
            return None  # not a diffusers folder: loading says so, with its own fix
        problem = tokenizer_folder_problem(base / "tokenizer", base / "text_encoder" /
                                           "config.json")
        return M(N_("{problem} (model.base; copy the tokenizer/ of any SD1.5 model)"),
                 problem=problem) if problem else None
    from loratui.train.models import find_clip_tokenizer

    own = find_clip_tokenizer(base)
    problem = tokenizer_folder_problem(own) if own is not None else None
    return M(N_("{problem} (a tokenizer for {name}; remove it to use the built-in one)"),
             problem=problem, name=base.name) if problem else None


def preflight(cfg) -> list[str]:
    """Everything that can be checked without loading a model."""
    problems = []
    detected = None     # the base model's family, as its headers and configs tell
    base = Path(cfg.model.base).expanduser() if cfg.model.base else None
    if base is None:
        problems.append(M(N_("model.base is empty: set it to a diffusers folder or a "
                             ".safetensors checkpoint")))
    elif not base.exists():
        from loratui.basemodel import windows_path_problem

        windows = windows_path_problem(base)
        problems.append(M(N_("{problem} (model.base)"), problem=windows) if windows else
                        M(N_("{path}: base model not found (model.base)"), path=str(base)))
    else:
        from loratui.basemodel import check_base_model

        # the Start step's verdict, with the config's model.vae and model.v_prediction
        check = check_base_model(base, vae=cfg.model.vae, v_prediction=cfg.model.v_prediction)
        detected = check.family
        if check.ok is False:
            problems.append(M(N_("{problem} (model.base)"), problem=check.message))
        else:
            tokenizer = tokenizer_problem(base)
            if tokenizer:
                problems.append(tokenizer)
    problems += family_problems(cfg, base if detected else None, detected)
    for key, value in (("dataset.dir", cfg.dataset.dir), ("dataset.reg_dir", cfg.dataset.reg_dir)):
        if key == "dataset.dir" and not value:
            problems.append(M(N_("dataset.dir is empty: set it to your images folder")))
        elif value and not Path(value).expanduser().is_dir():
            folder = Path(value).expanduser()
            problems.append(M(N_("{path}: a file, not a folder ({key}): give the folder that "
                                 "holds the images") if folder.exists() else
                              N_("{path}: folder not found ({key})"),
                              path=shown(value), key=key))
    out_problem = check_writable(cfg.output.dir)
    if out_problem:
        problems.append(out_problem)
    else:
        disk = check_free_disk(cfg.output.dir, 0)
        if disk:
            problems.append(disk)
    return problems


class StopSignals:
    """SIGINT / SIGTERM ask the loop to stop at the next optimiser step and save a resumable
    state; a second SIGINT stops at once. SIGHUP (closed terminal) is ignored."""

    def __init__(self) -> None:
        self.requested: str | None = None
        self._old: dict[int, object] = {}

    def _handler(self, signum, frame) -> None:
        name = signal.Signals(signum).name
        if self.requested and signum == signal.SIGINT:
            raise KeyboardInterrupt
        self.requested = name

    def __enter__(self) -> StopSignals:
        import threading

        if threading.current_thread() is not threading.main_thread():
            return self
        for sig in (signal.SIGINT, signal.SIGTERM):
            self._old[sig] = signal.signal(sig, self._handler)
        if hasattr(signal, "SIGHUP"):
            self._old[signal.SIGHUP] = signal.signal(signal.SIGHUP, signal.SIG_IGN)
        return self

    def __exit__(self, *exc) -> None:
        for sig, old in self._old.items():
            signal.signal(sig, old)
        self._old.clear()

"""What PATH is, and the source that follows it.

    -                         stdin: `trainer ... 2>&1 | loratui watch -`
    runs/<name>-<time>/       a loratui run folder (state.json)
    a file                    a log being written (events.out.tfevents.*: its folder)
    a folder with event files sd-scripts' --logging_dir, any TensorBoard log folder
    a trainer's output folder a log in it (*.log, log.txt ...) is followed; else its
                              TensorBoard events (OneTrainer's workspace: tensorboard/)
Sample folders beside what is followed (sample/, samples/) are reported as they fill.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from loratui.i18n import N_, Message
from loratui.userfiles import broken_link, shown
from loratui.watch import TRAINERS, WatchError

LOG_NAMES = ("log.txt", "output.txt", "stdout.txt", "train.txt", "training.txt")
LOG_EXTS = (".log", ".out", ".err")
SAMPLE_DIRS = ("sample", "samples")
NOT_LOGS = (".safetensors", ".ckpt", ".pt", ".pth", ".bin", ".png", ".jpg", ".jpeg", ".webp",
            ".zip", ".gz", ".npz", ".toml", ".json", ".yaml", ".yml")


def open_path(path, *, trainer: str | None = None):
    if trainer is not None and trainer not in TRAINERS:
        raise WatchError(Message(N_("unknown trainer {name}; one of: {names}"),
                                 name=repr(trainer), names=", ".join(TRAINERS)))
    if trainer == "unknown":
        trainer = None
    text = os.fspath(path)
    from loratui.watch.logsource import LogSource

    if text == "-":
        from loratui.watch.tail import PipeTail

        return LogSource("-", PipeTail(sys.stdin.buffer), trainer=trainer)
    p = Path(text).expanduser()
    link = broken_link(p)
    if link:          # a dangling link or a loop: say which
        raise WatchError(Message(N_("{path}: {detail}"), path=shown(text), detail=link))
    if not p.exists():
        raise WatchError(Message(N_("{path}: no such file or folder; give a training log, a "
                                    "TensorBoard log folder, a trainer's output folder or - "
                                    "for stdin"), path=text))
    if p.is_file():
        if p.suffix.lower() in NOT_LOGS:
            raise WatchError(Message(N_("{path}: a {suffix} file is not a training log; give "
                                        "the trainer's log, its --logging_dir or its output "
                                        "folder"), path=text, suffix=p.suffix.lower()))
        if "tfevents" in p.name:
            return _tensorboard(p.parent, trainer or _folder_trainer(p.parent),
                                _samples_near(p.parent))
        return _log(p, trainer, _samples_near(p.parent))
    if not p.is_dir():
        raise WatchError(Message(N_("{path}: not a file or a folder (a named pipe: "
                                    "{command})"), path=text,
                                 command=f"`loratui watch - < {text}`"))
    if (p / "state.json").is_file():
        from loratui.runs import RunFolder
        from loratui.watch.runsource import RunFolderSource

        return RunFolderSource(RunFolder(p))
    samples = _samples_near(p)
    log = newest_log(p)
    if log is not None:
        return _log(log, trainer or _folder_trainer(p), samples)
    from loratui.watch.tbsource import event_files

    if event_files(p):
        return _tensorboard(p, trainer or _folder_trainer(p), samples)
    raise WatchError(Message(
        N_("{path}: no training log and no TensorBoard event files in this folder; watch the "
           "trainer's log (`... 2>&1 | tee train.log`, then `loratui watch train.log`), its "
           "--logging_dir, or pipe it: `... 2>&1 | loratui watch -`"), path=text))


def _log(path: Path, trainer: str | None, samples: list[Path]):
    from loratui.watch.logsource import LogSource
    from loratui.watch.tail import FileTail

    try:
        tail = FileTail(str(path))
    except OSError as exc:
        raise WatchError(Message(N_("{path}: cannot be read ({error}); check the "
                                    "permissions"), path=str(path),
                                 error=str(exc.strerror or exc))) from exc
    return LogSource(str(path), tail, trainer=trainer, sample_dirs=samples)


def _tensorboard(folder: Path, trainer: str | None, samples: list[Path]):
    from loratui.watch.tbsource import TensorBoardSource

    return TensorBoardSource(folder, trainer=trainer, sample_dirs=samples)


def newest_log(folder: Path) -> Path | None:
    """The newest log file in `folder` or one level below (OneTrainer, ai-toolkit and
    the kohya_ss GUI keep theirs in a sub-folder)."""
    found = []
    for base in [folder, *_subdirs(folder)]:
        try:
            entries = list(base.iterdir())
        except OSError:
            continue
        found += [e for e in entries if e.is_file() and (
            e.suffix.lower() in LOG_EXTS or e.name.lower() in LOG_NAMES)]
    if not found:
        return None

    def newest(p: Path) -> tuple[float, str]:
        try:
            return p.stat().st_mtime, p.name
        except OSError:
            return 0.0, p.name
    return max(found, key=newest)


def _subdirs(folder: Path) -> list[Path]:
    try:
        return [d for d in folder.iterdir() if d.is_dir() and not d.name.startswith(".")
                and d.name not in SAMPLE_DIRS]
    except OSError:
        return []


def _samples_near(folder: Path) -> list[Path]:
    """Sample folders of a run: in its folder, or in the folder above (a log or an
    event folder inside the output folder)."""
    out = []
    for base in (folder, folder.parent):
        out += [base / name for name in SAMPLE_DIRS if (base / name).is_dir()]
    return out


def _folder_trainer(folder: Path) -> str | None:
    """A trainer known from its output folder's layout."""
    if (folder.parent / "state.json").is_file():
        return "loratui"  # a loratui run's tensorboard/ (its trackers use sd-scripts' tags)
    try:
        names = {e.name for e in folder.iterdir()}
    except OSError:
        return None
    if {"tensorboard", "save"} <= names or {"backup", "samples", "tensorboard"} <= names:
        return "onetrainer"
    if any(n.endswith((".yaml", ".yml")) for n in names) and "samples" in names:
        return "ai-toolkit"
    if "sample" in names:
        return "sd-scripts"
    return None


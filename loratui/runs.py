"""Read training run folders (`runs/<name>-<timestamp>/`) without importing torch.

The trainer process writes the folder; the wizard, `loratui runs`, `loratui attach` and
the doctor only read it, so a UI can die, reconnect or run on another terminal while
training goes on. Layout:

    config.toml        the resolved run config (absolute paths)
    state.json         state, pid, step / max_steps, epoch, error (English; error_message:
                       its msgid and arguments), lora path (atomic rewrites)
    metrics.jsonl      one JSON object per optimiser step
    events.jsonl       started / resumed / checkpoint / sample / nan / oom / interrupted /
                       finished / failed / warning ...
    train.log          human-readable log (and the detached process's stdout/stderr)
    environment.json   versions, GPU, command line
    samples/           PNGs from fixed prompts and seed
    tensorboard/       TensorBoard event files (sd-scripts' tags), unless training.log_with
                       is "none" or "wandb"
    checkpoints/       kohya LoRAs every N epochs; resumable states: resume/ (stop, finish)
                       and resume-eNNNN/ (each epoch checkpoint, the newest two kept)
    <name>.safetensors the final LoRA (kohya format)
"""

from __future__ import annotations

import json
import os
import socket
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from loratui.i18n import N_, _, localized, message_from_fields, ngettext, pgettext

STATE_FILE = "state.json"
METRICS_FILE = "metrics.jsonl"
EVENTS_FILE = "events.jsonl"
LOG_FILE = "train.log"
CONFIG_FILE = "config.toml"
ENV_FILE = "environment.json"
RESUME_DIR = "checkpoints/resume"
STATE_DIRS = ("resume",)         # in checkpoints/: the state written at a stop or the end
EPOCH_STATE_PREFIX = "resume-e"  # checkpoints/resume-e0003/: the state of an epoch checkpoint
TRAINER_FILE = "trainer.json"
TENSORBOARD_DIR = "tensorboard"

ACTIVE_STATES = ("starting", "loading", "caching", "running", "saving")
TERMINAL_STATES = ("finished", "failed", "interrupted", "crashed")
# Every state a run (or a watched trainer's run) is shown in, as the reader's language
# names it; the run's files and JSON keep the English word.
STATE_NAMES = {"created": N_("created"), "starting": N_("starting"), "opening": N_("opening"),
               "loading": N_("loading"), "caching": N_("caching"), "running": N_("running"),
               "saving": N_("saving"), "stopping": N_("stopping"), "finished": N_("finished"),
               "failed": N_("failed"), "interrupted": N_("interrupted"),
               "crashed": N_("crashed"), "stalled": N_("stalled"), "missing": N_("missing"),
               "unknown": N_("unknown")}


def state_name(state: str) -> str:
    """A run's state in the current language (an unknown word as it is)."""
    return _(STATE_NAMES[state]) if state in STATE_NAMES else state


def event_name(kind: str) -> str:
    """A trainer's event type (loratui.train) as the Events log names it."""
    names = {"started": pgettext("run event", "started"),
             "resumed": pgettext("run event", "resumed"),
             "sample": pgettext("run event", "sample"),
             "checkpoint": pgettext("run event", "checkpoint"),
             "warning": pgettext("run event", "warning"),
             "skipped": pgettext("run event", "skipped"),
             "finished": pgettext("run event", "finished"),
             "interrupted": pgettext("run event", "interrupted"),
             "nan": pgettext("run event", "NaN loss"),
             "oom": pgettext("run event", "out of memory"),
             "failed": pgettext("run event", "failed"),
             "crashed": pgettext("run event", "crashed"),
             "resume_fallback": pgettext("run event", "resumed earlier")}
    return names.get(kind, kind)


def event_message(event: dict[str, Any]) -> str:
    """An event's message in the wizard's language where its fields say it all; else as
    the trainer wrote it."""
    kind, paths = event.get("type"), event.get("paths")
    if kind == "sample" and isinstance(paths, list):
        return ngettext("{n} sample image", "{n} sample images", len(paths)).format(
            n=len(paths))
    if kind in ("started", "resumed") and isinstance(event.get("step"), int) \
            and isinstance(event.get("max_steps"), int):
        return _("step {step}/{max_steps}").format(step=event["step"],
                                                  max_steps=event["max_steps"])
    english = event.get("message", "")
    message = message_from_fields(event)   # the trainer records msgid/args beside the English
    if message is not None and message == english:
        return message.localized()
    return str(localized(english))   # a watched stream's events are Messages in memory


MAX_RECORD = 256 * 1024 * 1024   # a metrics.jsonl of a million steps is ~200 MB
TAIL_BYTES_PER_ROW = 64 * 1024


def read_record(path: Path, limit: int = MAX_RECORD) -> bytes:
    """The last `limit` bytes of a run record (from a line start), b"" when it is missing,
    unreadable, or not a regular file: a pipe named like a record (a reader would wait on
    it) and a folder are no record."""
    import stat

    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except OSError:
        return b""
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            return b""
        start = max(0, st.st_size - limit)
        os.lseek(fd, start, os.SEEK_SET)
        parts = []
        while chunk := os.read(fd, 1 << 20):
            parts.append(chunk)
        data = b"".join(parts)
    except OSError:
        return b""
    finally:
        os.close(fd)
    return data[data.find(b"\n") + 1:] if start else data


def read_jsonl(path: Path, tail: int | None = None) -> list[dict[str, Any]]:
    """Complete JSON lines of `path` (a partly written last line is ignored)."""
    data = read_record(path, tail * TAIL_BYTES_PER_ROW if tail else MAX_RECORD)
    # the last element is "" after a final newline, or a line still being written
    lines = data.split(b"\n")[:-1]
    rows = []
    for line in lines[-tail:] if tail else lines:
        row = parse_row(line)
        if row is not None:
            rows.append(row)
    return rows


# Fields readers format as numbers or as text. A value of another type (hand-edited or
# damaged files) is dropped on reading, so no view ever fails on it.
NUMBER_FIELDS = frozenset({"step", "max_steps", "epoch", "epochs", "pid", "loss", "loss_avg",
                           "lr_unet", "lr_te", "eta_s", "sec_per_step", "images_per_sec",
                           "mem_allocated_mb", "mem_peak_mb", "processes", "launcher_pid"})
TEXT_FIELDS = frozenset({"state", "host", "error", "lora", "started_at", "updated_at", "type",
                         "message"})
# Numbers the trainer writes as null when they were not measured (no CUDA, a zero step time).
MAY_BE_NULL = frozenset({"images_per_sec", "mem_allocated_mb", "mem_reserved_mb",
                         "mem_peak_mb"})


def typed(row: dict[str, Any]) -> dict[str, Any]:
    """`row` without the known fields whose value has the wrong type."""
    def ok(key: str, value: Any) -> bool:
        if value is None and key in MAY_BE_NULL:
            return True
        if key in NUMBER_FIELDS:
            return isinstance(value, (int, float)) and not isinstance(value, bool)
        return key not in TEXT_FIELDS or isinstance(value, str)

    return {k: v for k, v in row.items() if ok(k, v)}


def parse_row(line: bytes) -> dict[str, Any] | None:
    """One JSONL row as a dict; None for a blank, damaged or non-object line (a reader
    skips it, never fails on it)."""
    if not line.strip():
        return None
    try:
        row = json.loads(line)
    except (ValueError, RecursionError):
        return None
    return typed(row) if isinstance(row, dict) else None


MAX_OBJECT = 4 * 1024 * 1024


def _json_object(path: Path) -> dict[str, Any]:
    """A small JSON file that must hold an object; {} when missing or damaged."""
    raw = read_record(path, MAX_OBJECT + 1)
    if len(raw) > MAX_OBJECT:       # no state or environment record is megabytes long
        return {}
    try:
        data = json.loads(raw.decode("utf-8"))
    except (ValueError, RecursionError):
        return {}
    return typed(data) if isinstance(data, dict) else {}


def pid_alive(pid: int | None) -> bool:
    if not pid:
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    except (OSError, ValueError):
        return False
    try:  # a finished child that nobody reaped yet is a zombie, not a live trainer
        import psutil

        return psutil.Process(int(pid)).status() != psutil.STATUS_ZOMBIE
    except Exception:
        return True


class JsonlFollower:
    """Incremental reader of a JSONL file: `poll()` returns the rows appended since last time."""

    def __init__(self, path: Path):
        self.path = Path(path)
        self.offset = 0
        self._partial = b""

    def poll(self) -> list[dict[str, Any]]:
        try:
            size = self.path.stat().st_size
        except OSError:
            return []
        if size < self.offset:  # rewritten (e.g. truncated on resume): start over
            self.offset, self._partial = 0, b""
        if size == self.offset:
            return []
        if not self.path.is_file():     # a pipe or a folder of that name: no rows
            return []
        start = max(self.offset, size - MAX_RECORD)     # a huge first read: its tail
        with self.path.open("rb") as fh:
            fh.seek(start)
            chunk = fh.read(size - start)
        if start > self.offset:
            self._partial, chunk = b"", chunk[chunk.find(b"\n") + 1:]
        self.offset = size
        data = self._partial + chunk
        *lines, self._partial = data.split(b"\n")
        if len(self._partial) > TAIL_BYTES_PER_ROW:    # no row is that long: not JSONL
            self._partial = b""
        return [row for row in map(parse_row, lines) if row is not None]


@dataclass
class RunFolder:
    path: Path

    def __post_init__(self) -> None:
        self.path = Path(self.path)

    # --- identity
    @property
    def name(self) -> str:
        return self.path.name

    def exists(self) -> bool:
        return (self.path / STATE_FILE).is_file() or (self.path / CONFIG_FILE).is_file()

    @property
    def config_path(self) -> Path:
        return self.path / CONFIG_FILE

    @property
    def metrics_path(self) -> Path:
        return self.path / METRICS_FILE

    @property
    def events_path(self) -> Path:
        return self.path / EVENTS_FILE

    @property
    def log_path(self) -> Path:
        return self.path / LOG_FILE

    # --- state
    def raw_state(self) -> dict[str, Any]:
        return _json_object(self.path / STATE_FILE)

    def state(self) -> dict[str, Any]:
        """state.json, with an active state whose process is gone reported as `crashed`."""
        st = self.raw_state()
        if not isinstance(st.get("state"), str):
            st["state"] = "unknown"
        here = st.get("host") in (None, socket.gethostname())
        if st["state"] in ACTIVE_STATES and here and (
                not pid_alive(st.get("pid"))
                or not all(pid_alive(pid) for pid in self.local_pids(st))):
            st["reported_state"] = st["state"]
            st["state"] = "crashed"
        st["resumable"] = self.resumable()
        error = message_from_fields(st["error_message"]) \
            if isinstance(st.get("error_message"), dict) else None
        if error is not None and error == st.get("error"):  # shown in the reader's language
            st["error"] = error
        return st

    def local_pids(self, st: dict[str, Any] | None = None) -> list[int]:
        """A group's trainer processes on this machine (empty for a single process)."""
        st = self.raw_state() if st is None else st
        ranks = st.get("ranks")
        if not isinstance(ranks, list):
            return []
        host = socket.gethostname()
        return [r["pid"] for r in ranks if isinstance(r, dict) and r.get("host") == host
                and isinstance(r.get("pid"), int) and not isinstance(r.get("pid"), bool)]

    @property
    def status(self) -> str:
        return self.state()["state"]

    def is_active(self) -> bool:
        return self.status in ACTIVE_STATES

    def resumable(self) -> bool:
        """A resume state exists (whether it is intact is for the trainer to check)."""
        ckpt = self.path / "checkpoints"
        if any((ckpt / d / TRAINER_FILE).is_file() for d in STATE_DIRS):
            return True
        try:
            return any(p.name.startswith(EPOCH_STATE_PREFIX) and (p / TRAINER_FILE).is_file()
                       for p in ckpt.iterdir())
        except OSError:
            return False

    # --- files
    def metrics(self, tail: int | None = None) -> list[dict[str, Any]]:
        return read_jsonl(self.metrics_path, tail)

    def last_metric(self) -> dict[str, Any] | None:
        rows = self.metrics(tail=1)
        return rows[-1] if rows else None

    def events(self, tail: int | None = None) -> list[dict[str, Any]]:
        return read_jsonl(self.events_path, tail)

    def environment(self) -> dict[str, Any]:
        return _json_object(self.path / ENV_FILE)

    def log_tail(self, lines: int = 20) -> list[str]:
        try:
            with self.log_path.open("rb") as fh:
                fh.seek(0, os.SEEK_END)
                size = fh.tell()
                fh.seek(max(0, size - 64 * 1024))
                text = fh.read().decode("utf-8", errors="replace")
        except OSError:
            return []
        return text.splitlines()[-lines:]

    def samples(self) -> list[Path]:
        return sorted((self.path / "samples").glob("*.png"))

    def checkpoints(self) -> list[Path]:
        return sorted((self.path / "checkpoints").glob("*.safetensors"))

    def lora_path(self) -> Path | None:
        """The final LoRA when the run finished, else None."""
        st = self.raw_state()
        if st.get("lora") and Path(st["lora"]).is_file():
            return Path(st["lora"])
        return None

    def follow_metrics(self) -> JsonlFollower:
        return JsonlFollower(self.metrics_path)

    def follow_events(self) -> JsonlFollower:
        return JsonlFollower(self.events_path)

    def summary(self) -> dict[str, Any]:
        st = self.state()
        last = self.last_metric() or {}
        return {"name": self.name, "path": str(self.path), "state": st["state"],
                "step": last.get("step", st.get("step", 0)), "max_steps": st.get("max_steps"),
                "epoch": last.get("epoch", st.get("epoch")), "epochs": st.get("epochs"),
                "loss_avg": last.get("loss_avg"), "started_at": st.get("started_at"),
                "updated_at": st.get("updated_at"), "lora": st.get("lora"),
                "error": st.get("error"), "resumable": st["resumable"],
                "processes": st.get("processes") or 1}


def list_runs(output_dir: Path | str) -> list[RunFolder]:
    """Run folders under `output_dir`, newest first."""
    root = Path(output_dir)
    if not root.is_dir():
        return []
    runs = [RunFolder(p) for p in root.iterdir() if p.is_dir() and (p / STATE_FILE).is_file()]
    return sorted(runs, key=lambda r: ((r.path / STATE_FILE).stat().st_mtime, r.name),
                  reverse=True)


def find_run(ref: str | Path, output_dir: Path | str | None = None) -> RunFolder | None:
    """A run by path, by folder name under `output_dir`, or by unique name prefix."""
    path = Path(ref).expanduser()
    if (path / STATE_FILE).is_file():
        return RunFolder(path)
    if output_dir is not None:
        root = Path(output_dir)
        if (root / str(ref) / STATE_FILE).is_file():
            return RunFolder(root / str(ref))
        matches = [r for r in list_runs(root) if r.name.startswith(str(ref))]
        if matches:
            return matches[0]  # newest
    return None

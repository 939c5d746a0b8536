"""Write a run folder (the trainer's side; readers use `loratui.runs.RunFolder`)."""

from __future__ import annotations

import json
import logging
import os
import platform
import socket
import sys
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from loratui.config import atomic_write_text, save_config
from loratui.i18n import Message, message_fields
from loratui.runs import (
    ENV_FILE,
    EVENTS_FILE,
    LOG_FILE,
    METRICS_FILE,
    STATE_FILE,
    RunFolder,
    read_jsonl,
)


def utc_now() -> str:
    return datetime.now(timezone.utc).replace(microsecond=0).isoformat()


class RunWriter(RunFolder):
    """Appends metrics/events, rewrites state.json atomically. Only the main process writes."""

    def __init__(self, path: Path | str, enabled: bool = True):
        super().__init__(Path(path))
        self.enabled = enabled

    @classmethod
    def create(cls, cfg, output_dir: Path | str | None = None) -> RunWriter:
        root = Path(output_dir or cfg.output.dir)
        root.mkdir(parents=True, exist_ok=True)
        stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
        base = f"{cfg.output.name}-{stamp}"
        path, n = root / base, 1
        while True:
            try:
                path.mkdir()
                break
            except FileExistsError:
                n += 1
                path = root / f"{base}-{n}"
        for sub in ("samples", "checkpoints"):
            (path / sub).mkdir()
        run = cls(path)
        save_config(cfg, run.config_path)
        run.set_state("created", created_at=utc_now(), name=cfg.output.name)
        return run

    def set_state(self, state: str, **fields: Any) -> dict[str, Any]:
        if not self.enabled:
            return {}
        st = self.raw_state()
        if "error" in fields:  # English for other tools; its msgid and arguments beside it
            error = fields["error"]
            fields["error_message"] = message_fields(error) if isinstance(error, Message) \
                else None
        st.update(fields)
        st.update(state=state, updated_at=utc_now(), host=socket.gethostname())
        text = json.dumps(st, indent=2) + "\n"
        try:
            atomic_write_text(self.path / STATE_FILE, text)
        except OSError as exc:
            self._rewrite_in_place(text, exc)
        return st

    def _rewrite_in_place(self, text: str, exc: OSError) -> None:
        """A full disk has no room for the temp copy: rewrite state.json in place (truncating
        it frees its blocks first), so the failure is still recorded, not a stale `running`."""
        logging.getLogger("loratui.train").warning(
            "%s: atomic rewrite failed (%s); rewriting in place", self.path / STATE_FILE,
            exc.strerror or exc)
        try:
            with open(self.path / STATE_FILE, "w", encoding="utf-8") as fh:
                fh.write(text)
        except OSError as again:
            logging.getLogger("loratui.train").error(
                "%s: cannot be written (%s)", self.path / STATE_FILE, again.strerror or again)

    def _append(self, name: str, row: dict[str, Any]) -> None:
        if not self.enabled:
            return
        line = (json.dumps(row, ensure_ascii=False) + "\n").encode("utf-8")
        try:  # whole lines only: a full disk leaves no half line for the next to join
            fd = os.open(self.path / name, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o666)
            try:
                size = os.fstat(fd).st_size
                if os.write(fd, line) < len(line):
                    os.ftruncate(fd, size)
                    raise OSError(28, "No space left on device")
            finally:
                os.close(fd)
        except OSError as exc:
            logging.getLogger("loratui.train").warning("%s: row not written (%s)",
                                                       self.path / name, exc.strerror or exc)

    def metric(self, row: dict[str, Any]) -> None:
        self._append(METRICS_FILE, row)

    def event(self, kind: str, message: str = "", **fields: Any) -> None:
        """One event; a `Message` is kept as its English text plus its msgid and arguments,
        so that a reader shows it in its own language."""
        if isinstance(message, Message):
            fields = {**message_fields(message), **fields}
        self._append(EVENTS_FILE, {"time": utc_now(), "type": kind, "message": str(message),
                                   **fields})

    def truncate_metrics(self, last_step: int) -> int:
        """Drop metric rows after `last_step` (steps a crash lost); returns rows kept."""
        rows = [r for r in read_jsonl(self.metrics_path) if r.get("step", 0) <= last_step]
        if self.enabled:
            atomic_write_text(self.metrics_path,
                              "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows))
        return len(rows)

    def write_environment(self, extra: dict[str, Any] | None = None) -> None:
        if not self.enabled:
            return
        atomic_write_text(self.path / ENV_FILE, json.dumps(environment(extra), indent=2) + "\n")


def environment(extra: dict[str, Any] | None = None) -> dict[str, Any]:
    from importlib import metadata

    versions = {}
    for dist in ("loratui", "torch", "diffusers", "peft", "transformers", "accelerate",
                 "safetensors", "numpy", "pillow", "xformers", "bitsandbytes"):
        try:
            versions[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            continue
    env: dict[str, Any] = {
        "time": utc_now(), "python": sys.version.split()[0], "platform": platform.platform(),
        "host": socket.gethostname(), "pid": os.getpid(), "argv": sys.argv,
        "cwd": os.getcwd(), "versions": versions,
    }
    try:
        from loratui.gpu import detect

        report = detect(allow_torch=True)
        env["gpu"] = report.summary()
    except Exception as exc:  # the record must never stop training
        env["gpu"] = f"unknown ({exc})"
    try:
        import torch

        env["torch"] = {"cuda": torch.version.cuda, "cuda_available": torch.cuda.is_available(),
                        "threads": torch.get_num_threads()}
    except ImportError:
        pass
    env.update(extra or {})
    return env


def setup_logging(run: RunFolder | None, *, to_file: bool, to_stderr: bool = True,
                  level: int = logging.INFO, prefix: str = "") -> logging.Logger:
    """`loratui.train` logger: train.log in the run folder and/or stderr."""
    log = logging.getLogger("loratui.train")
    logging.raiseExceptions = False  # a full disk must not print a traceback per log line
    log.setLevel(level)
    log.propagate = False
    for h in list(log.handlers):
        log.removeHandler(h)
        h.close()
    fmt = logging.Formatter(f"%(asctime)s %(levelname)-7s {prefix}%(message)s",
                            "%Y-%m-%d %H:%M:%S")
    fmt.converter = time.gmtime
    if to_file and run is not None:
        fh = logging.FileHandler(run.path / LOG_FILE, encoding="utf-8")
        fh.setFormatter(fmt)
        log.addHandler(fh)
    if to_stderr:
        sh = logging.StreamHandler(sys.stderr)
        sh.setFormatter(fmt)
        log.addHandler(sh)
    return log

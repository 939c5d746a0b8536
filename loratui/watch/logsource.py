"""A log being written, or a pipe: tqdm updates → rows, the rest → the live doctor."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

from loratui.i18n import N_, Message
from loratui.watch.doctor_live import LiveDoctor
from loratui.watch.progress import GENERIC, PROFILES, ProgressReader, guess_trainer
from loratui.watch.source import WatchSource, event
from loratui.watch.tail import FileTail, PipeTail, Segments

PID_RETRY = 15.0  # seconds between looks for the writing process
GUESS_LINES = 2000  # lines read for the trainer's signs before giving up
QUIET_SECONDS = 10.0  # no output for this long: the writer stopped writing
NOTES = {"truncated": N_("{path} was truncated; following it from its start"),
         "rotated": N_("{path} was rotated; following it from its start")}


class LogSource(WatchSource):
    def __init__(self, source: str, tail: FileTail | PipeTail, *, trainer: str | None = None,
                 sample_dirs: list[Path] | None = None) -> None:
        super().__init__(source, trainer or "unknown", sample_dirs=sample_dirs)
        self.tail = tail
        self.segments = Segments()
        self.reader = ProgressReader(PROFILES.get(trainer or "", GENERIC))
        self.doctor = LiveDoctor(Path(source).name if source != "-" else "<stdin>")
        self._guess_left = 0 if trainer else GUESS_LINES
        self._pid_checked = 0.0
        self._in_progress = False

    def _read(self) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        rows: list[dict[str, Any]] = []
        events: list[dict[str, Any]] = []
        chunks = self.tail.read()
        for chunk in chunks:
            if chunk.note:
                events.append(event(chunk.note, Message(NOTES.get(chunk.note, NOTES[
                    "truncated"]), path=self.source)))
                self.segments = Segments()
            texts = self.segments.feed(chunk.data)
            if chunk.eof:
                texts += self.segments.flush()
                self.ended = True
            for text in texts:
                self._line(text, rows, events)
        if any(c.data for c in chunks):
            self._last_output = time.monotonic()
        self._find_pid()
        events += self.doctor.check_text(quiet=self._quiet(bool(chunks)))
        return rows, events

    def _quiet(self, read_something: bool) -> bool:
        """The writer stopped: the pipe closed, its process exited, or nothing came for
        QUIET_SECONDS (a traceback is then what the run ended on)."""
        if self.ended or self._writer_alive() is False:
            return True
        return not read_something and not self.tail.pending and \
            self._silent_for(time.monotonic()) >= QUIET_SECONDS

    def _line(self, text: str, rows: list, events: list) -> None:
        if self._guess_left:
            self._guess_left -= 1
            name = guess_trainer(text)
            if name:
                self.trainer = name
                self.reader.set_profile(PROFILES[name])
                self._guess_left = 0
        row = self.reader.feed(text)
        if self.reader.restarted:
            self.reader.restarted = False
            self.doctor.reset()
            events.append(event("restarted", Message(N_("a new run started in the same "
                                                        "log"))))
        if row is not None:
            rows.append(row)
            events.extend(self.doctor.check_rows([row]))
            if not self._in_progress:  # one progress line after other lines: the doctor
                self._in_progress = True  # sees that the run went on after them
                self.doctor.add_line(text)
        elif "%|" not in text:  # progress redraws are not lines of the log
            self._in_progress = False
            self.doctor.add_line(text)

    def _silent_for(self, now: float) -> float:
        if isinstance(self.tail, FileTail):  # the file's own clock: an old log is quiet
            try:
                return time.time() - os.fstat(self.tail.fh.fileno()).st_mtime
            except OSError:
                pass
        return super()._silent_for(now)

    def _find_pid(self) -> None:
        if self.pid is not None or self.source == "-" or self.state_name in ("finished",
                                                                           "failed"):
            return
        now = time.monotonic()
        if now - self._pid_checked < PID_RETRY:
            return
        self._pid_checked = now
        from loratui.watch.procs import writer_pid

        self.pid = writer_pid(self.source)

    def close(self) -> None:
        self.tail.close()

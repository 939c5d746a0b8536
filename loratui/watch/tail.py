"""Follow a growing log: a file (rotation and truncation handled) or a pipe.

Reads go on from the offset already reached, at most `max_read` bytes a poll, so a 2 GB
log costs a bounded buffer, never the whole file. A log already large when the watch
starts is read from its head (the banner and the command line) and its last
`catch_up` bytes (the run as it stands now); the middle is skipped.
"""

from __future__ import annotations

import os
import queue
import re
import threading

from loratui.doctor.util import ANSI

HEAD = 256 * 1024
CATCH_UP = 8 << 20
MAX_READ = 4 << 20
MAX_SEGMENT = 64 * 1024
MARK = 64


class Chunk:
    """What one poll read: the bytes, and what happened to the file before them."""

    __slots__ = ("data", "eof", "note")

    def __init__(self, data: bytes = b"", note: str | None = None, eof: bool = False) -> None:
        self.data = data
        self.note = note  # "truncated", "rotated", "skipped" (the middle of a large log)
        self.eof = eof  # a pipe closed: nothing more will come


class FileTail:
    def __init__(self, path: str, *, catch_up: int = CATCH_UP, max_read: int = MAX_READ
                 ) -> None:
        self.path = path
        self.max_read = max_read
        self.fh = open(path, "rb")  # noqa: SIM115 - held open across polls
        st = os.fstat(self.fh.fileno())
        self.ino = (st.st_dev, st.st_ino)
        self.offset = 0
        self._mark = b""  # the last bytes read, to tell a rewritten file from a grown one
        self._skip_to: int | None = None
        if st.st_size > catch_up + HEAD:
            self._skip_to = (st.st_size - catch_up) & ~1  # even: a UTF-16 log stays aligned
        self.decoder = None
        self._detect_encoding()

    def _detect_encoding(self) -> None:
        """UTF-16 (PowerShell's `>` writes it) is decoded as it comes; else bytes as-is."""
        self.fh.seek(0)
        self.decoder = None
        if self.fh.read(2) in (b"\xff\xfe", b"\xfe\xff"):
            import codecs

            self.decoder = codecs.getincrementaldecoder("utf-16")(errors="replace")

    def read(self) -> list[Chunk]:
        chunks: list[Chunk] = []
        try:
            size = os.fstat(self.fh.fileno()).st_size
        except OSError:
            size = self.offset
        if size < self.offset or not self._same_bytes_before():
            # truncated in place (`> log` again, a restarted run), maybe already longer
            # than before: the bytes before the offset are not the ones read there
            self.offset = 0
            self._skip_to = None
            self._mark = b""
            self._detect_encoding()
            chunks.append(Chunk(note="truncated"))
        data = self._read_upto(size)
        if data:
            chunks.append(Chunk(self._utf8(data)))
        if self.offset >= size and self._rotated():
            self.fh.close()
            self.fh = open(self.path, "rb")  # noqa: SIM115
            st = os.fstat(self.fh.fileno())
            self.ino = (st.st_dev, st.st_ino)
            self.offset = 0
            self._mark = b""
            self._detect_encoding()
            chunks.append(Chunk(note="rotated"))
            data = self._read_upto(st.st_size)
            if data:
                chunks.append(Chunk(self._utf8(data)))
        return chunks

    def _utf8(self, data: bytes) -> bytes:
        if self.decoder is None:
            return data
        return self.decoder.decode(data).encode("utf-8")

    def _read_upto(self, size: int) -> bytes:
        if self._skip_to is not None and self.offset >= HEAD:
            self.offset, self._skip_to = self._skip_to, None
            self.fh.seek(self.offset)
            # the first line there is cut: resume at the next line (or update)
            self.fh.readline(MAX_SEGMENT)
            self.offset = self.fh.tell()
            if self.decoder is not None:
                self.offset += self.offset & 1  # "\n\x00": the line starts after the NUL
                self.decoder.reset()
            self._mark = b""
            return b"\n"
        if size <= self.offset:
            return b""
        want = min(size - self.offset, self.max_read)
        if self._skip_to is not None:
            want = min(want, HEAD - self.offset)
        self.fh.seek(self.offset)
        data = self.fh.read(want)
        self.offset += len(data)
        self._mark = (self._mark + data[-MARK:])[-MARK:]
        return data

    def _same_bytes_before(self) -> bool:
        if not self._mark:
            return True
        self.fh.seek(self.offset - len(self._mark))
        return self.fh.read(len(self._mark)) == self._mark

    def _rotated(self) -> bool:
        try:
            st = os.stat(self.path)
        except OSError:
            return False  # moved away, the new one not created yet
        return (st.st_dev, st.st_ino) != self.ino

    @property
    def pending(self) -> bool:
        """More is already written than was read (a catch-up in progress)."""
        try:
            return os.fstat(self.fh.fileno()).st_size > self.offset
        except OSError:
            return False

    def close(self) -> None:
        self.fh.close()


class PipeTail:
    """stdin (`trainer 2>&1 | loratui watch -`): a thread drains the pipe so the trainer
    never blocks on a full pipe while the view draws."""

    def __init__(self, stream) -> None:
        self.stream = stream
        self.queue: queue.SimpleQueue[bytes | None] = queue.SimpleQueue()
        self.closed = False
        self.thread = threading.Thread(target=self._drain, name="watch-stdin", daemon=True)
        self.thread.start()

    def _drain(self) -> None:
        read = getattr(self.stream, "read1", self.stream.read)
        try:
            while True:
                data = read(65536)
                if not data:
                    break
                self.queue.put(data)
        except (OSError, ValueError):
            pass
        self.queue.put(None)

    def read(self, wait: float = 0.0) -> list[Chunk]:
        out: list[Chunk] = []
        size = 0
        while size < MAX_READ:
            try:
                data = self.queue.get(timeout=wait) if wait and not out else self.queue.get_nowait()
            except queue.Empty:
                break
            if data is None:
                self.closed = True
                out.append(Chunk(eof=True))
                break
            out.append(Chunk(data))
            size += len(data)
        return out

    @property
    def pending(self) -> bool:
        return not self.queue.empty()

    def close(self) -> None:
        pass


class Segments:
    """Bytes → the text segments a terminal would print: split at `\\n` and at each
    tqdm `\\r` update; CRLF is one line end; ANSI codes removed. A partial last segment
    waits for the next chunk (bounded to MAX_SEGMENT)."""

    def __init__(self) -> None:
        self.partial = b""

    def feed(self, data: bytes) -> list[str]:
        buf = self.partial + data
        buf = buf.replace(b"\r\n", b"\n")
        # a `\r` at the end may be the first half of a CRLF: it waits for the next byte
        cut = len(buf) - 1 if buf.endswith(b"\r") else \
            max(buf.rfind(b"\n"), buf.rfind(b"\r")) + 1
        done, self.partial = buf[:cut], buf[cut:]
        if len(self.partial) > MAX_SEGMENT or (b"%|" in self.partial and
                                               self.partial.rstrip().endswith(b"]")):
            # a tqdm update is one write and is never followed by its line end (the next
            # update starts with `\r`): the newest one is complete as it stands
            done, self.partial = buf, b""
        return self._split(done)

    def flush(self) -> list[str]:
        done, self.partial = self.partial, b""
        return self._split(done)

    @staticmethod
    def _split(data: bytes) -> list[str]:
        if not data:
            return []
        text = data.decode("utf-8", errors="replace").replace("\x00", "")
        text = ANSI.sub("", text)  # (NULs: a preallocated or sparse log's unwritten part)
        return [s for s in re.split(r"[\r\n]", text) if s.strip()]

"""Training / UI logs: tqdm carriage returns, ANSI colours, CRLF, UTF-16, tens of MB.

Most of a long training log is tqdm progress: one physical line holding thousands of
`\\r`-separated updates, each overwriting the one before. The file is streamed once in
8 MB blocks (`readinto` a reused buffer: no 50 MB allocation) into `LogData.view`, the log
as a terminal shows it: of every line, the text up to its first `\\r` and after its last
one; the overwritten updates in between are dropped. Only C-level `find`s run per block
and per line that holds a `\\r`, so a 50 MB sd-scripts log becomes a view of some ten kB.
CRLF is read as one newline. Every line keeps its newline, so line numbers are the file's.

Rules name literal `needles`; a needle absent from the view (`in`, C speed) rules the rule
out. Only the lines around a needle's hits are decoded, cleaned of ANSI codes and matched
with the rule's regex. A NaN loss first shows in an update that a later one overwrote:
`first_in_file` streams the file again for the needles the view holds.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from pathlib import Path

from loratui.doctor.util import ANSI, unwrap_line

MAX_HITS_PER_NEEDLE = 200
# A line longer than this keeps only its head in the view (a 1 GB line with no newline
# held the whole file, three times over); no trainer message is that long.
MAX_LINE = 1 << 20
BLOCK = 8 << 20
# Past this many lines holding a `\r` while the view stays over half the size read (a `\r`
# ending every line, say), dropping updates saves nothing: keep the rest as it is.
MAX_CR_LINES = 20_000
# A view larger than this (a log with one line per progress update, say) is searched
# through its digest first: its distinct lines with the digits taken out, which is small
# when lines differ only in their numbers (steps, losses, times).
DIGEST_FROM = 8 << 20
DIGITS = b"0123456789"
DIGEST_SLICE = 1 << 20
DIGEST_MAX = 4 << 20
DIGEST_MAX_LINES = 100_000
BLANK_RUNS = re.compile(rb"\n\n+")


class LogLine:
    __slots__ = ("line", "pos", "text")

    def __init__(self, line: int, pos: int, text: str) -> None:
        self.line = line
        self.pos = pos
        self.text = text


def _segment_at(buf: bytes, pos: int) -> str:
    """The `\\r`/`\\n`-delimited segment of `buf` around `pos`, ANSI codes removed."""
    start = max(buf.rfind(b"\n", 0, pos), buf.rfind(b"\r", 0, pos)) + 1
    ends = [e for e in (buf.find(b"\n", pos), buf.find(b"\r", pos)) if e != -1]
    end = min(ends) if ends else len(buf)
    if end - start > 4000:
        start, end = max(start, pos - 2000), min(end, pos + 2000)
    text = buf[start:end].decode("utf-8", errors="replace")
    return unwrap_line(ANSI.sub("", text).strip()).strip()




def _blocks(path: str | Path, skip: int = 0, encoding: str | None = None):
    """(offset, block) of a file, CRLF read as LF (offsets count the LF form). A full
    block is the same reused buffer each time: callers copy what they keep. A UTF-16
    file (PowerShell's `>`) is decoded block by block into UTF-8, never whole."""
    buf = bytearray(BLOCK)
    pos = 0
    decoder = None
    if encoding:
        import codecs

        decoder = codecs.getincrementaldecoder(encoding)(errors="replace")
    with open(path, "rb", buffering=0) as fh:
        if skip:
            fh.read(skip)
        while True:
            n = fh.readinto(buf)
            if not n:
                if decoder is not None:
                    tail = decoder.decode(b"", final=True).encode("utf-8")
                    if tail:
                        yield pos, tail.replace(b"\r\n", b"\n")
                break
            block = buf if n == BLOCK else buf[:n]
            if decoder is not None:
                block = decoder.decode(bytes(block)).encode("utf-8")
            # A Windows log has CRLF on every line, so its block heads show it (searching
            # all of a block for b"\r\n" costs more than everything else). A CRLF elsewhere
            # is read right too, only slower.
            if b"\r\n" in block[:1 << 16]:
                block = block.replace(b"\r\n", b"\n")
            yield pos, block
            pos += len(block)


def _no_long_line(b: bytes, line_len: int) -> bool:
    """Whether every line of `b` (the first continuing one `line_len` bytes long) stays
    within MAX_LINE: true when each half-window of the block holds a newline (a C-level
    find per half-window), and the first and last lines fit."""
    first = b.find(b"\n")
    if first == -1 or line_len + first > MAX_LINE or len(b) - b.rfind(b"\n") - 1 > MAX_LINE:
        return False
    half = MAX_LINE // 2
    return all(b.find(b"\n", k, k + half) != -1 for k in range(first, len(b) - half, half))


class _ViewBuilder:
    """Feeds blocks in file order; keeps what a terminal would show."""

    def __init__(self) -> None:
        # The view grows in place: a list of pieces joined at the end held the log twice.
        self.buf = bytearray()
        self.vstarts: list[int] = []
        self.dstarts: list[int] = []
        self.vpos = 0
        self.read = 0
        self.in_cr_line = False  # inside a line whose first `\r` was seen
        self.tail: list[tuple[int, bytes]] = []  # the line's text after its latest `\r`
        self.cr_lines = 0
        self.plain = False
        self.before_cr: list[tuple[int, bytes]] | None = None  # tail if block-end \r end a line
        self.line_len = 0  # bytes of the current line already in the view

    def _emit(self, dpos: int, b: bytes) -> None:
        """Add `b` (file offset `dpos`) to the view, each line cut at MAX_LINE bytes."""
        if not b:
            return
        if self.line_len + len(b) <= MAX_LINE or _no_long_line(b, self.line_len):
            last = b.rfind(b"\n")
            self.line_len = self.line_len + len(b) if last == -1 else len(b) - last - 1
            self._put(dpos, b)
            return
        i = 0                   # a line longer than MAX_LINE: keep its head only
        while i < len(b):
            e = b.find(b"\n", i)
            end = len(b) if e == -1 else e
            keep = max(0, min(end - i, MAX_LINE - self.line_len))
            self._put(dpos + i, b[i:i + keep])
            self.line_len += keep
            if e == -1:
                return
            self._put(dpos + e, b"\n")
            self.line_len = 0
            i = e + 1

    def _put(self, dpos: int, b: bytes) -> None:
        if not b:
            return
        if not self.dstarts or self.dstarts[-1] + (self.vpos - self.vstarts[-1]) != dpos:
            self.vstarts.append(self.vpos)
            self.dstarts.append(dpos)
        self.buf += b
        self.vpos += len(b)

    def feed(self, base: int, block: bytes) -> None:
        self.read += len(block)
        if self.plain:
            self._emit(base, block)
            return
        i, n = 0, len(block)
        while i < n:
            if not self.in_cr_line:
                r = block.find(b"\r", i)
                if r == -1:
                    self._emit(base + i, block[i:])
                    return
                if block[r + 1:r + 2] == b"\n":  # a CRLF line end, not a tqdm update
                    self._emit(base + i, block[i:r + 2])
                    i = r + 2
                    continue
                self._emit(base + i, block[i:r + 1])  # up to and including the first \r
                self.in_cr_line = True
                self.tail = []
                self.cr_lines += 1
                i = r + 1
                if self.cr_lines > MAX_CR_LINES and self.vpos * 2 > self.read:
                    self.plain = True
                    self.in_cr_line = False
                    self._emit(base + i, block[i:])
                    return
                continue
            e = block.find(b"\n", i)
            end = n if e == -1 else e
            stop = end
            while stop > i and block[stop - 1] == 13:  # \r ending a line hide nothing
                stop -= 1
            if self.before_cr is not None:  # the last block ended in \r
                if stop == i and e == -1:
                    return  # still only \r: undecided
                if stop == i:  # ... and the line ends: they hid nothing
                    self.tail = self.before_cr
                self.before_cr = None
            if stop > i or e == -1 or not self.tail:
                last = block.rfind(b"\r", i, stop)
                if last != -1:
                    self.tail = [(base + last + 1, block[last + 1:end])]
                else:
                    self.tail.append((base + i, block[i:end]))
            if e == -1:
                if stop < end:  # text may follow (the \r hide what came before) or not
                    self.before_cr = self.tail
                    self.tail = [(base + end, b"")]
                return
            for dpos, b in self.tail:
                self._emit(dpos, b)
            self.tail = []
            self.in_cr_line = False
            i = e  # the newline is emitted with what follows

    def finish(self) -> tuple[bytearray, list[int], list[int]]:
        # a \r ending the file hides nothing either
        for dpos, b in self.before_cr if self.before_cr is not None else self.tail:
            self._emit(dpos, b)
        if not self.vstarts:
            self.vstarts, self.dstarts = [0], [0]
        return self.buf, self.vstarts, self.dstarts


class LogData:
    """A log as its visible text (`view`) plus the map back to file positions.

    `LogData(path, data)` reads bytes already in memory; `LogData.from_file(path)`
    streams a file."""

    def __init__(self, path: str, data: bytes | None = None, *, source: Path | None = None,
                 skip: int = 0, encoding: str | None = None) -> None:
        self.path = path
        # The first line of the paste's last run, when an earlier run in the same paste
        # failed and the last one trained to a saved LoRA: what happened before it is history.
        self.later_run_from: int | None = None
        self._encoding = encoding
        self._data = data.replace(b"\r\n", b"\n") if data is not None else None
        self._source = source
        self._skip = skip
        builder = _ViewBuilder()
        for base, block in self._stream():
            builder.feed(base, block)
        self.view, self._vstarts, self._dstarts = builder.finish()
        self._lines: list[tuple[int, int]] = [(0, 1)]  # (view pos, line) checkpoints
        self._digest: bytes | bool | None = None
        self._found: dict[bytes, bool] = {}

    @classmethod
    def from_file(cls, path: Path) -> LogData:
        with open(path, "rb") as fh:
            head = fh.read(4)
        if head.startswith((b"\xff\xfe", b"\xfe\xff")):  # PowerShell `>` writes UTF-16
            return cls(str(path), source=Path(path), encoding="utf-16")
        return cls(str(path), source=Path(path),
                   skip=3 if head.startswith(b"\xef\xbb\xbf") else 0)

    def _stream(self):
        if self._data is not None:
            for start in range(0, max(len(self._data), 1), BLOCK):
                yield start, self._data[start:start + BLOCK]
        else:
            yield from _blocks(self._source, self._skip, self._encoding)

    # -- positions: `pos` is a file offset (CRLF counted as one byte)
    def to_file_pos(self, vpos: int) -> int:
        i = bisect_right(self._vstarts, vpos) - 1
        return self._dstarts[i] + (vpos - self._vstarts[i])

    def to_view_pos(self, pos: int) -> int:
        """View offset of file offset `pos`; inside dropped updates: where they were."""
        i = max(bisect_right(self._dstarts, pos) - 1, 0)
        size = (self._vstarts[i + 1] if i + 1 < len(self._vstarts) else len(self.view)) \
            - self._vstarts[i]
        return self._vstarts[i] + min(pos - self._dstarts[i], size)

    def line_no(self, pos: int) -> int:
        """1-based line of file offset `pos`."""
        vpos = self.to_view_pos(pos)
        i = bisect_right(self._lines, (vpos, 1 << 62)) - 1
        start, line = self._lines[i]
        step = 1 << 20  # leave checkpoints behind, for hits found out of order
        while vpos - start > step:
            line += self.view.count(b"\n", start, start + step)
            start += step
            i += 1
            self._lines.insert(i, (start, line))
        return line + self.view.count(b"\n", start, vpos)

    def line_before(self, pos: int) -> str:
        """The visible line before the one holding `pos`, ANSI codes removed."""
        v = self.to_view_pos(pos)
        start = self.view.rfind(b"\n", 0, v)
        if start <= 0:
            return ""
        return _segment_at(self.view, start - 1) if self.view[start - 1:start] != b"\n" else ""

    def segment(self, pos: int) -> str:
        """The visible line around file offset `pos`."""
        return _segment_at(self.view, self.to_view_pos(pos))

    # -- searching the visible text
    def contains(self, needle: str) -> bool:
        b = needle.encode()
        if len(self.view) < DIGEST_FROM:
            return b in self.view
        if b not in self._found:
            if self._digest is None:
                self._digest = self._build_digest()
            if self._digest is not False:
                self._found[b] = b.translate(None, DIGITS) in self._digest and b in self.view
            else:  # too many distinct lines for a digest to help: search the view
                self._found[b] = b in self.view
        return self._found[b]

    def _build_digest(self) -> bytes | bool:
        """The view's distinct lines with digits removed, read a slice at a time (a
        list of every line of a 200 MB log would take gigabytes); b"" when they pass
        DIGEST_MAX bytes (then the digest would be no smaller than the view): False."""
        seen: set[bytes] = set()
        size = 0
        view = self.view
        start = 0
        while start < len(view):
            end = view.find(b"\n", min(start + DIGEST_SLICE, len(view)))
            end = len(view) if end == -1 else end + 1
            chunk = BLANK_RUNS.sub(b"\n", bytes(view[start:end]).translate(None, DIGITS))
            for line in set(chunk.split(b"\n")):
                if line not in seen:
                    seen.add(line)
                    size += len(line) + 1
            if size > DIGEST_MAX or len(seen) > DIGEST_MAX_LINES:
                return False
            start = end
        return b"\n".join(seen)

    def count(self, needle: str) -> int:
        return self.view.count(needle.encode())

    def find(self, needle: str | bytes) -> int:
        """File offset of the first visible occurrence, or -1."""
        b = needle.encode() if isinstance(needle, str) else needle
        if not self.contains(b.decode("utf-8", errors="replace")):
            return -1
        v = self.view.find(b)
        return -1 if v == -1 else self.to_file_pos(v)

    def visible_from(self, pos: int, size: int) -> bytes:
        """`size` bytes of visible text from file offset `pos`."""
        v = self.to_view_pos(pos)
        return self.view[v:v + size]

    def find_all(self, needle: str, limit: int = MAX_HITS_PER_NEEDLE) -> list[int]:
        """File offsets of the visible occurrences of `needle` (up to `limit`)."""
        b = needle.encode()
        if not self.contains(needle):  # the digest rules most needles out at once
            return []
        view = self.view
        out = []
        pos = view.find(b)
        while pos != -1 and len(out) < limit:
            out.append(self.to_file_pos(pos))
            pos = view.find(b, pos + len(b))
        return out

    def first_in_file(self, needles) -> LogLine | None:
        """The first occurrence of any needle anywhere in the file, overwritten tqdm
        updates included. Only needles the view holds are searched (a NaN loss stays NaN,
        so the last update shows it), so a clean log costs no second pass."""
        wanted = [n.encode() for n in needles if self.contains(n)]
        if not wanted:
            return None
        overlap = max(len(w) for w in wanted) + 2000
        prev = b""
        for base, block in self._stream():
            buf = prev + block
            found = [p for p in (buf.find(w) for w in wanted) if p != -1]
            if found:
                p = min(found)
                pos = base - len(prev) + p
                return LogLine(self.line_no(pos), pos, _segment_at(buf, p))
            prev = buf[-overlap:]
        return None

    def last_segment_with(self, needles) -> tuple[int, str] | None:
        """The last visible line holding any needle: (its position in the view, its text),
        or None. One backward search, however long the log."""
        at = max((self.view.rfind(n.encode()) for n in needles), default=-1)
        return (at, _segment_at(self.view, at)) if at >= 0 else None

    def lines_with(self, needles, regex: re.Pattern | None = None, limit: int = 50
                   ) -> list[tuple[LogLine, re.Match | None]]:
        """Visible lines (in file order) containing any needle and matching `regex`."""
        positions = sorted({p for n in needles for p in self.find_all(n)})
        out: list[tuple[LogLine, re.Match | None]] = []
        seen_lines = set()
        for pos in positions:
            line = self.line_no(pos)
            text = self.segment(pos)
            if (line, text) in seen_lines:
                continue
            seen_lines.add((line, text))
            m = regex.search(text) if regex is not None else None
            if regex is not None and m is None:
                continue
            out.append((LogLine(line, pos, text), m))
            if len(out) >= limit:
                break
        return out


def load_log(path: Path) -> LogData:
    return LogData.from_file(path)

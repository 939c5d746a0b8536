"""Training / UI logs: tqdm carriage returns, ANSI colours, CRLF, UTF-16, tens of MB.

The file is read once as bytes. Rules name literal `needles`; a needle that is absent
(`bytes.find`, C speed) rules the rule out, so a 50 MB log costs a few fast substring
scans instead of a Python loop over lines. Only the lines around a needle's hits are
decoded, cleaned of ANSI codes and matched with the rule's regex.
"""

from __future__ import annotations

import re
from pathlib import Path

ANSI_RE = re.compile(r"\x1b\[[0-9;?]*[ -/]*[@-~]|\x1b\][^\x07]*\x07")
MAX_HITS_PER_NEEDLE = 200


class LogLine:
    __slots__ = ("line", "pos", "text")

    def __init__(self, line: int, pos: int, text: str) -> None:
        self.line = line
        self.pos = pos
        self.text = text


class LogData:
    def __init__(self, path: str, data: bytes) -> None:
        self.path = path
        self.data = data
        self._line_cache: tuple[int, int] = (0, 1)  # (pos, line number at pos)

    def contains(self, needle: str) -> bool:
        return self.data.find(needle.encode()) != -1

    def count(self, needle: str) -> int:
        return self.data.count(needle.encode())

    def line_no(self, pos: int) -> int:
        last_pos, last_line = self._line_cache
        if pos >= last_pos:
            n = last_line + self.data.count(b"\n", last_pos, pos)
        else:
            n = 1 + self.data.count(b"\n", 0, pos)
        self._line_cache = (pos, n)
        return n

    def segment(self, pos: int) -> str:
        """The visible line around byte `pos` (tqdm's \\r updates split lines too)."""
        d = self.data
        start = max(d.rfind(b"\n", 0, pos), d.rfind(b"\r", 0, pos)) + 1
        ends = [e for e in (d.find(b"\n", pos), d.find(b"\r", pos)) if e != -1]
        end = min(ends) if ends else len(d)
        if end - start > 4000:
            start, end = max(start, pos - 2000), min(end, pos + 2000)
        text = d[start:end].decode("utf-8", errors="replace")
        return ANSI_RE.sub("", text).strip()

    def find_all(self, needle: str, limit: int = MAX_HITS_PER_NEEDLE) -> list[int]:
        b = needle.encode()
        out = []
        pos = self.data.find(b)
        while pos != -1 and len(out) < limit:
            out.append(pos)
            pos = self.data.find(b, pos + len(b))
        return out

    def lines_with(self, needles, regex: re.Pattern | None = None, limit: int = 50
                   ) -> list[tuple[LogLine, re.Match | None]]:
        """Lines (in file order) containing any needle and matching `regex` if given."""
        positions = sorted({p for n in needles for p in self.find_all(n)})
        out: list[tuple[LogLine, re.Match | None]] = []
        seen_lines = set()
        self._line_cache = (0, 1)
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

    def text_head(self, n: int = 256 * 1024) -> str:
        return ANSI_RE.sub("", self.data[:n].decode("utf-8", errors="replace"))


def load_log(path: Path) -> LogData:
    with open(path, "rb") as fh:
        data = fh.read()
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):  # PowerShell `>` writes UTF-16
        data = data.decode("utf-16", errors="replace").encode("utf-8")
    elif data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    return LogData(str(path), data)

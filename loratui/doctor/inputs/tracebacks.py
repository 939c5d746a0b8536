"""Python tracebacks in a log: plain ones and `rich`'s boxed ones, each with its frames,
its exception type and message, and whether the run went on after it.

Rules judge a root cause from the exception *and* the frames above it (an `OSError`
raised inside `save_model` is a save-path problem, the same error while loading is not),
and tell the traceback the run ended on from harmless ones printed along the way (the
Triton probe of xformers, a warning-level traceback followed by training progress).
"""

from __future__ import annotations

import re

from loratui.doctor.util import ANSI, LazyRe, unwrap_line

PLAIN = b"Traceback (most recent call last)"
MAX_TRACEBACKS = 100
READ = 64 * 1024
FRAME = LazyRe(r'^\s*File "([^"]+)", line (\d+), in (\S+)')
RICH_FRAME = LazyRe(r"^[│|]\s*(\S.*?):(\d+)\s+in\s+(\S+)\s*[│|]?\s*$")
EXC = LazyRe(r"^(?:[\w.]+\.)?(\w*(?:Error|Exception|Interrupt|Exit|Fault)\w*|Killed)"
             r"(?::\s*(.*))?$")
# After a traceback: the run went on (progress, epochs, saving) ...
PROGRESS = LazyRe(rb"\d+/\d+ \[[^\]\n]*(?:it/s|s/it)|^\s*epoch \d+/\d+|saving checkpoint|"
                  rb"model saved|steps:\s+\d+%", re.M)
# ... or it is one of the harmless ones every user sees.
BENIGN_EXC = LazyRe(r"No module named '?(?:triton|tensorflow|bitsandbytes\.triton|"
                    r"xformers\.triton|flash_attn)|A matching Triton is not available|"
                    r"_pytree|TensorFloat32|allow_tf32", re.I)
BENIGN_FRAME = LazyRe(r"_is_triton_available|triton|_pytree|is_available", re.I)
# Wrappers that only say "the child process failed": the cause is in the traceback above.
# A bare `Error: ...` line is a launcher's ("Error: UI script exited with code 1").
WRAPPERS = ("CalledProcessError", "NativeCommandError", "SystemExit", "ChildFailedError",
            "Error")


class Frame:
    __slots__ = ("file", "func", "line")

    def __init__(self, file: str, line: int, func: str) -> None:
        self.file = file
        self.line = line
        self.func = func

    def __repr__(self) -> str:
        return f"{self.file}:{self.line} in {self.func}"


class Traceback:
    __slots__ = ("end", "exc_line", "exc_type", "frames", "ignored", "line", "message", "pos",
                 "text")

    def __init__(self, pos: int, line: int) -> None:
        self.pos = pos  # file offset of its first line
        self.line = line
        self.frames: list[Frame] = []
        self.exc_type = ""
        self.message = ""
        self.text = ""  # the exception line as printed
        self.exc_line = line
        self.end = pos  # file offset just after the exception line
        self.ignored = False  # "Exception ignored in ...": Python went on

    @property
    def is_wrapper(self) -> bool:
        return self.exc_type in WRAPPERS

    @property
    def is_benign(self) -> bool:
        if BENIGN_EXC.search(self.text) or self.ignored:
            return True
        return self.exc_type in ("ModuleNotFoundError", "ImportError") and any(
            BENIGN_FRAME.search(f.func) or "triton" in f.file.lower() for f in self.frames)

    def __repr__(self) -> str:
        return f"<Traceback line {self.line} {self.exc_type}: {self.message[:40]}>"


def _parse(log, pos: int) -> Traceback:
    chunk = log.visible_from(pos, READ).decode("utf-8", errors="replace")
    tb = Traceback(pos, log.line_no(pos))
    v = log.to_view_pos(pos)
    lines = bytes(log.view[max(v - 400, 0):v]).split(b"\n")
    previous = lines[-2] if len(lines) >= 2 else lines[-1]  # the line above "Traceback"
    tb.ignored = b"Exception ignored in" in previous
    # A traceback printed indented (AUTOMATIC1111's "*** Error ...") keeps its indent on
    # every line: read its lines without it.
    lead = unwrap_line(ANSI.sub("", lines[-1].decode("utf-8", errors="replace")))
    indent = lead if lead.strip() == "" else ""
    offset = 0
    for i, raw in enumerate(chunk.split("\n")):
        offset += len(raw.encode("utf-8", errors="replace")) + 1  # view bytes
        if i == 0:
            continue
        raw = unwrap_line(ANSI.sub("", raw.rsplit("\r", 1)[-1]))
        if indent and raw.startswith(indent):
            raw = raw[len(indent):]
        text = raw.strip()
        m = FRAME.match(raw) or RICH_FRAME.match(text)
        if m:
            tb.frames.append(Frame(m.group(1).strip(), int(m.group(2)), m.group(3)))
            continue
        if not text or raw[:1] in (" ", "\t") or text[0] in "│|╭╰^~❱":
            continue
        if text.startswith(("During handling", "The above exception")):
            continue
        m = EXC.match(text)
        if m:
            tb.exc_type = m.group(1)
            tb.message = (m.group(2) or "").strip()
            tb.text = text[:300]
            tb.exc_line = tb.line + i
            tb.end = log.to_file_pos(min(v + offset, len(log.view)))
            return tb
        if i > 400:
            break
    tb.end = log.to_file_pos(min(v + offset, len(log.view)))
    return tb


def tracebacks(log) -> list[Traceback]:
    """The tracebacks of a log, in order (the first and last ones of a very long log).
    Parsed once per log (its text does not change): several rules ask for them."""
    parsed = getattr(log, "_tracebacks", None)
    if parsed is None:
        parsed = log._tracebacks = _parse_all(log)
    return list(parsed)


def _parse_all(log) -> list[Traceback]:
    hits = log.find_all(PLAIN.decode(), limit=MAX_TRACEBACKS)
    if len(hits) == MAX_TRACEBACKS:  # keep the last ones too: the run ends on one of them
        last = log.view.rfind(PLAIN)
        if last != -1:
            hits.append(log.to_file_pos(last))
    out = []
    for pos in sorted(set(hits)):
        out.append(_parse(log, pos))
    return _with_bare_exceptions(log, out)


def _with_bare_exceptions(log, tbs: list[Traceback]) -> list[Traceback]:
    """Exception lines a paste kept without their traceback (`PermissionError: ...` alone)
    are tracebacks with no frames."""
    spans = [(t.pos, t.end) for t in tbs]
    extra = []
    for pos in log.find_all("Error: ", limit=MAX_TRACEBACKS):
        if any(a <= pos < b for a, b in spans):
            continue
        start = log.view.rfind(b"\n", 0, log.to_view_pos(pos)) + 1
        head = log.view[start:start + 1]
        if head in (b" ", b"\t"):
            continue
        text = log.segment(pos)
        m = EXC.match(text)
        if m is None or (extra and extra[-1].exc_line == log.line_no(pos)):
            continue
        tb = Traceback(log.to_file_pos(start), log.line_no(pos))
        tb.exc_type, tb.message, tb.text = m.group(1), (m.group(2) or "").strip(), text[:300]
        tb.end = log.to_file_pos(start) + len(text) + 1
        extra.append(tb)
    return sorted(tbs + extra, key=lambda t: t.pos)


def went_on_after(log, tb: Traceback) -> bool:
    """Whether the run made progress after this traceback (it did not end on it)."""
    rest = log.visible_from(tb.end, 1 << 20)
    return PROGRESS.search(rest) is not None


def final_traceback(log) -> tuple[Traceback | None, bool]:
    """The traceback the run ended on (wrappers and harmless probes skipped) and whether
    the run really ended there (no progress after it, not stopped by the user). Found once
    per log, as `tracebacks`."""
    found = getattr(log, "_final_traceback", None)
    if found is None:
        found = log._final_traceback = _find_final(log)
    return found


def _find_final(log) -> tuple[Traceback | None, bool]:
    tbs = [t for t in tracebacks(log) if t.exc_type and not t.is_benign]
    causes = [t for t in tbs if not t.is_wrapper] or tbs
    if not causes:
        return None, False
    last = causes[-1]
    if last.exc_type == "KeyboardInterrupt":
        return last, False  # the user stopped it: no fault to report
    return last, not went_on_after(log, last)

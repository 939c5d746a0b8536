"""Small helpers shared by the doctor's parsers and predicates."""

from __future__ import annotations

import re

from loratui.i18n import N_, Message


def parse_gb(text: str) -> float:
    """'8GB', '8 gb', '8', '7.6GiB', '12G', '8192MB' → gigabytes."""
    m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*(g|gb|gib|m|mb|mib)?\s*", str(text), re.IGNORECASE)
    if not m:
        raise ValueError(Message(N_("cannot read {text} as a memory size; write it like 8GB"),
                                 text=repr(text)))
    value = float(m.group(1))
    if (m.group(2) or "").lower().startswith("m"):
        value /= 1024
    return value


class LazyRe:
    """A regex compiled on first use. Module-level `re.compile` of long patterns costs
    start-up time in every run, including runs that never use them."""

    __slots__ = ("_args", "_re")

    def __init__(self, pattern: str, flags: int = 0) -> None:
        self._args = (pattern, flags)
        self._re: re.Pattern | None = None

    def __getattr__(self, name: str):
        if self._re is None:
            self._re = re.compile(*self._args)
        return getattr(self._re, name)


# Terminal escape sequences that logs keep and readers drop: CSI (colours, cursor moves),
# OSC ended by BEL (window titles, links), and two-byte ones (keypad modes, cursor
# save / restore, reverse index). The log readers, the command finder and the watch share it.
ANSI = LazyRe(r"\x1b\[[0-9;?]*[ -/]*[@-~]|\x1b\][^\x07]*\x07|\x1b[=>78M]")

# What a paste puts before each line of a log it quotes: markdown quote markers (a reply
# quoting the log) and the RFC 3339 stamps of docker / RunPod / journald logs. The log
# readers, the traceback parser and the command finder read lines without them.
LINE_PREFIX = LazyRe(r"^(?:>[ \t]?)+|"
                     r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:[.,]\d+)?(?:Z|[+-]\d\d:?\d\d)?[ \t]")


def unwrap_line(text: str) -> str:
    """`text` without a quote marker or a log stamp before it (the indent after it kept)."""
    if text[:1] == ">" or text[:1].isdigit():
        return LINE_PREFIX.sub("", text, count=1)
    return text


def unwrap_lines(text: str) -> str:
    """Every line of `text` without ANSI codes, quote markers or log stamps; the line
    count is kept, so line numbers stay the paste's."""
    if "\x1b" in text:
        text = ANSI.sub("", text)
    if ">" not in text and "T" not in text:
        return text
    return "\n".join(unwrap_line(line) for line in text.split("\n"))

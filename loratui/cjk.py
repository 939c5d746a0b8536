"""Chinese, Japanese and Korean text: one test, standard library only and cheap (no regex:
compiling a character class this wide costs milliseconds of the doctor's start-up)."""

from __future__ import annotations

# CJK radicals to ideographs (kana, CJK punctuation included), hangul, compatibility
# ideographs, full-width forms (`is_cjk` spells them out: it runs once per character).
CJK_RANGES = ((0x2E80, 0x9FFF), (0xAC00, 0xD7AF), (0xF900, 0xFAFF), (0xFF00, 0xFFEF))


def is_cjk(ch: str) -> bool:
    code = ord(ch)
    return code >= 0x2E80 and (code <= 0x9FFF or 0xAC00 <= code <= 0xD7AF
                               or 0xF900 <= code <= 0xFAFF or 0xFF00 <= code <= 0xFFEF)


def has_cjk(text: str) -> bool:
    """Whether `text` has Chinese, Japanese or Korean characters."""
    return not text.isascii() and any(map(is_cjk, text))


def count_cjk(text: str) -> int:
    return 0 if text.isascii() else sum(map(is_cjk, text))


def cells(text: str) -> int:
    """Terminal columns `text` takes: two for each CJK character (they are wide)."""
    return len(text) if text.isascii() else len(text) + count_cjk(text)


# CJK punctuation that never starts a line (the character before it moves down with it).
NO_LINE_START = "，。、；：？！）》」』】”’"
NO_LINE_END = "（《「『【“‘"


def wrap(text: str, width: int) -> list[str]:
    """`text` in lines of at most `width` terminal columns, broken at spaces and between
    CJK characters (Chinese has no spaces between words); what textwrap does for English,
    which counts characters, not columns."""
    units: list[tuple[str, str]] = []   # (separator before, unbreakable piece)
    sep, word = "", ""
    for ch in text:
        if ch.isspace():
            if word:
                units.append((sep, word))
                word = ""
            sep = " "
        elif is_cjk(ch):
            if word:
                units.append((sep, word))
                sep, word = "", ""
            units.append((sep, ch))
            sep = ""
        else:
            word += ch
    if word:
        units.append((sep, word))
    lines: list[str] = []
    line: list[tuple[str, str]] = []   # the line's (separator, piece) so far
    used = 0                           # and its columns
    for sep, piece in _glue_openers(units):
        size = cells(piece)
        if line and used + len(sep) + size > width:
            # a closing mark that would start the next line takes the piece before it
            # along (the line ends short instead of running past the width)
            carried = [(sep, piece)]
            while carried[0][1] in NO_LINE_START and len(line) > 1:
                carried.insert(0, line.pop())
            if carried[0][1] in NO_LINE_START:   # one piece and its marks: no break here
                line += carried
            else:
                lines.append(_joined(line))
                line = [("", carried[0][1]), *carried[1:]]
            used = cells(_joined(line))
        else:
            line.append((sep if line else "", piece))
            used += len(line[-1][0]) + size
    if line:
        lines.append(_joined(line))
    return lines


def _joined(pieces: list[tuple[str, str]]) -> str:
    return "".join(sep + piece for sep, piece in pieces)


def _glue_openers(units: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """An opening bracket or quote joins the piece after it (it never ends a line)."""
    out: list[tuple[str, str]] = []
    for sep, piece in units:
        if out and out[-1][1][-1] in NO_LINE_END:
            out[-1] = (out[-1][0], out[-1][1] + sep + piece)
        else:
            out.append((sep, piece))
    return out

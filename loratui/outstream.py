"""Output for terminals that are not UTF-8: a server's `LANG=C`, `PYTHONIOENCODING=ascii`,
a Latin-1 console reached over SSH.

Stdlib only and cheap to import (`--help` and the doctor use it). `prepare_streams()`
sets stdout and stderr to write what their encoding lacks readably instead of raising
`UnicodeEncodeError`: typography by its ASCII look (`×` x, `—` -, `“”` ", `≥` >=, `…`
...), box drawing and bar blocks by `+ - | #`, accented letters without the accent, and
the rest (CJK text, an emoji) as a `\\uXXXX` escape, which is also valid inside JSON.
Undecodable bytes of a file name (surrogates) become `\\xNN` as everywhere else.
"""

from __future__ import annotations

import codecs
import sys

ERRORS = "loratui-ascii"   # the codec error handler's name
# whether a stream can show the Chinese messages: frequent Simplified characters (这个设张图说
# 为), which Big5 (zh_TW) and Shift_JIS terminals lack although they have 中文
PROBE = "\u8fd9\u4e2a\u8bbe\u5f20\u56fe\u8bf4\u4e3a"

# Characters of loratui's own texts and of what Rich draws, by an ASCII look-alike.
ASCII_LOOK = {
    "\u00d7": "x", "\u2715": "x", "\u2716": "x", "\u2717": "x", "\u2718": "x",
    "\u2014": "-", "\u2013": "-", "\u2012": "-", "\u2010": "-", "\u2011": "-",
    "\u2212": "-", "\u2026": "...", "\u00b7": ".", "\u2022": "*", "\u25cf": "*",
    "\u25c6": "*", "\u2299": "o", "\u2b58": "o", "\u25cb": "o",
    "\u201c": '"', "\u201d": '"', "\u201e": '"', "\u00ab": '"', "\u00bb": '"',
    "\u2018": "'", "\u2019": "'", "\u201a": "'", "\u2039": "<", "\u203a": ">",
    "\u2192": "->", "\u2190": "<-", "\u2194": "<->", "\u21d2": "=>", "\u21d4": "<=>",
    "\u2191": "^", "\u2193": "v", "\u25b2": "^", "\u25bc": "v", "\u25b6": ">",
    "\u25c0": "<", "\u2771": ">", "\u276f": ">", "\u226b": ">>",
    "\u2265": ">=", "\u2264": "<=", "\u2260": "!=", "\u2248": "~", "\u00b1": "+/-",
    "\u2713": "ok", "\u2714": "ok", "\u00b0": " deg", "\u00a7": "S", "\u00b5": "u",
    "\u0394": "d", "\u03a3": "sum", "\u03c3": "sigma", "\u2016": "||", "\u00a0": " ",
    "\u3000": " ", "\u3001": ",", "\u3002": ".", "\u300a": "<<", "\u300b": ">>",
    "\u300c": '"', "\u300d": '"', "\u300e": '"', "\u300f": '"', "\u3010": "[", "\u3011": "]",
}

# Sparkline heights (lower blocks), bar ends (left blocks), shades.
BLOCKS = dict(zip("\u2581\u2582\u2583\u2584\u2585\u2586\u2587\u2588"
                  "\u258f\u258e\u258d\u258c\u258b\u258a\u2589\u2591\u2592\u2593\u2580\u2590",
                  "__.--==#|||####.:#\"|", strict=True))


def _box(ch: str) -> str | None:
    """Box drawing, blocks and shades (U+2500–U+259F) as + - | # ."""
    code = ord(ch)
    if not 0x2500 <= code <= 0x259F:
        return None
    if code >= 0x2580:                   # blocks and shades: bars and sparklines
        return BLOCKS.get(ch, "#")
    import unicodedata

    name = unicodedata.name(ch, "")
    if "VERTICAL AND" in name or "AND HORIZONTAL" in name or "DOWN AND" in name \
            or "UP AND" in name or "ARC" in name or "DIAGONAL" in name:
        return "+"
    if "VERTICAL" in name:
        return "|"
    return "=" if "HEAVY" in name or "DOUBLE" in name else "-"   # a bar's done part: =


def ascii_look(ch: str) -> str:
    """`ch` as ASCII a reader recognises, else its `\\uXXXX` (`\\xNN`: a file name's byte)."""
    code = ord(ch)
    if 0xDC80 <= code <= 0xDCFF:          # an undecodable byte kept by surrogateescape
        return f"\\x{code - 0xDC00:02x}"
    look = ASCII_LOOK.get(ch) or _box(ch)
    if look is not None:
        return look
    import unicodedata

    plain = unicodedata.normalize("NFKD", ch).encode("ascii", "ignore").decode()
    if plain and plain.isprintable():     # é -> e, fullwidth ：-> :, ² -> 2
        return plain
    if code > 0xFFFF:                     # as a JSON escape pair
        code -= 0x10000
        return f"\\u{0xD800 + (code >> 10):04x}\\u{0xDC00 + (code & 0x3FF):04x}"
    return f"\\u{code:04x}"


def _handler(exc: UnicodeError) -> tuple[str, int]:
    if not isinstance(exc, UnicodeEncodeError):
        raise exc
    text = "".join(ascii_look(ch) for ch in exc.object[exc.start:exc.end])
    return text, exc.end


def can_show(text: str, stream=None) -> bool:
    """Whether `stream` (default stdout) writes `text` as it is."""
    encoding = getattr(stream or sys.stdout, "encoding", None) or "utf-8"
    try:
        text.encode(encoding)
    except (UnicodeEncodeError, LookupError):
        return False
    return True


def unicode_output() -> bool:
    """Whether stdout takes any text (UTF-8 and the like): JSON keeps its characters then,
    else it writes `\\u` escapes (valid JSON either way)."""
    encoding = (getattr(sys.stdout, "encoding", None) or "utf-8").lower().replace("-", "")
    return encoding.startswith(("utf", "gb18030"))


def prepare_streams() -> None:
    """stdout and stderr write every text: characters their encoding lacks as `ascii_look`
    (UTF-8 streams only ever meet a file name's undecodable bytes this way)."""
    try:
        codecs.lookup_error(ERRORS)
    except LookupError:
        codecs.register_error(ERRORS, _handler)
    for stream in (sys.stdout, sys.stderr):
        reconfigure = getattr(stream, "reconfigure", None)   # absent on a test's StringIO
        if reconfigure is not None:
            reconfigure(errors=ERRORS)

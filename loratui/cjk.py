"""Chinese, Japanese and Korean text: one test, standard library only and cheap (no regex:
compiling a character class this wide costs milliseconds of the doctor's start-up)."""

from __future__ import annotations

# CJK radicals to ideographs (kana, CJK punctuation included), hangul, compatibility
# ideographs, full-width forms.
CJK_RANGES = ((0x2E80, 0x9FFF), (0xAC00, 0xD7AF), (0xF900, 0xFAFF), (0xFF00, 0xFFEF))


def is_cjk(ch: str) -> bool:
    code = ord(ch)
    return any(low <= code <= high for low, high in CJK_RANGES)


def has_cjk(text: str) -> bool:
    """Whether `text` has Chinese, Japanese or Korean characters."""
    return not text.isascii() and any(is_cjk(ch) for ch in text)


def count_cjk(text: str) -> int:
    return 0 if text.isascii() else sum(1 for ch in text if is_cjk(ch))

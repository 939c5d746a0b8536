"""Plurals and articles for messages: "1 caption changed", "an 8 GB card"."""

from __future__ import annotations


def plural(n: int, word: str, many: str | None = None) -> str:
    """'1 caption', '2 captions', '0 captions' (`many` for irregular plurals)."""
    return f"{n} {word if n == 1 else (many or word + 's')}"


def a_an(text: str) -> str:
    """'an 8 GB card', 'a 12 GB card', 'an 11 GB card': by the sound of the first word."""
    first = text.lstrip()[:2].lower()
    vowel_sound = first[:1] in ("a", "e", "i", "o", "8") or first in ("11", "18")
    return f"{'an' if vowel_sound else 'a'} {text}"

"""Plurals, articles and durations for messages: "1 caption changed", "an 8 GB card",
"ETA 1:02:03"."""

from __future__ import annotations

import math


def plural(n: int, word: str, many: str | None = None) -> str:
    """'1 caption', '2 captions', '0 captions' (`many` for irregular plurals)."""
    return f"{n} {word if n == 1 else (many or word + 's')}"


def a_an(text: str) -> str:
    """'an 8 GB card', 'a 12 GB card', 'an 11 GB card': by the sound of the first word."""
    first = text.lstrip()[:2].lower()
    vowel_sound = first[:1] in ("a", "e", "i", "o", "8") or first in ("11", "18")
    return f"{'an' if vowel_sound else 'a'} {text}"


def format_duration(seconds: object) -> str:
    """'1:39', '1:02:03' (an ETA, an elapsed time); '–' when unknown (None, NaN, negative)."""
    if isinstance(seconds, bool) or not isinstance(seconds, (int, float)) \
            or not math.isfinite(seconds) or seconds < 0:
        return "–"
    hours, rest = divmod(int(seconds), 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


class Count(int):
    """A whole number a message template can put in the singular or the plural:
    `"{n} {n:image has|images have}"` gives "1 image has", "3 images have" (`str.format`
    hands the text after the colon to `__format__`); a spec without `|` formats as an int."""

    def __format__(self, spec: str) -> str:
        if "|" in spec:
            one, _, many = spec.partition("|")
            return one if self == 1 else many
        return int.__format__(self, spec)


def counted(variables: dict) -> dict:
    """`variables` with whole numbers (ints, and digit strings such as thresholds formatted
    for display) as `Count`s, for templates with `{n:one|many}` choices."""
    return {k: Count(v) if type(v) is int or (type(v) is str and v.isdigit()
                                               and (v == "0" or v[0] != "0")) else v
            for k, v in variables.items()}

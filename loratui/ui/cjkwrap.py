"""Line breaks between Chinese characters in everything the wizard wraps.

Textual wraps a widget's text with Rich's `divide_line`, which breaks only at spaces. Chinese
has no spaces between words, so a whole Chinese sentence is one "word" to it: it moves to
the next line whole, leaving the line before half empty, and is then cut at the edge, in
the middle of whatever English word it holds (`TensorB|oard`).

`install()` gives Rich's wrapper the pieces a CJK text may break between: each CJK
character on its own, with the opening bracket before it and the closing punctuation after
it attached (a line never starts with `，` or ends with `（`, the usual kinsoku rule), and
Latin words as before. For text without CJK characters the pieces are exactly Rich's own.
"""

from __future__ import annotations

import re

from loratui.cjk import CJK_RANGES, NO_LINE_END, NO_LINE_START

_CJK = "".join(f"{chr(low)}-{chr(high)}" for low, high in CJK_RANGES)
# Rich's own is r"\s*\S+\s*": leading spaces, one unbreakable piece, trailing spaces.
WORD = re.compile(
    rf"\s*[{NO_LINE_END}]*(?:[{_CJK}]|[^\s{_CJK}]+)[{NO_LINE_START}]*\s*")


def install() -> re.Pattern | None:
    """Make Rich (and so Textual's widgets) break lines between CJK characters. Returns
    what was there, for `restore()` (None: a Rich that wraps differently, left alone)."""
    import rich._wrap

    previous = getattr(rich._wrap, "re_word", None)
    if previous is not None:
        rich._wrap.re_word = WORD
    return previous


def restore(previous: re.Pattern | None) -> None:
    """Rich's wrapping as it was before `install()` (the wizard is done: the rest of the
    process, a test run for one, gets Rich's own)."""
    import rich._wrap

    if previous is not None:
        rich._wrap.re_word = previous

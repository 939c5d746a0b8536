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


def install() -> None:
    """Make Rich (and so Textual's widgets) break lines between CJK characters."""
    import rich._wrap

    if not hasattr(rich._wrap, "re_word"):  # a Rich that wraps differently: leave it
        return
    rich._wrap.re_word = WORD

"""Caption text: decoding, style, token counts, trigger presence, bulk edits, noise tags.

Pure text functions (stdlib only); reading and writing files lives in `caption_files`
helpers below, which write atomically and keep a backup of anything they change in
a source folder.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable
from functools import lru_cache

from loratui.cjk import count_cjk, has_cjk
from loratui.i18n import N_
from loratui.i18n import Message as M

from .report import Record

TYPE_CHECKING = False  # not typing's: importing typing costs the doctor's start-up time
if TYPE_CHECKING:
    import random

CLIP_WINDOW = 75   # CLIP's 77 positions minus <start> and <end>

# CLIP's pre-tokenizer pattern (letters / one digit / punctuation runs), in `re` syntax.
_CLIP_WORDS = re.compile(r"'s|'t|'re|'ve|'m|'ll|'d|[^\W\d_]+|\d|[^\s\w]+|_", re.IGNORECASE)

# Tags for the guide's "label pollution" (P28): plausible but wrong for most sets.
DEFAULT_NOISE_TAGS = (
    "umbrella", "bicycle", "lace trim", "night sky", "sunglasses", "red scarf", "bookshelf",
    "snow", "cat ears", "stained glass", "holding cup", "checkered floor", "neon lights",
    "wristwatch", "bouquet", "ribbon", "lantern", "striped background", "feather", "fog",
)


class Decoded(Record):
    """A caption file's text and how its bytes were decoded."""

    _fields = ("text", "bom", "error", "guess")

    def __init__(self, text: str | None, bom: bool = False, error: str = "",
                 guess: str = "") -> None:
        self.text = text  # None when the bytes are not UTF-8
        self.bom = bom
        self.error = error  # e.g. "byte 0x92 at offset 17 (looks like Windows-1252 ’)"
        self.guess = guess  # the text decoded with a guessed legacy encoding


def decode_caption(data: bytes) -> Decoded:
    """Decode caption bytes as UTF-8; on failure say which byte and guess the encoding.
    UTF-16 / UTF-32 (Notepad's "Unicode", PowerShell's `>`) is recognised by its BOM or its
    zero bytes and decoded as such, never taken for a legacy code page."""
    if data.isascii() and b"\0" not in data:    # most captions: no BOM, no UTF-16
        return Decoded(data.decode("ascii"))
    from loratui.userfiles import sniff_encoding

    codec, name, skip = sniff_encoding(data)
    if codec != "utf-8":
        error = M(N_("saved as {encoding} (with a BOM), not UTF-8") if skip else
                  N_("saved as {encoding} (without a BOM), not UTF-8"), encoding=name)
        try:
            return Decoded(None, error=error,
                           guess=data[skip:].decode(codec))
        except UnicodeDecodeError:
            pass
    bom = data.startswith(b"\xef\xbb\xbf")
    try:
        return Decoded(data.decode("utf-8-sig"), bom=bom)
    except UnicodeDecodeError as exc:
        where = {"byte": f"0x{data[exc.start]:02x}", "offset": exc.start}
        guess, name = guess_legacy(data)
        if name and has_cjk(guess):  # show the Chinese / Japanese the bytes hold
            start = " ".join(guess.split())
            error = M(N_("byte {byte} at offset {offset} (looks like {encoding}: “{text}”)"),
                      encoding=name, text=start[:24] + ("…" if len(start) > 24 else ""),
                      **where)
        elif name:
            error = M(N_("byte {byte} at offset {offset} (looks like {encoding})"),
                      encoding=name, **where)
        else:
            error = M(N_("byte {byte} at offset {offset}"), **where)
        return Decoded(None, bom=bom, error=error, guess=guess)


_KANA = re.compile("[\u3041-\u3096\u30a1-\u30fa]")    # hiragana, katakana


def guess_legacy(data: bytes) -> tuple[str, str]:
    """Best-effort decode of non-UTF-8 caption bytes: (text, encoding name)."""
    high = [b for b in data if b >= 0x80]
    smart = set(range(0x80, 0xA0)) | {0xA0, 0xB4, 0xE9, 0xE8, 0xE0, 0xFC, 0xF6, 0xE4}
    if high and all(b in smart for b in high):
        try:
            return data.decode("cp1252"), "Windows-1252"
        except UnicodeDecodeError:
            pass
    try:    # GB18030 decodes almost any bytes; Japanese is told by its kana
        text = data.decode("cp932")
        if _KANA.search(text):
            return text, "Shift-JIS/CP932"
    except UnicodeDecodeError:
        pass
    for enc, name in (("gb18030", "GBK/GB18030"), ("cp932", "Shift-JIS/CP932"),
                      ("cp1252", "Windows-1252")):
        try:
            return data.decode(enc), name
        except UnicodeDecodeError:
            continue
    return data.decode("utf-8", errors="replace"), ""


def estimate_clip_tokens(text: str) -> int:
    """Approximate CLIP BPE token count (no vocabulary needed): short words are one
    token, long or rare words split into pieces of ~5 letters. CLIP has almost no Chinese,
    Japanese or Korean in its vocabulary: such text splits into byte-level pieces, about
    9 tokens per 10 UTF-8 bytes (汉服女孩, 12 bytes, is 9 tokens)."""
    words = _CLIP_WORDS.findall(text.lower())
    if text.isascii() and max(map(len, words), default=0) <= 8:
        return len(words)        # the usual tag list: one token a word
    count = 0
    for w in words:
        if w.isascii():
            count += math.ceil(len(w) / 5) if len(w) > 8 else 1
        else:
            count += max(1, math.ceil(len(w.encode("utf-8")) * 0.9)) if has_cjk(w) else \
                math.ceil(len(w) / 4)
    return count


# Chinese / Japanese sentence ends and clause marks.
_CJK_SENTENCE_END = "。！？"
_SENTENCE_END = ".!?" + _CJK_SENTENCE_END


def count_tokens(text: str, tokenizer=None) -> int:
    """CLIP tokens of `text` (without start/end): exact with a tokenizer, else an estimate."""
    if tokenizer is None:
        return estimate_clip_tokens(text)
    return len(tokenizer(text, add_special_tokens=False, truncation=False)["input_ids"])


def split_tags(text: str) -> list[str]:
    return [t.strip() for t in text.split(",") if t.strip()]


def caption_style(text: str) -> str:
    """"tags" (comma-separated short tags) or "sentence" (natural language); "" if empty."""
    t = text.strip()
    if not t:
        return ""
    if t[-1] in _SENTENCE_END:
        return "sentence"
    if has_cjk(t):  # Chinese has no spaces: about two characters make a word
        t = t.replace("，", ",").replace("、", ",")
        words = [max(len(p.split()), count_cjk(p) // 2) for p in split_tags(t) or [t]]
        if len(words) == 1:
            return "sentence" if words[0] >= 4 else "tags"
        return "sentence" if sum(words) / len(words) >= 4.5 else "tags"
    # words per non-empty tag (a tag of only spaces has none)
    words = [n for n in map(len, map(str.split, t.split(","))) if n] or [len(t.split())]
    if len(words) == 1:
        return "sentence" if words[0] >= 4 else "tags"
    # short comma-separated phrases ("a girl with red hair, smiling") are tag lists
    return "sentence" if sum(words) / len(words) >= 4.5 else "tags"


@lru_cache(maxsize=64)
def _word_pattern(word: str) -> re.Pattern[str]:
    return re.compile(r"(?<![A-Za-z0-9])" + re.escape(word) + r"(?![A-Za-z0-9])")


def has_trigger(text: str, trigger: str) -> bool:
    return bool(trigger) and bool(_word_pattern(trigger).search(text))


def trigger_first(text: str, trigger: str) -> bool:
    return text.lstrip().startswith(trigger)


# -- bulk edits: each returns the new caption text ------------------------------------------

def add_prefix(text: str, prefix: str) -> str:
    """Put `prefix` first (as a tag) unless the caption already contains it."""
    text = text.strip()
    if not prefix or has_trigger(text, prefix):
        return text
    return f"{prefix}, {text}" if text else prefix


def put_first(text: str, word: str) -> str:
    """`word` as the first tag: moved there when it is a tag elsewhere, added when absent
    (left alone when it sits inside a sentence)."""
    text = text.strip()
    tags = split_tags(text)
    if word in tags and tags[0] != word:
        return ", ".join([word, *(t for t in tags if t != word)])
    return add_prefix(text, word)


def replace_text(text: str, old: str, new: str) -> str:
    return text.replace(old, new)


def remove_tag(text: str, tag: str) -> str:
    """Drop every comma-separated tag equal to `tag` (case-insensitive)."""
    tag = tag.strip().lower()
    return ", ".join(t for t in split_tags(text) if t.lower() != tag)


def dedupe_tags(text: str) -> str:
    """Keep the first of repeated tags (case-insensitive), order preserved."""
    seen: set[str] = set()
    out = []
    for t in split_tags(text):
        if t.lower() not in seen:
            seen.add(t.lower())
            out.append(t)
    return ", ".join(out)


def add_noise_tag(text: str, rng: random.Random, tags: Iterable[str] = DEFAULT_NOISE_TAGS,
                  probability: float = 1.0) -> str:
    """The guide's label pollution (P28): append one wrong tag, not already present."""
    if rng.random() >= probability:
        return text
    present = {t.lower() for t in split_tags(text)}
    choices = [t for t in tags if t.lower() not in present]
    if not choices:
        return text
    tag = rng.choice(choices)
    text = text.strip()
    return f"{text}, {tag}" if text else tag


Edit = Callable[[str], str]


def build_edits(*, prefix: str = "", replace: tuple[str, str] | None = None,
                remove: Iterable[str] = (), dedupe: bool = False, noise: bool = False,
                noise_tags: Iterable[str] = DEFAULT_NOISE_TAGS, noise_probability: float = 1.0,
                seed: int = 0) -> list[Edit]:
    """The caption edits asked for, in a fixed order: replace, remove, dedupe, prefix, noise."""
    edits: list[Edit] = []
    if replace:
        old, new = replace
        edits.append(lambda t: replace_text(t, old, new))
    for tag in remove:
        edits.append(lambda t, tag=tag: remove_tag(t, tag))
    if dedupe:
        edits.append(dedupe_tags)
    if prefix:
        edits.append(lambda t: add_prefix(t, prefix))
    if noise:
        import random  # only caption edits use it, not the scan

        rng = random.Random(seed)
        tags = tuple(noise_tags) or DEFAULT_NOISE_TAGS
        edits.append(lambda t: add_noise_tag(t, rng, tags, noise_probability))
    return edits


def apply_edits(text: str, edits: list[Edit]) -> str:
    for edit in edits:
        text = edit(text)
    return text

"""Trigger word checks (P7): unique, token-like, no spaces, not English, in every caption.

The English word list ships as data (`data/english_words.txt`, found through
`loratui.resources.data_dir("data")`). CLIP's real tokenizer (its vocabulary ships in
`data/clip/`, see `loratui.clip_tokenizer`) shows how SD1.5 splits the word.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from loratui.i18n import N_
from loratui.i18n import Message as M

from . import captions as cap
from .report import Finding, make_finding

WORDLIST = "english_words.txt"


@lru_cache(maxsize=1)
def english_words() -> frozenset[str]:
    from loratui.resources import data_dir

    path = data_dir("data") / WORDLIST
    with open(path, encoding="utf-8") as f:
        return frozenset(w.strip() for w in f if w.strip() and not w.startswith("#"))


def word_parts(word: str) -> list[str]:
    """Alphabetic parts of a trigger: `hanfu_girl_v2` -> ["hanfu", "girl", "v"]."""
    return [p for p in re.split(r"[^A-Za-z]+", word.lower()) if p]


def _run_together(token: str, words: frozenset[str]) -> list[str] | None:
    """Split `token` into ≥2 dictionary words of ≥3 letters, if it can be."""
    n = len(token)
    best: list[list[str] | None] = [None] * (n + 1)
    best[0] = []
    for i in range(n):
        if best[i] is None:
            continue
        for j in range(i + 3, n + 1):
            if best[j] is None and token[i:j] in words:
                best[j] = [*best[i], token[i:j]]
    parts = best[n]
    return parts if parts and len(parts) >= 2 else None


@dataclass
class TriggerReport:
    word: str
    findings: list[Finding] = field(default_factory=list)
    tokens: list[str] | None = None        # how the tokenizer splits it (None: no tokenizer)
    suggestions: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)     # captions without the word
    not_first: list[str] = field(default_factory=list)
    # of not_first: the word is only part of a longer tag ("a girl with red hair" for
    # `girl`), so putting it first (insert_trigger) leaves the caption as it is
    in_phrase: list[str] = field(default_factory=list)
    captions_checked: int = 0

    @property
    def ok(self) -> bool:
        return not any(f.severity == "error" for f in self.findings) and not self.missing


def word_problems(word: str, tokens: list[str] | None = None) -> list[Finding]:
    """Findings about the word itself (no captions involved)."""
    w = word.strip()
    found: list[Finding] = []

    def add(kind: str, msg: str, **args) -> None:
        found.append(make_finding(kind, M(msg, word=w, **args), [w]))

    if not w:
        add("trigger-empty", N_("no trigger word set"))
        return found
    words = english_words()
    if re.search(r"\s", w):
        add("trigger-space", N_("`{word}` contains spaces"))
    if re.search(r"[,;:()\[\]{}<>|]", w):
        add("trigger-punctuation", N_("`{word}` contains separators"))
    if cap.has_cjk(w):
        pieces = tokens if tokens is not None else cjk_tokens(w)
        add("trigger-cjk", N_("`{word}` is written in Chinese/Japanese/Korean characters: CLIP "
                              "splits it into {n} byte-level tokens, about 2–3 per character, "
                              "pieces that other CJK words share"), n=len(pieces))
    elif not w.isascii():
        add("trigger-non-ascii", N_("`{word}` has non-ASCII characters"))
    parts = [] if cap.has_cjk(w) else word_parts(w)  # English checks: Latin words only
    if len(parts) == 1 and parts[0] in words:
        add("trigger-english-word", N_("`{word}` is an English word"))
    elif len(parts) >= 2 and all(p in words or len(p) <= 1 for p in parts):
        add("trigger-common-phrase", N_("`{word}` is made of English words: {parts}"),
            parts=", ".join(parts))
    else:
        for p in parts:
            split = None if p in words else _run_together(p, words)
            if split:
                add("trigger-run-together", N_("`{part}` reads as {split}"), part=p,
                    split=" + ".join(split))
                break
    if len(w.strip("_-")) < 4 and not cap.has_cjk(w):
        add("trigger-short", N_("`{word}` is {n} characters"), n=len(w.strip("_-")))
    if tokens is not None:
        if len(tokens) == 1:
            add("trigger-known-token", N_("`{word}` is a single existing token"))
        elif len(tokens) > 6 and not cap.has_cjk(w):
            add("trigger-many-tokens", N_("`{word}` is {n} tokens"), n=len(tokens))
    return found


def cjk_tokens(word: str) -> list[str]:
    """How SD1.5's CLIP tokenizer splits `word` (its vocabulary ships with loratui; the
    standard library only, no transformers)."""
    from loratui.clip_tokenizer import bpe_tokens

    return [t.replace("</w>", "") for t in bpe_tokens(word)]


def suggest(word: str, n: int = 5) -> list[str]:
    """Alternatives that pass the word checks: consonant skeletons and unique suffixes. A
    word in Chinese characters gets none: its meaning or pinyin, which loratui cannot
    guess, makes the ASCII trigger (`汉服女孩` -> `hanfu_girl_`)."""
    if cap.has_cjk(word) and not word_parts(word):
        return []
    parts = word_parts(word) or ["my", "lora"]
    skel = [re.sub(r"(?<=.)[aeiou]", "", p) or p for p in parts]
    stem = "_".join(parts)
    candidates = [
        "_".join(skel) + "_",
        "".join(skel) + "_",
        f"{stem}_zx_",
        f"{parts[0]}_{''.join(skel[1:]) or 'qz'}_",
        f"zx_{stem}_",
        f"{''.join(p[:3] for p in parts)}_v1_",
    ]
    out: list[str] = []
    for c in candidates:
        if c not in out and not any(f.severity == "error" for f in word_problems(c)) \
                and not any(f.kind == "trigger-run-together" for f in word_problems(c)):
            out.append(c)
    return out[:n]


def load_tokenizer(path: str | Path | None = None):
    """The CLIP tokenizer that trigger-word facts are measured with: SD1.5's real BPE
    vocabulary, shipped with loratui, so a single-file checkpoint or the tiny demo model gives
    the same facts as the real SD1.5. A tokenizer in `path` (a model folder or its
    `tokenizer/`) is used instead only when it is a full CLIP one (it may add tokens).
    Never downloads."""
    from loratui.clip_tokenizer import VOCAB_SIZE, clip_tokenizer

    if path:
        p = Path(path).expanduser()
        for candidate in (p / "tokenizer", p):
            if (candidate / "vocab.json").is_file() or (candidate / "tokenizer.json").is_file():
                from transformers import CLIPTokenizer

                try:
                    own = CLIPTokenizer.from_pretrained(str(candidate), local_files_only=True)
                except (OSError, ValueError):
                    break
                if len(own) >= VOCAB_SIZE:
                    return own
                break
    return clip_tokenizer()


def tokenize(word: str, tokenizer) -> list[str]:
    return [t.replace("</w>", "") for t in tokenizer.tokenize(word)]


def check_trigger(word: str, captions: dict[str, str | None] | None = None, *,
                  tokenizer=None) -> TriggerReport:
    """Check `word` and, when given, that every caption (path -> text) contains it."""
    tokens = tokenize(word, tokenizer) if tokenizer is not None and word.strip() else None
    rep = TriggerReport(word=word, tokens=tokens, findings=word_problems(word, tokens))
    if any(f.severity in ("error", "warning") for f in rep.findings):
        rep.suggestions = suggest(word)
    for path, text in (captions or {}).items():
        rep.captions_checked += 1
        if not text or not cap.has_trigger(text, word.strip()):
            rep.missing.append(path)
        elif not cap.trigger_first(text, word.strip()):
            rep.not_first.append(path)
            if cap.put_first(text, word.strip()) == text.strip():
                rep.in_phrase.append(path)
    return rep

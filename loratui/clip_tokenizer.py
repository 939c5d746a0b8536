"""CLIP's real BPE tokenizer, offline, from the vocabulary shipped in `data/clip/`.

SD1.5's text encoder (and both of SDXL's) tokenize with OpenAI's CLIP BPE vocabulary. It
ships with loratui (`bpe_simple_vocab_16e6.txt.gz`, MIT), so trigger-word facts ("woman"
is one token, "beautiful girl" two) and single-file checkpoints with no `tokenizer/`
beside them need neither a download nor a model folder.

- `clip_bpe()`: the vocabulary and merges (standard library only, cached).
- `clip_tokenizer()`: a transformers `CLIPTokenizer` built from them (imports transformers).
- `cap_max_length()`: a tokenizer never pads past the text encoder's positions (77):
  ComfyUI's `comfy/sd1_tokenizer` says `model_max_length: 8192`.
- `tokenizer_folder_problem()`: the pre-flight check of a model's `tokenizer/` folder,
  without importing transformers.
"""

from __future__ import annotations

import gzip
import json
import re
from functools import lru_cache
from itertools import pairwise
from pathlib import Path
from typing import Any

VOCAB_FILE = "bpe_simple_vocab_16e6.txt.gz"
VOCAB_SIZE = 49408  # 256 bytes + 256 end-of-word bytes + 48,894 merges + 2 specials
NUM_MERGES = VOCAB_SIZE - 512 - 2
MAX_POSITIONS = 77  # CLIP ViT-L/14's max_position_embeddings
BOS, EOS = "<|startoftext|>", "<|endoftext|>"


def vocab_path() -> Path:
    from loratui.resources import data_dir

    return data_dir("data") / "clip" / VOCAB_FILE


def byte_symbols() -> list[str]:
    """GPT-2 / CLIP's printable stand-in for each byte 0–255, in CLIP's vocabulary order."""
    printable = (list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1))
                 + list(range(ord("®"), ord("ÿ") + 1)))
    codes = dict(zip(printable, printable, strict=True))
    extra = 0
    for b in range(256):
        if b not in codes:
            codes[b] = 256 + extra
            extra += 1
    return [chr(codes[b]) for b in printable] + [chr(codes[b]) for b in range(256)
                                                 if b not in printable]


@lru_cache(maxsize=1)
def clip_bpe() -> tuple[dict[str, int], list[tuple[str, str]]]:
    """(vocabulary token → id, merges in rank order), as CLIP and transformers number them."""
    with gzip.open(vocab_path(), "rt", encoding="utf-8") as fh:
        lines = fh.read().split("\n")
    merges = [tuple(line.split()) for line in lines[1:NUM_MERGES + 1]]
    if len(merges) != NUM_MERGES or any(len(m) != 2 for m in merges):
        raise ValueError(f"{vocab_path()}: not CLIP's BPE vocabulary (reinstall loratui)")
    symbols = byte_symbols()
    tokens = [*symbols, *(s + "</w>" for s in symbols), *("".join(m) for m in merges), BOS, EOS]
    return {t: i for i, t in enumerate(tokens)}, merges  # type: ignore[return-value]


def clip_tokenizer(max_length: int = MAX_POSITIONS, *, pad_token: str = EOS):
    """SD1.5's CLIP tokenizer (transformers `CLIPTokenizer`). `pad_token="!"` gives SDXL's
    second (OpenCLIP bigG) tokenizer, which pads with "!" instead of the end token."""
    from transformers import CLIPTokenizer

    vocab, merges = clip_bpe()
    return CLIPTokenizer(vocab=dict(vocab), merges=list(merges), unk_token=EOS, bos_token=BOS,
                         eos_token=EOS, pad_token=pad_token, model_max_length=max_length)


def cap_max_length(tokenizer: Any, max_positions: int | None) -> Any:
    """Never pad or truncate past what the text encoder can take (its position count)."""
    limit = max_positions or MAX_POSITIONS
    if not isinstance(tokenizer.model_max_length, int) or tokenizer.model_max_length > limit:
        tokenizer.model_max_length = limit
    return tokenizer


def _read_json(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


def tokenizer_folder_problem(folder: Path, text_encoder_config: Path | None = None) -> str | None:
    """Why the tokenizer in `folder` cannot drive the text encoder, or None. Reads only the
    small JSON files; the vocabulary must fit the encoder's embedding table."""
    folder = Path(folder)
    if not folder.is_dir():
        return f"{folder}: no tokenizer folder"
    has_bpe = (folder / "vocab.json").is_file() and (folder / "merges.txt").is_file()
    has_fast = (folder / "tokenizer.json").is_file()
    if not (has_bpe or has_fast):
        return (f"{folder}: no vocab.json + merges.txt (nor tokenizer.json), so captions "
                "cannot be tokenized")
    try:
        if has_bpe:
            size = len(_read_json(folder / "vocab.json"))
        else:
            fast = _read_json(folder / "tokenizer.json")
            size = len(fast["model"]["vocab"]) + len(fast.get("added_tokens") or [])
    except (OSError, ValueError, KeyError, TypeError, RecursionError) as exc:
        return f"{folder}: the tokenizer files cannot be read ({exc})"
    if text_encoder_config is not None and text_encoder_config.is_file():
        try:
            limit = int(_read_json(text_encoder_config).get("vocab_size") or 0)
        except (OSError, ValueError, TypeError, AttributeError, RecursionError):
            limit = 0
        if limit and size > limit:
            return (f"{folder}: {size} tokens, but the text encoder has {limit} embeddings "
                    "(a tokenizer from another model?)")
    return None


# CLIP's pre-tokenizer (letter runs, single digits, punctuation runs) in `re` syntax:
# `[^\W\d_]` is a letter (CJK included), `(?:[^\s\w]|_)+` a run of anything else but space.
_PRETOKENIZE = re.compile(r"'s|'t|'re|'ve|'m|'ll|'d|[^\W\d_]+|\d|(?:[^\s\w]|_)+",
                          re.IGNORECASE)


@lru_cache(maxsize=1)
def _merge_ranks() -> dict[tuple[str, str], int]:
    return {pair: i for i, pair in enumerate(clip_bpe()[1])}


@lru_cache(maxsize=4096)
def _bpe(word: str) -> tuple[str, ...]:
    ranks = _merge_ranks()
    parts = [*word[:-1], word[-1] + "</w>"]
    while len(parts) > 1:
        pairs = set(pairwise(parts))
        best = min(pairs, key=lambda p: ranks.get(p, 1 << 30))
        if best not in ranks:
            break
        merged: list[str] = []
        i = 0
        while i < len(parts):
            if i + 1 < len(parts) and (parts[i], parts[i + 1]) == best:
                merged.append(parts[i] + parts[i + 1])
                i += 2
            else:
                merged.append(parts[i])
                i += 1
        parts = merged
    return tuple(parts)


def bpe_tokens(text: str) -> list[str]:
    """CLIP's tokens of `text` (SD1.5's text encoder), with the standard library only: the
    same split as transformers' CLIPTokenizer, `</w>` marks a word's end. Chinese, Japanese
    and other non-Latin text falls apart into byte-level pieces (汉服 is 5 tokens)."""
    symbols = byte_symbols_by_value()
    out: list[str] = []
    for word in _PRETOKENIZE.findall(" ".join(text.split()).lower()):
        out.extend(_bpe("".join(symbols[b] for b in word.encode("utf-8"))))
    return out


@lru_cache(maxsize=1)
def byte_symbols_by_value() -> list[str]:
    """The printable stand-in of each byte value 0–255 (GPT-2 / CLIP's byte encoder)."""
    order = byte_symbols()
    printable = (list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1))
                 + list(range(ord("®"), ord("ÿ") + 1)))
    values = printable + [b for b in range(256) if b not in printable]
    table = [""] * 256
    for value, symbol in zip(values, order, strict=True):
        table[value] = symbol
    return table

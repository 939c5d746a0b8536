"""Tiny randomly initialised BLIP and CLIP models, built offline for the tests."""

from __future__ import annotations

import json
from pathlib import Path

WORDS = ["a", "girl", "red", "dress", "in", "the", "garden", "photo", "of", "woman", "with",
         "blue", "eyes", "standing", "sky"]


def build_tiny_blip(path: Path) -> Path:
    from transformers import (
        BertTokenizer,
        BlipConfig,
        BlipForConditionalGeneration,
        BlipImageProcessor,
        BlipProcessor,
    )

    path.mkdir(parents=True, exist_ok=True)
    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "[DEC]", *WORDS]
    (path / "vocab.txt").write_text("\n".join(vocab) + "\n", encoding="utf-8")
    tok = BertTokenizer(str(path / "vocab.txt"), bos_token="[DEC]")
    text = dict(vocab_size=len(vocab), hidden_size=32, encoder_hidden_size=32,
                intermediate_size=64, num_attention_heads=2, num_hidden_layers=1,
                max_position_embeddings=64, bos_token_id=vocab.index("[DEC]"),
                pad_token_id=0, sep_token_id=vocab.index("[SEP]"),
                eos_token_id=vocab.index("[SEP]"))
    vision = dict(hidden_size=32, intermediate_size=64, num_attention_heads=2,
                  num_hidden_layers=1, image_size=32, patch_size=8)
    config = BlipConfig(text_config=text, vision_config=vision, projection_dim=32)
    model = BlipForConditionalGeneration(config)
    model.save_pretrained(path)
    proc = BlipProcessor(image_processor=BlipImageProcessor(size={"height": 32, "width": 32}),
                         tokenizer=tok)
    proc.save_pretrained(path)
    return path


def build_tiny_clip(path: Path) -> Path:
    from transformers import CLIPConfig, CLIPImageProcessor, CLIPModel, CLIPProcessor, CLIPTokenizer

    path.mkdir(parents=True, exist_ok=True)
    vocab = {"<|startoftext|>": 0, "<|endoftext|>": 1}
    for ch in "abcdefghijklmnopqrstuvwxyz,._":
        vocab[ch] = len(vocab)
        vocab[ch + "</w>"] = len(vocab)
    for w in WORDS:
        vocab.setdefault(w + "</w>", len(vocab))
    (path / "vocab.json").write_text(json.dumps(vocab), encoding="utf-8")
    (path / "merges.txt").write_text("#version: 0.2\n", encoding="utf-8")
    tok = CLIPTokenizer(str(path / "vocab.json"), str(path / "merges.txt"))
    config = CLIPConfig(
        text_config=dict(vocab_size=len(vocab), hidden_size=32, intermediate_size=64,
                         num_attention_heads=2, num_hidden_layers=1,
                         max_position_embeddings=77, bos_token_id=0, eos_token_id=1,
                         pad_token_id=1),
        vision_config=dict(hidden_size=32, intermediate_size=64, num_attention_heads=2,
                           num_hidden_layers=1, image_size=32, patch_size=8),
        projection_dim=16)
    CLIPModel(config).save_pretrained(path)
    CLIPProcessor(image_processor=CLIPImageProcessor(size={"shortest_edge": 32},
                                                     crop_size={"height": 32, "width": 32}),
                  tokenizer=tok).save_pretrained(path)
    return path

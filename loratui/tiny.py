"""Tiny SD1.5- and SDXL-shaped pipelines and a small demo dataset, built offline.

Used by the tests, the demo and the benches. The SDXL-shaped one has SDXL's layout: two
CLIP text encoders (the second with projection, padding with "!"), `addition_embed_type =
"text_time"`, no attention in the first level, 2 layers per block, linear projections, an
Euler scheduler. The SD1.5-shaped model keeps SD1.5's module names
(CrossAttn blocks, `to_q`/`proj_in`/`ff.net.0.proj`, CLIP `q_proj`/`fc1`), SD1.5's
scheduler settings and an 8× VAE, but is ~1.1 M parameters and 4.5 MB on disk, so it
trains for real on a CPU in milliseconds per step. The CLIP BPE tokenizer is written by
us (no hub access). Recipe and measurements: shared/reference/TINY_MODEL.md.

torch / diffusers / transformers are imported inside the functions.
"""

from __future__ import annotations

import json
import random
from pathlib import Path

# Words that become single tokens in the tiny tokenizer (anything else splits into bytes).
TINY_WORDS = ["a", "photo", "of", "an", "the", "in", "on", "with", "and", "style", "painting", "portrait", "dog", "cat", "sks", "person", "man", "woman", "landscape", "drawing", "picture", "art", "girl", "boy", "red", "blue", "green", "yellow", "white", "black", "face", "smiling", "standing", "sitting", "outdoors", "indoors", "background", "simple", "hair", "dress", "sky", "light"]

TINY_MODEL_MARKER = "loratui_tiny.json"


def _bytes_to_unicode() -> dict[int, str]:
    """GPT-2 / CLIP byte → printable-unicode table."""
    bs = (list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1))
          + list(range(ord("®"), ord("ÿ") + 1)))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return dict(zip(bs, (chr(c) for c in cs), strict=True))


def write_tokenizer_files(folder: Path | str, words: tuple[str, ...] | list[str] = TINY_WORDS,
                          extra_words: tuple[str, ...] | list[str] = (),
                          pad_token: str = "<|endoftext|>") -> Path:
    """Write a CLIP byte-level BPE tokenizer (vocab.json, merges.txt, configs) into `folder`."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    chars = list(_bytes_to_unicode().values())
    vocab: dict[str, int] = {}
    for ch in chars:
        vocab[ch] = len(vocab)
    for ch in chars:
        vocab[ch + "</w>"] = len(vocab)
    merges: list[str] = []
    for word in [*words, *extra_words]:
        parts = list(word.lower())
        parts[-1] += "</w>"
        cur = parts[0]
        for nxt in parts[1:]:
            merge = f"{cur} {nxt}"
            cur += nxt
            if merge not in merges:
                merges.append(merge)
            vocab.setdefault(cur, len(vocab))
    vocab["<|startoftext|>"] = len(vocab)
    vocab["<|endoftext|>"] = len(vocab)
    special = {"bos_token": "<|startoftext|>", "eos_token": "<|endoftext|>",
               "unk_token": "<|endoftext|>", "pad_token": pad_token}
    (folder / "vocab.json").write_text(json.dumps(vocab, ensure_ascii=False), encoding="utf-8")
    (folder / "merges.txt").write_text("#version: 0.2\n" + "\n".join(merges) + "\n",
                                       encoding="utf-8")
    (folder / "special_tokens_map.json").write_text(json.dumps(special), encoding="utf-8")
    (folder / "tokenizer_config.json").write_text(json.dumps(
        {"tokenizer_class": "CLIPTokenizer", "model_max_length": 77, "do_lower_case": True,
         **special}), encoding="utf-8")
    return folder


def build_tiny_components(seed: int = 0, tokenizer_dir: Path | str | None = None,
                          extra_words: tuple[str, ...] | list[str] = ()):
    """In-memory tiny components: dict with unet, vae, text_encoder, tokenizer, scheduler."""
    import tempfile

    from loratui.train.quiet import set_quiet_env

    set_quiet_env()
    import torch
    from diffusers import AutoencoderKL, PNDMScheduler, UNet2DConditionModel
    from transformers import CLIPTextConfig, CLIPTextModel, CLIPTokenizer

    with tempfile.TemporaryDirectory() as tmp:
        tok_dir = Path(tokenizer_dir) if tokenizer_dir else Path(tmp)
        write_tokenizer_files(tok_dir, extra_words=extra_words)
        tokenizer = CLIPTokenizer.from_pretrained(str(tok_dir))
    gen_state = torch.random.get_rng_state()
    torch.manual_seed(seed)
    try:
        text_encoder = CLIPTextModel(CLIPTextConfig(
            vocab_size=len(tokenizer), hidden_size=32, intermediate_size=64,
            num_hidden_layers=2, num_attention_heads=4, max_position_embeddings=77,
            hidden_act="quick_gelu", projection_dim=32, bos_token_id=tokenizer.bos_token_id,
            eos_token_id=tokenizer.eos_token_id, pad_token_id=tokenizer.pad_token_id))
        unet = UNet2DConditionModel(
            sample_size=8, in_channels=4, out_channels=4,
            down_block_types=("CrossAttnDownBlock2D", "DownBlock2D"),
            up_block_types=("UpBlock2D", "CrossAttnUpBlock2D"),
            block_out_channels=(32, 64), layers_per_block=1, cross_attention_dim=32,
            attention_head_dim=8, norm_num_groups=32)
        vae = AutoencoderKL(
            in_channels=3, out_channels=3, down_block_types=("DownEncoderBlock2D",) * 4,
            up_block_types=("UpDecoderBlock2D",) * 4, block_out_channels=(16, 32, 32, 32),
            layers_per_block=1, latent_channels=4, norm_num_groups=16, sample_size=64,
            scaling_factor=0.18215)
    finally:
        torch.random.set_rng_state(gen_state)
    scheduler = PNDMScheduler(  # SD1.5's exact scheduler config
        num_train_timesteps=1000, beta_start=0.00085, beta_end=0.012,
        beta_schedule="scaled_linear", skip_prk_steps=True, set_alpha_to_one=False,
        steps_offset=1, prediction_type="epsilon")
    return {"unet": unet, "vae": vae, "text_encoder": text_encoder, "tokenizer": tokenizer,
            "scheduler": scheduler}


def build_tiny_sdxl_components(seed: int = 0, extra_words: tuple[str, ...] | list[str] = ()):
    """In-memory tiny SDXL-shaped components (pipeline keyword arguments)."""
    import tempfile

    from loratui.train.quiet import set_quiet_env

    set_quiet_env()
    import torch
    from diffusers import AutoencoderKL, EulerDiscreteScheduler, UNet2DConditionModel
    from transformers import (
        CLIPTextConfig,
        CLIPTextModel,
        CLIPTextModelWithProjection,
        CLIPTokenizer,
    )

    with tempfile.TemporaryDirectory() as tmp:
        write_tokenizer_files(Path(tmp) / "t1", extra_words=extra_words)
        write_tokenizer_files(Path(tmp) / "t2", extra_words=extra_words, pad_token="!")
        tokenizer = CLIPTokenizer.from_pretrained(str(Path(tmp) / "t1"))
        tokenizer_2 = CLIPTokenizer.from_pretrained(str(Path(tmp) / "t2"))

    def clip(cls, act, hidden):  # widths differ as in SDXL (768 / 1280): loaders tell them apart
        return cls(CLIPTextConfig(
            vocab_size=len(tokenizer), hidden_size=hidden, intermediate_size=2 * hidden,
            num_hidden_layers=2, num_attention_heads=4, max_position_embeddings=77,
            hidden_act=act, projection_dim=32, bos_token_id=tokenizer.bos_token_id,
            eos_token_id=tokenizer.eos_token_id, pad_token_id=tokenizer.pad_token_id))

    gen_state = torch.random.get_rng_state()
    torch.manual_seed(seed)
    try:
        text_encoder = clip(CLIPTextModel, "quick_gelu", 32)
        text_encoder_2 = clip(CLIPTextModelWithProjection, "gelu", 48)
        unet = UNet2DConditionModel(
            sample_size=8, in_channels=4, out_channels=4,
            down_block_types=("DownBlock2D", "CrossAttnDownBlock2D"),
            up_block_types=("CrossAttnUpBlock2D", "UpBlock2D"),
            block_out_channels=(32, 64), layers_per_block=2, transformer_layers_per_block=(1, 2),
            cross_attention_dim=32 + 48, attention_head_dim=(2, 4), norm_num_groups=32,
            use_linear_projection=True, addition_embed_type="text_time",
            addition_time_embed_dim=8, projection_class_embeddings_input_dim=6 * 8 + 32)
        vae = AutoencoderKL(
            in_channels=3, out_channels=3, down_block_types=("DownEncoderBlock2D",) * 4,
            up_block_types=("UpDecoderBlock2D",) * 4, block_out_channels=(16, 32, 32, 32),
            layers_per_block=1, latent_channels=4, norm_num_groups=16, sample_size=64,
            scaling_factor=0.13025, force_upcast=True)
    finally:
        torch.random.set_rng_state(gen_state)
    scheduler = EulerDiscreteScheduler(  # SDXL's scheduler config
        num_train_timesteps=1000, beta_start=0.00085, beta_end=0.012,
        beta_schedule="scaled_linear", steps_offset=1, timestep_spacing="leading",
        prediction_type="epsilon")
    return {"unet": unet, "vae": vae, "text_encoder": text_encoder,
            "text_encoder_2": text_encoder_2, "tokenizer": tokenizer, "tokenizer_2": tokenizer_2,
            "scheduler": scheduler}


def _tiny_sd15_components(seed: int, extra_words: tuple[str, ...] | list[str]):
    return {**build_tiny_components(seed, extra_words=extra_words), "safety_checker": None,
            "feature_extractor": None, "requires_safety_checker": False}


# Pipeline keyword arguments of each family's tiny model.
TINY_COMPONENTS = {"sd15": _tiny_sd15_components, "sdxl": build_tiny_sdxl_components}


def build_tiny_model(folder: Path | str, seed: int = 0,
                     extra_words: tuple[str, ...] | list[str] = (), family: str = "sd15") -> Path:
    """Write the tiny SD1.5- or SDXL-shaped pipeline as a diffusers folder; returns it.

    `extra_words` become single tokens (e.g. the demo's trigger word). Rebuilding with the
    same seed gives bit-identical weights. Safe to call on an existing tiny model folder.
    """
    from loratui import families
    from loratui.train.quiet import quiet_libraries, set_quiet_env

    fam = families.get(family)
    set_quiet_env()
    quiet_libraries()

    folder = Path(folder)
    pipe = fam.pipeline_class()(**TINY_COMPONENTS[fam.id](seed, extra_words))
    folder.mkdir(parents=True, exist_ok=True)
    pipe.save_pretrained(str(folder), safe_serialization=True)
    from loratui.atomic import follow_umask

    follow_umask(folder.rglob("*.safetensors"))  # safetensors writes them 0600
    # Keep the human-readable vocab/merges beside the fast tokenizer.json.
    for encoder in fam.text_encoders:
        write_tokenizer_files(folder / encoder.tokenizer, extra_words=extra_words,
                              pad_token=encoder.pad_token)
    (folder / TINY_MODEL_MARKER).write_text(json.dumps(
        {"kind": f"loratui tiny {fam.label}-shaped model", "family": fam.id, "seed": seed,
         "extra_words": list(extra_words), "resolution": fam.tiny_resolution}, indent=2) + "\n",
        encoding="utf-8")
    return folder


def is_tiny_model(folder: Path | str) -> bool:
    return (Path(folder) / TINY_MODEL_MARKER).is_file()


# --- demo dataset -------------------------------------------------------------------------

# (width, height) of each demo image: mostly 512², plus the deliberate non-512 ones.
DEMO_SIZES = ((512, 512), (512, 512), (640, 480), (512, 512), (384, 576), (512, 512),
              (1024, 768), (512, 512))
DEMO_CAPTIONS = (
    "{t}, a girl with red hair, smiling, simple background",
    "{t}, a girl standing outdoors, blue sky",
    "{t}, portrait of a girl, face, green background",
    None,  # deliberately missing caption file
    "{t}, a girl sitting indoors, yellow light",
    "a girl with red hair in a blue dress",  # deliberately without the trigger word
    "{t}, a girl in a landscape, drawing",
    "{t}, a girl, white background, art",
)


def _demo_image(index: int, size: tuple[int, int], rng: random.Random):
    """A simple synthetic 'character' drawing: background gradient, body, head, hair."""
    from PIL import Image, ImageDraw

    w, h = size
    bg_top = tuple(rng.randint(60, 230) for _ in range(3))
    bg_bottom = tuple(max(0, c - rng.randint(30, 80)) for c in bg_top)
    img = Image.new("RGB", (w, h))
    draw = ImageDraw.Draw(img)
    for y in range(h):
        t = y / max(1, h - 1)
        draw.line([(0, y), (w, y)], fill=tuple(int(a + (b - a) * t)
                                               for a, b in zip(bg_top, bg_bottom, strict=True)))
    cx = w // 2 + rng.randint(-w // 8, w // 8)
    unit = min(w, h) / 8
    dress = (rng.randint(20, 80), rng.randint(40, 120), rng.randint(150, 230))
    draw.rounded_rectangle([cx - 1.4 * unit, h * 0.5, cx + 1.4 * unit, h * 0.98],
                           radius=int(unit / 2), fill=dress)
    hy = h * 0.5 - 1.1 * unit
    draw.ellipse([cx - 1.6 * unit, hy - 1.7 * unit, cx + 1.6 * unit, hy + 1.0 * unit],
                 fill=(190, 50, 30))  # red hair: the 'character'
    draw.ellipse([cx - unit, hy - unit, cx + unit, hy + unit], fill=(245, 205, 175))
    for dx in (-0.4, 0.4):
        draw.ellipse([cx + dx * unit - 0.12 * unit, hy - 0.25 * unit,
                      cx + dx * unit + 0.12 * unit, hy], fill=(40, 40, 60))
    draw.arc([cx - 0.4 * unit, hy, cx + 0.4 * unit, hy + 0.5 * unit], 20, 160,
             fill=(150, 40, 40), width=max(1, int(unit / 12)))
    return img


def write_demo_dataset(folder: Path | str, trigger: str = "sks", seed: int = 0) -> Path:
    """Write a small dataset of real PNGs + captions into `folder`; returns the folder.

    Deliberate problems (what the scanner / doctor should find): images that are not
    512×512, one image without a caption file, one caption without the trigger word.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    rng = random.Random(seed)
    for i, (size, caption) in enumerate(zip(DEMO_SIZES, DEMO_CAPTIONS, strict=True), start=1):
        stem = f"demo_{i:02d}"
        _demo_image(i, size, rng).save(folder / f"{stem}.png")
        if caption is not None:
            (folder / f"{stem}.txt").write_text(caption.format(t=trigger) + "\n",
                                                encoding="utf-8")
    return folder

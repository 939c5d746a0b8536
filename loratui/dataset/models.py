"""BLIP auto-captions (P5) and CLIP image–caption agreement (P1), from local models only.

torch and transformers are imported inside the functions: importing this module is
cheap. Models come from a local folder or the local Hugging Face cache; nothing is
downloaded (HF_HUB_OFFLINE is forced while loading).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from loratui.atomic import atomic_write_text
from loratui.i18n import N_, Message

from ._io import Backup
from .prepare import to_rgb, written_by_prepare
from .report import UNUSABLE_CAPTION
from .scanner import ScanOptions, scan

BLIP_DEFAULT = "Salesforce/blip-image-captioning-base"
CLIP_DEFAULT = "openai/clip-vit-base-patch32"
BLIP_CHOICE = Message(N_("BLIP base (~1 GB) is the usual choice."))
CLIP_CHOICE = Message(N_("Any CLIP checkpoint works."))


class ModelNotFound(Exception):
    """No local copy of the model; str() says how to fetch one."""


def _fetch_hint(repo: str, what: str, local: str, setting: Message | None) -> Message:
    give = Message(N_("pass it with --model {local}"), local=local) if setting is None \
        else Message(N_("give its path as {setting}"), setting=setting)
    return Message(N_("loratui never downloads models. On a machine with internet run\n"
                      "    pip install -U huggingface_hub\n"
                      "    hf download {repo} --local-dir {local}\n"
                      "copy the {local}/ folder to this machine and {give} "
                      "(or copy the Hugging Face cache, ~/.cache/huggingface/hub). {what}"),
                   repo=repo, local=local, give=give, what=what)


def find_model(model: str | Path | None, default_repo: str, *, what: str = "",
               setting: Message | None = None) -> Path:
    """A local model folder: `model` itself, or `model`/`default_repo` in the HF cache.
    `setting` names where the caller takes the model folder (the command line's --model
    when None), for the message that says how to get one."""
    if model:
        p = Path(model).expanduser()
        if p.is_dir():
            if (p / "config.json").is_file():
                return p
            raise ModelNotFound(Message(N_("{folder} has no config.json: not a transformers "
                                           "model folder. {hint}"), folder=str(p),
                                        hint=_fetch_hint(default_repo, what, p.name or "model",
                                                        setting)))
        if p.exists():
            raise ModelNotFound(Message(N_("{path} is a file; give the model folder"),
                                        path=str(p)))
    repo = str(model) if model and "/" in str(model) and not Path(str(model)).is_absolute() \
        else default_repo
    try:
        from huggingface_hub import snapshot_download

        return Path(snapshot_download(repo, local_files_only=True))
    except Exception:
        pass
    hint = _fetch_hint(repo, what, repo.split("/")[-1], setting)
    if model:
        raise ModelNotFound(Message(N_("{path} is not a folder and {repo} is not in the local "
                                       "Hugging Face cache. {hint}"),
                                    path=str(model), repo=repo, hint=hint))
    raise ModelNotFound(Message(N_("{repo} is not in the local Hugging Face cache. {hint}"),
                                repo=repo, hint=hint))


@contextmanager
def _offline():
    saved = {k: os.environ.get(k) for k in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE")}
    os.environ.update(HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1")
    try:
        yield
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def pick_device(device: str = "auto") -> str:
    import torch

    if device != "auto":
        return device
    if torch.cuda.is_available():
        return "cuda"
    return "cpu"


def _load_rgb(path: Path):
    from PIL import Image, ImageOps

    with Image.open(path) as im:
        im = ImageOps.exif_transpose(im)
        return to_rgb(im, (255, 255, 255))


@dataclass
class CaptionResult:
    model: str = ""
    device: str = ""
    written: list[str] = field(default_factory=list)
    kept: int = 0                                          # existing captions left alone
    failed: dict[str, str] = field(default_factory=dict)   # image -> error
    backup_dir: str = ""


def caption_folder(folder: Path | str, model: str | Path | None = None, *,
                   batch_size: int = 8, device: str = "auto", overwrite: bool = False,
                   overwrite_empty: bool = False, prefix: str = "", max_new_tokens: int = 40,
                   num_beams: int = 3, caption_extension: str = ".txt",
                   progress: Callable[[int, int], None] | None = None,
                   setting: Message | None = None) -> CaptionResult:
    """Write a BLIP caption beside every usable image that has none (all with
    `overwrite`; empty ones with `overwrite_empty`). `prefix` (e.g. the trigger word)
    goes first. Overwritten captions in a source folder are backed up first. `setting`:
    see find_model."""
    folder = Path(folder).expanduser()
    path = find_model(model, BLIP_DEFAULT, what=BLIP_CHOICE, setting=setting)
    report = scan(folder, ScanOptions(caption_extension=caption_extension))
    todo = []
    result = CaptionResult(model=str(path))
    for rec in report.usable_images():
        odd = UNUSABLE_CAPTION.intersection(rec.problems)
        if odd:     # a folder, a pipe, a huge or unreadable file: never written over
            result.failed[rec.path] = Message(
                N_("its caption {caption} is not a readable caption file ({problem}); left "
                   "as it is"), caption=rec.caption_path or "?", problem=sorted(odd)[0])
            continue
        has = rec.caption is not None or "caption-not-utf8" in rec.problems
        empty = rec.caption is not None and not rec.caption.strip()
        if has and not overwrite and not (overwrite_empty and empty):
            result.kept += 1
            continue
        todo.append(rec)
    if not todo:
        return result
    import torch
    from transformers import BlipForConditionalGeneration, BlipProcessor

    dev = pick_device(device)
    result.device = dev
    dtype = torch.float16 if dev.startswith("cuda") else torch.float32
    with _offline():
        processor = BlipProcessor.from_pretrained(str(path), local_files_only=True)
        net = BlipForConditionalGeneration.from_pretrained(str(path), local_files_only=True,
                                                           use_safetensors=True, dtype=dtype)
    net.to(dev).eval()
    backup = Backup(folder, skip=written_by_prepare(folder))
    if progress:
        progress(0, len(todo))
    for start in range(0, len(todo), batch_size):
        batch, images = [], []
        for rec in todo[start:start + batch_size]:
            try:
                images.append(_load_rgb(folder / rec.path))
                batch.append(rec)
            except Exception as exc:
                result.failed[rec.path] = str(exc) or type(exc).__name__
        if batch:
            inputs = processor(images=images, return_tensors="pt").to(dev)
            inputs["pixel_values"] = inputs["pixel_values"].to(dtype)
            with torch.inference_mode():
                ids = net.generate(**inputs, max_new_tokens=max_new_tokens,
                                   num_beams=num_beams)
            texts = processor.batch_decode(ids, skip_special_tokens=True)
            for rec, text in zip(batch, texts, strict=True):
                text = " ".join(text.split())
                if prefix:
                    text = f"{prefix}, {text}" if text else prefix
                target = folder / Path(rec.path).with_suffix(caption_extension)
                if backup is not None:
                    backup.save(target)
                atomic_write_text(target, text + "\n", fsync=False)
                result.written.append(target.relative_to(folder).as_posix())
        if progress:
            progress(min(len(todo), start + batch_size), len(todo))
    if backup is not None and backup.saved:
        result.backup_dir = str(backup.dir)
    return result


@dataclass
class Agreement:
    path: str
    caption: str
    score: float      # cosine similarity of CLIP image and text embeddings


def clip_agreement(folder: Path | str, model: str | Path | None = None, *, top: int = 10,
                   device: str = "auto", batch_size: int = 16,
                   caption_extension: str = ".txt") -> list[Agreement]:
    """Score every captioned image with a local CLIP; the `top` worst-matching pairs."""
    import torch
    from transformers import CLIPModel, CLIPProcessor

    folder = Path(folder).expanduser()
    path = find_model(model, CLIP_DEFAULT, what=CLIP_CHOICE)
    report = scan(folder, ScanOptions(caption_extension=caption_extension))
    recs = [r for r in report.usable_images() if r.caption and r.caption.strip()]
    dev = pick_device(device)
    with _offline():
        processor = CLIPProcessor.from_pretrained(str(path), local_files_only=True)
        net = CLIPModel.from_pretrained(str(path), local_files_only=True, use_safetensors=True)
    net.to(dev).eval()
    scores: list[Agreement] = []
    for start in range(0, len(recs), batch_size):
        batch, images = [], []
        for r in recs[start:start + batch_size]:
            try:     # a file changed or cut short since the scan is left out, not fatal
                images.append(_load_rgb(folder / r.path))
                batch.append(r)
            except Exception:
                continue
        if not batch:
            continue
        inputs = processor(text=[r.caption.strip() for r in batch], images=images,
                           return_tensors="pt", padding=True, truncation=True).to(dev)
        with torch.inference_mode():
            out = net(**inputs)
        img = torch.nn.functional.normalize(out.image_embeds, dim=-1)
        txt = torch.nn.functional.normalize(out.text_embeds, dim=-1)
        for r, s in zip(batch, (img * txt).sum(-1).tolist(), strict=True):
            scores.append(Agreement(r.path, r.caption.strip(), round(float(s), 4)))
    scores.sort(key=lambda a: a.score)
    return scores[:top]

"""Training data: find image/caption pairs, buckets, PIL/numpy preprocessing, caption tricks.

No torchvision (there is no CPU build of it here): images are resized with PIL and turned
into arrays with numpy. Everything random here is a pure function of (seed, epoch,
position), so an interrupted run resumes with exactly the batches and captions it would
have seen (see loop.py).
"""

from __future__ import annotations

import math
import random
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from loratui.dataset.headers import read_small
from loratui.i18n import N_, Message
from loratui.userfiles import UserFileError, decode_text

IMAGE_EXTS = (".png", ".jpg", ".jpeg", ".webp", ".bmp")
REPEATS_DIR = re.compile(r"^(\d+)_(.+)$")  # kohya's "10_name" folders

# Noise tags for label pollution (P28) when the config gives none: plausible but wrong.
DEFAULT_POLLUTION_TAGS = (
    "hat", "glasses", "umbrella", "night", "snow", "holding cup", "red scarf", "book",
    "flower", "sunset", "rain", "backpack", "earrings", "window", "tree", "bicycle",
)


class DatasetError(Exception):
    """The dataset cannot be used; the message names the folder and the fix."""


class ImageReadError(Exception):
    """One image cannot be decoded (truncated, deleted, a decompression bomb ...): the
    trainer skips it, names it, and goes on."""

    def __init__(self, path: Path, reason: str):
        self.path, self.reason = Path(path), reason
        super().__init__(f"{path}: {reason}")


def _decode_problem(exc: BaseException) -> str:
    if isinstance(exc, FileNotFoundError):
        return Message(N_("the file is gone (deleted or moved during the run)"))
    text = str(exc).splitlines()[0][:200] if str(exc) else type(exc).__name__
    return Message(N_("cannot read the image ({error})"), error=text)


def image_size(path: Path) -> tuple[int, int]:
    """(width, height) from the header, refusing images over Pillow's decompression-bomb
    limit; raises ImageReadError."""
    import warnings

    from PIL import Image

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(path) as im:
                width, height = im.size
    except Image.DecompressionBombError:
        width = height = 0  # reported below with the same words as a large header
    except Exception as exc:  # PIL raises OSError, SyntaxError, ValueError ... on bad files
        raise ImageReadError(path, _decode_problem(exc)) from exc
    limit = Image.MAX_IMAGE_PIXELS
    if (limit and width * height > limit) or not width:
        raise ImageReadError(path, Message(
            N_("over Pillow's decompression-bomb limit of {limit} pixels; shrink it "
               "(loratui dataset prepare) or remove it"), limit=f"{limit:,}"))
    return width, height


@dataclass
class Item:
    path: Path
    caption: str
    repeats: int
    is_reg: bool
    width: int
    height: int
    folder: str
    bucket: tuple[int, int] = (0, 0)


@dataclass
class DatasetPlan:
    items: list[Item]
    warnings: list[str] = field(default_factory=list)

    @property
    def train_items(self) -> list[Item]:
        return [i for i in self.items if not i.is_reg]

    @property
    def reg_items(self) -> list[Item]:
        return [i for i in self.items if i.is_reg]

    def num_train_images(self) -> int:
        return sum(i.repeats for i in self.train_items)

    def captions_by_dir(self) -> dict[str, list[str]]:
        out: dict[str, list[str]] = {}
        for item in self.train_items:
            out.setdefault(item.folder, []).append(item.caption)
        return out

    def dataset_dirs(self) -> dict[str, dict[str, int]]:
        out: dict[str, dict[str, int]] = {}
        for item in self.train_items:
            d = out.setdefault(item.folder, {"n_repeats": item.repeats, "img_count": 0})
            d["img_count"] += 1
        return out

    def bucket_info(self) -> dict:
        counts = Counter(i.bucket for i in self.train_items)
        return {"buckets": {str(n): {"resolution": list(b), "count": c}
                            for n, (b, c) in enumerate(sorted(counts.items()))}}


def _class_name(folder: str) -> str:
    m = REPEATS_DIR.match(folder)
    return (m.group(2) if m else folder).replace("_", " ").strip()


def _image_folders(root: Path, default_repeats: int) -> list[tuple[Path, int]]:
    """(folder, repeats): the root itself and its direct sub-folders (kohya `N_name` layout)."""
    folders = [(root, default_repeats)]
    for sub in sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")):
        m = REPEATS_DIR.match(sub.name)
        folders.append((sub, int(m.group(1)) if m else default_repeats))
    return folders


def scan(root: Path | str, *, caption_ext: str = ".txt", trigger: str = "",
         repeats: int = 1, is_reg: bool = False) -> tuple[list[Item], list[str]]:
    """Image/caption pairs under `root`. Bad files are skipped with a warning, never fatal.
    Hidden files (`.name`, macOS `._name`, loratui's own temp files) are not data, as in
    kohya's glob."""
    root = Path(root)
    if not root.is_dir():
        raise DatasetError(Message(N_("{path}: regularisation folder not found") if is_reg
                                   else N_("{path}: dataset folder not found"), path=str(root)))
    items: list[Item] = []
    warnings: list[str] = []
    trigger = trigger.strip()
    for folder, reps in _image_folders(root, repeats):
        for path in sorted(folder.iterdir()):
            if (path.name.startswith(".") or path.suffix.lower() not in IMAGE_EXTS
                    or not path.is_file()):
                continue
            try:
                width, height = image_size(path)
            except ImageReadError as exc:
                warnings.append(Message(N_("{path}: {reason}; skipped"), path=str(exc.path),
                                        reason=exc.reason))
                continue
            cap_path = path.with_suffix(caption_ext)
            caption = ""
            if cap_path.exists() or cap_path.is_symlink():
                try:   # UTF-8 (BOM or not); UTF-16 from Notepad / PowerShell as UTF-16
                    # (read_small: a pipe or folder of that name is refused without waiting,
                    # a stray file of megabytes without reading it whole)
                    caption = decode_text(read_small(str(cap_path)), cap_path).strip()
                except UserFileError as exc:
                    warnings.append(Message(N_("{path}: cannot read the caption ({problem}; "
                                               "{fix})"), path=str(cap_path),
                                            problem=exc.problem, fix=exc.fix))
                except OSError as exc:
                    warnings.append(Message(N_("{path}: cannot read the caption ({problem})"),
                                            path=str(cap_path),
                                            problem=exc.strerror or str(exc)))
            if not caption:
                fallback = _class_name(folder.name) if (is_reg or folder != root) else ""
                caption = trigger if not is_reg and trigger else fallback
                warnings.append(Message(N_("{path}: no caption ({name} missing or empty); "
                                           "training it with {caption}"), path=str(path),
                                        name=cap_path.name, caption=repr(caption)))
            elif not is_reg and trigger and trigger.lower() not in caption.lower():
                warnings.append(Message(N_("{path}: caption lacks the trigger word {trigger} "
                                           "(P7)"), path=str(cap_path), trigger=repr(trigger)))
            items.append(Item(path, caption, reps, is_reg, width, height,
                              folder.name if folder != root else root.name))
    if not items:
        where = N_("{path}: no images found ({types}) in the regularisation folder or its "
                   "sub-folders") if is_reg else \
            N_("{path}: no images found ({types}) in the dataset folder or its sub-folders")
        raise DatasetError(Message(where, path=str(root), types=", ".join(IMAGE_EXTS)))
    return items, warnings


def plan_dataset(cfg) -> DatasetPlan:
    ds = cfg.dataset
    items, warnings = scan(ds.dir, caption_ext=ds.caption_extension, trigger=ds.trigger_word,
                           repeats=ds.repeats)
    if ds.reg_dir:
        reg, reg_warn = scan(ds.reg_dir, caption_ext=ds.caption_extension, repeats=1,
                             is_reg=True)
        items += reg
        warnings += reg_warn
    buckets = make_buckets(ds.resolution) if ds.bucketing else [(ds.resolution, ds.resolution)]
    for item in items:
        item.bucket = nearest_bucket(item.width, item.height, buckets)
    return DatasetPlan(items, warnings)


# --- buckets ------------------------------------------------------------------------------

def bucket_step(resolution: int) -> int:
    return 64 if resolution >= 256 else 8


def make_buckets(resolution: int) -> list[tuple[int, int]]:
    """(width, height) pairs with area ≤ resolution², sides multiples of 64 (8 for tiny
    resolutions), from half to twice the resolution — kohya's enable_bucket rule."""
    step = bucket_step(resolution)
    area = resolution * resolution
    lo, hi = max(step, resolution // 2 // step * step), resolution * 2
    out = set()
    for w in range(lo, hi + 1, step):
        h = min(hi, area // w // step * step)
        if h >= lo:
            out.add((w, h))
            out.add((h, w))
    return sorted(out)


def nearest_bucket(width: int, height: int, buckets: list[tuple[int, int]]) -> tuple[int, int]:
    ratio = math.log(width / height)
    return min(buckets, key=lambda b: (abs(math.log(b[0] / b[1]) - ratio), -b[0] * b[1]))


# --- pixels -------------------------------------------------------------------------------

def cover_crop(width: int, height: int, size: tuple[int, int]) -> tuple[tuple[int, int],
                                                                        tuple[int, int]]:
    """(resized (w, h), crop (top, left)) of an image scaled to cover `size` and centre-cropped;
    SDXL's micro-conditioning reads the crop coordinates."""
    bw, bh = size
    scale = max(bw / width, bh / height)
    new = (max(bw, round(width * scale)), max(bh, round(height * scale)))
    return new, ((new[1] - bh) // 2, (new[0] - bw) // 2)


def load_pixels(path: Path, size: tuple[int, int]):
    """Image → float32 array [3, H, W] in [-1, 1]: EXIF-rotated, RGB, resized to cover `size`
    (Lanczos), centre-cropped. The same as diffusers' example without torchvision. Raises
    ImageReadError for a file that cannot be decoded (truncated, deleted, a bomb)."""
    try:
        return _load_pixels(path, size)
    except MemoryError:
        raise
    except Exception as exc:
        raise ImageReadError(path, _decode_problem(exc)) from exc


def _load_pixels(path: Path, size: tuple[int, int]):
    import numpy as np
    from PIL import Image, ImageOps

    bw, bh = size
    from loratui.dataset.prepare import to_rgb

    with Image.open(path) as im:
        # as `dataset prepare` converts: 16-bit scaled (a plain convert clips it to white),
        # CMYK through its profile, transparency onto white
        im = to_rgb(ImageOps.exif_transpose(im), (255, 255, 255))
        new, (top, left) = cover_crop(im.width, im.height, size)
        if new != im.size:
            im = im.resize(new, Image.Resampling.LANCZOS)
        im = im.crop((left, top, left + bw, top + bh))
        arr = np.asarray(im, dtype=np.float32)
    return np.ascontiguousarray(arr.transpose(2, 0, 1) / 127.5 - 1.0)


# --- captions -----------------------------------------------------------------------------

@dataclass
class CaptionRules:
    shuffle: bool = False
    keep_tokens: int = 1
    dropout: float = 0.0
    pollution: bool = False
    pollution_probability: float = 1.0
    pollution_tags: tuple[str, ...] = DEFAULT_POLLUTION_TAGS

    @classmethod
    def from_config(cls, cfg) -> CaptionRules:
        ds, lp = cfg.dataset, cfg.tricks.label_pollution
        return cls(shuffle=ds.shuffle_captions, keep_tokens=ds.keep_tokens,
                   dropout=ds.caption_dropout, pollution=lp.enabled,
                   pollution_probability=lp.probability,
                   pollution_tags=tuple(lp.tags) or DEFAULT_POLLUTION_TAGS)

    @property
    def varies(self) -> bool:
        """True when a caption can differ from step to step."""
        return bool(self.shuffle or self.dropout or
                    (self.pollution and self.pollution_probability > 0))

    def apply(self, caption: str, rng: random.Random, is_reg: bool = False) -> str:
        """Caption for one step: dropout, then keep-tokens + shuffle, then one noise tag."""
        if self.dropout and rng.random() < self.dropout:
            return ""
        tags = [t.strip() for t in caption.split(",") if t.strip()]
        keep, rest = tags[:self.keep_tokens], tags[self.keep_tokens:]
        if self.shuffle:
            rng.shuffle(rest)
        if self.pollution and not is_reg and rng.random() < self.pollution_probability:
            choices = [t for t in self.pollution_tags if t.lower() not in
                       {x.lower() for x in tags}]
            if choices:
                rest.insert(rng.randint(0, len(rest)), rng.choice(choices))
        return ", ".join(keep + rest)


def step_rng(seed: int, epoch: int, position: int) -> random.Random:
    return random.Random(f"{seed}:{epoch}:{position}")


# --- epoch plan ---------------------------------------------------------------------------

def epoch_batches(plan: DatasetPlan, batch_size: int, seed: int, epoch: int) -> list[list[int]]:
    """Batches (lists of item indices) for one epoch: every training image `repeats` times,
    the same number of regularisation images (cycled, as kohya does), grouped by bucket,
    shuffled. A pure function of (seed, epoch)."""
    rng = random.Random(f"order:{seed}:{epoch}")
    train = [i for i, it in enumerate(plan.items) if not it.is_reg for _ in range(it.repeats)]
    reg_pool = [i for i, it in enumerate(plan.items) if it.is_reg]
    entries = list(train)
    if reg_pool:
        rng.shuffle(reg_pool)
        entries += [reg_pool[k % len(reg_pool)] for k in range(len(train))]
    rng.shuffle(entries)
    by_bucket: dict[tuple[int, int], list[int]] = {}
    for idx in entries:
        by_bucket.setdefault(plan.items[idx].bucket, []).append(idx)
    batches = []
    for bucket in sorted(by_bucket):
        members = by_bucket[bucket]
        batches += [members[k:k + batch_size] for k in range(0, len(members), batch_size)]
    rng.shuffle(batches)
    return batches


def rank_batches(batches: list[list[int]], rank: int, num_processes: int) -> list[list[int]]:
    """This process's share of an epoch: every `num_processes`-th batch, the list first padded
    by wrapping round (as torch's DistributedSampler does) so that every process has the same
    number of micro-batches; a process with one more would wait for the others for ever."""
    if num_processes <= 1:
        return batches
    per_process = -(-len(batches) // num_processes)
    padded = (batches * num_processes)[:per_process * num_processes]
    return padded[rank::num_processes]

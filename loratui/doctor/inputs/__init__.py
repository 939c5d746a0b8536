"""What the doctor reads: input kinds, detection from the path, and loading.

`detect(path)` guesses the kind from the name and the first bytes; `--as KIND`
overrides it. `load(path, kind)` returns an `Input`; a file that cannot be parsed
becomes an `Input` with `.error` set (reported as DR002), never an exception.
"""

from __future__ import annotations

import os
import re

from loratui.doctor.util import LazyRe
from loratui.i18n import N_, Message, message_of

TYPE_CHECKING = False
if TYPE_CHECKING:
    from pathlib import Path
    from typing import Any

# Paths are handled as strings with os.path here: `import pathlib` alone costs a tenth of
# the start-up budget of `loratui doctor CONFIG`. Loaders off that path take a Path.

KINDS = ("loratui", "kohya-json", "sdscripts-toml", "dataset-toml", "cmdline", "aitoolkit",
         "log", "lora",
         "prompt", "comfy", "dataset", "run")

IMAGE_EXTS = (".png", ".jpg", ".jpeg", ".webp", ".bmp", ".gif", ".tif", ".tiff", ".jxl",
              ".avif", ".heic")
LOG_EXTS = (".log", ".out", ".err")
CMD_EXTS = (".sh", ".bat", ".cmd", ".ps1", ".bash", ".zsh")
WEIGHT_EXTS = (".safetensors", ".ckpt", ".pt", ".pth", ".bin", ".sft")
SCRIPT_RE = LazyRe(r"[\w./\\-]*?(?:train_network|sdxl_train_network|train_db|sdxl_train|"
                       r"fine_tune|train_textual_inversion|train_text_to_image_lora\w*|"
                       r"train_dreambooth_lora\w*|sd3_train_network|flux_train_network|"
                       r"[\w-]*train[\w-]*)\.py\b")
SMALL_TEXT = 256 * 1024


class Input:
    """One thing being diagnosed. `facts` for configs, `data` for the rest."""

    def __init__(self, path: str, kind: str, *, text: str | None = None) -> None:
        self.path = path
        self.kind = kind
        self.text = text
        self.facts: Any = None  # ConfigFacts for config kinds
        self.data: Any = None  # kind-specific parsed object
        self.error: str | None = None
        self.error_line: int | None = None
        self.children: list[Input] = []  # e.g. a run folder's config, log and LoRA
        self.parent: Input | None = None
        self.read_only = False  # fixes are shown, not written (a run's record of its config)
        # The most severe a finding about this input may be: the settings of a command
        # whose run the same paste shows finishing well are advice, not problems.
        self.severity_cap: str | None = None

    def __repr__(self) -> str:
        return f"<Input {self.kind} {self.path}>"


class ReadError(Exception):
    pass


def read_text(path: str | Path, limit: int | None = None) -> str:
    """Decode UTF-8 (with or without BOM), UTF-16 (PowerShell redirects), else latin-1.
    A pipe, a device or a folder is an OSError: opened without waiting, never read."""
    import stat

    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    with open(fd, "rb") as fh:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            raise IsADirectoryError(21, "a folder", str(path)) if stat.S_ISDIR(mode) else \
                OSError(0, "not a regular file (a device or a pipe)", str(path))
        raw = fh.read() if limit is None else fh.read(limit)
    return decode(raw)


def decode(raw: bytes) -> str:
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        return raw.decode("utf-16", errors="replace")
    if raw.startswith(b"\xef\xbb\xbf"):
        raw = raw[3:]
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("utf-8", errors="replace")


def _looks_like_json_kind(data: Any) -> str | None:
    if isinstance(data, dict):
        if isinstance(data.get("config"), dict) and isinstance(data["config"].get("process"),
                                                                list):
            return "aitoolkit"
        if isinstance(data.get("nodes"), list) and ("links" in data or "last_node_id" in data):
            return "comfy"
        values = list(data.values())
        if values and all(isinstance(v, dict) for v in values[:50]) and \
                any("class_type" in v for v in values[:50]):
            return "comfy"
        if isinstance(data.get("prompt"), dict) and any(
                isinstance(v, dict) and "class_type" in v for v in data["prompt"].values()):
            return "comfy"
        return "kohya-json"
    return None


def sniff_toml_kind(text: str, name: str) -> str:
    if name == "loratui.toml":
        return "loratui"
    if re.search(r"^\s*\[\[\s*datasets\s*\]\]|^\s*\[\[\s*datasets\.subsets\s*\]\]", text, re.M):
        return "dataset-toml"
    if re.search(r"^\s*\[(model|network|training|optimizer|output)\]\s*$", text, re.M) and \
            re.search(r"^\s*(rank|batch_size|unet_lr|mixed_precision|base|resolution)\s*=",
                      text, re.M):
        return "loratui"
    if re.search(r"^\s*\[\s*general\s*\]", text, re.M) and not re.search(
            r"^\s*(pretrained_model_name_or_path|network_dim|output_dir)\s*=", text, re.M):
        return "dataset-toml"
    return "sdscripts-toml"


def detect(path: str | Path) -> str | None:
    """The input kind of `path`, or None when it is not something the doctor reads."""
    path = os.fspath(path)
    if os.path.isdir(path):
        return detect_dir(path)
    name = os.path.basename(path).lower()
    ext = os.path.splitext(name)[1]
    if ext in WEIGHT_EXTS:
        return "lora"
    if ext in CMD_EXTS:
        return "cmdline"
    if ext in LOG_EXTS:
        return "log"
    if ext in IMAGE_EXTS:
        return None
    try:
        head = read_text(path, 64 * 1024)
    except OSError:
        return None
    if ext == ".toml":
        return sniff_toml_kind(head, name)
    if ext in (".yaml", ".yml") and _aitoolkit_head(head):
        return "aitoolkit"
    if ext == ".json" or head.lstrip().startswith("{"):
        import json

        try:
            data = json.loads(read_text(path)) if os.stat(path).st_size < 32 * 2**20 else None
        except (OSError, ValueError, RecursionError):
            return "kohya-json" if ext == ".json" else _text_kind(head, path)
        return _looks_like_json_kind(data) or "kohya-json"
    if head.startswith("version https://git-lfs") or ext in (".safetensor",):
        return "lora"
    return _text_kind(head, path)


# Signs that a paste shows a run, not only a command: a traceback, a progress bar, log
# levels, the trainer's step / epoch lines, model loading, a GUI's banner or an error.
RUN_SIGNS = LazyRe(
    r"Traceback \(most recent call last\)|\d+%\|[^\n]*\||\b(?:INFO|WARNING|ERROR|CRITICAL)\b|"
    r"^\s*steps:|^\s*epoch \d+/\d+|\bLoading\b|\bloading (?:model|checkpoint|vae)|"
    r"\b\w+(?:Error|Exception):|returned non-zero exit status|Signals\.SIG|^Killed\b|"
    r"running training|学習開始|Fatal error in launcher|CUDA out of memory|"
    r"^prepare (?:images|tokenizers?)\b|^found directory .* contains \d+ image files|"
    r"\d+ train images with repeating|No caption file found for|"
    r"\bit/s\b|\bs/it\b|^\s*\+ (?:CategoryInfo|FullyQualifiedErrorId)|NativeCommandError|"
    r"\b(?:avr_)?loss\s*[=:]\s*(?:nan|NaN|inf)\b",
    re.M)


def _aitoolkit_head(head: str) -> bool:
    from loratui.doctor.inputs.aitoolkit import looks_like_aitoolkit

    return looks_like_aitoolkit(head)


def _has_scriptless_command(head: str) -> bool:
    """sd-scripts' arguments with the script name cut off (`--network_dim 32 ...`)."""
    if "--" not in head:
        return False
    from loratui.doctor.inputs.commands import scriptless_start

    return scriptless_start(head.replace("\n", " ")) is not None


def _text_kind(head: str, path: str) -> str:
    try:
        size = os.stat(path).st_size
    except OSError:
        size = 0
    lines = head.count("\n") + 1
    has_script = bool(SCRIPT_RE.search(head)) or "accelerate launch" in head or \
        _has_scriptless_command(head)
    has_args = bool(re.search(r"(?:^|\s)--?[a-z_][\w-]*", head))
    if has_script and has_args and size < SMALL_TEXT and not RUN_SIGNS.search(head):
        return "cmdline"
    if "process:" in head and size < SMALL_TEXT and _aitoolkit_head(head) and \
            not re.search(r"Traceback \(most recent|\d+%\|", head):
        return "aitoolkit"  # an ai-toolkit job pasted into a .txt
    if "<lora:" in head and size < SMALL_TEXT and lines <= 40 and not RUN_SIGNS.search(head):
        return "prompt"
    # A table header alone on its line or `key = value` (not a log's `[LORA] Loaded ...`).
    if re.match(r"\s*(\[[\w.]+\][ \t]*\r?\n|\w+\s*=)", head) and "=" in head and lines < 400 and \
            not re.search(r"^\s*(Traceback|INFO|WARNING|ERROR)", head, re.M):
        return sniff_toml_kind(head, os.path.basename(path).lower())
    return "log"


def _is_dir(entry: os.DirEntry) -> bool:
    try:
        return entry.is_dir()
    except OSError:   # a link to itself (ELOOP), a vanished mount: not a folder
        return False


def detect_dir(path: str | Path) -> str | None:
    try:
        entries = list(os.scandir(path))
    except OSError:
        return None
    names = {e.name.lower() for e in entries}
    has_cfg = "loratui.toml" in names or any(
        n.endswith((".json", ".toml", ".log", ".sh", ".bat")) for n in names)
    has_sub_run = any(_is_dir(e) and e.name.lower() in ("logs", "log", "output", "outputs",
                                                         "checkpoints", "model") for e in entries)
    if has_cfg or "train.log" in names or "metrics.jsonl" in names or has_sub_run:
        return "run"
    images = [n for n in names if n.endswith(IMAGE_EXTS)]
    if images:
        return "dataset"
    for e in entries:
        if _is_dir(e):
            try:
                if any(s.name.lower().endswith(IMAGE_EXTS) for s in os.scandir(e.path)):
                    return "dataset"
            except OSError:
                continue
    if any(n.endswith(WEIGHT_EXTS) for n in names):
        return "run"
    return None


def _not_detected(path: str) -> Message:
    """Why `path` has no kind: it cannot be read (said as such, not as an unknown kind), a
    folder holds nothing the doctor reads, or the content says nothing."""
    folder = os.path.isdir(path)
    try:
        if folder:
            os.scandir(path).close()
        else:
            open(path, "rb").close()    # only whether it opens
    except OSError as exc:
        return Message(N_("cannot read: {error}"), error=str(exc.strerror or exc))
    if folder:
        return Message(N_("a folder with nothing the doctor reads (no images, configs, logs, "
                          "LoRA or run files); give one of those, or name the kind with --as "
                          "({kinds})"), kinds=", ".join(KINDS))
    return Message(N_("cannot tell what this is; name the kind with --as ({kinds})"),
                   kinds=", ".join(KINDS))


def load(path: str | Path, kind: str | None = None) -> Input:
    """Read `path` as `kind` (detected when None)."""
    p = os.fspath(path)
    if os.path.exists(p) and not os.path.isdir(p) and not os.path.isfile(p):
        inp = Input(str(path), kind or "unknown")   # reading a pipe or /dev/zero never ends
        inp.error = Message(N_("not a regular file (a device or a pipe); give the path of the "
                               "file itself"))
        return inp
    if kind is None:
        kind = detect(p)
    inp = Input(str(path), kind or "unknown")
    if kind is None:
        inp.error = _not_detected(p)
        return inp
    try:
        LOADERS[kind](inp, p)
    except ReadError as exc:
        inp.error = message_of(exc)
    except OSError as exc:
        inp.error = Message(N_("cannot read: {error}"), error=str(exc.strerror or exc))
    except RecursionError:
        inp.error = Message(N_("nested too deeply to read (hundreds of levels of brackets: no "
                               "tool writes that); check that this is the right file"))
    return inp


def _load_config(inp: Input, path: str) -> None:
    from loratui.doctor.inputs import configs

    configs.load(inp, path)


def _load_log(inp: Input, path: str) -> None:
    from pathlib import Path

    path = Path(path)
    from loratui.doctor.inputs.log import load_log

    inp.data = load_log(path)
    from loratui.doctor.inputs.paste import attach_command

    attach_command(inp)


def _load_lora(inp: Input, path: str) -> None:
    from pathlib import Path

    path = Path(path)
    from loratui.lora.reader import LoraError, open_lora

    try:
        inp.data = open_lora(path)
    except LoraError as exc:  # reported by rule LF101 with its cause, not as DR002
        inp.data = exc


def _load_prompt(inp: Input, path: str) -> None:
    from pathlib import Path

    path = Path(path)
    from loratui.doctor.inputs.prompt import parse_prompt

    inp.text = read_text(path)
    inp.data = parse_prompt(inp.text)


def _load_comfy(inp: Input, path: str) -> None:
    from pathlib import Path

    path = Path(path)
    from loratui.doctor.inputs.comfy import load_workflow

    inp.data = load_workflow(path)


def _load_dataset(inp: Input, path: str) -> None:
    from loratui.doctor.inputs.dataset import load_dataset

    inp.data = load_dataset(path)


def _load_run(inp: Input, path: str) -> None:
    from pathlib import Path

    path = Path(path)
    from loratui.doctor.inputs.run import load_run

    load_run(inp, path)


LOADERS = {
    "loratui": _load_config, "kohya-json": _load_config, "sdscripts-toml": _load_config,
    "dataset-toml": _load_config, "cmdline": _load_config, "aitoolkit": _load_config,
    "log": _load_log,
    "lora": _load_lora, "prompt": _load_prompt, "comfy": _load_comfy,
    "dataset": _load_dataset, "run": _load_run,
}


def prompt_input(text: str, label: str = "<prompt>") -> Input:
    from loratui.doctor.inputs.prompt import parse_prompt

    inp = Input(label, "prompt", text=text)
    inp.data = parse_prompt(text)
    return inp

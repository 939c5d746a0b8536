"""The wizard's one door into the core.

Every screen calls the core through these functions so that a core piece that is
missing (an older install, a branch not merged yet) turns into a plain "not
available" line on screen instead of an ImportError — never into a fake result.
Nothing here computes what the core does not: it adapts names and shapes only.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class Check:
    ok: bool | None  # None: the check could not run (core piece missing, or nothing to check)
    text: str


@dataclass(frozen=True)
class RunInfo:
    path: Path
    label: str
    active: bool


def unavailable(what: str) -> str:
    return f"not available in this build: {what} is missing from the core"


def _optional(module: str, attr: str) -> Any | None:
    try:
        return getattr(importlib.import_module(module), attr)
    except (ImportError, AttributeError):
        return None


def check_base_model(path: Path | None) -> Check:
    if path is None:
        return Check(None, "enter the path of an SD1.5 model (diffusers folder or .safetensors)")
    if not path.exists():
        return Check(False, f"{path} does not exist")
    fn = _optional("loratui.basemodel", "check_base_model")
    if fn is None:
        return Check(None, unavailable("the SD1.5 model check"))
    result = fn(path)
    return Check(result.ok, result.message)


def list_runs(output_dir: Path) -> list[RunInfo] | None:
    fn = _optional("loratui.runs", "list_runs")
    if fn is None:
        return None
    out = []
    for run in fn(output_dir):
        s = run.summary()
        label = f"{run.name} ({s['state']}, step {s['step']}/{s.get('max_steps') or '?'})"
        out.append(RunInfo(run.path, label, s["state"] in ACTIVE_STATES))
    return out


def run_folder_problem(folder: Path) -> str:
    if not folder.is_dir():
        return f"{folder} is not a folder"
    cls = _optional("loratui.runs", "RunFolder")
    if cls is not None and not cls(folder).exists():
        return f"{folder} is not a run folder (no state.json or config.toml in it)"
    return ""


def config_findings(cfg: Any, gpu: Any, path: str = "loratui.toml") -> list[Any] | None:
    """The doctor's findings for an in-memory config (None when the doctor is absent)."""
    fn = _optional("loratui.doctor", "diagnose_config")
    if fn is None:
        return None
    best = gpu.best if gpu is not None else None
    diags = fn(cfg, vram_gb=best.total_gb if best else None, path=path)
    order = {"error": 0, "warning": 1, "info": 2}
    return sorted(diags, key=lambda d: (order.get(d.severity, 3), d.code))


def diagnose_paths(paths: list[Path], gpu: Any = None) -> tuple[list[Any], list[str]]:
    """Run the doctor on files and folders (config, dataset, run folder, LoRA).

    Returns (diagnostics, notes); a kind of input this build's doctor cannot read yet
    becomes a note instead of failing the whole check.
    """
    diagnose = _optional("loratui.doctor.engine", "diagnose")
    options = _optional("loratui.doctor.engine", "Options")
    if diagnose is None or options is None:
        raise CoreMissing(unavailable("the doctor (loratui.doctor)"))
    best = gpu.best if gpu is not None else None
    try:  # all at once, so a dataset reached through several of them is reported once
        found, _inputs = diagnose([str(p) for p in paths],
                                  options=options(vram_gb=best.total_gb if best else None,
                                                  probe_gpu=False))
        return list(found), []
    except ModuleNotFoundError as exc:
        if not (exc.name or "").startswith("loratui"):
            raise
    diags: list[Any] = []
    notes: list[str] = []
    for path in paths:
        opts = options(vram_gb=best.total_gb if best else None, probe_gpu=False)
        try:
            found, _inputs = diagnose([str(path)], options=opts)
        except ModuleNotFoundError as exc:
            if not (exc.name or "").startswith("loratui"):
                raise
            notes.append(f"{path.name}: {unavailable(f'reading this kind of input ({exc.name})')}")
            continue
        diags.extend(found)
    return diags, notes


def diagnose_usage(prompt: str, workflow: Path | None = None) -> list[Any]:
    """The doctor's usage rules on a prompt (and a ComfyUI workflow file)."""
    fn = _optional("loratui.doctor", "diagnose_paths")
    if fn is None:
        return []
    diags, _inputs = fn([str(workflow)] if workflow else [], prompts=[prompt])
    return list(diags)


def apply_safe_fixes(diags: list[Any]) -> tuple[int, list[str]]:
    fn = _optional("loratui.doctor.fixer", "apply_fixes")
    if fn is None:
        raise CoreMissing(unavailable("doctor fixes (loratui.doctor.fixer)"))
    return fn(diags, unsafe=False)


def safe_fix_count(diags: list[Any]) -> int:
    fn = _optional("loratui.doctor.fixer", "fixable")
    return len(fn(diags, False)) if fn else 0


def explain(code: str) -> str:
    catalog = _optional("loratui.doctor.catalog", "load_catalog")
    explain_rule = _optional("loratui.doctor.explain", "explain_rule")
    if catalog is None or explain_rule is None:
        return ""
    rule = catalog().get(code)
    return explain_rule(rule) if rule is not None else ""


# ---- runs (loratui.runs: the torch-free run-folder reader) -------------------------------
try:
    from loratui.runs import ACTIVE_STATES, TERMINAL_STATES
except ImportError:  # a build without the training engine
    ACTIVE_STATES = ("starting", "loading", "caching", "running", "saving")
    TERMINAL_STATES = ("finished", "failed", "interrupted", "crashed")


class CoreMissing(RuntimeError):
    """A core feature is not in this build; the message says which."""


def open_run(path: Path):
    cls = _optional("loratui.runs", "RunFolder")
    if cls is None:
        raise CoreMissing(unavailable("the run folder reader (loratui.runs)"))
    return cls(path)


def start_training(config_path: Path) -> Path:
    """Start the trainer in its own session (it outlives the UI); returns the run folder.

    Raises the core's PreflightError / ConfigError with a message that names the fix.
    """
    fn = _optional("loratui.train", "start")
    if fn is None:
        raise CoreMissing(unavailable("starting a training process (loratui.train.start)"))
    return Path(fn(config_path, detach=True).run.path)


def resume_run(run_path: Path) -> Path:
    """Resume an interrupted run from its resumable state, in its own session again."""
    fn = _optional("loratui.train", "start")
    if fn is None:
        raise CoreMissing(unavailable("resuming a run (loratui.train.start)"))
    return Path(fn(None, resume=run_path, detach=True).run.path)


def stop_run(run_path: Path) -> str:
    """Ask the trainer to stop: the trainer's documented contract (loratui.train.safety
    StopSignals) is SIGTERM → save a resumable state at the next step, then exit."""
    import os
    import signal
    import socket

    fn = _optional("loratui.train.launch", "stop")
    if fn is not None:
        return str(fn(run_path))
    state = open_run(run_path).state()
    pid = state.get("pid")
    if state.get("host") not in (None, socket.gethostname()):
        return f"this run trains on {state['host']}: stop it there"
    if not pid or state.get("state") not in ACTIVE_STATES:
        return "the run is not training"
    try:
        os.kill(int(pid), signal.SIGTERM)
    except ProcessLookupError:
        return "the trainer process is already gone"
    except PermissionError:
        return f"not allowed to signal pid {pid} (another user's run?)"
    return f"stop requested (pid {pid}): the trainer saves a resumable state and exits"


# ---- dataset (loratui.dataset) ----------------------------------------------------------------
def _dataset(attr: str, what: str):
    fn = _optional("loratui.dataset", attr)
    if fn is None:
        raise CoreMissing(unavailable(f"{what} (loratui.dataset)"))
    return fn


def scan_dataset(cfg: Any, folder: Path, progress=None):
    """Scan `folder` with the config's caption extension, trigger word and resolution."""
    scan = _dataset("scan", "the dataset scanner")
    options = _dataset("ScanOptions", "the dataset scanner").from_config(cfg)
    return scan(folder, options, progress=progress)


def prepare_dataset(cfg: Any, source: Path, out: Path, mode: str, progress=None):
    prepare = _optional("loratui.dataset.prepare", "prepare")
    options = _optional("loratui.dataset.prepare", "PrepareOptions")
    if prepare is None or options is None:
        raise CoreMissing(unavailable("dataset prepare (loratui.dataset.prepare)"))
    ds = cfg.dataset
    opts = options(mode=mode, resolution=ds.resolution, caption_extension=ds.caption_extension,
                   trigger_word=ds.trigger_word)
    return prepare(source, out, opts, progress=progress)


def dataset_code(kind: str) -> str:
    """The doctor's code for a dataset finding kind (empty when the doctor is absent)."""
    fn = _optional("loratui.doctor", "code_for_dataset_kind")
    return fn(kind) or "" if fn else ""


def dataset_rule(kind: str) -> tuple[str, str, str] | None:
    """(code, name, severity) of the doctor rule for a dataset finding kind, as
    `loratui doctor` and `loratui rule` show it (None without the doctor or a rule)."""
    fn = _optional("loratui.doctor", "rule_for_dataset_kind")
    return fn(kind) if fn else None


def is_prepared_copy(folder: Path) -> bool:
    fn = _optional("loratui.dataset.prepare", "is_prepared_copy")
    return bool(fn and fn(folder))


def caption_tokens(text: str) -> int:
    fn = _optional("loratui.dataset.captions", "count_tokens")
    return fn(text) if fn else len(text.split())


def caption_style(text: str) -> str:
    fn = _optional("loratui.dataset.captions", "caption_style")
    return fn(text) if fn else ""


def has_trigger(text: str, word: str) -> bool:
    fn = _optional("loratui.dataset.captions", "has_trigger")
    return bool(fn(text, word)) if fn else word in text


def save_caption(root: Path, image: str, text: str, extension: str) -> Path:
    """Write one caption atomically; in a source folder the original is backed up first."""
    from loratui.config import atomic_write_text

    backup_cls = _optional("loratui.dataset._io", "Backup")
    written = _optional("loratui.dataset.prepare", "written_by_prepare")
    target = root / Path(image).with_suffix(extension)
    if backup_cls is None or written is None:
        raise CoreMissing(unavailable("caption backups (loratui.dataset)"))
    backup_cls(root, skip=written(root)).save(target)     # a prepared copy's own: no copy
    atomic_write_text(target, text + "\n")
    return target


def caption_folder(folder: Path, **kw):
    fn = _optional("loratui.dataset.models", "caption_folder")
    if fn is None:
        raise CoreMissing(unavailable("BLIP captioning (loratui.dataset.models)"))
    return fn(folder, **kw)


def bulk_edit(folder: Path, values: dict[str, Any], extension: str, in_place: bool):
    build = _optional("loratui.dataset.captions", "build_edits")
    edit = _optional("loratui.dataset.edit", "edit_captions")
    if build is None or edit is None:
        raise CoreMissing(unavailable("caption bulk edits (loratui.dataset)"))
    old, new = values.get("old", ""), values.get("new", "")
    edits = build(prefix=values.get("prefix", "").strip(),
                  replace=(old, new) if old else None,
                  remove=[t.strip() for t in values.get("remove", "").split(",") if t.strip()],
                  dedupe=bool(values.get("dedupe")))
    return edit(folder, edits, caption_extension=extension, in_place=in_place)


def load_tokenizer(base: Path | None):
    """The base model's CLIP tokenizer (slow: imports transformers), or None."""
    fn = _optional("loratui.dataset.trigger", "load_tokenizer")
    if fn is None or base is None or not base.exists():
        return None
    try:
        return fn(base)
    except Exception:  # a broken tokenizer folder: check without one
        return None


def check_trigger(word: str, captions: dict[str, str | None] | None, tokenizer=None):
    fn = _optional("loratui.dataset.trigger", "check_trigger")
    if fn is None:
        raise CoreMissing(unavailable("trigger word checks (loratui.dataset.trigger)"))
    return fn(word, captions, tokenizer=tokenizer)


def insert_trigger(folder: Path, word: str, extension: str, in_place: bool):
    fn = _optional("loratui.dataset.edit", "insert_trigger")
    if fn is None:
        raise CoreMissing(unavailable("inserting the trigger word (loratui.dataset.edit)"))
    return fn(folder, word, caption_extension=extension, in_place=in_place)


# ---- export (loratui.deploy, loratui.runs) --------------------------------------------------
try:
    from loratui.deploy import DeployError as DeployProblem
except ImportError:  # pragma: no cover - a build without loratui.deploy
    class DeployProblem(Exception):  # type: ignore[no-redef]
        pass


def finished_lora(run_dir: Path | None, output_dir: Path) -> Path | None:
    """The followed run's final LoRA, else the newest finished run's under output.dir."""
    cls = _optional("loratui.runs", "RunFolder")
    runs = _optional("loratui.runs", "list_runs")
    if cls is None or runs is None:
        return None
    if run_dir is not None:
        found = cls(run_dir).lora_path()
        if found:
            return found
    for run in runs(output_dir):
        found = run.lora_path()
        if found:
            return found
    return None


def _deploy(attr: str):
    fn = _optional("loratui.deploy", attr)
    if fn is None:
        raise CoreMissing(unavailable("LoRA export (loratui.deploy)"))
    return fn


def find_lora_folder(path: Path):
    return _deploy("find_lora_folder")(path)


def install_lora(src: Path, folder: Path, *, overwrite: bool = False) -> Path:
    return _deploy("install_lora")(src, folder, overwrite=overwrite)


def lora_usage(lora: Path, trigger: str, kind: str):
    return _deploy("usage")(lora, trigger=trigger, kind=kind)


def comfy_workflow_json(u: Any) -> str:
    return _deploy("workflow_json")(u)

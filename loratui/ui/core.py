"""Where the wizard adapts the core's shapes to what a screen shows.

The screens call the core directly; this module keeps only the calls that turn the
core's answers into something smaller (a `Check`, a list of `RunInfo`, sorted findings)
or that put several core calls together. Imports of modules that pull in PIL or the
doctor's rule engine stay inside the functions, so the first screen appears quickly.
A core function that raises is not caught here: the app reports it (see `errors.py`).
"""

from __future__ import annotations

import os
import signal
import socket
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from loratui.basemodel import check_base_model as _check_base_model
from loratui.deploy import DeployError as DeployProblem
from loratui.deploy import find_lora_folder, install_lora, install_target
from loratui.deploy import usage as _usage
from loratui.deploy import workflow_json as comfy_workflow_json
from loratui.familydata import label as family_label
from loratui.i18n import _, localized
from loratui.runs import ACTIVE_STATES, TERMINAL_STATES, RunFolder, state_name
from loratui.runs import list_runs as _list_runs
from loratui.ui.text import short_path

__all__ = [
    "ACTIVE_STATES", "TERMINAL_STATES", "Check", "DeployProblem", "RunInfo",
    "comfy_workflow_json", "family_label", "find_lora_folder", "install_lora",
    "install_target",
]


@dataclass(frozen=True)
class Check:
    ok: bool | None  # None: nothing to check yet
    text: str


@dataclass(frozen=True)
class RunInfo:
    path: Path
    label: str
    active: bool
    state: str = ""


def check_base_model(path: Path | None, family: str = "auto", vae: str = "") -> Check:
    """The base model check; `family` is model.family as loratui.toml sets it: a hand-set
    family is the one in use, and one the model contradicts is an error naming the
    detected family (as `loratui train` says). `vae` is model.vae (a checkpoint without a
    baked VAE needs one). A v-prediction marker is noted: `apply_checkpoint_markers` sets
    model.v_prediction when the step is left."""
    if path is None:
        return Check(None, _("enter the path of an SD1.5 or SDXL model (diffusers folder or "
                             ".safetensors)"))
    if not path.exists():
        return Check(False, _("{path} does not exist").format(path=short_path(path, 60)))
    result = _check_base_model(path, vae=vae, v_prediction=True)
    text = localized(result.message)
    if result.ok and result.v_prediction:
        text += "\n" + _("v-prediction model: trained with model.v_prediction = true")
    detected = _("detected from {source}").format(source=localized(result.source)) \
        if result.family else ""
    if family in ("", "auto", None):
        if result.family:
            text += "\n" + _("Family: {family} ({how})").format(
                family=family_label(result.family), how=detected)
        return Check(result.ok, text)
    from loratui.families import override_problem

    problem = override_problem(short_path(path, 60), family, result.family)
    if problem:
        return Check(False, text + "\n" + _("Family: {problem}").format(
            problem=localized(problem)))
    name = family_label(family)
    if result.family:
        line = _("Family: {family} (set by model.family in loratui.toml; detected from "
                 "{source})").format(family=name, source=localized(result.source))
    else:
        line = _("Family: {family} (set by model.family in loratui.toml)").format(family=name)
    return Check(result.ok, text + "\n" + line)


def _markers(path: Path):
    if not path.is_file() or path.suffix.lower() != ".safetensors":
        return None
    from loratui.checkpoint import inspect

    return inspect(path)


def apply_checkpoint_markers(model, path: Path) -> None:
    """model.v_prediction / zero_terminal_snr on when the checkpoint's own `v_pred` /
    `ztsnr` keys say so (NoobAI v-pred and other kohya-saved v-prediction models)."""
    info = _markers(path)
    if info and info.v_prediction:
        model.v_prediction = True
        if info.zero_terminal_snr:
            model.zero_terminal_snr = True


def list_runs(output_dir: Path) -> list[RunInfo]:
    out = []
    for run in _list_runs(output_dir):
        s = run.summary()
        label = _("{name} ({state}, step {step}/{max_steps})").format(
            name=run.name, state=state_name(s["state"]), step=s["step"], max_steps=s.get("max_steps") or "?")
        out.append(RunInfo(run.path, label, s["state"] in ACTIVE_STATES, s["state"]))
    return out


def run_folder_problem(folder: Path) -> str:
    if not folder.exists():
        return _("{path} does not exist").format(path=folder)
    if not folder.is_dir():
        return _("{folder} is not a folder").format(folder=folder)
    if not RunFolder(folder).exists():
        return _("{folder} is not a run folder (no state.json or config.toml in it)").format(
            folder=folder)
    return ""


def open_run(path: Path) -> RunFolder:
    return RunFolder(path)


def _by_severity(diags: list[Any]) -> list[Any]:
    order = {"error": 0, "warning": 1, "info": 2}
    return sorted(diags, key=lambda d: (order.get(d.severity, 3), d.code))


# ---- doctor (imported on use: its rule engine is not needed for the first screen) ---------
def config_findings(cfg: Any, gpu: Any, path: str = "loratui.toml") -> list[Any]:
    """The doctor's findings for an in-memory config, errors first."""
    from loratui.doctor import diagnose_config

    best = gpu.best if gpu is not None else None
    return _by_severity(diagnose_config(cfg, vram_gb=best.total_gb if best else None,
                                        path=path))


def diagnose_paths(paths: list[Path], gpu: Any = None) -> list[Any]:
    """The doctor on files and folders (config, dataset, run folder, LoRA), all at once,
    so a dataset reached through several of them is reported once."""
    from loratui.doctor.catalog import localized_catalog
    from loratui.doctor.engine import Options, diagnose

    best = gpu.best if gpu is not None else None
    found, _inputs = diagnose([str(p) for p in paths], options=Options(
        vram_gb=best.total_gb if best else None, probe_gpu=False),
        catalog=localized_catalog())
    return list(found)


def diagnose_usage(prompt: str, workflow: Path | None = None) -> list[Any]:
    """The doctor's usage rules on a prompt (and a ComfyUI workflow file)."""
    from loratui.doctor.catalog import localized_catalog
    from loratui.doctor.engine import diagnose

    diags, _inputs = diagnose([str(workflow)] if workflow else [], prompts=[prompt],
                              catalog=localized_catalog())
    return list(diags)


def apply_safe_fixes(diags: list[Any]) -> tuple[int, list[str]]:
    from loratui.doctor.fixer import apply_fixes

    return apply_fixes(diags, unsafe=False)


def safe_fix_count(diags: list[Any]) -> int:
    from loratui.doctor.fixer import fixable

    return len(fixable(diags, False))


def explain(code: str) -> str:
    """What `loratui rule CODE` prints ("" for a code the catalog does not know)."""
    from loratui.doctor.catalog import localized_catalog
    from loratui.doctor.explain import explain_rule

    rule = localized_catalog().get(code)
    return explain_rule(rule) if rule is not None else ""


def dataset_code(kind: str) -> str:
    """The doctor's code for a dataset finding kind ("" when no rule reports it)."""
    from loratui.doctor import code_for_dataset_kind

    return code_for_dataset_kind(kind) or ""


def dataset_rule(kind: str) -> tuple[str, str, str] | None:
    """(code, name, severity) of the doctor rule for a dataset finding kind, as
    `loratui doctor` and `loratui rule` show it (None when no rule reports it)."""
    from loratui.doctor import rule_for_dataset_kind

    return rule_for_dataset_kind(kind)


# ---- runs ---------------------------------------------------------------------------------
def start_training(config_path: Path) -> Path:
    """Start the trainer in its own session (it outlives the UI); returns the run folder.

    Raises the core's PreflightError / ConfigError with a message that names the fix.
    """
    from loratui.train.launch import start

    return Path(start(config_path, detach=True).run.path)


def resume_run(run_path: Path) -> Path:
    """Resume an interrupted run from its resumable state, in its own session again."""
    from loratui.train.launch import start

    return Path(start(None, resume=run_path, detach=True).run.path)


def stop_run(run_path: Path) -> str:
    """Ask the trainer to stop: its contract (loratui.train.safety.StopSignals) is
    SIGTERM → save a resumable state at the next step, then exit."""
    state = RunFolder(run_path).state()
    pid = state.get("pid")
    if state.get("host") not in (None, socket.gethostname()):
        return _("this run trains on {host}: stop it there").format(host=state["host"])
    if not pid or state.get("state") not in ACTIVE_STATES:
        return _("the run is not training")
    try:
        os.kill(int(pid), signal.SIGTERM)
    except ProcessLookupError:
        return _("the trainer process is already gone")
    except PermissionError:
        return _("not allowed to signal pid {pid} (another user's run?)").format(pid=pid)
    return _("stop requested (pid {pid}): the trainer saves a resumable state and "
             "exits").format(pid=pid)


# ---- dataset (loratui.dataset imports PIL: on use) ----------------------------------------
def scan_dataset(cfg: Any, folder: Path, progress=None):
    """Scan `folder` with the config's caption extension, trigger word and resolution."""
    from loratui.dataset import ScanOptions, scan

    return scan(folder, ScanOptions.from_config(cfg), progress=progress)


def prepare_dataset(cfg: Any, source: Path, out: Path, mode: str, progress=None):
    from loratui.dataset.prepare import PrepareOptions, prepare

    ds = cfg.dataset
    opts = PrepareOptions(mode=mode, resolution=ds.resolution,
                          caption_extension=ds.caption_extension, trigger_word=ds.trigger_word)
    return prepare(source, out, opts, progress=progress)


def is_prepared_copy(folder: Path) -> bool:
    from loratui.dataset.prepare import is_prepared_copy as prepared

    return bool(prepared(folder))


def caption_tokens(text: str) -> int:
    from loratui.dataset.captions import count_tokens

    return count_tokens(text)


def caption_style(text: str) -> str:
    from loratui.dataset.captions import caption_style as style

    return style(text)


def has_trigger(text: str, word: str) -> bool:
    from loratui.dataset.captions import has_trigger as found

    return bool(found(text, word))


def save_caption(root: Path, image: str, text: str, extension: str) -> Path:
    """Write one caption atomically; in a source folder the original is backed up first."""
    from loratui.config import atomic_write_text
    from loratui.dataset._io import Backup
    from loratui.dataset.prepare import written_by_prepare

    target = root / Path(image).with_suffix(extension)
    Backup(root, skip=written_by_prepare(root)).save(target)  # a prepared copy's own: no copy
    atomic_write_text(target, text + "\n")
    return target


def caption_folder(folder: Path, **kw):
    from loratui.dataset.models import caption_folder as caption

    return caption(folder, **kw)


def bulk_edit(folder: Path, values: dict[str, Any], extension: str, in_place: bool):
    from loratui.dataset.captions import build_edits
    from loratui.dataset.edit import edit_captions

    old, new = values.get("old", ""), values.get("new", "")
    edits = build_edits(prefix=values.get("prefix", "").strip(),
                        replace=(old, new) if old else None,
                        remove=[t.strip() for t in values.get("remove", "").split(",")
                                if t.strip()],
                        dedupe=bool(values.get("dedupe")))
    return edit_captions(folder, edits, caption_extension=extension, in_place=in_place)


def load_tokenizer(base: Path | None):
    """The CLIP tokenizer for trigger-word facts (slow: imports transformers), or None.

    Without a base model, or with one whose tokenizer is unreadable, this is the shipped
    SD1.5 vocabulary; the Start step reports a bad model itself."""
    from loratui.dataset.trigger import load_tokenizer as load

    try:
        return load(base if base is not None and base.exists() else None)
    except (OSError, ValueError):
        return None


def check_trigger(word: str, captions: dict[str, str | None] | None, tokenizer=None):
    from loratui.dataset.trigger import check_trigger as check

    return check(word, captions, tokenizer=tokenizer)


def insert_trigger(folder: Path, word: str, extension: str, in_place: bool):
    from loratui.dataset.edit import insert_trigger as insert

    return insert(folder, word, caption_extension=extension, in_place=in_place)


# ---- export -------------------------------------------------------------------------------
def finished_lora(run_dir: Path | None, output_dir: Path) -> Path | None:
    """The followed run's final LoRA, else the newest finished run's under output.dir."""
    if run_dir is not None:
        found = RunFolder(run_dir).lora_path()
        if found:
            return found
    for run in _list_runs(output_dir):
        found = run.lora_path()
        if found:
            return found
    return None


def lora_usage(lora: Path, cfg):
    """The prompt and ComfyUI workflow for a LoRA trained with `cfg`: its family's latent
    size, and its base model's file name when that is a single file."""
    family, checkpoint = base_for_usage(cfg)
    return _usage(lora, trigger=cfg.dataset.trigger_word, kind=cfg.network.kind,
                  family=family, checkpoint=checkpoint)


def base_for_usage(cfg) -> tuple[str, str | None]:
    """(family id, checkpoint file name or None) of the config's base model, for the
    usage prompt, the ComfyUI workflow and the doctor's usage rules."""
    from loratui.families import family_id_of

    base = str(cfg.model.base or "")
    single = base.lower().endswith((".safetensors", ".ckpt"))
    return family_id_of(cfg), (Path(base).name if single else None)

"""Config sources → `ConfigFacts`: loratui.toml, kohya_ss GUI JSON, sd-scripts config
TOML, sd-scripts dataset TOML and pasted command lines (.sh / .bat / .ps1 / .txt)."""

from __future__ import annotations

import os
import re

from loratui.doctor.facts import (
    LORATUI_MAP,
    ConfigFacts,
    to_bool,
    to_float,
    to_int,
    to_resolution,
    to_str,
)
from loratui.doctor.inputs import Input, ReadError, read_text
from loratui.doctor.inputs.values import check_loratui, check_other
from loratui.doctor.util import LazyRe
from loratui.i18n import N_, Message, message_of

TYPE_CHECKING = False
if TYPE_CHECKING:
    from pathlib import Path
    from typing import Any

# What sd-scripts uses when an argument is left out (train_network.py / train_util.py).
SDSCRIPTS_DEFAULTS: dict[str, Any] = {
    "network_alpha": 1.0, "network_dim": 4, "learning_rate": 2e-6, "train_batch_size": 1,
    "gradient_accumulation_steps": 1, "mixed_precision": "no", "caption_extension": ".caption",
    "bucket_reso_steps": 64, "min_bucket_reso": 256, "max_bucket_reso": 1024,
    "max_train_steps": 1600, "optimizer_type": "AdamW", "network_module": "networks.lora",
    "save_precision": None, "gradient_checkpointing": False, "no_half_vae": False,
    "cache_latents": False, "enable_bucket": False, "resolution": None,
}

# Canonical keys whose values are numbers / booleans / resolutions (everything else: str).
FLOAT_KEYS = {"learning_rate", "unet_lr", "text_encoder_lr", "network_alpha", "conv_alpha",
              "noise_offset", "caption_dropout_rate", "caption_tag_dropout_rate",
              "prior_loss_weight", "network_dropout", "min_snr_gamma", "max_grad_norm",
              "dynamic_weight_start", "dynamic_weight_end", "label_pollution_probability",
              "weight_decay"}
INT_KEYS = {"network_dim", "conv_dim", "train_batch_size", "gradient_accumulation_steps",
            "max_train_epochs", "max_train_steps", "bucket_reso_steps", "min_bucket_reso",
            "max_bucket_reso", "keep_tokens", "clip_skip", "token_warmup_step",
            "max_data_loader_n_workers", "save_every_n_epochs", "num_repeats",
            "max_token_length", "seed", "lr_warmup_steps", "stop_text_encoder_training",
            "sample_every_n_epochs"}
BOOL_KEYS = {"v2", "v_parameterization", "sdxl", "no_half_vae", "full_fp16", "full_bf16",
             "gradient_checkpointing", "xformers", "sdpa", "mem_eff_attn", "cache_latents",
             "cache_latents_to_disk", "color_aug", "random_crop", "flip_aug", "enable_bucket",
             "bucket_no_upscale", "shuffle_caption", "cache_text_encoder_outputs",
             "network_train_unet_only", "network_train_text_encoder_only",
             "scale_v_pred_loss_like_noise_pred", "zero_terminal_snr", "dim_from_weights",
             "train_text_encoder", "dynamic_weight", "label_pollution", "use_8bit_adam",
             "use_lion_optimizer", "lowram", "persistent_data_loader_workers"}
RES_KEYS = {"resolution"}
STR_KEYS = {"pretrained_model_name_or_path", "train_data_dir", "reg_data_dir", "output_dir",
            "output_name", "optimizer_type", "lr_scheduler", "network_module", "network_args",
            "optimizer_args", "caption_extension", "mixed_precision", "save_precision",
            "sample_prompts", "resume", "network_weights", "lr_scheduler_num_cycles",
            "save_model_as", "loss_type", "logging_dir", "dataset_config", "vae",
            "max_train_epochs", "attention"}
# Variables of a launcher script that are sd-scripts settings (others are ignored).
KNOWN_ARGS = FLOAT_KEYS | INT_KEYS | BOOL_KEYS | RES_KEYS | STR_KEYS

# kohya_ss GUI JSON field → canonical key (when the names differ).
KOHYA_GUI_MAP = {
    "max_resolution": "resolution", "optimizer": "optimizer_type", "epoch": "max_train_epochs",
    "lora_network_weights": "network_weights", "LoRA_type": "lora_type",
    "lr_warmup": "lr_warmup_percent",
}


def coerce(key: str, value: Any) -> Any:
    if key in FLOAT_KEYS:
        return to_float(value)
    if key in INT_KEYS:
        return to_int(value)
    if key in BOOL_KEYS:
        return to_bool(value)
    if key in RES_KEYS:
        return to_resolution(value)
    if isinstance(value, (list, dict)):
        return value
    return to_str(value) if not isinstance(value, (int, float, bool)) else value


def _tomllib():
    """The TOML parser, imported when a TOML file is read (a kohya JSON run never needs it)."""
    from loratui.tomlparser import parser

    return parser()


_ASSIGN_RE = r'^[ \t]*["\']?([^"\'=:\n]*?)["\']?[ \t]*[=:]'
_KEY_LINES: dict[str, dict[str, int]] = {}


def _key_lines(text: str) -> dict[str, int]:
    """key → first line assigning it, in one pass (a regex per key looked up cost more)."""
    lines = _KEY_LINES.get(text)
    if lines is None:
        lines = {}
        line, last = 1, 0
        for m in re.finditer(_ASSIGN_RE, text, re.M):
            line += text.count("\n", last, m.start())
            last = m.start()
            lines.setdefault(m.group(1), line)
        if len(_KEY_LINES) > 8:
            _KEY_LINES.clear()
        _KEY_LINES[text] = lines
    return lines


def key_line(text: str, key: str) -> int | None:
    """Line (1-based) where `key` is assigned in TOML (`key =`) or JSON (`"key":`)."""
    if re.fullmatch(r"[\w.-]+", key):
        return _key_lines(text).get(key)
    m = re.search(r'^[ \t]*["\']?' + re.escape(key) + r'["\']?[ \t]*[=:]', text, re.M)
    return text.count("\n", 0, m.start()) + 1 if m else None


def _beside(path: str, value: str) -> str:
    """`value` (~ expanded) resolved against the folder of the file at `path`."""
    return os.path.normpath(os.path.join(os.path.dirname(path), os.path.expanduser(value)))


def note_base_family(f: ConfigFacts, path: str) -> None:
    """The family of the base model the config names, when that model is on this machine (a
    diffusers folder's configs, a checkpoint's tensor names): `facts.shown_family` uses it
    after the config's own flags and script, before a guess from the name."""
    base = f.get("pretrained_model_name_or_path")
    if not isinstance(base, str) or not base.strip().strip("\"'"):
        return
    where = _beside(path, base.strip().strip("\"'"))
    fam = None
    if os.path.isfile(os.path.join(where, "model_index.json")):
        from loratui.modelfolder import folder_family_source

        fam = folder_family_source(where)[0]
    elif os.path.isfile(where) and where.lower().endswith(".safetensors"):
        from pathlib import Path as _Path

        from loratui.lora.reader import checkpoint_family

        fam = checkpoint_family(_Path(where))
    if fam:
        f.extra["base_family"] = fam


def load(inp: Input, path: str | Path) -> None:
    _load(inp, path)
    if inp.facts is not None and inp.kind != "dataset-toml":
        note_base_family(inp.facts, os.fspath(path))


def _load(inp: Input, path: str | Path) -> None:
    path = os.fspath(path)
    text = read_text(path)
    inp.text = text
    if inp.kind == "cmdline":
        inp.facts = parse_cmdline(text)
        check_other(inp.facts)
        _attach_config_file(inp, path)
        attach_dataset(inp, path)
        return
    if inp.kind == "aitoolkit":
        from loratui.doctor.inputs.aitoolkit import aitoolkit_facts, parse

        inp.facts = aitoolkit_facts(parse(text), text)
        check_other(inp.facts)
        attach_dataset(inp, path)
        return
    if inp.kind == "kohya-json":
        import json

        comma_line = None
        try:
            data = json.loads(text)
        except ValueError as exc:
            data, comma_line = _without_trailing_commas(text)
            if data is None:
                inp.error_line = getattr(exc, "lineno", None)
                raise ReadError(Message(N_("not valid JSON: {error}"), error=str(exc))) from None
        if not isinstance(data, dict):
            raise ReadError(Message(N_("a kohya_ss config is a JSON object; this file holds "
                                       "a {type}"), type=type(data).__name__))
        inp.facts = kohya_facts(data, text)
        if comma_line is not None:
            inp.facts.extra["trailing_comma_line"] = comma_line
        check_other(inp.facts)
        attach_dataset(inp, path)
        return
    tomllib = _tomllib()
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        m = re.search(r"line (\d+)", str(exc))
        inp.error_line = int(m.group(1)) if m else None
        raise ReadError(Message(N_("not valid TOML: {error}"), error=str(exc))) from None
    if inp.kind == "loratui":
        inp.facts = loratui_facts(data, text)
    elif inp.kind == "dataset-toml":
        inp.data = data
        inp.facts = dataset_toml_facts(data, text)
        check_other(inp.facts)
    else:
        inp.facts = sdscripts_facts(data, text)
        check_other(inp.facts)
        dataset_config = inp.facts.get("dataset_config")
        if dataset_config:
            _attach_dataset_toml(inp, _beside(path, str(dataset_config)))
    attach_dataset(inp, path)


TRAILING_COMMA = LazyRe(r",(\s*[}\]])")


def _without_trailing_commas(text: str) -> tuple[Any, int | None]:
    """A hand-edited JSON whose only fault is a comma before `}` or `]` (strict JSON, and
    the kohya_ss GUI, refuse it): its data and the line of the first such comma."""
    import json

    m = TRAILING_COMMA.search(text)
    if m is None:
        return None, None
    try:
        return json.loads(TRAILING_COMMA.sub(r"\1", text)), text.count("\n", 0, m.start()) + 1
    except (ValueError, RecursionError):
        return None, None


# ---------------------------------------------------------------- loratui.toml

def _flatten(data: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in data.items():
        dotted = f"{prefix}{key}"
        if isinstance(value, dict) and dotted != "doctor":
            out.update(_flatten(value, dotted + "."))
        else:
            out[dotted] = value
    return out


def loratui_facts(data: dict[str, Any], text: str = "") -> ConfigFacts:
    from loratui.doctor.config_defaults import DEFAULTS

    f = ConfigFacts("loratui", text)
    flat = _flatten(data)
    for dotted, default in DEFAULTS.items():
        canon = LORATUI_MAP.get(dotted)
        if canon:
            f.defaults[canon] = coerce(canon, default) if canon != "sample_prompt_list" \
                else default
    unknown = []
    for dotted, value in flat.items():
        if dotted == "doctor":
            f.extra["doctor"] = value if isinstance(value, dict) else {}
            continue
        canon = LORATUI_MAP.get(dotted)
        if canon is None:
            if dotted not in DEFAULTS:
                unknown.append(dotted)
            continue
        line = key_line(text, dotted.rsplit(".", 1)[-1]) if text else None
        f.set(canon, value if canon == "sample_prompt_list" else coerce(canon, value),
              tuple(dotted.split(".")), value, line)
    f.extra["unknown_keys"] = unknown
    check_loratui(f, flat)
    if f.get("network_alpha") is None:
        f.defaults["network_alpha"] = float(f.get("network_dim") or 8)
    f.defaults["learning_rate"] = f.get("unet_lr")
    f.extra["script"] = "loratui"
    att = str(f.get("attention") or "sdpa")
    f.defaults["xformers"] = att == "xformers"
    f.defaults["sdpa"] = att == "sdpa"
    return f


def facts_from_run_config(cfg: Any) -> ConfigFacts:
    """A `RunConfig` (or its `model_dump()` dict) → facts, for the UI and the trainer."""
    data = cfg.model_dump() if hasattr(cfg, "model_dump") else dict(cfg)
    return loratui_facts(data, "")


# ---------------------------------------------------------------- kohya_ss GUI JSON

def kohya_facts(data: dict[str, Any], text: str = "") -> ConfigFacts:
    if sum(1 for k in ONETRAINER_MARKERS if k in data) >= 2 or "__version" in data:
        return onetrainer_facts(data, text)
    if sum(1 for k in CIVITAI_KEYS if k in data) >= 3:
        return civitai_facts(data, text)
    f = ConfigFacts("kohya-json", text)
    for key, value in data.items():
        canon = KOHYA_GUI_MAP.get(key, key)
        if key == "xformers" and isinstance(value, str) and value.lower() in (
                "xformers", "sdpa", "none", ""):
            f.set("xformers", value.lower() == "xformers", (key,), value, key_line(text, key))
            f.set("sdpa", value.lower() == "sdpa", (key,), value, key_line(text, key))
            continue
        coerced = coerce(canon, value)
        if isinstance(value, str) and value.strip() == "" and canon != "caption_extension":
            coerced = None
        f.set(canon, coerced, (key,), value, key_line(text, key) if text else None)
    # The GUI leaves a blank caption extension out of the command, so sd-scripts uses .caption.
    if "caption_extension" in data and not str(data["caption_extension"]).strip():
        f.values["caption_extension"] = None
        f.inferred["caption_extension"] = ".caption"
        f.extra["caption_extension_blank"] = True
    lora_type = str(data.get("LoRA_type") or "")
    if "sdxl" not in data and re.search(r"sdxl", str(data.get("pretrained_model_name_or_path")
                                                      or ""), re.I):
        f.inferred["sdxl"] = True
    # The GUI's "SDXL model" box picks the script; a preset without it does not say.
    f.extra["script"] = "" if "sdxl" not in data else (
        "sdxl_train_network.py" if to_bool(data.get("sdxl")) else "train_network.py")
    f.extra["lora_type"] = lora_type
    # Partial presets: only what is in the file is known; sd-scripts defaults do not apply.
    return f


def onetrainer_facts(data: dict[str, Any], text: str = "") -> ConfigFacts:
    """OneTrainer's config JSON (its own names; nested tables for each model part)."""
    f = ConfigFacts("kohya-json", text)
    f.trainer = "OneTrainer"
    f.extra["trainer"] = "onetrainer"
    f.complete = False  # OneTrainer's defaults are not sd-scripts': leave them unknown
    for key, value in data.items():
        if isinstance(value, (dict, list)):
            if key == "optimizer" and isinstance(value, dict) and \
                    isinstance(value.get("optimizer"), str):
                f.set("optimizer_type", value["optimizer"], (key, "optimizer"),
                      value["optimizer"], key_line(text, "optimizer") if text else None)
            continue
        canon = ONETRAINER_KEYS.get(key, key)
        if canon == "output_dir" and isinstance(value, str):
            value = os.path.dirname(value.replace("\\", "/")) or value
        f.set(canon, coerce(canon, value) if canon in KNOWN_ARGS else value, (key,), value,
              key_line(text, key) if text else None)
    if "XL" in str(data.get("model_type") or "").upper():
        f.inferred["sdxl"] = True
    f.extra["script"] = "onetrainer"
    return f


# The Civitai on-site trainer's parameter JSON (camelCase; it runs sd-scripts) → canonical.
CIVITAI_KEYS = {
    "unetLR": "unet_lr", "textEncoderLR": "text_encoder_lr", "networkDim": "network_dim",
    "networkAlpha": "network_alpha", "trainBatchSize": "train_batch_size",
    "maxTrainEpochs": "max_train_epochs", "optimizerType": "optimizer_type",
    "lrScheduler": "lr_scheduler", "lrSchedulerNumCycles": "lr_scheduler_num_cycles",
    "clipSkip": "clip_skip", "keepTokens": "keep_tokens", "noiseOffset": "noise_offset",
    "minSnrGamma": "min_snr_gamma", "shuffleCaption": "shuffle_caption",
    "flipAugmentation": "flip_aug", "enableBucket": "enable_bucket",
    "optimizerArgs": "optimizer_args",
}
CIVITAI_SDXL_BASES = ("sdxl", "pony", "illustrious", "noobai")


def civitai_facts(data: dict[str, Any], text: str = "") -> ConfigFacts:
    """Civitai's trainer settings: only what the JSON holds is known (Civitai fills the
    rest itself, and its defaults are not sd-scripts')."""
    f = ConfigFacts("kohya-json", text)
    f.trainer = "Civitai"
    f.extra["trainer"] = "civitai"
    f.complete = False
    for key, value in data.items():
        canon = CIVITAI_KEYS.get(key, "resolution" if key == "resolution" else None)
        if canon is None or isinstance(value, (dict, list)):
            continue
        f.set(canon, coerce(canon, value), (key,), value, key_line(text, key) if text else None)
    base = str(data.get("baseModel") or data.get("base_model") or "").lower()
    if any(b in base for b in CIVITAI_SDXL_BASES):
        f.inferred["sdxl"] = True
    f.extra["script"] = ""
    f.extra["lora_type"] = str(data.get("loraType") or "")
    return f


# ---------------------------------------------------------------- sd-scripts TOML / CLI

def _set_arg(f: ConfigFacts, name: str, value: Any, path: tuple[str, ...], line: int | None):
    canon = name.replace("-", "_")
    if canon == "use_8bit_adam" and to_bool(value):
        f.set("optimizer_type", "AdamW8bit", path, value, line)
    elif canon == "use_lion_optimizer" and to_bool(value):
        f.set("optimizer_type", "Lion", path, value, line)
    if canon in ("pretrained_model_name_or_path", "pretrained_model_name"):
        canon = "pretrained_model_name_or_path"
    f.set(canon, coerce(canon, value), path, value, line)


# LoRA_Easy_Training_Scripts saves its UI state as `[general_args.args]`,
# `[network_args.args]`, `[bucket_args.dataset_args]` ... (its trainer flattens them).
EASY_SCRIPTS_SUBTABLES = ("args", "dataset_args")
EASY_SCRIPTS_KEYS = {"batch_size": "train_batch_size"}


def sdscripts_facts(data: dict[str, Any], text: str = "") -> ConfigFacts:
    f = ConfigFacts("sdscripts-toml", text)
    f.defaults.update(SDSCRIPTS_DEFAULTS)
    easy = any(isinstance(v, dict) and any(isinstance(v.get(s), dict)
                                           for s in EASY_SCRIPTS_SUBTABLES)
               for v in data.values())
    for key, value in data.items():
        if isinstance(value, dict):  # sd-scripts flattens one level of tables
            for sub, subval in value.items():
                if not isinstance(subval, dict):
                    _set_arg(f, sub, subval, (key, sub), key_line(text, sub))
                elif easy and sub in EASY_SCRIPTS_SUBTABLES:
                    for name, v in subval.items():
                        if not isinstance(v, dict):
                            _set_arg(f, EASY_SCRIPTS_KEYS.get(name, name), v, (key, sub, name),
                                     key_line(text, name))
        else:
            _set_arg(f, key, value, (key,), key_line(text, key))
    if easy:
        f.trainer = "LoRA_Easy_Training_Scripts"
    # A config file does not name the script that reads it (`--config_file` works with
    # any of them), except lora-scripts' `model_train_type`: the script is unknown here.
    f.extra["script"] = LORA_SCRIPTS_TRAIN_TYPES.get(str(data.get("model_train_type") or ""), "")
    if easy and f.has("sdxl"):  # its "SDXL" box picks the script, as the kohya_ss GUI's does
        f.extra["script"] = "sdxl_train_network.py" if f.get("sdxl") else "train_network.py"
    if f.extra["script"].startswith("sdxl_"):
        f.inferred["sdxl"] = True
    return f


# lora-scripts' `model_train_type` (its GUI's autosaved TOML) → the sd-scripts script run.
LORA_SCRIPTS_TRAIN_TYPES = {
    "sd-lora": "train_network.py", "sdxl-lora": "sdxl_train_network.py",
    "sd-dreambooth": "train_db.py", "sdxl-finetune": "sdxl_train.py",
    "sd3-lora": "sd3_train_network.py", "flux-lora": "flux_train_network.py",
}


# lora-scripts' launcher-script variables (train.sh / train.ps1) → sd-scripts arguments.
LORA_SCRIPTS_VARS = {
    "pretrained_model": "pretrained_model_name_or_path", "lr": "learning_rate",
    "batch_size": "train_batch_size", "max_train_epoches": "max_train_epochs",
    "train_unet_only": "network_train_unet_only",
    "train_text_encoder_only": "network_train_text_encoder_only",
    "parameterization": "v_parameterization", "dropout": "network_dropout",
    "lr_restart_cycles": "lr_scheduler_num_cycles",
}
# OneTrainer's arguments / config keys (dashes read as underscores) → canonical keys.
ONETRAINER_KEYS = {
    "base_model_name": "pretrained_model_name_or_path", "batch_size": "train_batch_size",
    "epochs": "max_train_epochs", "lora_rank": "network_dim", "lora_alpha": "network_alpha",
    "learning_rate_scheduler": "lr_scheduler", "learning_rate_warmup_steps": "lr_warmup_steps",
    "output_model_destination": "output_dir",
}
ONETRAINER_MARKERS = ("training_method", "model_type", "weight_dtype", "lora_weight_dtype",
                      "concept_file_name", "workspace_dir")


def parse_cmdline(text: str) -> ConfigFacts:
    """Find the training command in pasted text and read its `--arguments`."""
    from loratui.doctor.inputs.commands import assignments, best_command, find_commands

    cmd = best_command(find_commands(text))
    env = assignments(text)
    return command_facts(cmd, text, env)


def command_facts(cmd, text: str, env: dict | None = None, *, excerpt: bool = False
                  ) -> ConfigFacts:
    """Facts from one `Command` (None: no command, only a script's variables). A command
    whose settings are partly elsewhere (`--config_file`), cut short, or found in an
    excerpt with no whole command leaves missing keys unknown."""
    from loratui.doctor.inputs.commands import substitute, unquote

    f = ConfigFacts("cmdline", text)
    f.defaults.update(SDSCRIPTS_DEFAULTS)
    env = env or {}
    args: list[str] = []
    if cmd is not None:
        for tok in cmd.args:
            value = substitute(tok, env) if "$" in tok or "%" in tok else tok
            if value is None:
                if tok.startswith("--") and "=" in tok:
                    continue  # `--x=$unset`: the value is unknown
                value = tok
            args.append(value)
        f.extra["script"] = cmd.script
        f.extra["launcher"] = cmd.launcher
        f.extra["command_line"] = cmd.line
        f.extra["command_shape"] = cmd.shape
        for name, value in _arg_pairs(cmd.launcher):
            f.extra.setdefault("accelerate", {})[name] = value
    else:
        f.extra["script"] = ""
        f.extra["launcher"] = []
    pairs = _arg_pairs(args)
    onetrainer = any(n.replace("-", "_") in ONETRAINER_MARKERS for n, _ in pairs)
    for name, value in pairs:
        canon = name.replace("-", "_")
        if onetrainer:
            canon = ONETRAINER_KEYS.get(canon, canon)
        line = _arg_line(text, name, cmd)
        if isinstance(value, str):
            value = unquote(value)
            if re.fullmatch(r"\{\w+\}", value):
                continue  # a notebook's `{VARIABLE}`: the value is not in the paste
        _set_arg(f, canon, value, (name,), line)
    # Variables of a launcher script (lora-scripts) that its command did not spell out.
    for var, (value, line) in env.items():
        canon = LORA_SCRIPTS_VARS.get(var, var)
        if canon not in KNOWN_ARGS or f.has(canon) or value == "":
            continue
        if canon in BOOL_KEYS and value in ("0", "1"):
            value = value == "1"
        _set_arg(f, canon, value, (var,), line)
    if "model_type" in env and "sdxl" in env["model_type"][0].lower():
        f.inferred["sdxl"] = True
    if onetrainer or (cmd is not None and cmd.script == "train.py" and "config_path" in
                      {n.replace("-", "_") for n, _ in pairs}):
        f.trainer = "OneTrainer"
        f.extra["trainer"] = "onetrainer"
        f.defaults = {}
        model_type = str(f.values.get("model_type") or "")
        if "XL" in model_type.upper():
            f.inferred["sdxl"] = True
    # accelerate's own --mixed_precision applies when the script does not set one.
    acc_mp = f.extra.get("accelerate", {}).get("mixed_precision")
    if acc_mp and not f.has("mixed_precision"):
        f.inferred["mixed_precision"] = unquote(str(acc_mp))
    if f.extra["script"].startswith("sdxl_"):
        f.inferred["sdxl"] = True
    # Every argument of the run is on this command line, even when the paste around it
    # is an excerpt: what one argument stands in for when another is left out (the UNet
    # and text-encoder LRs for `--learning_rate`) is known.
    f.extra["whole_command"] = cmd is not None and cmd.whole and bool(cmd.script) and \
        not f.has("config_file") and f.extra.get("trainer") != "onetrainer"
    f.complete = f.extra["whole_command"] and not excerpt
    return f


def _arg_line(text: str, name: str, cmd) -> int | None:
    m = re.search(r"(?:^|[\s'\"])--" + re.escape(name) + r"\b", text)
    if m:
        return text.count("\n", 0, m.start()) + 1
    return cmd.line if cmd is not None else None


def _arg_pairs(tokens: list[str]) -> list[tuple[str, Any]]:
    pairs: list[tuple[str, Any]] = []
    i = 0
    while i < len(tokens):
        tok = tokens[i]
        if tok.startswith("--") and len(tok) > 2:
            name, eq, val = tok[2:].partition("=")
            if eq:
                pairs.append((name, val))
                i += 1
                continue
            values = []
            j = i + 1
            while j < len(tokens) and not tokens[j].startswith("--"):
                values.append(tokens[j])
                j += 1
            if not values:
                pairs.append((name, True))
            elif len(values) == 1 and name not in ("network_args", "optimizer_args"):
                pairs.append((name, values[0]))
            else:
                pairs.append((name, values))
            i = j
        else:
            i += 1
    return pairs


def _attach_config_file(inp: Input, path: str) -> None:
    """`--config_file x.toml` on the command line: read it too (the CLI wins)."""
    config_file = inp.facts.get("config_file")
    if not config_file:
        return
    cfg = _beside(path, str(config_file))
    tomllib = _tomllib()
    try:
        data = tomllib.loads(read_text(cfg))
    except (OSError, tomllib.TOMLDecodeError):
        return
    extra = sdscripts_facts(data)
    for key, value in extra.values.items():
        if not inp.facts.has(key):
            inp.facts.inferred[key] = value  # written by the user, in the config file
    inp.facts.complete = inp.facts.extra.get("trainer") != "onetrainer"


def _attach_dataset_toml(inp: Input, path: str) -> None:
    if not os.path.isfile(path):
        return
    child = Input(path, "dataset-toml")
    try:
        load(child, path)
    except ReadError as exc:
        child.error = message_of(exc)
    child.parent = inp
    inp.children.append(child)


# ---------------------------------------------------------------- dataset TOML

# sd-scripts library/config_util.py schema (FORMATS.md §4.2).
DATASET_LEVEL_KEYS = {"batch_size", "bucket_no_upscale", "bucket_reso_steps", "enable_bucket",
                      "max_bucket_reso", "min_bucket_reso", "resolution", "validation_seed",
                      "validation_split", "network_multiplier", "resize_interpolation",
                      "qwen_image_edit_no_resize_control", "debug_dataset"}
SUBSET_KEYS = {"color_aug", "face_crop_aug_range", "flip_aug", "num_repeats", "random_crop",
               "shuffle_caption", "keep_tokens", "keep_tokens_separator", "secondary_separator",
               "caption_separator", "enable_wildcard", "token_warmup_min", "token_warmup_step",
               "caption_prefix", "caption_suffix", "custom_attributes", "resize_interpolation",
               "caption_dropout_every_n_epochs", "caption_dropout_rate",
               "caption_tag_dropout_rate", "image_dir", "is_reg", "alpha_mask",
               "caption_extension", "class_tokens", "cache_info", "metadata_file",
               "conditioning_data_dir", "system_prompt"}
GENERAL_KEYS = DATASET_LEVEL_KEYS | SUBSET_KEYS


def dataset_toml_facts(data: dict[str, Any], text: str = "") -> ConfigFacts:
    """Facts from the first dataset (resolution, buckets, captions) + key problems."""
    f = ConfigFacts("dataset-toml", text)
    f.defaults.update({"caption_extension": ".caption", "bucket_reso_steps": 64,
                       "max_bucket_reso": 1024, "min_bucket_reso": 256})
    problems: list[tuple[str, int | None, str]] = []  # (dotted key, line, allowed level)
    general = data.get("general", {}) if isinstance(data.get("general"), dict) else {}
    for key in data:
        if key not in ("general", "datasets"):
            problems.append((key, key_line(text, key), "top level (only [general] and "
                                                        "[[datasets]])"))
    for key, value in general.items():
        if key not in GENERAL_KEYS:
            problems.append((f"general.{key}", key_line(text, key), "[general]"))
        else:
            _set_arg(f, key, value, ("general", key), key_line(text, key))
    datasets = data.get("datasets", [])
    subsets_all = []
    for i, ds in enumerate(datasets if isinstance(datasets, list) else []):
        if not isinstance(ds, dict):
            continue
        for key, value in ds.items():
            if key == "subsets":
                continue
            if key not in DATASET_LEVEL_KEYS and key not in SUBSET_KEYS:
                problems.append((f"datasets[{i}].{key}", key_line(text, key), "[[datasets]]"))
            elif i == 0:
                _set_arg(f, key, value, ("datasets", str(i), key), key_line(text, key))
        for j, sub in enumerate(ds.get("subsets", []) if isinstance(ds.get("subsets"), list)
                                else []):
            if not isinstance(sub, dict):
                continue
            subsets_all.append((i, j, sub))
            for key in sub:
                if key not in SUBSET_KEYS:
                    problems.append((f"datasets[{i}].subsets[{j}].{key}", key_line(text, key),
                                     "[[datasets.subsets]]"))
            if i == 0 and j == 0:
                for key, value in sub.items():
                    if key in SUBSET_KEYS and not f.has(key):
                        _set_arg(f, key, value, ("datasets", "0", "subsets", "0", key),
                                 key_line(text, key))
    f.extra["key_problems"] = problems
    f.extra["subsets"] = subsets_all
    f.extra["script"] = ""  # a dataset config names no script
    return f


# ---------------------------------------------------------------- datasets a config points at

def attach_dataset(inp: Input, path: str) -> None:
    """When the config's dataset folder exists here, check it too (as a child input)."""
    f = inp.facts
    if f is None:
        return
    targets: list[tuple[str, str | None, str]] = []
    if inp.kind == "dataset-toml":
        for _i, _j, sub in f.extra.get("subsets", []):
            if sub.get("image_dir"):
                targets.append((str(sub["image_dir"]), sub.get("caption_extension") or
                                f.get("caption_extension"), "flat"))
    elif inp.kind == "aitoolkit":
        targets += [(folder, ext, "flat") for folder, ext in f.extra.get("dataset_folders", [])]
    elif f.get("train_data_dir") and not f.get("dataset_config"):
        layout = "auto" if inp.kind == "loratui" else "kohya"
        targets.append((str(f.get("train_data_dir")), f.get("caption_extension"), layout))
    seen = set()
    for value, ext, layout in targets[:8]:
        p = _beside(path, value.strip().strip("\"'"))
        if not os.path.isdir(p) or p in seen:
            continue
        seen.add(p)
        from loratui.doctor.inputs.dataset import load_dataset

        child = Input(p, "dataset")
        child.data = load_dataset(p, caption_extension=ext, layout=layout)
        child.parent = inp
        child.data.config = f  # the config's facts, for cross-checks (trigger word, C01)
        inp.children.append(child)

"""Import kohya_ss GUI JSON and sd-scripts TOML configs; export sd-scripts TOML.

The key table below is data: (kohya key, loratui dotted key, converter). Keys with no
equivalent are returned in `ImportResult.unmapped`, never dropped silently.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from loratui.i18n import N_, Message, message_of
from loratui.userfiles import short_repr

from .model import RunConfig


def _empty(v: Any) -> bool:
    return v is None or (isinstance(v, str) and v.strip() in ("", "None"))


def _num(v: Any) -> float:
    if isinstance(v, bool):
        raise ValueError(Message(N_("expected a number, got {value}"), value=repr(v)))
    try:
        return float(v.strip()) if isinstance(v, str) else float(v)
    except (ValueError, TypeError):
        raise ValueError(Message(N_("expected a number, got {value}"), value=_short(v))) from None


def _int(v: Any) -> int:
    f = _num(v)
    if not f.is_integer():
        raise ValueError(Message(N_("expected a whole number, got {value}"), value=repr(v)))
    return int(f)


def _bool(v: Any) -> bool:
    if isinstance(v, str):
        low = v.strip().lower()
        if low in ("true", "1", "yes", "on"):
            return True
        if low in ("false", "0", "no", "off", ""):
            return False
        raise ValueError(Message(N_("expected true/false, got {value}"), value=repr(v)))
    return bool(v)


def _str(v: Any) -> str:
    return str(v).strip()


def _path(v: Any) -> str:
    return str(v).strip().strip('"')


def _precision(v: Any) -> str:
    low = _str(v).lower()
    return {"fp32": "no", "float": "no", "float32": "no", "none": "no"}.get(low, low)


def _ext(v: Any) -> str:
    s = _str(v)
    return s if s.startswith(".") else "." + s


OPTIMIZERS = {"adamw": "AdamW", "adamw8bit": "AdamW8bit", "lion": "Lion", "prodigy": "Prodigy",
              "sgdnesterov": "SGD", "sgd": "SGD", "sgdnesterov8bit": "SGD"}


def _optimizer(v: Any) -> str:
    name = _str(v)
    mapped = OPTIMIZERS.get(name.lower().replace("_", "").replace("torch.optim.", ""))
    if mapped is None:
        raise ValueError(f"optimizer {name!r} is not supported by loratui "
                         f"(supported: {', '.join(sorted(set(OPTIMIZERS.values())))})")
    return mapped


def _log_with(v: Any) -> str:
    name = _str(v).lower()
    if name not in ("tensorboard", "wandb", "all"):
        raise ValueError(f"tracker {name!r} is not one loratui writes (tensorboard, wandb, all)")
    return name


# (kohya key, loratui key, converter). GUI JSON and sd-scripts TOML share most names.
KEYMAP: list[tuple[str, str, Callable[[Any], Any]]] = [
    ("pretrained_model_name_or_path", "model.base", _path),
    ("v_parameterization", "model.v_prediction", _bool),
    ("train_data_dir", "dataset.dir", _path),
    ("reg_data_dir", "dataset.reg_dir", _path),
    ("prior_loss_weight", "dataset.prior_loss_weight", _num),
    ("enable_bucket", "dataset.bucketing", _bool),
    ("caption_extension", "dataset.caption_extension", _ext),
    ("shuffle_caption", "dataset.shuffle_captions", _bool),
    ("keep_tokens", "dataset.keep_tokens", _int),
    ("caption_dropout_rate", "dataset.caption_dropout", _num),
    ("network_dim", "network.rank", _int),
    ("network_alpha", "network.alpha", _num),
    ("network_dropout", "network.dropout", _num),
    ("unet_lr", "optimizer.unet_lr", _num),
    ("text_encoder_lr", "optimizer.text_encoder_lr", _num),
    ("optimizer", "optimizer.name", _optimizer),
    ("optimizer_type", "optimizer.name", _optimizer),
    ("lr_scheduler", "optimizer.scheduler", _str),
    ("lr_warmup_steps", "optimizer.warmup_steps", _int),
    ("max_grad_norm", "optimizer.max_grad_norm", _num),
    ("train_batch_size", "training.batch_size", _int),
    ("gradient_accumulation_steps", "training.gradient_accumulation", _int),
    ("epoch", "training.epochs", _int),
    ("max_train_epochs", "training.epochs", _int),
    ("max_train_steps", "training.max_steps", _int),
    ("mixed_precision", "training.mixed_precision", _precision),
    ("gradient_checkpointing", "training.gradient_checkpointing", _bool),
    ("no_half_vae", "training.no_half_vae", _bool),
    ("cache_latents", "training.cache_latents", _bool),
    ("seed", "training.seed", _int),
    ("noise_offset", "training.noise_offset", _num),
    ("save_every_n_epochs", "training.save_every_n_epochs", _int),
    ("output_dir", "output.dir", _path),
    ("output_name", "output.name", _str),
    ("save_precision", "output.save_precision", _precision),
    ("sample_every_n_epochs", "sample.every_n_epochs", _int),
    ("log_with", "training.log_with", _log_with),
]
_BY_KEY: dict[str, list[tuple[str, Callable[[Any], Any]]]] = {}
for _k, _dst, _conv in KEYMAP:
    _BY_KEY.setdefault(_k, []).append((_dst, _conv))

# Keys handled by dedicated code below (not "unmapped").
SPECIAL = {"learning_rate", "max_resolution", "resolution", "xformers", "sdpa", "mem_eff_attn",
           "network_train_unet_only", "network_train_text_encoder_only", "v2", "sdxl",
           "LoRA_type", "network_module", "lr_warmup", "sample_prompts", "dataset_config"}


@dataclass
class ImportResult:
    config: RunConfig
    source: Path
    unmapped: dict[str, Any] = field(default_factory=dict)  # key -> value, no loratui equivalent
    notes: list[str] = field(default_factory=list)  # conversions a user should know about
    errors: list[str] = field(default_factory=list)  # values that could not be converted


def _set(data: dict[str, Any], dotted: str, value: Any) -> None:
    section, _, key = dotted.rpartition(".")
    node = data
    for part in section.split("."):
        node = node.setdefault(part, {})
    node[key] = value


def _parse_resolution(v: Any) -> tuple[int, int]:
    if isinstance(v, (list, tuple)):
        nums = [_int(x) for x in v]
    else:
        nums = [_int(x) for x in re.split(r"[,x×\s]+", _str(v)) if x]
    if len(nums) == 1:
        return nums[0], nums[0]
    if len(nums) == 2:
        return nums[0], nums[1]
    raise ValueError(f"cannot read resolution {v!r}")


# In the kohya_ss GUI a 0 in these fields means "not set" (the GUI omits the argument).
GUI_ZERO_IS_UNSET = ("unet_lr", "text_encoder_lr", "epoch", "max_train_epochs", "max_train_steps")


def _map_flat(flat: dict[str, Any], source: Path, *, gui: bool = False) -> ImportResult:
    if gui:
        flat = {k: ("" if k in GUI_ZERO_IS_UNSET and _is_zero(v) else v) for k, v in flat.items()}
    data: dict[str, Any] = {}
    result = ImportResult(RunConfig(), source)

    def convert(key: str, value: Any, dst: str, conv: Callable[[Any], Any]) -> None:
        try:
            _set(data, dst, conv(value))
        except (ValueError, TypeError, OverflowError) as exc:
            result.errors.append(_problem(key, value, exc))

    for key, value in flat.items():
        if key in _BY_KEY:
            if _empty(value):
                continue
            for dst, conv in _BY_KEY[key]:
                convert(key, value, dst, conv)
        elif key not in SPECIAL:
            result.unmapped[key] = value

    # learning_rate is kohya's fallback for unet_lr (and text_encoder_lr when that is unset).
    if not _empty(flat.get("learning_rate")):
        if _empty(flat.get("unet_lr")):
            convert("learning_rate", flat["learning_rate"], "optimizer.unet_lr", _num)
        if _empty(flat.get("text_encoder_lr")):
            convert("learning_rate", flat["learning_rate"], "optimizer.text_encoder_lr", _num)
            result.notes.append(Message(N_(
                "text_encoder_lr was empty: kohya trains the text encoder at learning_rate, "
                "so loratui does too (P9: the guide uses 5e-6 for the text encoder)")))
    res_value = flat.get("max_resolution", flat.get("resolution"))
    if not _empty(res_value):
        try:
            w, h = _parse_resolution(res_value)
            side = w if w == h else int(round(math.sqrt(w * h) / 8) * 8)
            _set(data, "dataset.resolution", side)
            if w != h:
                _set(data, "dataset.bucketing", True)
                result.notes.append(Message(N_(
                    "resolution {w}x{h} is not square: loratui uses {side} px (the same area) "
                    "with aspect-ratio buckets"), w=w, h=h, side=side))
        except (ValueError, TypeError, OverflowError) as exc:
            result.errors.append(_problem("max_resolution", res_value, exc))
    xf = flat.get("xformers")
    if isinstance(xf, str) and xf.strip().lower() in ("xformers", "sdpa"):
        _set(data, "training.attention", xf.strip().lower())
    elif xf is True or (isinstance(xf, str) and xf.strip().lower() == "true"):
        _set(data, "training.attention", "xformers")
    elif _bool_safe(flat.get("sdpa")) or _bool_safe(flat.get("mem_eff_attn")):
        _set(data, "training.attention", "sdpa")
    if _bool_safe(flat.get("network_train_unet_only")):
        _set(data, "network.train_text_encoder", False)
    if _bool_safe(flat.get("sdxl")):
        _set(data, "model.family", "sdxl")
    elif _bool_safe(flat.get("v2")):
        _set(data, "model.family", "sd2")
    lora_type = _str(flat.get("LoRA_type", "Standard") or "Standard")
    module = _str(flat.get("network_module", "networks.lora") or "networks.lora")
    if lora_type != "Standard" or module != "networks.lora":
        result.notes.append(Message(N_(
            "network type {kind} is not a plain LoRA: loratui trains standard LoRA "
            "(kohya networks.lora) only"),
            kind=lora_type if lora_type != "Standard" else repr(module)))
        result.unmapped["LoRA_type" if "LoRA_type" in flat else "network_module"] = \
            flat.get("LoRA_type", module)
    if not _empty(flat.get("lr_warmup")):
        try:
            pct = _num(flat["lr_warmup"])
            if pct > 0:
                result.notes.append(Message(N_(
                    "lr_warmup is {pct} of the steps in the kohya GUI: set "
                    "optimizer.warmup_steps once the step count is known"), pct=f"{pct:g}%"))
                result.unmapped["lr_warmup"] = flat["lr_warmup"]
        except (ValueError, TypeError, OverflowError):
            result.errors.append(_problem("lr_warmup", flat["lr_warmup"],
                                          ValueError(Message(N_("not a number")))))
    prompts = flat.get("sample_prompts")
    if isinstance(prompts, str) and prompts.strip():
        if "\n" in prompts or not prompts.strip().endswith(".txt"):
            lines = [p.split(" --")[0].strip() for p in prompts.splitlines()]
            _set(data, "sample.prompts", [p for p in lines if p])
        else:
            result.unmapped["sample_prompts"] = prompts
    if _empty(flat.get("caption_extension")) and "caption_extension" in flat:
        _set(data, "dataset.caption_extension", ".caption")
        result.notes.append(Message(N_(
            "caption_extension is empty: sd-scripts then looks for `.caption` files, "
            "not `.txt` (C01)")))
    if not _empty(flat.get("dataset_config")):
        result.unmapped["dataset_config"] = flat["dataset_config"]
        result.notes.append(Message(N_("dataset_config is set: import it too with --dataset")))

    from .io import ConfigError, parse_config

    try:
        result.config = parse_config(data, source)
    except ConfigError as exc:
        # Keep what is valid: drop offending keys one by one, report each.
        result.errors.extend(exc.problems)
        result.config = _best_effort(data)
    return result


def _problem(key: str, value: Any, exc: Exception) -> Message:
    """"`key` = value: what is wrong", the reason localized when it is a Message."""
    return Message(N_("`{key}` = {value}: {problem}"), key=key, value=_short(value),
                   problem=message_of(exc))


def _short(value: Any) -> str:
    return short_repr(value)


def _is_zero(v: Any) -> bool:
    try:
        return not _empty(v) and _num(v) == 0
    except (ValueError, TypeError, OverflowError):
        return False


def _bool_safe(v: Any) -> bool:
    try:
        return _bool(v) if v is not None else False
    except ValueError:
        return False


def _best_effort(data: dict[str, Any]) -> RunConfig:
    """`data` validated, dropping each field the model rejects (already reported)."""
    from pydantic import ValidationError

    for _ in range(64):
        try:
            return RunConfig.model_validate(data)
        except ValidationError as err:
            for e in err.errors():
                node = data
                loc = [str(p) for p in e["loc"]]
                for part in loc[:-1]:
                    node = node.get(part, {}) if isinstance(node, dict) else {}
                if isinstance(node, dict):
                    node.pop(loc[-1], None)
    return RunConfig()


def _flatten_sdscripts(doc: dict[str, Any]) -> dict[str, Any]:
    """sd-scripts reads `--config_file` TOML sections as one flat namespace."""
    flat: dict[str, Any] = {}
    for key, value in doc.items():
        if isinstance(value, dict):
            flat.update(_flatten_sdscripts(value))
        else:
            flat[key] = value
    return flat


def import_kohya_json(path: Path | str) -> ImportResult:
    path = Path(path)
    raw = _read(path, Message(N_("kohya_ss JSON config")), is_json=True)
    if not isinstance(raw, dict):
        from .io import ConfigError

        raise ConfigError(path, ["a kohya_ss config is a JSON object ({...})"])
    return _map_flat(raw, path, gui=True)


def import_sdscripts_toml(path: Path | str, dataset: Path | str | None = None) -> ImportResult:
    path = Path(path)
    doc = _read(path, Message(N_("sd-scripts TOML config")))
    if "datasets" in doc and dataset is None:
        # It is a dataset config on its own.
        return import_dataset_toml(path)
    result = _map_flat(_flatten_sdscripts(doc), path)
    if dataset is not None:
        merge_dataset(result, import_dataset_toml(dataset))
    return result


# sd-scripts dataset TOML: [general], [[datasets]], [[datasets.subsets]].
DATASET_KEYS = {
    "resolution": None, "batch_size": "training.batch_size", "enable_bucket": "dataset.bucketing",
    "keep_tokens": "dataset.keep_tokens", "shuffle_caption": "dataset.shuffle_captions",
    "caption_extension": "dataset.caption_extension",
    "caption_dropout_rate": "dataset.caption_dropout",
}


def import_dataset_toml(path: Path | str) -> ImportResult:
    from .io import ConfigError

    path = Path(path)
    doc = _read(path, Message(N_("dataset TOML")))
    general = _table_of(path, doc, "general", dict, "a [general] table")
    flat: dict[str, Any] = dict(general or {})
    unmapped: dict[str, Any] = {}
    notes: list[str] = []
    datasets = _table_of(path, doc, "datasets", list, "a list of [[datasets]] tables")
    if not datasets:
        raise ConfigError(path, ["no [[datasets]] table found (sd-scripts' dataset config "
                                 "has [general] and [[datasets]] with [[datasets.subsets]])"],
                          unreadable=True)
    if len(datasets) > 1:
        notes.append(Message.ngettext(
            "{n} dataset: loratui imports the first; the others are listed",
            "{n} datasets: loratui imports the first; the others are listed", len(datasets)))
        unmapped["datasets[1:]"] = datasets[1:]
    ds = _item_of(path, datasets, "datasets", "a [[datasets]] table")
    subsets = _table_of(path, ds, "subsets", list, "a list of [[datasets.subsets]] tables",
                        where="datasets[0].") or []
    subsets = [_item_of(path, subsets, f"datasets[0].subsets[{i}]", "a [[datasets.subsets]] "
                        "table", index=i) for i in range(len(subsets))]
    for key, value in ds.items():
        if key != "subsets":
            flat[key] = value
    train = [s for s in subsets if not s.get("is_reg")]
    reg = [s for s in subsets if s.get("is_reg")]
    data_keys: dict[str, Any] = {}
    for i, sub in enumerate(subsets):
        for key, value in sub.items():
            if key in ("image_dir", "is_reg", "num_repeats"):
                continue
            if key in DATASET_KEYS:
                flat.setdefault(key, value)
            else:
                unmapped[f"datasets[0].subsets[{i}].{key}"] = value
    if train:
        dirs = [Path(_path(s.get("image_dir", ""))) for s in train if s.get("image_dir")]
        if len(dirs) == 1:
            data_keys["train_data_dir"] = str(dirs[0])
            if "num_repeats" in train[0]:
                flat["__repeats"] = train[0]["num_repeats"]
        elif dirs:
            parents = {d.parent for d in dirs}
            data_keys["train_data_dir"] = str(dirs[0].parent if len(parents) == 1 else dirs[0])
            notes.append(Message.ngettext(
                "{n} training subset: loratui reads one folder ({folder}); name subfolders "
                "`N_name` so each keeps its repeat count",
                "{n} training subsets: loratui reads one folder ({folder}); name subfolders "
                "`N_name` so each keeps its repeat count", len(dirs),
                folder=data_keys["train_data_dir"]))
    if reg:
        data_keys["reg_data_dir"] = _path(reg[0].get("image_dir", ""))
    mapped_flat = {k: v for k, v in flat.items() if k in DATASET_KEYS or k == "__repeats"}
    for k, v in flat.items():
        if k not in DATASET_KEYS and k != "__repeats":
            unmapped[k] = v
    renamed = {{"batch_size": "train_batch_size"}.get(k, k): v for k, v in mapped_flat.items()
               if k != "__repeats"}
    result = _map_flat({**renamed, **data_keys}, path)
    if "__repeats" in mapped_flat:
        try:
            cfg = result.config.model_dump()
            cfg["dataset"]["repeats"] = _int(mapped_flat["__repeats"])
            result.config = RunConfig.model_validate(cfg)
        except (ValueError, TypeError, OverflowError) as exc:
            result.errors.append(f"`num_repeats`: {exc}")
    result.unmapped.update(unmapped)
    result.notes.extend(notes)
    return result


def _read(path: Path, what: str, *, is_json: bool = False) -> Any:
    """Parse a kohya JSON or sd-scripts TOML; any failure is a ConfigError naming the file."""
    from loratui.userfiles import UserFileError, loads_json, loads_toml, read_text

    from .io import ConfigError

    try:
        text = read_text(path)
        return loads_json(text, path) if is_json else loads_toml(text, path)
    except UserFileError as exc:
        raise ConfigError(path, [Message(N_("not a readable {what}: {problem}"), what=what,
                                         problem=exc.detail)], unreadable=True) \
            from None


def _table_of(path: Path, doc: dict[str, Any], key: str, kind: type, expected: str, *,
              where: str = "") -> Any:
    """`doc[key]` when it has the type sd-scripts expects; None when absent."""
    from .io import ConfigError

    value = doc.get(key)
    if value is None or isinstance(value, kind):
        return value
    raise ConfigError(path, [f"`{where}{key}` is {_a(value)}; sd-scripts expects {expected}"],
                      unreadable=True)


def _item_of(path: Path, items: list[Any], name: str, expected: str, index: int = 0) -> Any:
    from .io import ConfigError

    item = items[index]
    if isinstance(item, dict):
        return item
    where = name if name.endswith("]") else f"{name}[{index}]"
    raise ConfigError(path, [f"`{where}` is {_a(item)}; sd-scripts expects {expected}"],
                      unreadable=True)


def _a(value: Any) -> str:
    """"a string (\"x\")", "a number (5)": what a wrong value is, for a message."""
    kind = {str: "a string", bool: "true/false", int: "a number", float: "a number",
            list: "a list", dict: "a table"}.get(type(value), type(value).__name__)
    text = repr(value)
    return f"{kind} ({text[:40] + '…' if len(text) > 40 else text})"


def merge_dataset(main: ImportResult, ds: ImportResult) -> None:
    """Overlay the dataset-config values onto an imported training config."""
    base = main.config.model_dump()
    default = RunConfig().model_dump()
    over = ds.config.model_dump()
    for section in ("dataset",):
        for key, value in over[section].items():
            if value != default[section][key]:
                base[section][key] = value
    if over["training"]["batch_size"] != default["training"]["batch_size"]:
        base["training"]["batch_size"] = over["training"]["batch_size"]
    main.config = RunConfig.model_validate(base)
    main.unmapped.update({f"{ds.source.name}:{k}": v for k, v in ds.unmapped.items()})
    main.notes.extend(ds.notes)
    main.errors.extend(ds.errors)
    main.unmapped.pop("dataset_config", None)


def import_config(path: Path | str, dataset: Path | str | None = None) -> ImportResult:
    """Import by extension: `.json` = kohya_ss GUI, `.toml` = sd-scripts (or dataset) TOML."""
    path = Path(path)
    try:
        if path.suffix.lower() == ".json":
            result = import_kohya_json(path)
            if dataset is not None:
                merge_dataset(result, import_dataset_toml(dataset))
            return result
        return import_sdscripts_toml(path, dataset)
    except RecursionError:   # tables nested thousands deep, past what the parser refused
        from loratui.userfiles import too_deep

        from .io import ConfigError

        raise ConfigError(path, [too_deep(path).problem], unreadable=True) from None


# ---------------------------------------------------------------- export

def export_sdscripts(cfg: RunConfig) -> tuple[str, str]:
    """(config TOML, dataset TOML) for `train_network.py --config_file ... --dataset_config ...`."""
    import tomlkit

    alpha = cfg.network.effective_alpha
    conf: dict[str, Any] = {
        "pretrained_model_name_or_path": cfg.model.base,
        "v2": cfg.model.family == "sd2",
        "v_parameterization": cfg.model.v_prediction,
        "network_module": "networks.lora",
        "network_dim": cfg.network.rank,
        "network_alpha": int(alpha) if float(alpha).is_integer() else alpha,
        "unet_lr": cfg.optimizer.unet_lr,
        "text_encoder_lr": cfg.optimizer.text_encoder_lr,
        "network_train_unet_only": not cfg.network.train_text_encoder
        or cfg.optimizer.text_encoder_lr == 0,
        "optimizer_type": cfg.optimizer.name,
        "lr_scheduler": cfg.optimizer.scheduler,
        "lr_warmup_steps": cfg.optimizer.warmup_steps,
        "max_grad_norm": cfg.optimizer.max_grad_norm,
        "gradient_accumulation_steps": cfg.training.gradient_accumulation,
        "max_train_epochs": cfg.training.epochs,
        "mixed_precision": cfg.training.mixed_precision,
        "gradient_checkpointing": cfg.training.gradient_checkpointing,
        "no_half_vae": cfg.training.no_half_vae,
        "cache_latents": cfg.training.cache_latents,
        "seed": cfg.training.seed,
        "noise_offset": cfg.training.noise_offset,
        "save_every_n_epochs": cfg.training.save_every_n_epochs,
        "output_dir": cfg.output.dir,
        "output_name": cfg.output.name,
        "save_precision": {"no": "float"}.get(cfg.output.save_precision,
                                              cfg.output.save_precision),
        "save_model_as": "safetensors",
        "prior_loss_weight": cfg.dataset.prior_loss_weight,
    }
    if cfg.training.max_steps:
        conf["max_train_steps"] = cfg.training.max_steps
    if cfg.training.attention in ("xformers", "sdpa"):
        conf[cfg.training.attention] = True
    if cfg.sample.every_n_epochs and cfg.sample.prompts:
        conf["sample_every_n_epochs"] = cfg.sample.every_n_epochs
    subset: dict[str, Any] = {
        "image_dir": cfg.dataset.dir,
        "num_repeats": cfg.dataset.repeats,
        "caption_extension": cfg.dataset.caption_extension,
        "shuffle_caption": cfg.dataset.shuffle_captions,
        "keep_tokens": cfg.dataset.keep_tokens,
        "caption_dropout_rate": cfg.dataset.caption_dropout,
    }
    if cfg.dataset.trigger_word:
        subset["class_tokens"] = cfg.dataset.trigger_word
    subsets = [subset]
    if cfg.dataset.reg_dir:
        subsets.append({"image_dir": cfg.dataset.reg_dir, "is_reg": True, "num_repeats": 1})
    dataset = {
        "general": {"enable_bucket": cfg.dataset.bucketing},
        "datasets": [{
            "resolution": cfg.dataset.resolution,
            "batch_size": cfg.training.batch_size,
            **({"min_bucket_reso": 256, "max_bucket_reso": max(1024, cfg.dataset.resolution),
                "bucket_reso_steps": 64} if cfg.dataset.bucketing else {}),
            "subsets": subsets,
        }],
    }
    head = "# sd-scripts config exported by loratui: train_network.py --config_file THIS " \
           "--dataset_config DATASET\n"
    return head + tomlkit.dumps(conf), "# sd-scripts dataset config exported by loratui\n" + \
        tomlkit.dumps(dataset)


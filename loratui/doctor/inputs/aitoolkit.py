"""ai-toolkit (ostris) training configs → `ConfigFacts`.

ai-toolkit reads a YAML (or JSON) job: `config.process` is a list of processes, and a
training one (`type: sd_trainer`, `ui_trainer`, ...) holds `network` (`linear` = rank,
`linear_alpha`), `train` (lr, steps, batch_size, optimizer, dtype, ...), `model`
(name_or_path, is_xl / arch, is_v_pred, quantize), `datasets` (folder_path, caption_ext,
resolution: a list of bucket sizes) and `save` (dtype, save_every). Each value is read
under its sd-scripts name, with its own key path and line, as written by the user; what the
file leaves out stays unknown (ai-toolkit's defaults are not sd-scripts').
PyYAML is imported only when a YAML file is read, and only `yaml.safe_load` is used.
"""

from __future__ import annotations

import re

from loratui.doctor.facts import ConfigFacts, to_bool, to_int
from loratui.doctor.inputs import ReadError
from loratui.i18n import N_, Message

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

TRAINER = "ai-toolkit"
# (section, key) → canonical key. Sections are those of one training process.
KEYS: dict[tuple[str, str], str] = {
    ("network", "linear"): "network_dim",
    ("network", "linear_alpha"): "network_alpha",
    ("network", "conv"): "conv_dim",
    ("network", "conv_alpha"): "conv_alpha",
    ("network", "dropout"): "network_dropout",
    ("train", "lr"): "learning_rate",
    ("train", "unet_lr"): "unet_lr",
    ("train", "text_encoder_lr"): "text_encoder_lr",
    ("train", "optimizer"): "optimizer_type",
    ("train", "batch_size"): "train_batch_size",
    ("train", "steps"): "max_train_steps",
    ("train", "gradient_accumulation_steps"): "gradient_accumulation_steps",
    ("train", "gradient_accumulation"): "gradient_accumulation_steps",
    ("train", "gradient_checkpointing"): "gradient_checkpointing",
    ("train", "train_text_encoder"): "train_text_encoder",
    ("train", "noise_offset"): "noise_offset",
    ("train", "min_snr_gamma"): "min_snr_gamma",
    ("train", "max_grad_norm"): "max_grad_norm",
    ("train", "lr_scheduler"): "lr_scheduler",
    ("train", "xformers"): "xformers",
    ("train", "sdp"): "sdpa",
    ("train", "dtype"): "mixed_precision",
    ("model", "name_or_path"): "pretrained_model_name_or_path",
    ("model", "is_xl"): "sdxl",
    ("model", "is_v2"): "v2",
    ("model", "is_v_pred"): "v_parameterization",
    ("save", "dtype"): "save_precision",
    ("save", "save_every"): "save_every_n_steps",
    ("dataset", "folder_path"): "train_data_dir",
    ("dataset", "caption_ext"): "caption_extension",
    ("dataset", "num_repeats"): "num_repeats",
    ("dataset", "caption_dropout_rate"): "caption_dropout_rate",
    ("dataset", "shuffle_tokens"): "shuffle_caption",
    ("dataset", "cache_latents_to_disk"): "cache_latents_to_disk",
    ("dataset", "cache_latents"): "cache_latents",
    ("dataset", "flip_x"): "flip_aug",
    ("process", "training_folder"): "output_dir",
    ("process", "trigger_word"): "trigger_word",
}
DTYPES = {"bf16": "bf16", "bfloat16": "bf16", "fp16": "fp16", "float16": "fp16",
          "half": "fp16", "fp32": "no", "float32": "no", "float": "no", "full": "no"}
SAVE_DTYPES = {"bf16": "bf16", "bfloat16": "bf16", "fp16": "fp16", "float16": "fp16",
               "fp32": "float", "float32": "float", "float": "float"}


def is_aitoolkit(data: Any) -> bool:
    """Whether parsed YAML / JSON is an ai-toolkit job (`config: process: [...]`)."""
    cfg = data.get("config") if isinstance(data, dict) else None
    return isinstance(cfg, dict) and isinstance(cfg.get("process"), list)


def looks_like_aitoolkit(text: str) -> bool:
    """The same from the text alone (detection reads only the file's head)."""
    return bool(re.search(r"^config\s*:", text, re.M) and
                re.search(r"^[ \t]+process\s*:", text, re.M) and
                re.search(r"^[ \t]+-[ \t]+type\s*:", text, re.M))


def parse(text: str) -> dict:
    """The job as data: YAML through `yaml.safe_load` (JSON is YAML too)."""
    stripped = text.lstrip()
    if stripped.startswith("{"):
        import json

        try:
            data = json.loads(text)
        except ValueError as exc:
            raise ReadError(Message(N_("not valid JSON: {error}"), error=str(exc))) from None
    else:
        import yaml

        try:
            data = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            raise ReadError(Message(N_("not valid YAML: {error}"),
                                    error=" ".join(str(exc).split()))) from None
    if not is_aitoolkit(data):
        raise ReadError(Message(N_("not an ai-toolkit job: no `config: process:` list in it")))
    return data


def _training_process(data: dict) -> tuple[int, dict]:
    procs = data["config"]["process"]
    for i, proc in enumerate(procs):
        if isinstance(proc, dict) and ("trainer" in str(proc.get("type", "")) or
                                       ("train" in proc and "network" in proc)):
            return i, proc
    for i, proc in enumerate(procs):
        if isinstance(proc, dict):
            return i, proc
    raise ReadError(Message(N_("the ai-toolkit job has no training process under "
                               "`config: process:`")))


def yaml_line(text: str, path: tuple[str, ...]) -> int | None:
    """Line (1-based) of the last key of `path`, looked up key by key down the file."""
    pos = 0
    found = None
    for part in path:
        if part.isdigit():
            continue
        m = re.compile(r'^[ \t]*(?:-[ \t]+)?["\']?' + re.escape(part) + r'["\']?[ \t]*:',
                       re.M).search(text, pos)
        if m is None:
            return found
        found = text.count("\n", 0, m.start()) + 1
        pos = m.end()
    return found


def _value(canon: str, value: Any) -> Any:
    from loratui.doctor.inputs.configs import coerce

    if canon == "mixed_precision":
        return DTYPES.get(str(value).lower(), str(value))
    if canon == "save_precision":
        return SAVE_DTYPES.get(str(value).lower(), str(value))
    if canon == "caption_extension" and isinstance(value, str) and value and \
            not value.startswith("."):
        return "." + value  # ai-toolkit writes `txt`
    if canon == "save_every_n_steps":
        return to_int(value)
    return coerce(canon, value)


def aitoolkit_facts(data: dict, text: str = "") -> ConfigFacts:
    f = ConfigFacts("aitoolkit", text)
    f.trainer = TRAINER
    f.extra["trainer"] = "ai-toolkit"
    f.extra["script"] = "ai-toolkit"
    f.complete = False  # ai-toolkit's defaults are its own: what is left out is unknown
    index, proc = _training_process(data)
    base = ("config", "process", str(index))

    def put(canon: str, value: Any, path: tuple[str, ...]) -> None:
        if value is None or canon in f.values:
            return
        f.set(canon, _value(canon, value), path, value, yaml_line(text, base + path)
              if text else None)

    for section in ("network", "train", "model", "save"):
        table = proc.get(section)
        if not isinstance(table, dict):
            continue
        for key, value in table.items():
            canon = KEYS.get((section, key))
            if canon is not None and not isinstance(value, dict):
                put(canon, value, (section, key))
    for key in ("training_folder", "trigger_word"):
        if key in proc:
            put(KEYS[("process", key)], proc[key], (key,))
    name = data["config"].get("name")
    if isinstance(name, str) and name.strip():
        f.set("output_name", name, ("config", "name"), name,
              yaml_line(text, ("config", "name")) if text else None)
    lr = f.values.get("learning_rate")
    if lr is not None:  # ai-toolkit: unet_lr and text_encoder_lr default to train.lr
        if "unet_lr" not in f.values:
            f.inferred["unet_lr"] = lr
        # whether the text encoder trains by default changed between versions: only a
        # job that says it does has a text-encoder LR
        if "text_encoder_lr" not in f.values and f.values.get("train_text_encoder"):
            f.inferred["text_encoder_lr"] = lr
    _datasets(f, proc, put)
    _model(f, proc)
    return f


def _datasets(f: ConfigFacts, proc: dict, put) -> None:
    sets = proc.get("datasets")
    if not isinstance(sets, list):
        return
    folders = []
    for i, ds in enumerate(sets):
        if not isinstance(ds, dict):
            continue
        if ds.get("folder_path"):
            folders.append((str(ds["folder_path"]), _value("caption_extension",
                                                           ds.get("caption_ext", "txt"))))
        if i:
            continue  # the first dataset stands for the run in the config rules
        for key, value in ds.items():
            canon = KEYS.get(("dataset", key))
            if canon is not None:
                put(canon, value, ("datasets", str(i), key))
        res = ds.get("resolution")
        sizes = [to_int(r) for r in (res if isinstance(res, list) else [res])]
        sizes = [s for s in sizes if s]
        if sizes:  # ai-toolkit buckets at every size listed: the largest is the area
            top = max(sizes)
            f.set("resolution", (top, top), ("datasets", str(i), "resolution"), res,
                  yaml_line(f.text, ("datasets", "resolution")) if f.text else None)
            f.extra["resolutions"] = sizes
    if folders:
        f.inferred["enable_bucket"] = True  # ai-toolkit always buckets
        f.extra["dataset_folders"] = folders


def _model(f: ConfigFacts, proc: dict) -> None:
    model = proc.get("model") if isinstance(proc.get("model"), dict) else {}
    arch = str(model.get("arch") or "").lower()
    if arch == "sdxl" or (arch.startswith("sdxl") and not f.has("sdxl")):
        f.inferred["sdxl"] = True
    elif arch in ("sd1", "sd15", "sd1.5"):
        f.inferred["family"] = "sd15"
    elif arch == "sd2":
        f.inferred["v2"] = True
    others = [k[3:] for k in model if k.startswith("is_") and k not in ("is_xl", "is_v2",
                                                                            "is_v_pred")
              and to_bool(model.get(k))]
    if arch and arch not in ("sdxl", "sd1", "sd15", "sd1.5", "sd2"):
        others.append(arch)
    if others:  # Flux, SD3, Wan, ...: not a family the SD rules know
        f.extra["model_arch"] = others[0]
    noise = (proc.get("train") or {}).get("noise_scheduler") if isinstance(
        proc.get("train"), dict) else None
    if noise:
        f.extra["noise_scheduler"] = str(noise)
    if model.get("quantize") is not None:
        f.extra["quantize"] = to_bool(model.get("quantize"))
    net = proc.get("network") if isinstance(proc.get("network"), dict) else {}
    if net.get("type"):
        f.set("lora_type", str(net["type"]).lower(), ("network", "type"), net["type"],
              yaml_line(f.text, ("network", "type")) if f.text else None)

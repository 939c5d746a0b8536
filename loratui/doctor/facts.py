"""Training-config facts in one vocabulary, whatever file they came from.

Every config source (loratui.toml, kohya_ss GUI JSON, sd-scripts config TOML, a pasted
command line) is read into a `ConfigFacts`: canonical keys (sd-scripts argument names,
the ecosystem's lingua franca) → values, plus where each key lives in the source file
(its own key path and line) so findings point there and `--fix` can write there.

Every fact has a provenance (`origin(key)`):
- "user": written in the source (a config key, a command-line argument, a value the
  trainer printed in a pasted log);
- "inferred": worked out from what was written (SDXL from the script's name, accelerate's
  `--mixed_precision` standing in for the script's);
- "default": left out of a *complete* source (a whole config file, a whole command), so
  the trainer uses its default (`defaults`); rules say so ("not set; sd-scripts then
  uses 1");
- "unknown": left out of an excerpt (`complete = False`: a trimmed paste, a command whose
  settings live in a `--config_file` we do not have). Defaults are never filled in there.
"""

from __future__ import annotations

import re

from loratui.doctor.util import LazyRe

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

ADAPTIVE_OPTIMIZERS = ("prodigy", "dadapt", "dadaptation", "adafactor_relative")
EIGHT_BIT_OPTIMIZERS = ("adamw8bit", "lion8bit", "pagedadamw8bit", "pagedlion8bit",
                        "sgdnesterov8bit", "adam8bit")
# kohya_ss LoRA_type / network algorithms whose `network_dim` is not a low-rank size
# in the guide's sense (LoKr's 100000 "full dimension" convention, iA3 has no rank).
RANKLESS_ALGOS = ("lokr", "ia3", "glora", "oft", "boft", "diag-oft", "full", "native fine-tuning",
                  "diag_oft")

SDXL_NAME_HINTS = LazyRe(
    r"sd_?xl|xl[_-]?base|sdxl|pony|illustrious|noob|animagine|juggernautxl|realvisxl|"
    r"playground[-_]?v2|xl[-_]v\d|_xl\b|\bxl\b", re.I)
SD15_NAME_HINTS = LazyRe(r"v1[-_.]?5|sd[-_]?1[-_.]?5|sd15|1\.5|stable-diffusion-v1|"
                             r"v1-5-pruned|anything[-_]?v[345]|counterfeit|chilloutmix", re.I)
SD2_NAME_HINTS = LazyRe(r"v2[-_.]?[01]|sd[-_]?2[-_.]?[01]|stable-diffusion-2|768-v", re.I)
VPRED_NAME_HINTS = LazyRe(r"v[-_]?pred|vpred|768-v|v_prediction|ztsnr", re.I)
# SDXL bases released as epsilon (noise) prediction: their names say so.
EPS_NAME_HINTS = LazyRe(r"eps(?:ilon)?[-_]?pred|illustrious|pony|animagine|sd_?xl_base|"
                        r"juggernaut|realvis", re.I)


class ConfigFacts:
    """Canonical training settings of one config source."""

    def __init__(self, kind: str, text: str = "") -> None:
        self.kind = kind
        self.text = text
        self.values: dict[str, Any] = {}
        self.keys: dict[str, tuple[str, ...]] = {}
        self.lines: dict[str, int] = {}
        self.defaults: dict[str, Any] = {}  # the trainer's defaults (complete sources)
        self.inferred: dict[str, Any] = {}  # worked out from what the source holds
        self.complete = True  # False for an excerpt: missing keys are unknown
        self.trainer = "sd-scripts"  # whose defaults `defaults` are, for messages
        self.raw: dict[str, Any] = {}  # source values as written (for type-keeping fixes)
        self.extra: dict[str, Any] = {}  # kind-specific extras (script name, accelerate args)

    def set(self, key: str, value: Any, source: tuple[str, ...] | None = None,
            raw: Any = None, line: int | None = None) -> None:
        self.values[key] = value
        if source is not None:
            self.keys[key] = source
            self.raw[key] = raw
        if line is not None:
            self.lines[key] = line

    def has(self, key: str) -> bool:
        return self.values.get(key) is not None

    def get(self, key: str, default: Any = None) -> Any:
        value = self.values.get(key)
        if value is None:
            value = self.inferred.get(key)
        if value is None and self.complete:
            value = self.defaults.get(key)
        return default if value is None else value

    def origin(self, key: str) -> str:
        """Where `get(key)` comes from: user / inferred / default / unknown."""
        if self.values.get(key) is not None:
            return "user"
        if self.inferred.get(key) is not None:
            return "inferred"
        if self.complete and self.defaults.get(key) is not None:
            return "default"
        return "unknown"

    def known(self, key: str) -> bool:
        """Whether `key`'s value (or its absence) is known: false for a key an excerpt
        leaves out, which rules must not read as "off"."""
        return self.complete or self.get(key) is not None

    def default_note(self, key: str):
        """"" for a value the user wrote; " (not set; sd-scripts then uses X)" (a Text) for
        a default."""
        if self.origin(key) != "default":
            return ""
        from loratui.doctor.registry import Text
        from loratui.i18n import N_

        value = self.defaults[key]
        if isinstance(value, float):
            value = f"{value:g}"
        return Text(N_(" (not set; {trainer} then uses {value})"), trainer=self.trainer,
                    value=str(value))

    def source_key(self, key: str) -> str:
        path = self.keys.get(key)
        if path:
            return ".".join(path)
        return LORATUI_KEYS.get(key, key) if self.kind == "loratui" else key

    def display_key(self, key: str) -> str:
        name = self.source_key(key)
        return f"--{name}" if self.kind == "cmdline" else name

    def line_of(self, key: str) -> int | None:
        return self.lines.get(key)

    def as_dict(self) -> dict[str, Any]:
        merged = dict(self.defaults) if self.complete else {}
        merged.update({k: v for k, v in self.inferred.items() if v is not None})
        merged.update({k: v for k, v in self.values.items() if v is not None})
        return merged


# loratui.toml key → canonical key.
LORATUI_MAP = {
    "model.base": "pretrained_model_name_or_path",
    "model.family": "family",
    "model.v_prediction": "v_parameterization",
    "model.vae": "vae",
    "model.zero_terminal_snr": "zero_terminal_snr",
    "dataset.dir": "train_data_dir",
    "dataset.reg_dir": "reg_data_dir",
    "dataset.prior_loss_weight": "prior_loss_weight",
    "dataset.resolution": "resolution",
    "dataset.bucketing": "enable_bucket",
    "dataset.caption_extension": "caption_extension",
    "dataset.trigger_word": "trigger_word",
    "dataset.shuffle_captions": "shuffle_caption",
    "dataset.keep_tokens": "keep_tokens",
    "dataset.caption_dropout": "caption_dropout_rate",
    "dataset.repeats": "num_repeats",
    "network.kind": "lora_kind",
    "network.rank": "network_dim",
    "network.alpha": "network_alpha",
    "network.train_text_encoder": "train_text_encoder",
    "network.dropout": "network_dropout",
    "optimizer.unet_lr": "unet_lr",
    "optimizer.text_encoder_lr": "text_encoder_lr",
    "optimizer.name": "optimizer_type",
    "optimizer.weight_decay": "weight_decay",
    "optimizer.scheduler": "lr_scheduler",
    "optimizer.warmup_steps": "lr_warmup_steps",
    "optimizer.max_grad_norm": "max_grad_norm",
    "training.batch_size": "train_batch_size",
    "training.gradient_accumulation": "gradient_accumulation_steps",
    "training.epochs": "max_train_epochs",
    "training.max_steps": "max_train_steps",
    "training.mixed_precision": "mixed_precision",
    "training.gradient_checkpointing": "gradient_checkpointing",
    "training.attention": "attention",
    "training.no_half_vae": "no_half_vae",
    "training.cache_latents": "cache_latents",
    "training.seed": "seed",
    "training.noise_offset": "noise_offset",
    "training.save_every_n_epochs": "save_every_n_epochs",
    "output.dir": "output_dir",
    "output.name": "output_name",
    "output.save_precision": "save_precision",
    "sample.prompts": "sample_prompt_list",
    "sample.every_n_epochs": "sample_every_n_epochs",
    "tricks.dynamic_weight.enabled": "dynamic_weight",
    "tricks.dynamic_weight.start_fraction": "dynamic_weight_start",
    "tricks.dynamic_weight.end_scale": "dynamic_weight_end",
    "tricks.label_pollution.enabled": "label_pollution",
    "tricks.label_pollution.probability": "label_pollution_probability",
    "tricks.label_pollution.tags": "label_pollution_tags",
}
LORATUI_KEYS = {v: k for k, v in LORATUI_MAP.items()}


# ---- value coercion: configs in the wild write numbers as strings, bools as "True" ----

def to_float(value: Any) -> float | None:
    if value is None or isinstance(value, bool):
        return None if value is None else float(value)
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, str):
        text = value.strip().strip("'\"")
        if not text or text.lower() in ("none", "null"):
            return None
        try:
            return float(text)
        except ValueError:
            return None
    return None


def to_int(value: Any) -> int | None:
    f = to_float(value)
    if f is None or f != f or f in (float("inf"), float("-inf")):
        return None
    return int(f)


def to_bool(value: Any) -> bool | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return value
    if isinstance(value, (int, float)):
        return value != 0
    if isinstance(value, str):
        text = value.strip().strip("'\"").lower()
        if text in ("true", "yes", "on", "1"):
            return True
        if text in ("false", "no", "off", "0", "", "none"):
            return False
    return None


def to_str(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, (list, tuple)):
        return " ".join(str(v) for v in value)
    text = str(value).strip()
    return text or None


def to_resolution(value: Any) -> tuple[int, int] | None:
    """512 / "512" / "512,650" / "512x768" / [512, 768] → (width, height)."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        if value != value or value in (float("inf"), float("-inf")):
            return None  # NaN / infinite: no size
        return (int(value), int(value)) if value > 0 else None
    if isinstance(value, (list, tuple)):
        nums = [to_int(v) for v in value]
        nums = [n for n in nums if n]
        if len(nums) == 1:
            return (nums[0], nums[0])
        if len(nums) >= 2:
            return (nums[0], nums[1])
        return None
    if isinstance(value, str):
        nums = [int(n) for n in re.findall(r"\d+", value)[:2]]
        nums = [n for n in nums if n > 0]
        if len(nums) == 1:
            return (nums[0], nums[0])
        if len(nums) == 2:
            return (nums[0], nums[1])
    return None


# ---- derived facts used by many rules ----

def family(f: ConfigFacts) -> str:
    """sd15 / sd2 / sdxl, from explicit flags, the script name, then the base model name;
    sd15 (kohya's default script) when the config does not say."""
    return shown_family(f) or "sd15"


def shown_family(f: ConfigFacts) -> str | None:
    """The family the config itself shows (explicit flag, script, the base model it names
    when that is on this machine, else its name), or None when nothing in it says."""
    explicit = f.get("family")
    if explicit in ("sd15", "sd2", "sdxl"):
        return explicit
    script = str(f.extra.get("script") or "")
    if f.get("sdxl") or script.startswith("sdxl_"):
        return "sdxl"
    if f.get("v2"):
        return "sd2"
    return f.extra.get("base_family") or \
        family_from_name(str(f.get("pretrained_model_name_or_path") or ""))


def file_name(path: str) -> str:
    """The last part of a Windows or POSIX path ("C:\\models\\x.ckpt" -> "x.ckpt")."""
    return path.replace("\\", "/").rsplit("/", 1)[-1]


def family_from_name(name: str) -> str | None:
    if not name:
        return None
    base = file_name(name) or name
    if SDXL_NAME_HINTS.search(base):
        return "sdxl"
    if SD15_NAME_HINTS.search(base):
        return "sd15"
    if SD2_NAME_HINTS.search(base):
        return "sd2"
    return None


def invalid(f: ConfigFacts, key: str) -> bool:
    """The source set `key` to a value no trainer accepts (reported once, by CF144)."""
    return any(bad.key == key for bad in f.extra.get("invalid", ()))


def unet_lr(f: ConfigFacts) -> float | None:
    if invalid(f, "unet_lr") or invalid(f, "learning_rate"):
        return None
    lr = to_float(f.get("unet_lr"))
    if (lr is None or lr == 0) and _falls_back(f, "unet_lr"):
        lr = to_float(f.get("learning_rate"))
    return lr


def _falls_back(f: ConfigFacts, key: str) -> bool:
    """`key` left out means `--learning_rate` applies: in a whole source, or on a whole
    command line (an excerpt may set it elsewhere)."""
    return f.known(key) or bool(f.extra.get("whole_command"))


# sd-scripts' full fine-tuning scripts that leave the text encoder frozen unless asked.
TE_ON_REQUEST_SCRIPTS = ("sdxl_train.py", "fine_tune.py")


def text_encoder_lr(f: ConfigFacts) -> float | None:
    """The effective text-encoder LR; 0 when the text encoder is not trained."""
    if f.get("network_train_unet_only") or f.get("train_text_encoder") is False:
        return 0.0
    script = str(f.extra.get("script", "")).replace("\\", "/").rsplit("/", 1)[-1]
    if script in TE_ON_REQUEST_SCRIPTS and not f.get("train_text_encoder"):
        return 0.0  # these fine-tune the text encoder only with --train_text_encoder
    if invalid(f, "text_encoder_lr") or invalid(f, "learning_rate"):
        return None
    lr = to_float(f.get("text_encoder_lr"))
    if lr is None and _falls_back(f, "text_encoder_lr"):
        lr = to_float(f.get("learning_rate"))
    return lr


def optimizer(f: ConfigFacts) -> str:
    return str(f.get("optimizer_type") or "AdamW")


def is_adaptive(name: str) -> bool:
    low = name.lower().replace("_", "").replace(".", "")
    return any(low.startswith(a.replace("_", "")) or a.replace("_", "") in low
               for a in ADAPTIVE_OPTIMIZERS if a != "adafactor_relative") or \
        low.endswith("prodigy") or "dadapt" in low


def takes_lr_as_given(name: str) -> bool:
    """The optimizer steps at the learning rate it is given: not an adaptive one (Prodigy,
    D-Adaptation) and not Adafactor (which may pick its own)."""
    return not is_adaptive(name) and "adafactor" not in name.lower()


def algo(f: ConfigFacts) -> str:
    """The network algorithm in lower case: lora, locon, loha, lokr, ia3, dylora, ..."""
    lora_type = str(f.get("lora_type") or "").lower()
    args = " ".join(f.get("network_args") or []) if isinstance(f.get("network_args"), list) \
        else str(f.get("network_args") or "")
    m = re.search(r"algo\s*=\s*([\w-]+)", args)
    if m:
        return m.group(1).lower()
    if lora_type:
        name = lora_type.split("/")[-1].replace("kohya ", "").strip()
        return {"standard": "lora", "lora-fa": "lora_fa"}.get(name, name)
    module = str(f.get("network_module") or "networks.lora").lower()
    if module.endswith("dylora"):
        return "dylora"
    if module.endswith("lora_fa"):
        return "lora_fa"
    if "lycoris" in module:
        return "locon"
    return "lora"


FULL_FINETUNE_SCRIPTS = ("train_db.py", "sdxl_train.py", "fine_tune.py", "flux_train.py")


def rank_is_meaningful(f: ConfigFacts) -> bool:
    """Whether rank/alpha apply: a LoRA of a ranked algorithm (a full fine-tuning script
    trains no network at all)."""
    if str(f.extra.get("script") or "") in FULL_FINETUNE_SCRIPTS:
        return False
    return not any(algo(f).startswith(a) for a in RANKLESS_ALGOS)


def resolution(f: ConfigFacts) -> tuple[int, int] | None:
    return to_resolution(f.get("resolution"))


def mixed_precision(f: ConfigFacts) -> str:
    mp = str(f.get("mixed_precision") or "no").lower()
    if f.get("full_fp16"):
        return "fp16"
    if f.get("full_bf16"):
        return "bf16"
    return {"fp32": "no", "float32": "no", "none": "no", "float16": "fp16",
            "bfloat16": "bf16"}.get(mp, mp)


def memory_efficient_attention(f: ConfigFacts) -> bool:
    att = str(f.get("attention") or "").lower()
    if att in ("sdpa", "xformers"):
        return True
    return bool(f.get("xformers") or f.get("sdpa") or f.get("mem_eff_attn"))

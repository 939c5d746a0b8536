"""The typed run config: one `loratui.toml` per training run.

pydantic v2 was chosen because it gives, from one class definition, validation with
the exact location of a bad value (section.key), numeric ranges (`ge`/`le`), JSON
schema for the docs and the UI, and it is installed everywhere our stack is. Every
field carries its meaning, unit, range and the PITFALLS.md numbers it relates to in
`json_schema_extra`; `docs/config.md` is generated from these (see `loratui.config.docs`).
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any, Literal, get_args, get_origin

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator

from loratui.i18n import N_, Message

Family = Literal["auto", "sd15", "sd2", "sdxl"]
LoraKind = Literal["character", "style", "concept"]
Precision = Literal["no", "fp16", "bf16"]
Attention = Literal["sdpa", "xformers", "eager"]
LogWith = Literal["tensorboard", "wandb", "all", "none"]
Optimizer = Literal["AdamW", "AdamW8bit", "Adafactor", "Lion", "Prodigy", "SGD"]
Scheduler = Literal[
    "constant", "constant_with_warmup", "linear", "cosine", "cosine_with_restarts", "polynomial"
]


def _f(default: Any, description: str, *, unit: str = "", pitfalls: tuple[str, ...] = (), **kw):
    """A Field with our documentation extras (unit, pitfall refs)."""
    extra = {"unit": unit, "pitfalls": list(pitfalls)}
    return Field(default, description=description, json_schema_extra=extra, **kw)


# output.name in UTF-8 bytes: room for `-000010.safetensors` and a backup's time stamp
# within the 255 bytes most file systems allow a name
MAX_NAME_BYTES = 180
# accelerate's set_seed seeds numpy, whose seeds are 32-bit.
MAX_SEED = 2**32 - 1


def _numeric(annotation: Any) -> bool:
    types = get_args(annotation) or (annotation,)
    return any(t in (int, float) for t in types)


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True)

    @field_validator("*", mode="before")
    @classmethod
    def _no_bool_numbers(cls, value: Any, info: ValidationInfo) -> Any:
        """`rank = true` is not a rank: pydantic would read true as 1."""
        field = cls.model_fields.get(info.field_name or "")
        if isinstance(value, bool) and field is not None and _numeric(field.annotation):
            raise ValueError(Message(N_("expected a number, not true/false")))
        return value


class ModelSection(_Section):
    base: str = _f(
        "",
        N_("Base model: a local diffusers folder (with model_index.json) or a single-file "
        "`.safetensors` checkpoint. Never downloaded."),
        unit="path",
        pitfalls=("P16",),
    )
    family: Family = _f(
        "auto",
        N_("Model family: `auto` detects it from the base model (model_index.json or the "
        "checkpoint's tensors); `sd15` or `sdxl` (Pony, Illustrious, NoobAI) overrides it, and "
        "an override that contradicts the base model is an error."),
        pitfalls=("P3",),
    )
    v_prediction: bool = _f(
        False, N_("The base model predicts v instead of noise (SD2-768, NoobAI v-pred and other "
        "v-prediction SDXL finetunes).")
    )
    zero_terminal_snr: bool = _f(
        False, N_("Rescale the noise schedule to zero terminal SNR (with v_prediction, for models "
        "trained that way, e.g. NoobAI v-pred).")
    )
    vae: str = _f(
        "",
        N_("Optional separate VAE (diffusers folder or .safetensors), e.g. the fp16-fixed SDXL "
        "VAE; empty = the base model's own."),
        unit="path", pitfalls=("P15",),
    )


class DatasetSection(_Section):
    dir: str = _f("", N_("Folder of training images with caption files beside them."), unit="path",
                  pitfalls=("P1", "P2"))
    reg_dir: str = _f("", N_("Optional regularisation images (prior preservation); empty = none."),
                      unit="path", pitfalls=("P26",))
    prior_loss_weight: float = _f(1.0, N_("Weight of the regularisation images' loss."), ge=0.0, le=10.0,
                                  pitfalls=("P26",))
    resolution: int = _f(512, N_("Training resolution (square side). SD1.5 was trained at 512."),
                         unit="px", ge=64, le=2048, multiple_of=8, pitfalls=("P3",))
    bucketing: bool = _f(False, N_("Aspect-ratio buckets (area ≈ resolution², sides in steps of 64) "
                         "instead of centre-cropping every image to a square."), pitfalls=("P3", "P4"))
    caption_extension: str = _f(".txt", N_("Extension of the caption file beside each image."),
                                pattern=r"^\.[A-Za-z0-9_]+$")
    trigger_word: str = _f("", N_("Unique token that calls the LoRA, e.g. `hanfu_girl_`. "
                           "Put it first in every caption."), pitfalls=("P7",))
    shuffle_captions: bool = _f(False, N_("Shuffle comma-separated tags each step (tag captions only)."))
    keep_tokens: int = _f(1, N_("Tags kept in place at the start when shuffling (the trigger word)."),
                          unit="tags", ge=0, le=75)
    caption_dropout: float = _f(0.0, N_("Probability of training a step with an empty caption."),
                                ge=0.0, le=1.0)
    repeats: int = _f(1, N_("How often each image is seen per epoch (kohya's `N_` folder prefix); "
                      "a `N_name` folder's own number wins."), ge=1, le=1000)


class NetworkSection(_Section):
    kind: LoraKind = _f("character", N_("What the LoRA teaches; picks the preset and the starting "
                        "weight suggested after export."), pitfalls=("P18",))
    rank: int = _f(8, N_("LoRA rank (network_dim): capacity of each adapter. 8–16 is enough; "
                   "higher overfits sooner."), ge=1, le=1024, pitfalls=("P10", "P20"))
    alpha: float | None = _f(None, N_("LoRA alpha; the update is scaled by alpha / rank. "
                             "Empty = equal to rank. Keep it 1–1.5 × rank."),
                             ge=0.0, le=4096.0, pitfalls=("P11",))
    train_text_encoder: bool = _f(True, N_("Also train a LoRA on the CLIP text encoder "
                                  "(at `text_encoder_lr`)."), pitfalls=("P9",))
    dropout: float = _f(0.0, N_("Dropout inside the LoRA layers."), ge=0.0, le=1.0)

    @property
    def effective_alpha(self) -> float:
        return float(self.rank if self.alpha is None else self.alpha)


class OptimizerSection(_Section):
    unet_lr: float = _f(1e-4, N_("Learning rate of the UNet LoRA."), gt=0.0, le=10.0, pitfalls=("P8",))
    text_encoder_lr: float = _f(5e-6, N_("Learning rate of the text-encoder LoRA; 0 = UNet only. "
                                "Too high and prompts stop working."), ge=0.0, le=10.0,
                                pitfalls=("P9",))
    text_encoder_2_lr: float | None = _f(
        None, N_("Learning rate of the second text encoder's LoRA (SDXL); empty = "
        "text_encoder_lr."), ge=0.0, le=10.0, pitfalls=("P9",))
    name: Optimizer = _f("AdamW", N_("Optimizer. AdamW8bit needs bitsandbytes (CUDA only); "
                         "Adafactor is transformers' implementation."))
    weight_decay: float = _f(1e-2, N_("AdamW weight decay."), ge=0.0, le=1.0)
    scheduler: Scheduler = _f("constant", N_("Learning-rate schedule."))
    warmup_steps: int = _f(0, N_("Linear warm-up at the start."), unit="steps", ge=0)
    max_grad_norm: float = _f(1.0, N_("Gradient clipping norm; 0 = off."), ge=0.0)

    def text_encoder_lr_of(self, index: int) -> float:
        """LR of text encoder `index` (0 = the first; SDXL's second may have its own)."""
        if index >= 1 and self.text_encoder_2_lr is not None:
            return self.text_encoder_2_lr
        return self.text_encoder_lr


class TrainingSection(_Section):
    batch_size: int = _f(1, N_("Images per forward pass. Raise accumulation instead on small cards."),
                         unit="images", ge=1, le=256, pitfalls=("P12",))
    gradient_accumulation: int = _f(4, N_("Forward passes per optimiser step; effective batch = "
                                    "batch_size × this."), unit="passes", ge=1, le=256,
                                    pitfalls=("P12",))
    epochs: int = _f(10, N_("Passes over the dataset."), unit="epochs", ge=1, le=10000, pitfalls=("P13",))
    max_steps: int = _f(0, N_("Stop after this many optimiser steps; 0 = use epochs."),
                        unit="steps", ge=0)
    mixed_precision: Precision = _f("fp16", N_("Compute precision. Never plain fp32 on small cards; "
                                    "bf16 needs an Ampere or newer GPU."), pitfalls=("P14",))
    gradient_checkpointing: bool = _f(True, N_("Recompute activations in the backward pass: much "
                                      "less memory, slower by ~20%."), pitfalls=("P12", "P14"))
    attention: Attention = _f("sdpa", N_("Attention kernel: PyTorch SDPA (memory-efficient, default) "
                              "or xformers when installed."), pitfalls=("P14",))
    no_half_vae: bool = _f(True, N_("Keep the VAE in fp32 (avoids NaN latents and washed-out "
                           "colours with fp16)."), pitfalls=("P15",))
    cache_latents: bool = _f(True, N_("Encode every image once before training."))
    seed: int = _f(42, N_("Random seed; the same seed and config give the same run."), ge=0,
                   le=MAX_SEED)
    noise_offset: float = _f(0.0, N_("Noise offset (helps very dark / bright images); 0.05–0.1 "
                             "when used."), ge=0.0, le=1.0)
    save_every_n_epochs: int = _f(1, N_("Save a LoRA checkpoint every N epochs; 0 = only at the end."),
                                  unit="epochs", ge=0)
    log_with: LogWith = _f("tensorboard", N_("Experiment trackers (accelerate's) besides "
                           "metrics.jsonl: `tensorboard` writes event files to the run folder's "
                           "tensorboard/ with sd-scripts' tags (loss/current, loss/average, "
                           "lr/unet, lr/textencoder); `wandb` logs to Weights & Biases when it is "
                           "installed (`wandb login` first, or WANDB_MODE=offline); `all` = every "
                           "tracker accelerate finds installed; `none` = metrics.jsonl only."))


class OutputSection(_Section):
    dir: str = _f("runs", N_("Where run folders are created. Use an absolute path; it must exist or "
                  "be creatable and writable."), unit="path", pitfalls=("P34",))
    name: str = _f("my_lora", N_("Output name: the run folder and the `.safetensors` file "
                                     "(at most 180 bytes in UTF-8, about 60 Chinese "
                                     "characters)."),
                   pattern=r"^[^/\\:*?\"<>|\x00-\x1f\x7f]+$", pitfalls=("P29",))
    save_precision: Precision = _f("fp16", N_("dtype of the exported LoRA tensors (`no` = fp32)."),
                                   pitfalls=("P29",))

    @field_validator("name")
    @classmethod
    def _fits_a_file_name(cls, value: str) -> str:
        """The name becomes `<name>-000010.safetensors` and `<name>.<time>.bak`: file
        systems allow 255 bytes a name, and a run that trains for hours must not fail at
        its export over the name."""
        size = len(value.encode("utf-8", "surrogateescape"))
        if size > MAX_NAME_BYTES:
            raise ValueError(Message(N_("{n} bytes long: too long for a file name (at most "
                                        "{limit} bytes in UTF-8, about {cjk} Chinese "
                                        "characters)"), n=f"{size:,}", limit=MAX_NAME_BYTES,
                                     cjk=MAX_NAME_BYTES // 3))
        return value


class SampleSection(_Section):
    prompts: list[str] = _f([], N_("Prompts for sample images during training; `{trigger}` is "
                            "replaced by the trigger word."), pitfalls=("P7",))
    every_n_epochs: int = _f(1, N_("Render the samples every N epochs; 0 = never."), unit="epochs",
                             ge=0)
    steps: int = _f(20, N_("Sampler steps per sample image."), ge=1, le=200)
    seed: int = _f(1234, N_("Seed for sample images (fixed so they are comparable)."), ge=0,
                   le=MAX_SEED)


class DynamicWeight(_Section):
    enabled: bool = _f(False, N_("The guide's 'dynamic weight': after `start_fraction` of the steps, "
                       "scale the LoRA from 1.0 down to `end_scale`."), pitfalls=("P27",))
    start_fraction: float = _f(1 / 3, N_("When the scale starts to fall, as a fraction of all steps."),
                               gt=0.0, lt=1.0, pitfalls=("P27",))
    end_scale: float = _f(0.7, N_("LoRA scale reached at the last step."), gt=0.0, le=1.0,
                          pitfalls=("P27",))


class LabelPollution(_Section):
    enabled: bool = _f(False, N_("The guide's 'label pollution': add one wrong tag to each caption "
                       "so the model learns to resist noise."), pitfalls=("P28",))
    probability: float = _f(1.0, N_("Chance that a caption gets a noise tag at a step."),
                            ge=0.0, le=1.0, pitfalls=("P28",))
    tags: list[str] = _f([], N_("Noise tags to draw from; empty = a built-in list."), pitfalls=("P28",))


class TricksSection(_Section):
    dynamic_weight: DynamicWeight = Field(default_factory=DynamicWeight)
    label_pollution: LabelPollution = Field(default_factory=LabelPollution)


class RunConfig(BaseModel):
    """Everything one training run needs. Sections mirror `loratui.toml`."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True)

    model: ModelSection = Field(default_factory=ModelSection)
    dataset: DatasetSection = Field(default_factory=DatasetSection)
    network: NetworkSection = Field(default_factory=NetworkSection)
    optimizer: OptimizerSection = Field(default_factory=OptimizerSection)
    training: TrainingSection = Field(default_factory=TrainingSection)
    output: OutputSection = Field(default_factory=OutputSection)
    sample: SampleSection = Field(default_factory=SampleSection)
    tricks: TricksSection = Field(default_factory=TricksSection)
    # Free-form overrides of doctor thresholds, e.g. {"max_rank": 32}; read by the doctor.
    doctor: dict[str, Any] = Field(
        default_factory=dict,
        description=N_("Overrides of doctor rule thresholds, by rule code or threshold name."),
    )

    @field_validator("doctor")
    @classmethod
    def _finite_thresholds(cls, table: dict[str, Any]) -> dict[str, Any]:
        """A threshold of nan or inf means nothing (and cannot be written back as TOML)."""
        def walk(value: Any, key: str) -> None:
            if isinstance(value, float) and not math.isfinite(value):
                raise ValueError(f"`doctor.{key}` = {value}: a threshold must be a finite "
                                 "number (to silence a rule, use `loratui doctor --ignore CODE`)")
            if isinstance(value, dict):
                for k, v in value.items():
                    walk(v, f"{key}.{k}")
            elif isinstance(value, list):
                for v in value:
                    walk(v, key)

        for key, value in table.items():
            walk(value, key)
        return table

    # Convenience accessors used by the trainer and the UI.
    @property
    def effective_batch(self) -> int:
        return self.training.batch_size * self.training.gradient_accumulation

    def resolve_paths(self, base_dir: Path) -> RunConfig:
        """Return a copy with relative paths made absolute against `base_dir` (the TOML's folder)."""
        data = self.model_dump()
        for section, key in (("model", "base"), ("dataset", "dir"), ("dataset", "reg_dir"),
                             ("output", "dir")):
            value = data[section][key]
            if value and not Path(value).expanduser().is_absolute():
                data[section][key] = str((base_dir / value).resolve())
            elif value:
                data[section][key] = str(Path(value).expanduser())
        return RunConfig.model_validate(data)


def field_docs() -> list[dict[str, Any]]:
    """One row per field: dotted key, type, default, range, unit, pitfalls, description."""
    rows: list[dict[str, Any]] = []

    def walk(model: type[BaseModel], prefix: str) -> None:
        for name, info in model.model_fields.items():
            ann = info.annotation
            if isinstance(ann, type) and issubclass(ann, BaseModel):
                walk(ann, f"{prefix}{name}.")
                continue
            extra = info.json_schema_extra if isinstance(info.json_schema_extra, dict) else {}
            bounds = {}
            for meta in info.metadata:
                for attr in ("ge", "gt", "le", "lt", "multiple_of", "pattern"):
                    if getattr(meta, attr, None) is not None:
                        bounds[attr] = getattr(meta, attr)
            default = info.get_default(call_default_factory=True)
            rows.append({
                "key": f"{prefix}{name}",
                "type": _type_name(ann),
                "choices": list(get_args(ann)) if get_origin(ann) is Literal else [],
                "default": default,
                "bounds": bounds,
                "unit": extra.get("unit", ""),
                "pitfalls": extra.get("pitfalls", []),
                "description": info.description or "",
            })

    walk(RunConfig, "")
    return rows


def _type_name(ann: Any) -> str:
    if get_origin(ann) is Literal:
        return "choice"
    text = getattr(ann, "__name__", None) or str(ann)
    return text.replace("typing.", "")

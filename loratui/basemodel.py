"""Which model family is this base model, and can loratui train it? Reads headers and
configs only.

A diffusers folder is judged by `model_index.json` and `unet/config.json`
(`cross_attention_dim` 768 = SD1.x, 1024 = SD2.x, 2048 with added embeddings = SDXL) and
the parts its family needs; a single `.safetensors` checkpoint by its header
(`loratui.checkpoint`: names, a few shapes, dtypes, modelspec metadata). Pickle checkpoints
are named as such and never opened. Never raises. `check_base_model` is the one verdict:
the Start step, the trainer's pre-flight and the family detection all take it.

`weights_problem` is the safetensors-only gate the trainer's pre-flight uses: every weight
file that would be loaded must be a real safetensors file (its header read and checked),
so a pickle, random bytes or a git-LFS pointer named `.safetensors` is refused before
torch loads anything.
"""

from __future__ import annotations

import os
import platform
import re
from dataclasses import dataclass
from pathlib import Path

from loratui.familydata import label
from loratui.i18n import N_, message_of
from loratui.i18n import Message as M
from loratui.modelfolder import folder_family_source, native_resolution, read_json

__all__ = ["BaseModelCheck", "check_base_model", "folder_family_source", "layout_problem",
           "missing_parts", "native_resolution", "no_model_index", "not_a_base_model",
           "pickle_problem", "single_file_problem", "weight_variant", "weights_problem",
           "windows_path_problem"]

PICKLE_SUFFIXES = (".ckpt", ".pt", ".pth", ".bin")


@dataclass(frozen=True)
class BaseModelCheck:
    ok: bool | None  # True: a family loratui trains; False: not usable; None: cannot tell
    family: str | None
    message: str
    source: str = ""  # what the family was read from ("model_index.json", "tensor names")
    v_prediction: bool = False  # a single file's `v_pred` key or modelspec.prediction_type


# The diffusers components whose weights training loads, and their file names.
WEIGHT_PARTS = {"unet": "diffusion_pytorch_model", "vae": "diffusion_pytorch_model",
                "text_encoder_2": "model",
                "text_encoder": "model"}


# Variants the hub ships beside (or instead of) the full-precision weights, best first.
VARIANTS = ("fp16", "bf16")


def weight_variant(folder: Path, stem: str) -> str | None:
    """The diffusers / transformers `variant` to load a component folder with: None when it
    has the plain weights (`model.safetensors`, or shards with their index), else the first
    variant it has (`diffusion_pytorch_model.fp16.safetensors`, common from the hub)."""
    if (folder / f"{stem}.safetensors").is_file() or \
            (folder / f"{stem}.safetensors.index.json").is_file():
        return None
    for variant in VARIANTS:
        if (folder / f"{stem}.{variant}.safetensors").is_file() or \
                (folder / f"{stem}.safetensors.index.{variant}.json").is_file():
            return variant
    return None


def weights_problem(path: Path | str) -> str | None:
    """None when every weight file the trainer would load from `path` (a diffusers folder
    or a single-file checkpoint) is safetensors with a sound header; else what is wrong and
    what to do, naming the file."""
    path = Path(path).expanduser()
    if path.is_dir():
        for part, stem in WEIGHT_PARTS.items():
            folder = path / part
            if not folder.is_dir():
                continue    # the loader reports a missing component by name
            variant = weight_variant(folder, stem)
            files = [folder / f"{stem}.{variant}.safetensors" if variant else
                     folder / f"{stem}.safetensors"]
            if not files[0].exists():
                files = sorted(folder.glob("*.safetensors"))
            if not files:
                pickles = sorted(p.name for p in folder.iterdir()
                                 if p.suffix.lower() in PICKLE_SUFFIXES)
                if pickles:
                    return M(N_("{folder}: only pickle weights ({files}); loratui loads "
                                "safetensors only: get the model's .safetensors files, or "
                                "convert these with a tool you trust"),
                             folder=str(folder), files=", ".join(pickles[:3]))
                continue
            for file in files:
                problem = _safetensors_problem(file)
                if problem:
                    return problem
        return None
    if path.suffix.lower() in PICKLE_SUFFIXES:
        return pickle_problem(path)
    if path.is_file():
        return _safetensors_problem(path)
    return None


def pickle_problem(path: Path) -> str:
    """A .ckpt / .pt / .pth / .bin given as a model: refused unopened, with the way out."""
    return M(N_("{name}: a pickle checkpoint ({suffix}) can run any code it carries when "
                "loaded, so loratui never opens it. Download the model's .safetensors version "
                "(model pages usually offer one), or convert this file once: "
                "torch.load(file, weights_only=True), which refuses code, then "
                "safetensors.torch.save_file"), name=path.name, suffix=path.suffix)


def _safetensors_problem(file: Path) -> str | None:
    from loratui.checkpoint import read
    from loratui.lora.reader import LoraError

    try:
        read(file)
    except LoraError as exc:
        return M(N_("{file}: not a usable safetensors file: {error}. Download or convert it "
                    "again (loratui loads nothing else)"), file=str(file),
                 error=message_of(exc))
    except OSError as exc:
        return M(N_("{file}: cannot read ({error}); check the path and permissions"),
                 file=str(file), error=exc.strerror or str(exc))
    return None


# What a file given as model.base is instead (CheckpointInfo.kind) and where it belongs.
NOT_A_BASE_MODEL = {
    "lora": (N_("a LoRA"), N_("it is applied on top of a base model: A1111's models/Lora, "
                              "ComfyUI's models/loras")),
    "embedding": (N_("a textual-inversion embedding"),
                  N_("it is used in prompts: A1111's embeddings/, ComfyUI's models/embeddings")),
    "vae": (N_("a VAE alone"), N_("give it as model.vae, beside a checkpoint")),
    "controlnet": (N_("a ControlNet"), N_("it guides a base model at generation: A1111's "
                                          "models/ControlNet, ComfyUI's models/controlnet")),
    "upscaler": (N_("an image upscaler (ESRGAN-type)"),
                 N_("it enlarges finished images: A1111's models/ESRGAN, ComfyUI's "
                    "models/upscale_models")),
    "text_encoder": (N_("a text encoder alone"), N_("a base model holds one with its UNet")),
    "": (N_("a file with no UNet weights"), N_("a base model's UNet is what a LoRA trains")),
}


def not_a_base_model(path: Path, info) -> str | None:
    """A .safetensors path that is no base model at all (a LoRA, an embedding, a VAE, a
    ControlNet, an upscaler, a pipe), said as such instead of "cannot tell the family"."""
    if not path.is_file():
        from loratui.lora.reader import not_a_file

        return M(N_("{name}: {problem}"), name=path.name, problem=not_a_file(path))
    if info is None or info.kind == "model":
        return None     # an unreadable header: weights_problem says what is wrong
    what, where = NOT_A_BASE_MODEL.get(info.kind, NOT_A_BASE_MODEL[""])
    return M(N_("{name} is {what}, not a base model ({where}). model.base takes the SD1.5 or "
                "SDXL checkpoint a LoRA is trained on (A1111's models/Stable-diffusion, "
                "ComfyUI's models/checkpoints)"), name=path.name, what=M(what), where=M(where))


def single_file_problem(path: Path, info, *, vae: str = "",
                        v_prediction: bool | None = None) -> str | None:
    """What keeps a single-file checkpoint of a family loratui trains from training as it
    is (an inpainting UNet, a missing part, no VAE and no model.vae, a v-prediction marker
    with model.v_prediction off); None when nothing does."""
    family = label(info.family)
    if info.inpainting:
        return M(N_("{name}: an inpainting {family} model ({n} input channels): LoRAs are "
                    "trained on the regular model, not its inpainting variant; pick the "
                    "non-inpainting checkpoint"), name=path.name, family=family,
                 n=info.in_channels)
    problem = layout_problem(path, info)
    if problem:
        return problem
    text_encoder = M(N_("text encoder"))
    missing = [part for part, there in (("UNet", info.unet), (text_encoder, info.text_encoder))
               if not there]
    if missing:
        return M(N_("{name}: the file holds no {parts}: loratui needs a full {family} "
                    "checkpoint (UNet, text encoders and VAE in one file) or a diffusers "
                    "folder"), name=path.name, parts=" / ".join(map(str, missing)),
                 family=family)
    if not info.vae and not vae:
        return M(N_("{name}: no VAE is baked into this {family} checkpoint: set model.vae to a "
                    "VAE .safetensors (for {family}: {example})"), name=path.name, family=family,
                 example=VAE_EXAMPLES.get(info.family, "a VAE of this family"))
    if info.fp8_scaled:
        return M(N_("{name}: a scaled fp8 checkpoint (ComfyUI's fp8_scaled): its weights are "
                    "stored divided by per-layer scales that only ComfyUI applies, so training "
                    "would start from wrong weights; use the model's fp16 or bf16 release"),
                 name=path.name)
    if info.v_prediction and v_prediction is False:
        ztsnr = M(N_(" and model.zero_terminal_snr = true")) if info.zero_terminal_snr else ""
        return M(N_("{name} is a v-prediction model (its {marker}) but model.v_prediction is "
                    "false: set model.v_prediction = true{ztsnr}, or the LoRA learns the wrong "
                    "target"), name=path.name, marker=info.v_source, ztsnr=ztsnr)
    return None


def single_file_verdict(info, kind: str, v_prediction: bool | None) -> str:
    """The ✓ line of a single file loratui can train: its family, the title its modelspec
    metadata gives (where the weights agree), a v-prediction marker model.v_prediction
    does not set yet, and what fp8 weights mean for training."""
    verdict = M(N_("✓ {family} {kind}"), family=label(info.family), kind=kind)
    if info.title:
        verdict = M(N_("{verdict}: {title} (its modelspec.title)"), verdict=verdict,
                    title=info.title)
    if info.v_prediction and v_prediction is None:
        verdict = M(N_("{verdict}, v-prediction (its {marker}): set model.v_prediction = "
                       "true"), verdict=verdict, marker=info.v_source)
    if info.fp8:
        verdict = M(N_("{verdict}. Its weights are fp8 ({dtype}): they are widened to the "
                       "training precision as they load, so it trains, but on weights rounded "
                       "to fp8; the model's fp16 or bf16 release, when there is one, is the "
                       "better base"), verdict=verdict, dtype=info.fp8)
    return verdict


def _input_blocks(unet: dict) -> int | None:
    """An original-layout UNet's input blocks: conv_in, then per level its resnets and,
    but for the last level, a downsampler (SD1.5: 12, SDXL: 9)."""
    levels, per = len(unet.get("block_out_channels") or []), unet.get("layers_per_block")
    return 1 + levels * per + levels - 1 if levels and isinstance(per, int) else None


def _depth(unet: dict) -> int | None:
    """The most transformer layers a UNet block has (SD1.5: 1, SDXL: 10)."""
    depth = unet.get("transformer_layers_per_block", 1)
    depth = max(depth) if isinstance(depth, list) and depth else depth
    return depth if isinstance(depth, int) else None


def layout_problem(path: Path, info) -> str | None:
    """A single file whose shapes are not its family's standard ones (a resized, distilled
    — BK-SDM, KOALA — or test model): loratui builds single files on the family's shipped configs, and the
    number of attention heads is in no weight's shape, so such a file cannot be loaded as
    it is; its diffusers folder carries the configs that describe it."""
    from loratui import families

    if info.family not in families.ids():
        return None
    config = families.get(info.family).config_dir
    unet = read_json(config / "unet" / "config.json")
    standard = ((N_("cross-attention width"), info.context_dim,
                 unet.get("cross_attention_dim")),
                (N_("UNet channels"), info.model_channels,
                 (unet.get("block_out_channels") or [None])[0]),
                (N_("text encoder width"), info.text_width,
                 read_json(config / "text_encoder" / "config.json").get("hidden_size")),
                (N_("UNet input blocks"), info.input_blocks, _input_blocks(unet)),
                (N_("transformer depth"), info.transformer_depth, _depth(unet)))
    differences = None
    for what, found, expected in standard:
        if found is not None and expected is not None and found != expected:
            one = M(N_("{what} {found}, not {expected}"), what=M(what), found=found,
                    expected=expected)
            differences = one if differences is None else \
                M(N_("{first}; {second}"), first=differences, second=one)
    if differences is None:
        return None
    return M(N_("{name}: not the standard {family} layout ({differences}), so it cannot be "
                "loaded from a single file: loratui builds single-file checkpoints on "
                "{family}'s standard configs. Give the model's diffusers folder instead (its "
                "config.json files describe it), or a standard {family} checkpoint"),
             name=path.name, family=label(info.family), differences=differences)


WINDOWS_PATH = re.compile(r"^([A-Za-z]):[\\/]")
WSL_DRIVES = Path("/mnt")     # where WSL mounts C:, D: …


def windows_path_problem(path: Path) -> str | None:
    """A path that is not there because it is a Windows path pasted on Linux or macOS, said
    to be one (with where WSL mounts that drive, when it does); None for any other path."""
    text = str(path)
    drive = WINDOWS_PATH.match(text)
    if drive is None or os.name == "nt":
        return None
    rest = re.split(r"[\\/]+", text[3:])
    mounted = WSL_DRIVES.joinpath(drive[1].lower(), *rest)
    if mounted.exists():
        return M(N_("{path} is a Windows path; this machine sees that drive under /mnt: "
                    "give {mounted}"), path=text, mounted=str(mounted))
    return M(N_("{path} is a Windows path, but loratui runs on this {system} machine, which "
                "cannot see that drive: copy the model here (scp, rsync, a file manager) and "
                "give its path on this machine, e.g. ~/models/{name}"), path=text,
             system=platform.system() or "Unix", name=rest[-1] or "model.safetensors")


def no_model_index(folder: Path) -> str:
    """A folder without model_index.json, said as what it is: one component of a diffusers
    model (its unet/ or vae/), a folder of single-file checkpoints, or neither."""
    component = read_json(folder / "config.json").get("_class_name")
    if isinstance(component, str) and component:
        parent = folder.parent
        if (parent / "model_index.json").is_file():
            return M(N_("{path} is the {part}/ part ({cls}) of a diffusers model: give the "
                        "model's folder, {parent}"), path=str(folder), part=folder.name,
                     cls=component, parent=str(parent))
        return M(N_("{path} holds one diffusers component ({cls}), not a whole model: give "
                    "the model's folder (with model_index.json, unet/, vae/, text_encoder/ "
                    "…) or a single .safetensors checkpoint"), path=str(folder),
                 cls=component)
    files = sorted(p.name for p in folder.glob("*.safetensors"))
    if files:
        return M(N_("{path} is a folder of files, not a diffusers model (no "
                    "model_index.json): give one checkpoint, e.g. {file}"), path=str(folder),
                 file=str(folder / files[0]))
    return M(N_("{path} has no model_index.json: not a diffusers model folder (download the "
                "whole model, or give a single .safetensors checkpoint)"), path=str(folder))


def missing_parts(folder: Path, family: str | None, *, vae: str = "") -> str | None:
    """The weight and scheduler subfolders a diffusers model of `family` needs that `folder`
    lacks (vae/ is not needed with model.vae set); None when none is missing or the family
    is not trained."""
    from loratui import families

    if family not in families.ids():
        return None
    fam = families.get(family)
    # (a missing tokenizer/ is the pre-flight's tokenizer check's, with its own fix)
    needed = ["unet", *([] if vae else ["vae"]), "scheduler",
              *(slot.attr for slot in fam.text_encoders)]
    missing = [f"{part}/" for part in needed if not (folder / part).is_dir()]
    if not missing:
        return None
    return M(N_("{path}: the diffusers {family} model has no {parts}: a partial download? "
                "Download the whole model (every folder model_index.json lists)"),
             path=str(folder), family=label(family), parts=", ".join(missing))


VAE_EXAMPLES = {"sd15": "vae-ft-mse-840000-ema-pruned.safetensors",
                "sdxl": "sdxl_vae.safetensors or sdxl-vae-fp16-fix"}


def check_base_model(path: Path | str, *, vae: str = "",
                     v_prediction: bool | None = None) -> BaseModelCheck:
    """Whether `path` can be trained on. `vae` and `v_prediction` are the config's
    model.vae and model.v_prediction when known (a checkpoint without a baked VAE is fine
    with model.vae set; a v-prediction marker wants model.v_prediction on)."""
    from loratui.families import ids

    path = Path(path).expanduser()
    v_pred = False
    if not path.exists():
        if path.is_symlink():       # a link to nothing, or a loop
            from loratui.lora.reader import not_a_file

            return BaseModelCheck(False, None, M(N_("{name}: {problem}"), name=path.name,
                                                 problem=not_a_file(path)))
        return BaseModelCheck(False, None, windows_path_problem(path) or
                              M(N_("{path} does not exist"), path=str(path)))
    if path.suffix.lower() == ".safetensors" or path.is_dir():
        problem = weights_problem(path)
        if problem:
            return BaseModelCheck(False, None, problem)
    if path.is_dir():
        index = read_json(path / "model_index.json")
        if not index:
            return BaseModelCheck(False, None, no_model_index(path))
        marker = read_json(path / "loratui_tiny.json")  # loratui.tiny's marker
        family, source = (marker.get("family", "sd15"), "loratui_tiny.json") if marker else \
            folder_family_source(path)
        kind = M(N_("diffusers folder"))
        problem = missing_parts(path, family, vae=vae)
        if problem:
            return BaseModelCheck(False, family, problem, source)
        if marker:
            return BaseModelCheck(True, family, M(N_("✓ the tiny {name}-shaped demo model (CPU "
                                                     "demos and tests; real LoRAs need a real "
                                                     "{name})"), name=label(family)), source)
    elif path.suffix.lower() in PICKLE_SUFFIXES:
        return BaseModelCheck(False, None, pickle_problem(path))
    elif path.suffix.lower() == ".safetensors":
        from loratui.checkpoint import inspect

        info = inspect(path)
        family = info.family if info else None
        v_pred = bool(info and info.v_prediction)
        kind, source = M(N_("single-file checkpoint")), M(N_("its tensor names"))
        problem = not_a_base_model(path, info)
        if problem:
            return BaseModelCheck(False, family, problem, source)
        if info and family and family not in ids():
            return BaseModelCheck(False, family, M(
                N_("{name}: {family} model; loratui trains SD1.5 and SDXL LoRAs (Pony, "
                   "Illustrious and NoobAI included): pick an SD1.5 or SDXL checkpoint (P3)"),
                name=path.name, family=info.label), source)
        if info and family in ids():
            problem = single_file_problem(path, info, vae=vae, v_prediction=v_prediction)
            if problem:
                return BaseModelCheck(False, family, problem, source)
            return BaseModelCheck(True, family, single_file_verdict(info, kind, v_prediction),
                                  source, v_prediction=v_pred)
    else:
        return BaseModelCheck(False, None, M(N_("{name}: not a diffusers folder nor a "
                                                ".safetensors checkpoint"), name=path.name))
    if family in ids():
        return BaseModelCheck(True, family, M(N_("✓ {family} {kind}"),
                                              family=label(family), kind=kind), source,
                              v_prediction=v_pred)
    if family is not None:
        return BaseModelCheck(False, family, M(N_("{family} {kind}: loratui trains SD1.5 and "
                                                  "SDXL LoRAs; pick an SD1.5 or SDXL model (P3)"),
                                               family=label(family), kind=kind), source)
    return BaseModelCheck(None, None, M(N_("{kind}: cannot tell which model family it is; set "
                                           "model.family (sd15 or sdxl)"), kind=kind))

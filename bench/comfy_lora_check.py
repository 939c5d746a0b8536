"""ComfyUI's own LoRA loader on loratui's exports: every module must map.

Runs the key matching of a ComfyUI checkout — `comfy.lora.model_lora_keys_unet`,
`comfy.lora.model_lora_keys_clip`, `comfy.lora_convert.convert_lora` and
`comfy.lora.load_lora`, as `comfy.sd.load_lora_for_models` calls them — on kohya-format LoRA
files, against the full-size SD1.5 or SDXL model, and counts the modules that reach a weight
of the model, per part (UNet, text encoder 1, text encoder 2).

    python bench/comfy_lora_check.py --comfy ~/ComfyUI                  # loratui's exports
    python bench/comfy_lora_check.py --comfy ~/ComfyUI a.safetensors b.safetensors
    python bench/comfy_lora_check.py --comfy ~/ComfyUI --keep out/   # keep the exports

Without LoRA files it writes, with loratui's own export code, one LoRA per family on the
full-size architecture (rank 1; the models are built from the shipped configs on the meta
device, only the LoRA tensors are real) and checks those: 722 + 72 + 192 modules for SDXL,
192 + 72 for SD1.5.

The model side comes from ComfyUI: its `unet_config_from_diffusers_unet` recognises the
full-size UNet (built on the meta device from loratui's shipped configs) and its
`unet_to_diffusers` map gives the names of the UNet weights in ComfyUI's model
(`diffusion_model.input_blocks.4.1.…`); the CLIP weights take ComfyUI's names
(`clip_l.transformer.text_model.…`, and `clip_g.…` for SDXL's second encoder). A module counts
as mapped when ComfyUI's loader turns it into a patch of a weight that exists under that name
and that its `up @ down` product can be reshaped to. Any key `load_lora` leaves unused ("lora
key not loaded") or any module not mapped fails the check (exit 1).

Needs ComfyUI's Python requirements and loratui in the same environment (e.g. ComfyUI's venv
plus `pip install -e <loratui>`). Nothing is loaded but .safetensors.
"""

from __future__ import annotations

import argparse
import logging
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

# ComfyUI's name of each text encoder's model, by kohya prefix (comfy/sd1_clip.py,
# comfy/sdxl_clip.py): SD1.x and SDXL's first encoder are CLIP-L, SDXL's second is CLIP-G.
COMFY_CLIP = {"lora_te": "clip_l", "lora_te1": "clip_l", "lora_te2": "clip_g"}
UP, DOWN = ".lora_up.weight", ".lora_down.weight"


class CheckError(Exception):
    """Bad input: a message naming the file or folder and the fix."""


def import_comfy(root: Path):
    """ComfyUI's `comfy` package from a checkout (on the CPU when there is no CUDA)."""
    if not (root / "comfy" / "lora.py").is_file():
        raise CheckError(f"{root}: not a ComfyUI checkout (no comfy/lora.py); "
                         "give --comfy the folder that holds ComfyUI's main.py")
    sys.path.insert(0, str(root))
    import torch

    try:
        import comfy.cli_args

        if not torch.cuda.is_available():
            comfy.cli_args.args.cpu = True  # model_management asks CUDA otherwise
    except (ImportError, AttributeError):
        pass
    try:
        import comfy.lora
        import comfy.model_detection
        import comfy.utils
    except ImportError as exc:
        raise CheckError(f"{root}: importing ComfyUI failed ({exc}); run this with ComfyUI's "
                         "requirements installed (pip install -r requirements.txt in its "
                         "folder) and loratui in the same environment") from None
    try:
        import comfy.lora_convert as convert
    except ImportError:  # older ComfyUI: load_lora_for_models did not convert
        convert = None
    return comfy, convert


class _Stand:
    """What `model_lora_keys_*` read of a ComfyUI model: `state_dict()` and, for the UNet,
    `model_config.unet_config`."""

    def __init__(self, sd: dict, unet_config: dict | None = None) -> None:
        self._sd = sd
        self.model_config = type("ModelConfig", (), {"unet_config": unet_config})()

    def state_dict(self) -> dict:
        return self._sd


def comfy_models(comfy, family):
    """(UNet stand-in, CLIP stand-in, attention weights of ComfyUI's map our UNet lacks) for `family`, named as in
    ComfyUI's model. Tensors are meta tensors: names and shapes only."""
    from loratui.train.models import meta_models

    unet, tes = meta_models(family)
    diffusers_sd = unet.state_dict()
    unet_config = comfy.model_detection.unet_config_from_diffusers_unet(diffusers_sd)
    if unet_config is None:
        raise CheckError(f"this ComfyUI does not recognise the full-size {family.label} UNet")
    to_ldm = comfy.utils.unet_to_diffusers(unet_config)
    unet_sd = {f"diffusion_model.{ldm}": diffusers_sd[d] for d, ldm in to_ldm.items()
               if d in diffusers_sd}
    # names in attention blocks (where LoRA modules live) that our UNet lacks: a layout mismatch
    absent = sorted(d for d in to_ldm if ".attentions." in d and d not in diffusers_sd)
    clip_sd = {}
    for slot, te in zip(family.text_encoders, tes, strict=True):
        name = COMFY_CLIP[slot.kohya_prefix]
        for key, tensor in te.state_dict().items():
            if not key.startswith(("text_model.", "text_projection")):
                key = "text_model." + key  # transformers 5.x dropped this level
            clip_sd[f"{name}.transformer.{key}"] = tensor
    return _Stand(unet_sd, unet_config), _Stand(clip_sd), absent


class _Unused(logging.Handler):
    """Collects the keys ComfyUI's load_lora reports as "lora key not loaded"."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.keys: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        msg = record.getMessage()
        if msg.startswith("lora key not loaded: "):
            self.keys.append(msg.split(": ", 1)[1])


def check_file(comfy, convert, path: Path, models: dict) -> dict:
    """Counts of mapped / total modules per kohya prefix, and what did not map."""
    from safetensors.torch import load_file

    from loratui.lora.reader import LoraError, open_lora

    try:
        lora_file = open_lora(path)
    except LoraError as exc:
        raise CheckError(str(exc)) from None
    fid = lora_file.family()[0] or lora_file.metadata_family() or "sd15"
    if fid not in models:
        raise CheckError(f"{path}: a {fid} LoRA; this check covers {', '.join(models)}")
    unet_model, clip_model, _ = models[fid]
    tensors = load_file(str(path))
    key_map: dict[str, str] = {}
    comfy.lora.model_lora_keys_unet(unet_model, key_map)
    comfy.lora.model_lora_keys_clip(clip_model, key_map)
    lora = convert.convert_lora(dict(tensors)) if convert else dict(tensors)
    unused = _Unused()
    logging.getLogger().addHandler(unused)
    try:
        patches = comfy.lora.load_lora(lora, key_map)
    finally:
        logging.getLogger().removeHandler(unused)
    weights = {**unet_model.state_dict(), **clip_model.state_dict()}
    counts: dict[str, list[int]] = {}
    failures: list[str] = []
    for key in sorted(k for k in lora if k.endswith(UP)):
        module = key[:-len(UP)]
        prefix = next((p for p in ("lora_unet", "lora_te1", "lora_te2", "lora_te")
                       if module.startswith(p + "_")), module.split("_")[0])
        row = counts.setdefault(prefix, [0, 0])
        row[1] += 1
        target = key_map.get(module)
        if target is None or target not in patches:
            failures.append(f"{module}: no ComfyUI key")
            continue
        if target not in weights:
            failures.append(f"{module} -> {target}: not a weight of the model (NOT LOADED)")
            continue
        up, down = lora[key], lora[module + DOWN]
        product = up.shape[0] * down[0].numel()
        if product != weights[target].numel() or up.shape[0] != weights[target].shape[0]:
            failures.append(f"{module} -> {target}: up {tuple(up.shape)} @ down "
                            f"{tuple(down.shape)} does not fit {tuple(weights[target].shape)}")
            continue
        row[0] += 1
    return {"path": str(path), "family": fid, "counts": counts, "failures": failures,
            "unused": unused.keys}


def full_size_export(family, folder: Path) -> Path:
    """loratui's export of a rank-1 LoRA on the full-size architecture of `family`."""
    import torch

    from loratui.config import RunConfig
    from loratui.train.export import export_lora
    from loratui.train.lora import ADAPTER, add_text_encoder_lora, add_unet_lora, lora_layers
    from loratui.train.models import meta_models

    unet, tes = meta_models(family)
    with torch.device("meta"):
        add_unet_lora(unet, 1, 1)
        for te in tes:
            add_text_encoder_lora(te, 1, 1)
    gen = torch.Generator().manual_seed(0)
    for model in (unet, *tes):
        for layer in lora_layers(model).values():
            for part in (layer.lora_A[ADAPTER], layer.lora_B[ADAPTER]):
                part.to_empty(device="cpu")
                with torch.no_grad():
                    part.weight.copy_(torch.randn(part.weight.shape, generator=gen) * 0.01)
    cfg = RunConfig()
    cfg.model.family = family.id
    cfg.output.name = f"fullsize-{family.id}"
    cfg.network.rank, cfg.network.alpha = 1, 1
    return export_lora(folder / f"fullsize-{family.id}.safetensors", unet, tes, cfg,
                       family=family)


def report(result: dict, expected: dict[str, int] | None) -> bool:
    parts = ", ".join(f"{p} {m}/{t}" for p, (m, t) in result["counts"].items())
    total_m = sum(m for m, _ in result["counts"].values())
    total_t = sum(t for _, t in result["counts"].values())
    ok = total_m == total_t and total_t > 0 and not result["unused"]
    if expected is not None:
        ok = ok and {p: t for p, (_, t) in result["counts"].items()} == expected
    print(f"{'OK  ' if ok else 'FAIL'} {result['family']:5} {total_m}/{total_t} modules mapped "
          f"({parts}), {len(result['unused'])} keys unused  {result['path']}")
    for line in result["failures"][:10]:
        print(f"       {line}")
    for key in result["unused"][:10]:
        print(f"       lora key not loaded: {key}")
    if expected is not None and {p: t for p, (_, t) in result["counts"].items()} != expected:
        print(f"       expected modules {expected}")
    return ok


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--comfy", required=True, type=Path, metavar="PATH",
                    help="a ComfyUI checkout (the folder with main.py and comfy/)")
    ap.add_argument("--keep", type=Path, metavar="DIR",
                    help="write the full-size exports there (to load them in ComfyUI itself)")
    ap.add_argument("loras", nargs="*", type=Path, metavar="LORA",
                    help="kohya-format .safetensors files (default: loratui's full-size "
                         "exports, one per family)")
    args = ap.parse_args(argv)

    from loratui import families

    try:
        for path in args.loras:
            if not path.is_file():
                raise CheckError(f"{path}: no such file")
        if args.keep:
            taken = [args.keep.expanduser() / f"fullsize-{fid}.safetensors"
                     for fid in families.ids()]
            if any(p.exists() for p in taken):
                raise CheckError(f"{args.keep}: already holds {taken[0].name} or "
                                 f"{taken[-1].name}; give --keep an empty folder")
        comfy, convert = import_comfy(args.comfy.expanduser())
        models = {}
        for fid in families.ids():
            fam = families.get(fid)
            models[fid] = comfy_models(comfy, fam)
            if models[fid][2]:
                print(f"warning: {len(models[fid][2])} attention weights of ComfyUI's "
                      f"{fam.label} UNet are not in loratui's, e.g. {models[fid][2][0]}")
        ok = True
        with tempfile.TemporaryDirectory() as tmp:
            folder = Path(tmp)
            if args.keep:
                folder = args.keep.expanduser()
                folder.mkdir(parents=True, exist_ok=True)
            todo = [(p, None) for p in args.loras]
            if not todo:
                for fid in families.ids():
                    fam = families.get(fid)
                    expected = {fam.unet_kohya_prefix: fam.unet_kohya_modules,
                                **{t.kohya_prefix: t.kohya_modules for t in fam.text_encoders}}
                    todo.append((full_size_export(fam, folder), expected))
            for path, expected in todo:
                ok = report(check_file(comfy, convert, path, models), expected) and ok
    except CheckError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())

"""Load an exported LoRA the way users' tools do (diffusers `load_lora_weights`) and render."""

from __future__ import annotations

import io
from pathlib import Path


def load_pipeline(model_dir: Path | str):
    """The model folder's own diffusers pipeline (SD1.5 or SDXL, by its family)."""
    from loratui.train.quiet import quiet_libraries, set_quiet_env

    set_quiet_env()
    from loratui import families

    family = families.resolve(model_dir)
    quiet_libraries()
    extra = ({"safety_checker": None, "feature_extractor": None,
              "requires_safety_checker": False} if family.pipeline == "StableDiffusionPipeline"
             else {})
    pipe = family.pipeline_class().from_pretrained(str(model_dir), local_files_only=True,
                                                   use_safetensors=True, **extra)
    pipe.set_progress_bar_config(disable=True)
    return pipe


def load_lora(pipe, lora_path: Path | str, adapter: str = "lora"):
    lora_path = Path(lora_path)
    # folder + weight_name works offline on diffusers 0.39 and 0.42 (TINY_MODEL.md §5)
    pipe.load_lora_weights(str(lora_path.parent), weight_name=lora_path.name,
                           adapter_name=adapter, use_safetensors=True)
    return pipe


def render_with_lora(model_dir, lora_path, out_dir: Path | str, *, prompt: str,
                     weights=(0.0, 0.8), size: int = 64, steps: int = 4,
                     seed: int = 1234) -> list[Path]:
    """One PNG per LoRA weight (0.0 = the base model) with the same seed."""
    import torch

    from loratui.atomic import atomic_write_bytes

    pipe = load_lora(load_pipeline(model_dir), lora_path)
    out_dir = Path(out_dir)
    paths = []
    for w in weights:
        pipe.set_adapters(["lora"], adapter_weights=[w])
        gen = torch.Generator("cpu").manual_seed(seed)
        image = pipe(prompt, height=size, width=size, num_inference_steps=steps,
                     generator=gen).images[0]
        buf = io.BytesIO()
        image.save(buf, format="PNG")
        path = out_dir / f"diffusers_lora_w{w:.1f}.png"
        atomic_write_bytes(path, buf.getvalue())
        paths.append(path)
    return paths

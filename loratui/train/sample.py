"""Sample images during training: fixed prompts and seed, so epochs are comparable."""

from __future__ import annotations

import contextlib
from pathlib import Path


def sample_prompts(cfg, first_caption: str = "") -> list[str]:
    """The configured prompts with `{trigger}` filled in; a default that uses the trigger."""
    trigger = cfg.dataset.trigger_word.strip()
    prompts = [p.replace("{trigger}", trigger).strip(", ") for p in cfg.sample.prompts]
    if not prompts:
        base = first_caption or "a photo"
        if trigger and trigger.lower() not in base.lower():
            base = f"{trigger}, {base}"
        prompts = [base]
    return [p for p in prompts if p]


def render_samples(components, unet, text_encoders, prompts: list[str], *, folder: Path,
                   tag: str, resolution: int, steps: int, seed: int, device) -> list[Path]:
    """Render one PNG per prompt into `folder` with the current (LoRA-adapted) models, in the
    family's own pipeline (StableDiffusionPipeline, StableDiffusionXLPipeline)."""
    import torch
    from diffusers.schedulers import PNDMScheduler

    from loratui.atomic import atomic_write_bytes

    family = components.family
    text_encoders = list(text_encoders) if isinstance(text_encoders, (list, tuple)) \
        else [text_encoders]
    sched_cfg = components.scheduler_config or dict(components.noise_scheduler.config)
    scheduler = PNDMScheduler.from_config({**sched_cfg, "skip_prk_steps": True})
    parts = components.pipeline_parts()
    parts.update({slot.attr: te for slot, te in zip(family.text_encoders, text_encoders,
                                                    strict=True)})
    extra = ({"safety_checker": None, "feature_extractor": None,
              "requires_safety_checker": False} if family.pipeline == "StableDiffusionPipeline"
             else {})
    pipe = family.pipeline_class()(unet=unet, vae=components.vae, scheduler=scheduler,
                                   **parts, **extra)
    pipe.set_progress_bar_config(disable=True)
    was_training = [unet.training, *(te.training for te in text_encoders)]
    te_devices = [next(te.parameters()).device for te in text_encoders]
    unet.eval()
    for te in text_encoders:
        te.eval().to(device)  # cached text-encoder outputs may have moved them off the GPU
    paths = []
    vae = components.vae
    half = next(unet.parameters()).dtype if device.type == "cuda" else torch.float32
    # fp16/bf16 UNet under autocast; the VAE decodes in its own dtype (fp32 with no_half_vae)
    autocast = (torch.autocast(device.type, dtype=half) if half != torch.float32
                else contextlib.nullcontext())
    try:
        for i, prompt in enumerate(prompts):
            gen = torch.Generator(device="cpu").manual_seed(seed + i)
            with torch.no_grad():
                with autocast:
                    latents = pipe(prompt, height=resolution, width=resolution,
                                   num_inference_steps=steps, generator=gen,
                                   output_type="latent").images
                pixels = vae.decode(latents.to(vae.dtype) / vae.config.scaling_factor,
                                    return_dict=False)[0]
            image = pipe.image_processor.postprocess(pixels.float(), output_type="pil")[0]
            path = folder / f"{tag}_{i:02d}.png"
            import io

            buf = io.BytesIO()
            image.save(buf, format="PNG")
            atomic_write_bytes(path, buf.getvalue())
            paths.append(path)
    finally:
        unet.train(was_training[0])
        for te, mode, dev in zip(text_encoders, was_training[1:], te_devices, strict=True):
            te.train(mode).to(dev)
    return paths

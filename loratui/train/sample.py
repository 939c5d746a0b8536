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


def render_samples(components, unet, text_encoder, prompts: list[str], *, folder: Path,
                   tag: str, resolution: int, steps: int, seed: int, device) -> list[Path]:
    """Render one PNG per prompt into `folder` with the current (LoRA-adapted) models."""
    import torch
    from diffusers import StableDiffusionPipeline
    from diffusers.schedulers import PNDMScheduler

    from loratui.atomic import atomic_write_bytes

    sched_cfg = components.scheduler_config or dict(components.noise_scheduler.config)
    scheduler = PNDMScheduler.from_config({**sched_cfg, "skip_prk_steps": True})
    pipe = StableDiffusionPipeline(
        unet=unet, vae=components.vae, text_encoder=text_encoder,
        tokenizer=components.tokenizer, scheduler=scheduler, safety_checker=None,
        feature_extractor=None, requires_safety_checker=False)
    pipe.set_progress_bar_config(disable=True)
    was_training = (unet.training, text_encoder.training)
    unet.eval()
    text_encoder.eval()
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
        text_encoder.train(was_training[1])
    return paths

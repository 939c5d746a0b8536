"""Write a diffusers SD1.x-shaped pipeline as an original (LDM / A1111) single-file checkpoint.

Test-only: the inverse of diffusers' single-file conversion, generalised from diffusers'
`scripts/convert_diffusers_to_original_stable_diffusion.py` to any number of blocks and
`layers_per_block`, so the tiny model can be saved the way users' `.safetensors`
checkpoints are laid out and loaded back through `from_single_file`.
"""

from __future__ import annotations

from pathlib import Path


def _unet_map(cfg) -> list[tuple[str, str]]:
    """(ldm prefix, diffusers prefix) pairs; the longest diffusers prefix wins."""
    L = cfg["layers_per_block"]
    down, up = cfg["down_block_types"], cfg["up_block_types"]
    n = len(down)
    pairs = [("time_embed.0.", "time_embedding.linear_1."), ("time_embed.2.", "time_embedding.linear_2."),
             ("input_blocks.0.0.", "conv_in."), ("out.0.", "conv_norm_out."), ("out.2.", "conv_out."),
             ("middle_block.1.", "mid_block.attentions.0.")]
    for j in range(2):
        pairs.append((f"middle_block.{2 * j}.", f"mid_block.resnets.{j}."))
    for i in range(n):
        for j in range(L):
            k = (L + 1) * i + j + 1
            pairs.append((f"input_blocks.{k}.0.", f"down_blocks.{i}.resnets.{j}."))
            if "CrossAttn" in down[i]:
                pairs.append((f"input_blocks.{k}.1.", f"down_blocks.{i}.attentions.{j}."))
        if i < n - 1:
            pairs.append((f"input_blocks.{(L + 1) * (i + 1)}.0.op.",
                          f"down_blocks.{i}.downsamplers.0.conv."))
        for j in range(L + 1):
            k = (L + 1) * i + j
            pairs.append((f"output_blocks.{k}.0.", f"up_blocks.{i}.resnets.{j}."))
            if "CrossAttn" in up[i]:
                pairs.append((f"output_blocks.{k}.1.", f"up_blocks.{i}.attentions.{j}."))
        if i < n - 1:
            slot = 2 if "CrossAttn" in up[i] else 1
            pairs.append((f"output_blocks.{(L + 1) * i + L}.{slot}.",
                          f"up_blocks.{i}.upsamplers.0."))
    return pairs


RESNET = [("in_layers.0.", "norm1."), ("in_layers.2.", "conv1."), ("out_layers.0.", "norm2."),
          ("out_layers.3.", "conv2."), ("emb_layers.1.", "time_emb_proj."),
          ("skip_connection.", "conv_shortcut.")]


def unet_to_ldm(unet) -> dict:
    cfg = unet.config
    pairs = sorted(_unet_map(cfg), key=lambda p: -len(p[1]))
    out = {}
    for key, value in unet.state_dict().items():
        new = key
        for ldm, hf in pairs:
            if key.startswith(hf):
                rest = key[len(hf):]
                if ".resnets." in hf:
                    for a, b in RESNET:
                        if rest.startswith(b):
                            rest = a + rest[len(b):]
                new = ldm + rest
                break
        out["model.diffusion_model." + new] = value
    return out


def vae_to_ldm(vae) -> dict:
    cfg = vae.config
    n, L = len(cfg["block_out_channels"]), cfg["layers_per_block"]
    pairs = [("encoder.mid.attn_1.", "encoder.mid_block.attentions.0."),
             ("decoder.mid.attn_1.", "decoder.mid_block.attentions.0.")]
    for part in ("encoder", "decoder"):
        for j in range(2):
            pairs.append((f"{part}.mid.block_{j + 1}.", f"{part}.mid_block.resnets.{j}."))
        pairs.append((f"{part}.norm_out.", f"{part}.conv_norm_out."))
    for i in range(n):
        for j in range(L):
            pairs.append((f"encoder.down.{i}.block.{j}.", f"encoder.down_blocks.{i}.resnets.{j}."))
        for j in range(L + 1):
            pairs.append((f"decoder.up.{n - 1 - i}.block.{j}.",
                          f"decoder.up_blocks.{i}.resnets.{j}."))
        if i < n - 1:
            pairs.append((f"encoder.down.{i}.downsample.", f"encoder.down_blocks.{i}.downsamplers.0."))
            pairs.append((f"decoder.up.{n - 1 - i}.upsample.", f"decoder.up_blocks.{i}.upsamplers.0."))
    pairs.sort(key=lambda p: -len(p[1]))
    attn = [("norm.", "group_norm."), ("q.", "to_q."), ("k.", "to_k."), ("v.", "to_v."),
            ("proj_out.", "to_out.0.")]
    out = {}
    for key, value in vae.state_dict().items():
        new = key
        for ldm, hf in pairs:
            if key.startswith(hf):
                rest = key[len(hf):]
                if "attn_1" in ldm:
                    for a, b in attn:
                        if rest.startswith(b):
                            rest = a + rest[len(b):]
                            if value.dim() == 2:  # ldm attention uses 1×1 convs
                                value = value[:, :, None, None]
                else:
                    rest = rest.replace("conv_shortcut.", "nin_shortcut.")
                new = ldm + rest
                break
        out["first_stage_model." + new] = value
    return out


def te_to_ldm(text_encoder) -> dict:
    out = {}
    for key, value in text_encoder.state_dict().items():
        if not key.startswith("text_model."):
            key = "text_model." + key  # transformers 5.x dropped this level
        out["cond_stage_model.transformer." + key] = value
    return out


def save_ldm_checkpoint(model_dir: Path, path: Path) -> Path:
    from diffusers import StableDiffusionPipeline
    from safetensors.torch import save_file

    pipe = StableDiffusionPipeline.from_pretrained(str(model_dir))
    sd = {**unet_to_ldm(pipe.unet), **vae_to_ldm(pipe.vae), **te_to_ldm(pipe.text_encoder)}
    save_file({k: v.contiguous() for k, v in sd.items()}, str(path))
    return path


def open_clip_to_sgm(text_encoder, prefix: str = "conditioner.embedders.1.model.") -> dict:
    """CLIPTextModelWithProjection → OpenCLIP keys (SDXL's second encoder): the inverse of
    diffusers' `convert_open_clip_checkpoint` (q/k/v fused into in_proj, text_projection
    transposed)."""
    import torch

    sd = {k if k.startswith(("text_model.", "text_projection")) else "text_model." + k: v
          for k, v in text_encoder.state_dict().items()}
    out = {prefix + "positional_embedding": sd["text_model.embeddings.position_embedding.weight"],
           prefix + "token_embedding.weight": sd["text_model.embeddings.token_embedding.weight"],
           prefix + "ln_final.weight": sd["text_model.final_layer_norm.weight"],
           prefix + "ln_final.bias": sd["text_model.final_layer_norm.bias"],
           prefix + "text_projection": sd["text_projection.weight"].T.contiguous()}
    n = text_encoder.config.num_hidden_layers
    for i in range(n):
        src = f"text_model.encoder.layers.{i}."
        dst = f"{prefix}transformer.resblocks.{i}."
        for kind in ("weight", "bias"):
            out[f"{dst}attn.in_proj_{kind}"] = torch.cat(
                [sd[f"{src}self_attn.{p}_proj.{kind}"] for p in "qkv"])
            out[f"{dst}attn.out_proj.{kind}"] = sd[f"{src}self_attn.out_proj.{kind}"]
            out[f"{dst}ln_1.{kind}"] = sd[f"{src}layer_norm1.{kind}"]
            out[f"{dst}ln_2.{kind}"] = sd[f"{src}layer_norm2.{kind}"]
            out[f"{dst}mlp.c_fc.{kind}"] = sd[f"{src}mlp.fc1.{kind}"]
            out[f"{dst}mlp.c_proj.{kind}"] = sd[f"{src}mlp.fc2.{kind}"]
    return out


def save_sgm_checkpoint(model_dir: Path, path: Path) -> Path:
    """A diffusers SDXL-shaped folder as an SGM single file (how Pony, Illustrious and
    NoobAI ship): `model.diffusion_model.`, `first_stage_model.`, `conditioner.embedders.0/1`."""
    from diffusers import StableDiffusionXLPipeline
    from safetensors.torch import save_file

    pipe = StableDiffusionXLPipeline.from_pretrained(str(model_dir), local_files_only=True)
    sd = unet_to_ldm(pipe.unet)
    for a, b in (("add_embedding.linear_1.", "label_emb.0.0."),
                 ("add_embedding.linear_2.", "label_emb.0.2.")):
        for kind in ("weight", "bias"):
            sd[f"model.diffusion_model.{b}{kind}"] = pipe.unet.state_dict()[f"{a}{kind}"]
    sd = {k: v for k, v in sd.items() if ".add_embedding." not in k}
    sd.update(vae_to_ldm(pipe.vae))
    sd.update({k.replace("cond_stage_model.transformer.", "conditioner.embedders.0.transformer."): v
               for k, v in te_to_ldm(pipe.text_encoder).items()})
    sd.update(open_clip_to_sgm(pipe.text_encoder_2))
    save_file({k: v.contiguous() for k, v in sd.items()}, str(path))
    return path

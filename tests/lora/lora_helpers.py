"""Real LoRA files for the LoRA-tool tests (import as `lora_helpers`).

`tiny_lora`: the tiny SD1.5-shaped model with peft adapters on kohya's targets, random
(seeded) weights so the LoRA does something, written by the real export path.
`sd15_layout_lora`: every module of a full-size SD1.5 LoRA (264 modules, shapes from the
meta-device model) with small random tensors at a low rank.
"""

from __future__ import annotations

from pathlib import Path

from tests.model_files import TRIGGER  # noqa: F401  (the tests import it from here)


def _randomize(layers, gen, scale: float, block_scale: dict[str, float] | None = None):
    import torch

    from loratui.train.lora import ADAPTER

    for path, layer in layers.items():
        factor = 1.0
        for needle, f in (block_scale or {}).items():
            if needle in path:
                factor = f
        with torch.no_grad():
            a = layer.lora_A[ADAPTER].weight
            b = layer.lora_B[ADAPTER].weight
            a.copy_(torch.randn(a.shape, generator=gen) * 0.3)
            b.copy_(torch.randn(b.shape, generator=gen) * scale * factor)


def tiny_lora(model_dir: Path, path: Path, *, rank: int = 4, alpha: float = 2.0,
              seed: int = 0, dtype: str = "no", scale: float = 0.2, te: bool = True,
              block_scale: dict[str, float] | None = None) -> Path:
    """Write a kohya LoRA for the tiny model; `block_scale` = {path substring: factor}."""
    import torch

    from loratui.train.check import load_pipeline
    from loratui.train.export import kohya_state_dict, serialize
    from loratui.train.lora import add_text_encoder_lora, add_unet_lora, lora_layers

    pipe = load_pipeline(model_dir)
    add_unet_lora(pipe.unet, rank, alpha)
    if te:
        add_text_encoder_lora(pipe.text_encoder, rank, alpha)
    gen = torch.Generator().manual_seed(seed)
    _randomize(lora_layers(pipe.unet), gen, scale, block_scale)
    if te:
        _randomize(lora_layers(pipe.text_encoder), gen, scale, block_scale)
    tensors = kohya_state_dict(pipe.unet, pipe.text_encoder if te else None, dtype=dtype)
    meta = {"ss_network_module": "networks.lora", "ss_network_dim": str(rank),
            "ss_network_alpha": f"{alpha:g}", "ss_base_model_version": "sd_v1",
            "ss_output_name": path.stem}
    path.write_bytes(serialize(tensors, meta))
    return path


def tiny_sdxl_lora(model_dir: Path, path: Path, *, rank: int = 4, alpha: float = 2.0,
                   seed: int = 0, scale: float = 0.2) -> Path:
    """A kohya SDXL LoRA (lora_unet_ in the LDM layout, lora_te1_, lora_te2_) for the tiny
    SDXL model, random (seeded) weights, written by the real export path."""
    import torch

    from loratui import families
    from loratui.train.check import load_pipeline
    from loratui.train.export import kohya_state_dict, serialize
    from loratui.train.lora import add_text_encoder_lora, add_unet_lora, lora_layers

    pipe = load_pipeline(model_dir)
    tes = [pipe.text_encoder, pipe.text_encoder_2]
    add_unet_lora(pipe.unet, rank, alpha)
    for te in tes:
        add_text_encoder_lora(te, rank, alpha)
    gen = torch.Generator().manual_seed(seed)
    for model in (pipe.unet, *tes):
        _randomize(lora_layers(model), gen, scale)
    tensors = kohya_state_dict(pipe.unet, tes, dtype="no", family=families.get("sdxl"))
    meta = {"ss_network_module": "networks.lora", "ss_network_dim": str(rank),
            "ss_network_alpha": f"{alpha:g}", "ss_base_model_version": "sdxl_base_v1-0",
            "ss_output_name": path.stem}
    path.write_bytes(serialize(tensors, meta))
    return path


def sd15_layout_lora(path: Path, *, rank: int = 2, alpha: float = 1.0, seed: int = 0,
                     block_scale: dict[str, float] | None = None) -> Path:
    """Every module of a full-size SD1.5 LoRA (FORMATS.md §1.1), fp16, shapes from the
    meta-device model, values random."""
    import torch

    from loratui.train.export import kohya_module_name, serialize
    from loratui.train.lora import TE_TARGET_BLOCKS, UNET_TARGET_BLOCKS, target_module_names
    from loratui.train.models import meta_sd15

    unet, te = meta_sd15()
    gen = torch.Generator().manual_seed(seed)
    tensors = {}
    for prefix, model, blocks in (("lora_unet", unet, UNET_TARGET_BLOCKS),
                                  ("lora_te", te, TE_TARGET_BLOCKS)):
        modules = dict(model.named_modules())
        for target in target_module_names(model, blocks):
            layer = modules[target]
            name = kohya_module_name(prefix, target)
            factor = 1.0
            for needle, f in (block_scale or {}).items():
                if needle in name:
                    factor = f
            if isinstance(layer, torch.nn.Conv2d):
                down_shape = (rank, layer.in_channels, 1, 1)
                up_shape = (layer.out_channels, rank, 1, 1)
            else:
                down_shape = (rank, layer.in_features)
                up_shape = (layer.out_features, rank)
            tensors[f"{name}.lora_down.weight"] = (
                torch.randn(down_shape, generator=gen) * 0.05).half()
            tensors[f"{name}.lora_up.weight"] = (
                torch.randn(up_shape, generator=gen) * 0.01 * factor).half()
            tensors[f"{name}.alpha"] = torch.tensor(alpha, dtype=torch.float16)
    meta = {"ss_network_module": "networks.lora", "ss_network_dim": str(rank),
            "ss_network_alpha": f"{alpha:g}", "ss_base_model_version": "sd_v1",
            "ss_output_name": path.stem}
    path.write_bytes(serialize(tensors, meta))
    return path


class Ran:
    def __init__(self, returncode: int, stdout: str, stderr: str) -> None:
        self.returncode, self.stdout, self.stderr = returncode, stdout, stderr


def run_cli(*args: str) -> Ran:
    """The real `loratui` command line in this process (argparse, run(), exit code, both
    streams), so tests pay the torch import once; `cli_process` runs it as a subprocess."""
    import contextlib
    import io

    from loratui.cli import main

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = main(list(args))
        except SystemExit as exc:  # argparse errors
            code = exc.code if isinstance(exc.code, int) else 2
    return Ran(code, out.getvalue(), err.getvalue())


def cli_process(*args: str, timeout: float = 180) -> Ran:
    import subprocess
    import sys

    r = subprocess.run([sys.executable, "-m", "loratui", *args], capture_output=True,
                       text=True, timeout=timeout)
    return Ran(r.returncode, r.stdout, r.stderr)

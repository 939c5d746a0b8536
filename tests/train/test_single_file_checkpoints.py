"""Single-file checkpoints as users bring them, at full size (sparse files: a real header,
the data a hole of zeros), through the family detection, the Start step's model check, the
trainer's pre-flight, `lora inspect` and the doctor. No weight is loaded."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from full_size_checkpoints import layout, without, write_sparse

from loratui import families
from loratui.basemodel import check_base_model


@pytest.fixture(autouse=True)
def _english(clean_language):
    """The messages are asserted in English, whatever language an earlier test left set."""


LDM_TE = "cond_stage_model.transformer.text_model."


def _older_clip_names(tensors):
    """SD1.x saved before transformers added the `text_model.` level."""
    return {k.replace(LDM_TE, "cond_stage_model.transformer."): v for k, v in tensors.items()}


def _ema(tensors):
    """The original SD1.5 release: an EMA copy of the UNet under `model_ema.` (dots dropped)."""
    ema = {"model_ema." + k[len("model.diffusion_model."):].replace(".", ""): v
           for k, v in tensors.items() if k.startswith("model.diffusion_model.")}
    return {**tensors, **ema, "model_ema.decay": (), "model_ema.num_updates": ()}


def _inpainting(tensors):
    key = "model.diffusion_model.input_blocks.0.0.weight"
    return {**tensors, key: (tensors[key][0], 9, *tensors[key][2:])}


def _markers(tensors):
    return {**tensors, "v_pred": (), "ztsnr": ()}


def _refiner(tensors):
    """An SDXL refiner: OpenCLIP alone, as `conditioner.embedders.0.model.`."""
    return {k.replace("conditioner.embedders.1.", "conditioner.embedders.0."): v
            for k, v in without(tensors, "conditioner.embedders.0.").items()}


def _sd2(tensors):
    return {**{k.replace("conditioner.embedders.1.", "cond_stage_model."): v
               for k, v in without(tensors, "conditioner.embedders.0.").items()}}


SD3 = {"model.diffusion_model.joint_blocks.0.context_block.adaLN_modulation.1.bias": (9216,),
       "text_encoders.clip_g.transformer.text_model.final_layer_norm.bias": (1280,),
       "first_stage_model.decoder.conv_in.bias": (512,)}
FLUX = {"double_blocks.0.img_attn.norm.key_norm.scale": (128,),
        "single_blocks.0.linear1.weight": (21504, 3072), "img_in.weight": (3072, 64)}

# name: (family layout, transform, dtype, family expected, trainable, words of the message)
CASES = {
    "sd15 fp16": ("sd15", None, "F16", "sd15", True, "SD1.5 single-file"),
    "sd15 older CLIP names": ("sd15", _older_clip_names, "F16", "sd15", True, "SD1.5"),
    "sd15 with EMA keys": ("sd15", _ema, "F32", "sd15", True, "SD1.5"),
    "sd15 without a VAE": ("sd15", lambda t: without(t, "first_stage_model."), "F16", "sd15",
                           False, "model.vae"),
    "sd15 inpainting": ("sd15", _inpainting, "F16", "sd15", False, "9 input channels"),
    "sd15 UNet only": ("sd15", lambda t: without(t, "cond_stage_model.", "first_stage_model."),
                       "F16", "sd15", False, "text encoder"),
    "sdxl (Pony) fp16": ("sdxl", None, "F16", "sdxl", True, "SDXL single-file"),
    "sdxl (Illustrious) bf16": ("sdxl", None, "BF16", "sdxl", True, "SDXL"),
    "sdxl without a VAE": ("sdxl", lambda t: without(t, "first_stage_model."), "F16", "sdxl",
                           False, "sdxl_vae"),
    "sdxl (NoobAI) v-pred": ("sdxl", _markers, "BF16", "sdxl", True, "v_prediction = true"),
    "sdxl refiner": ("sdxl", _refiner, "F16", "sdxl_refiner", False, "SDXL refiner"),
    "sd2": ("sdxl", _sd2, "F16", "sd2", False, "SD2.x"),
    "sd3": (None, SD3, "F16", "sd3", False, "SD3"),
    "flux": (None, FLUX, "BF16", "flux", False, "Flux"),
}


def checkpoint(tmp: Path, case: str) -> Path:
    fam, change, dtype, *_ = CASES[case]
    tensors = change if isinstance(change, dict) else layout(fam)
    if callable(change):
        tensors = change(tensors)
    return write_sparse(tmp / f"{case.replace(' ', '_')}.safetensors", tensors, dtype)


@pytest.mark.parametrize("case", CASES)
def test_the_start_check_on_full_size_checkpoints(tmp_path, case):
    _, _, _, family, trainable, words = CASES[case]
    path = checkpoint(tmp_path, case)
    assert os.stat(path).st_blocks * 512 < 1 << 20          # sparse: the test writes no GBs
    result = check_base_model(path)
    assert result.family == family and result.ok is trainable, result
    assert words in result.message and (trainable or path.name in result.message), \
        result.message
    assert families.detect(path) == family


def test_a_baked_in_vae_is_not_needed_with_model_vae(tmp_path):
    path = checkpoint(tmp_path, "sdxl without a VAE")
    assert check_base_model(path, vae="sdxl_vae.safetensors").ok is True


def test_preflight_names_what_keeps_a_checkpoint_from_training(tmp_path):
    from loratui.config import RunConfig
    from loratui.train.safety import preflight

    (tmp_path / "data").mkdir()

    def problems(case, **model):
        cfg = RunConfig.model_validate({"model": {"base": str(checkpoint(tmp_path, case)),
                                                  **model},
                                        "dataset": {"dir": str(tmp_path / "data")},
                                        "output": {"dir": str(tmp_path / "runs")}})
        return " | ".join(preflight(cfg))

    assert "model.v_prediction = true and model.zero_terminal_snr = true" in \
        problems("sdxl (NoobAI) v-pred")
    assert problems("sdxl (NoobAI) v-pred", v_prediction=True) == ""
    assert "model.vae" in problems("sd15 without a VAE")
    assert problems("sd15 without a VAE", vae=str(tmp_path / "vae.safetensors")) == ""
    assert "Flux" in problems("flux") and "inpainting" in problems("sd15 inpainting")
    assert problems("sdxl (Pony) fp16") == ""


def test_the_wizard_takes_the_v_prediction_marker_from_the_file(tmp_path):
    from loratui.config import RunConfig
    from loratui.ui import core

    path = checkpoint(tmp_path, "sdxl (NoobAI) v-pred")
    check = core.check_base_model(path)
    assert check.ok is True and "v-prediction model" in check.text
    model = RunConfig().model
    core.apply_checkpoint_markers(model, path)
    assert model.v_prediction is True and model.zero_terminal_snr is True
    plain = RunConfig().model
    core.apply_checkpoint_markers(plain, checkpoint(tmp_path, "sdxl (Pony) fp16"))
    assert plain.v_prediction is False


@pytest.mark.parametrize("case", ["sd15 fp16", "sdxl (Illustrious) bf16", "flux"])
def test_lora_inspect_and_doctor_on_a_checkpoint_read_only_the_header(tmp_path, case):
    path = checkpoint(tmp_path, case)
    env = {**os.environ, "COLUMNS": "200"}
    inspect = subprocess.run([sys.executable, "-m", "loratui", "lora", "inspect", str(path)],
                             capture_output=True, text=True, timeout=60, env=env)
    assert inspect.returncode == 0, inspect.stderr
    label = {"sd15": "SD1.x", "sdxl": "SDXL", "flux": "Flux"}[CASES[case][3]]
    assert "not a LoRA" in inspect.stdout and f"family      {label}" in inspect.stdout
    assert "NaN" not in inspect.stdout                      # no scan of gigabytes of weights
    doctor = subprocess.run([sys.executable, "-m", "loratui", "doctor", str(path)],
                            capture_output=True, text=True, timeout=60, env=env)
    assert doctor.returncode == 1 and "LF102" in doctor.stdout, doctor.stdout + doctor.stderr
    assert "Traceback" not in doctor.stderr + inspect.stderr


def test_what_is_no_base_model_is_said_to_be_none(tmp_path):
    from loratui.config import RunConfig
    from loratui.train.safety import preflight

    k = "lora_unet_down_blocks_0_attentions_0_transformer_blocks_0_attn2_to_k"
    lora = write_sparse(tmp_path / "my_lora.safetensors",
                        {f"{k}.lora_down.weight": (8, 768), f"{k}.lora_up.weight": (320, 8),
                         f"{k}.alpha": ()})
    vae = write_sparse(tmp_path / "sdxl_vae.safetensors",
                       {k: v for k, v in layout("sdxl").items()
                        if k.startswith("first_stage_model.")})
    pipe = tmp_path / "pipe.safetensors"
    os.mkfifo(pipe)                                  # reading it would wait for ever
    loop = tmp_path / "loop.safetensors"
    loop.symlink_to(loop.name)
    for path, words in ((lora, "is a LoRA, not a base model"),
                        (vae, "is a VAE alone, not a base model"),
                        (pipe, "not a regular file"), (loop, "link loop")):
        result = check_base_model(path)
        assert result.ok is False and words in result.message and path.name in \
            result.message, result.message
    (tmp_path / "data").mkdir()
    cfg = RunConfig.model_validate({"model": {"base": str(lora)},
                                    "dataset": {"dir": str(tmp_path / "data")},
                                    "output": {"dir": str(tmp_path / "runs")}})
    assert any("is a LoRA, not a base model" in p for p in preflight(cfg))


def test_one_command_reads_a_checkpoint_header_once(tmp_path, monkeypatch):
    """The Start check, the pre-flight (weights, verdict, family) and the loader's family
    all ask about the same file: its header is parsed once, and again once it changes."""
    from loratui import checkpoint as headers
    from loratui.config import RunConfig
    from loratui.lora import reader
    from loratui.train.safety import preflight

    reads = []
    real = reader.read_header
    monkeypatch.setattr(reader, "read_header", lambda path: reads.append(path) or real(path))
    monkeypatch.setattr(headers, "_HEADERS", {})
    path = checkpoint(tmp_path, "sdxl (NoobAI) v-pred")
    (tmp_path / "data").mkdir()
    cfg = RunConfig.model_validate({"model": {"base": str(path), "v_prediction": True},
                                    "dataset": {"dir": str(tmp_path / "data")},
                                    "output": {"dir": str(tmp_path / "runs")}})
    assert preflight(cfg) == [] and check_base_model(path).ok is True
    assert families.resolve(path).id == "sdxl" and len(reads) == 1
    write_sparse(path, without(layout("sdxl"), "first_stage_model."))     # replaced
    assert "model.vae" in check_base_model(path).message and len(reads) == 2


def test_a_tiny_single_file_is_refused_alike_by_the_check_and_the_trainer(
        tiny_model, tiny_sdxl_model, cfg_factory, tmp_path):
    """The tiny model written as one file (names and layout as A1111 saves it) has none of
    SD1.5's standard shapes. The single-file loader builds on the standard configs and the
    head count is in no shape, so it cannot load: the Start check, the pre-flight of a real
    `loratui train` and the loader all say so, naming the file and the fix, and no model is
    built. The same tiny model as a diffusers folder trains (the rest of tests/train)."""
    from ldm_checkpoint import save_ldm_checkpoint, save_sgm_checkpoint
    from train_helpers import cli

    from loratui.config import save_config
    from loratui.train.models import ModelLoadError, load_components

    sd15 = save_ldm_checkpoint(tiny_model, tmp_path / "tiny sd15.safetensors")
    sdxl = save_sgm_checkpoint(tiny_sdxl_model, tmp_path / "tinyXL.safetensors")
    for path, family, width in ((sd15, "SD1.5", "32, not 768"), (sdxl, "SDXL", "80, not 2048")):
        check = check_base_model(path)
        assert check.ok is False and check.message.startswith(
            f"{path.name}: not the standard {family} layout (cross-attention width {width}; "
            "UNet channels 32, not 320")
        assert "diffusers folder" in check.message
        with pytest.raises(ModelLoadError) as loaded:
            load_components(path)
        assert str(loaded.value) == check.message
    assert load_components(sd15, config_dir=tiny_model).unet.config.cross_attention_dim == 32
    cfg = cfg_factory()
    cfg.model.base = str(sd15)
    save_config(cfg, tmp_path / "loratui.toml")
    train = cli("train", str(tmp_path / "loratui.toml"))
    assert train.returncode == 2 and "Traceback" not in train.stderr, train.stderr
    assert check_base_model(sd15).message in train.stderr.replace("\n", " ")
    assert not list((tmp_path / "runs").glob("*"))          # no run folder was made

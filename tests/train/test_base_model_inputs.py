"""Base models as users really give them, through the Start check, the pre-flight and the
loader: files that are something else, fp8 and annotated checkpoints, diffusers folders as
the hub ships them, pickles, and paths pasted from other machines. Full-size layouts are
sparse headers (no weights); what must load is the tiny model, loaded for real."""

from __future__ import annotations

from pathlib import Path

import pytest
from full_size_checkpoints import layout, write_sparse

from loratui.basemodel import check_base_model


@pytest.fixture(autouse=True)
def _english(clean_language):
    """The messages are asserted in English, whatever language an earlier test left set."""


TO_K = "down_blocks.0.attentions.0.transformer_blocks.0.attn2.to_k.weight"


def _bare_vae():
    return {k[len("first_stage_model."):]: v for k, v in layout("sd15").items()
            if k.startswith("first_stage_model.")}


def _ldm_controlnet():
    unet = {k.replace("model.diffusion_model.", "control_model."): v
            for k, v in layout("sd15").items()
            if k.startswith("model.diffusion_model.input_blocks.")}
    return {**unet, "control_model.input_hint_block.0.weight": (16, 3, 3, 3),
            "control_model.zero_convs.0.0.weight": (320, 320, 1, 1)}


# name: (tensors, words the message must hold)
NOT_BASE_MODELS = {
    "embedding (SD1.5, A1111)": ({"emb_params": (8, 768)}, "a textual-inversion embedding"),
    "embedding (SDXL)": ({"clip_l": (8, 768), "clip_g": (8, 1280)},
                         "a textual-inversion embedding"),
    "embedding (old .pt layout)": ({"string_to_param.*": (2, 768)},
                                   "a textual-inversion embedding"),
    "VAE (vae-ft-mse-840000)": (_bare_vae, "a VAE alone"),
    "VAE (sdxl_vae, prefixed)": (lambda: {k: v for k, v in layout("sdxl").items()
                                          if k.startswith("first_stage_model.")},
                                 "a VAE alone"),
    "VAE (diffusers)": ({"encoder.conv_in.weight": (128, 3, 3, 3),
                         "encoder.down_blocks.0.resnets.0.conv1.weight": (128, 128, 3, 3),
                         "decoder.up_blocks.0.resnets.0.conv1.weight": (512, 512, 3, 3)},
                        "a VAE alone"),
    "ControlNet (control_v11p_sd15_canny)": (_ldm_controlnet, "a ControlNet"),
    "ControlNet (diffusers)": ({"controlnet_cond_embedding.conv_in.weight": (16, 3, 3, 3),
                                "conv_in.weight": (320, 4, 3, 3), TO_K: (320, 768)},
                               "a ControlNet"),
    "upscaler (RealESRGAN_x4plus)": ({"conv_first.weight": (64, 3, 3, 3),
                                      "body.0.rdb1.conv1.weight": (32, 64, 3, 3)},
                                     "an image upscaler"),
    "upscaler (old ESRGAN)": ({"model.0.weight": (64, 3, 3, 3),
                               "model.1.sub.0.RDB1.conv1.0.weight": (32, 64, 3, 3)},
                              "an image upscaler"),
    "LoRA": ({"lora_unet_down_blocks_0_attentions_0_proj_in.lora_down.weight": (8, 320),
              "lora_unet_down_blocks_0_attentions_0_proj_in.alpha": ()}, "a LoRA"),
    "text encoder (clip_l)": ({"text_model.embeddings.token_embedding.weight": (49408, 768)},
                              "a text encoder alone"),
}


@pytest.mark.parametrize("case", NOT_BASE_MODELS)
def test_a_file_that_is_no_base_model_is_named_for_what_it_is(tmp_path, case):
    from loratui.config import RunConfig
    from loratui.train.safety import preflight

    tensors, words = NOT_BASE_MODELS[case]
    path = write_sparse(tmp_path / "given.safetensors",
                        tensors() if callable(tensors) else tensors)
    result = check_base_model(path)
    assert result.ok is False, result
    assert result.message.startswith(f"given.safetensors is {words}"), result.message
    assert "not a base model" in result.message and "models/Stable-diffusion" in result.message
    (tmp_path / "data").mkdir()
    cfg = RunConfig.model_validate({"model": {"base": str(path)},
                                    "dataset": {"dir": str(tmp_path / "data")},
                                    "output": {"dir": str(tmp_path / "runs")}})
    assert [p for p in preflight(cfg) if "given.safetensors" in p] == \
        [f"{result.message} (model.base)"]


def _preflight(tmp_path, base, **model):
    from loratui.config import RunConfig
    from loratui.train.safety import preflight

    (tmp_path / "data").mkdir(exist_ok=True)
    cfg = RunConfig.model_validate({"model": {"base": str(base), **model},
                                    "dataset": {"dir": str(tmp_path / "data")},
                                    "output": {"dir": str(tmp_path / "runs")}})
    return preflight(cfg)


@pytest.mark.parametrize("suffix", [".ckpt", ".pt", ".pth", ".bin"])
def test_a_pickle_base_model_is_refused_unopened_with_the_conversion(tmp_path, suffix):
    from loratui.train.models import ModelLoadError, load_components

    path = tmp_path / f"v1-5-pruned-emaonly{suffix}"
    path.write_bytes(b"\x80\x04not read")
    path.chmod(0)                                   # opening it would fail: it is not opened
    result = check_base_model(path)
    assert result.ok is False and result.message.startswith(
        f"{path.name}: a pickle checkpoint ({suffix}) can run any code")
    assert "weights_only=True" in result.message and ".safetensors version" in result.message
    assert _preflight(tmp_path, path) == [f"{result.message} (model.base)"]
    with pytest.raises(ModelLoadError) as loaded:
        load_components(path)
    assert str(loaded.value) == result.message


def test_paths_with_a_tilde_and_spaces_and_windows_paths(tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path))
    write_sparse(tmp_path / "my models" / "Pony XL v6.safetensors", layout("sdxl"))
    tilde = "~/my models/Pony XL v6.safetensors"
    assert check_base_model(tilde).ok is True and _preflight(tmp_path, tilde) == []
    pasted = r"C:\Users\me\stable-diffusion-webui\models\Stable-diffusion\ponyXL.safetensors"
    result = check_base_model(pasted)
    assert result.ok is False and result.message.startswith(f"{pasted} is a Windows path")
    assert "~/models/ponyXL.safetensors" in result.message
    assert _preflight(tmp_path, pasted) == [f"{result.message} (model.base)"]
    assert "does not exist" in check_base_model(tmp_path / "nowhere.safetensors").message


def test_a_windows_path_under_wsl_names_the_mounted_drive(tmp_path, monkeypatch):
    from loratui import basemodel

    mounted = tmp_path / "mnt" / "d" / "SD" / "models" / "x.safetensors"
    monkeypatch.setattr(basemodel, "WSL_DRIVES", tmp_path / "mnt")
    write_sparse(mounted, layout("sd15"))
    result = check_base_model("D:/SD/models/x.safetensors")
    assert result.message == ("D:/SD/models/x.safetensors is a Windows path; this machine "
                              f"sees that drive under /mnt: give {mounted}")


def _copy(model, to):
    import shutil

    return Path(shutil.copytree(model, to))


def test_a_hub_folder_with_only_fp16_variant_files_loads_and_trains(tiny_model, cfg_factory,
                                                                     tmp_path):
    """`diffusion_pytorch_model.fp16.safetensors` / `model.fp16.safetensors` and nothing
    else, as many hub repositories ship: the check passes, the loader takes the variant,
    and a real run finishes."""
    import torch
    from safetensors.torch import load_file, save_file

    from loratui.train import train
    from loratui.train.models import load_components

    model = _copy(tiny_model, tmp_path / "hub-model")
    for part, stem in (("unet", "diffusion_pytorch_model"), ("vae", "diffusion_pytorch_model"),
                       ("text_encoder", "model")):
        plain = model / part / f"{stem}.safetensors"
        save_file({k: v.to(torch.float16) for k, v in load_file(plain).items()},
                  model / part / f"{stem}.fp16.safetensors")
        plain.unlink()
    assert check_base_model(model).ok is True
    unet = load_components(model).unet
    assert next(unet.parameters()).dtype == torch.float32    # widened as it loads
    cfg = cfg_factory(training={"epochs": 1, "save_every_n_epochs": 0})
    cfg.model.base = str(model)
    result = train(cfg, log_to_stderr=False)
    assert result.state == "finished", result.message


def test_diffusers_folders_with_parts_missing_or_given_by_a_part(tiny_model, tmp_path):
    import shutil

    model = _copy(tiny_model, tmp_path / "model")
    unet = check_base_model(model / "unet")
    assert unet.ok is False and unet.message == (
        f"{model / 'unet'} is the unet/ part (UNet2DConditionModel) of a diffusers model: "
        f"give the model's folder, {model}")
    (model / "model_index.json").unlink()
    lone = check_base_model(model / "unet").message
    assert "holds one diffusers component (UNet2DConditionModel)" in lone
    assert "has no model_index.json" in check_base_model(model).message
    files = tmp_path / "Stable-diffusion"
    write_sparse(files / "ponyXL.safetensors", layout("sdxl"))
    assert check_base_model(files).message.endswith(
        f"give one checkpoint, e.g. {files / 'ponyXL.safetensors'}")

    partial = _copy(tiny_model, tmp_path / "partial")
    shutil.rmtree(partial / "vae")
    shutil.rmtree(partial / "text_encoder")
    result = check_base_model(partial)
    assert result.ok is False and result.message.startswith(
        f"{partial}: the diffusers SD1.5 model has no vae/, text_encoder/: a partial download?")
    assert _preflight(tmp_path, partial) == [f"{result.message} (model.base)"]
    assert "has no text_encoder/:" in check_base_model(partial, vae="sd-vae.safetensors").message


def _extra_keys(tensors):
    """What original-layout checkpoints carry beside the weights: the DDPM schedule, EMA
    copies (dots dropped, as the SD1.5 release has them) and textual-inversion leftovers."""
    ema = {"model_ema." + k[len("model.diffusion_model."):].replace(".", ""): v
           for k, v in list(tensors.items())[:50] if k.startswith("model.diffusion_model.")}
    return {**tensors, **ema, "model_ema.decay": (), "model_ema.num_updates": (),
            "alphas_cumprod": (1000,), "alphas_cumprod_prev": (1000,), "betas": (1000,),
            "embedding_manager.embedder.transformer.text_model.embeddings.token_embedding"
            ".weight": (49408, 768)}


def _scaled_fp8(tensors):
    scales = {k.replace(".weight", ".scale_weight"): () for k in list(tensors)[:20]
              if k.endswith(".weight")}
    return {**tensors, **scales, "scaled_fp8": ()}


def _fewer_blocks(tensors):
    """BK-SDM-like: a distilled SD1.5 UNet with blocks taken out."""
    return {k: v for k, v in tensors.items()
            if not k.startswith(("model.diffusion_model.input_blocks.10.",
                                 "model.diffusion_model.input_blocks.11."))}


def _shallower(tensors):
    """KOALA-like: a distilled SDXL UNet with its 10-layer transformers cut to 5."""
    import re

    deep = re.compile(r"\.transformer_blocks\.([5-9])\.")
    return {k: v for k, v in tensors.items() if not deep.search(k)}


PONY = {"modelspec.architecture": "stable-diffusion-xl-v1-base",
        "modelspec.title": "Pony Diffusion V6 XL", "modelspec.prediction_type": "epsilon"}
NOOB_V = {"modelspec.architecture": "stable-diffusion-xl-v1-base",
          "modelspec.title": "NoobAI-XL V-Pred 1.0", "modelspec.prediction_type": "v"}

# name: (family, transform, dtype, metadata, trainable, words, v-prediction)
SHAPES = {
    "sdxl fp8 e4m3 (Forge)": ("sdxl", None, "F8_E4M3", None, True,
                              "Its weights are fp8 (F8_E4M3): they are widened", False),
    "sd15 fp8 e5m2": ("sd15", None, "F8_E5M2", None, True, "so it trains", False),
    "sdxl scaled fp8 (ComfyUI)": ("sdxl", _scaled_fp8, "F8_E4M3", None, False,
                                  "a scaled fp8 checkpoint", False),
    "sd15 with EMA, schedule and embedding_manager keys": ("sd15", _extra_keys, "F16", None,
                                                          True, "✓ SD1.5 single-file", False),
    "distilled SD1.5 (fewer blocks)": ("sd15", _fewer_blocks, "F16", None, False,
                                       "(UNet input blocks 10, not 12)", False),
    "distilled SDXL (shallower)": ("sdxl", _shallower, "F16", None, False,
                                   "(transformer depth 5, not 10)", False),
    "sdxl with a schedule": ("sdxl", lambda t: {**t, "alphas_cumprod": (1000,)}, "F16",
                             None, True, "✓ SDXL single-file", False),
    "Pony with modelspec": ("sdxl", None, "F16", PONY, True,
                            "✓ SDXL single-file checkpoint: Pony Diffusion V6 XL (its "
                            "modelspec.title)", False),
    "SD1.5 weights with Pony's modelspec": ("sd15", None, "F16", PONY, True,
                                            "✓ SD1.5 single-file checkpoint", False),
    "NoobAI v-pred by modelspec only": ("sdxl", None, "BF16", NOOB_V, True,
                                        "v-prediction (its modelspec.prediction_type)", True),
    "SD1.5 weights claiming v by an SDXL modelspec": ("sd15", None, "F16", NOOB_V, True,
                                                      "✓ SD1.5 single-file", False),
}


@pytest.mark.parametrize("case", SHAPES)
def test_fp8_extra_keys_and_modelspec_on_full_size_headers(tmp_path, case):
    family, change, dtype, metadata, trainable, words, v_pred = SHAPES[case]
    tensors = change(layout(family)) if change else layout(family)
    path = write_sparse(tmp_path / "model.safetensors", tensors, dtype, metadata)
    result = check_base_model(path)
    assert result.ok is trainable and result.family == family, result
    assert words in result.message, result.message
    assert result.v_prediction is v_pred
    if metadata and family == "sd15":
        assert "Pony" not in result.message and "NoobAI" not in result.message
    problems = _preflight(tmp_path, path, v_prediction=v_pred)
    assert problems == ([] if trainable else [f"{result.message} (model.base)"])
    if v_pred:
        assert "its modelspec.prediction_type" in " ".join(_preflight(tmp_path, path))


def test_an_fp8_checkpoint_with_extra_keys_loads_widened_on_the_tiny_model(tiny_model,
                                                                          tmp_path):
    """fp8 weights load widened to float32 (exactly the fp8-rounded values); the schedule,
    EMA and embedding_manager keys beside them are left alone."""
    import torch
    from ldm_checkpoint import save_ldm_checkpoint
    from safetensors.torch import load_file, save_file

    from loratui.train.models import load_components

    plain = load_file(save_ldm_checkpoint(tiny_model, tmp_path / "tiny.safetensors"))
    fp8 = {k: v.to(torch.float8_e4m3fn) if v.dim() > 1 else v for k, v in plain.items()}
    fp8.update({"alphas_cumprod": torch.ones(1000), "model_ema.decay": torch.tensor(0.9999),
                "embedding_manager.embedder.x": torch.zeros(2, 3)})
    save_file(fp8, tmp_path / "tiny_fp8.safetensors")
    parts = load_components(tmp_path / "tiny_fp8.safetensors", config_dir=tiny_model)
    conv_in = plain["model.diffusion_model.input_blocks.0.0.weight"]
    assert parts.unet.conv_in.weight.dtype == torch.float32
    assert torch.equal(parts.unet.conv_in.weight, conv_in.to(torch.float8_e4m3fn).float())
    assert not torch.equal(parts.unet.conv_in.weight, conv_in)     # rounded: really fp8


def test_config_check_gives_the_same_verdict_on_a_base_model_that_is_here(tmp_path):
    from train_helpers import cli

    vae = write_sparse(tmp_path / "models" / "sdxl_vae.safetensors",
                       {k: v for k, v in layout("sdxl").items()
                        if k.startswith("first_stage_model.")})
    pony = write_sparse(tmp_path / "models" / "ponyXL.safetensors", layout("sdxl"))
    config = tmp_path / "loratui.toml"
    for base, code in ((vae, 1), (pony, 0), ("/elsewhere/ponyXL.safetensors", 0),
                       (tmp_path / "models" / "v1-5.ckpt", 1)):
        if str(base).endswith(".ckpt"):
            base.write_bytes(b"\x80\x04")
        config.write_text(f'[model]\nbase = "{base}"\n')
        checked = cli("config", "check", str(config))
        assert checked.returncode == code, checked.stdout + checked.stderr
        if code:
            assert checked.stdout == f"error: {check_base_model(base).message} (model.base)\n"
        else:
            assert checked.stdout == f"{config}: ok\n"

"""Export: kohya SD1.5 names and metadata, and the file behaves like the trained model when
diffusers loads it (`load_lora_weights`)."""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import stat
import struct

import pytest
from train_helpers import make_config, read_lora_file


@pytest.fixture(scope="module")
def trained(tiny_model, demo_dataset, tmp_path_factory):
    """A real short run with alpha != rank and a text-encoder LoRA, LR high enough that the
    LoRA moves the outputs visibly."""
    from loratui.train.loop import Trainer
    from loratui.train.runfolder import RunWriter

    cfg = make_config(tiny_model, demo_dataset, tmp_path_factory.mktemp("export") / "runs",
                      network={"rank": 4, "alpha": 2.0, "train_text_encoder": True},
                      optimizer={"unet_lr": 2e-2, "text_encoder_lr": 1e-2},
                      training={"epochs": 2, "save_every_n_epochs": 1})
    old = os.umask(0o022)  # the run's files must follow it (a WebUI as another user reads them)
    try:
        trainer = Trainer(cfg, RunWriter.create(cfg))
        result = trainer.train()
    finally:
        os.umask(old)
    assert result.state == "finished", result.message
    return trainer, result


def test_run_outputs_are_readable_as_the_umask_says(trained):
    _trainer, result = trained
    files = [p for p in result.run_dir.rglob("*") if p.is_file()]
    assert result.lora_path in files and len(files) > 5
    assert {"state.json", "config.toml", "metrics.jsonl"} <= {p.name for p in files}
    modes = {str(p.relative_to(result.run_dir)): oct(stat.S_IMODE(p.stat().st_mode))
             for p in files}
    assert set(modes.values()) == {"0o644"}, modes
    dirs = [p for p in result.run_dir.rglob("*") if p.is_dir()]
    assert all(stat.S_IMODE(p.stat().st_mode) == 0o755 for p in dirs)


def _probe_inputs(seed=0):
    import torch

    g = torch.Generator().manual_seed(seed)
    sample = torch.randn(2, 4, 8, 8, generator=g)
    hidden = torch.randn(2, 77, 32, generator=g)
    ids = torch.randint(0, 500, (2, 77), generator=g)
    return sample, torch.tensor([10, 700]), hidden, ids


def _outputs(unet, te):
    import torch

    sample, t, hidden, ids = _probe_inputs()
    unet.eval()
    te.eval()
    with torch.no_grad():
        u = unet(sample, t, hidden, return_dict=False)[0]
        e = te(ids, return_dict=False)[0]
    return u, e


def _fresh_pipe(tiny_model, lora_path=None):
    from loratui.train.check import load_lora, load_pipeline

    pipe = load_pipeline(tiny_model)
    if lora_path is not None:
        load_lora(pipe, lora_path)
    return pipe


def test_export_reloaded_with_diffusers_matches_trained_model(trained, tiny_model, tmp_path):
    import torch

    from loratui.train.export import export_lora

    trainer, result = trainer_result = trained
    assert trainer_result
    u_trained, e_trained = _outputs(trainer.comps.unet, trainer.comps.text_encoder)
    base = _fresh_pipe(tiny_model)
    u_base, e_base = _outputs(base.unet, base.text_encoder)
    # the LoRA really changes both models (else the comparison below proves nothing)
    assert (u_trained - u_base).abs().max() > 1e-3
    assert (e_trained - e_base).abs().max() > 1e-3

    fp32 = export_lora(tmp_path / "fp32.safetensors", trainer.comps.unet,
                       trainer.comps.text_encoder, trainer.cfg, dtype="no")
    pipe = _fresh_pipe(tiny_model, fp32)
    u, e = _outputs(pipe.unet, pipe.text_encoder)
    # fp32 file: identical maths up to float rounding
    torch.testing.assert_close(u, u_trained, atol=1e-5, rtol=1e-4)
    torch.testing.assert_close(e, e_trained, atol=1e-5, rtol=1e-4)

    # the default fp16 file (the run's final LoRA): fp16 rounding of the LoRA weights only
    pipe16 = _fresh_pipe(tiny_model, result.lora_path)
    u16, e16 = _outputs(pipe16.unet, pipe16.text_encoder)
    torch.testing.assert_close(u16, u_trained, atol=2e-3, rtol=2e-3)
    torch.testing.assert_close(e16, e_trained, atol=2e-3, rtol=2e-3)

    # strength 0 restores the base model exactly
    pipe16.set_adapters(["lora"], adapter_weights=[0.0])
    u0, e0 = _outputs(pipe16.unet, pipe16.text_encoder)
    torch.testing.assert_close(u0, u_base, atol=1e-6, rtol=0)
    torch.testing.assert_close(e0, e_base, atol=1e-6, rtol=0)


def test_exported_file_is_kohya_sd15(trained):
    import torch
    from safetensors import safe_open

    _trainer, result = trained
    keys, meta, tensors, modules = read_lora_file(result.lora_path)
    assert all(k.startswith(("lora_unet_", "lora_te_")) for k in keys)
    assert not any(k.startswith("lora_te1_") for k in keys)
    assert len([m for m in modules if m.startswith("lora_unet_")]) == 48  # 4 blocks × 12
    te_mods = [m for m in modules if m.startswith("lora_te_")]
    assert len(te_mods) == 12 and all(m.startswith("lora_te_text_model_encoder_layers_")
                                      for m in te_mods)
    for m in modules:
        assert {f"{m}.lora_down.weight", f"{m}.lora_up.weight", f"{m}.alpha"} <= keys
        assert tensors[f"{m}.alpha"].dim() == 0 and float(tensors[f"{m}.alpha"]) == 2.0
        assert tensors[f"{m}.lora_down.weight"].dtype == torch.float16
        assert tensors[f"{m}.lora_down.weight"].shape[0] == 4
    proj_in = "lora_unet_down_blocks_0_attentions_0_proj_in"
    assert tensors[f"{proj_in}.lora_down.weight"].dim() == 4  # 1×1 conv stays 4-D
    assert meta["ss_network_module"] == "networks.lora"
    assert meta["ss_network_dim"] == "4" and meta["ss_network_alpha"] == "2"
    assert meta["ss_base_model_version"] == "sd_v1"
    assert meta["ss_resolution"] == "(64, 64)"
    assert meta["ss_num_train_images"] == "8" and meta["ss_num_epochs"] == "2"
    assert float(meta["ss_unet_lr"]) == 2e-2 and float(meta["ss_text_encoder_lr"]) == 1e-2
    assert meta["ss_output_name"] == "test_lora"
    freq = json.loads(meta["ss_tag_frequency"])
    assert freq["dataset"]["sks"] >= 6
    assert meta["ss_training_started_at"] and meta["ss_training_finished_at"]
    assert meta["modelspec.architecture"] == "stable-diffusion-v1/lora"
    assert meta["modelspec.sai_model_spec"] == "1.0.1"
    assert meta["modelspec.trigger_phrase"] == "sks"
    blob = result.lora_path.read_bytes()
    (n,) = struct.unpack("<Q", blob[:8])
    assert meta["sshs_model_hash"] == hashlib.sha256(blob[8 + n:]).hexdigest()
    # epoch checkpoints exist and are kohya files too
    ckpts = sorted((result.run_dir / "checkpoints").glob("*.safetensors"))
    assert [p.name for p in ckpts] == ["test_lora-e0001.safetensors"]
    with safe_open(str(ckpts[0]), framework="pt") as fh:  # epochs run when it was saved
        assert fh.metadata()["ss_num_epochs"] == "1" and fh.metadata()["ss_epoch"] == "1"


def _a1111_metadata(path):
    """The metadata as AUTOMATIC1111 reads a .safetensors header: the 8-byte length, the JSON
    header, and every value that starts with "{" decoded as JSON."""
    with open(path, "rb") as fh:
        size = int.from_bytes(fh.read(8), "little")
        header = json.loads(fh.read(size))
    out = {}
    for key, value in header.get("__metadata__", {}).items():
        out[key] = value
        if isinstance(value, str) and value[:1] == "{":
            with contextlib.suppress(ValueError):
                out[key] = json.loads(value)
    return out


def test_a1111_metadata_dialog_reads_the_export(trained):
    """What the Lora tab's metadata dialog computes from our file must not raise."""
    import datetime

    _trainer, result = trained
    meta = _a1111_metadata(result.lora_path)
    started = float(meta["ss_training_started_at"])  # the dialog's "Date trained"
    finished = float(meta["ss_training_finished_at"])
    now = datetime.datetime.now(datetime.timezone.utc).timestamp()
    assert now - 3600 < started <= finished <= now + 1
    date = datetime.datetime.fromtimestamp(started, datetime.timezone.utc).strftime("%Y-%m-%d")
    assert len(date) == 10
    for key in ("ss_output_name", "ss_sd_model_name", "ss_clip_skip", "ss_network_module"):
        assert isinstance(meta[key], str)  # html.escape()d as text
    buckets = meta["ss_bucket_info"]["buckets"]  # "Resolution:" row
    assert sum(int(b["count"]) for b in buckets.values()) == 8
    assert {f"{b['resolution'][1]}x{b['resolution'][0]}" for b in buckets.values()} == {"64x64"}
    images = sum(int(p.get("img_count", 0)) for p in meta["ss_dataset_dirs"].values())
    assert images == 8  # "Dataset size:" row
    tags = {t.strip(): int(n) for d in meta["ss_tag_frequency"].values() for t, n in d.items()}
    assert tags["sks"] >= 6  # the tag cloud
    assert not str(meta["ss_base_model_version"]).startswith("sdxl_")  # shown as SD1
    assert meta["ss_v2"] == "False"
    assert int(meta["ss_num_epochs"]) == 2 == int(meta["ss_epoch"])


def test_metadata_times_are_unix_seconds_and_epochs_those_run():
    from loratui.config import RunConfig
    from loratui.train.export import build_metadata, unix_time

    cfg = RunConfig.model_validate({"training": {"epochs": 10}})
    meta = build_metadata(cfg, {"started_at": "2026-11-25T03:00:00+00:00",
                                "finished_at": "2026-11-25T04:30:00+00:00", "num_epochs": 3})
    assert meta["ss_training_started_at"] == "1795575600.0"
    assert float(meta["ss_training_finished_at"]) - float(meta["ss_training_started_at"]) == 5400
    assert meta["ss_num_epochs"] == "3"
    assert unix_time(None) == "" and unix_time("not a date") == ""
    assert unix_time("2026-11-25T03:00:00") == "1795575600.0"  # naive: UTC, as the run writes


def test_full_size_sd15_has_192_unet_and_72_text_encoder_modules():
    import torch

    from loratui.train.export import kohya_module_names
    from loratui.train.lora import add_text_encoder_lora, add_unet_lora
    from loratui.train.models import meta_sd15

    unet, te = meta_sd15()
    with torch.device("meta"):
        add_unet_lora(unet, 8, 8)
        add_text_encoder_lora(te, 8, 8)
    names = kohya_module_names(unet, te)
    # the expected set, written out from kohya's rules (FORMATS.md §1.1)
    blocks = [f"down_blocks_{i}_attentions_{j}" for i in range(3) for j in range(2)]
    blocks += ["mid_block_attentions_0"]
    blocks += [f"up_blocks_{i}_attentions_{j}" for i in (1, 2, 3) for j in range(3)]
    tb = "transformer_blocks_0"
    inner = ["proj_in", "proj_out", f"{tb}_ff_net_0_proj", f"{tb}_ff_net_2"]
    inner += [f"{tb}_{a}_{p}" for a in ("attn1", "attn2") for p in ("to_q", "to_k", "to_v",
                                                                   "to_out_0")]
    expected_unet = {f"lora_unet_{b}_{m}" for b in blocks for m in inner}
    expected_te = {f"lora_te_text_model_encoder_layers_{n}_{m}" for n in range(12)
                   for m in ("self_attn_q_proj", "self_attn_k_proj", "self_attn_v_proj",
                             "self_attn_out_proj", "mlp_fc1", "mlp_fc2")}
    assert len(expected_unet) == 192 and len(expected_te) == 72
    assert len(names) == len(set(names)) == 264
    assert set(names) == expected_unet | expected_te


def test_generate_with_the_exported_lora(trained, tiny_model, tmp_path):
    """The LoRA changes generated images; at weight 0 the image is the base model's."""
    import numpy as np
    import torch
    from PIL import Image

    from loratui.train.check import load_pipeline, render_with_lora

    _, result = trained
    paths = render_with_lora(tiny_model, result.lora_path, tmp_path, prompt="sks, a girl",
                             weights=(0.0, 1.0))
    with_0, with_1 = (np.asarray(Image.open(p), dtype=np.int16) for p in paths)
    base = load_pipeline(tiny_model)
    gen = torch.Generator("cpu").manual_seed(1234)
    plain = np.asarray(base("sks, a girl", height=64, width=64, num_inference_steps=4,
                            generator=gen).images[0], dtype=np.int16)
    assert np.abs(with_0 - plain).max() <= 1
    assert np.abs(with_1 - plain).mean() > 1.0

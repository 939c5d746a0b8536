"""SDXL end to end on the tiny SDXL-shaped model: train (two text encoders, pooled embeddings,
add_time_ids), export in kohya's SDXL format, and load it back with diffusers'
`StableDiffusionXLPipeline.load_lora_weights` — the same tolerances as SD1.5."""

from __future__ import annotations

import re

import pytest
from train_helpers import make_config, read_lora_file

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def trained_xl(tiny_sdxl_model, demo_dataset, tmp_path_factory):
    from loratui.train.loop import Trainer
    from loratui.train.runfolder import RunWriter

    cfg = make_config(tiny_sdxl_model, demo_dataset, tmp_path_factory.mktemp("xl") / "runs",
                      network={"rank": 4, "alpha": 2.0, "train_text_encoder": True},
                      optimizer={"unet_lr": 2e-2, "text_encoder_lr": 1e-2,
                                 "text_encoder_2_lr": 5e-3},
                      dataset={"bucketing": True},
                      training={"epochs": 2, "save_every_n_epochs": 1})
    trainer = Trainer(cfg, RunWriter.create(cfg))
    result = trainer.train()
    assert result.state == "finished", result.message
    return trainer, result


def _probe(pipe_or_comps, unet, tes):
    """UNet output on fixed SDXL inputs (prompt embeds, pooled, time ids) and both encoders'
    hidden states on fixed ids."""
    import torch

    g = torch.Generator().manual_seed(0)
    sample = torch.randn(2, 4, 8, 8, generator=g)
    hidden = torch.randn(2, 77, 80, generator=g)
    pooled = torch.randn(2, 32, generator=g)
    time_ids = torch.tensor([[64, 80, 0, 8, 64, 64], [96, 64, 16, 0, 64, 64]],
                            dtype=torch.float32)
    ids = torch.randint(0, 500, (2, 77), generator=g)
    unet.eval()
    with torch.no_grad():
        u = unet(sample, torch.tensor([10, 700]), hidden, return_dict=False,
                 added_cond_kwargs={"text_embeds": pooled, "time_ids": time_ids})[0]
        e = [te.eval()(ids, output_hidden_states=True).hidden_states[-2] for te in tes]
    return u, e


def _pipe(model, lora=None):
    from loratui.train.check import load_lora, load_pipeline

    pipe = load_pipeline(model)
    if lora is not None:
        load_lora(pipe, lora)
    return pipe


def test_sdxl_trains_with_its_own_conditioning(trained_xl):
    trainer, result = trained_xl
    assert trainer.family.id == "sdxl"
    assert len(trainer.te_param_groups) == 2
    lrs = [g["lr"] for g in trainer.optimizer.param_groups]
    assert lrs == [2e-2, 1e-2, 5e-3]  # each text encoder at its own LR
    assert all(loss == loss for loss in result.losses) and len(result.losses) >= 2
    assert {it.bucket for it in trainer.plan.items} != {(64, 64)}  # buckets by aspect


def test_sdxl_export_reloaded_with_diffusers_matches_trained_model(trained_xl, tiny_sdxl_model,
                                                                   tmp_path):
    import torch

    from loratui.train.export import export_lora

    trainer, result = trained_xl
    comps = trainer.comps
    u_tr, e_tr = _probe(comps, comps.unet, comps.text_encoders)
    base = _pipe(tiny_sdxl_model)
    u_base, e_base = _probe(base, base.unet, [base.text_encoder, base.text_encoder_2])
    assert (u_tr - u_base).abs().max() > 1e-3
    assert all((a - b).abs().max() > 1e-3 for a, b in zip(e_tr, e_base, strict=True))

    fp32 = export_lora(tmp_path / "fp32.safetensors", comps.unet, comps.text_encoders,
                       trainer.cfg, dtype="no", family=trainer.family)
    # without `family`, the config's base model tells it (model.family = "auto")
    assert trainer.cfg.model.family == "auto"
    found = export_lora(tmp_path / "found.safetensors", comps.unet, comps.text_encoders,
                        trainer.cfg, dtype="no")
    keys = read_lora_file(found)[0]
    assert keys == read_lora_file(fp32)[0] and any(k.startswith("lora_te2_") for k in keys)
    pipe = _pipe(tiny_sdxl_model, fp32)
    u, e = _probe(pipe, pipe.unet, [pipe.text_encoder, pipe.text_encoder_2])
    torch.testing.assert_close(u, u_tr, atol=1e-5, rtol=1e-4)
    for a, b in zip(e, e_tr, strict=True):
        torch.testing.assert_close(a, b, atol=1e-5, rtol=1e-4)

    pipe16 = _pipe(tiny_sdxl_model, result.lora_path)
    u16, e16 = _probe(pipe16, pipe16.unet, [pipe16.text_encoder, pipe16.text_encoder_2])
    torch.testing.assert_close(u16, u_tr, atol=2e-3, rtol=2e-3)
    for a, b in zip(e16, e_tr, strict=True):
        torch.testing.assert_close(a, b, atol=2e-3, rtol=2e-3)

    pipe16.set_adapters(["lora"], adapter_weights=[0.0])
    u0, e0 = _probe(pipe16, pipe16.unet, [pipe16.text_encoder, pipe16.text_encoder_2])
    torch.testing.assert_close(u0, u_base, atol=1e-6, rtol=0)
    for a, b in zip(e0, e_base, strict=True):
        torch.testing.assert_close(a, b, atol=1e-6, rtol=0)


def test_sdxl_file_is_kohya_sdxl(trained_xl):
    import torch

    from loratui.lora.reader import open_lora

    _, result = trained_xl
    _keys, meta, tensors, modules = read_lora_file(result.lora_path)
    unet = {m for m in modules if m.startswith("lora_unet_")}
    te1 = {m for m in modules if m.startswith("lora_te1_")}
    te2 = {m for m in modules if m.startswith("lora_te2_")}
    assert unet | te1 | te2 == modules
    # tiny layout: input blocks 4, 5 (depth 1) and output blocks 0-2 (depth 2)
    assert {_ldm_block(m) for m in unet} == {"lora_unet_input_blocks_4",
                                                "lora_unet_input_blocks_5",
                                                "lora_unet_output_blocks_0",
                                                "lora_unet_output_blocks_1",
                                                "lora_unet_output_blocks_2",
                                                "lora_unet_middle_block"}
    assert "lora_unet_input_blocks_4_1_transformer_blocks_0_attn1_to_q" in unet
    assert "lora_unet_output_blocks_2_1_transformer_blocks_1_ff_net_2" in unet
    assert len(te1) == len(te2) == 12
    assert all(m.startswith("lora_te2_text_model_encoder_layers_") for m in te2)
    for m in modules:
        assert float(tensors[f"{m}.alpha"]) == 2.0
        assert tensors[f"{m}.lora_up.weight"].dtype == torch.float16
    assert meta["ss_base_model_version"] == "sdxl_base_v1-0"
    assert meta["modelspec.architecture"] == "stable-diffusion-xl-v1-base/lora"
    assert meta["ss_network_dim"] == "4"
    assert open_lora(result.lora_path).family()[0] == "sdxl"


def _ldm_block(name: str) -> str:
    """lora_unet_output_blocks_1_1_… → lora_unet_output_blocks_1"""
    return re.match(r"(lora_unet_(?:input_blocks_\d+|output_blocks_\d+|middle_block))_1_",
                    name).group(1)

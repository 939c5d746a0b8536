"""LoRA tools on real files: resize, merge, scale, convert, and how outputs are written.

Equivalences are checked through diffusers' own loader (`load_lora_weights` +
`set_adapters`) on the tiny model, and on full-size SD1.5 key layouts by tensor algebra.
"""

from __future__ import annotations

import json
import os

import pytest
from lora_helpers import cli_process, run_cli, tiny_lora


def _cli(*args):
    return run_cli(*args)


def _load(path):
    from loratui.lora.weights import load_weights

    return load_weights(path)


def _pipe(model, loras=(), weights=None):
    from loratui.train.check import load_lora, load_pipeline

    pipe = load_pipeline(model)
    names = []
    for i, path in enumerate(loras):
        load_lora(pipe, path, adapter=f"l{i}")
        names.append(f"l{i}")
    if names:
        pipe.set_adapters(names, adapter_weights=list(weights or [1.0] * len(names)))
    return pipe


def _outputs(pipe):
    import torch

    g = torch.Generator().manual_seed(0)
    sample = torch.randn(2, 4, 8, 8, generator=g)
    hidden = torch.randn(2, 77, 32, generator=g)
    ids = torch.randint(0, 300, (2, 77), generator=g)
    with torch.no_grad():
        u = pipe.unet(sample, torch.tensor([10, 700]), hidden, return_dict=False)[0]
        e = pipe.text_encoder(ids, return_dict=False)[0]
    return u, e


def _close(a, b, tol=1e-5):
    import torch

    for x, y in zip(a, b, strict=True):
        torch.testing.assert_close(x, y, atol=tol, rtol=tol)


@pytest.fixture(scope="module")
def base_outputs(tiny_model):
    return _outputs(_pipe(tiny_model))


# --------------------------------------------------------------------------- resize
def test_resize_at_full_rank_reproduces_delta_w(tiny_a, sd15_file, tmp_path):
    import torch

    from loratui.lora import tools

    for path, tol in ((tiny_a, 1e-6), (sd15_file, 2e-3)):
        src = _load(path)
        rank = max(src.ranks())
        out, report = tools.resize(src, rank, tools.layout_of(src))
        assert report.data["energy_kept"] == pytest.approx(1.0, abs=1e-9)
        # every module of the tiny file; on the full-size layout one module of each kind
        names = list(src.modules) if path == tiny_a else \
            [n for n in src.modules if "down_blocks_1_attentions_0" in n or
             "layers_0_" in n]
        assert names
        for name in names:
            m = src.modules[name]
            ref = m.delta().double()
            got = out.modules[name].delta().double()
            assert out.modules[name].rank == m.rank
            err = (got - ref).norm() / max(ref.norm(), 1e-12)
            assert err < tol, (name, float(err))
            assert out.modules[name].down.dtype == m.down.dtype
        assert torch.is_tensor(next(iter(out.modules.values())).alpha)


def test_resize_keeps_the_best_low_rank_part_and_reports_it(tiny_a):
    from loratui.lora import tools

    src = _load(tiny_a)
    out, report = tools.resize(src, 2, tools.layout_of(src))
    kept = dropped = 0.0
    for name, m in src.modules.items():
        ref = m.delta().double().flatten(1)
        got = out.modules[name].delta().double().flatten(1)
        s = __import__("torch").linalg.svdvals(ref)
        # Eckart–Young: the error of the best rank-2 approximation is the dropped σ's
        assert float((ref - got).norm() ** 2) == pytest.approx(float((s[2:] ** 2).sum()),
                                                               rel=1e-4, abs=1e-10)
        assert out.modules[name].rank == 2
        assert out.modules[name].scale == pytest.approx(m.scale)  # alpha/rank kept
        kept += float((s[:2] ** 2).sum())
        dropped += float((s[2:] ** 2).sum())
    assert report.data["energy_kept"] == pytest.approx(kept / (kept + dropped), rel=1e-6)
    assert set(report.data["energy_kept_per_block"]) == {"BASE", "IN01", "M00", "OUT03",
                                                         "OUT04"}


def test_resize_cli_updates_metadata_and_hash(sd15_file, tmp_path):
    from loratui.lora.reader import open_lora
    from loratui.train.export import data_region_sha256

    out = tmp_path / "r1.safetensors"
    r = _cli("lora", "resize", str(sd15_file), "--rank", "1", "-o", str(out), "--json")
    assert r.returncode == 0, r.stderr
    report = json.loads(r.stdout)
    assert 0 < report["energy_kept"] < 1 and len(report["energy_kept_per_block"]) == 17
    lora = open_lora(out)
    assert lora.metadata["ss_network_dim"] == "1"
    assert lora.metadata["ss_network_alpha"] == "0.5"  # alpha 1 at rank 2 → 0.5 at rank 1
    history = json.loads(lora.metadata["loratui_history"])
    assert history[-1]["op"] == "resize" and history[-1]["rank"] == 1
    assert lora.metadata["sshs_model_hash"] == data_region_sha256(out.read_bytes())
    assert set(lora.ranks().values()) == {1}


# --------------------------------------------------------------------------- merge
def test_merge_then_load_equals_both_applied(tiny_model, tiny_a, tiny_b, tmp_path,
                                             base_outputs):
    out = tmp_path / "ab.safetensors"
    r = _cli("lora", "merge", str(tiny_a), str(tiny_b), "--weights", "0.7,0.5", "-o", str(out))
    assert r.returncode == 0, r.stderr
    assert "PR102" not in r.stderr  # 1.2 is within the guide's sum
    merged = _outputs(_pipe(tiny_model, [out]))
    both = _outputs(_pipe(tiny_model, [tiny_a, tiny_b], [0.7, 0.5]))
    assert (merged[0] - base_outputs[0]).abs().max() > 1e-3  # the LoRAs do something
    _close(merged, both)


def test_merge_warns_above_1_2_and_checks_counts(tiny_a, tiny_b, tmp_path):
    r = _cli("lora", "merge", str(tiny_a), str(tiny_b), "--weights", "0.9,0.6",
             "-o", str(tmp_path / "m.safetensors"))
    assert r.returncode == 0 and "PR102" in r.stderr and "1.5" in r.stderr
    r = _cli("lora", "merge", str(tiny_a), str(tiny_b), "--weights", "0.9",
             "-o", str(tmp_path / "m2.safetensors"))
    assert r.returncode == 2 and "one weight per file" in r.stderr
    assert not (tmp_path / "m2.safetensors").exists()


def test_merge_refuses_files_for_different_models(tiny_a, sd15_file, tmp_path):
    r = _cli("lora", "merge", str(tiny_a), str(sd15_file), "--weights", "0.5,0.5",
             "-o", str(tmp_path / "x.safetensors"))
    assert r.returncode == 2 and "different" in r.stderr and "Traceback" not in r.stderr


# --------------------------------------------------------------------------- scale
def test_scale_0_7_equals_loading_at_0_7(tiny_model, tiny_a, tmp_path, base_outputs):
    out = tmp_path / "x07.safetensors"
    r = _cli("lora", "scale", str(tiny_a), "--weight", "0.7", "-o", str(out))
    assert r.returncode == 0, r.stderr
    src, scaled = _load(tiny_a), _load(out)
    for name, m in src.modules.items():  # only the alphas change
        assert scaled.modules[name].down.equal(m.down) and scaled.modules[name].up.equal(m.up)
    _close(_outputs(_pipe(tiny_model, [out])), _outputs(_pipe(tiny_model, [tiny_a], [0.7])))


def test_scale_block_vector_drops_zeroed_blocks(sd15_file, tmp_path):
    from loratui.lora.block_layout import layout_for

    SD15 = layout_for("sd15")
    out = tmp_path / "outall.safetensors"
    r = _cli("lora", "scale", str(sd15_file), "--weight", "0.5", "--blocks", "OUTALL",
             "-o", str(out))
    assert r.returncode == 0, r.stderr
    src, got = _load(sd15_file), _load(out)
    keep = {b for b, v in SD15.vector("OUTALL").items() if v}
    for name, m in src.modules.items():
        block = SD15.block_of(name)
        if block in keep:
            assert got.modules[name].alpha_value == pytest.approx(m.alpha_value * 0.5)
        else:
            assert name not in got.modules
    r = _cli("lora", "scale", str(sd15_file), "--blocks", "1,1,1", "-o",
             str(tmp_path / "bad.safetensors"))
    assert r.returncode == 2 and "17" in r.stderr


# --------------------------------------------------------------------------- convert
def test_convert_round_trips_bit_exactly(tiny_model, tiny_a, sd15_file, tmp_path):
    from safetensors.torch import load_file

    for src in (tiny_a, sd15_file):
        peft = tmp_path / f"{src.stem}-peft.safetensors"
        back = tmp_path / f"{src.stem}-back.safetensors"
        assert _cli("lora", "convert", str(src), "--to", "peft", "-o", str(peft)).returncode == 0
        assert any(k.endswith(".lora_A.weight") for k in load_file(str(peft)))
        assert _cli("lora", "convert", str(peft), "--to", "kohya", "-o",
                    str(back)).returncode == 0
        a, b = load_file(str(src)), load_file(str(back))
        assert a.keys() == b.keys()
        for key in a:
            assert a[key].dtype == b[key].dtype and a[key].shape == b[key].shape, key
            assert a[key].view(-1).view(__import__("torch").uint8).equal(
                b[key].view(-1).view(__import__("torch").uint8)), key
    # diffusers loads the PEFT file with the same alphas as the kohya one
    _close(_outputs(_pipe(tiny_model, [tmp_path / "tiny_a-peft.safetensors"])),
           _outputs(_pipe(tiny_model, [tiny_a])))


def test_convert_reads_old_diffusers_keys(tiny_model, tmp_path):
    import torch
    from safetensors.torch import load_file, save_file

    from loratui.lora.names import kohya_to_path

    src = tiny_lora(tiny_model, tmp_path / "k.safetensors", rank=2, alpha=2.0, te=False)
    old = {}
    for key, t in load_file(str(src)).items():
        name, _, part = key.partition(".")
        if part == "alpha":
            continue  # attention-processor files had no alphas (scale 1 = alpha/rank here)
        _, path = kohya_to_path(name)
        ud = "down" if part.startswith("lora_down") else "up"
        head, _, proj = path.rpartition(".")
        if proj in ("to_q", "to_k", "to_v"):
            old[f"unet.{head}.processor.{proj}_lora.{ud}.weight"] = t
        elif path.endswith("to_out.0"):
            old[f"unet.{path[:-len('.to_out.0')]}.processor.to_out_lora.{ud}.weight"] = t
        else:
            old[f"unet.{path}.lora.{ud}.weight"] = t
    old_path = tmp_path / "old.safetensors"
    save_file(old, str(old_path))
    back = tmp_path / "back.safetensors"
    r = _cli("lora", "convert", str(old_path), "--to", "kohya", "-o", str(back))
    assert r.returncode == 0, r.stderr
    assert "diffusers-old" in r.stdout
    a, b = load_file(str(src)), load_file(str(back))
    assert a.keys() == b.keys()
    for key in a:
        assert torch.equal(a[key], b[key]), key


# --------------------------------------------------------------------------- outputs
def test_outputs_never_replace_files_without_consent(tiny_a, tmp_path):
    import shutil

    src = tmp_path / "mine.safetensors"
    shutil.copy(tiny_a, src)
    before = src.read_bytes()
    r = _cli("lora", "scale", str(src), "--weight", "0.5", "-o", str(src))
    assert r.returncode == 2 and "is the input file" in r.stderr
    assert src.read_bytes() == before
    r = _cli("lora", "scale", str(src), "--weight", "0.5", "-o", str(src), "--overwrite")
    assert r.returncode == 0, r.stderr
    backups = list(tmp_path.glob("mine.safetensors.*.bak"))
    assert [b.read_bytes() for b in backups] == [before]
    assert src.read_bytes() != before
    mask = os.umask(0)
    os.umask(mask)
    assert (src.stat().st_mode & 0o777) == 0o666 & ~mask
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]


def test_bad_inputs_exit_2_without_traceback(tmp_path):
    pt = tmp_path / "model.safetensors"
    pt.write_bytes(b"PK\x03\x04" + b"\0" * 100)
    for i, args in enumerate((("resize", str(pt), "--rank", "4"),
                              ("scale", str(pt), "--weight", "0.5"),
                              ("convert", str(pt), "--to", "peft"),
                              ("merge", str(pt), str(pt), "--weights", "0.5,0.5"))):
        r = cli_process("lora", *args) if i == 0 else _cli("lora", *args)
        assert r.returncode == 2, args
        assert "model.safetensors" in r.stderr and "Traceback" not in r.stderr


def test_fp8_lora_is_read_by_every_reader(tmp_path):
    """fp8 tensors (F8_E4M3 / F8_E5M2, as fp8 checkpoints and LoRAs store them) are decoded
    by the header reader's own tables: inspect, blocks and the doctor read such a file."""
    import torch
    from safetensors.torch import save_file

    from loratui.lora.blocks import block_strengths
    from loratui.lora.reader import open_lora

    module = "lora_unet_down_blocks_0_attentions_0_proj_in"
    for dtype in (torch.float8_e4m3fn, torch.float8_e5m2):
        path = tmp_path / f"{dtype}.safetensors"
        down = torch.full((4, 8), 0.5).to(dtype)
        up = torch.full((8, 4), -0.25).to(dtype)
        save_file({f"{module}.lora_down.weight": down, f"{module}.lora_up.weight": up,
                   f"{module}.alpha": torch.tensor(2.0).to(dtype)}, str(path))
        lora = open_lora(path)
        assert lora.alphas() == {module: 2.0}
        assert lora.tensor_stats()["up_max"] == {module: 0.25}
        strengths = block_strengths(path)
        assert sum(strengths.modules.values()) == 1 and strengths.total > 0


def test_blocks_skip_modules_that_are_not_two_matrices(tmp_path):
    """Scalars or rank-0 tensors under LoRA names are left out (and named), not a crash."""
    import torch
    from safetensors.torch import save_file

    from loratui.lora.blocks import block_strengths

    good = "lora_unet_down_blocks_0_attentions_0_proj_in"
    odd = "lora_unet_down_blocks_1_attentions_0_proj_in"
    empty = "lora_unet_down_blocks_2_attentions_0_proj_in"
    no_rows = "lora_unet_down_blocks_2_attentions_1_proj_in"
    path = tmp_path / "odd.safetensors"
    save_file({f"{good}.lora_down.weight": torch.ones(4, 8),
               f"{good}.lora_up.weight": torch.ones(8, 4),
               f"{odd}.lora_down.weight": torch.tensor(1.0),
               f"{odd}.lora_up.weight": torch.tensor(1.0),
               f"{empty}.lora_down.weight": torch.ones(0, 8),
               f"{empty}.lora_up.weight": torch.ones(8, 0),
               f"{no_rows}.lora_down.weight": torch.ones(4, 8),   # an up with no rows
               f"{no_rows}.lora_up.weight": torch.ones(0, 4)}, str(path))
    result = block_strengths(path)
    assert sorted(result.skipped) == sorted([odd, empty, no_rows])
    assert sum(result.modules.values()) == 1 and result.total > 0

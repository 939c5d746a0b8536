"""Logs, LoRA files, datasets, run folders, fixes and output formats on real files."""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image
from safetensors.numpy import save_file

from loratui.doctor.catalog import load_catalog
from loratui.doctor.inputs.configs import dataset_toml_facts, kohya_facts, parse_cmdline
from loratui.doctor.inputs.log import LogData
from loratui.doctor.inputs.prompt import check_lbw, parse_prompt
from loratui.doctor.output import render_sarif
from loratui.lora.reader import LoraError, open_lora

from .helpers import codes, run_doctor, write

KOHYA = "lora_unet_down_blocks_0_attentions_0_transformer_blocks_0_attn2_to_k"


def make_lora(path, *, rank=8, alpha=8.0, up=0.01, nan=False, meta=None, peft=False):
    rng = np.random.default_rng(0)
    down = rng.standard_normal((rank, 768)).astype(np.float16)
    upw = np.full((320, rank), up, dtype=np.float16)
    if nan:
        upw[0, 0] = np.nan
    if peft:
        t = {"unet.down_blocks.0.attentions.0.transformer_blocks.0.attn2.to_k.lora_A.weight": down,
             "unet.down_blocks.0.attentions.0.transformer_blocks.0.attn2.to_k.lora_B.weight": upw}
    else:
        t = {f"{KOHYA}.lora_down.weight": down, f"{KOHYA}.lora_up.weight": upw,
             f"{KOHYA}.alpha": np.array(alpha, dtype=np.float16)}
    save_file(t, str(path), metadata=meta or {"ss_network_dim": str(rank),
                                              "ss_network_alpha": str(alpha),
                                              "ss_base_model_version": "sd_v1"})
    return path


# ------------------------------------------------------------------ logs

# predicates that fire on any line their regex matches (the rest need more context)
LINE_PREDICATES = ("log_regex", "log_no_training_data", "log_bf16_refused", "log_decode_error")


def _log_rules():
    return [r for r in load_catalog(use_cache=False).rules
            if r.code.startswith("LG") and r.regex and r.predicate in LINE_PREDICATES]


@pytest.mark.parametrize("rule", _log_rules(), ids=lambda r: r.code)
def test_log_rule_fires_on_its_symptom(rule, tmp_path):
    text = "INFO start\r\n" + "\x1b[33m" + rule.explain["example"] + "\x1b[0m\r\nINFO end\r\n"
    path = write(tmp_path, "train.log", text)
    diags, _ = run_doctor([path])
    assert rule.code in codes(diags)
    d = next(d for d in diags if d.code == rule.code)
    assert d.location.line == 2


BENIGN = """\
A matching Triton is not available, some optimizations will not be enabled
The following values were not passed to `accelerate launch` and had defaults used instead:
min_bucket_reso and max_bucket_reso are ignored if bucket_no_upscale is set
Token indices sequence length is longer than the specified maximum sequence length for this model (127 > 77)
no regularization images / 正則化画像が見つかりませんでした
UserWarning: None of the inputs have requires_grad=True. Gradients will be None
fatal: not a git repository (or any of the parent directories): .git
steps:  50%|█████     | 500/1000 [05:00<05:00, 1.66it/s, avr_loss=0.0821]\r
steps: 100%|██████████| 1000/1000 [10:00<00:00, 1.66it/s, avr_loss=0.0790]
saving checkpoint: /out/hanfu.safetensors
"""


def test_benign_log_is_quiet(tmp_path):
    diags, _ = run_doctor([write(tmp_path, "train.log", BENIGN)])
    assert diags == []


def test_utf16_log_and_special_log_rules(tmp_path):
    text = ("accelerate launch train_db.py --pretrained_model_name_or_path=x\n"
            "no regularization images\nINFO --reg_data_dir=/reg\nTraining has ended\n")
    p = tmp_path / "ps.log"
    p.write_bytes(text.encode("utf-16"))
    found = codes(run_doctor([p])[0])
    assert {"LG112", "LG136", "LG138"} <= found
    quiet = write(tmp_path, "q.log", "no regularization images\nsteps: 10%|\nsaving checkpoint\n")
    assert codes(run_doctor([quiet])[0]) == set()


def _reference_view(data: bytes) -> bytes:
    """What a terminal shows, line by line: text up to the first \\r and after the last
    (\\r right before the newline end the line; they hide nothing)."""
    out = []
    for line in data.replace(b"\r\n", b"\n").split(b"\n"):
        first = line.find(b"\r")
        last = line.rfind(b"\r", 0, len(line.rstrip(b"\r")))
        out.append(line if last <= first else line[:first + 1] + line[last + 1:])
    return b"\n".join(out)


@pytest.mark.parametrize("block", [7, 64, 1 << 20])
def test_log_view_streams_in_blocks(tmp_path, monkeypatch, block):
    from loratui.doctor.inputs import log as log_mod

    monkeypatch.setattr(log_mod, "BLOCK", block)
    bar = "".join(f"\rsteps: {i}%|#| {i}/100 [avr_loss=0.0{i % 10}]" for i in range(100))
    nan_bar = "".join(f"\rsteps: {i}%|#| {i}/100 [avr_loss={'nan' if i >= 50 else 0.1}]"
                      for i in range(100))
    text = ("INFO start\n" + bar + "\nepoch 2/2\n" + nan_bar
            + "Traceback (most recent call last):\n  File \"x.py\", line 3\nKeyError: 'a'\n")
    data = text.encode()
    p = tmp_path / "t.log"
    p.write_bytes(data)
    log = LogData.from_file(p)
    assert log.view == _reference_view(data)
    assert len(log.view) < len(data) // 5
    pos = log.find("KeyError")
    assert log.line_no(pos) == 6 and log.segment(pos) == "KeyError: 'a'"
    first = log.first_in_file(["avr_loss=nan"])  # overwritten by later updates, still found
    assert first is not None and first.line == 4 and "50/100" in first.text
    crlf = tmp_path / "w.log"
    crlf.write_bytes(data.replace(b"\n", b"\r\n"))
    wlog = LogData.from_file(crlf)
    assert wlog.view.replace(b"\r\n", b"\n") == _reference_view(data)
    assert wlog.line_no(wlog.find("KeyError")) == 6


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from([b"a", b"loss=nan", b"\r", b"\n", b"\r\n", b"xyz "]),
                max_size=60), st.sampled_from([3, 5, 64]))
def test_fuzz_log_view_matches_reference(parts, block):
    import tempfile

    from loratui.doctor.inputs import log as log_mod

    data = b"".join(parts)
    old = log_mod.BLOCK
    log_mod.BLOCK = block
    try:
        with tempfile.TemporaryDirectory() as tmp:
            p = Path(tmp) / "f.log"
            p.write_bytes(data)
            log = LogData.from_file(p)
            ref = _reference_view(data)
            # a CRLF split by a block boundary may leave a stray \\r; the visible text is the same
            assert log.view.replace(b"\r", b"") == ref.replace(b"\r", b"")
            if b"loss=nan" in ref:
                first = log.first_in_file(["loss=nan"])
                expected = data.replace(b"\r\n", b"\n")
                line = expected[:expected.find(b"loss=nan")].count(b"\n") + 1
                assert first is not None and first.line == line
            mem = LogData("<mem>", data)
            assert mem.view.replace(b"\r", b"") == ref.replace(b"\r", b"")
    finally:
        log_mod.BLOCK = old


def test_log_with_one_line_per_update_uses_the_digest(tmp_path, monkeypatch):
    from loratui.doctor.inputs import log as log_mod

    monkeypatch.setattr(log_mod, "DIGEST_FROM", 1000)
    lines = [f"step {i}/5000 loss={0.1 + i / 1e5:.5f} lr=0.0001" for i in range(5000)]
    lines[3000] = "Max train steps: 1600"
    lines.append("torch.cuda.OutOfMemoryError: CUDA out of memory. Tried to allocate 2 MiB")
    path = write(tmp_path, "train.log", "\n".join(lines) + "\n")
    log = log_mod.load_log(path)
    assert len(log.view) > 1000 and log.contains("Max train steps: 1600")
    assert not log.contains("Max train steps: 1700")  # digits are checked in the file itself
    found = {d.code: d.location.line for d in run_doctor([path])[0]}
    assert found.get("LG103") == 5001 and found.get("LG135") == 3001


def test_nan_loss_points_at_the_first_nan_update(tmp_path):
    updates = [f"steps: {i}%| {i}/100 [00:0{i % 10}<00:10, avr_loss={'nan' if i >= 37 else 0.08}]"
               for i in range(1, 101)]
    text = "INFO start\nepoch 1/1\n\r" + "\r".join(updates) + "\nsaving checkpoint\n"
    diags, _ = run_doctor([write(tmp_path, "train.log", text)])
    nan = next(d for d in diags if d.code == "LG101")
    assert nan.location.line == 3 and "from step 37 of 100" in nan.message


def test_traceback_fallback(tmp_path):
    tb = "Traceback (most recent call last):\n  File \"x.py\", line 1\nKeyError: 'foo'\n"
    diags, _ = run_doctor([write(tmp_path, "a.log", tb)])
    assert codes(diags) == {"LG139"} and "KeyError" in diags[0].message
    both = tb + "torch.cuda.OutOfMemoryError: CUDA out of memory.\n"
    assert codes(run_doctor([write(tmp_path, "b.log", both)])[0]) == {"LG103"}


# ------------------------------------------------------------------ LoRA files

def test_lora_rules(tmp_path):
    good = make_lora(tmp_path / "good.safetensors")
    assert codes(run_doctor([good], args=["--base", "sd15"])[0]) == set()
    found = codes(run_doctor([make_lora(tmp_path / "z.safetensors", up=0.0)])[0])
    assert "LF106" in found
    assert "LF105" in codes(run_doctor([make_lora(tmp_path / "n.safetensors", nan=True)])[0])
    big = make_lora(tmp_path / "r.safetensors", rank=32, alpha=64)
    assert {"LF108", "LF109"} <= codes(run_doctor([big])[0])
    assert "LF113" in codes(run_doctor([good], args=["--base", "sdxl"])[0])
    peft = make_lora(tmp_path / "p.safetensors", peft=True, meta={"x": "1"})
    assert {"LF103", "LF112"} <= codes(run_doctor([peft])[0])
    wrong = make_lora(tmp_path / "w.safetensors", meta={"ss_network_dim": "128",
                                                       "ss_network_alpha": "8",
                                                       "ss_base_model_version": "sdxl_base_v1-0"})
    assert "LF107" in codes(run_doctor([wrong])[0])
    zero = make_lora(tmp_path / "a0.safetensors", alpha=0.0)
    assert "LF110" in codes(run_doctor([zero])[0])
    vp = make_lora(tmp_path / "vp.safetensors", meta={"ss_v_parameterization": "True",
                                                      "ss_base_model_version": "sd_v2_v"})
    assert "LF114" in codes(run_doctor([vp])[0])
    old = tmp_path / "old.safetensors"
    save_file({"down_blocks.0.attentions.0.attn1.processor.to_q_lora.down.weight":
               np.ones((4, 320), np.float16),
               "down_blocks.0.attentions.0.attn1.processor.to_q_lora.up.weight":
               np.ones((320, 4), np.float16)}, str(old))
    assert "LF104" in codes(run_doctor([old])[0])
    ck = tmp_path / "ck.safetensors"
    save_file({f"model.diffusion_model.input_blocks.{i}.weight": np.zeros(2, np.float16)
               for i in range(4)}, str(ck))
    assert "LF102" in codes(run_doctor([ck])[0])
    broken = tmp_path / "broken.safetensors"
    save_file({f"{KOHYA}.lora_down.weight": np.zeros((8, 768), np.float16),
               f"{KOHYA}.lora_up.weight": np.zeros((320, 4), np.float16)}, str(broken))
    assert "LF111" in codes(run_doctor([broken])[0])


@pytest.mark.parametrize("content,kind", [
    (b"", "empty"), (b"version https://git-lfs.github.com/spec/v1\noid x\n", "lfs-pointer"),
    (b"\x80\x02}q\x00.", "pickle"), (b"PK\x03\x04rest", "zip"),
    ((10**9).to_bytes(8, "little") + b"{}", "header-too-large"),
    ((4).to_bytes(8, "little") + b"[1,2", "bad-header"),
])
def test_corrupt_safetensors(tmp_path, content, kind):
    p = write(tmp_path, "x.safetensors", content)
    with pytest.raises(LoraError) as exc:
        open_lora(p)
    assert exc.value.kind == kind
    diags, _ = run_doctor([p])
    assert codes(diags) == {"LF101"}


def test_truncated_safetensors(tmp_path):
    p = make_lora(tmp_path / "t.safetensors")
    data = p.read_bytes()
    p.write_bytes(data[:-100])
    with pytest.raises(LoraError) as exc:
        open_lora(p)
    assert exc.value.kind == "bad-offsets"


def test_lora_inspect_cli(tmp_path):
    p = make_lora(tmp_path / "i.safetensors", rank=16, alpha=8)
    out = subprocess.run([sys.executable, "-m", "loratui", "lora", "inspect", str(p), "--json"],
                         capture_output=True, text=True, check=True)
    s = json.loads(out.stdout)
    assert s["format"] == "kohya" and s["family"] == "sd15"
    assert s["rank"]["max"] == 16 and s["scale"]["most_common"] == 0.5
    assert s["nan_tensors"] == 0 and s["zero_up_modules"] == 0
    assert "torch" not in out.stderr


# ------------------------------------------------------------------ datasets / run folders

def test_dataset_folder_rules(tmp_path):
    root = tmp_path / "img"
    sub = root / "10_hanfu"
    sub.mkdir(parents=True)
    for i in range(4):
        Image.new("RGB", (600, 800)).save(sub / f"{i}.png")
        (sub / f"{i}.caption").write_text("1girl, red", encoding="utf-8")
    Image.new("RGB", (300, 300)).save(sub / "0.jpg")
    Image.new("RGBA", (512, 512)).save(sub / "alpha.png")
    (sub / "._0.png").write_bytes(b"\x00junk")
    (sub / "bad.png").write_bytes(b"not an image")
    (sub / "bad.txt").write_bytes(b"caf\x92")
    (root / "CROP").mkdir()
    Image.new("RGB", (512, 512)).save(root / "CROP" / "x.png")
    cfg = write(tmp_path, "run.json", json.dumps({"train_data_dir": str(root),
                                                  "caption_extension": ".txt"}))
    found = codes(run_doctor([cfg])[0])
    assert {"DS101", "DS103", "DS104", "DS107", "DS108", "DS109", "DS110", "DS111",
            "DS114"} <= found
    leaf = write(tmp_path, "leaf.json", json.dumps({"train_data_dir": str(sub),
                                                    "caption_extension": ".caption"}))
    assert "DS107" in codes(run_doctor([leaf])[0])


def test_caption_extension_mismatch_and_trigger(tmp_path):
    root = tmp_path / "data" / "5_x"
    root.mkdir(parents=True)
    for i in range(12):
        Image.new("RGB", (512, 512)).save(root / f"{i}.png")
        (root / f"{i}.txt").write_text("1girl, solo" if i % 2 else "a photo of a woman in red",
                                       encoding="utf-8")
    cfg = write(tmp_path, "c.json", json.dumps({"train_data_dir": str(root.parent),
                                                "caption_extension": ""}))
    found = codes(run_doctor([cfg])[0])
    assert "DS106" in found and "DS105" not in found
    assert "DS102" in found
    assert "DS116" in codes(run_doctor([root])[0])
    solo = tmp_path / "solo"
    solo.mkdir()
    for i in range(3):
        Image.new("RGB", (512, 512)).save(solo / f"{i}.png")
        (solo / f"{i}.txt").write_text("woman, red", encoding="utf-8")
    (solo / "3.txt").write_text("", encoding="utf-8")
    Image.new("RGB", (512, 512)).save(solo / "3.png")
    Image.new("RGB", (512, 512)).save(solo / "4.gif")
    found = codes(run_doctor([solo])[0])
    assert {"DS113", "DS112", "DS115"} <= found


@pytest.mark.parametrize(("caption", "style"), [
    ("1girl, solo", "tags"),
    ("ohwx, 1girl, solo, long hair, looking at viewer, smile, red dress", "tags"),
    ("masterpiece, best_quality", "tags"),
    ("1girl，汉服，红色", "tags"),
    ("a photo of a woman in red", "prose"),
    ("a woman in a red dress standing in front of a building", "prose"),
    ("A woman with long black hair, wearing a red dress, stands in a garden.", "prose"),
    ("ohwx", None),
    ("red dress", None),
])
def test_caption_style(caption, style):
    from loratui.doctor.predicates.dataset import caption_style
    assert caption_style(caption) == style


def test_mixed_caption_styles_quiet_for_one_style(tmp_path):
    root = tmp_path / "tags"
    root.mkdir()
    for i in range(12):
        Image.new("RGB", (512, 512)).save(root / f"{i}.png")
        cap = "ohwx" if i < 2 else f"ohwx, 1girl, solo, looking at viewer, pose {i}"
        (root / f"{i}.txt").write_text(cap, encoding="utf-8")
    assert "DS116" not in codes(run_doctor([root])[0])


def test_run_folder_root_cause(tmp_path):
    run = tmp_path / "run"
    write(run, "train.log", "steps: 5%| 50/1000 [avr_loss=nan]\ntext_encoder_lr: 0.005\n")
    write(run, "config.json", json.dumps({"mixed_precision": "bf16", "text_encoder_lr": 0.005,
                                          "network_dim": 16, "network_alpha": 8}))
    found = codes(run_doctor([run])[0])
    assert "RN102" in found and "LG101" not in found and "CF105" not in found
    run2 = tmp_path / "run2"
    write(run2, "train.log", "torch.cuda.OutOfMemoryError: CUDA out of memory.\n")
    write(run2, "config.json", json.dumps({"train_batch_size": 4, "mixed_precision": "no", "network_dim": 8}))
    make_lora(run2 / "out.safetensors", rank=4, up=0.0)
    found = codes(run_doctor([run2])[0])
    assert "RN103" in found and "LG103" not in found and "RN105" in found
    run3 = tmp_path / "run3"
    write(run3, "config.json", json.dumps({"optimizer": "Prodigy", "learning_rate": 1e-4,
                                           "network_dim": 8}))
    make_lora(run3 / "out.safetensors", up=0.0)
    found = codes(run_doctor([run3])[0])
    assert "RN104" in found and "LF106" not in found and "CF108" not in found
    run4 = tmp_path / "run4"
    write(run4, "train.log", "loss=nan\n")
    write(run4, "loratui.toml", "[training]\nmixed_precision = \"fp16\"\nno_half_vae = false\n")
    found = codes(run_doctor([run4])[0])
    assert "RN101" in found and "CF112" not in found and "LG101" not in found


def test_env_gpu_processes(monkeypatch):
    from loratui import gpu
    from loratui.doctor.engine import Options, diagnose

    report = gpu.GpuReport(gpus=[gpu.GpuInfo(0, "RTX 3060", 12 * gpu.GIB, 2 * gpu.GIB, (8, 6),
                                             "", (gpu.GpuProcess(4242, "python", 9 * gpu.GIB),))])
    monkeypatch.setattr("loratui.doctor.engine.Context.gpu_report", lambda self: report)
    diags, _ = diagnose([], options=Options(env=True))
    d = next(d for d in diags if d.code == "EN101")
    assert "4242" in d.message and d.fix.command == "kill 4242"
    monkeypatch.setattr("loratui.doctor.engine.Context.gpu_report", lambda self: gpu.GpuReport())
    assert "EN101" not in codes(diagnose([], options=Options(env=True))[0])


def test_gpu_rules_with_fake_gpu(tmp_path, monkeypatch):
    cfg = write(tmp_path, "loratui.toml", "[training]\nmixed_precision = \"bf16\"\n")
    from loratui import gpu

    def fake(name, cc):
        g = gpu.GpuInfo(0, name, 6 * gpu.GIB, 6 * gpu.GIB, cc)
        return lambda self: gpu.GpuReport(gpus=[g])

    monkeypatch.setattr("loratui.doctor.engine.Context.gpu_report", fake("Tesla T4", (7, 5)))
    assert "CF115" in codes(run_doctor([cfg])[0])
    fp16 = write(tmp_path, "b/loratui.toml", "[training]\nmixed_precision = \"fp16\"\n"
                                             "[optimizer]\nname = \"AdamW8bit\"\n")
    monkeypatch.setattr("loratui.doctor.engine.Context.gpu_report",
                        fake("NVIDIA GeForce GTX 1660 SUPER", (7, 5)))
    assert "CF116" in codes(run_doctor([fp16])[0])
    monkeypatch.setattr("loratui.doctor.engine.Context.gpu_report",
                        fake("GTX 1070 Ti", (6, 1)))
    assert "CF117" in codes(run_doctor([fp16])[0])
    monkeypatch.setattr("loratui.doctor.engine.Context.gpu_report",
                        fake("RTX 3090", (8, 6)))
    assert not {"CF115", "CF116", "CF117"} & codes(run_doctor([cfg, fp16])[0])


def test_config_cross_files(tmp_path):
    base = tmp_path / "sd_xl_base.safetensors"
    save_file({"conditioner.embedders.1.model.x": np.zeros(2, np.float16)}, str(base))
    w = make_lora(tmp_path / "prev.safetensors", rank=32, alpha=32)
    (tmp_path / "p.txt").write_bytes(b"caf\x92")
    cmd = write(tmp_path, "t.sh", f"accelerate launch train_network.py --pretrained_model_name_or_path "
                f"{tmp_path / 'mybase.safetensors'} --network_weights {w} --network_dim 8 "
                f"--sample_prompts {tmp_path / 'p.txt'} --max_train_epochs 1\n")
    base.rename(tmp_path / "mybase.safetensors")
    found = codes(run_doctor([cmd])[0])
    assert {"CF125", "CF136", "CF133"} <= found
    diff = tmp_path / "ds"
    diff.mkdir()
    (diff / "1.txt").write_text("x", encoding="utf-8")
    cmd2 = write(tmp_path, "d.sh", f"accelerate launch train_text_to_image_lora.py "
                 f"--train_data_dir {diff} --learning_rate 1e-4\n")
    assert "CF138" in codes(run_doctor([cmd2])[0])
    (diff / "metadata.jsonl").write_text("{}", encoding="utf-8")
    assert "CF138" not in codes(run_doctor([cmd2])[0])
    assert "CF136" not in codes(run_doctor([write(tmp_path, "ok.sh",
        f"accelerate launch train_network.py --network_weights {w} --network_dim 32\n")])[0])


# ------------------------------------------------------------------ fixes and formats

def test_fix_keeps_comments_and_is_atomic(tmp_path):
    cfg = write(tmp_path, "loratui.toml", "# my run\n[training]\nmixed_precision = \"fp16\"  "
                "# fast\nno_half_vae = false\n\n[network]\nrank = 32  # big\n")
    out = subprocess.run([sys.executable, "-m", "loratui", "doctor", str(cfg), "--fix"],
                         capture_output=True, text=True)
    text = cfg.read_text(encoding="utf-8")
    assert "no_half_vae = true" in text and "# my run" in text and "# fast" in text
    assert "rank = 32" in text  # unsafe fix not applied
    assert "Fixed 1" in out.stdout
    subprocess.run([sys.executable, "-m", "loratui", "doctor", str(cfg), "--unsafe-fixes"],
                   capture_output=True, text=True)
    assert "rank = 8" in cfg.read_text(encoding="utf-8")
    js = write(tmp_path, "k.json", json.dumps({"bucket_reso_steps": "32", "enable_bucket": True,
                                               "epoch": 10, "max_train_steps": "1600"},
                                              indent=4))
    subprocess.run([sys.executable, "-m", "loratui", "doctor", str(js), "--fix"],
                   capture_output=True, text=True)
    data = json.loads(js.read_text(encoding="utf-8"))
    assert data["bucket_reso_steps"] == "64" and data["max_train_steps"] == "0"
    assert not list(tmp_path.glob(".*.tmp"))


@pytest.mark.parametrize(("name", "text", "absent"), [
    ("loratui.toml", "[model]\nbase = \"/m/v1-5.safetensors\"\n[network]\nrank = 64\n"
     "[output]\ndir = \"runs\"\n", ("json", "pathlib", "shutil", "difflib", "shlex")),
    ("cfg.json", json.dumps({"network_dim": 64, "output_dir": "/out", "train_data_dir": "/d"}),
     ("tomllib", "typing", "pathlib", "shutil", "difflib", "shlex")),
])
def test_doctor_config_startup_imports(tmp_path, name, text, absent):
    """The start-up budget (2x `import rich`) leaves no room for these on the config path;
    bench/doctor.py measures the time itself."""
    cfg = write(tmp_path, name, text)
    code = ("import sys, runpy; sys.argv=['loratui','doctor',%r];\n"
            "try:\n runpy.run_module('loratui', run_name='__main__')\n"
            "except SystemExit: pass\n"
            "print('LOADED', sorted(m for m in %r if m in sys.modules), file=sys.stderr)"
            ) % (str(cfg), absent)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert "LOADED []" in out.stderr, out.stderr
    assert "CF102" in out.stdout


def test_doctor_config_with_dataset_stays_lean(tmp_path):
    """A config whose dataset folder is here is scanned too; that path imports no `random`
    (caption edits only), no `pathlib` (file names are strings there) and builds no dataclass whose docstring dataclasses would make by
    calling inspect.signature (a few ms each at start-up)."""
    from PIL import Image

    data = tmp_path / "data"
    data.mkdir()
    Image.new("RGB", (64, 64), "white").save(data / "a.png")
    (data / "a.txt").write_text("a photo", encoding="utf-8")
    cfg = write(tmp_path, "loratui.toml", "[dataset]\ndir = \"data\"\n[network]\nrank = 64\n")
    code = ("import sys, runpy, dataclasses; sys.argv=['loratui','doctor',%r];\n"
            "try:\n runpy.run_module('loratui', run_name='__main__')\n"
            "except SystemExit: pass\n"
            "auto = sorted(c.__qualname__ for m in list(sys.modules.values())\n"
            "  if getattr(m, '__name__', '').startswith('loratui.')\n"
            "  for c in vars(m).values() if isinstance(c, type) and dataclasses.is_dataclass(c)\n"
            "  and c.__module__ == m.__name__\n"
            "  and c.__doc__ == c.__name__ + str(__import__('inspect').signature(c))"
            ".replace(' -> None', ''))\n"
            "print('LOADED', 'random' in sys.modules, 'pathlib' in sys.modules, auto,"
            " file=sys.stderr)") % str(cfg)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert "LOADED False False []" in out.stderr, out.stderr
    assert "CF102" in out.stdout and "loratui.dataset.scanner" not in out.stderr


# What `loratui doctor` on a project (its config and dataset) must not import, in either
# language: each costs start-up time the budget (2x `import rich`, bench/doctor.py) has no
# room for. `locale` comes with gettext's search of the system's locale folders (argparse's
# texts go through loratui's catalogue instead), `unicodedata` with a second column counter.
LEAN_ABSENT = ("locale", "typing", "pathlib", "dataclasses", "inspect", "json", "logging",
               "concurrent.futures", "unicodedata", "random", "shutil", "subprocess",
               "textwrap", "string", "tomllib", "PIL", "rich", "pydantic", "numpy")


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_doctor_project_start_up_imports_stay_lean(tmp_path, lang):
    data = tmp_path / "data"
    data.mkdir()
    for i in range(3):
        Image.new("RGB", (64, 64), (i, 0, 0)).save(data / f"{i}.png")
        (data / f"{i}.txt").write_text("lrt_girl, a photo", encoding="utf-8")
    cfg = write(tmp_path, "loratui.toml", "[dataset]\ndir = \"data\"\ntrigger_word = "
                "\"lrt_girl\"\n[network]\nrank = 64\n")
    code = ("import sys, runpy; sys.argv=['loratui','doctor',%r];\n"
            "try:\n runpy.run_module('loratui', run_name='__main__')\n"
            "except SystemExit: pass\n"
            "print('LOADED', sorted(m for m in %r if m in sys.modules), file=sys.stderr)"
            ) % (str(cfg), LEAN_ABSENT)
    env = {**os.environ, "LORATUI_LANG": lang}
    for _ in range(2):   # the first run may fill the rule cache (it parses TOML then)
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                             env=env)
    assert "LOADED []" in out.stderr, out.stderr
    assert "CF102" in out.stdout and "DS101" in out.stdout
    assert ("发现" in out.stdout) == (lang == "zh"), out.stdout


def test_cli_parses_only_the_invoked_command_and_still_lists_all_on_errors():
    from loratui.cli import COMMAND_MODULES, _command_parser, build_parser

    def choices(parser):
        return set(next(a for a in parser._actions if hasattr(a, "choices") and
                        isinstance(a.choices, dict)).choices)

    assert choices(_command_parser(["doctor", "x.toml"])) == {"doctor", "rule"}
    assert choices(_command_parser(["rule", "CF102"])) == {"doctor", "rule"}
    assert _command_parser(["docter"]) is None and _command_parser(["--version"]) is None
    assert {"doctor", "rule", "lora", "presets", "config"} <= choices(build_parser())
    assert len(COMMAND_MODULES) >= 4
    typo = subprocess.run([sys.executable, "-m", "loratui", "docter"], capture_output=True,
                          text=True)
    assert typo.returncode == 2 and "presets" in typo.stderr and "doctor" in typo.stderr
    rule = subprocess.run([sys.executable, "-m", "loratui", "rule", "CF102"],
                          capture_output=True, text=True)
    assert rule.returncode == 0 and "rank-too-high" in rule.stdout


def test_cli_json_exit_codes_and_no_heavy_imports(tmp_path):
    cfg = write(tmp_path, "loratui.toml", "[network]\nrank = 64\n[dataset]\nresolution = 640\n")
    code = ("import sys, runpy; sys.argv=['loratui','doctor',%r,'--format','json'];\n"
            "try:\n runpy.run_module('loratui', run_name='__main__')\n"
            "except SystemExit as e: rc=e.code\n"
            "bad=[m for m in ('torch','pydantic','rich','numpy','textual') if m in sys.modules]\n"
            "print('HEAVY', bad, 'RC', rc, file=sys.stderr)") % str(cfg)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert "HEAVY [] RC 0" in out.stderr, out.stderr
    data = json.loads(out.stdout)
    diag = data["diagnostics"][0]
    assert set(diag) >= {"code", "name", "severity", "message", "refs", "location", "fix"}
    assert diag["location"]["path"] == str(cfg) and "key" in diag["location"]
    strict = subprocess.run([sys.executable, "-m", "loratui", "doctor", str(cfg), "--strict"],
                            capture_output=True, text=True)
    assert strict.returncode == 1
    missing = subprocess.run([sys.executable, "-m", "loratui", "doctor", "/no/such/file"],
                             capture_output=True, text=True)
    assert missing.returncode == 2 and missing.stdout == ""
    err = write(tmp_path, "bad.json", "{oops")
    r = subprocess.run([sys.executable, "-m", "loratui", "doctor", str(err)],
                       capture_output=True, text=True)
    assert r.returncode == 2
    rule = subprocess.run([sys.executable, "-m", "loratui", "rule", "CF102"],
                          capture_output=True, text=True)
    assert "Why is this bad?" in rule.stdout and "Fix safety" in rule.stdout
    lst = subprocess.run([sys.executable, "-m", "loratui", "doctor", "--list-rules"],
                         capture_output=True, text=True)
    assert lst.returncode == 0 and "CF102" in lst.stdout


def test_sarif_validates(tmp_path):
    import jsonschema

    schema = json.loads((__import__("pathlib").Path(__file__).parent /
                         "sarif-2.1.0-subset.schema.json").read_text(encoding="utf-8"))
    cfg = write(tmp_path, "loratui.toml", "[network]\nrank = 64\n")
    diags, _ = run_doctor([cfg], prompts=["<lora:x:1>"])
    doc = json.loads(render_sarif(diags, load_catalog()))
    jsonschema.validate(doc, schema)
    assert doc["runs"][0]["results"][0]["ruleId"]


def test_kohya_fixtures_parse_with_sensible_findings():
    from pathlib import Path

    kohya = Path(__file__).resolve().parents[1] / "fixtures" / "kohya_ss_presets"
    fixtures = sorted(kohya.glob("*.json")) + sorted((kohya / "test_config").glob("*.json"))
    assert len(fixtures) >= 19
    allowed_errors = {"CF118"}  # bucket_reso_steps = 1 in several real presets (C05)
    for f in fixtures:
        diags, inputs = run_doctor([f])
        assert inputs[0].error is None and inputs[0].kind == "kohya-json", f
        assert "DR001" not in codes(diags)
        errors = {d.code for d in diags if d.severity == "error"}
        assert errors <= allowed_errors, (f.name, errors)
    edg = run_doctor([kohya / "sd15 - EDG_LoraOptiSettings.json"])[0]
    assert "CF102" in codes(edg)
    # 512,650 with no base model and no sdxl/v2 flag: the file does not say which family,
    # so there is no native size to hold it to (only the file's name says "sd15")
    assert "CF101" not in codes(edg)
    for f in sorted((kohya / "test_config").glob("dataset*.toml")):
        diags, inputs = run_doctor([f])
        assert inputs[0].kind == "dataset-toml" and "DR001" not in codes(diags)


# ------------------------------------------------------------------ fuzzing: no parser crashes

FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@FUZZ
@given(st.text())
def test_fuzz_prompt(text):
    data = parse_prompt(text)
    for use in data.uses:
        if use.lbw is not None:
            check_lbw(use.lbw)


@FUZZ
@given(st.text(alphabet=st.sampled_from(list("<lora:lbw=,.0123456789 >MIDteunt^\\\n-")),
               max_size=80))
def test_fuzz_prompt_syntax_alphabet(text):
    parse_prompt(text)


@FUZZ
@given(st.text())
def test_fuzz_cmdline(text):
    parse_cmdline(text)


@FUZZ
@given(st.dictionaries(st.sampled_from(["network_dim", "network_alpha", "learning_rate",
                                        "max_resolution", "optimizer", "mixed_precision",
                                        "epoch", "bucket_reso_steps", "xformers", "LoRA_type",
                                        "max_train_steps", "text_encoder_lr", "sdxl"]),
                       st.one_of(st.none(), st.booleans(), st.integers(), st.floats(),
                                 st.text(max_size=12), st.lists(st.integers(), max_size=3))))
def test_fuzz_kohya_json_rules(data):
    from loratui.doctor.engine import Context, Options, run_rules
    from loratui.doctor.inputs import Input

    inp = Input("<fuzz>.json", "kohya-json")
    inp.facts = kohya_facts(data)
    diags = run_rules(Context([inp], Options(vram_gb=8), load_catalog()))
    assert "DR001" not in codes(diags), [d.message for d in diags]


@FUZZ
@given(st.recursive(st.one_of(st.integers(), st.text(max_size=8), st.booleans()),
                    lambda c: st.one_of(st.lists(c, max_size=3),
                                        st.dictionaries(st.text(max_size=10), c, max_size=4)),
                    max_leaves=12))
def test_fuzz_dataset_toml(data):
    dataset_toml_facts({"datasets": [data]} if not isinstance(data, dict) else data)


@FUZZ
@given(st.binary(max_size=300))
def test_fuzz_safetensors_header(tmp_path_factory, blob):
    p = tmp_path_factory.mktemp("st") / "f.safetensors"
    p.write_bytes(blob)
    try:
        lora = open_lora(p)
    except LoraError:
        return
    lora.format()
    lora.family()
    lora.tensor_stats()


@FUZZ
@given(st.dictionaries(st.text(max_size=20),
                       st.fixed_dictionaries({"dtype": st.sampled_from(["F16", "F32", "X"]),
                                              "shape": st.lists(st.integers(-1, 4), max_size=3),
                                              "data_offsets": st.lists(st.integers(-2, 40),
                                                                       min_size=2, max_size=2)}),
                       max_size=4))
def test_fuzz_safetensors_structured(tmp_path_factory, header):
    body = json.dumps(header).encode()
    p = tmp_path_factory.mktemp("st") / "g.safetensors"
    p.write_bytes(len(body).to_bytes(8, "little") + body + b"\x00" * 40)
    with contextlib.suppress(LoraError):  # a clear LoraError is fine; anything else fails
        open_lora(p).tensor_stats()


@FUZZ
@given(st.binary(max_size=2000))
def test_fuzz_log(blob):
    from loratui.doctor.engine import Context, Options, run_rules
    from loratui.doctor.inputs import Input

    inp = Input("<fuzz>.log", "log")
    inp.data = LogData("<fuzz>.log", blob + b"\nloss=nan\rTraceback (most recent call last)\n")
    diags = run_rules(Context([inp], Options(), load_catalog()))
    assert "DR001" not in codes(diags)


def test_relative_output_dir_beside_a_config_in_the_current_folder(tmp_path, monkeypatch):
    """`output.dir = "runs"` in ./loratui.toml is creatable: no CF129 (P34) false alarm."""
    (tmp_path / "loratui.toml").write_text('[output]\ndir = "runs"\n', encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    assert "CF129" not in codes(run_doctor(["loratui.toml"])[0])


def test_dataset_given_beside_its_config_is_checked_once(tmp_path, monkeypatch):
    data = tmp_path / "data"
    data.mkdir()
    from PIL import Image

    for i in range(3):
        Image.new("RGB", (300, 200), (i * 40, 90, 160)).save(data / f"{i}.png")
        (data / f"{i}.txt").write_text("a photo", encoding="utf-8")
    Image.new("RGB", (300, 200)).save(data / "uncaptioned.png")
    cfg = tmp_path / "loratui.toml"
    cfg.write_text('[dataset]\ndir = "data"\ncaption_extension = ".txt"\n'
                   'trigger_word = "zq_cat"\n', encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    diags = run_doctor(["loratui.toml", "data"])[0]
    keys = [(d.code, d.message) for d in diags]
    dataset_codes = [d.code for d in diags if d.code.startswith("DS")]
    assert "DS101" in dataset_codes and "DS105" in dataset_codes
    assert len(dataset_codes) == len(set(dataset_codes)), keys


def test_a_line_longer_than_the_limit_keeps_its_head_and_what_follows_is_read(tmp_path):
    """A log holding one endless line (a tool printing without newlines, a binary dumped
    into it): the view keeps the line's head, so a 1 GB line costs no gigabytes."""
    from loratui.doctor.inputs.log import MAX_LINE, LogData

    f = tmp_path / "train.log"
    oom = b"torch.OutOfMemoryError: CUDA out of memory. Tried to allocate 2.00 GiB\n"
    f.write_bytes(b"start\n" + b"x" * (3 * MAX_LINE) + b" tail\n" + b"y" * 10 + b"\n" + oom)
    log = LogData.from_file(f)
    assert MAX_LINE < len(log.view) < MAX_LINE + 200
    assert b" tail" not in log.view
    pos = log.find("CUDA out of memory")
    assert pos == f.read_bytes().index(b"CUDA out of memory")       # file offsets still hold
    assert log.line_no(pos) == 4 and log.segment(pos).startswith("torch.OutOfMemoryError")
    short = tmp_path / "short.log"
    short.write_bytes(b"a\n" * 600_000 + oom)           # many short lines: all kept
    assert len(LogData.from_file(short).view) == short.stat().st_size

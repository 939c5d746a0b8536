"""`loratui --lang zh lora inspect|blocks` in Chinese: the labels, counts and verdicts come
from the message catalogue; module names, block names and numbers stay as they are."""

from __future__ import annotations

import re

import pytest

from loratui import i18n

from .lora_helpers import run_cli


@pytest.fixture(autouse=True)
def english_after():
    yield
    i18n.set_language(None)


def test_inspect_and_blocks_in_chinese(sd15_file):
    inspect = run_cli("--lang", "zh", "lora", "inspect", str(sd15_file))
    assert inspect.returncode == 0, inspect.stderr
    out = inspect.stdout
    for label in ("  格式        ", "  系列        ", "  模块        ", "  健康状况    ",
                  "  数据类型    "):
        assert label in out, out
    assert re.search(r"个（UNet \d+ 个，文本编码器 \d+ 个），张量 \d+ 个", out), out
    assert "（alpha / rank，在权重 1.0 时生效）" in out and "没有 NaN" in out
    assert not re.search(r"\b(tensors|modules|applied|weight|untrained)\b", out), out
    family = next(line for line in out.splitlines() if line.startswith("  系列"))
    assert "张量：" in family and not re.search(r"[a-z]+ [a-z]+", family), family
    assert re.fullmatch(r"  系列\s+SD1\.x（张量：[^()]+）", family), family   # fullwidth, as elsewhere
    english = run_cli("--lang", "en", "lora", "inspect", str(sd15_file)).stdout
    assert re.search(r"(?m)^  family\s+SD1\.x  \(tensors: .+\)$", english), english
    blocks = run_cli("--lang", "zh", "lora", "blocks", str(sd15_file))
    assert blocks.returncode == 0, blocks.stderr
    assert "各分层强度 ‖ΔW‖" in blocks.stdout and "  分层   模块      强度   占比" in blocks.stdout
    assert "主导分层：" in blocks.stdout and "dominant" not in blocks.stdout
    english = run_cli("--lang", "en", "lora", "blocks", str(sd15_file))
    assert "  block  mods  strength  share" in english.stdout and "dominant:" in english.stdout


def test_resize_report_and_refusal_in_chinese(tiny_a, tmp_path):
    out = tmp_path / "small.safetensors"
    done = run_cli("--lang", "zh", "lora", "resize", str(tiny_a), "--rank", "1", "-o", str(out))
    assert done.returncode == 0, done.stderr
    assert re.search(r"rank \d+(–\d+)? → 1：保留了 [\d.]+% 的能量（Σσ²）", done.stdout), done.stdout
    assert f"已写出 {out}" in done.stdout and "energy" not in done.stdout
    again = run_cli("--lang", "zh", "lora", "resize", str(tiny_a), "--rank", "1", "-o", str(out))
    assert again.returncode == 2
    assert "已存在：换一个 --output，或者加 --overwrite" in again.stderr


def test_unreadable_lora_files_are_explained_in_chinese(tmp_path):
    pointer = tmp_path / "model.safetensors"
    pointer.write_text("version https://git-lfs.github.com/spec/v1\noid sha256:ab\n")
    short = tmp_path / "short.safetensors"
    short.write_bytes(b"x\n")
    for path, expected in ((pointer, "这是一个 git-LFS 指针（很小的文本文件），不是权重"),
                           (short, "只有 2 字节：\"header too small\"（文件被截断了）")):
        ran = run_cli("--lang", "zh", "lora", "inspect", str(path))
        assert ran.returncode == 2 and expected in ran.stderr, ran.stderr
    english = run_cli("--lang", "en", "lora", "inspect", str(short))
    assert 'only 2 bytes: "header too small" (a truncated file)' in english.stderr


def test_parts_the_lora_tools_do_not_handle_are_refused_in_chinese(tiny_a, tmp_path):
    from safetensors import safe_open

    from loratui.train.export import serialize

    with safe_open(str(tiny_a), framework="pt") as fh:
        names = fh.keys()
        tensors = {k: fh.get_tensor(k) for k in names}
        meta = fh.metadata()
    module = next(k for k in tensors if k.endswith(".lora_down.weight")).rsplit(".", 2)[0]
    tensors[f"{module}.dora_scale"] = tensors[f"{module}.lora_down.weight"][:1, :1].clone()
    dora = tmp_path / "dora.safetensors"
    dora.write_bytes(serialize(tensors, meta))
    out = str(tmp_path / "small.safetensors")
    ran = run_cli("--lang", "zh", "lora", "resize", str(dora), "--rank", "1", "-o", out)
    assert ran.returncode == 2, ran.stderr
    assert f"有 1 个张量是 LoRA 工具处理不了的，例如 `{module}.dora_scale`（DoRA 缩放或 LyCORIS " \
        "部件）" in ran.stderr, ran.stderr
    english = run_cli("--lang", "en", "lora", "resize", str(dora), "--rank", "1", "-o", out)
    assert f"1 tensor the LoRA tools do not handle, e.g. `{module}.dora_scale`" in english.stderr


def test_a_module_without_its_up_half_is_named_in_chinese(tiny_a, tmp_path):
    from safetensors import safe_open

    from loratui.train.export import serialize

    with safe_open(str(tiny_a), framework="pt") as fh:
        names = fh.keys()
        tensors = {k: fh.get_tensor(k) for k in names}
        meta = fh.metadata()
    up = next(k for k in tensors if k.endswith(".lora_up.weight"))
    del tensors[up]
    broken = tmp_path / "half.safetensors"
    broken.write_bytes(serialize(tensors, meta))
    ran = run_cli("--lang", "zh", "doctor", str(broken))
    module = up.rsplit(".", 2)[0]
    said = re.sub(r"\n\s+", "", ran.stdout)   # lines wrapped at the terminal's width
    assert f"`{module}` 有lora_down 却没有 lora_up" in said or \
        f"`{module}` 有 lora_down 却没有 lora_up" in said, ran.stdout


def test_a_header_the_json_parser_refuses_is_explained_in_chinese(tmp_path):
    header = b'{"a.weight": {"dtype": "F16",'   # cut inside the header
    bad = tmp_path / "cut.safetensors"
    bad.write_bytes(len(header).to_bytes(8, "little") + header)
    ran = run_cli("--lang", "zh", "lora", "inspect", str(bad))
    assert ran.returncode == 2 and '"InvalidHeaderDeserialization"：' in ran.stderr, ran.stderr

"""Block-vector and grid-column errors come out in the user's language, on the command
line (`lora scale --blocks`, `lora grid`) as in the wizard's Test step."""

from __future__ import annotations

import pytest
from lora_helpers import run_cli, sd15_layout_lora


@pytest.fixture(autouse=True)
def _no_language_setting(clean_language):
    """Every test here starts from no language setting at all (English)."""


@pytest.fixture(scope="module")
def lora(tmp_path_factory):
    return sd15_layout_lora(tmp_path_factory.mktemp("lbw") / "ink.safetensors")


def test_block_vector_errors_in_chinese(lora, tmp_path):
    out = str(tmp_path / "x.safetensors")
    r = run_cli("--lang", "zh", "lora", "scale", str(lora), "--blocks", "1,1,1", "-o", out)
    assert r.returncode == 2
    assert "`1,1,1` 有 3 个值；sd15 的分层布局需要 17 个（LoRA）或 26 个（LyCORIS）" in r.stderr
    r = run_cli("--lang", "zh", "lora", "scale", str(lora), "--blocks", "OUTSIDE", "-o", out)
    assert r.returncode == 2 and "`OUTSIDE`：不是预设（" in r.stderr
    assert "、分层名，也不是一串数字" in r.stderr
    r = run_cli("--lang", "en", "lora", "scale", str(lora), "--blocks", "1,1,1", "-o", out)
    assert "`1,1,1` has 3 values; the sd15 layout takes 17 (LoRA) or 26 (LyCORIS)" in r.stderr


def test_grid_argument_errors_in_chinese(lora, tmp_path):
    base = ["lora", "grid", str(lora), "--base", str(tmp_path), "--prompt", "ink"]
    r = run_cli("--lang", "zh", *base, "--use", "0.7:1,2")
    assert r.returncode == 2 and "`1,2` 有 2 个值；sd15 的分层布局需要 17 个" in r.stderr
    r = run_cli("--lang", "zh", *base, "--weights", "0.5,x")
    assert r.returncode == 2 and "--weights 0.5,x：不是数字" in r.stderr
    r = run_cli("--lang", "zh", *base, "--columns", "sideways")
    assert r.returncode == 2 and "列 `sideways`：请用 presets、alone、zeroed、预设名（" in r.stderr

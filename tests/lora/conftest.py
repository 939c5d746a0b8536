"""Fixtures for the LoRA-tool tests: one tiny model and a few real LoRA files per session."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
from lora_helpers import sd15_layout_lora, tiny_lora, tiny_sdxl_lora


@pytest.fixture(scope="session")
def lora_dir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("loras")


@pytest.fixture(scope="session")
def tiny_a(tiny_model, lora_dir) -> Path:
    return tiny_lora(tiny_model, lora_dir / "tiny_a.safetensors", seed=1)


@pytest.fixture(scope="session")
def tiny_b(tiny_model, lora_dir) -> Path:
    return tiny_lora(tiny_model, lora_dir / "tiny_b.safetensors", seed=2, rank=2, alpha=1.0)


@pytest.fixture(scope="session")
def sd15_file(lora_dir) -> Path:
    return sd15_layout_lora(lora_dir / "sd15_layout.safetensors")


@pytest.fixture(scope="session")
def tiny_xl(tiny_sdxl_model, lora_dir) -> Path:
    return tiny_sdxl_lora(tiny_sdxl_model, lora_dir / "tiny_xl.safetensors", seed=3)

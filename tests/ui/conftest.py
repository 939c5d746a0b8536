"""Shared fixtures for the wizard's pilot and snapshot tests."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

# pytest runs with --import-mode=importlib: make the helpers beside this file importable.
sys.path.insert(0, str(Path(__file__).resolve().parent))

from ui_helpers import fake_gpu

from loratui.gpu import GpuReport


@pytest.fixture
def gpu12() -> GpuReport:
    return fake_gpu()


@pytest.fixture
def project(tmp_path: Path) -> Path:
    folder = tmp_path / "proj"
    folder.mkdir()
    return folder


@pytest.fixture(autouse=True)
def _quiet_env(monkeypatch: pytest.MonkeyPatch) -> None:
    # No user config or simulated GPU leaks into the tests.
    monkeypatch.delenv("LORATUI_FAKE_GPU", raising=False)
    monkeypatch.setenv("TEXTUAL_ANIMATIONS", "none")


@pytest.fixture(autouse=True)
def _english_unless_asked():
    """Tests read English whatever the machine's locale; `set_language("zh")` (or the
    `chinese` fixture) switches one test to Chinese."""
    from loratui import i18n

    i18n.set_language("en")
    yield
    i18n.set_language(None)


@pytest.fixture
def chinese():
    from loratui import i18n

    i18n.set_language("zh")
    yield "zh"
    i18n.set_language("en")

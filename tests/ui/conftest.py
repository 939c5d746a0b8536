"""Shared fixtures for the wizard's pilot and snapshot tests."""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

import pytest

# pytest runs with --import-mode=importlib: make the helpers beside this file importable.
sys.path.insert(0, str(Path(__file__).resolve().parent))

from ui_helpers import NoNvml, fake_gpu

from loratui.gpu import GpuReport


@pytest.fixture
def gpu12() -> GpuReport:
    return fake_gpu()


@pytest.fixture
def project(tmp_path: Path) -> Path:
    folder = tmp_path / "proj"
    folder.mkdir()
    return folder


SNAPSHOT_ROOT = Path("/tmp/loratui-snapshots")  # not gettempdir(): TMPDIR differs by machine


@pytest.fixture
def fixed_project(monkeypatch: pytest.MonkeyPatch):
    """The snapshots' project: the path shown on screen is always the same; a simulated
    GPU monitor with no driver, half-block images, the watched-runs list beside it."""
    import fcntl  # snapshots are skipped on Windows

    monkeypatch.setenv("LORATUI_IMAGES", "halfcell")
    monkeypatch.setattr("loratui.gpustats.GpuSampler", NoNvml)
    SNAPSHOT_ROOT.mkdir(parents=True, exist_ok=True)
    # One folder for every test run on the machine (other checkouts, other users' runs):
    # one test at a time uses it, or one would delete another's files.
    lock = os.open(SNAPSHOT_ROOT / ".lock", os.O_RDONLY | os.O_CREAT, 0o644)
    try:
        fcntl.flock(lock, fcntl.LOCK_EX)
        folder = SNAPSHOT_ROOT / "proj"
        shutil.rmtree(SNAPSHOT_ROOT / "state", ignore_errors=True)
        monkeypatch.setenv("XDG_STATE_HOME", str(SNAPSHOT_ROOT / "state"))
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True)
        yield folder.resolve()
        shutil.rmtree(folder, ignore_errors=True)
    finally:
        os.close(lock)  # and with it the lock


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

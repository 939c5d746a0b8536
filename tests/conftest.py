"""Shared test set-up: offline, quiet ML libraries, fixtures folder."""

import os
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")


FIXTURES = Path(__file__).resolve().parent / "fixtures"  # tests use Path(__file__) likewise


@pytest.fixture(autouse=True)
def _state_home(tmp_path, monkeypatch):
    """loratui's state (the watched-runs list) goes to the test's folder, never the user's;
    subprocesses inherit it."""
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))

"""Shared test set-up: offline, quiet ML libraries, fixtures folder."""

import os
from pathlib import Path

import pytest

from tests.model_files import TRIGGER

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


@pytest.fixture(autouse=True)
def _language_reset():
    """A test that sets a language in this process (`--lang zh` run in-process, a UI test's
    `set_language`) leaves none behind for the tests after it."""
    yield
    from loratui import i18n

    i18n.set_language(None)


@pytest.fixture
def clean_language(monkeypatch):
    """No language from the environment or an earlier `set_language`: English, until a test
    sets one; reset afterwards."""
    from loratui import i18n

    for var in (i18n.ENV_VAR, "LC_ALL", "LC_MESSAGES", "LANG", "LANGUAGE"):
        monkeypatch.delenv(var, raising=False)
    i18n.set_language(None)
    yield
    i18n.set_language(None)


# The tiny SD-shaped models (loratui.tiny), built once per test session for every folder
# that trains, exports or loads LoRAs; `TRIGGER` is one token in their vocabulary.
@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory) -> Path:
    from loratui.tiny import build_tiny_model

    return build_tiny_model(tmp_path_factory.mktemp("tiny") / "model", extra_words=[TRIGGER])


@pytest.fixture(scope="session")
def tiny_sdxl_model(tmp_path_factory) -> Path:
    from loratui.tiny import build_tiny_model

    return build_tiny_model(tmp_path_factory.mktemp("tiny_sdxl") / "model",
                            extra_words=[TRIGGER], family="sdxl")

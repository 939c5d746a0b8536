import os

import pytest


@pytest.fixture(autouse=True)
def _isolated_cache(tmp_path_factory, monkeypatch):
    """Each test session gets its own rule cache; no GPU is simulated unless a test asks."""
    monkeypatch.setenv("LORATUI_CACHE_DIR", str(tmp_path_factory.getbasetemp() / "cache"))
    monkeypatch.delenv("LORATUI_FAKE_GPU", raising=False)
    monkeypatch.setenv("NO_COLOR", "1")
    yield
    os.environ.pop("LORATUI_FAKE_GPU", None)

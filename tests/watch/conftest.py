import pytest


@pytest.fixture(autouse=True)
def _state_home(tmp_path, monkeypatch):
    """The watched-runs registry goes to the test's folder, never the user's."""
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))

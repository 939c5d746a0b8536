from __future__ import annotations

from pathlib import Path

import pytest

from .dataset_fixtures import make_broken_set


@pytest.fixture
def broken_set(tmp_path: Path) -> tuple[Path, dict[str, str]]:
    root = tmp_path / "broken set"
    return root, make_broken_set(root)


@pytest.fixture(scope="session")
def tiny_blip(tmp_path_factory) -> Path:
    from .dataset_tiny_models import build_tiny_blip

    return build_tiny_blip(tmp_path_factory.mktemp("blip"))


@pytest.fixture(scope="session")
def tiny_clip(tmp_path_factory) -> Path:
    from .dataset_tiny_models import build_tiny_clip

    return build_tiny_clip(tmp_path_factory.mktemp("clip"))

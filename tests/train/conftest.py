"""Shared fixtures for the training tests: one tiny model and one demo dataset per session.

torch & co. are imported once per test process; building the tiny model takes ~0.1 s after
that. Trained runs are module-scoped where several tests read the same run.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
from train_helpers import TRIGGER, make_config


@pytest.fixture(scope="session")
def demo_dataset(tmp_path_factory) -> Path:
    from loratui.tiny import write_demo_dataset

    return write_demo_dataset(tmp_path_factory.mktemp("demo") / "dataset", TRIGGER)


@pytest.fixture
def cfg_factory(tiny_model, demo_dataset, tmp_path):
    def factory(**sections):
        return make_config(tiny_model, demo_dataset, tmp_path / "runs", **sections)
    return factory

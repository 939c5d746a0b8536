"""Every `optimizer.name` the config accepts makes its optimiser, or stops with the package
to install; none falls through to "unknown"."""

from __future__ import annotations

import importlib.util
from typing import get_args

import pytest

from loratui.config import RunConfig
from loratui.config.model import Optimizer
from loratui.train.parts import OPTIMIZERS, TrainingStopped, make_optimizer


def test_every_config_choice_has_an_optimizer():
    assert set(get_args(Optimizer)) == set(OPTIMIZERS)


@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
def test_optimizer_is_made_or_names_its_package(name):
    import torch

    cfg = RunConfig()
    cfg.optimizer.name = name
    params = [torch.nn.Parameter(torch.zeros(3))]
    spec = OPTIMIZERS[name]
    installed = importlib.util.find_spec(spec.module.split(".")[0]) is not None
    if installed:
        opt = make_optimizer(cfg.optimizer, [{"params": params, "lr": 1e-4}])
        assert type(opt).__name__ == spec.cls
        assert opt.defaults["weight_decay"] == cfg.optimizer.weight_decay
        for key, value in spec.kwargs.items():
            assert opt.defaults[key] == value
    else:
        with pytest.raises(TrainingStopped, match=f"pip install {spec.package}, or use AdamW"):
            make_optimizer(cfg.optimizer, [{"params": params, "lr": 1e-4}])

"""The trainer's own words reach a Chinese reader: its events and errors are Messages
(English in the run's files, with the msgid and arguments beside it)."""

from __future__ import annotations

from pathlib import Path

import pytest

from loratui import i18n
from loratui.i18n import error_text, message_from_fields


@pytest.fixture
def chinese():
    i18n.set_language("zh")
    yield
    i18n.set_language(None)


def test_start_and_sample_events_are_recorded_as_messages(cfg_factory):
    from loratui.runs import RunFolder
    from loratui.train.loop import Trainer
    from loratui.train.runfolder import RunWriter

    cfg = cfg_factory(training={"epochs": 1, "save_every_n_epochs": 0, "log_with": "wandb"},
                      sample={"every_n_epochs": 1, "steps": 1, "prompts": ["{trigger}"]})
    result = Trainer(cfg, RunWriter.create(cfg)).train()
    assert result.state == "finished", result.message
    events = {e["type"]: e for e in RunFolder(result.run_dir).events()}
    sample, started = events["sample"], events["started"]
    (warning,) = [e for e in RunFolder(result.run_dir).events() if "wandb" in e["message"]]
    assert sample["message"] == "1 sample image" and sample["msgid"] == "{n} sample image"
    assert started["message"] == f"step 0/{started['max_steps']}"
    i18n.set_language("zh")
    try:
        assert message_from_fields(sample).localized() == "1 张样图"
        assert message_from_fields(started).localized() == f"第 0/{started['max_steps']} 步"
        assert message_from_fields(warning).localized().startswith(   # wandb is not installed
            "training.log_with 要求用 wandb，但它没有安装")
    finally:
        i18n.set_language(None)


def test_a_resume_states_counters_are_refused_in_chinese(tmp_path: Path, chinese):
    from loratui.train.resume import StateError, check_counters

    path = tmp_path / "trainer.json"
    limits = {"max_steps": 100, "epochs": 10, "steps_per_epoch": 10, "micro_per_epoch": 10}
    with pytest.raises(StateError) as info:
        check_counters({"step": 50, "epoch": 1, "micro_in_epoch": 0, "micro_total": 50}, path,
                       num_processes=1, **limits)
    assert str(info.value) == f"{path}: step 50 cannot be in epoch 1 (10 steps per epoch)"
    assert error_text(info.value) == f"{path}：第 50 步不可能在第 1 轮（每轮 10 步）"
    with pytest.raises(StateError) as info:
        check_counters({"step": 5, "epoch": 1, "num_processes": 2}, path, num_processes=1,
                       **limits)
    assert error_text(info.value).endswith("保存时用了 2 个训练进程，续训时是 1 个：请用 --gpus 2 续训")


def test_a_missing_base_model_is_named_in_chinese(tmp_path: Path, chinese):
    from loratui.train.models import ModelLoadError, load_components

    with pytest.raises(ModelLoadError) as info:
        load_components(tmp_path / "no-such-model")
    assert error_text(info.value).startswith(f"{tmp_path / 'no-such-model'}：找不到底模（")
    assert "nothing is downloaded" in str(info.value)   # the English record


def test_a_family_that_contradicts_the_base_model_is_explained_in_chinese(cfg_factory, chinese):
    from loratui.i18n import localized
    from loratui.train.safety import preflight

    cfg = cfg_factory()
    cfg = cfg.model_copy(update={"model": cfg.model.model_copy(update={"family": "sdxl"})})
    (problem,) = [p for p in preflight(cfg) if "model.family" in p]
    assert problem.startswith("model.family = 'sdxl' but ")   # the English record
    assert localized(problem).startswith("model.family = 'sdxl'，但 ")
    assert "是 SD1.5 模型（识别为 'sd15'）：请把 model.family 设为 'sd15' 或 \"auto\"" in \
        localized(problem)

"""A real tiny run writes TensorBoard event files (sd-scripts' tags) that match metrics.jsonl,
read back with tensorboard's own readers."""

from __future__ import annotations

import pytest


def event_scalars(folder) -> dict[str, list[tuple[int, float]]]:
    """tag -> [(step, value)] of every event file under `folder`, as written (no purging)."""
    from tensorboard.backend.event_processing.event_file_loader import EventFileLoader
    from tensorboard.util import tensor_util

    out: dict[str, list[tuple[int, float]]] = {}
    for path in sorted(folder.glob("events.out.tfevents.*")):
        for event in EventFileLoader(str(path)).Load():
            for value in event.summary.value:
                number = float(tensor_util.make_ndarray(value.tensor))
                out.setdefault(value.tag, []).append((event.step, number))
    return out


def test_a_run_writes_tensorboard_scalars_that_match_metrics_jsonl(cfg_factory):
    from loratui.runs import TENSORBOARD_DIR, RunFolder
    from loratui.train import train

    cfg = cfg_factory(training={"epochs": 2, "save_every_n_epochs": 0})
    assert cfg.training.log_with == "tensorboard"  # the default
    result = train(cfg, log_to_stderr=False)
    assert result.state == "finished", result.message
    rows = RunFolder(result.run_dir).metrics()
    assert len(rows) == 16
    scalars = event_scalars(result.run_dir / TENSORBOARD_DIR)
    steps = [r["step"] for r in rows]
    for tag, key in (("loss/current", "loss"), ("loss/average", "loss_avg"),
                     ("lr/unet", "lr_unet"), ("lr/textencoder", "lr_te")):
        assert [s for s, _ in scalars[tag]] == steps, tag
        assert [v for _, v in scalars[tag]] == pytest.approx([r[key] for r in rows],
                                                             rel=1e-6), tag
    epochs = scalars["loss/epoch"]  # sd-scripts: one point per epoch, at step = epoch
    assert [s for s, _ in epochs] == [1, 2]
    first = [r["loss"] for r in rows if r["epoch"] == 1]
    assert epochs[0][1] == pytest.approx(sum(first) / len(first), rel=1e-6)

    # `loratui watch` reads the folder as it reads sd-scripts' --logging_dir: same numbers.
    from loratui.watch import open_source

    source = open_source(result.run_dir / TENSORBOARD_DIR)
    try:
        watched = source.poll()[0] + source.poll()[0]  # the last step once a poll is quiet
    finally:
        source.close()
    assert [r["step"] for r in watched] == steps
    for key in ("loss", "loss_avg", "lr_unet", "lr_te"):
        assert [r[key] for r in watched] == pytest.approx([r[key] for r in rows], rel=1e-6)


@pytest.mark.slow
def test_a_resumed_run_drops_the_lost_steps_in_tensorboard_too(cfg_factory):
    """NaN at step 11 after the epoch-1 checkpoint (step 8): the resumed session purges steps
    9-10 of the first one, so TensorBoard's reader shows steps 1-16 once, as metrics.jsonl."""
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    from loratui.runs import TENSORBOARD_DIR, RunFolder
    from loratui.train import train
    from loratui.train.loop import Faults

    cfg = cfg_factory(training={"epochs": 2, "save_every_n_epochs": 1})
    broken = train(cfg, faults=Faults(nan_at_step=11), log_to_stderr=False)
    assert broken.state == "failed"
    resumed = train(cfg, broken.run_dir, resume=True, log_to_stderr=False)
    assert resumed.state == "finished", resumed.message
    folder = broken.run_dir / TENSORBOARD_DIR
    assert len(list(folder.glob("events.out.tfevents.*"))) == 2  # one per session
    acc = EventAccumulator(str(folder))
    acc.Reload()
    rows = RunFolder(broken.run_dir).metrics()
    points = acc.Scalars("loss/current")
    assert [p.step for p in points] == list(range(1, 17))
    assert [p.value for p in points] == pytest.approx([r["loss"] for r in rows], rel=1e-6)


def test_log_with_none_writes_no_event_files_and_a_missing_wandb_is_a_warning(cfg_factory):
    import importlib.util

    from loratui.runs import TENSORBOARD_DIR, RunFolder
    from loratui.train import train

    result = train(cfg_factory(training={"max_steps": 1, "log_with": "none"}),
                   log_to_stderr=False)
    assert result.state == "finished"
    assert not (result.run_dir / TENSORBOARD_DIR).exists()
    if importlib.util.find_spec("wandb") is not None:
        pytest.skip("wandb is installed here")
    result = train(cfg_factory(training={"max_steps": 1, "log_with": "wandb"}),
                   log_to_stderr=False)
    assert result.state == "finished", result.message  # a tracker never stops training
    warnings = [e["message"] for e in RunFolder(result.run_dir).events()
                if e["type"] == "warning"]
    assert any("wandb" in w and "pip install wandb" in w for w in warnings), warnings
    assert not (result.run_dir / TENSORBOARD_DIR).exists()

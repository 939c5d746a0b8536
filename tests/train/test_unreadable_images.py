"""Images the trainer cannot read are skipped and named; the run goes on (real runs)."""

from __future__ import annotations

import shutil

import pytest
from PIL import Image


def _hostile_dataset(demo_dataset, folder):
    """The demo dataset plus a truncated PNG, a decompression bomb and a hidden partial file
    named like an image (what an old interrupted write left)."""
    shutil.copytree(demo_dataset, folder)
    whole = (folder / "demo_01.png").read_bytes()
    (folder / "cut.png").write_bytes(whole[: len(whole) // 2])
    (folder / "cut.txt").write_text("sks, cut")
    # 14000 x 14000 = 196 M pixels: over twice Pillow's limit (DecompressionBombError)
    Image.new("1", (14000, 14000)).save(folder / "bomb.png")
    (folder / "bomb.txt").write_text("sks, bomb")
    (folder / ".demo_02.a1b2c3d4.png").write_bytes(whole[:100])
    return folder


def test_scan_names_bombs_and_broken_files_and_ignores_hidden_ones(demo_dataset, tmp_path):
    from loratui.train.data import scan

    folder = _hostile_dataset(demo_dataset, tmp_path / "data")
    Image.new("1", (10000, 10000)).save(folder / "big.png")  # over the limit, under 2x
    (folder / "junk.png").write_bytes(b"not an image at all")
    items, warnings = scan(folder, trigger="sks")
    names = {it.path.name for it in items}
    assert "bomb.png" not in names and "big.png" not in names and "junk.png" not in names
    assert not any(n.startswith(".") for n in names)
    text = "\n".join(warnings)
    for name in ("bomb.png", "big.png", "junk.png"):
        assert f"{folder / name}:" in text
    assert "decompression-bomb limit" in text and "skipped" in text
    assert ".demo_02" not in text


@pytest.mark.parametrize("cache_latents", [True, False])
def test_run_skips_truncated_bomb_and_deleted_images_and_finishes(demo_dataset, cfg_factory,
                                                                  tmp_path, cache_latents):
    from safetensors import safe_open

    from loratui.runs import RunFolder
    from loratui.train.loop import Trainer
    from loratui.train.runfolder import RunWriter, setup_logging

    folder = _hostile_dataset(demo_dataset, tmp_path / "data")
    cfg = cfg_factory(dataset={"dir": str(folder)},
                      training={"epochs": 1, "cache_latents": cache_latents,
                                "save_every_n_epochs": 0})
    trainer = Trainer(cfg, run := RunWriter.create(cfg))
    setup_logging(run, to_file=True, to_stderr=False)
    trainer.setup()
    # deleted after the plan was made (mid-run, from the trainer's point of view)
    (folder / "demo_03.png").unlink()
    res = trainer.train()
    assert res.state == "finished", res.message
    run = RunFolder(res.run_dir)
    skipped = {e["path"]: e["message"] for e in run.events() if e["type"] == "skipped"}
    assert str(folder / "cut.png") in skipped
    assert "cannot read the image" in skipped[str(folder / "cut.png")]
    warned = " ".join(e["message"] for e in run.events() if e["type"] == "warning")
    assert f"{folder / 'bomb.png'}:" in warned and "decompression-bomb" in warned
    log = run.log_path.read_text()
    assert "cut.png" in log and "skipped" in log
    with safe_open(str(res.lora_path), "pt") as fh:
        n_images = int(fh.metadata()["ss_num_train_images"])
    if cache_latents:  # read once before training: the cut one leaves the plan
        assert n_images == 8 and len(res.losses) == 8
        assert len(skipped) == 1
    else:  # read at each step: skipped when its turn comes, another image takes its place
        assert "the file is gone" in skipped[str(folder / "demo_03.png")]
        assert len(res.losses) == 9
        assert len(skipped) == 2  # each named once, not at every step

"""From an empty folder to a LoRA installed in a WebUI folder, through the wizard's keys
alone: real images, the tiny SD1.5-shaped model, real BLIP captions (tiny BLIP), a real
CPU training run in its own process, a real kohya-format export."""

from __future__ import annotations

import asyncio
import importlib.util
import json
import os
import signal
import time
from pathlib import Path

import pytest
from safetensors import safe_open
from ui_helpers import HANG, NO_GPU, paste

from loratui.ui import core
from loratui.ui.app import create_app
from loratui.ui.dialogs.captions import AutoCaptionDialog
from loratui.ui.dialogs.edit_field import EditFieldDialog
from loratui.ui.dialogs.prepare import PrepareDialog
from loratui.ui.widgets.loss_chart import LossChart

pytestmark = pytest.mark.slow

TESTS = Path(__file__).resolve().parents[1]


def tiny_blip_builder():
    spec = importlib.util.spec_from_file_location(
        "dataset_tiny_models", TESTS / "dataset" / "dataset_tiny_models.py")
    if spec is None or spec.loader is None:
        return None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.build_tiny_blip


async def until(pilot, predicate, timeout: float = HANG, what: str = "") -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        await pilot.pause(0.1)


async def running_pid(pilot, run_dir: Path, timeout: float = HANG) -> int:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            state = json.loads((run_dir / "state.json").read_text())
        except (OSError, ValueError):
            state = {}
        if state.get("state") == "running" and state.get("pid"):
            return int(state["pid"])
        await asyncio.sleep(0.02)
    raise AssertionError("the trainer never reached state running")


async def test_empty_folder_to_installed_lora(tmp_path: Path) -> None:
    from loratui.tiny import build_tiny_model, write_demo_dataset

    model = build_tiny_model(tmp_path / "model", extra_words=["zqxgirl"])
    images = write_demo_dataset(tmp_path / "photos", trigger="zqxgirl")
    (images / "demo_06.txt").unlink()  # one more image for BLIP to caption
    build_blip = tiny_blip_builder()
    blip = build_blip(tmp_path / "blip") if build_blip else None
    webui = tmp_path / "stable-diffusion-webui"
    (webui / "models" / "Lora").mkdir(parents=True)
    project = tmp_path / "project"
    project.mkdir()

    app = create_app(project, gpu=NO_GPU, watch_interval=0.2)
    async with app.run_test(size=(100, 30)) as pilot:
        # 1 Start: base model path, then next (writes loratui.toml).
        await paste(pilot, app, "#base-model", str(model))
        await until(pilot, lambda: "tiny SD1.5" in str(
            app.screen.query_one("#model-status").render()), what="model check")
        await pilot.press("ctrl+n")
        assert (project / "loratui.toml").is_file()

        # 2 Dataset: scan, then prepare a 64 px cropped copy.
        await until(pilot, lambda: app.screen.STEP == "dataset")
        await paste(pilot, app, "#dataset-dir", str(images))
        await pilot.press("enter")
        await until(pilot, lambda: app.screen.report is not None, what="scan")
        assert app.screen.report.totals.images == 8
        await pilot.press("ctrl+o")
        await until(pilot, lambda: isinstance(app.screen, PrepareDialog))
        await pilot.press("ctrl+s")
        prepared = images.parent / "photos-64"
        await until(pilot, lambda: getattr(app.screen, "report", None) is not None
                    and Path(app.screen.report.root) == prepared, what="prepare + rescan")
        assert app.state.config.dataset.dir == str(prepared)

        # 3 Captions: BLIP writes the missing ones.
        await pilot.press("ctrl+n")
        await until(pilot, lambda: app.screen.STEP == "captions")
        await until(pilot, lambda: len(app.screen.records) == 8, what="caption list")
        if blip is not None:
            await pilot.press("ctrl+o")
            await until(pilot, lambda: isinstance(app.screen, AutoCaptionDialog))
            await paste(pilot, app, "#model", str(blip))
            await pilot.press("ctrl+s")
            await until(pilot, lambda: (prepared / "demo_04.txt").exists()
                        and (prepared / "demo_06.txt").exists(), what="BLIP")

        # 4 Trigger: typed, checked, inserted into every caption of the copy.
        await pilot.press("ctrl+n")
        await until(pilot, lambda: app.screen.STEP == "trigger")
        await paste(pilot, app, "#trigger", "zqxgirl_v1_")
        await pilot.press("ctrl+o")
        await until(pilot, lambda: all(p.read_text().startswith("zqxgirl_v1_")
                                       for p in prepared.glob("*.txt")), what="insert")

        # 5 Parameters: the CPU preset came from "no GPU"; one epoch is enough here.
        await pilot.press("ctrl+n")
        await until(pilot, lambda: app.screen.STEP == "parameters")
        assert app.state.config.dataset.resolution == 64
        table = app.screen.query_one("#fields")
        table.focus()
        keys = [row.key.value for row in table.ordered_rows]
        await pilot.press(*["down"] * keys.index("training.epochs"), "enter")
        await until(pilot, lambda: isinstance(app.screen, EditFieldDialog))
        await pilot.press("ctrl+u", "2", "enter")
        await until(pilot, lambda: app.state.config.training.epochs == 2)
        await until(pilot, lambda: not isinstance(app.screen, EditFieldDialog))
        steps_down = keys.index("sample.every_n_epochs") - keys.index("training.epochs")
        await pilot.press(*["down"] * steps_down, "enter")
        await until(pilot, lambda: isinstance(app.screen, EditFieldDialog))
        await pilot.press("ctrl+u", "0", "enter")  # no sample images: a faster test
        await until(pilot, lambda: app.state.config.sample.every_n_epochs == 0)

        # 6 Train: a real trainer process; the chart fills from its run folder.
        # Stopped once it runs (it saves a resumable state), then resumed to the end.
        await pilot.press("ctrl+n")
        await until(pilot, lambda: app.screen.STEP == "train")
        await pilot.press("ctrl+t")
        await until(pilot, lambda: app.state.run_dir is not None, what="the run folder")
        # The progress row is there at once, without leaving the step (issue: it was not).
        assert app.screen.query_one("#run-progress-row").display
        assert "it/s" in str(app.screen.query_one("#run-numbers").render())
        # Hold the trainer the moment it runs, so the stop lands mid-run on any machine.
        pid = await running_pid(pilot, app.state.run_dir)
        os.kill(pid, signal.SIGSTOP)
        try:
            await until(pilot, lambda: app.screen.run_state.get("state") == "running",
                        what="the screen to show the run")
            await pilot.press("ctrl+x")
        finally:
            os.kill(pid, signal.SIGCONT)
        await until(pilot, lambda: app.screen.run_state.get("state") == "interrupted",
                    what="the stop")
        stopped_at = app.screen.run_state.get("step")
        assert app.screen.run_state.get("resumable")
        await pilot.press("ctrl+r")
        await until(pilot, lambda: app.screen.run_state.get("state") in core.ACTIVE_STATES
                    or app.screen.run_state.get("state") == "finished", what="the resume")
        assert app.screen.query_one("#run-progress-row").display
        await until(pilot, lambda: app.screen.run_state.get("state") == "finished",
                    timeout=240, what="resumed training")
        assert app.screen.run_state.get("step") == 16 > stopped_at
        await until(pilot, lambda: len(app.screen.query_one(LossChart).steps) > 0)

        # 7 Export: into the WebUI's models/Lora, with prompt and verdict.
        await pilot.press("ctrl+n")
        await until(pilot, lambda: app.screen.STEP == "export")
        usage = str(app.screen.query_one("#export-usage").render())
        assert "zqxgirl_v1_" in usage and ":0.6>" in usage
        await paste(pilot, app, "#webui", str(webui))
        await pilot.press("ctrl+o")
        installed = webui / "models" / "Lora" / "my_lora.safetensors"
        await until(pilot, installed.exists, what="install")
        await until(pilot, lambda: "doctor:" in str(app.screen.query_one("#export-verdict")
                                                      .render())
                    and "checking" not in str(app.screen.query_one("#export-verdict")
                                              .render()), what="verdict")

    with safe_open(str(installed), framework="pt") as fh:
        keys = list(fh.keys())
        meta = fh.metadata()
    assert keys and all(k.startswith(("lora_unet_", "lora_te_")) for k in keys)
    assert meta.get("ss_network_dim") == "4"

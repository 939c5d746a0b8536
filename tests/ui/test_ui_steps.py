"""Dataset, Captions, Trigger, Export and Doctor steps driven by keys on real files."""

from __future__ import annotations

import time
from pathlib import Path

from PIL import Image
from textual.widgets import DataTable
from ui_helpers import HANG, NO_GPU, fake_gpu, paste, text, write_run

from loratui.config import RunConfig, load_config, save_config
from loratui.ui.app import create_app
from loratui.ui.dialogs import ConfirmDialog, ErrorDialog
from loratui.ui.screens.doctor import DoctorScreen


async def until(pilot, predicate, timeout: float = HANG) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        await pilot.pause(0.05)


def images(folder: Path, n: int = 4, caption: str | None = "a girl, red hair") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(n):
        Image.new("RGB", (512 if i else 640, 512), (30 * i, 100, 150)).save(folder / f"{i}.png")
        if caption is not None:
            (folder / f"{i}.txt").write_text(f"{caption} {i}\n")
    return folder


def project_with(tmp_path: Path, **sections) -> Path:
    project = tmp_path / "proj"
    project.mkdir()
    cfg = RunConfig.model_validate(sections)
    save_config(cfg, project / "loratui.toml")
    return project


async def test_dataset_scan_shows_totals_histogram_and_problems(tmp_path) -> None:
    data = images(tmp_path / "imgs", 4)
    (data / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"\0" * 20)
    project = project_with(tmp_path, dataset={"dir": str(data)})
    app = create_app(project, gpu=fake_gpu(), step="dataset")
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: app.screen.report is not None)
        summary = text(app, "#dataset-summary")
        assert "5 images" in summary and "1 broken" in summary
        assert "640x512" in text(app, "#dataset-histogram") or \
            "640×512" in text(app, "#dataset-histogram")
        problems = app.screen.query_one("#problems", DataTable)
        kinds = [str(problems.get_row_at(i)[1]) for i in range(problems.row_count)]
        detail = text(app, "#problem-detail")  # at 80 columns the kind is named here
        assert any("truncated" in k or "corrupt" in k for k in [*kinds, detail])
        assert "broken.png" in text(app, "#problem-detail")  # worst problem first, with files


async def test_dataset_step_names_animations_and_caption_pipes(tmp_path) -> None:
    """An animated WebP (trained on its first frame only) and a caption name held by a
    named pipe (never opened: the scan must not wait on it) are rows of the problem list,
    with the doctor's codes."""
    import os

    data = images(tmp_path / "imgs", 3)
    frames = [Image.new("RGB", (512, 512), (60 * i, 20, 90)) for i in range(3)]
    frames[0].save(data / "dance.webp", save_all=True, append_images=frames[1:])
    (data / "dance.txt").write_text("a girl, dancing\n")
    (data / "0.txt").unlink()
    os.mkfifo(data / "0.txt")
    project = project_with(tmp_path, dataset={"dir": str(data)})
    app = create_app(project, gpu=fake_gpu(), step="dataset")
    async with app.run_test(size=(120, 40)) as pilot:
        await until(pilot, lambda: app.screen.report is not None)
        problems = app.screen.query_one("#problems", DataTable)
        rows = [" ".join(map(str, problems.get_row_at(i))) for i in range(problems.row_count)]
        assert any("DS214" in r and "animated" in r for r in rows), rows
        assert any("DS215" in r for r in rows), rows
        assert not any("DS105" in r for r in rows), rows   # not "no caption"


async def test_missing_dataset_folder_is_one_line_not_a_dialog(tmp_path) -> None:
    """A typo in the folder is the user's to fix: a line on the step, no dialog, no
    bug report, no errors.log."""
    project = project_with(tmp_path, dataset={"dir": str(tmp_path / "nowhere")})
    app = create_app(project, gpu=fake_gpu(), step="dataset")
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: app.screen.query_one("#guard").display)
        assert "nowhere does not exist" in text(app, "#guard")
        assert text(app, "#guard").startswith("Dataset step: ")
        await until(pilot, lambda: not any(w.is_running for w in app.workers))  # all said
        await pilot.pause()
        assert not isinstance(app.screen, ErrorDialog)
        assert app.screen.STEP == "dataset"
    assert not (project / ".loratui" / "errors.log").exists()


async def test_caption_edit_backs_up_the_source_caption(tmp_path) -> None:
    data = images(tmp_path / "imgs", 2)
    project = project_with(tmp_path, dataset={"dir": str(data), "trigger_word": "zqx_"})
    app = create_app(project, gpu=fake_gpu(), step="captions")
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: len(app.screen.records) == 2)
        assert "source folder" in text(app, "#captions-summary")
        assert "MISSING" in text(app, "#caption-info")
        editor = app.screen.query_one("#caption-editor")
        editor.focus()
        await pilot.press("ctrl+a", "ctrl+k", *"zqx_, a girl", "ctrl+s")
        await pilot.pause()
        assert "present" in text(app, "#caption-info")
    assert (data / "0.txt").read_text() == "zqx_, a girl\n"
    backups = list((data / ".loratui-backup").rglob("0.txt"))
    assert backups and backups[0].read_text() == "a girl, red hair 0\n"


async def test_trigger_checked_as_typed_and_inserted_after_confirmation(tmp_path) -> None:
    data = images(tmp_path / "imgs", 3)
    project = project_with(tmp_path, dataset={"dir": str(data)})
    app = create_app(project, gpu=fake_gpu(), step="dataset")
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: app.screen.report is not None)
        await pilot.press("ctrl+n", "ctrl+n")
        await until(pilot, lambda: app.screen.STEP == "trigger")
        await pilot.press(*"beautiful girl")
        await until(pilot, lambda: "weak" in text(app, "#trigger-verdict"))
        assert "spaces" in text(app, "#trigger-findings")
        # no base model set: token facts still come from the shipped SD1.5 vocabulary
        await until(pilot, lambda: "beautiful | girl (2)" in text(app, "#trigger-tokenizer"))
        await pilot.press("ctrl+u", *"qzx_hanfu_")
        await until(pilot, lambda: "looks unique" in text(app, "#trigger-verdict"))
        assert "0 of 3 captions contain it" in text(app, "#trigger-captions")
        await pilot.press("ctrl+o")
        await until(pilot, lambda: isinstance(app.screen, ConfirmDialog))
        await pilot.press("y")
        await until(pilot, lambda: "3 of 3 captions contain it" in text(app,
                                                                         "#trigger-captions"))
        await pilot.press("ctrl+n")
        await pilot.pause()
    assert all(p.read_text().startswith("qzx_hanfu_, ") for p in data.glob("*.txt"))
    assert load_config(project / "loratui.toml").dataset.trigger_word == "qzx_hanfu_"


async def test_export_without_a_finished_run_says_so(tmp_path) -> None:
    project = project_with(tmp_path)
    app = create_app(project, gpu=NO_GPU, step="export")
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        assert "No finished LoRA yet" in text(app, "#export-lora")
        await pilot.press("ctrl+o")
        await pilot.pause()
        assert app.screen.STEP == "export"


async def test_export_copies_into_comfyui_and_asks_before_replacing(tmp_path) -> None:
    project = project_with(tmp_path, network={"kind": "style"},
                           dataset={"trigger_word": "ink_zx_"})
    run = write_run(project / "runs" / "ink-1", steps=5, state="finished")
    lora = run / "ink.safetensors"
    lora.write_bytes(b"x" * 100)  # content is the doctor's business, copied byte for byte
    import json

    st = json.loads((run / "state.json").read_text())
    st["lora"] = str(lora)
    (run / "state.json").write_text(json.dumps(st))
    comfy = tmp_path / "ComfyUI"
    (comfy / "models" / "loras").mkdir(parents=True)
    app = create_app(project, gpu=NO_GPU, step="export")
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        usage = text(app, "#export-usage")
        assert "ink_zx_, your prompt here, <lora:ink:0.6>" in usage
        assert "style LoRA usually sits at 0.6–0.8" in usage and "0.95" in usage
        assert '"class_type": "LoraLoader"' in text(app, "#export-comfy")
        # named by its file name (it sits beside the LoRA shown above), not a full path
        # that wraps in the middle of a word
        await until(pilot, lambda: "ComfyUI workflow saved as ink.comfyui-api.json"
                    in text(app, "#export-verdict"))
        await paste(pilot, app, "#webui", str(comfy))
        assert "ComfyUI" in text(app, "#export-target")
        await pilot.press("ctrl+o")
        await until(pilot, lambda: (comfy / "models" / "loras" / "ink.safetensors").exists())
        await pilot.press("ctrl+o")
        await until(pilot, lambda: isinstance(app.screen, ConfirmDialog))
        await pilot.press("n")
    assert (comfy / "models" / "loras" / "ink.safetensors").read_bytes() == b"x" * 100



async def test_export_verdict_names_the_family_of_an_sdxl_lora(tmp_path, tiny_sdxl_model) -> None:
    """The ✓ line says what the file loads as: an SDXL LoRA, not the SD1.5 of the first
    family."""
    import json

    from tests.lora.lora_helpers import tiny_sdxl_lora

    project = project_with(tmp_path, model={"family": "sdxl", "base": str(tiny_sdxl_model)},
                           dataset={"trigger_word": "hanfu_girl_"})
    run = write_run(project / "runs" / "xl-1", steps=5, state="finished")
    lora = tiny_sdxl_lora(tiny_sdxl_model, run / "xl.safetensors")
    st = json.loads((run / "state.json").read_text())
    st["lora"] = str(lora)
    (run / "state.json").write_text(json.dumps(st))
    app = create_app(project, gpu=NO_GPU, step="export")
    async with app.run_test(size=(100, 30)) as pilot:
        await until(pilot, lambda: "doctor:" in text(app, "#export-verdict")
                    and "checking" not in text(app, "#export-verdict"))
        verdict = text(app, "#export-verdict")
        assert "SD1.5" not in verdict, verdict
        assert "loads like a kohya SDXL LoRA" in verdict, verdict


async def test_doctor_lists_findings_and_applies_safe_fixes(tmp_path) -> None:
    project = project_with(tmp_path, training={"mixed_precision": "fp16", "no_half_vae": False})
    app = create_app(project, gpu=fake_gpu(), step="parameters")
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        assert "CF112" in text(app, "#warnings")  # live warning on the Parameters step
        await pilot.press("ctrl+g")
        await until(pilot, lambda: isinstance(app.screen, DoctorScreen) and app.screen.diags)
        codes = [d.code for d in app.screen.diags]
        assert "CF112" in codes
        assert "ctrl+f applies 1 safe fix ·" in text(app, "#doctor-summary")  # singular
        await pilot.press("ctrl+f")
        await until(pilot, lambda: app.state.config.training.no_half_vae is True)
        await until(pilot, lambda: "CF112" not in [d.code for d in app.screen.diags])
        await pilot.press("escape")
        await pilot.pause()
        assert app.screen.STEP == "parameters"
    assert load_config(project / "loratui.toml").training.no_half_vae is True


async def test_bulk_edit_in_a_source_folder_asks_and_backs_up(tmp_path) -> None:
    data = images(tmp_path / "imgs", 3, caption="a girl, red hair, a girl")
    project = project_with(tmp_path, dataset={"dir": str(data)})
    app = create_app(project, gpu=fake_gpu(), step="captions")
    async with app.run_test(size=(100, 30)) as pilot:
        await until(pilot, lambda: len(app.screen.records) == 3)
        await pilot.press("ctrl+l")
        await until(pilot, lambda: type(app.screen).__name__ == "BulkEditDialog")
        await paste(pilot, app, "#remove", "red hair")
        await paste(pilot, app, "#prefix", "zqx_style")
        await pilot.press("ctrl+s")
        await until(pilot, lambda: isinstance(app.screen, ConfirmDialog))
        await pilot.press("y")
        await until(pilot, lambda: all(r.caption and r.caption.startswith("zqx_style")
                                       for r in app.screen.records))
    assert (data / "1.txt").read_text().strip() == "zqx_style, a girl, a girl 1"
    assert list((data / ".loratui-backup").rglob("1.txt"))


def test_the_summary_names_the_scan_time_only_for_a_slow_scan() -> None:
    """A quick scan's "0.0s" only changes from run to run (and made a snapshot depend on
    the machine's load); a big folder's rescan time is worth reading."""
    from loratui.ui.screens.dataset import scan_time

    assert scan_time(0.04) == "" and scan_time(0.96) == ""
    assert scan_time(12.34) == " · 12.3s"

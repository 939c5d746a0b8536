"""Start step: project folder, base model check, GPU line, run folder errors."""

from __future__ import annotations

from textual.widgets import Input
from ui_helpers import HANG, NO_GPU, screen_lines, text, wait_for

from loratui.ui.app import create_app
from loratui.ui.dialogs import ErrorDialog
from tests.model_files import checkpoint_with


async def test_gpu_line_names_the_card_or_says_no_gpu(project, gpu12) -> None:
    app = create_app(project, gpu=gpu12)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        assert "RTX 3060, 12.0 GB" in text(app, "#gpu-status")
    app = create_app(project, gpu=NO_GPU)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        assert "no GPU (NVIDIA driver not found)" in text(app, "#gpu-status")
        assert "CPU demo preset" in text(app, "#gpu-status")


async def test_missing_base_model_is_reported_and_next_stays(project, gpu12) -> None:
    app = create_app(project, gpu=gpu12)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        await pilot.press("tab")  # project -> base model
        assert app.focused.id == "base-model"
        await pilot.press(*"nowhere/model", "enter")
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert "does not exist" in text(app, "#model-status")
        await pilot.press("ctrl+n")
        await pilot.pause()
        assert app.screen.STEP == "start"
        assert text(app, "#guard").startswith("Start step: ")
        assert "nowhere/model does not exist (Base model field)" in text(app, "#guard")
    assert not (project / "loratui.toml").exists()


async def test_base_model_input_completes_paths(project, gpu12) -> None:
    (project / "models" / "sd15-pruned").mkdir(parents=True)
    app = create_app(project, gpu=gpu12)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        await pilot.press("tab", *"models/sd")
        await wait_for(pilot, lambda: "models/sd15-pruned/" in "\n".join(screen_lines(app)))
        await pilot.press("right")  # accept the suggestion
        assert app.screen.query_one("#base-model", Input).value == "models/sd15-pruned/"


async def test_opening_a_file_as_run_folder_shows_a_dialog(project, gpu12) -> None:
    (project / "notes.txt").write_text("x")
    app = create_app(project, gpu=gpu12)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        await pilot.press("ctrl+o", *"notes.txt", "enter")
        await pilot.pause()
        assert isinstance(app.screen, ErrorDialog)
        assert "not a folder" in app.screen.message
        await pilot.press("escape")
        await pilot.pause()
        assert app.screen.STEP == "start"


async def test_switching_project_loads_its_config(tmp_path, gpu12) -> None:
    other = tmp_path / "other"
    other.mkdir()
    (other / "loratui.toml").write_text('[network]\nrank = 12\n')
    first = tmp_path / "first"
    first.mkdir()
    app = create_app(first, gpu=gpu12)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        field = app.screen.query_one("#project", Input)
        field.value = str(other)
        field.focus()
        await pilot.press("enter")
        await pilot.pause()
        assert app.state.project == other
        assert app.state.config.network.rank == 12
        assert "found" in text(app, "#project-status")


async def test_base_model_check_names_the_family_and_where_it_came_from(project, gpu12) -> None:
    import json

    xl = project / "models" / "xl"
    xl.mkdir(parents=True)
    (xl / "model_index.json").write_text(json.dumps(
        {"_class_name": "StableDiffusionXLPipeline", "text_encoder_2": ["transformers", "x"]}))
    checkpoint_with(project / "models" / "v15.safetensors",
                    ["cond_stage_model.transformer.text_model.embeddings.x"])
    app = create_app(project, gpu=gpu12)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        await app.workers.wait_for_complete()
        await pilot.pause()
        empty = text(app, "#model-status")
        assert "SD1.5 or SDXL model" in empty and "Family:" not in empty
        await pilot.press("tab", *"models/xl", "enter")
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert "Family: SDXL (detected from model_index.json)" in text(app, "#model-status")
        app.screen.query_one("#base-model", Input).value = "models/v15.safetensors"
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert "Family: SD1.5 (detected from its tensor names)" in text(app, "#model-status")


async def test_hand_set_family_is_shown_and_a_wrong_one_is_an_error(project, gpu12) -> None:
    """model.family from loratui.toml is the family in use; one the base model contradicts
    is an error naming the detected family (the words `loratui train` uses) and Next stays."""
    import json

    xl = project / "models" / "xl"
    xl.mkdir(parents=True)
    (xl / "model_index.json").write_text(json.dumps(
        {"_class_name": "StableDiffusionXLPipeline", "text_encoder_2": ["transformers", "x"]}))
    odd = project / "models" / "merge"
    odd.mkdir()
    (odd / "model_index.json").write_text(json.dumps({"_class_name": "SomePipeline"}))
    toml = project / "loratui.toml"
    toml.write_text('[model]\nfamily = "sd15"\n')
    app = create_app(project, gpu=gpu12)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        assert app.state.config.model.family == "sd15"
        await pilot.press("tab", *"models/xl", "enter")
        await app.workers.wait_for_complete()
        await pilot.pause()
        status = text(app, "#model-status")
        assert "model.family = 'sd15'" in status and "detected 'sdxl'" in status, status
        assert "SDXL model" in status and "set model.family = 'sdxl'" in status
        await pilot.press("ctrl+n")
        await pilot.pause()
        assert app.screen.STEP == "start"
        assert "detected 'sdxl'" in text(app, "#guard")
    toml.write_text('[model]\nfamily = "sdxl"\n')
    app = create_app(project, gpu=gpu12)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        await pilot.press("tab", *"models/xl", "enter")
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert "Family: SDXL (set by model.family in loratui.toml; detected from " \
               "model_index.json)" in text(app, "#model-status")
        # a model whose family cannot be told: the hand-set one is shown as in use
        app.screen.query_one("#base-model", Input).value = "models/merge"
        await app.workers.wait_for_complete()
        await pilot.pause()
        status = text(app, "#model-status")
        assert "Family: SDXL (set by model.family in loratui.toml)" in status, status


def test_hand_set_family_line_is_one_chinese_sentence(tmp_path, chinese) -> None:
    import json

    from loratui.ui.core import check_base_model

    xl = tmp_path / "xl"
    xl.mkdir()
    (xl / "model_index.json").write_text(json.dumps(
        {"_class_name": "StableDiffusionXLPipeline", "text_encoder_2": ["transformers", "x"]}))
    text = check_base_model(xl, "sdxl").text
    assert "（由 loratui.toml 的 model.family 指定；依据 model_index.json 识别）" in text, text
    assert "; " not in text


async def test_a_slow_check_of_an_older_value_does_not_overwrite_the_newer(
        project, gpu12, tmp_path, monkeypatch) -> None:
    """Each keystroke starts a check; one of an earlier value that finishes last (a slow
    disk, a busy machine) must not replace the verdict on what the field holds now. The
    check of the partial name is held until the full name's check is done."""
    import threading

    from loratui.ui import core
    from loratui.ui.screens.start import StartScreen

    real = core.check_base_model
    older_started, newer_done = threading.Event(), threading.Event()

    def slow_for_the_partial_name(path, family="auto", vae=""):
        if path is not None and path.name == "v1":
            older_started.set()
            newer_done.wait(HANG)
        result = real(path, family, vae)
        if path is not None and path.name == "v1.safetensors":
            newer_done.set()
        return result

    shown: list[str] = []  # the values whose verdict reached the step, in order
    show = StartScreen._show_model_check
    monkeypatch.setattr(core, "check_base_model", slow_for_the_partial_name)
    monkeypatch.setattr(StartScreen, "_show_model_check",
                        lambda self, value, result: (shown.append(value),
                                                     show(self, value, result)))
    model = checkpoint_with(tmp_path / "v1.safetensors",
                            ["cond_stage_model.transformer.text_model.embeddings.x"])
    app = create_app(project, gpu=gpu12)
    try:
        async with app.run_test(size=(80, 24)) as pilot:
            await pilot.pause()
            field = app.screen.query_one("#base-model", Input)
            older = str(model.with_suffix(""))  # …/v1: does not exist, checked slowly
            field.value = older
            await wait_for(pilot, older_started.is_set)
            field.value = str(model)
            # the older verdict arrives last
            await wait_for(pilot, lambda: newer_done.is_set() and shown and shown[-1] == older)
            await pilot.pause()
            assert "does not exist" not in text(app, "#model-status")
            assert "SD1.5" in text(app, "#model-status")
    finally:
        newer_done.set()

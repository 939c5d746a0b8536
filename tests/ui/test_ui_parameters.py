"""Parameters step: presets from the GPU, editing by keys with validation, VRAM, saving."""

from __future__ import annotations

from textual.widgets import DataTable, Static
from ui_helpers import NO_GPU, fake_gpu

from loratui.config import load_config
from loratui.ui.app import create_app
from loratui.ui.dialogs.edit_field import EditFieldDialog


def goto_row(app, key: str) -> int:
    table = app.screen.query_one("#fields", DataTable)
    keys = [row.key.value for row in table.ordered_rows]
    return keys.index(key)


async def open_field(app, pilot, key: str) -> None:
    table = app.screen.query_one("#fields", DataTable)
    table.focus()
    table.move_cursor(row=goto_row(app, key) - 1)  # jump near it; the last step is a key
    await pilot.press("down", "enter")
    await pilot.pause()
    assert isinstance(app.screen, EditFieldDialog)
    assert app.screen.row["key"] == key


async def test_new_project_starts_from_the_gpu_preset(project) -> None:
    app = create_app(project, gpu=fake_gpu("RTX 3060 Ti", 8.0), step="parameters")
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        cfg = app.state.config
        assert (cfg.training.batch_size, cfg.training.gradient_accumulation) == (1, 4)
        assert "of 8.0 GB fits" in str(app.screen.query_one("#vram", Static).render())


async def test_no_gpu_uses_cpu_preset(project) -> None:
    app = create_app(project, gpu=NO_GPU, step="parameters")
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        assert app.state.config.dataset.resolution == 64
        assert "no GPU here" in str(app.screen.query_one("#vram", Static).render())



async def test_no_gpu_estimate_names_the_projects_family(project) -> None:
    """Without a GPU the estimate still says which model it is for: SDXL for an SDXL
    project, not the first family's name."""
    from loratui.config import RunConfig, save_config

    save_config(RunConfig.model_validate({"model": {"family": "sdxl"}}), project / "loratui.toml")
    app = create_app(project, gpu=NO_GPU, step="parameters")
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        vram = str(app.screen.query_one("#vram", Static).render())
        assert "for SDXL" in vram and "SD1.5" not in vram, vram


async def test_edit_rank_by_keys_and_save(project, gpu12) -> None:
    app = create_app(project, gpu=gpu12, step="parameters")
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        await open_field(app, pilot, "network.rank")
        await pilot.press("ctrl+u", *"16", "enter")
        await pilot.pause()
        assert app.state.config.network.rank == 16
        help_text = str(app.screen.query_one("#field-help", Static).render())
        assert "network.rank" in help_text and "[1, 1024]" in help_text and "P10" in help_text
        await pilot.press("ctrl+s")
        await pilot.pause()
    assert load_config(project / "loratui.toml").network.rank == 16


async def test_out_of_range_value_is_refused_with_the_range(project, gpu12) -> None:
    app = create_app(project, gpu=gpu12, step="parameters")
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        await open_field(app, pilot, "dataset.resolution")
        await pilot.press("ctrl+u", *"500", "enter")
        await pilot.pause()
        assert isinstance(app.screen, EditFieldDialog)  # still open
        error = str(app.screen.query_one("#field-error", Static).render())
        assert "multiple of 8" in error
        await pilot.press("ctrl+u", *"abc")
        await pilot.pause()
        assert "`abc` is not a whole number" in str(app.screen.query_one("#field-error", Static).render())
        await pilot.press("escape")
        await pilot.pause()
        assert app.state.config.dataset.resolution == 512


async def test_out_of_range_value_is_refused_in_chinese(project, gpu12, chinese) -> None:
    """The core's range check (a Message) is shown in the wizard's language."""
    app = create_app(project, gpu=gpu12, step="parameters")
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        await open_field(app, pilot, "dataset.resolution")
        await pilot.press("ctrl+u", *"3000", "enter")
        await pilot.pause()
        error = str(app.screen.query_one("#field-error", Static).render())
        assert "`dataset.resolution` = 3000：应小于或等于 2048" in error, error
        assert "Input should" not in error


async def test_vram_estimate_warns_when_it_does_not_fit(project) -> None:
    app = create_app(project, gpu=fake_gpu("GTX 1650", 4.0), step="parameters")
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        await open_field(app, pilot, "training.batch_size")
        await pilot.press("ctrl+u", *"8", "enter")
        await pilot.pause()
        vram = app.screen.query_one("#vram", Static)
        assert "DOES NOT FIT" in str(vram.render())
        assert vram.has_class("bad")


async def test_choice_field_uses_a_select(project, gpu12) -> None:
    app = create_app(project, gpu=gpu12, step="parameters")
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        await open_field(app, pilot, "training.mixed_precision")
        await pilot.press("enter", "down", "enter", "tab", "enter")
        await pilot.pause()
        assert app.state.config.training.mixed_precision == "bf16"


async def test_recommended_preset_key(project) -> None:
    app = create_app(project, gpu=fake_gpu("RTX 4090", 24.0), step="parameters")
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        await open_field(app, pilot, "network.rank")
        await pilot.press("ctrl+u", *"64", "enter")
        await pilot.press("ctrl+r")
        await pilot.pause()
        assert app.state.config.network.rank != 64
        assert app.screen.query_one("#preset").value.startswith("sd15-24gb")


async def test_the_preset_a_config_came_from_is_named_not_custom(project) -> None:
    from textual.widgets import Select

    app = create_app(project, gpu=NO_GPU, step="parameters")  # the CPU demo's preset
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        select = app.screen.query_one("#preset", Select)
        assert select.value == "cpu-demo"
        assert "CPU (demo, tiny model)" in str(select.query_one("SelectCurrent #label").render())
        assert not app.screen.dirty  # naming it applied nothing


async def test_preset_box_follows_the_values(project, gpu12) -> None:
    """Editing a value away from the preset shows "(custom)"; setting it back names the
    preset again, and nothing is applied on the way."""
    from textual.widgets import Select

    app = create_app(project, gpu=gpu12, step="parameters")
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        select = app.screen.query_one("#preset", Select)
        preset_id = select.value
        assert isinstance(preset_id, str) and preset_id.startswith("sd15-12gb")
        rank = app.state.config.network.rank
        await open_field(app, pilot, "network.rank")
        await pilot.press("ctrl+u", *str(rank * 2), "enter")
        await pilot.pause()
        assert app.state.config.network.rank == rank * 2
        assert select.is_blank()
        assert "(custom)" in str(select.query_one("SelectCurrent #label").render())
        await open_field(app, pilot, "network.rank")
        await pilot.press("ctrl+u", *str(rank), "enter")
        await pilot.pause()
        assert app.state.config.network.rank == rank
        assert select.value == preset_id
        assert "(custom)" not in str(select.query_one("SelectCurrent #label").render())


async def test_saved_notice_shows_the_whole_file_name_at_80_columns(tmp_path, gpu12) -> None:
    """The toast is 40 columns wide at 80: the saved file's path is shortened in the middle
    so that its end (project folder, loratui.toml) shows, not cut at the toast's edge."""
    project = tmp_path / "a_long_folder_name_for_projects" / "another_level" / "hanfu_girl"
    project.mkdir(parents=True)
    app = create_app(project, gpu=gpu12, step="parameters")
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        await pilot.press("ctrl+s")
        await pilot.pause()
        message = list(app._notifications)[-1].message
        assert message.startswith("saved ") and message.endswith("hanfu_girl/loratui.toml")
        assert len(message) <= 40 - 4 and "…" in message


def _help_column(app) -> list[str]:
    """The help panel's lines as the terminal shows them (right of the table's border)."""
    from ui_helpers import screen_lines

    return [line.split("│", 1)[1].strip() for line in screen_lines(app) if "│" in line]


async def test_long_setting_names_break_at_their_dots_in_the_help_panel(project, gpu12) -> None:
    """At 80×24 `optimizer.text_encoder_2_lr` is wider than the help panel: it breaks after
    the dot, never mid-word (`optimizer.text_encoder_` / `2_lr`)."""
    app = create_app(project, gpu=gpu12, step="parameters")
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        table = app.screen.query_one("#fields", DataTable)
        room = app.screen.query_one("#field-help", Static).content_region.width
        for key in ("optimizer.text_encoder_2_lr", "dataset.caption_extension",
                    "training.gradient_checkpointing"):
            table.move_cursor(row=goto_row(app, key))
            await pilot.pause()
            column = _help_column(app)
            count = next((i for i in range(1, key.count(".") + 2)
                          if "".join(column[:i]) == key), 0)
            assert count, (key, column[:3])  # whole, on lines of its own
            name_lines = column[:count]
            assert all(line.endswith(".") for line in name_lines[:-1]), name_lines
            assert all(len(line) <= room for line in name_lines), (room, name_lines)
        assert column[0] == "training." and column[1] == "gradient_checkpointing"


async def test_the_field_editor_names_the_setting_once(project, chinese) -> None:
    app = create_app(project, gpu=NO_GPU, step="parameters")
    async with app.run_test(size=(80, 24)) as pilot:
        await open_field(app, pilot, "training.epochs")
        title = str(app.screen.query_one("#dialog-title", Static).render())
        message = str(app.screen.query_one("#dialog-message", Static).render())
        assert title == "training.epochs"
        assert "training.epochs" not in message and "轮数" in message

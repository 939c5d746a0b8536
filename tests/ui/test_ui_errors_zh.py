"""The wizard's error dialogs and inline errors show the core's Messages in Chinese (they
were shown with `str()`, which is the English text)."""

from __future__ import annotations

from snapshot_screens import until
from textual.widgets import Input, Static
from ui_helpers import NO_GPU

from loratui.ui.app import create_app
from loratui.ui.dialogs import ErrorDialog


def rendered(app, selector: str) -> str:
    return str(app.screen.query_one(selector, Static).render())


async def test_a_broken_loratui_toml_is_explained_in_chinese(project, chinese) -> None:
    (project / "loratui.toml").write_text("[network\nrank = 8\n", encoding="utf-8")
    app = create_app(project, gpu=NO_GPU)
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: isinstance(app.screen, ErrorDialog))
        await pilot.pause()
        message = rendered(app, "#dialog-message")
        assert "不是有效的 TOML" in message and "改正那个位置的语法" in message, message
        assert "fix the syntax" not in message


async def test_a_webui_folder_that_is_not_there_in_chinese(project, chinese) -> None:
    app = create_app(project, gpu=NO_GPU, step="export")
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        app.screen.query_one("#webui", Input).value = str(project / "no-webui")
        await pilot.pause()
        target = rendered(app, "#export-target")
        assert "不存在：请给出 WebUI 的文件夹" in target, target

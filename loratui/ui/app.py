"""The wizard app. A placeholder start screen until the wizard issue lands."""

from __future__ import annotations

from textual.app import App, ComposeResult
from textual.widgets import Footer, Header, Static

from loratui import __version__


class LoratuiApp(App):
    TITLE = f"loratui {__version__}"
    BINDINGS = [("q", "quit", "Quit")]

    def compose(self) -> ComposeResult:
        from loratui.gpu import detect

        yield Header()
        yield Static(
            "loratui — LoRA training wizard\n\n"
            f"GPU: {detect(allow_torch=False).summary()}\n\n"
            "The guided wizard is coming. Meanwhile:\n"
            "  loratui presets --gpu auto    what to start from\n"
            "  loratui config check FILE     validate a run config\n",
            id="placeholder",
        )
        yield Footer()

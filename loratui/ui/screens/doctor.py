"""The Doctor: findings for the project (config, dataset, run, LoRA) and safe fixes."""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.screen import Screen
from textual.widgets import Footer, Header, Static

from loratui.ui import core


class DoctorScreen(Screen):
    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape,ctrl+g", "close", "Back to wizard")]

    def compose(self) -> ComposeResult:
        yield Header()
        with VerticalScroll(id="body"):
            yield Static(core.unavailable("the doctor"), id="unavailable")
        yield Footer()

    def action_close(self) -> None:
        self.dismiss()

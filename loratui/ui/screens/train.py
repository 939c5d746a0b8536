"""Step: train."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.widgets import Static

from loratui.ui import core
from loratui.ui.screens.base import WizardScreen


class TrainScreen(WizardScreen):
    STEP = "train"

    def compose_body(self) -> ComposeResult:
        with VerticalScroll(id="body"):
            yield Static(core.unavailable("the train step"), id="unavailable")

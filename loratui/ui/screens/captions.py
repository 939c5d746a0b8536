"""Step: captions."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.widgets import Static

from loratui.ui import core
from loratui.ui.screens.base import WizardScreen


class CaptionsScreen(WizardScreen):
    STEP = "captions"

    def compose_body(self) -> ComposeResult:
        with VerticalScroll(id="body"):
            yield Static(core.unavailable("the captions step"), id="unavailable")

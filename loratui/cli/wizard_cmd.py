"""Bare `loratui`: open the wizard (Textual is imported only here)."""

from __future__ import annotations


def run_wizard() -> int:
    from loratui.ui.app import LoratuiApp

    LoratuiApp().run()
    return 0

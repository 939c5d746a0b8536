"""F1 / ?: what the current step does, every field on it, and the codes it shows,
explained with the same text `loratui rule CODE` prints."""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

from loratui.ui import core


def pitfall_text(code: str) -> str:
    """A pitfall number (P7) is the guide's: name the doctor rules that check it."""
    from loratui.doctor.catalog import load_catalog

    rules = [r for r in load_catalog().rules if code in r.refs]
    lines = [f"# {code}: pitfall {code[1:]} of the LoRA guide (PITFALLS.md)"]
    if rules:
        lines.append("Checked by: " + ", ".join(f"{r.code} {r.name}" for r in rules))
        lines.append(f"`loratui rule {rules[0].code}` explains one of them.")
    return "\n".join(lines)


def code_text(code: str) -> str:
    if code[:1] == "P" and code[1:].isdigit():
        return pitfall_text(code)
    return core.explain(code) or f"# {code}\n(no rule with this code in this version)"


def help_text(body: str, codes: list[str]) -> str:
    parts = [body.strip(), "", "Everywhere:", "  F1 / ?   this help", "  ctrl+q   quit (a run "
             "goes on training; the wizard re-attaches next time)"]
    if codes:
        parts += ["", "Codes shown on this step (as `loratui rule CODE` explains them):"]
        parts += ["", *("\n".join([code_text(c), ""]) for c in codes)]
    return "\n".join(parts).rstrip()


class HelpScreen(ModalScreen[None]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,f1,q,question_mark", "dismiss", "Close help"),
    ]

    def __init__(self, title: str, body: str, codes: list[str]) -> None:
        super().__init__(classes="dialog")
        self.title_text = title
        self.text = help_text(body, codes)

    def compose(self) -> ComposeResult:
        with Vertical(id="help-box"):
            yield Static(f"{self.title_text}   (escape closes)", id="dialog-title",
                         markup=False)
            with VerticalScroll(id="help-body"):
                yield Static(self.text, id="help-text", markup=False)

    def on_mount(self) -> None:
        self.query_one("#help-body").focus()

    async def action_dismiss(self, result: None = None) -> None:
        self.dismiss(result)

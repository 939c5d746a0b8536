"""F1 / ?: what the current step does, every field on it, and the codes it shows,
explained with the same text `loratui rule CODE` prints."""

from __future__ import annotations

import re
from typing import ClassVar

from rich.table import Table
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


FIELD = re.compile(r"^([\w.][^ ]*(?: [^ ]+)?)\s{2,}(\S.*)$")  # "Name   what it is"


def blocks(text: str) -> list[str | list[tuple[str, str]]]:
    """Reflow help text for the terminal's width: paragraphs become one line each (the
    widget wraps them), `Name   explanation` rows with indented continuations become
    (name, explanation) pairs shown as a two-column table."""
    out: list[str | list[tuple[str, str]]] = []
    for chunk in re.split(r"\n\s*\n", text.strip("\n")):
        rows: list[tuple[str, str]] = []
        para: list[str] = []
        for line in chunk.splitlines():
            match = FIELD.match(line)
            if match and not line.startswith(" "):
                rows.append((match.group(1), match.group(2).strip()))
            elif rows and line.startswith(" "):
                name, said = rows[-1]
                rows[-1] = (name, f"{said} {line.strip()}")
            elif line.startswith("  ") and para:
                para.append("\n" + line)  # a list (keys): keep its lines
            elif line.startswith("#"):  # a heading of `loratui rule`'s text
                para.append(("\n" if para else "") + line + "\n")
            else:
                para.append(line.strip())
        if para:
            out.append(" ".join(para).replace(" \n", "\n").replace("\n ", "\n").strip())
        if rows:
            out.append(rows)
    return out


def field_table(rows: list[tuple[str, str]]) -> Table:
    table = Table.grid(padding=(0, 2))
    table.add_column(style="bold", no_wrap=True)
    table.add_column(ratio=1)
    for name, said in rows:
        table.add_row(name, said)
    return table


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
                for block in blocks(self.text):
                    if isinstance(block, str):
                        yield Static(block, classes="help-para", markup=False)
                    else:
                        fields = Static(field_table(block), classes="help-fields")
                        fields.plain_text = " ".join(f"{n} {t}" for n, t in block)
                        yield fields

    def on_mount(self) -> None:
        self.query_one("#help-body").focus()

    async def action_dismiss(self, result: None = None) -> None:
        self.dismiss(result)

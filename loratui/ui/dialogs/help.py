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

from loratui.cjk import NO_LINE_END, NO_LINE_START
from loratui.i18n import N_, _
from loratui.ui import core


def pitfall_text(code: str) -> str:
    """A pitfall number (P7) is the guide's: name the doctor rules that check it."""
    from loratui.doctor.catalog import load_catalog

    rules = [r for r in load_catalog().rules if code in r.refs]
    lines = [_("# {code}: pitfall {n} of the LoRA guide (PITFALLS.md)").format(
        code=code, n=code[1:])]
    if rules:
        lines.append(_("Checked by: {rules}.").format(
            rules=", ".join(f"{r.code} {r.name}" for r in rules)))
        lines.append(_("`loratui rule {code}` explains one of them.").format(code=rules[0].code))
    return "\n".join(lines)


def code_text(code: str) -> str:
    if code[:1] == "P" and code[1:].isdigit():
        return pitfall_text(code)
    return core.explain(code) or f"# {code}\n" + _("(no rule with this code in this version)")


def help_text(body: str, codes: list[str]) -> str:
    parts = [body.strip(), "", _("Everywhere:"), "  F1 / ?   " + _("this help"),
             "  ctrl+q   " + _("quit (a run goes on training; the wizard re-attaches next time)")]
    if codes:
        parts += ["", _("Codes shown on this step (as `loratui rule CODE` explains them):")]
        parts += ["", *("\n".join([code_text(c), ""]) for c in codes)]
    return "\n".join(parts).rstrip()


# "Name   what it is": a name of up to four words ("Watch a run"), then two or more spaces.
FIELD = re.compile(r"^([\w.][^ ]*(?: [^ ]+){0,3})\s{2,}(\S.*)$")


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
                rows[-1] = (name, join_lines([said, line.strip()]))
            elif line.startswith("  ") and para:
                para.append("\n" + line)  # a list (keys): keep its lines
            elif line.startswith("#"):  # a heading of `loratui rule`'s text
                para.append(("\n" if para else "") + line + "\n")
            else:
                para.append(line.strip())
        if para:
            out.append(join_lines(para).replace(" \n", "\n").replace("\n ", "\n").strip())
        if rows:
            out.append(rows)
    return out


CJK_PUNCTUATION = NO_LINE_START + NO_LINE_END   # no space beside them


def join_lines(lines: list[str]) -> str:
    """A paragraph's lines as one: a space between them, except between two Chinese
    characters (Chinese has no spaces between words) and beside full-width punctuation
    ("、 unet/" is not how Chinese is written, "、unet/" is)."""
    text = ""
    for line in lines:
        first = line[:1]
        if text and not ((is_wide(text[-1]) and first and is_wide(first))
                         or text[-1] in CJK_PUNCTUATION or (first and first in CJK_PUNCTUATION)):
            text += " "
        text += line
    return text


def is_wide(ch: str) -> bool:
    """A CJK character or full-width punctuation mark."""
    return ch >= "\u2e80" and not ("\ud800" <= ch <= "\uf8ff")


def field_table(rows: list[tuple[str, str]]) -> Table:
    table = Table.grid(padding=(0, 2))
    table.add_column(style="bold", no_wrap=True)
    table.add_column(ratio=1, overflow="fold")  # Chinese has no spaces to wrap at
    for name, said in rows:
        table.add_row(name, said)
    return table


class HelpScreen(ModalScreen[None]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,f1,q,question_mark", "dismiss", N_("Close help")),
    ]

    def __init__(self, title: str, body: str, codes: list[str]) -> None:
        super().__init__(classes="dialog")
        self.title_text = title
        self.text = help_text(body, codes)

    def compose(self) -> ComposeResult:
        with Vertical(id="help-box"):
            yield Static(self.title_text + "   " + _("(escape closes)"), id="dialog-title",
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

"""Step 4: the trigger word — checked as you type, then put first in every caption."""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.widgets import Input, Label, Static

from loratui.i18n import N_, _, localized, ngettext
from loratui.ui import core
from loratui.ui.dialogs import ConfirmDialog
from loratui.ui.fixes import wizard_fix
from loratui.ui.messages import TaskDone
from loratui.ui.screens.base import WizardScreen

MARK = {"error": "✖", "warning": "▲", "info": "·"}


class TriggerScreen(WizardScreen):
    STEP = "trigger"
    HELP = N_("""
The Trigger step picks the word that calls your LoRA in a prompt (P7).

Trigger word    A made-up token such as `hanfu_girl_`: no spaces, not an English word or
                phrase the model already knows (`beautiful girl` would fight the model's
                own meaning). It is checked as you type.
Verdict         ✓ looks unique, or ▲ weak, with each reason and a fix (✖ error,
                ▲ warning, · note) and suggestions to try.
Captions        How many captions contain the word, and how many have it first.
                ctrl+o puts it first in every caption (in a source folder the originals
                are copied to .loratui-backup/ first).
CLIP tokens     How the base model's tokenizer splits the word. One or two rare pieces
                are good; common words are not.
""")
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+o", "insert", N_("Insert")),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.tokenizer: Any = None
        self.tokenizer_tried = False
        self.report: Any = None

    def compose_body(self) -> ComposeResult:
        with Vertical(id="body"):
            yield Static(_("A unique made-up token (e.g. `hanfu_girl_`, `char_xx_style`) that "
                           "calls your LoRA; never a common phrase like `beautiful girl` (P7)."),
                         classes="lead")
            with Horizontal(classes="form-row"):
                yield Label(_("Trigger word"), classes="form-label")
                yield Input(id="trigger", placeholder=_("e.g. hanfu_girl_"))
            with VerticalScroll(id="trigger-result-box"):
                yield Static("", id="trigger-verdict", markup=False)
                yield Static("", id="trigger-findings", markup=False)
                yield Static("", id="trigger-captions", markup=False)
                yield Static("", id="trigger-tokenizer", markup=False)

    def on_mount(self) -> None:
        self.query_one("#trigger", Input).value = self.state.config.dataset.trigger_word
        self.query_one("#trigger", Input).focus()
        self.load_tokenizer()
        self.refresh_from_state()  # the captions as they are (the step may be the first shown)

    def refresh_from_state(self) -> None:
        """Every visit looks at the captions as they are now (they may have been edited)."""
        self.rescan()

    @work(thread=True, exclusive=True, group="trigger-scan", exit_on_error=False,
          name=N_("Caption scan"))
    def rescan(self) -> None:
        folder = self.state.dataset_dir
        if folder is not None and folder.is_dir():
            self.state.dataset_report = core.scan_dataset(self.state.resolved(), folder)
        self.post_message(TaskDone("rescan"))

    def codes_shown(self) -> list[str]:
        codes: list[str] = []
        for f in getattr(self.report, "findings", []):
            code = core.dataset_code(f.kind)
            codes += [c for c in (code, *f.refs) if c and c not in codes]
        return codes or ["P7"]

    def problem(self) -> str:
        word = self.query_one("#trigger", Input).value.strip()
        if " " in word or "," in word:
            return _("`{word}` would be split into several tags: join its parts with `_` "
                     "(Trigger word field).").format(word=word)
        return ""

    @work(thread=True, exclusive=True, group="tokenizer", exit_on_error=False,
          name=N_("Tokenizer"))
    def load_tokenizer(self) -> None:
        base = self.state.base_model
        self.post_message(TaskDone("tokenizer", core.load_tokenizer(base)))

    @on(Input.Changed, "#trigger")
    def changed(self, event: Input.Changed) -> None:
        self.check(event.value)

    @work(thread=True, exclusive=True, group="trigger", exit_on_error=False,
          name=N_("Trigger check"))
    def check(self, word: str) -> None:
        report = self.state.dataset_report
        captions = None
        if report is not None:
            captions = {r.path: r.caption for r in report.usable_images()}
        self.post_message(TaskDone("check", core.check_trigger(word, captions, self.tokenizer),
                                   {"word": word, "captions": captions is not None}))

    @on(TaskDone)
    def done(self, message: TaskDone) -> None:
        if message.task in ("tokenizer", "rescan"):
            if message.task == "tokenizer":
                self.tokenizer = message.result
                self.tokenizer_tried = True
            self.check(self.query_one("#trigger", Input).value)
        elif message.task == "check":
            if message.extra["word"] == self.query_one("#trigger", Input).value:
                self._show(message.result, message.extra["captions"])
        elif message.task == "insert":
            r = message.result
            backup = _("; originals in {folder}").format(folder=r.backup_dir) \
                if r.backup_dir else ""
            self.notify(ngettext("{n} caption changed, {created} created{backup}",
                                 "{n} captions changed, {created} created{backup}",
                                 len(r.changed)).format(n=len(r.changed),
                                                        created=len(r.created), backup=backup),
                        title=_("Trigger word inserted"), timeout=8)
            self.check(self.query_one("#trigger", Input).value)

    def _show(self, rep: Any, have_captions: bool) -> None:
        self.report = rep
        serious = [f for f in rep.findings if f.severity in ("error", "warning")]
        verdict = self.query_one("#trigger-verdict", Static)
        if not rep.word.strip():
            verdict.update(_("Type a trigger word."))
        elif serious:
            verdict.update("▲ " + _("`{word}` is a weak trigger word").format(word=rep.word))
        else:
            verdict.update("✓ " + _("`{word}` looks unique").format(word=rep.word))
        verdict.set_class(bool(serious), "warn")
        verdict.set_class(not serious and bool(rep.word.strip()), "good")
        lines = [f"{MARK.get(f.severity, '·')} " + _("{message}: {fix}").format(
            message=localized(f.message), fix=wizard_fix(f.kind, f.fix)) for f in rep.findings]
        if rep.suggestions:
            lines.append(_("try:") + " " + "  ".join(rep.suggestions))
        findings = self.query_one("#trigger-findings", Static)
        findings.update("\n".join(lines))
        findings.display = bool(lines)  # no empty lines between the verdict and the counts
        caps = self.query_one("#trigger-captions", Static)
        if not have_captions:
            caps.update(_("captions: not scanned yet (Dataset step)"))
        elif rep.word.strip():
            caps.update(ngettext(
                "captions: {with_it} of {n} caption contain it, {missing} without it, "
                "{not_first} not first",
                "captions: {with_it} of {n} captions contain it, {missing} without it, "
                "{not_first} not first", rep.captions_checked).format(
                    with_it=rep.captions_checked - len(rep.missing), n=rep.captions_checked,
                    missing=len(rep.missing), not_first=len(rep.not_first))
                + self._insert_hint(rep))
        tok = self.query_one("#trigger-tokenizer", Static)
        if not rep.word.strip():
            tok.update("")  # nothing to split (not "no tokenizer": it may well be loaded)
        elif rep.tokens is not None:
            tok.update(_("CLIP tokens: {tokens} ({n})").format(tokens=" | ".join(rep.tokens),
                                                              n=len(rep.tokens)))
        else:
            tok.update(_("CLIP tokens: reading the tokenizer …")
                       if not self.tokenizer_tried else
                       _("CLIP tokens: the base model has no readable tokenizer"))

    @staticmethod
    def _insert_hint(rep: Any) -> str:
        """What ctrl+o would do: only the captions it can change are promised."""
        movable = len(rep.missing) + len(rep.not_first) - len(rep.in_phrase)
        stuck = len(rep.in_phrase)
        parts = []
        if movable:
            parts.append(_("ctrl+o puts it first everywhere") if not stuck else ngettext(
                "ctrl+o puts it first in {n} caption", "ctrl+o puts it first in {n} captions",
                movable).format(n=movable))
        if stuck:
            parts.append(ngettext(
                "{n} has it only inside a longer tag: edit it on the Captions step (ctrl+p)",
                "{n} have it only inside a longer tag: edit them on the Captions step (ctrl+p)",
                stuck).format(n=stuck))
        return " — " + "; ".join(parts) if parts else ""

    def action_insert(self) -> None:
        word = self.query_one("#trigger", Input).value.strip()
        folder = self.state.dataset_dir
        if not word or folder is None:
            self.say(_("Trigger step: type a trigger word (and set the images folder on the "
                       "Dataset step) first."))
            return
        self.state.config.dataset.trigger_word = word
        if core.is_prepared_copy(folder):
            self.insert(folder, word, False)
            return
        self.app.push_screen(ConfirmDialog(
            _("Insert into the source captions?"),
            _("{folder} is not a prepared copy. Captions will be changed in place; every "
              "original is first copied to .loratui-backup/.").format(folder=folder),
            yes=_("Insert")),
            lambda yes: yes and self.insert(folder, word, True))

    @work(thread=True, exclusive=True, group="insert", exit_on_error=False,
          name=N_("Insert trigger word"))
    def insert(self, folder: Path, word: str, in_place: bool) -> None:
        cfg = self.state.resolved()
        result = core.insert_trigger(folder, word, cfg.dataset.caption_extension, in_place)
        self.state.dataset_report = core.scan_dataset(cfg, folder)
        self.post_message(TaskDone("insert", result))

    def before_next(self) -> bool:
        self.state.config.dataset.trigger_word = self.query_one("#trigger", Input).value.strip()
        return self.save_config() is not None

"""The Doctor: the project's config, dataset, run and LoRA checked by the doctor's rules;
safe fixes applied on a key. Reachable from every step (ctrl+g)."""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import Screen
from textual.widgets import DataTable, Header, Static
from textual.worker import Worker, WorkerState

from loratui.i18n import N_, _, localized, ngettext, pgettext
from loratui.ui import core
from loratui.ui.fixes import wizard_fix_for_code
from loratui.ui.messages import TaskDone, post_if_current
from loratui.ui.screens.base import guarded
from loratui.ui.text import short_path, with_severity
from loratui.ui.widgets import Footer, SizeNote

MARK = {"error": N_("✖ error"), "warning": N_("▲ warn"), "info": N_("· info")}
APPLICABILITY = (N_("safe"), N_("unsafe"), N_("display-only"))  # a fix's, translated


class DoctorScreen(Screen):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,ctrl+g", "close", N_("Back")),
        Binding("ctrl+f", "fix", N_("Safe fixes")),
        Binding("ctrl+r", "run", N_("Re-check")),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.diags: list[Any] = []

    @property
    def state(self):
        return self.app.state  # type: ignore[attr-defined]

    def compose(self) -> ComposeResult:
        yield Header(icon="◆")  # a glyph every monospace font has (not ⭘)
        yield SizeNote()
        with Vertical(id="body"):
            yield Static("", id="doctor-summary", markup=False)
            with Horizontal(id="doctor-main"):
                yield DataTable(id="diagnostics", cursor_type="row")
                with VerticalScroll(id="diagnostic-detail-box"):
                    yield Static("", id="diagnostic-detail", markup=False)
        yield Footer()

    def on_resize(self) -> None:
        self.query_one(SizeNote).fit()

    def on_mount(self) -> None:
        table = self.query_one("#diagnostics", DataTable)
        table.add_column(_("finding"), key="finding")  # columns size to their content
        table.add_column(_("where"), key="where")
        self.action_run()
        table.focus()

    def targets(self) -> list[Path]:
        """What there is to check: saved config, dataset folder, run folder, final LoRA."""
        st = self.state
        paths = []
        if st.config_path.exists():
            paths.append(st.config_path)
        if st.dataset_dir and st.dataset_dir.is_dir():
            paths.append(st.dataset_dir)
        if st.run_dir and st.run_dir.is_dir():
            paths.append(st.run_dir)
        return paths

    def action_run(self) -> None:
        targets = self.targets()
        self.query_one("#doctor-summary", Static).update(
            _("checking {what} …").format(
                what=", ".join(short_path(p) for p in targets) or _("the settings")))
        self.diagnose(targets)

    @work(thread=True, exclusive=True, group="doctor", exit_on_error=False, name=N_("Doctor"))
    def diagnose(self, targets: list[Path]) -> None:
        st = self.state
        if targets:
            diags = core.diagnose_paths(targets, st.gpu)
        else:
            diags = core.config_findings(st.resolved(), st.gpu, str(st.config_path))
        post_if_current(self, TaskDone("doctor", diags, {"targets": targets}))

    @on(TaskDone)
    def done(self, message: TaskDone) -> None:
        order = {"error": 0, "warning": 1, "info": 2}
        self.diags = sorted(message.result, key=lambda d: (order.get(d.severity, 3), d.code))
        table = self.query_one("#diagnostics", DataTable)
        table.clear()
        for i, d in enumerate(self.diags):
            loc = d.location
            where = Path(loc.path).name + (f":{loc.key}" if loc.key else
                                           f":{loc.line}" if loc.line else "")
            mark = _(MARK[d.severity]) if d.severity in MARK else d.severity
            table.add_row(f"{mark} {d.code}", where, key=str(i))
        counts = {s: sum(1 for d in self.diags if d.severity == s) for s in order}
        fixable = core.safe_fix_count(self.diags)
        sep = pgettext("list separator", ", ")
        checked = sep.join(p.name for p in message.extra["targets"]) or _("unsaved settings")
        self.query_one("#doctor-summary", Static).update(
            f"{checked}: " +
            ngettext("{n} error", "{n} errors", counts["error"]).format(n=counts["error"]) +
            sep + ngettext("{n} warning", "{n} warnings", counts["warning"]).format(
                n=counts["warning"]) +
            sep + ngettext("{n} note", "{n} notes", counts["info"]).format(n=counts["info"])
            + (" · " + ngettext("ctrl+f applies {n} safe fix", "ctrl+f applies {n} safe fixes",
                                fixable).format(n=fixable) if fixable else "")
            + " · " + _("enter explains a finding, F1 helps"))
        self._detail(0)

    @on(DataTable.RowHighlighted, "#diagnostics")
    def highlighted(self, event: DataTable.RowHighlighted) -> None:
        self._detail(event.cursor_row)

    def _detail(self, index: int) -> None:
        box = self.query_one("#diagnostic-detail", Static)
        if not self.diags:
            box.update(_("No findings: nothing the guide warns about."))
            return
        d = self.diags[min(index, len(self.diags) - 1)]
        lines = [with_severity(f"{d.code} {d.name}", d.severity), "", d.shown_message, ""]
        if d.refs:
            lines.append(_("refs: {refs}").format(refs=", ".join(d.refs)))
        if d.location.path:
            lines.append(_("in: {path}").format(path=short_path(d.location.path, 40)) + (
                f" [{d.location.key}]" if d.location.key else ""))
        in_wizard = wizard_fix_for_code(d.code)
        if in_wizard:
            lines += ["", _("fix: {fix}").format(fix=in_wizard)]
        elif d.fix:
            lines += ["", _("fix ({applicability}): {title}").format(
                applicability=_(d.fix.applicability), title=d.fix.local_title or d.fix.title)]
            if d.fix.applicability == "safe":
                lines.append("  " + _("ctrl+f applies it (and the other safe fixes)"))
        box.update("\n".join(lines))

    @on(DataTable.RowSelected, "#diagnostics")
    def selected(self, event: DataTable.RowSelected) -> None:
        d = self.diags[event.cursor_row]
        text = core.explain(d.code)
        if text:
            self.query_one("#diagnostic-detail", Static).update(text)

    def help_topic(self) -> tuple[str, str, list[str]]:
        body = _("""
The Doctor checks the project's loratui.toml, images folder, run folder and LoRA against
the guide's pitfalls, the way `loratui doctor` does on the command line.

Summary line    What was checked and how many errors, warnings and notes were found.
Findings        Severity (✖ error: fix before training; ▲ warn: likely to hurt the
                result; · info: worth knowing), the rule's code and where it was found.
Detail          Why it matters, the pitfalls it refers to (P…, PITFALLS.md), and the fix.
                Enter shows the rule's full explanation.

Keys: ctrl+f applies the safe fixes to loratui.toml (comments kept), ctrl+r checks
again, escape goes back to the wizard.
""")
        codes: list[str] = []
        for d in self.diags:
            codes += [c for c in (d.code, *d.refs) if c not in codes]
        return _("Help: the Doctor"), body, codes

    @guarded(N_("Applying fixes"))
    def action_fix(self) -> None:
        if not core.safe_fix_count(self.diags):
            self.notify(_("No safe fixes to apply."), severity="warning")
            return
        fixed, errors = core.apply_safe_fixes(self.diags)
        for err in errors:
            self.notify(localized(err), severity="error", timeout=10)
        # The config file changed on disk: the wizard reloads it.
        self.app.load_project(self.state.project, self.state.gpu)  # type: ignore[attr-defined]
        self.notify(ngettext("{n} fix applied to loratui.toml (comments kept)",
                             "{n} fixes applied to loratui.toml (comments kept)", fixed).format(
                                 n=fixed))
        self.action_run()

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if event.state == WorkerState.ERROR:
            self.app.report_worker_failure(event.worker)  # type: ignore[attr-defined]

    def action_close(self) -> None:
        app = self.app
        self.dismiss()
        # Fixes may have changed what the step shows: it looks again.
        app.call_later(lambda: getattr(app.screen, "arrive", lambda: None)())

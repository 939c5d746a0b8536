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
from textual.widgets import DataTable, Footer, Header, Static
from textual.worker import Worker, WorkerState

from loratui.ui import core
from loratui.ui.fixes import wizard_fix_for_code
from loratui.ui.messages import TaskDone
from loratui.ui.screens.base import guarded
from loratui.ui.text import short_path
from loratui.wording import plural

MARK = {"error": "✖ error", "warning": "▲ warn", "info": "· info"}


class DoctorScreen(Screen):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,ctrl+g", "close", "Back"),
        Binding("ctrl+f", "fix", "Safe fixes"),
        Binding("ctrl+r", "run", "Re-check"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.diags: list[Any] = []

    @property
    def state(self):
        return self.app.state  # type: ignore[attr-defined]

    def compose(self) -> ComposeResult:
        yield Header(icon="◆")  # a glyph every monospace font has (not ⭘)
        with Vertical(id="body"):
            yield Static("", id="doctor-summary", markup=False)
            with Horizontal(id="doctor-main"):
                yield DataTable(id="diagnostics", cursor_type="row")
                with VerticalScroll(id="diagnostic-detail-box"):
                    yield Static("", id="diagnostic-detail", markup=False)
        yield Footer()

    def on_mount(self) -> None:
        table = self.query_one("#diagnostics", DataTable)
        table.add_column("finding", key="finding")  # columns size to their content
        table.add_column("where", key="where")
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
            "checking " + (", ".join(short_path(p) for p in targets) or "the settings") + " …")
        self.diagnose(targets)

    @work(thread=True, exclusive=True, group="doctor", exit_on_error=False, name="Doctor")
    def diagnose(self, targets: list[Path]) -> None:
        st = self.state
        if targets:
            diags = core.diagnose_paths(targets, st.gpu)
        else:
            diags = core.config_findings(st.resolved(), st.gpu, str(st.config_path))
        self.post_message(TaskDone("doctor", diags, {"targets": targets}))

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
            table.add_row(f"{MARK.get(d.severity, d.severity)} {d.code}", where, key=str(i))
        counts = {s: sum(1 for d in self.diags if d.severity == s) for s in order}
        fixable = core.safe_fix_count(self.diags)
        checked = ", ".join(p.name for p in message.extra["targets"]) or "unsaved settings"
        self.query_one("#doctor-summary", Static).update(
            f"{checked}: {plural(counts['error'], 'error')}, "
            f"{plural(counts['warning'], 'warning')}, {plural(counts['info'], 'note')}"
            + (f" · ctrl+f applies {plural(fixable, 'safe fix', 'safe fixes')}"
               if fixable else "") + " · enter explains a finding, F1 helps")
        self._detail(0)

    @on(DataTable.RowHighlighted, "#diagnostics")
    def highlighted(self, event: DataTable.RowHighlighted) -> None:
        self._detail(event.cursor_row)

    def _detail(self, index: int) -> None:
        box = self.query_one("#diagnostic-detail", Static)
        if not self.diags:
            box.update("No findings: nothing the guide warns about.")
            return
        d = self.diags[min(index, len(self.diags) - 1)]
        lines = [f"{d.code} {d.name} ({d.severity})", "", d.message, ""]
        if d.refs:
            lines.append("refs: " + ", ".join(d.refs))
        if d.location.path:
            lines.append(f"in: {short_path(d.location.path, 40)}" + (f" [{d.location.key}]"
                                                      if d.location.key else ""))
        in_wizard = wizard_fix_for_code(d.code)
        if in_wizard:
            lines += ["", f"fix: {in_wizard}"]
        elif d.fix:
            lines += ["", f"fix ({d.fix.applicability}): {d.fix.title}"]
            if d.fix.applicability == "safe":
                lines.append("  ctrl+f applies it (and the other safe fixes)")
        box.update("\n".join(lines))

    @on(DataTable.RowSelected, "#diagnostics")
    def selected(self, event: DataTable.RowSelected) -> None:
        d = self.diags[event.cursor_row]
        text = core.explain(d.code)
        if text:
            self.query_one("#diagnostic-detail", Static).update(text)

    def help_topic(self) -> tuple[str, str, list[str]]:
        body = """
The Doctor checks the project's loratui.toml, images folder, run folder and LoRA against
the guide's pitfalls, the way `loratui doctor` does on the command line.

Summary line    What was checked and how many errors, warnings and notes were found.
Findings        Severity (✖ error: fix before training; ▲ warn: likely to hurt the
                result; · info: worth knowing), the rule's code and where it was found.
Detail          Why it matters, the pitfalls it refers to (P…, PITFALLS.md), and the fix.
                Enter shows the rule's full explanation.

Keys: ctrl+f applies the safe fixes to loratui.toml (comments kept), ctrl+r checks
again, escape goes back to the wizard.
"""
        codes: list[str] = []
        for d in self.diags:
            codes += [c for c in (d.code, *d.refs) if c not in codes]
        return "Help: the Doctor", body, codes

    @guarded("Applying fixes")
    def action_fix(self) -> None:
        if not core.safe_fix_count(self.diags):
            self.notify("No safe fixes to apply.", severity="warning")
            return
        fixed, errors = core.apply_safe_fixes(self.diags)
        for err in errors:
            self.notify(err, severity="error", timeout=10)
        # The config file changed on disk: the wizard reloads it.
        self.app.load_project(self.state.project, self.state.gpu)  # type: ignore[attr-defined]
        self.notify(f"{plural(fixed, 'fix', 'fixes')} applied to loratui.toml (comments kept)")
        self.action_run()

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if event.state == WorkerState.ERROR:
            self.app.report_worker_failure(event.worker)  # type: ignore[attr-defined]

    def action_close(self) -> None:
        app = self.app
        self.dismiss()
        # Fixes may have changed what the step shows: it looks again.
        app.call_later(lambda: getattr(app.screen, "arrive", lambda: None)())

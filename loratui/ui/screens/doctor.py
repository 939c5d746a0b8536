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
from loratui.ui.messages import TaskDone

MARK = {"error": "✖ error", "warning": "▲ warn", "info": "· info"}


class DoctorScreen(Screen):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,ctrl+g", "close", "Back to wizard"),
        Binding("ctrl+f", "fix", "Apply safe fixes"),
        Binding("ctrl+r", "run", "Re-check"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.diags: list[Any] = []

    @property
    def state(self):
        return self.app.state  # type: ignore[attr-defined]

    def compose(self) -> ComposeResult:
        yield Header()
        with Vertical(id="body"):
            yield Static("", id="doctor-summary", markup=False)
            with Horizontal(id="doctor-main"):
                yield DataTable(id="diagnostics", cursor_type="row")
                with VerticalScroll(id="diagnostic-detail-box"):
                    yield Static("", id="diagnostic-detail", markup=False)
        yield Footer()

    def on_mount(self) -> None:
        table = self.query_one("#diagnostics", DataTable)
        table.add_column("severity", width=9)
        table.add_column("code", width=6)
        table.add_column("where", width=22)
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
            "checking " + (", ".join(p.name for p in targets) or "the settings") + " …")
        self.diagnose(targets)

    @work(thread=True, exclusive=True, group="doctor", exit_on_error=False, name="Doctor")
    def diagnose(self, targets: list[Path]) -> None:
        st = self.state
        notes: list[str] = []
        if targets:
            diags, notes = core.diagnose_paths(targets, st.gpu)
        else:
            diags = core.config_findings(st.resolved(), st.gpu, str(st.config_path))
            if diags is None:
                raise core.CoreMissing(core.unavailable("the doctor (loratui.doctor)"))
        self.post_message(TaskDone("doctor", diags, {"targets": targets, "notes": notes}))

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
            table.add_row(MARK.get(d.severity, d.severity), d.code, where, key=str(i))
        counts = {s: sum(1 for d in self.diags if d.severity == s) for s in order}
        fixable = core.safe_fix_count(self.diags)
        checked = ", ".join(p.name for p in message.extra["targets"]) or "unsaved settings"
        notes = "".join(f"\n{n}" for n in message.extra["notes"])
        self.query_one("#doctor-summary", Static).update(
            f"{checked}: {counts['error']} errors, {counts['warning']} warnings, "
            f"{counts['info']} notes" + (f" · ctrl+f applies {fixable} safe fixes"
                                         if fixable else "") + notes)
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
            lines.append(f"in: {d.location.path}" + (f" [{d.location.key}]"
                                                      if d.location.key else ""))
        if d.fix:
            lines += ["", f"fix ({d.fix.applicability}): {d.fix.title}"]
            if d.fix.command:
                lines.append(f"  $ {d.fix.command}")
        box.update("\n".join(lines))

    @on(DataTable.RowSelected, "#diagnostics")
    def selected(self, event: DataTable.RowSelected) -> None:
        d = self.diags[event.cursor_row]
        text = core.explain(d.code)
        if text:
            self.query_one("#diagnostic-detail", Static).update(text)

    def action_fix(self) -> None:
        if not core.safe_fix_count(self.diags):
            self.notify("No safe fixes to apply.", severity="warning")
            return
        fixed, errors = core.apply_safe_fixes(self.diags)
        for err in errors:
            self.notify(err, severity="error", timeout=10)
        # The config file changed on disk: the wizard reloads it.
        self.app.load_project(self.state.project, self.state.gpu)  # type: ignore[attr-defined]
        self.notify(f"{fixed} fixes applied to loratui.toml (comments kept)")
        self.action_run()

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if event.state == WorkerState.ERROR:
            self.app.report_worker_failure(event.worker)  # type: ignore[attr-defined]

    def action_close(self) -> None:
        self.dismiss()

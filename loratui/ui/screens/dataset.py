"""Step 2: scan the images folder — totals, resolution histogram, problems, preview, prepare."""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.widgets import DataTable, Input, Label, ProgressBar, Static, TabbedContent, TabPane
from textual.worker import Worker, WorkerState

from loratui.dataset.text import LAYOUTS
from loratui.i18n import N_, _, localized, ngettext
from loratui.ui import core
from loratui.ui.dialogs.prepare import PrepareDialog
from loratui.ui.fixes import wizard_fix
from loratui.ui.messages import Progress, TaskDone
from loratui.ui.screens.base import WizardScreen
from loratui.ui.text import TOAST_PATH, short_path, with_severity
from loratui.ui.widgets import PathInput, PathSuggester
from loratui.ui.widgets.sample_view import ImagePreview

SEVERITY_MARK = {"error": N_("✖ error"), "warning": N_("▲ warn"), "info": N_("· info")}
SYMBOL = {"error": "✖", "warning": "▲", "info": "·"}  # alone where the table is narrow
NARROW = 110  # below this many columns the Problems table drops words the detail says
SLOW_SCAN_S = 1.0  # the scan time is shown from here on


def histogram(counts: dict[str, int], width: int = 24, top: int = 6) -> str:
    """Text bars for a {label: count} table, largest first."""
    if not counts:
        return "  " + _("(none)")
    rows = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
    peak = rows[0][1]
    lines = [f"  {label:>11} {'█' * max(1, round(width * n / peak)):<{width}} {n}"
             for label, n in rows[:top]]
    if len(rows) > top:
        lines.append(f"  {'…':>11} " + _("{n} more sizes").format(n=len(rows) - top))
    return "\n".join(lines)


class DatasetScreen(WizardScreen):
    STEP = "dataset"
    HELP = N_("""
The Dataset step scans the folder of training images and their captions.

Images folder   The folder with your images (.png .jpg .webp …) and a caption file
                beside each (same name, .txt). kohya's `N_name` sub-folders work too.
                Type it and press enter to scan; ctrl+r scans again.
Summary tab     Totals (images, usable, broken, captioned), the layout, steps per epoch,
                and histograms of resolutions, short sides, aspect ratios, caption styles.
Problems tab    Each kind of problem, its doctor code (DS…) and the files it concerns.
                The right side says why it matters and how to fix it here.
Images tab      Every image, its size and whether it has a caption; a preview.
Prepare copy    ctrl+o writes a cleaned training copy (crop / pad / bucket to the
                training resolution, RGB, captions with the trigger word first) and
                points dataset.dir at it. The source folder is never changed.
""")
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+r", "scan", N_("Rescan")),
        Binding("ctrl+o", "prepare", N_("Prepare")),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.report: Any = None
        self.attempted: Path | None = None
        self.scanning = False

    def compose_body(self) -> ComposeResult:
        with Vertical(id="body"):
            with Horizontal(classes="form-row"):
                yield Label(_("Images folder"), classes="form-label")
                yield PathInput(id="dataset-dir", placeholder=_("folder of images + captions"),
                            suggester=PathSuggester(dirs_only=True))
            with Horizontal(id="task-row"):
                yield Static("", id="dataset-summary", markup=False)
                yield ProgressBar(id="task-progress", show_eta=False)
            with TabbedContent(id="dataset-tabs"):
                with TabPane(_("Summary"), id="tab-summary"), VerticalScroll():
                    yield Static("", id="dataset-histogram", markup=False)
                with TabPane(_("Problems"), id="tab-problems"), Horizontal():
                    yield DataTable(id="problems", cursor_type="row")
                    with VerticalScroll(id="problem-detail-box"):
                        yield Static("", id="problem-detail", markup=False)
                with TabPane(_("Images"), id="tab-images"), Horizontal():
                    yield DataTable(id="images", cursor_type="row")
                    yield ImagePreview(empty=_("select an image"), id="image-preview")

    def on_mount(self) -> None:
        self.query_one("#task-progress").display = False
        problems = self.query_one("#problems", DataTable)
        narrow = self.app.size.width < NARROW
        problems.add_column("" if narrow else _("severity"), key="severity")  # sized to content
        problems.add_column(_("problem"), key="problem")
        problems.add_column(_("files"), key="files")
        images = self.query_one("#images", DataTable)
        images.add_column(_("image"), key="image")
        images.add_column(_("size"), key="size")
        images.add_column(_("caption"), key="caption")
        self.refresh_from_state()

    def refresh_from_state(self) -> None:
        """Every visit shows the folder as it is now: it is scanned again."""
        field = self.query_one("#dataset-dir", PathInput)
        field.suggester = PathSuggester(base=self.state.project, dirs_only=True)
        if field.value != self.state.config.dataset.dir:
            field.value = self.state.config.dataset.dir
        if self.state.config.dataset.dir:
            self.action_scan()
        else:
            self.query_one("#dataset-summary", Static).update(
                _("Type the images folder and press enter to scan it."))
            field.focus()

    # ---- scanning ---------------------------------------------------------------------------
    @on(Input.Submitted, "#dataset-dir")
    def dir_submitted(self, event: Input.Submitted) -> None:
        self.state.config.dataset.dir = event.value.strip()
        self.report = None
        self.action_scan()

    def action_scan(self) -> None:
        folder = self.state.dataset_dir
        if folder is None:
            self.say(_("Dataset step: type the images folder and press enter."))
            return
        if not folder.is_dir():  # a typo: one line that says so, not a failed scan
            self._clear_report()
            self.say(_("{step} step: {problem}").format(step=self.label,
                                                          problem=self.problem()))
            return
        self.attempted = folder
        self.scanning = True
        self.query_one("#dataset-summary", Static).update(
            _("scanning {folder} …").format(folder=short_path(folder)))
        self.scan(folder)

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        """A scan or prepare that failed or was cancelled leaves no progress behind."""
        if event.worker.group == "scan" and event.state == WorkerState.ERROR:
            self.scanning = False
            self.query_one("#task-progress").display = False
            folder = short_path(self.attempted) if self.attempted else _("the folder")
            self.query_one("#dataset-summary", Static).update(
                _("{task} of {folder} failed: fix the folder, then ctrl+r scans again.").format(
                    task=_(event.worker.name), folder=folder))

    def problem(self) -> str:
        value = self.query_one("#dataset-dir", PathInput).value.strip()
        if not value:
            return _("type the images folder (Images folder field) and press enter to scan it.")
        folder = self.state.resolve(value)
        shown = short_path(folder)
        if not folder.exists():
            return _("the images folder {folder} does not exist: type the folder that holds "
                     "your images.").format(folder=shown)
        if not folder.is_dir():
            return _("{folder} is a file: type the folder that holds your images.").format(
                folder=shown)
        # the same folder written another way ("dataset/" after a completion) is no change
        changed = folder != self.state.resolve(self.state.config.dataset.dir)
        if changed or (self.report is None and not self.scanning):
            self.state.config.dataset.dir = value
            self.action_scan()
            return _("scanning {folder}: press ctrl+n again when it is done.").format(
                folder=shown)
        if self.scanning:
            return _("the scan of {folder} is still running: wait for it.").format(folder=shown)
        if self.report.totals.usable == 0:
            return _("{folder} has no usable images (.png .jpg .webp): pick the folder that "
                     "holds them.").format(folder=shown)
        return ""

    def codes_shown(self) -> list[str]:
        codes: list[str] = []
        for f in getattr(self, "findings", []):
            _title, code, _severity = _shown(f)
            codes += [c for c in (code, *f.refs) if c and c not in codes]
        return codes

    @work(thread=True, exclusive=True, group="scan", exit_on_error=False, name=N_("Dataset scan"))
    def scan(self, folder: Path) -> None:
        report = core.scan_dataset(self.state.resolved(), folder,
                                   lambda done, total: self.post_message(
                                       Progress("scan", done, total)))
        self.post_message(TaskDone("scan", report))

    @on(Progress)
    def progress(self, message: Progress) -> None:
        bar = self.query_one("#task-progress", ProgressBar)
        bar.display = message.total is None or message.done < message.total
        bar.update(total=message.total, progress=message.done)
        label = {"scan": _("scanning"), "prepare": _("preparing")}.get(message.task,
                                                                       message.task)
        self.query_one("#dataset-summary", Static).update(
            f"{label} {message.done}/{message.total or '?'} {message.detail}")

    def _clear_report(self) -> None:
        """No folder to show: nothing of the last one stays on the tabs."""
        self.report = None
        self.findings = []
        self.image_rows = []
        self.query_one("#dataset-summary", Static).update("")
        self.query_one("#dataset-histogram", Static).update("")
        self.query_one("#problems", DataTable).clear()
        self.query_one("#images", DataTable).clear()
        self.query_one("#problem-detail", Static).update("")
        self.query_one(ImagePreview).show(None)

    def _show_report(self, report: Any) -> None:
        self.report = report
        self.scanning = False
        self.say("")  # what ctrl+n said about the folder before this scan is out of date
        self.state.dataset_report = report
        self.query_one("#task-progress").display = False
        t = report.totals
        self.query_one("#dataset-summary", Static).update(
            ngettext("{n} image", "{n} images", t.images).format(n=t.images) + " · " +
            _("{usable} usable · {broken} broken · {captioned} captioned · {layout}"
              ).format(usable=t.usable, broken=t.broken, captioned=t.captioned,
                       layout=_(LAYOUTS.get(report.layout, report.layout))) + " · " +
            ngettext("{n} step/epoch (batch 1)", "{n} steps/epoch (batch 1)",
                     t.steps_per_epoch_images).format(n=t.steps_per_epoch_images) +
            scan_time(report.elapsed_s))
        self.query_one("#dataset-histogram", Static).update(
            _("Resolutions (train at {size}):").format(
                size=f"{report.resolution}×{report.resolution}") +
            f"\n{histogram(t.resolutions)}\n\n" + _("Short side:") +
            f"\n{histogram(t.short_sides)}\n\n" + _("Aspect:") +
            f"\n{histogram(t.aspects)}\n\n" + _("Caption style:") +
            f"\n{histogram(t.caption_styles)}")
        problems = self.query_one("#problems", DataTable)
        problems.clear()
        order = {"error": 0, "warning": 1, "info": 2}
        self.findings = sorted(report.findings,
                               key=lambda f: (order.get(_shown(f)[2], 3), f.kind))
        for i, row in enumerate(self._problem_rows()):
            problems.add_row(*row, key=str(i))
        width = max(16, self.size.width // 2 - 22)  # the preview takes the other half
        self._show_problem(0)
        images = self.query_one("#images", DataTable)
        images.clear()
        self.image_rows = report.images
        for i, rec in enumerate(report.images):
            cap = "–" if rec.caption is None else (
                _("empty") if not rec.caption.strip() else _("yes"))
            images.add_row(short_path(rec.path, width),
                           f"{rec.width}×{rec.height}" if rec.width else "?",
                           cap if rec.ok else _("broken"), key=str(i))
        tabs = self.query_one("#dataset-tabs", TabbedContent)
        if report.worst in ("error", "warning"):
            tabs.active = "tab-problems"

    def _problem_rows(self) -> list[tuple[str, str, str]]:
        """(severity, problem, files) for each finding, in as many words as the table's
        share of the screen holds: where the longest would not fit, the finding's kind
        goes (the detail says "found as"), then the severity's word (the detail says it)."""
        from rich.cells import cell_len

        narrow = self.size.width < NARROW
        marks = SYMBOL if narrow else {k: _(v) for k, v in SEVERITY_MARK.items()}
        rows = []
        for f in self.findings:
            title, code, severity = _shown(f)
            detail = f" ({f.kind})" if code and not title.endswith(f" {f.kind}") else ""
            rows.append((marks.get(severity, severity), title, detail, str(f.count or "")))
        room = self.size.width * 3 // 5 - 2  # the table's 3fr, less its scrollbar

        def width(col: int, header: str) -> int:
            return max([cell_len(header)] + [cell_len(r[col]) for r in rows]) + 2  # padding

        fixed = width(0, "" if narrow else _("severity")) + width(3, _("files"))
        whole = max((cell_len(r[1] + r[2]) for r in rows), default=0) + 2
        keep_detail = fixed + whole <= room
        return [(mark, title + (detail if keep_detail else ""), count)
                for mark, title, detail, count in rows]

    @on(DataTable.RowHighlighted, "#problems")
    def problem_highlighted(self, event: DataTable.RowHighlighted) -> None:
        self._show_problem(event.cursor_row)

    def _show_problem(self, index: int) -> None:
        findings = getattr(self, "findings", [])
        box = self.query_one("#problem-detail", Static)
        if not findings:
            box.update(_("No problems found.") if self.report else "")
            return
        f = findings[min(index, len(findings) - 1)]
        files = "\n".join(f"  {p}" + (f": {localized(f.details[p])}" if p in f.details
                                      else "") for p in f.paths[:12])
        more = "\n  … " + _("{n} more").format(n=len(f.paths) - 12) if len(f.paths) > 12 \
            else ""
        title, code, severity = _shown(f)
        kind = "\n" + _("found as: {kind}").format(kind=f.kind) if code else ""
        box.update(f"{with_severity(title, severity)}{kind}\n{localized(f.message)}\n\n" +
                   _("Fix: {fix}").format(fix=wizard_fix(f.kind, f.fix)) + "\n\n" +
                   _("Refs: {refs}  (F1 explains the codes)").format(
                       refs=", ".join(f.refs) or "–") +
                   ("\n\n" + _("Files:") + f"\n{files}{more}" if files else ""))

    @on(DataTable.RowHighlighted, "#images")
    def image_highlighted(self, event: DataTable.RowHighlighted) -> None:
        rec = self.image_rows[event.cursor_row]
        caption = rec.caption if rec.caption is not None else _("(no caption)")
        self.query_one(ImagePreview).show(Path(self.report.root) / rec.path,
                                          f"{rec.path}: {caption}")

    # ---- prepare ----------------------------------------------------------------------------
    def action_prepare(self) -> None:
        source = self.state.dataset_dir
        if source is None or self.report is None:
            self.say(_("Dataset step: scan a folder first (type it and press enter)."))
            return
        res = self.state.config.dataset.resolution
        out = source.parent / f"{source.name}-{res}"
        mode = "bucket" if self.state.config.dataset.bucketing else "crop"

        def go(answer: tuple[str, Path] | None) -> None:
            if answer:
                mode, target = answer
                if not target.is_absolute():
                    target = self.state.project / target
                self.prepare(source, target, mode)

        self.app.push_screen(PrepareDialog(out, res, mode), go)

    @work(thread=True, exclusive=True, group="scan", exit_on_error=False, name=N_("Prepare"))
    def prepare(self, source: Path, out: Path, mode: str) -> None:
        result = core.prepare_dataset(self.state.resolved(), source, out, mode,
                                      lambda done, total: self.post_message(
                                          Progress("prepare", done, total)))
        self.post_message(TaskDone("prepare", result, {"out": out, "mode": mode}))

    @on(TaskDone)
    def task_done(self, message: TaskDone) -> None:
        if message.task == "scan":
            self._show_report(message.result)
        elif message.task == "prepare":
            self._prepared(message.extra["out"], message.extra["mode"], message.result)

    def _prepared(self, out: Path, mode: str, result: Any) -> None:
        cfg = self.state.config
        cfg.dataset.dir = str(out)
        cfg.dataset.bucketing = mode == "bucket"
        failed = _(", {n} failed").format(n=len(result.failed)) if result.failed else ""
        self.notify(_("{written} written, {up_to_date} up to date{failed}; dataset.dir is now "
                      "{out}").format(written=result.written, up_to_date=result.up_to_date,
                                      failed=failed, out=short_path(out, TOAST_PATH)),
                    title=_("Prepared"), timeout=8)
        self.query_one("#dataset-dir", PathInput).value = str(out)
        self.report = None
        self.action_scan()

    def before_next(self) -> bool:
        self.state.config.dataset.dir = self.query_one("#dataset-dir", PathInput).value.strip()
        return self.save_config() is not None


def scan_time(seconds: float) -> str:
    """How long the scan took, when that is worth reading (a big folder's rescan): a
    quick scan's "0.0s" only changes from run to run."""
    return f" · {seconds:.1f}s" if seconds >= SLOW_SCAN_S else ""


def _shown(finding) -> tuple[str, str, str]:
    """(title, code, severity) of a scan finding as `loratui doctor` shows it: the doctor
    rule's code, name and severity; the scanner's kind where no rule reports it."""
    rule = core.dataset_rule(finding.kind)
    if rule is None:
        return finding.kind, "", finding.severity
    code, name, severity = rule
    return f"{code} {name}", code, severity

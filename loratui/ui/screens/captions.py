"""Step 3: captions — list + preview + editor, BLIP auto-captioning, bulk edits."""

from __future__ import annotations

import errno
from pathlib import Path
from typing import Any, ClassVar

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.widgets import DataTable, ProgressBar, Static, TextArea

from loratui.i18n import N_, Message, _, ngettext, width
from loratui.ui import core
from loratui.ui.dialogs import ConfirmDialog
from loratui.ui.dialogs.captions import AutoCaptionDialog, BulkEditDialog
from loratui.ui.messages import Progress, TaskDone
from loratui.ui.screens.base import WizardScreen, guarded
from loratui.ui.text import short_path
from loratui.ui.widgets.sample_view import ImagePreview


def short(text: str | None, width: int = 60) -> str:
    """The caption on one line in at most `width` terminal columns (a Chinese character
    takes two)."""
    from rich.cells import cell_len, set_cell_size

    if text is None:
        return _("(no caption)")
    text = " ".join(text.split())
    return text if cell_len(text) <= width else set_cell_size(text, width - 1).rstrip() + "…"


TASKS = {"caption": N_("caption"), "scan": N_("scan")}
CAPTION_STYLES = (N_("tags"), N_("prose"))  # what core.caption_style() says, translated


class CaptionsScreen(WizardScreen):
    STEP = "captions"
    HELP = N_("""
The Captions step is where each image's caption is read and fixed (P5: captions
decide what the LoRA learns; what is not captioned is learned as the subject).

Image list      Every usable image and the start of its caption.
Preview         The highlighted image.
Editor          Its caption: edit it and press ctrl+s to save. In a source folder the
                original is first copied to .loratui-backup/.
Info line       CLIP tokens used of 75 (the rest is cut off), the caption style (tags
                or sentences), and whether the trigger word is there.
Auto-caption    ctrl+o writes BLIP captions for images that have none (a local BLIP
                model folder; nothing is downloaded). Read them afterwards.
Bulk edit       ctrl+l: replace text, remove tags, de-duplicate, add a prefix, in every
                caption at once.
""")
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+s", "save_caption", N_("Save")),
        Binding("ctrl+o", "autocaption", "BLIP"),
        Binding("ctrl+l", "bulk", N_("Bulk")),
        Binding("ctrl+r", "rescan", N_("Reload"), show=False)  # in F1 help; the footer is full,
    ]

    def __init__(self) -> None:
        super().__init__()
        self.records: list[Any] = []
        self.current: int | None = None
        self.attempted: Path | None = None

    def compose_body(self) -> ComposeResult:
        with Vertical(id="body"):
            with Horizontal(id="task-row"):
                yield Static("", id="captions-summary", markup=False)
                yield ProgressBar(id="task-progress", show_eta=False)
            with Horizontal(id="captions-main"):
                yield DataTable(id="caption-list", cursor_type="row")
                yield ImagePreview(empty=_("select an image"), id="caption-preview")
            yield TextArea(id="caption-editor", soft_wrap=True, show_line_numbers=False)
            yield Static("", id="caption-info", markup=False)

    def on_mount(self) -> None:
        self.query_one("#task-progress").display = False
        table = self.query_one("#caption-list", DataTable)
        self._columns(table)
        self.refresh_from_state()

    @staticmethod
    def _columns(table: DataTable, names_width: int | None = None) -> None:
        """Made anew for each list: a cleared table keeps the widths of the rows it had.
        The image column is as wide as its longest name, set before the rows come: a
        width that grows with the rows left the header drawn at the old width now and
        then (DataTable keeps the lines it drew)."""
        table.add_column(_("image"), key="image", width=names_width)
        table.add_column(_("caption"), key="caption")

    def refresh_from_state(self) -> None:
        """Every visit reads the captions again (they may have changed on disk)."""
        report = self.state.dataset_report
        if report is not None and Path(report.root) == self.state.dataset_dir:
            self._fill(report)  # at once; the rescan below brings any change
        self.action_rescan()

    @property
    def folder(self) -> Path | None:
        return self.state.dataset_dir

    def action_rescan(self) -> None:
        if self.folder is None:
            self.query_one("#captions-summary", Static).update(
                _("No images folder yet: set it on the Dataset step (ctrl+p)."))
            return
        self.attempted = self.folder
        self.scan(self.folder)

    def on_worker_state_changed(self, event) -> None:
        """A failed task leaves no progress bar behind. A failed scan leaves the list
        unread: the line says how to read it again. BLIP or a bulk edit that failed left
        the captions as they were: the line shows their counts again (the dialog says
        what failed)."""
        from textual.worker import WorkerState

        if event.state == WorkerState.ERROR:
            self.query_one("#task-progress").display = False
            if event.worker.group != "caption-scan" and self.state.dataset_report is not None:
                self._show_summary()
                return
            self.query_one("#captions-summary", Static).update(
                _("{task} failed: ctrl+r reads the captions again.").format(
                    task=_(event.worker.name)))

    @work(thread=True, exclusive=True, group="caption-scan", exit_on_error=False,
          name=N_("Caption scan"))
    def scan(self, folder: Path) -> None:
        self.post_message(TaskDone("scan", core.scan_dataset(self.state.resolved(), folder)))

    def _fill(self, report: Any) -> None:
        self.state.dataset_report = report
        self.records = report.usable_images()
        table = self.query_one("#caption-list", DataTable)
        keep = table.cursor_row
        names = [short_path(Path(rec.path).name, max(12, self.size.width // 5))
                 for rec in self.records]
        # the image column: as wide as its longest name (or its header)
        names_width = max(width(n) for n in [_("image"), *names])
        # the caption: the list's 3fr of the screen, less that column, the cells' padding
        # and the scrollbar
        self.caption_width = max(20, self.size.width * 3 // 5 - names_width - 6)
        table.clear(columns=True)
        self._columns(table, names_width if names else None)
        for i, (rec, name) in enumerate(zip(self.records, names, strict=True)):
            table.add_row(name, short(rec.caption, self.caption_width), key=str(i))
        self._show_summary()
        if self.records:
            table.move_cursor(row=min(max(keep, 0), len(self.records) - 1))
            self._select(table.cursor_row)

    def _show_summary(self) -> None:
        root = Path(self.state.dataset_report.root)
        prepared = core.is_prepared_copy(root)
        missing = sum(1 for r in self.records if not (r.caption or "").strip())  # or empty
        self.query_one("#captions-summary", Static).update(
            ngettext("{n} image, {missing} without caption", "{n} images, {missing} without "
                     "caption", len(self.records)).format(n=len(self.records), missing=missing)
            + " · " + (_("prepared copy: edited in place") if prepared else
                       _("source folder: originals are backed up to .loratui-backup/ before "
                         "a change")))

    @on(DataTable.RowHighlighted, "#caption-list")
    def highlighted(self, event: DataTable.RowHighlighted) -> None:
        self._select(event.cursor_row)

    def _select(self, index: int) -> None:
        if not (0 <= index < len(self.records)):
            return
        self.current = index
        rec = self.records[index]
        root = Path(self.state.dataset_report.root)
        self.query_one(ImagePreview).show(root / rec.path, f"{rec.path} {rec.width}×{rec.height}")
        editor = self.query_one("#caption-editor", TextArea)
        editor.load_text(rec.caption or "")
        self._show_info(rec.caption or "")

    @on(TextArea.Changed, "#caption-editor")
    def edited(self, event: TextArea.Changed) -> None:
        self._show_info(event.text_area.text)

    def _show_info(self, text: str) -> None:
        tokens = core.caption_tokens(text)
        trigger = self.state.config.dataset.trigger_word
        parts = [_("{n}/75 CLIP tokens").format(n=tokens) +
                 (_(" — the rest is cut off") if tokens > 75 else "")]
        style = core.caption_style(text)
        if style:
            parts.append(_(style))
        if trigger:
            parts.append((_("trigger `{trigger}` present") if core.has_trigger(text, trigger)
                          else _("trigger `{trigger}` MISSING")).format(trigger=trigger))
        self.query_one("#caption-info", Static).update(" · ".join(parts))

    # ---- saving one caption -------------------------------------------------------------------
    @guarded(N_("Saving the caption"))
    def action_save_caption(self) -> None:
        if self.current is None:
            return
        rec = self.records[self.current]
        text = self.query_one("#caption-editor", TextArea).text.strip()
        root = Path(self.state.dataset_report.root)
        try:
            path = core.save_caption(root, rec.path, text,
                                     self.state.config.dataset.caption_extension)
        except OSError as exc:
            if exc.errno not in (errno.EACCES, errno.EPERM, errno.EROFS):
                raise
            # A read-only source folder: the wizard's way round it is a training copy.
            self.wizard.show_error(
                _("Cannot save the caption"), f"{exc.filename or root}: {exc.strerror}",
                _("This folder cannot be written: make a training copy with ctrl+o on the "
                  "Dataset step (Prepare copy) and edit the captions there."))
            return
        rec.caption = text
        table = self.query_one("#caption-list", DataTable)
        table.update_cell(str(self.current), "caption",
                          short(text, getattr(self, "caption_width", 60)))
        self._show_summary()  # the count of captions missing changes
        self.notify(_("saved {name}").format(name=path.name))

    # ---- BLIP ------------------------------------------------------------------------------------
    def action_autocaption(self) -> None:
        if self.folder is None:
            self.say(_("Captions step: set the images folder on the Dataset step (ctrl+p)."))
            return

        def go(values: dict[str, Any] | None) -> None:
            if values is not None:
                self.autocaption(self.folder, values)

        self.app.push_screen(AutoCaptionDialog(getattr(self, "blip_model", "")), go)

    @work(thread=True, exclusive=True, group="captions", exit_on_error=False,
          name=N_("Auto-caption (BLIP)"))
    def autocaption(self, folder: Path, values: dict[str, Any]) -> None:
        self.blip_model = values.get("model", "")
        cfg = self.state.resolved()
        self.post_message(Progress("caption", 0, None, _("loading BLIP…")))
        result = core.caption_folder(
            folder, model=values.get("model") or None, overwrite=values.get("overwrite", False),
            overwrite_empty=values.get("overwrite_empty", True),
            prefix=cfg.dataset.trigger_word, caption_extension=cfg.dataset.caption_extension,
            progress=lambda done, total: self.post_message(Progress("caption", done, total)),
            setting=Message(N_("the BLIP model (ctrl+o on the Captions step)")))
        self.post_message(TaskDone("caption", result))
        self.post_message(TaskDone("scan", core.scan_dataset(cfg, folder)))

    # ---- bulk edits ------------------------------------------------------------------------------
    def action_bulk(self) -> None:
        if self.folder is None:
            return

        def go(values: dict[str, Any] | None) -> None:
            if not values:
                return
            if core.is_prepared_copy(self.folder):
                self.bulk(self.folder, values, False)
                return
            self.app.push_screen(ConfirmDialog(
                _("Edit captions in the source folder?"),
                _("{folder} is not a prepared copy. The captions will be changed in place; "
                  "every original is first copied to .loratui-backup/.").format(
                    folder=self.folder), yes=_("Edit")),
                lambda yes: yes and self.bulk(self.folder, values, True))

        self.app.push_screen(BulkEditDialog(), go)

    @work(thread=True, exclusive=True, group="captions", exit_on_error=False, name=N_("Bulk edit"))
    def bulk(self, folder: Path, values: dict[str, Any], in_place: bool) -> None:
        cfg = self.state.resolved()
        result = core.bulk_edit(folder, values, cfg.dataset.caption_extension, in_place)
        self.post_message(TaskDone("bulk", result))
        self.post_message(TaskDone("scan", core.scan_dataset(cfg, folder)))

    # ---- results -----------------------------------------------------------------------------------
    @on(Progress)
    def progress(self, message: Progress) -> None:
        bar = self.query_one("#task-progress", ProgressBar)
        bar.display = True
        bar.update(total=message.total, progress=message.done)
        self.query_one("#captions-summary", Static).update(
            f"{_(TASKS.get(message.task, message.task))}: "
            f"{message.done}/{message.total or '?'} {message.detail}")

    @on(TaskDone)
    def done(self, message: TaskDone) -> None:
        self.query_one("#task-progress").display = False
        r = message.result
        if message.task == "scan":
            self._fill(r)
        elif message.task == "caption":
            failed = _(", {n} failed").format(n=len(r.failed)) if r.failed else ""
            self.notify(ngettext("{n} caption written, {kept} kept{failed}",
                                 "{n} captions written, {kept} kept{failed}",
                                 len(r.written)).format(n=len(r.written), kept=r.kept,
                                                        failed=failed),
                        title="BLIP", timeout=8)
        elif message.task == "bulk":
            backup = _("; originals in {folder}").format(folder=r.backup_dir) \
                if r.backup_dir else ""
            self.notify(ngettext("{n} caption changed, {unchanged} unchanged{backup}",
                                 "{n} captions changed, {unchanged} unchanged{backup}",
                                 len(r.changed)).format(n=len(r.changed), unchanged=r.unchanged,
                                                        backup=backup),
                        title=_("Bulk edit"), timeout=8)

"""The line that asks for a bigger terminal when the wizard has less room than it is laid
out for (80×24): below it, text is cut off and tables scroll sideways. The wizard keeps
working; the line says what size to make the window."""

from __future__ import annotations

from textual.widgets import Static

from loratui.i18n import _

MIN_COLUMNS, MIN_ROWS = 80, 24


class SizeNote(Static):
    DEFAULT_CSS = """
    SizeNote { height: auto; padding: 0 1; display: none;
               background: $warning 25%; color: $text; text-style: bold; }
    """

    def __init__(self) -> None:
        super().__init__("", markup=False, id="size-note")

    def on_mount(self) -> None:
        self.fit()

    def fit(self) -> None:
        """Shown, naming the size to reach, while the terminal is smaller than 80×24."""
        columns, rows = self.app.size
        small = columns < MIN_COLUMNS or rows < MIN_ROWS
        if small:
            self.update(_("This terminal is {columns}×{rows}; make it at least "
                          "{min_columns}×{min_rows} to see every step whole.").format(
                columns=columns, rows=rows, min_columns=MIN_COLUMNS, min_rows=MIN_ROWS))
        self.display = small

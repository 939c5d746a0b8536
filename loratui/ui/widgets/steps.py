"""The step indicator at the top of every wizard screen."""

from __future__ import annotations

from rich.text import Text
from textual.reactive import reactive
from textual.widget import Widget

# (screen name, label). The order is the wizard's order.
STEPS: tuple[tuple[str, str], ...] = (
    ("start", "Start"),
    ("dataset", "Dataset"),
    ("captions", "Captions"),
    ("trigger", "Trigger"),
    ("parameters", "Parameters"),
    ("train", "Train"),
    ("export", "Export"),
    ("test", "Test"),
)


class StepIndicator(Widget):
    DEFAULT_CSS = """
    StepIndicator { height: 1; width: 1fr; padding: 0 1; background: $panel; }
    """

    current: reactive[str] = reactive("start")

    def __init__(self, current: str, **kw) -> None:
        super().__init__(**kw)
        self.set_reactive(StepIndicator.current, current)

    def render(self) -> Text:
        names = [name for name, _ in STEPS]
        index = names.index(self.current) if self.current in names else -1
        text = Text(no_wrap=True, overflow="ellipsis")
        text.append(f"{index + 1}/{len(STEPS)} " if index >= 0 else "    ", style="dim")
        for i, (_name, label) in enumerate(STEPS):
            if i:
                text.append(" › ", style="dim")
            if i == index:
                text.append(label, style="bold reverse")
            elif i < index:
                text.append(label)
            else:
                text.append(label, style="dim")
        return text

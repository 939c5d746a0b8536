"""The step indicator at the top of every wizard screen."""

from __future__ import annotations

from rich.text import Text
from textual.reactive import reactive
from textual.widget import Widget

from loratui.i18n import N_, _

# (screen name, label). The order is the wizard's order; `step_label()` translates.
STEPS: tuple[tuple[str, str], ...] = (
    ("start", N_("Start")),
    ("dataset", N_("Dataset")),
    ("captions", N_("Captions")),
    ("trigger", N_("Trigger")),
    ("parameters", N_("Parameters")),
    ("train", N_("Train")),
    ("export", N_("Export")),
    ("test", N_("Test")),
)


def step_label(name: str) -> str:
    """The label of the step `name` in the user's language."""
    return _(dict(STEPS).get(name, name.title()))


class StepIndicator(Widget):
    DEFAULT_CSS = """
    StepIndicator { height: 1; width: 1fr; padding: 0 1; background: $panel; }
    """

    current: reactive[str] = reactive("start")

    def __init__(self, current: str, **kw) -> None:
        super().__init__(**kw)
        self.set_reactive(StepIndicator.current, current)

    def render(self) -> Text:
        names = [name for name, _label in STEPS]
        index = names.index(self.current) if self.current in names else -1
        text = Text(no_wrap=True, overflow="ellipsis")
        text.append(f"{index + 1}/{len(STEPS)} " if index >= 0 else "    ", style="dim")
        for i, (name, _label) in enumerate(STEPS):
            label = step_label(name)
            if i:
                text.append(" › ", style="dim")
            if i == index:
                text.append(label, style="bold reverse")
            elif i < index:
                text.append(label)
            else:
                text.append(label, style="dim")
        return text

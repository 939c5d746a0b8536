"""Training loss, raw and smoothed, drawn with textual-plotext on a timer (not per line)."""

from __future__ import annotations

from array import array

from textual_plotext import PlotextPlot

from loratui.i18n import _

MAX_POINTS = 400  # plotted points per series; more cannot be seen in a terminal anyway


def downsample(xs: array, ys: array, limit: int = MAX_POINTS) -> tuple[list, list]:
    n = len(xs)
    if n <= limit:
        return list(xs), list(ys)
    stride = n / limit
    idx = [int(i * stride) for i in range(limit)] + [n - 1]
    return [xs[i] for i in idx], [ys[i] for i in idx]


def whole_ticks(low: int, high: int, count: int = 6) -> list[int]:
    """About `count` round whole-number ticks from `low` to `high` (steps are integers)."""
    span = max(1, high - low)
    raw = span / max(1, count - 1)
    magnitude = 10 ** max(0, len(str(int(raw))) - 1)
    step = next((m * magnitude for m in (1, 2, 5, 10) if m * magnitude >= raw), 10 * magnitude)
    step = max(1, int(step))
    first = -(-low // step) * step  # the first multiple of step at or after low
    return list(range(first, high + 1, step)) or [low]


def padded(values: list[float], share: float = 0.08) -> tuple[float, float]:
    """A y range with room above and below, so the curve stays inside the frame."""
    lo, hi = min(values), max(values)
    pad = (hi - lo) * share or abs(hi) * share or 1.0
    return lo - pad, hi + pad


class LossChart(PlotextPlot):
    """Call `extend()` as metrics arrive; the chart redraws itself at most every `interval`."""

    def __init__(self, interval: float = 0.5, **kw) -> None:
        super().__init__(**kw)
        self.interval = interval
        self.steps: array = array("i")
        self.raw: array = array("d")
        self.smooth: array = array("d")
        self.smooth_steps: array = array("i")
        self._dirty = True
        self.redraws = 0

    def on_mount(self) -> None:
        super().on_mount()
        self.set_interval(self.interval, self._tick)
        self._draw()

    def clear_data(self) -> None:
        for series in (self.steps, self.raw, self.smooth, self.smooth_steps):
            del series[:]
        self._dirty = True

    def extend(self, steps: list[int], raw: list[float], smooth: list[tuple[int, float]]) -> None:
        self.steps.extend(steps)
        self.raw.extend(raw)
        for step, value in smooth:
            self.smooth_steps.append(step)
            self.smooth.append(value)
        self._dirty = True

    def _tick(self) -> None:
        if self._dirty:
            self._draw()

    def _draw(self) -> None:
        self._dirty = False
        self.redraws += 1
        plt = self.plt
        plt.clear_data()
        plt.clear_figure()
        # The legend is in the title: plotext's legend box sits on the curve's start.
        # A trainer that prints only its average (sd-scripts' avr_loss) has no raw series.
        plt.title(_("loss: raw (grey), average (cyan)") if len(self.steps) or
                  not len(self.smooth_steps) else _("loss: average (cyan)"))
        plt.xlabel(_("step"))
        if len(self.steps) or len(self.smooth_steps):
            xs: list = []
            every: list[float] = []
            if len(self.steps):
                xs, ys = downsample(self.steps, self.raw)
                plt.plot(xs, ys, marker="braille", color="gray")
                every += list(ys)
            if len(self.smooth_steps):
                sx, sy = downsample(self.smooth_steps, self.smooth)
                plt.plot(sx, sy, marker="braille", color="cyan")
                every += list(sy)
                xs = xs + sx
            plt.ylim(*padded(every))
            low, high = int(min(xs)), int(max(xs))
            plt.xlim(low, max(high, low + 1))
            ticks = whole_ticks(low, max(high, low + 1))
            plt.xticks(ticks, [str(t) for t in ticks])
        self.refresh()

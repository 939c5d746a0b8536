"""Training loss, raw and smoothed, drawn with textual-plotext on a timer (not per line)."""

from __future__ import annotations

from array import array

from textual_plotext import PlotextPlot

MAX_POINTS = 400  # plotted points per series; more cannot be seen in a terminal anyway


def downsample(xs: array, ys: array, limit: int = MAX_POINTS) -> tuple[list, list]:
    n = len(xs)
    if n <= limit:
        return list(xs), list(ys)
    stride = n / limit
    idx = [int(i * stride) for i in range(limit)] + [n - 1]
    return [xs[i] for i in idx], [ys[i] for i in idx]


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
        plt.title("loss")
        plt.xlabel("step")
        if len(self.steps):
            xs, ys = downsample(self.steps, self.raw)
            plt.plot(xs, ys, label="raw", marker="braille", color="gray")
        if len(self.smooth_steps):
            xs, ys = downsample(self.smooth_steps, self.smooth)
            plt.plot(xs, ys, label="smoothed", marker="braille", color="cyan")
        self.refresh()

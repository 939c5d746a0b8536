"""The doctor, live: the catalog's log rules run on the stream as it arrives, and each
finding is an event the moment its rule fires (once per rule and run).

Two kinds of checks share the catalog's codes, messages and fixes:
- text rules (rules/log.toml, and the output-path rules of rules/config.toml for the
  command a log prints) run on a window of the latest lines whenever new lines came;
- step rules read the metric rows: a NaN / inf loss (LG101), a multi-fold rise in
  seconds per step (LG163), a loss flat or rising over a whole epoch (LG168).

A traceback is judged only once the stream went quiet after it (LG139: a run that
printed a harmless traceback and went on is not a crash).
"""

from __future__ import annotations

import math
import time
from collections import deque
from typing import Any

from loratui.doctor.predicates.log import judge_epochs, judge_slowdown
from loratui.doctor.registry import Text
from loratui.i18n import N_
from loratui.watch.progress import iso_seconds, utc_now

WINDOW_LINES = 400
MAX_LINE = 4000
# Rules about the whole log, not a moment of it: they wait for the end, or are step rules.
WHOLE_LOG = ("LG138", "LG163", "LG168")
QUIET_ONLY = ("LG139",)
LIVE_SELECT = ["LG", "CF129", "CF131"]
SPEED_WINDOW = 5.0  # seconds a step-time reading spans at least (the bar's clock ticks in 1 s)
EARLY_READINGS = 20
RECENT_READINGS = 15


def finding_event(diag, rule=None) -> dict[str, Any]:
    """A finding as a stream event: English title, message and fix, and beside them
    `title_zh`, `message_zh`, `fix_zh` when the catalog was loaded in Chinese (the keys the
    doctor's JSON uses); `loratui.watch.shown()` picks the one to display."""
    fix = diag.fix.title if diag.fix is not None else ""
    event = {"type": "finding", "event": "finding", "time": utc_now(), "code": diag.code,
             "severity": diag.severity, "title": rule.title if rule else diag.name,
             "message": diag.message, "fix": fix, "refs": list(diag.refs)}
    if diag.lang:
        local = {"title": diag.local_title or (rule.text("title") if rule else ""),
                 "message": diag.local_message,
                 "fix": diag.fix.local_title if diag.fix is not None else ""}
        event.update({f"{k}_{diag.lang}": v for k, v in local.items() if v})
    return event


class LiveDoctor:
    def __init__(self, name: str, *, overrides: dict[str, Any] | None = None) -> None:
        self.name = name
        self.overrides = overrides or {}
        self.window: deque[str] = deque(maxlen=WINDOW_LINES)
        self.new_lines = 0
        self.fired: set[str] = set()
        self._catalog = None
        self._pending_quiet = False  # lines came that the quiet-only rules have not seen
        self.steps = StepChecks()

    # -- input
    def add_line(self, text: str) -> None:
        self.window.append(text[:MAX_LINE])
        self.new_lines += 1

    def reset(self) -> None:
        """A new run in the same stream: its findings fire again."""
        self.fired.clear()
        self.window.clear()
        self.new_lines = 0
        self.steps = StepChecks()

    # -- checks
    def check_rows(self, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        out = []
        for row in rows:
            for code, hit_vars in self.steps.add(row, self._thresholds):
                event = self._fire_rule(code, hit_vars)
                if event is not None:
                    out.append(event)
        return out

    def check_epoch_means(self, means: list[tuple[Any, float, int]]) -> list[dict[str, Any]]:
        """LG168 on `(epoch, mean loss, steps)` a trainer reports itself (sd-scripts'
        `loss/epoch` scalar)."""
        hit_vars = judge_epochs(means, self._thresholds("LG168"))
        event = self._fire_rule("LG168", hit_vars) if hit_vars is not None else None
        return [event] if event is not None else []

    def check_text(self, *, quiet: bool = False) -> list[dict[str, Any]]:
        """Run the text rules when lines came since the last check (or, once quiet, the
        rules that wait for the stream to stop)."""
        if not self.new_lines and not (quiet and self._pending_quiet):
            return []
        self._pending_quiet = bool(self.new_lines) or (self._pending_quiet and not quiet)
        self.new_lines = 0
        from loratui.doctor.engine import Context, Options, run_rules
        from loratui.doctor.inputs import Input
        from loratui.doctor.inputs.log import LogData
        from loratui.doctor.inputs.paste import attach_command

        data = ("\n".join(self.window) + "\n").encode("utf-8", errors="replace")
        inp = Input(self.name, "log")
        inp.data = LogData(self.name, data)
        try:
            attach_command(inp)
        except Exception:  # an odd command line: the log rules still run
            inp.children = []
        for child in inp.children:
            if child.facts is not None:  # written on this machine now, not a paste from
                child.facts.extra["from_paste"] = False  # another: its paths are checked
        ignore = list(WHOLE_LOG) + ([] if quiet else list(QUIET_ONLY))
        opts = Options(select=LIVE_SELECT, ignore=ignore, overrides=self.overrides,
                       probe_gpu=False)
        out = []
        for diag in run_rules(Context([inp], opts, self.catalog)):
            if diag.code in self.fired or diag.code.startswith("DR"):
                continue
            if diag.code in QUIET_ONLY and diag.severity == "info":
                continue  # a traceback the run went on after: not what it ended on
            self.fired.add(diag.code)
            rule = self.catalog.get(diag.code)
            out.append(finding_event(diag, rule))
        return out

    # -- helpers
    @property
    def catalog(self):
        if self._catalog is None:
            from loratui.doctor.catalog import localized_catalog

            self._catalog = localized_catalog()  # findings carry the current language too
        return self._catalog

    def _thresholds(self, code: str) -> dict[str, Any]:
        from loratui.doctor.catalog import thresholds_for

        rule = self.catalog.get(code)
        return thresholds_for(rule, self.overrides) if rule is not None else {}

    def _fire_rule(self, code: str, hit_vars: dict[str, Any]) -> dict[str, Any] | None:
        if code in self.fired:
            return None
        rule = self.catalog.get(code)
        if rule is None:
            return None
        from loratui.doctor.engine import _to_diagnostic
        from loratui.doctor.inputs import Input
        from loratui.doctor.registry import Hit

        self.fired.add(code)
        diag = _to_diagnostic(rule, self._thresholds(code), Input(self.name, "log"),
                              Hit(hit_vars))
        return finding_event(diag, rule)


def _median(values) -> float:
    ordered = sorted(values)
    return ordered[len(ordered) // 2]


def _finite(value: Any) -> bool:
    return isinstance(value, (int, float)) and math.isfinite(value)


class StepChecks:
    """Rules over metric rows, fed one row at a time (bounded state)."""

    def __init__(self) -> None:
        self.points: deque[tuple[int, float]] = deque(maxlen=1024)  # (step, seconds)
        self.early: list[float] = []
        self.recent: deque[float] = deque(maxlen=RECENT_READINGS)
        self.epoch: Any = None
        self.epoch_losses: list[float] = []
        self.epoch_means: list[tuple[Any, float, int]] = []  # (epoch, mean, steps)
        self.t0 = time.monotonic()

    def add(self, row: dict[str, Any], thresholds):
        yield from self._nan(row)
        yield from self._slowdown(row, thresholds("LG163"))
        yield from self._flat(row, thresholds("LG168"))

    def _nan(self, row):
        for key in ("loss", "loss_avg"):
            value = row.get(key)
            if isinstance(value, float) and not math.isfinite(value):
                step = row.get("step")
                where = Text(N_(" from step {step} of {total}"), step=step,
                             total=row.get("max_steps", "?")) if step else ""
                text = Text(N_("step {step}: average loss = {value}") if key == "loss_avg"
                            else N_("step {step}: loss = {value}"), step=step, value=str(value))
                yield "LG101", {"where": where, "text": text, "count": 1,
                                "value": "NaN" if math.isnan(value) else "inf",
                                "verdict": Text(N_("the LoRA saved after this point is broken"))}
                return

    def _slowdown(self, row, th):
        """Seconds per step, each measured over at least 5 s of the run (the clock the bar
        prints, else the rows' times): the median of the latest 15 against the median of
        the first 20. Medians: a pause for sample images or a checkpoint is no slowdown."""
        step = row.get("step")
        t = row.get("elapsed_s")
        if not isinstance(t, (int, float)):
            t = iso_seconds(row.get("time"))
        if t is None:
            t = time.monotonic() - self.t0
        if not isinstance(step, int):
            return
        self.points.append((step, float(t)))
        base = next(((s, bt) for s, bt in reversed(self.points)
                     if t - bt >= SPEED_WINDOW and step > s), None)
        if base is None:
            return
        spi = (t - base[1]) / (step - base[0])
        if len(self.early) < EARLY_READINGS:
            self.early.append(spi)
            return
        self.recent.append(spi)
        if len(self.recent) < self.recent.maxlen:
            return
        hit_vars = judge_slowdown(_median(self.early), _median(self.recent),
                                  row.get("max_steps"), th)
        if hit_vars is not None:
            yield "LG163", hit_vars

    def _flat(self, row, th):
        """The mean loss of each finished epoch against the one before it."""
        loss = row.get("loss_avg", row.get("loss"))
        epoch = row.get("epoch")
        if epoch is None or not _finite(loss):
            return
        if self.epoch is not None and epoch != self.epoch and self.epoch_losses:
            losses = self.epoch_losses
            self.epoch_means.append((self.epoch, sum(losses) / len(losses), len(losses)))
            self.epoch_losses = []
            hit_vars = judge_epochs(self.epoch_means, th)
            if hit_vars is not None:
                yield "LG168", hit_vars
        self.epoch = epoch
        self.epoch_losses.append(float(loss))

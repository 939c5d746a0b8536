"""Read trainers' console output: tqdm progress updates and epoch lines → metric rows.

tqdm prints `{desc}: {pct}%|{bar}| {n}/{total} [{elapsed}<{remaining}, {rate}{postfix}]`
and rewrites it after a `\\r` on every update. The trainers differ in the bar's name and
postfix (each a `Profile`):

    sd-scripts / kohya_ss  steps:  42%|████▏     | 1260/3000 [12:01<16:34,  1.75it/s, avr_loss=0.0912]
                           epoch 3/10
    OneTrainer             epoch:  20%|██        | 2/10 [01:10<04:40, 35.00s/it]
                           step:  42%|████▏     | 21/50 [00:30<00:41,  1.42it/s, loss=0.0912, smooth loss=0.0934]
    ai-toolkit             my_lora:  12%|█▎  | 240/2000 [02:01<14:30,  2.02it/s, lr: 1.0e-04 loss: 4.123e-01]

OneTrainer's step bar restarts every epoch: its global step is epochs done × the epoch's
length + the bar's count.
"""

from __future__ import annotations

import math
import re
from datetime import datetime, timezone
from typing import Any

# Quantifiers are bounded: an unbounded lazy one makes a search quadratic in the line, and
# a log can hold a 64 kB line (or a 1 GB one) that is not a bar at all.
BAR_RE = re.compile(
    r"(?P<desc>[^|\r\n]{0,200}?)[:\s]*(?P<pct>\d{1,3})%\|(?P<bar>[^|]{0,1000})\|\s*(?P<n>\d+)/"
    r"(?P<total>\d+)"
    r"\s*\[(?P<elapsed>[\d:]+)<(?P<remaining>[\d:?]+)(?:,\s*(?P<rate>[\d.]+|\?)\s*"
    r"(?P<unit>s/it|it/s))?(?:,\s*(?P<postfix>[^\]]*))?\]")
NUMBER = r"[-+]?(?:(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?|nan|NaN|inf|Inf|-inf)"
POSTFIX_RE = re.compile(r"([A-Za-z_][\w/ ]{0,60}?)\s*[=:]\s*(" + NUMBER + r")(?=[,\s]|$)")
EPOCH_RE = re.compile(r"(?:^|[\]\s])(?:epoch|Epoch)\s+(\d+)\s*/\s*(\d+)\s*$")
# A bar's name is the words before its colon: GUIs and loggers put timestamps and
# `[STDERR]` in front of every line (`[08:03:35] [STDERR] steps:  38%|...`).
DESC_RE = re.compile(r"[A-Za-z_][\w .\-]*$")
LOSS_KEYS = ("loss", "current_loss", "loss/current", "step_loss")
AVG_KEYS = ("avr_loss", "smooth loss", "smooth_loss", "loss_avg", "avg_loss", "average_loss",
            "loss/average")
LR_KEYS = ("lr", "lr/unet", "lr_unet", "learning_rate")
LR_TE_KEYS = ("lr/textencoder", "lr_te", "lr/te")


def utc_now() -> str:
    """Now, as the rows' and events' `time`: ISO 8601, UTC, whole seconds."""
    return datetime.now(timezone.utc).replace(microsecond=0).isoformat()


def iso_seconds(value: object) -> float | None:
    """A `time` field (ISO 8601, a trailing `Z` too) as a Unix timestamp; None if it is not one."""
    if not isinstance(value, str):
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None


def _seconds(text: str | None) -> float | None:
    if not text or "?" in text:
        return None
    total = 0.0
    for part in text.split(":"):
        try:
            total = total * 60 + float(part)
        except ValueError:
            return None
    return total


def _number(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        return math.nan


class Update:
    """One tqdm update, parsed."""

    __slots__ = ("desc", "elapsed_s", "eta_s", "n", "postfix", "sec_per_step", "total")

    def __init__(self, m: re.Match) -> None:
        raw = m.group("desc").strip().rstrip(":").strip()
        name = DESC_RE.search(raw)
        self.desc = name.group(0).strip() if name else ""
        self.n = int(m.group("n"))
        self.total = int(m.group("total"))
        self.eta_s = _seconds(m.group("remaining"))
        self.elapsed_s = _seconds(m.group("elapsed"))
        rate = m.group("rate")
        self.sec_per_step: float | None = None
        if rate and rate != "?" and float(rate) > 0:
            self.sec_per_step = float(rate) if m.group("unit") == "s/it" else 1.0 / float(rate)
        self.postfix = {k.strip().lower(): _number(v)
                        for k, v in POSTFIX_RE.findall(m.group("postfix") or "")}

    def first(self, keys: tuple[str, ...]) -> float | None:
        for k in keys:
            if k in self.postfix:
                return self.postfix[k]
        return None

    @property
    def has_loss(self) -> bool:
        return self.first(LOSS_KEYS + AVG_KEYS) is not None


BAR_BEFORE, BAR_AFTER = 256, 4096


def parse_update(text: str) -> Update | None:
    at = text.rfind("%|")
    if at < 0:
        return None
    if len(text) > BAR_BEFORE + BAR_AFTER:      # a long line: only the newest bar in it
        text = text[max(0, at - BAR_BEFORE):at + BAR_AFTER]
    m = BAR_RE.search(text)
    return Update(m) if m else None


class Profile:
    """How one trainer's console shows training: which bar counts optimiser steps, and
    how its count becomes the run's global step."""

    name = "unknown"
    step_bars: tuple[str, ...] = ("steps",)
    epoch_bars: tuple[str, ...] = ("epoch", "epochs")
    per_epoch_steps = False  # the step bar restarts each epoch (OneTrainer)

    def is_step_bar(self, u: Update) -> bool:
        return u.desc.lower() in self.step_bars or u.has_loss


class SdScripts(Profile):
    name = "sd-scripts"


class KohyaSS(SdScripts):
    name = "kohya_ss"


class OneTrainer(Profile):
    name = "onetrainer"
    step_bars = ("step",)
    per_epoch_steps = True


class AiToolkit(Profile):
    name = "ai-toolkit"  # the bar is named after the job; its postfix has `lr:` and `loss:`


class Generic(Profile):
    step_bars = ("steps", "step", "training", "train")


PROFILES: dict[str, Profile] = {p.name: p for p in
                                (SdScripts(), KohyaSS(), OneTrainer(), AiToolkit())}
GENERIC = Generic()

# What a trainer prints early: its name in the banner, its scripts, its module paths.
SIGNS: tuple[tuple[str, re.Pattern], ...] = (
    ("onetrainer", re.compile(r"OneTrainer|modules[\\/]trainer[\\/]GenericTrainer|"
                              r"^step:\s+\d+%\|", re.M)),
    ("ai-toolkit", re.compile(r"ai-toolkit|toolkit[\\/]|run\.py\s+config|jobs[\\/]process|"
                              r"Running\s+\d+\s+process|lr: [\d.e+-]+ loss: ")),
    ("kohya_ss", re.compile(r"kohya_gui|kohya_ss|Executing command:.*accelerate")),
    ("sd-scripts", re.compile(r"train_network\.py|sdxl_train|flux_train|sd3_train|"
                              r"library\.train_util|avr_loss=|^steps:\s+\d+%\|", re.M)),
)


def guess_trainer(text: str) -> str | None:
    for name, pattern in SIGNS:
        if pattern.search(text):
            return name
    return None


class ProgressReader:
    """Turns segments into metric rows (one per new optimiser step) and notes."""

    def __init__(self, profile: Profile | None = None) -> None:
        self.profile = profile or GENERIC
        self.step = 0
        self.max_steps: int | None = None
        self.epoch: int | None = None
        self.epochs: int | None = None
        self._epochs_done = 0  # OneTrainer's epoch bar count
        self.bar_desc: str | None = None  # the name of the bar that showed a loss
        self.restarted = False  # set when the step went back: a new run in the same log

    def set_profile(self, profile: Profile) -> None:
        self.profile = profile

    def feed(self, text: str) -> dict[str, Any] | None:
        """A metric row when `text` moved the run to a new step, else None."""
        m = EPOCH_RE.search(text)
        if m:
            self.epoch, self.epochs = int(m.group(1)), int(m.group(2))
            return None
        u = parse_update(text)
        if u is None:
            return None
        desc = u.desc.lower()
        if desc in self.profile.epoch_bars:
            self._epochs_done, self.epochs = u.n, u.total
            self.epoch = min(u.n + 1, u.total)
            return None
        if self.bar_desc is not None and u.desc != self.bar_desc \
                and desc not in self.profile.step_bars:
            return None  # another bar (sampling, caching) while the run's bar is known
        if not self.profile.is_step_bar(u):
            return None
        if u.has_loss:
            self.bar_desc = u.desc  # the run's step bar, from now on
        if self.profile.per_epoch_steps:
            step, max_steps = self._epochs_done * u.total + u.n, (self.epochs or 1) * u.total
        else:
            step, max_steps = u.n, u.total
        if step < self.step:
            if not (step <= 1 or max_steps != self.max_steps or step < self.step // 2):
                return None  # an update printed late; the run is further on
            self.restarted = True  # a new run in the same log: counting starts again
            self.step = -1
        self.max_steps = max_steps
        if step == self.step or (step == 0 and not u.has_loss):
            return None  # a refresh of the same step, or the bar before the first step
        self.step = step
        row: dict[str, Any] = {"step": step, "max_steps": max_steps}
        if self.epoch is not None:
            row["epoch"] = self.epoch
        loss, avg = u.first(LOSS_KEYS), u.first(AVG_KEYS)
        if loss is not None:
            row["loss"] = loss
        if avg is not None:
            row["loss_avg"] = avg
        lr, lr_te = u.first(LR_KEYS), u.first(LR_TE_KEYS)
        if lr is not None:
            row["lr_unet"] = lr
        if lr_te is not None:
            row["lr_te"] = lr_te
        if u.sec_per_step is not None:
            row["sec_per_step"] = round(u.sec_per_step, 4)
        if u.eta_s is not None:
            row["eta_s"] = u.eta_s
        if u.elapsed_s is not None:
            row["elapsed_s"] = u.elapsed_s  # the bar's clock: step times without jitter
        row["time"] = utc_now()
        return row

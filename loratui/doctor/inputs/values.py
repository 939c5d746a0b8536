"""Invalid config values: what `loratui config check` rejects, found without pydantic.

`check_values(facts, flat)` runs after a config is read. A value that is the wrong type, not
a number (NaN, inf), out of its range, off its step, not one of its choices or not matching
its pattern is recorded in `facts.extra["invalid"]` (reported once, by rule CF144) and made
*unknown* in the facts, so no other rule reasons about it: a NaN learning rate is one
finding, not "too high" and "too low" besides.

loratui.toml is checked against the run config's own constraints (`CONSTRAINTS`). Other
trainers' configs take larger ranges than ours, so only what no trainer accepts is checked
there: numbers that are not numbers, negative sizes and rates, a zero or negative resolution.
"""

from __future__ import annotations

import math
import re

from loratui.doctor.facts import LORATUI_KEYS, LORATUI_MAP
from loratui.doctor.registry import Text
from loratui.i18n import N_

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from loratui.doctor.facts import ConfigFacts

_TRUE_FALSE = ("true", "false", "yes", "no", "on", "off", "1", "0")


class Invalid:
    """One rejected value: `key` is the facts key (canonical where there is one)."""

    __slots__ = ("key", "pitfalls", "problem", "shown", "value")

    def __init__(self, key: str, shown: str, value: Any, problem: Text,
                 pitfalls: list[str] | tuple[str, ...] = ()) -> None:
        self.key = key
        self.shown = shown
        self.value = value
        self.problem = problem
        self.pitfalls = tuple(pitfalls)


def _number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    try:
        if isinstance(value, (int, float)):
            return float(value)
        if isinstance(value, str):
            return float(value.strip())
    except ValueError:
        return None
    except OverflowError:  # an integer with hundreds of digits
        return math.inf if not str(value).lstrip().startswith("-") else -math.inf
    return None


def _fmt(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else f"{x:g}"


def problem_of(kind: str, bounds: dict[str, Any], choices: list[Any], value: Any) -> Text | None:
    """Why `value` is not valid for a field of this type, bounds and choices (None: valid).
    Mirrors pydantic's lax mode, which `config check` uses."""
    if kind == "float | None" and value is None:
        return None
    if kind == "bool":
        if isinstance(value, bool) or (isinstance(value, str) and
                                       value.strip().lower() in _TRUE_FALSE):
            return None
        if isinstance(value, int) and value in (0, 1):
            return None
        return Text(N_("must be true or false"))
    if kind == "choice":
        if value in choices:
            return None
        return Text(N_("must be one of {choices}"), choices=", ".join(str(c) for c in choices))
    if kind == "str":
        if not isinstance(value, str):
            return Text(N_("must be a string (in quotes)"))
        pattern = bounds.get("pattern")
        if pattern and not re.search(pattern, value):
            return Text(N_("must not contain / \\ : * ? \" < > |")) if "<>" in pattern else \
                Text(N_("must match `{pattern}`"), pattern=pattern)
        return None
    if kind in ("list", "dict"):
        expected = list if kind == "list" else dict
        return None if isinstance(value, expected) else Text(N_("must be a {kind}"), kind=kind)
    if kind not in ("int", "float", "float | None"):
        return None
    number = _number(value)
    if number is None:
        return Text(N_("must be a number"))
    if math.isnan(number):
        return Text(N_("is not a number (NaN)"))
    if math.isinf(number):
        return Text(N_("is infinite"))
    if kind == "int" and not number.is_integer():
        return Text(N_("must be a whole number"))
    return bounds_problem(number, bounds)


def bounds_problem(number: float, bounds: dict[str, Any]) -> Text | None:
    if "ge" in bounds and number < bounds["ge"]:
        return Text(N_("must be at least {bound}"), bound=_fmt(bounds["ge"]))
    if "gt" in bounds and number <= bounds["gt"]:
        return Text(N_("must be more than {bound}"), bound=_fmt(bounds["gt"]))
    if "le" in bounds and number > bounds["le"]:
        return Text(N_("must be at most {bound}"), bound=_fmt(bounds["le"]))
    if "lt" in bounds and number >= bounds["lt"]:
        return Text(N_("must be less than {bound}"), bound=_fmt(bounds["lt"]))
    step = bounds.get("multiple_of")
    if step and number % step:
        return Text(N_("must be a multiple of {step}"), step=_fmt(step))
    return None


def _forget(facts: ConfigFacts, canon: str) -> None:
    """The value is invalid: nothing about it is known (no default stands in for it)."""
    facts.values[canon] = None
    facts.defaults[canon] = None


def check_loratui(facts: ConfigFacts, flat: dict[str, Any]) -> None:
    from loratui.doctor.config_defaults import CONSTRAINTS

    found: list[Invalid] = []
    for dotted, value in flat.items():
        spec = CONSTRAINTS.get(dotted)
        if spec is None:
            continue  # an unknown key: rule CF139
        kind, bounds, choices, pitfalls = spec
        problem = problem_of(kind, bounds, choices, value)
        if problem is None:
            continue
        canon = LORATUI_MAP.get(dotted)
        if canon:
            _forget(facts, canon)
        found.append(Invalid(canon or dotted, dotted, value, problem, pitfalls))
    facts.extra["invalid"] = found


# Canonical keys of other trainers' configs: what no trainer accepts.
_NON_NEGATIVE = ("network_dim", "network_alpha", "learning_rate", "unet_lr", "text_encoder_lr",
                 "train_batch_size", "gradient_accumulation_steps", "max_train_epochs",
                 "max_train_steps", "num_repeats", "noise_offset", "caption_dropout_rate",
                 "network_dropout", "prior_loss_weight", "max_grad_norm", "lr_warmup_steps",
                 "save_every_n_epochs", "keep_tokens", "conv_dim", "conv_alpha",
                 "min_snr_gamma", "weight_decay")


def check_other(facts: ConfigFacts) -> None:
    found: list[Invalid] = []
    for canon, value in list(facts.values.items()):
        raw = facts.raw.get(canon, value)
        shown = facts.display_key(canon)
        if canon == "resolution" and raw is not None:
            nums = [int(n) for n in re.findall(r"-?\d+", str(raw))[:2]] \
                if not isinstance(raw, (list, tuple)) else \
                [int(n) for n in raw if isinstance(n, (int, float)) and not isinstance(n, bool)]
            if any(n <= 0 for n in nums):
                found.append(Invalid(canon, shown, raw, Text(N_("must be a positive size in pixels")),
                                     ("P3",)))
                _forget(facts, canon)
            continue
        if value is None or isinstance(value, bool) or not isinstance(value, (int, float)):
            continue
        problem = None
        if math.isnan(value):
            problem = Text(N_("is not a number (NaN)"))
        elif math.isinf(value):
            problem = Text(N_("is infinite"))
        elif value < 0 and canon in _NON_NEGATIVE:
            problem = Text(N_("must not be negative"))
        if problem:
            dotted = LORATUI_KEYS.get(canon, "")
            from loratui.doctor.config_defaults import CONSTRAINTS

            pitfalls = CONSTRAINTS.get(dotted, ((), (), (), ()))[3]
            found.append(Invalid(canon, shown, raw, problem, pitfalls))
            _forget(facts, canon)
    facts.extra["invalid"] = found

"""Turn a failure into what the user reads: which step to fix, or that it is a bug.

Two kinds of failure reach the wizard:
- a problem with the user's input or machine: an error the core raises on purpose
  (ConfigError, PreflightError, DeployError …, all defined in loratui), or an OSError
  naming a file. The dialog says what to fix and on which step. No bug report.
- anything else is a fault in loratui: its traceback goes to `.loratui/errors.log`,
  and the dialog says so.
"""

from __future__ import annotations

import errno
import re
import traceback
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from pathlib import Path

from loratui.i18n import N_, _, error_text
from loratui.ui.widgets.steps import step_label

# Config keys that are set on a step other than Parameters.
KEY_STEPS = {"model.base": "start", "dataset.dir": "dataset", "dataset.trigger_word": "trigger"}
KEY_FIELDS = {"model.base": N_("Base model"), "dataset.dir": N_("Images folder"),
              "dataset.trigger_word": N_("Trigger word")}


@dataclass(frozen=True)
class Failure:
    title: str
    message: str
    hint: str
    bug: bool


@lru_cache(maxsize=1)
def _key_pattern() -> re.Pattern[str]:
    from loratui.config import field_docs

    keys = sorted((row["key"] for row in field_docs()), key=len, reverse=True)
    return re.compile(r"(?<![\w.])(" + "|".join(re.escape(k) for k in keys) + r")(?![\w])")


def step_of_key(key: str) -> str:
    """The wizard step where a config key is edited (its label, translated)."""
    return step_label(KEY_STEPS.get(key, "parameters"))


def where_to_fix(key: str) -> str:
    step = step_of_key(key)
    field = _(KEY_FIELDS[key]) if key in KEY_FIELDS else key
    return _("the {step} step ({field})").format(step=step, field=field)


def keys_in(text: str) -> list[str]:
    """The config keys a message names, in order, once each."""
    seen: list[str] = []
    for match in _key_pattern().finditer(text):
        if match.group(1) not in seen:
            seen.append(match.group(1))
    return seen


def fix_hint(text: str) -> str:
    """'Fix it on the Start step (Base model)…' for the keys a message names."""
    keys = keys_in(text)
    if not keys:
        return ""
    places = []
    for key in keys:
        place = where_to_fix(key)
        if place not in places:
            places.append(place)
    return _("Fix it on {places}, then try again.").format(places=_(" and on ").join(places))


def is_users_problem(err: BaseException) -> bool:
    """An error raised on purpose with a message for the user (not a fault in loratui)."""
    if isinstance(err, (OSError, MemoryError)):
        return True
    module = type(err).__module__
    return module == "loratui" or module.startswith("loratui.")


def _os_message(err: OSError) -> tuple[str, str]:
    name = err.filename  # an atomic write names its target, not its temporary twin
    reason = err.strerror or str(err)
    message = f"{name}: {reason}" if name else str(err)
    if isinstance(err, FileNotFoundError):
        return message, _("The file or folder is not there: check the path (absolute paths "
                          "are safest, P34), or create it.")
    if isinstance(err, PermissionError):
        return message, _("This user may not read or write it: fix its permissions "
                          "(chmod / chown) or pick a folder you own.")
    if err.errno == errno.ENOSPC:
        return message, _("The disk is full: free some space, or set output.dir to another "
                          "disk on the Parameters step.")
    if isinstance(err, IsADirectoryError | NotADirectoryError):
        return message, _("A folder was expected where there is a file, or the reverse.")
    return message, _("Check the file named above.")


def describe(what: str, err: BaseException) -> Failure:
    """The dialog for `err`, raised while doing `what` ("Dataset scan")."""
    if not is_users_problem(err):
        return Failure(_("{what} failed: this is a bug in loratui").format(what=_(what)),
                       f"{type(err).__name__}: {err}",
                       _("It is not something you did wrong."), bug=True)
    if isinstance(err, OSError):
        message, hint = _os_message(err)
    elif isinstance(err, MemoryError):
        message, hint = _("out of memory"), _("Pick a smaller preset on the Parameters step "
                                              "(P12).")
    else:
        message = error_text(err)
        hint = fix_hint(message)
    return Failure(_("{what} failed").format(what=_(what)), message, hint, bug=False)


def write_log(project: Path, what: str, err: BaseException) -> Path | None:
    """Append the traceback to the project's .loratui/errors.log (None if it cannot)."""
    try:
        log = project / ".loratui" / "errors.log"
        log.parent.mkdir(parents=True, exist_ok=True)
        with log.open("a", encoding="utf-8") as fh:
            fh.write(f"--- {datetime.now().isoformat(timespec='seconds')} {what}\n")
            fh.write("".join(traceback.format_exception(err)))
        return log
    except OSError:
        return None

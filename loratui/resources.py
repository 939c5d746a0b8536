"""Find the data folders (`rules/`, `presets/`, `data/`) in a checkout or an installed wheel.

In a wheel they are shipped as `loratui/_data/<name>`; in a checkout (or an editable
install) they sit at the repository's top level, beside the package. `data_path` works with
os.path only (no pathlib: the doctor's start-up budget); `data_dir` is its `Path` form.
"""

from __future__ import annotations

import os

TYPE_CHECKING = False  # not `typing.TYPE_CHECKING`: typing is not imported at start-up
if TYPE_CHECKING:
    from pathlib import Path

_PACKAGE = os.path.dirname(os.path.realpath(__file__))


def data_path(name: str) -> str:
    """Path of the shipped data folder `name` (e.g. "rules", "data"), as a string."""
    for candidate in (os.path.join(_PACKAGE, "_data", name),
                      os.path.join(os.path.dirname(_PACKAGE), name)):
        if os.path.isdir(candidate):
            return candidate
    raise FileNotFoundError(
        f"loratui data folder {name!r} not found next to {_PACKAGE}; reinstall loratui"
    )


def data_dir(name: str) -> Path:
    """Path of the shipped data folder `name` (e.g. "rules", "presets")."""
    from pathlib import Path

    return Path(data_path(name))


def rules_dir() -> Path:
    return data_dir("rules")


def presets_dir() -> Path:
    return data_dir("presets")

"""Find the data folders (`rules/`, `presets/`, `data/`) in a checkout or an installed wheel.

In a wheel they are shipped as `loratui/_data/<name>`; in a checkout (or an editable
install) they sit at the repository's top level, beside the package.
"""

from __future__ import annotations

from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent


def data_dir(name: str) -> Path:
    """Path of the shipped data folder `name` (e.g. "rules", "presets")."""
    for candidate in (_PACKAGE / "_data" / name, _PACKAGE.parent / name):
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError(
        f"loratui data folder {name!r} not found next to {_PACKAGE}; reinstall loratui"
    )


def rules_dir() -> Path:
    return data_dir("rules")


def presets_dir() -> Path:
    return data_dir("presets")

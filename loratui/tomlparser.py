"""The TOML parser the doctor's start-up path uses.

tomli when it is installed (a dependency: its mypyc-compiled wheels import and parse in about
half the time of the standard library's pure-Python copy of the same parser, and a TOML
config's doctor run has a start-up budget of 2× `python -c "import rich"`), else tomllib.
Both raise `TOMLDecodeError`, a ValueError, with the same "(at line N, column M)" text.
"""

from __future__ import annotations


def parser():
    """The `tomllib`-compatible module: `loads`, `load`, `TOMLDecodeError`."""
    try:
        import tomli as toml
    except ModuleNotFoundError:  # not installed (an old environment): the standard library
        import tomllib as toml  # type: ignore[no-redef]
    return toml


def loads(text: str) -> dict:
    return parser().loads(text)

"""The core must never pull in the UI: importing it in a fresh interpreter loads no textual."""

from __future__ import annotations

import importlib.util
import subprocess
import sys

import pytest

CORE_MODULES = [
    "loratui.config", "loratui.presets", "loratui.vram", "loratui.gpu", "loratui.resources",
    "loratui.cli",
    # The other areas' packages, checked as soon as they exist in this checkout.
    "loratui.dataset", "loratui.doctor", "loratui.train", "loratui.tiny",
]


@pytest.mark.parametrize("module", CORE_MODULES)
def test_core_module_does_not_import_textual(module: str) -> None:
    if importlib.util.find_spec(module) is None:
        pytest.skip(f"{module} is not in this checkout yet")
    code = (f"import sys, {module}; "
            "bad = sorted(m for m in sys.modules if m.split('.')[0] in "
            "('textual', 'textual_plotext', 'loratui.ui') or m.startswith('loratui.ui'));"
            "print(','.join(bad))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout.strip()
    assert out == "", f"importing {module} pulled in UI modules: {out}"


def test_wizard_package_import_is_lazy() -> None:
    """`import loratui.ui` alone must not start Textual (the CLI imports it only to run it)."""
    code = "import sys, loratui.ui; print('textual' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout.strip()
    assert out == "False"

"""The core must never pull in the UI: importing it in a fresh interpreter loads no textual."""

from __future__ import annotations

import importlib.util
import subprocess
import sys

CORE_MODULES = [
    "loratui.config", "loratui.presets", "loratui.vram", "loratui.gpu", "loratui.resources",
    "loratui.cli", "loratui.basemodel", "loratui.deploy", "loratui.gpustats",
    # The other areas' packages, checked as soon as they exist in this checkout.
    "loratui.dataset", "loratui.dataset.prepare", "loratui.dataset.edit",
    "loratui.dataset.models", "loratui.doctor.engine", "loratui.doctor.fixer",
    "loratui.lora", "loratui.runs", "loratui.train", "loratui.train.launch", "loratui.tiny",
    "loratui.demo",
]


CHECK = ("import sys, {module}; "
         "print(','.join(sorted(m for m in sys.modules "
         "if m.split('.')[0] in ('textual', 'textual_plotext', 'textual_image') "
         "or m.startswith('loratui.ui'))))")


def test_core_modules_do_not_import_textual() -> None:
    """Each core module imported alone, in its own interpreter (all started at once)."""
    present = [m for m in CORE_MODULES if importlib.util.find_spec(m) is not None]
    assert "loratui.config" in present
    procs = {m: subprocess.Popen([sys.executable, "-c", CHECK.format(module=m)],
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for m in present}
    leaks = {}
    for module, proc in procs.items():
        out, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, f"importing {module} failed:\n{err}"
        if out.strip():
            leaks[module] = out.strip()
    assert not leaks, f"core modules pulled in UI modules: {leaks}"


def test_wizard_package_import_is_lazy() -> None:
    """`import loratui.ui` alone must not start Textual (the CLI imports it only to run it)."""
    code = "import sys, loratui.ui; print('textual' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout.strip()
    assert out == "False"

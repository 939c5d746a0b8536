"""README's two commands, CI's use of them, and the wheel shipping rules/ and presets/."""

import importlib.util
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _readme_command():
    spec = importlib.util.spec_from_file_location("readme_command", ROOT / ".ci" / "readme_command.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod.command


def test_readme_has_the_two_commands_with_torch_first():
    command = _readme_command()
    for name in ("demo", "test"):
        cmd = command(name)
        assert "python3 -m venv" in cmd
        assert cmd.index("pip install torch==2.13.0") < cmd.index("pip install -e")
    assert "pytest" in command("test")


def test_ci_runs_the_readme_test_command():
    ci = (ROOT / ".ci" / "run").read_text()
    assert "readme_command.py test" in ci and "README" in ci
    assert "rm -rf .venv" in ci  # fresh virtual environment


@pytest.mark.slow
def test_wheel_ships_rules_and_presets(tmp_path):
    dist = tmp_path / "dist"
    r = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation",
                        "-w", dist, ROOT], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr[-3000:]
    wheel = next(dist.glob("loratui-*.whl"))
    names = zipfile.ZipFile(wheel).namelist()
    assert any(n.startswith("loratui/_data/presets/") and n.endswith(".toml") for n in names)
    assert any(n.startswith("loratui/_data/rules/") for n in names)
    # Install the wheel on its own and use it from a folder outside the checkout.
    target = tmp_path / "site"
    r = subprocess.run([sys.executable, "-m", "pip", "install", "--no-deps", "--no-index",
                        "--target", target, wheel], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr[-3000:]
    code = ("import sys; sys.path.insert(0, %r)\n"
            "import loratui, loratui.resources as r, loratui.presets as p\n"
            "assert loratui.__file__.startswith(%r), loratui.__file__\n"
            "print(r.presets_dir()); print(r.rules_dir()); print(len(p.load_presets()))"
            % (str(target), str(target)))
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    r = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env=env,
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    presets_dir, rules_dir, count = r.stdout.split()
    assert presets_dir.startswith(str(target)) and "_data" in presets_dir
    assert rules_dir.startswith(str(target))
    assert int(count) >= 15

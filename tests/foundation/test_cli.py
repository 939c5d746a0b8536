"""The real `loratui` command in a subprocess: exit codes, output, nothing heavy imported."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import tomllib

KOHYA = Path(__file__).resolve().parents[1] / "fixtures" / "kohya_ss_presets"
HEAVY = ("torch", "diffusers", "peft", "transformers", "textual", "accelerate", "tensorboard")


def loratui(*args, cwd=None, env=None):
    full_env = {**os.environ, "LORATUI_FAKE_GPU": "", **(env or {})}
    return subprocess.run([sys.executable, "-m", "loratui", *map(str, args)], cwd=cwd,
                          env=full_env, capture_output=True, text=True, timeout=60)


def test_help_lists_commands_and_examples():
    r = loratui("--help")
    assert r.returncode == 0
    assert "presets" in r.stdout and "config" in r.stdout and "examples:" in r.stdout


def test_version():
    from loratui import __version__

    r = loratui("--version")
    assert r.returncode == 0 and __version__ in r.stdout


def test_every_subcommand_has_help_with_examples():
    for cmd in (["presets"], ["config"], ["config", "import"]):
        r = loratui(*cmd, "--help")
        assert r.returncode == 0, cmd
        assert "usage: loratui" in r.stdout
    assert "examples:" in loratui("presets", "--help").stdout


def test_presets_json():
    r = loratui("presets", "--gpu", "8GB", "--kind", "style", "--json")
    assert r.returncode == 0, r.stderr
    data = json.loads(r.stdout)
    assert data["recommended"] == "sd15-8gb-style"
    assert data["presets"][0]["config"]["training"]["gradient_accumulation"] == 4


def test_presets_table_and_bad_size():
    r = loratui("presets", "--gpu", "24GB")
    assert r.returncode == 0 and "sd15-24gb-character" in r.stdout and "VRAM estimate" in r.stdout
    bad = loratui("presets", "--gpu", "huge")
    assert bad.returncode == 2 and "8GB" in bad.stderr


def test_presets_write_then_check(tmp_path):
    target = tmp_path / "loratui.toml"
    assert loratui("presets", "--gpu", "12GB", "--write", target).returncode == 0
    data = tomllib.loads(target.read_text())
    assert data["training"]["batch_size"] == 2
    ok = loratui("config", "check", target)
    assert ok.returncode == 0 and ok.stdout.strip() == f"{target}: ok"  # the verdict: stdout


def test_config_check_reports_bad_value(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text("[network]\nrank = -3\n")
    r = loratui("config", "check", bad)
    assert r.returncode == 1
    assert "network.rank" in r.stdout and "-3" in r.stdout and "Traceback" not in r.stderr


def test_config_import_lists_unmapped_keys(tmp_path):
    out = tmp_path / "l.toml"
    r = loratui("config", "import", KOHYA / "sd15 - EDG_LoraOptiSettings.json", "-o", out)
    assert r.returncode == 0, r.stderr
    assert "clip_skip" in r.stderr and "no loratui equivalent" in r.stderr
    assert tomllib.loads(out.read_text())["network"]["rank"] == 64
    again = loratui("config", "import", KOHYA / "ia3-sd15.json", "-o", out)
    assert again.returncode == 2 and "--force" in again.stderr


def test_config_import_force_replaces_the_file_and_keeps_the_old_one(tmp_path):
    """--force wrote the import into the old file: its keys stayed beside the new ones."""
    out = tmp_path / "l.toml"
    out.write_text('foo = 1\n[network]\nbogus = 2\nrank = 4\n')
    r = loratui("config", "import", KOHYA / "sd15 - EDG_LoraOptiSettings.json", "-o", out,
                "--force")
    assert r.returncode == 0, r.stderr
    written = tomllib.loads(out.read_text())
    assert "foo" not in written and "bogus" not in written["network"]
    assert written["network"]["rank"] == 64
    backups = list(tmp_path.glob("l.toml.*.bak"))
    assert len(backups) == 1 and "bogus = 2" in backups[0].read_text()
    assert backups[0].name in r.stderr


def test_config_export(tmp_path):
    cfg = tmp_path / "loratui.toml"
    cfg.write_text('[dataset]\ndir = "imgs"\n')
    r = loratui("config", "export", cfg, "--out", tmp_path / "kohya")
    assert r.returncode == 0, r.stderr
    dataset = tomllib.loads((tmp_path / "kohya" / "dataset.toml").read_text())
    assert dataset["datasets"][0]["subsets"][0]["image_dir"] == str(tmp_path / "imgs")


@pytest.mark.parametrize("args", [["--help"], ["presets", "--gpu", "auto"],
                                  ["config", "fields", "--markdown"], ["watch", "--help"]])
def test_cheap_commands_import_nothing_heavy(args):
    code = ("import sys, runpy; sys.argv = ['loratui', *%r]\n"
            "try:\n    runpy.run_module('loratui', run_name='__main__')\n"
            "except SystemExit:\n    pass\n"
            "heavy = [m for m in %r if m in sys.modules]\n"
            "print('HEAVY:', heavy, file=sys.stderr)" % (args, HEAVY))
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert "HEAVY: []" in r.stderr, r.stderr[-2000:]


def test_every_command_has_a_fast_parser():
    """Each subcommand must be reachable through the single-module parser (COMMAND_ALIASES)."""
    import argparse

    from loratui.cli import _command_parser, build_parser

    sub = next(a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction))
    for name in sub.choices:
        assert _command_parser([name]) is not None, f"add {name!r} to COMMAND_ALIASES"


def test_help_stays_lean():
    """`loratui --help` has a budget of 2x `import rich` (bench/startup.py): command modules'
    top levels import argparse/stdlib basics only (pathlib alone costs ~6 ms, typing ~5:
    `TYPE_CHECKING = False` instead of importing it)."""
    code = ("import sys, runpy; sys.argv = ['loratui', '--help']\n"
            "try:\n    runpy.run_module('loratui', run_name='__main__')\n"
            "except SystemExit:\n    pass\n"
            "print('LOADED:', sorted(m for m in ('pathlib', 'json', 'rich', 'pydantic', "
            "'tomllib', 'tomlkit', 'typing') if m in sys.modules), file=sys.stderr)")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert "LOADED: []" in r.stderr, r.stderr[-2000:]


def test_every_command_help_has_examples():
    import argparse

    from loratui.cli import build_parser

    def walk(parser, path):
        subs = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
        if path:
            assert parser.epilog and "example" in parser.epilog, " ".join(path)
        for name, child in (subs[0].choices.items() if subs else ()):
            walk(child, [*path, name])

    walk(build_parser(), [])


def test_top_level_help_from_the_summary_parser_is_the_full_one(capsys):
    """`loratui --help` registers only names and helps (start-up time): same text."""
    from loratui.cli import build_parser, main

    texts = []
    for run in (lambda: main(["--help"]), lambda: build_parser().parse_args(["--help"])):
        with pytest.raises(SystemExit):
            run()
        texts.append(capsys.readouterr().out)
    assert texts[0] == texts[1] and "attach" in texts[0] and "wizard" in texts[0]

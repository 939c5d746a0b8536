"""The command line's width and colour in other people's terminals: COLUMNS 40/80/200,
Chinese lines that fit the width, no escape codes in a file, on TERM=dumb or for NO_COLOR
colours, no 256 colours on an 8-colour xterm."""

from __future__ import annotations

import re

import pytest

from loratui.cjk import NO_LINE_START, cells, wrap
from tests.terminal_run import run_on_tty, run_piped, sample_project

ESCAPE = re.compile(rb"\x1b\[[0-9;?]*[A-Za-z]")
COLOUR = re.compile(rb"\x1b\[(?:[0-9;]*;)?(?:3[0-9]|4[0-9]|9[0-7]|10[0-7])[;m]")
PARAGRAPH = ("没有设置触发词：“训练时没加触发词？完蛋！模型根本认不出你的LoRA”；用独有前缀，比如 "
             "hanfu_girl_，然后放在每个标注的最前面。rank（network_dim）超过上限时报出：SD1.5 为 "
             "16，SDXL 为 64（按配置显示的家族判断：没写家族时按 SD1.5）。")


@pytest.fixture(scope="module")
def config(tmp_path_factory):
    """A config without a trigger word (its finding quotes the guide in Chinese)."""
    path = tmp_path_factory.mktemp("width") / "loratui.toml"
    r = run_piped("presets", "--gpu", "8GB", "--write", str(path))
    assert r.returncode == 0, r.stderr
    return path


@pytest.mark.parametrize("lang", [(), ("--lang", "zh")], ids=["en", "zh"])
def test_lora_inspect_fits_40_columns(tmp_path, lang):
    """Before, its lines kept their full length (65 columns at COLUMNS=40)."""
    project = sample_project(tmp_path)
    r = run_piped(*lang, "lora", "inspect", "my_lora.safetensors", cwd=project,
                  COLUMNS="40", LANG="C.UTF-8")
    assert r.returncode == 0, r.stderr
    assert long_lines(r.stdout, 40) == []


def long_lines(output: bytes, width: int) -> list[str]:
    """Lines wider than `width` that could have been broken (a word of its own is not)."""
    text = ESCAPE.sub(b"", output).decode().replace("\r", "")
    return [line for line in text.split("\n")
            if cells(line) > width and len(line.split()) > 1]


@pytest.mark.parametrize("width", range(8, 61, 2))
def test_chinese_wraps_within_the_width_without_a_line_opening_on_a_closing_mark(width):
    lines = wrap(PARAGRAPH, width)
    assert "".join(lines).replace(" ", "") == PARAGRAPH.replace(" ", "")
    assert all(line[0] not in NO_LINE_START for line in lines[1:]), lines
    # only a word with its brackets and marks, which has no place to break, may be wider
    over = [line for line in lines if cells(line) > width]
    assert all(" " not in line and not re.search("[\u4e00-\u9fff]", line) for line in over), over


@pytest.mark.parametrize("columns", [40, 80])
def test_doctor_in_chinese_fits_columns(config, columns):
    """Before, a closing mark (，：”) hung one column past the width: 82-column lines on
    an 80-column terminal, which it wraps again (a lone mark on a line)."""
    r = run_piped("--lang", "zh", "doctor", str(config), COLUMNS=str(columns),
                  LANG="C.UTF-8")
    assert r.returncode == 0, r.stderr                # warnings only
    assert "触发词" in r.stdout.decode()
    assert long_lines(r.stdout, columns) == []


@pytest.mark.parametrize("columns", [40, 200])
def test_width_follows_columns_when_piped(config, columns):
    r = run_piped("presets", "--gpu", "8GB", COLUMNS=str(columns))
    widths = [cells(line) for line in r.stdout.decode().splitlines()]
    assert max(widths) == columns if columns < 100 else max(widths) <= columns
    assert long_lines(r.stdout, columns) == []


def test_a_file_gets_no_escape_codes_and_80_columns(config):
    for argv in (("doctor", str(config)), ("presets", "--gpu", "8GB")):
        r = run_piped(*argv)                       # TERM=xterm-256color, no COLUMNS
        assert not ESCAPE.search(r.stdout + r.stderr)
        assert max(cells(line) for line in r.stdout.decode().splitlines()) <= 80


@pytest.mark.parametrize(("env", "allowed"), [
    ({"TERM": "dumb"}, None),                    # no escape codes at all
    ({"NO_COLOR": "1"}, "no colour"),            # bold and dim stay, colours go
    ({"TERM": "xterm"}, "8 colours"),            # no 256 or true colours
    ({"TERM": None}, "any"),                     # ssh -T with a pty: TERM unset
])
def test_terminal_kinds(config, env, allowed):
    for argv in (("doctor", str(config)), ("presets", "--gpu", "8GB")):
        code, out = run_on_tty(*argv, **env)
        assert code in (0, 1) and b"Traceback" not in out
        if allowed is None:
            assert not ESCAPE.search(out), out[:200]
        elif allowed == "no colour":
            assert not COLOUR.search(out)
        elif allowed == "8 colours":
            assert not re.search(rb"\x1b\[[0-9;]*[34]8;[25];", out)


def test_force_color_colours_a_pipe(config):
    r = run_piped("doctor", str(config), FORCE_COLOR="1")
    assert COLOUR.search(r.stdout)

"""The command line on terminals that are not UTF-8 (a server's `LANG=C` over SSH,
`PYTHONIOENCODING=ascii` or `latin-1`): no UnicodeEncodeError and no traceback, the exit
status of a UTF-8 terminal, the text degraded readably (`×` x, `—` -), Chinese asked for
but not showable given in English with a note, JSON still valid."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from loratui.outstream import ascii_look
from tests.terminal_run import C_LOCALE, NOT_UTF8, run_on_tty, run_piped, sample_project


@pytest.fixture(scope="module")
def project(tmp_path_factory) -> Path:
    return sample_project(tmp_path_factory.mktemp("enc"))


# command, the exit status it has on a UTF-8 terminal
COMMANDS = [
    (("presets", "--gpu", "8GB"), 0),
    (("doctor", "loratui.toml", "train.log", "my_lora.safetensors", "ds"), 1),
    (("doctor", "missing\u2014\u00d7.toml"), 2),
    (("dataset", "scan", "ds"), 0),
    (("config", "check", "loratui.toml"), 0),
    (("lora", "inspect", "my_lora.safetensors"), 0),
    (("rule", "CF128"), 0),
    (("runs", "--dir", "runs"), 0),
    (("watch", "--once", "runs/hanfu-1"), 0),
    (("watch", "--once", "train.log"), 0),
    (("lora", "--help"), 0),
    (("--help",), 0),
    (("doctor", "--help"), 0),
]
# the encodings, in English and in Chinese
ENCODINGS = [("C", ()), ("ascii", ("--lang", "zh")), ("latin-1", ("--lang", "zh"))]


def assert_clean(stderr: bytes) -> None:
    text = stderr.decode("utf-8", "replace")
    assert "Traceback" not in text and "UnicodeEncodeError" not in text, text


def assert_encoded(data: bytes, encoding: str) -> None:
    """Every byte is one the terminal's encoding shows (ASCII for the C locale)."""
    data.decode("ascii" if encoding in ("C", "ascii") else "latin-1")


@pytest.mark.parametrize(("argv", "status"), COMMANDS, ids=lambda v: " ".join(v)
                         if isinstance(v, tuple) else str(v))
@pytest.mark.parametrize(("encoding", "lang"), ENCODINGS, ids=lambda v: "-".join(v) or "en"
                         if isinstance(v, tuple) else v)
def test_commands_run_on_a_terminal_that_is_not_utf8(project, argv, status, encoding, lang):
    r = run_piped(*lang, *argv, cwd=project, **NOT_UTF8[encoding])
    assert_clean(r.stderr)
    assert r.returncode == status, r.stderr.decode("utf-8", "replace")
    assert r.stdout.strip() or r.stderr.strip()
    assert_encoded(r.stdout + r.stderr, encoding)
    if lang and r.stdout.strip():   # Chinese cannot be shown: English, said once
        note = r.stderr.decode("ascii", "replace")
        assert note.count("cannot show Chinese") == 1 and "LANG=C.UTF-8" in note


def test_typography_degrades_to_ascii_look_alikes(project):
    r = run_piped("lora", "--help", **C_LOCALE)
    assert "test-image grid: weights x block vectors" in r.stdout.decode("ascii")
    r = run_piped("presets", "--gpu", "8GB", **NOT_UTF8["ascii"])
    out = r.stdout.decode("ascii")
    assert "Preset: sd15-8gb-character - 8 GB" in out
    assert "\\u2014" not in out and "\\xd7" not in out
    assert "+---" in out and "| setting" in out     # the table in ASCII lines


def test_file_names_keep_their_bytes_and_captions_their_text(project):
    """A name the C locale cannot decode is shown by its bytes; Chinese data that ASCII
    cannot show is escaped, not dropped."""
    r = run_piped("doctor", "missing\u2014.toml", cwd=project, **C_LOCALE)
    assert b"missing\\xe2\\x80\\x94.toml" in r.stderr
    r = run_piped("lora", "inspect", "my_lora.safetensors", cwd=project, **NOT_UTF8["ascii"])
    assert b"\\u6c49\\u670d" in r.stdout


def test_json_stays_valid_and_lossless_in_ascii(project):
    for argv in (("doctor", "my_lora.safetensors", "--format", "json"),
                 ("rule", "CF128", "--format", "json"),
                 ("watch", "--once", "--json", "runs/hanfu-1")):
        r = run_piped(*argv, cwd=project, **NOT_UTF8["ascii"])
        assert_clean(r.stderr)
        json.loads(r.stdout.decode("ascii"))
    r = run_piped("rule", "CF128", "--format", "json", cwd=project, **NOT_UTF8["ascii"])
    utf8 = run_piped("rule", "CF128", "--format", "json", cwd=project, LANG="C.UTF-8")
    assert json.loads(r.stdout) == json.loads(utf8.stdout)


def test_chinese_on_a_utf8_terminal_is_unchanged(project):
    r = run_piped("--lang", "zh", "lora", "--help", LC_ALL="C.UTF-8")
    assert r.returncode == 0 and "cannot show Chinese" not in r.stderr.decode()
    assert "\u793a\u4f8b" in r.stdout.decode("utf-8")      # 示例 (examples)


@pytest.mark.parametrize("encoding", ["C", "latin-1"])
def test_on_a_real_terminal_too(project, encoding):
    code, out = run_on_tty("--lang", "zh", "presets", "--gpu", "8GB", cwd=project,
                           **NOT_UTF8[encoding])
    assert code == 0
    assert b"Traceback" not in out
    assert_encoded(out, encoding)
    assert b"Preset: sd15-8gb-character - 8 GB" in re.sub(rb"\x1b\[[0-9;]*m", b"", out)


def test_ascii_look_alikes():
    assert [ascii_look(c) for c in "\u00d7\u2014\u2013\u201c\u201d\u2019\u2026\u2192\u2265"] \
        == ["x", "-", "-", '"', '"', "'", "...", "->", ">="]
    assert [ascii_look(c) for c in "\u2500\u2502\u250c\u253c\u2501\u2588\u2581"] \
        == ["-", "|", "+", "+", "=", "#", "_"]
    assert ascii_look("\u00e9") == "e" and ascii_look("\uff1a") == ":"   # é, fullwidth colon
    assert ascii_look("\u4e2d") == "\\u4e2d"                              # 中: escaped
    assert ascii_look("\U0001f600") == "\\ud83d\\ude00"                   # a JSON pair
    assert ascii_look("\udce2") == "\\xe2"                                # a name's byte


@pytest.mark.parametrize(("encoding", "chinese"), [("gbk", True), ("big5", False),
                                                   ("shift_jis", False)])
def test_chinese_where_the_terminal_has_simplified_characters(project, encoding, chinese):
    """A GBK terminal shows the Chinese messages; Big5 (zh_TW) and Shift_JIS have 中 but
    not 这 or 设, which came out as \\u escapes mid-sentence: English instead."""
    r = run_piped("--lang", "zh", "config", "check", "loratui.toml", cwd=project,
                  PYTHONIOENCODING=encoding)
    assert r.returncode == 0
    out = r.stdout.decode(encoding)
    assert "\\u" not in out
    assert ("cannot show Chinese" in r.stderr.decode(encoding)) is not chinese

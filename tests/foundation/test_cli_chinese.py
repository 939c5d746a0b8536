"""The command line in Chinese: every command's `--help` and argparse's own texts come from
the message catalogue, with nothing left in English but codes, flags, paths, metavars,
example command lines and proper names."""

from __future__ import annotations

import argparse
import contextlib
import io
import re

import pytest

from loratui import cli, i18n
from loratui.cli.doctor_cmd import KINDS
from tests.inprocess_cli import run_in_process

# Words that stay as they are in every language: names of tools, formats and choices.
KEPT = {
    "auto", "cpu", "cuda", "crop", "pad", "bucket", "white", "black", "grey", "info",
    "warning", "error", "never", "presets", "alone", "zeroed", "character", "style",
    "text", "json", "sarif", "en", "zh", "loratui", "kohya", "peft", "diffusers", "true",
    "watched", "ssh", "curl", "tee", "jq", "sks", "girl", "outdoors", "a",
    *(kind for kind in KINDS if kind.isalpha()),   # doctor --as KIND
}
# A line that starts with one of these is an example command: the text after its first
# gap of two spaces is its description (which must be translated).
COMMANDS = ("loratui", "accelerate", "kohya_gui", "RUN=", "TEXTUAL_COLOR_SYSTEM=")
CODE_SPAN = re.compile(r"`[^`]*`|\"[^\"]*\"|'[^']*'|\{[^}]*\}|<[^>]*>|\[[^\]]*\]")
WORDS = re.compile(r"[A-Za-z]+(?:[ ,']+[A-Za-z]+)+")


def english_sentences(help_text: str) -> list[str]:
    """Runs of two or more ordinary lowercase English words outside code, commands and
    the usage block: what a translation left behind."""
    found = []
    in_usage = False
    for line in help_text.splitlines():
        stripped = line.strip()
        if line.startswith(("usage:", "用法：")):
            in_usage = True
        if in_usage:
            in_usage = bool(stripped)
            continue
        if stripped.startswith(COMMANDS):
            gap = re.search(r"\S(\s{2,})\S", stripped)
            if gap is None:
                continue
            stripped = stripped[gap.end(1):]
        text = CODE_SPAN.sub(" ", stripped).partition("`")[0]   # a span that goes on
        # flags, paths, file names, variables, numbers and hyphenated names are code
        text = " ".join(t for t in text.split()
                        if not re.search(r"[-_/.=@$\\0-9×→|:+*]", t))
        for run in WORDS.findall(text):
            words = [w for w in re.split(r"[ ,']+", run) if w]
            plain = [w for w in words if w.islower() and w not in KEPT]
            if len(plain) >= 2:
                found.append(run)
    return found


def every_command(parser: argparse.ArgumentParser, prefix=()) -> list[tuple[str, ...]]:
    out = [prefix]
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                out += every_command(sub, (*prefix, name))
    return out


def help_of(argv: list[str], monkeypatch) -> tuple[str, str]:
    """(stdout, stderr) of `loratui ARGV` run in this process."""
    monkeypatch.setenv("COLUMNS", "100")
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err), \
            pytest.raises(SystemExit):
        cli.main(argv)
    return out.getvalue(), err.getvalue()


@pytest.fixture(autouse=True)
def _no_language_setting(clean_language):
    """Every test here starts from no language setting at all (English)."""


def test_the_detector_finds_the_english_help(monkeypatch):
    english, _ = help_of(["--lang", "en", "doctor", "--help"], monkeypatch)
    found = english_sentences(english)
    assert "files or folders to check" in " ".join(found)
    assert "what went wrong in this run" in found   # an example's description
    assert not any("lora" in s and "hanfu" in s for s in found)   # not the commands


COMMAND_LINES = every_command(cli.build_parser())


@pytest.mark.parametrize("command", COMMAND_LINES, ids=lambda c: " ".join(c) or "loratui")
def test_every_help_is_wholly_chinese(command, monkeypatch):
    out, _ = help_of(["--lang", "zh", *command, "--help"], monkeypatch)
    assert out.startswith("用法：loratui"), out[:200]
    assert "选项" in out and "显示本帮助并退出" in out
    assert english_sentences(out) == [], out
    english, _ = help_of(["--lang", "en", *command, "--help"], monkeypatch)
    assert english.startswith("usage: loratui") and not any(
        "\u4e00" <= ch <= "\u9fff" for ch in english)


def test_help_lines_fit_the_terminal_in_columns(monkeypatch):
    from loratui.cjk import cells

    for command in (("doctor",), ("dataset", "scan"), ("lora", "grid"), ("watch",)):
        out, _ = help_of(["--lang", "zh", *command, "--help"], monkeypatch)
        usage, _sep, rest = out.partition("\n\n")
        # argument help wraps by terminal columns (a CJK character takes two)
        too_wide = [line for line in rest.split("\n\n")[1].splitlines() if cells(line) > 100]
        assert not too_wide, too_wide
        lines = usage.splitlines()
        assert lines[1].index("[") == cells(lines[0][:lines[0].index("[")])  # lined up


def test_argparse_errors_in_chinese(monkeypatch):
    _, err = help_of(["--lang", "zh", "presets", "--kind", "x"], monkeypatch)
    assert "loratui presets：错误：参数 --kind：无效的选择：'x'" in err
    assert err.startswith("用法：loratui presets")
    _, err = help_of(["--lang", "zh", "lora", "merge"], monkeypatch)
    assert "缺少必需的参数：FILE, --weights" in err
    _, err = help_of(["--lang", "zh", "doctor", "--vram"], monkeypatch)
    assert "参数 --vram：需要一个值" in err
    _, err = help_of(["--lang", "zh", "--bogus"], monkeypatch)
    assert "无法识别的参数：--bogus" in err
    _, err = help_of(["--lang", "en", "--bogus"], monkeypatch)
    assert "error: unrecognized arguments: --bogus" in err and "错误" not in err


def test_argparse_texts_cover_the_running_python():
    """Every text argparse shows a user is in our catalogue's list (a new Python may add
    one: list it in loratui/cli/argparse_texts.py and translate it)."""
    import inspect

    from loratui.cli import argparse_texts

    source = inspect.getsource(argparse)
    used = set(re.findall(r"\b_\(\s*(['\"])(.+?)\1\s*[,)]", source))
    shown = {text for _q, text in used if not text.startswith(("cannot", "conflicting"))}
    developer_only = {".__call__() not defined", "dest= is required for options like %r",
                      "invalid conflict_resolution value: %r", "%r is not callable",
                      "mutually exclusive arguments must be optional",
                      "'required' is an invalid argument for positionals",
                      "invalid option string %(option)r: must start with a character "
                      "%(prefix_chars)r", "invalid option string %(option)r: "}
    listed = set(argparse_texts.ARGPARSE_MESSAGES)
    missing = {t.encode().decode("unicode_escape") for t in shown - developer_only} - listed
    assert not missing, missing


def run_cli(argv: list[str], monkeypatch) -> tuple[int, str, str]:
    """(exit status, stdout, stderr) of `loratui ARGV` run in this process."""
    return run_in_process(argv, monkeypatch)


def test_command_messages_in_chinese(tmp_path, monkeypatch):
    code, out, _ = run_cli(["--lang", "zh", "presets", "--gpu", "8GB"], monkeypatch)
    assert code == 0
    assert "显卡：8 GB（按给定值）" in out and "系列：SD1.5" in out
    assert "显存估算：3.7 GB，8 GB 显卡：装得下" in out and "estimate" not in out
    code, out, _ = run_cli(["--lang", "en", "presets", "--gpu", "8GB"], monkeypatch)
    assert "GPU: 8 GB (as given)" in out and "on an 8 GB card: fits" in out
    code, _, err = run_cli(["--lang", "zh", "runs", "--dir", str(tmp_path)], monkeypatch)
    assert code == 0 and f"{tmp_path} 下没有训练" in err
    code, _, err = run_cli(["--lang", "zh", "config", "import", "x.json", "-o", str(tmp_path)],
                           monkeypatch)
    assert code == 2 and err.startswith(f"错误：{tmp_path} 是个文件夹；请给 -o 一个文件名")
    config = tmp_path / "loratui.toml"
    config.write_text("[network]\nrank = 8\n", encoding="utf-8")
    code, out, _ = run_cli(["--lang", "zh", "config", "check", str(config)], monkeypatch)
    assert code == 0 and out.strip() == f"{config}：没问题"
    config.write_text('[network]\nrank = 0\nrnk = 2\n[training]\nmixed_precision = "fp8"\n',
                      encoding="utf-8")
    code, out, _ = run_cli(["--lang", "zh", "config", "check", str(config)], monkeypatch)
    assert code == 1 and out.startswith(f"错误：{config}: \n")
    assert "`network.rank` = 0：应大于或等于 1（[1, 1024]）" in out
    assert "未知的配置项 `network.rnk`（检查拼写" in out
    assert "`training.mixed_precision` = 'fp8'：应为 'no', 'fp16' 或 'bf16'（可选 no, fp16, bf16）" in out
    code, out, _ = run_cli(["--lang", "en", "config", "check", str(config)], monkeypatch)
    assert "`network.rank` = 0: Input should be greater than or equal to 1 ([1, 1024])" in out
    code, _, err = run_cli(["--lang", "zh", "doctor", "--set", "oops"], monkeypatch)
    assert code == 2 and "--set 'oops'：请写成 NAME=VALUE" in err


def test_every_preset_has_its_chinese_label_and_rationale(monkeypatch):
    from loratui.presets import load_presets

    for preset in load_presets():
        zh = preset.translations.get("zh", {})
        assert set(zh) == {"label", "rationale"}, preset.path
        assert re.search(r"[\u4e00-\u9fff]", zh["rationale"]), preset.path
    i18n.set_language("zh")
    slow = next(p for p in load_presets() if p.id == "sd15-4gb-character").for_gpu(
        type("Gpu", (), {"name": "NVIDIA GeForce GTX 1660 SUPER", "compute_capability": (7, 5)}))
    assert slow.text("rationale").endswith(
        "在这块卡上：NVIDIA GeForce GTX 1660 SUPER 上用 fp32：GTX 16xx 系列的卡用 fp16 会出 NaN（E06）。")
    i18n.set_language("en")
    assert slow.text("rationale") == slow.rationale and "Here: fp32 on" in slow.rationale
    code, out, _ = run_cli(["--lang", "zh", "presets", "--gpu", "8GB"], monkeypatch)
    assert code == 0 and "指南的 8 GB 方案：批量 1 + 梯度累积 4" in out and "recipe" not in out

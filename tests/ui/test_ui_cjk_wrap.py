"""Chinese text wraps between characters (loratui.ui.cjkwrap), English exactly as before."""

from __future__ import annotations

import re
from itertools import pairwise

import pytest
from rich.console import Console
from rich.text import Text

from loratui.cjk import NO_LINE_END, NO_LINE_START, cells, has_cjk
from loratui.i18n import LOCALE_DIR
from loratui.ui import cjkwrap

RICH_WORD = re.compile(r"\s*\S+\s*")  # Rich's own pieces (rich._wrap.re_word)


def catalogue() -> list[tuple[str, str]]:
    """(English, Chinese) of every message the wizard and the CLI show."""
    from babel.messages.pofile import read_po

    with open(f"{LOCALE_DIR}/zh/LC_MESSAGES/loratui.po", "rb") as fh:
        cat = read_po(fh)
    pairs = []
    for m in cat:
        if m.id and isinstance(m.id, str) and isinstance(m.string, str):
            pairs.append((m.id, m.string))
    return pairs


def wrapped(text: str, width: int) -> list[str]:
    return [str(line) for line in Text(text).wrap(Console(width=width), width)]


@pytest.fixture
def installed():
    previous = cjkwrap.install()
    yield
    cjkwrap.restore(previous)


def test_english_breaks_where_it_always_did(installed) -> None:
    pairs = catalogue()
    assert len(pairs) > 500
    for english, _chinese in pairs:
        if has_cjk(english):  # an example in Chinese (`汉服女孩`) inside an English message
            continue
        assert [m.group(0) for m in cjkwrap.WORD.finditer(english)] == \
            [m.group(0) for m in RICH_WORD.finditer(english)], english


def test_every_character_is_in_a_piece(installed) -> None:
    """No character is left out of the pieces (Rich would stop breaking there)."""
    for english, chinese in catalogue():
        for text in (english, chinese):
            assert "".join(m.group(0) for m in cjkwrap.WORD.finditer(text)) == text


def test_chinese_fills_its_lines_and_keeps_words_whole(installed) -> None:
    text = ("kohya_ss / sd-scripts、OneTrainer、ai-toolkit：实时查看它的日志、TensorBoard "
            "文件夹或输出文件夹（ctrl+l）")
    lines = wrapped(text, 40)
    assert lines == ["kohya_ss / sd-scripts、OneTrainer、",
                     "ai-toolkit：实时查看它的日志、",
                     "TensorBoard 文件夹或输出文件夹（ctrl+l）"]


def test_punctuation_rules(installed) -> None:
    """A line never starts with a closing mark (，。）) nor ends with an opening one (（「),
    unless a piece longer than the line had to be cut."""
    for _english, chinese in catalogue():
        for paragraph in chinese.split("\n"):
            pieces = [m.group(0).rstrip() for m in cjkwrap.WORD.finditer(paragraph)]
            for width in (24, 37, 50):
                if max((cells(p) for p in pieces), default=0) > width:
                    continue
                lines = [line.strip() for line in wrapped(paragraph, width)]
                for before, after in pairwise(lines):
                    assert not after or after[0] not in NO_LINE_START, (paragraph, after)
                    assert not before or before[-1] not in NO_LINE_END, (paragraph, before)


async def test_the_wizard_wraps_chinese_while_it_runs_only(project) -> None:
    """Installed for the app's life: Rich is its own again after, for the rest of the
    process (a test run, a CLI command in the same interpreter)."""
    import rich._wrap

    from loratui.ui.app import create_app

    before = rich._wrap.re_word
    assert before is not cjkwrap.WORD
    app = create_app(project)
    async with app.run_test(size=(80, 24)):
        assert rich._wrap.re_word is cjkwrap.WORD
    assert rich._wrap.re_word is before


def test_help_lines_join_without_a_space_beside_chinese_punctuation() -> None:
    """A help row's lines become one: a space between English words and between Chinese
    and English, none between Chinese characters or beside 、，（） (the catalogue's
    `（model_index.json、` + `unet/` is `、unet/`, not `、 unet/`)."""
    from loratui.ui.dialogs.help import join_lines

    assert join_lines(["a folder (model_index.json,", "unet/ …)"]) == \
        "a folder (model_index.json, unet/ …)"
    assert join_lines(["文件夹（model_index.json、", "unet/、text_encoder/ …）或单个"]) == \
        "文件夹（model_index.json、unet/、text_encoder/ …）或单个"
    assert join_lines(["设置。", "enter 修改"]) == "设置。enter 修改"
    assert join_lines(["训练的", "SD1.5 模型"]) == "训练的 SD1.5 模型"
    assert join_lines(["每条标注的", "最前面"]) == "每条标注的最前面"
    assert join_lines(["一个词", "（P7）"]) == "一个词（P7）"

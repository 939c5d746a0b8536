"""The message catalogue: how the language is chosen, the gettext catalogue it reads, and
that the catalogue is complete and in sync with the code's strings."""

from __future__ import annotations

import gettext
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from loratui import i18n

ROOT = Path(__file__).resolve().parents[2]
PO = ROOT / "loratui" / "locale" / "zh" / "LC_MESSAGES" / "loratui.po"
MO = PO.with_suffix(".mo")


@pytest.fixture(autouse=True)
def _no_language_setting(clean_language):
    """Every test here starts from no language setting at all (English)."""


@pytest.mark.parametrize(("locale", "lang"), [
    ("zh", "zh"), ("zh_CN", "zh"), ("zh_CN.UTF-8", "zh"), ("zh_CN.utf8", "zh"),
    ("zh-Hans", "zh"), ("zh_SG", "zh"), ("zh_TW.UTF-8", "zh"), ("zh_HK", "zh"),
    ("zh_CN.GB18030", "zh"), ("en_US.UTF-8", "en"), ("C", "en"), ("C.UTF-8", "en"),
    ("POSIX", "en"), ("de_DE", "en"), ("zu_ZA", "en"), ("", "en"),
])
def test_locale_names(monkeypatch, locale, lang):
    monkeypatch.setenv("LANG", locale)
    assert i18n.language() == lang


def test_order_explicit_then_loratui_lang_then_lc_all_lc_messages_lang(monkeypatch):
    monkeypatch.setenv("LANG", "zh_CN.UTF-8")
    assert i18n.language() == "zh"
    monkeypatch.setenv("LC_MESSAGES", "en_US.UTF-8")
    assert i18n.language() == "en"
    monkeypatch.setenv("LC_ALL", "zh_CN.UTF-8")
    assert i18n.language() == "zh"
    monkeypatch.setenv("LC_ALL", "")           # set but empty: skipped, as POSIX says
    assert i18n.language() == "en"
    monkeypatch.setenv(i18n.ENV_VAR, "zh")
    assert i18n.language() == "zh"
    i18n.set_language("en")
    assert i18n.language() == "en"
    i18n.set_language(None)
    assert i18n.language() == "zh"


def test_english_is_the_source_and_never_opens_the_catalogue(monkeypatch):
    def no_catalogue(*args, **kwargs):
        raise AssertionError("the catalogue was opened in English")

    monkeypatch.setattr(gettext, "translation", no_catalogue)
    i18n.set_language("en")
    assert i18n._("Dataset") == "Dataset"
    assert i18n.ngettext("{n} image", "{n} images", 1) == "{n} image"
    assert i18n.ngettext("{n} image", "{n} images", 0) == "{n} images"
    assert i18n.pgettext("step", "Train") == "Train"
    assert i18n.N_("Trigger") == "Trigger"


def test_chinese_reads_the_compiled_catalogue(monkeypatch):
    i18n.set_language("zh")
    catalogue = gettext.GNUTranslations(MO.open("rb"))
    msgid = next(k for k in catalogue._catalog if isinstance(k, str) and k and "\x04" not in k)
    assert i18n._(msgid) == catalogue.gettext(msgid) != msgid
    assert i18n._("a message that is not in the catalogue") == \
        "a message that is not in the catalogue"   # untranslated: English, not an error
    assert i18n.ngettext("{n} thing", "{n} things", 5) == "{n} things"


def test_the_lazy_reader_agrees_with_gettext_on_every_entry():
    """loratui.mofile reads the .mo without gettext: each message, context and plural form
    comes out as `gettext.GNUTranslations` gives it."""
    from loratui.mofile import MoFile

    reference = gettext.GNUTranslations(MO.open("rb"))
    catalog = i18n.Catalog(MoFile.read(str(MO)))
    checked = {"plain": 0, "context": 0, "plural": 0}
    for key, text in reference._catalog.items():
        if key == "":
            continue
        if isinstance(key, tuple):
            singular, form = key
            assert catalog.mo.forms(singular)[form] == text
            assert catalog.ngettext(singular, "other", 3) == reference.ngettext(singular, "x", 3)
            checked["plural"] += 1
        elif "\x04" in key:
            context, _, msgid = key.partition("\x04")
            assert catalog.pgettext(context, msgid) == text
            checked["context"] += 1
        else:
            assert catalog.gettext(key) == text
            checked["plain"] += 1
    assert min(checked.values()) > 0, checked
    assert catalog.plural_rule == "0" and catalog.mo.charset == "utf-8"
    assert catalog.gettext("not a message") == "not a message"
    assert catalog.pgettext("step", "not a message") == "not a message"
    assert catalog.ngettext("{n} unknown", "{n} unknowns", 2) == "{n} unknowns"


def test_the_lazy_reader_takes_big_endian_files_and_refuses_others(tmp_path, monkeypatch):
    import struct

    from loratui.mofile import MoError, MoFile

    ids = [b"", b"Train", b"{n} image\0{n} images"]
    strs = [b"Content-Type: text/plain; charset=UTF-8\n", "训练".encode(), "{n} 张".encode()]
    start = 28 + 16 * len(ids)     # the strings follow the header and the two tables
    tables, blob = b"", b""
    for text in ids + strs:
        tables += struct.pack(">2I", len(text), start + len(blob))
        blob += text + b"\0"
    data = struct.pack(">7I", 0x950412DE, 0, len(ids), 28, 28 + 8 * len(ids), 0, 0) + \
        tables + blob
    mo = MoFile(data)
    assert mo.get("Train") == "训练" and mo.forms("{n} image") == ["{n} 张"]
    assert mo.get("{n} image") is None and mo.get("Dataset") is None
    future = struct.pack("<7I", 0x950412DE, 5 << 16, 0, 28, 28, 0, 0)
    for bad in (b"", b"\x00" * 40, data[:40], future):
        with pytest.raises(MoError):
            MoFile(bad)
    # a damaged catalogue shows English, never a traceback
    folder = tmp_path / "zh" / "LC_MESSAGES"
    folder.mkdir(parents=True)
    (folder / "loratui.mo").write_bytes(b"not a catalogue")
    monkeypatch.setattr(i18n, "LOCALE_DIR", str(tmp_path))
    monkeypatch.setattr(i18n, "_catalogs", {})
    i18n.set_language("zh")
    assert i18n._("Dataset") == "Dataset"
    assert i18n.ngettext("{n} image", "{n} images", 2) == "{n} images"


def loratui(*args, **env):
    base = {k: v for k, v in os.environ.items()
            if k not in ("LANG", "LC_ALL", "LC_MESSAGES", "LANGUAGE", i18n.ENV_VAR)}
    return subprocess.run([sys.executable, "-m", "loratui", *args], env={**base, **env},
                          capture_output=True, text=True, timeout=60)


def test_lang_option_and_environment_choose_the_help_language():
    english = loratui("--help", LANG="C.UTF-8")
    assert english.returncode == 0 and "examples:" in english.stdout
    for run in (loratui("--lang", "zh", "--help"), loratui("--help", LORATUI_LANG="zh"),
                loratui("--help", LANG="zh_CN.UTF-8"), loratui("--lang=zh", "--help")):
        assert run.returncode == 0, run.stderr
        assert "示例" in run.stdout and "examples:" not in run.stdout
    forced = loratui("--lang", "en", "--help", LANG="zh_CN.UTF-8")
    assert "examples:" in forced.stdout
    assert "--lang" in english.stdout


def test_lang_option_after_the_command_and_a_bad_value():
    after = loratui("presets", "--gpu", "8GB", "--lang", "zh")
    assert after.returncode == 0, after.stderr
    bad = loratui("--lang", "fr", "--help")
    assert bad.returncode == 2 and "--lang" in bad.stderr and "fr" in bad.stderr
    assert "Traceback" not in bad.stderr


# --- the catalogue against the code --------------------------------------------------

PLACEHOLDER = re.compile(r"\{[A-Za-z_0-9!:.<>^ ]*\}|%(?:\([a-z_]+\))?[-0-9.]*[sdrif%]")
MARKUP = re.compile(r"\[/?[a-z@$#][^\]\[]*\]")


def extracted() -> dict:
    """What `pybabel extract -F babel.cfg` finds in the code: msgid (or (singular, plural)
    for ngettext, with a context prefix for pgettext) -> where."""
    from babel.messages.extract import extract_from_dir
    from babel.messages.frontend import parse_mapping_cfg

    with (ROOT / "babel.cfg").open() as f:
        method_map, options_map = parse_mapping_cfg(f)
    found = {}
    for filename, lineno, message, _comments, context in extract_from_dir(
            str(ROOT), method_map, options_map):
        key = message if isinstance(message, str) else tuple(message)
        found[(context, key)] = f"{filename}:{lineno}"
    return found


def po_catalog():
    from babel.messages.pofile import read_po

    with PO.open("rb") as f:
        return read_po(f)


def placeholders(text: str) -> list[str]:
    return sorted(PLACEHOLDER.findall(text))


def test_every_extracted_message_is_translated_and_not_fuzzy():
    catalog = po_catalog()
    problems = []
    for (context, key), where in sorted(extracted().items(), key=lambda kv: kv[1]):
        msgid = key if isinstance(key, str) else key[0]
        message = catalog.get(msgid, context=context)
        if message is None:
            problems.append(f"{where}: not in the catalogue: {msgid!r}")
            continue
        strings = message.string if isinstance(message.string, (tuple, list)) else \
            [message.string]
        if not all(strings):
            problems.append(f"{where}: untranslated: {msgid!r}")
        if message.fuzzy:
            problems.append(f"{where}: fuzzy: {msgid!r}")
    assert not problems, f"{len(problems)} messages (see docs/translating.md):\n" + \
        "\n".join(problems[:40])


def test_placeholders_and_markup_match_between_msgid_and_msgstr():
    problems = []
    for message in po_catalog():
        if not message.id:
            continue
        ids = [message.id] if isinstance(message.id, str) else list(message.id)
        strings = [message.string] if isinstance(message.string, str) else \
            list(message.string)
        for text in strings:
            if not text:
                continue
            # a plural's translation may drop {n} only where the English singular does
            if not any(placeholders(text) == placeholders(i) for i in ids):
                problems.append(f"placeholders {placeholders(ids[-1])} -> "
                                f"{placeholders(text)}: {ids[0]!r}")
            if not any(sorted(MARKUP.findall(text)) == sorted(MARKUP.findall(i)) for i in ids):
                problems.append(f"markup: {ids[0]!r} -> {text!r}")
    assert not problems, "\n".join(problems)


def test_compiled_catalogue_is_in_sync_with_the_po_file():
    expected = {}
    for message in po_catalog():
        if not message.id or message.fuzzy or not message.string:
            continue
        prefix = f"{message.context}\x04" if message.context else ""
        if isinstance(message.id, str):
            expected[prefix + message.id] = message.string
        else:
            for i, text in enumerate(message.string):
                expected[(prefix + message.id[0], i)] = text
    with MO.open("rb") as f:
        compiled = dict(gettext.GNUTranslations(f)._catalog)
    compiled.pop("", None)   # the header
    stale = {k for k in set(expected) | set(compiled) if expected.get(k) != compiled.get(k)}
    assert not stale, ("loratui.mo differs from loratui.po: run `pybabel compile -d "
                       f"loratui/locale -D loratui` ({len(stale)} messages, e.g. "
                       f"{sorted(map(str, stale))[:3]})")

"""The rule catalog: unique codes, explanations, valid refs, a case for every rule."""

from __future__ import annotations

import re
from pathlib import Path

from loratui.doctor.catalog import load_catalog
from loratui.doctor.config_defaults import DEFAULTS
from loratui.doctor.engine import _predicate

TESTS = Path(__file__).parent
REF_LIMITS = {"P": 34, "C": 15, "D": 12, "E": 12, "R": 5, "O": 8}


def test_codes_unique_and_well_formed():
    cat = load_catalog(use_cache=False)
    codes = [r.code for r in cat.rules]
    assert len(codes) == len(set(codes))
    names = [r.name for r in cat.rules]
    assert len(names) == len(set(names))
    for r in cat.rules:
        assert re.fullmatch(r"[A-Z]{2}\d{3}", r.code), r.code
        assert re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", r.name), r.name
    assert len(cat.rules) >= 120


def test_explanations_present():
    for r in load_catalog(use_cache=False).rules:
        for field in ("what", "why", "example", "fix_safety"):
            assert r.explain.get(field, "").strip(), f"{r.code} lacks explain.{field}"
        assert r.message.strip()


def test_refs_are_real_ids():
    for r in load_catalog(use_cache=False).rules:
        for ref in r.refs:
            m = re.fullmatch(r"([PCDERO])(\d+)", ref)
            assert m, f"{r.code}: bad ref {ref}"
            assert 1 <= int(m.group(2)) <= REF_LIMITS[m.group(1)], f"{r.code}: no such id {ref}"


def test_every_predicate_is_registered():
    for r in load_catalog(use_cache=False).rules:
        assert _predicate(r) is not None, f"{r.code}: predicate {r.predicate} not found"


def test_every_rule_is_tested():
    """Each code appears in a case file or a test (fire and quiet cases live beside it)."""
    text = "\n".join(p.read_text(encoding="utf-8") for p in TESTS.rglob("*")
                     if p.suffix in (".py", ".toml") and p.is_file())
    generated = {r.code for r in load_catalog(use_cache=False).rules
                 if r.code.startswith("LG") and r.regex}
    missing = [r.code for r in load_catalog(use_cache=False).rules
               if r.code not in text and r.code not in generated]
    assert not missing, f"rules without a test case: {missing}"


def test_every_pitfall_is_mapped_in_docs():
    doc = (TESTS.parent.parent / "docs" / "doctor.md").read_text(encoding="utf-8")
    for n in range(1, 35):
        assert re.search(rf"^\| P{n} \|", doc, re.M), f"P{n} missing from the coverage table"


def test_config_defaults_in_sync():
    from loratui.config import field_docs

    assert {r["key"]: r["default"] for r in field_docs()} == DEFAULTS


def test_cache_roundtrip(tmp_path, monkeypatch):
    monkeypatch.setenv("LORATUI_CACHE_DIR", str(tmp_path))
    a = load_catalog()
    (cache,) = (tmp_path / "loratui").glob("rules-*.cache")
    b = load_catalog()
    assert [r.to_dict() for r in a.rules] == [r.to_dict() for r in b.rules]
    # a damaged or foreign cache file is never unmarshalled: the rules are parsed again
    blob = cache.read_bytes()
    for bad in (blob[:len(blob) // 2], b"LTRC" + blob[4:-1] + b"x", b"\x00" * 64, b""):
        cache.write_bytes(bad)
        c = load_catalog()
        assert [r.to_dict() for r in c.rules] == [r.to_dict() for r in a.rules]
        assert cache.read_bytes() == blob  # rewritten whole


def test_cache_follows_rule_edits(tmp_path, monkeypatch):
    import shutil

    monkeypatch.setenv("LORATUI_CACHE_DIR", str(tmp_path / "cache"))
    rules = tmp_path / "rules"
    shutil.copytree(TESTS.parent.parent / "rules", rules)
    assert load_catalog(rules).get("CF102").severity == "warning"
    text = (rules / "config.toml").read_text(encoding="utf-8")
    start = text.index('code = "CF102"')
    sev = text.index('severity = "warning"', start)
    edited = text[:sev] + 'severity = "error"' + text[sev + len('severity = "warning"'):]
    (rules / "config.toml").write_text(edited, encoding="utf-8")
    assert load_catalog(rules).get("CF102").severity == "error"


def _rule_data() -> list[dict]:
    import tomllib

    rules = TESTS.parent.parent / "rules"
    return [data for path in sorted(rules.glob("*.toml"))
            for data in tomllib.loads(path.read_text(encoding="utf-8")).get("rule", [])]


def test_every_rule_has_its_chinese_texts():
    from loratui.doctor.catalog import stale_translations

    missing, stale = [], []
    for data in _rule_data():
        zh = data.get("zh", {})
        needed = ["title", "message", "what", "why", "fix_safety"]
        if (data.get("fix") or {}).get("title"):
            needed.append("fix")
        missing += [f"{data['code']}.{f}" for f in needed if not zh.get(f, "").strip()]
        stale += [f"{data['code']}.{f}" for f in stale_translations(data, "zh")]
        # Chinese text, not a copy of the English
        assert re.search(r"[\u4e00-\u9fff]", zh.get("title", "")), data["code"]
    assert not missing, f"rules without a Chinese translation: {missing}"
    assert not stale, f"Chinese texts whose {{placeholders}} differ from the English: {stale}"


def test_translation_with_other_placeholders_falls_back_to_english(tmp_path):
    import pytest

    from loratui.doctor.catalog import CatalogError

    rules = tmp_path / "rules"
    rules.mkdir()
    rule = ('[[rule]]\ncode = "CF999"\nname = "x"\nseverity = "info"\ninputs = ["config"]\n'
            'message = "{key} = {rank} is high"\n[rule.zh]\ntitle = "太高"\n'
            'message = "{key} 太高"\n')
    (rules / "x.toml").write_text(rule, encoding="utf-8")
    rule_zh = load_catalog(rules, use_cache=False, lang="zh").get("CF999")
    assert rule_zh.text("title") == "太高"
    assert rule_zh.text("message") == "{key} = {rank} is high"  # stale: the English is shown
    (rules / "x.toml").write_text(rule.replace("[rule.zh]\n", "[rule.zh]\ntitel = \"x\"\n"),
                                  encoding="utf-8")
    with pytest.raises(CatalogError, match=r"unknown \[rule.zh\] field.*titel"):
        load_catalog(rules, use_cache=False)


def test_chinese_texts_load_only_when_asked(tmp_path, monkeypatch):
    monkeypatch.setenv("LORATUI_CACHE_DIR", str(tmp_path))
    english = load_catalog()
    assert english.lang is None and not english.get("CF102").translation
    assert english.get("CF102").text("title") == english.get("CF102").title
    (cache,) = (tmp_path / "loratui").glob("rules-*.cache")
    assert "蟑螂" not in cache.read_bytes().decode("utf-8", "replace")  # English cache: no zh
    assert not list((tmp_path / "loratui").glob("zh-rules-*.cache"))
    chinese = load_catalog(lang="zh")
    assert chinese.lang == "zh" and "赛博朋克蟑螂人" in chinese.get("CF102").text("message")
    (zh_cache,) = (tmp_path / "loratui").glob("zh-rules-*.cache")
    assert "蟑螂" in zh_cache.read_bytes().decode("utf-8", "replace")
    assert "赛博朋克蟑螂人" in load_catalog(lang="zh").get("CF102").text("message")  # cached
    zh_cache.write_bytes(b"LTRC damaged")  # a damaged translation cache: parsed again
    assert "赛博朋克蟑螂人" in load_catalog(lang="zh").get("CF102").text("message")


def test_chinese_reference_in_sync_with_the_rules():
    from loratui.doctor.reference import render

    doc = TESTS.parent.parent / "docs" / "doctor.zh-CN.md"
    assert doc.read_text(encoding="utf-8") == render(load_catalog(use_cache=False, lang="zh")), \
        "docs/doctor.zh-CN.md is stale: python -m loratui.doctor.reference > docs/doctor.zh-CN.md"
    text = doc.read_text(encoding="utf-8")
    for n in range(1, 35):
        assert re.search(rf"^\| P{n} \|", text, re.M), f"P{n} missing"
    assert "| CF102 | `rank-too-high` | 警告 | LoRA 网络维度 rank 超出指南范围 |" in text


# Words that make a dataset rule's example a description rather than a literal file name,
# path or caption: such an example is written in Chinese too.
PROSE_WORDS = {"a", "an", "the", "with", "without", "from", "and", "next", "images",
               "image", "photo", "photos", "folder", "caption", "captions", "bytes", "whose"}


def test_dataset_rules_describe_their_examples_in_chinese():
    untranslated = []
    for data in _rule_data():
        example = data.get("explain", {}).get("example", "")
        literal = re.sub(r'"[^"]*"|\S*[./=]\S*', " ", example)   # quoted text, file names
        if data["code"].startswith("DS") and PROSE_WORDS & set(literal.lower().split()) \
                and not data.get("zh", {}).get("example"):
            untranslated.append(data["code"])
    assert not untranslated, f"dataset rules with an English-only example: {untranslated}"
    zh = load_catalog(use_cache=False, lang="zh").get("DS101")
    assert zh.text("example") == "一个只有 6 张图的文件夹"

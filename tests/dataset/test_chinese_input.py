"""Chinese input in the dataset checks, on real files: kohya's `10_汉服` repeat folders and
Chinese file names, captions mixing CJK and English tags, a caption saved as GBK by a
Windows editor, and a trigger word in Chinese characters (CLIP splits it into bytes)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from loratui.clip_tokenizer import bpe_tokens
from loratui.dataset import captions as cap
from loratui.dataset import scan
from loratui.dataset.prepare import prepare
from loratui.dataset.trigger import check_trigger, suggest, word_problems

from .dataset_fixtures import write_image

CAPTIONS = ["1girl, 汉服, 微笑, 长发", "1girl, 汉服, 红色, 微笑", "1girl, 汉服, 庭院, 古风",
            "1girl, 汉服, 团扇, 侧脸"]
GBK_CAPTION = 1  # saved by Notepad's "ANSI" on a Chinese Windows: GBK


def chinese_set(root: Path) -> Path:
    folder = root / "训练集" / "10_汉服"
    for i, text in enumerate(CAPTIONS):
        image = write_image(folder / f"汉服_{i:02d}.png", seed=i, caption=None)
        data = text.encode("gbk") if i == GBK_CAPTION else text.encode("utf-8")
        image.with_suffix(".txt").write_bytes(data)
    return root / "训练集"


def test_chinese_folders_names_and_gbk_caption_are_scanned(tmp_path):
    report = scan(chinese_set(tmp_path))
    assert report.layout == "kohya"
    assert {s.path: s.repeats for s in report.subsets} == {"10_汉服": 10}
    assert report.totals.usable == 4 and report.totals.captioned == 3
    found = {f.kind: f for f in report.findings}
    bad = found["caption-not-utf8"]
    assert bad.paths == ["10_汉服/汉服_01.txt"]
    detail = bad.details["10_汉服/汉服_01.txt"]
    # the finding names the encoding and shows what the bytes say, not mojibake
    assert "GBK" in detail and "“1girl, 汉服, 红色, 微笑”" in detail, detail
    mixed = {i.caption for i in report.images if i.caption}
    assert mixed == {CAPTIONS[0], CAPTIONS[2], CAPTIONS[3]}
    assert "caption-style-mixed" not in found  # Chinese tag lists are tag lists
    assert "bad-folder-name" not in found and "nested-images" not in found


def test_prepare_writes_the_gbk_caption_as_utf8_with_an_ascii_trigger(tmp_path):
    src = chinese_set(tmp_path)
    before = {p: p.read_bytes() for p in src.rglob("*") if p.is_file()}
    prepare(src, tmp_path / "准备好的", trigger_word="hanfu_girl_")
    assert {p: p.read_bytes() for p in src.rglob("*") if p.is_file()} == before  # untouched
    out = tmp_path / "准备好的" / "10_汉服"
    texts = [(out / f"汉服_{i:02d}.txt").read_text(encoding="utf-8").rstrip("\n")
             for i in range(4)]
    assert texts == [f"hanfu_girl_, {t}" for t in CAPTIONS]
    rep = check_trigger("hanfu_girl_", {f"{i}": t for i, t in enumerate(texts)})
    assert rep.ok and not rep.missing and not rep.not_first


def test_chinese_trigger_word_is_many_byte_tokens():
    # CLIP's real vocabulary: no Chinese words, so each character is 2–3 byte pieces
    assert len(bpe_tokens("汉服女孩")) == 9 and len(bpe_tokens("汉服")) == 5
    assert [t.replace("</w>", "") for t in bpe_tokens("hanfu_girl_")] == \
        ["han", "fu", "_", "girl", "_"]
    kinds = {f.kind: f for f in word_problems("汉服女孩")}
    assert set(kinds) == {"trigger-cjk"}
    assert "9 byte-level tokens" in kinds["trigger-cjk"].message
    assert "`hanfu_girl_`" in kinds["trigger-cjk"].fix
    assert suggest("汉服女孩") == []  # no made-up romanisation
    assert {f.kind for f in word_problems("汉服")} == {"trigger-cjk"}  # not "too short"
    assert not word_problems("hanfu_girl_")


def test_standard_library_bpe_matches_transformers_on_chinese_captions():
    from loratui.clip_tokenizer import clip_tokenizer

    tok = clip_tokenizer()
    for text in [*CAPTIONS, "一个穿着红色汉服的女孩站在古风庭院里微笑。", "古风美女水墨风, "
                 "traditional chinese ink style portrait", "柴犬表情包 shiba_inu_meme_",
                 "Ｆｕｌｌ　width，标点！", "<lora:hanfu:0.7> ((best quality)), 1girl__smile!!"]:
        assert bpe_tokens(text) == tok.tokenize(text), text


@pytest.mark.parametrize("text", [*CAPTIONS, "一个穿着红色汉服的女孩站在古风庭院里微笑。",
                                  "古风美女水墨风, traditional chinese ink style portrait"])
def test_token_estimate_counts_chinese_as_bytes(text):
    real = len(bpe_tokens(text))
    assert 0.85 * real <= cap.estimate_clip_tokens(text) <= 1.3 * real


def test_chinese_caption_styles():
    assert cap.caption_style("1girl, 汉服, 微笑, 长发") == "tags"
    assert cap.caption_style("汉服，红色，微笑，古风") == "tags"
    assert cap.caption_style("一个穿着红色汉服的女孩站在古风庭院里微笑") == "sentence"
    assert cap.caption_style("她穿着汉服。") == "sentence"


def test_doctor_on_a_chinese_set(tmp_path):
    src = chinese_set(tmp_path)
    for i in range(4):  # every caption starts with the same Chinese tag
        (src / "10_汉服" / f"汉服_{i:02d}.txt").write_text(f"汉服, {CAPTIONS[i]}",
                                                          encoding="utf-8")
    env = {k: v for k, v in os.environ.items()
           if k not in ("LORATUI_LANG", "LC_ALL", "LC_MESSAGES", "LANG", "LANGUAGE")}
    out = subprocess.run([sys.executable, "-m", "loratui", "doctor", str(src), "--format",
                          "json", "--lang", "zh"], capture_output=True, text=True,
                         encoding="utf-8", env=env)
    data = json.loads(out.stdout)
    trigger = next(d for d in data["diagnostics"] if d["code"] == "DS113")
    assert "starts with `汉服`, in Chinese characters" in trigger["message"]
    assert "5 byte-level tokens" in trigger["message"]
    assert trigger["fix"]["title_zh"].startswith("在每条标注最前面放一个独有的触发词")
    # the part the rule computes is translated too, not left in English
    assert trigger["message_zh"] == ("每条标注都以汉字 `汉服` 开头：CLIP 会把它拆成 5 个和其他中文词"
                                     "共用的字节级 token，当触发词很弱；请在最前面放一个独有的英文"
                                     "触发词，比如 `hanfu_girl_`")


def test_trigger_command_gives_the_advice_in_chinese(tmp_path):
    src = chinese_set(tmp_path)
    env = {k: v for k, v in os.environ.items()
           if k not in ("LORATUI_LANG", "LC_ALL", "LC_MESSAGES", "LANG", "LANGUAGE")}
    run = subprocess.run([sys.executable, "-m", "loratui", "--lang", "zh", "dataset", "trigger",
                          str(src), "汉服女孩"], capture_output=True, text=True,
                         encoding="utf-8", env=env)
    assert "trigger-cjk" in run.stdout and "拆成 9 个字节级 token" in run.stdout
    assert "byte-level" not in run.stdout   # the computed message is translated too
    assert "汉服女孩 用 `hanfu_girl_`" in run.stdout  # the fix, from the message catalogue
    english = subprocess.run([sys.executable, "-m", "loratui", "dataset", "trigger", str(src),
                              "汉服女孩"], capture_output=True, text=True, encoding="utf-8",
                             env=env)
    assert "as the guide does: `hanfu_girl_` for 汉服女孩" in english.stdout


@pytest.mark.parametrize(("text", "encoding", "name"), [
    ("1girl, 汉服, 红色, 微笑", "gbk", "GBK"),
    ("1女の子, 笑顔, 着物", "shift_jis", "Shift-JIS"),    # GB18030 also "decodes" these bytes
    ("猫耳メイド, ロングヘア", "cp932", "Shift-JIS"),
])
def test_legacy_captions_are_read_in_their_own_encoding(text, encoding, name):
    guess, found = cap.guess_legacy(text.encode(encoding))
    assert guess == text and name in found

"""A faulty dataset checked in Chinese: `loratui --lang zh dataset scan` and `loratui --lang
zh doctor` say everything in Chinese, the parts they compute (counts, sizes, units, lists,
file details) included; only codes, file names, formats and commands stay as they are."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

from loratui.dataset.report import KINDS

from .dataset_fixtures import make_broken_set, write_image

LANG_VARS = ("LORATUI_LANG", "LC_ALL", "LC_MESSAGES", "LANG", "LANGUAGE")
# Words that stay as they are: formats, modes, tools, config keys, units' symbols.
KEPT = {"png", "jpg", "jpeg", "gif", "txt", "npz", "rgb", "rgba", "utf", "bom",
        "clip", "blip", "lora", "kohya", "prepare", "mode", "bucket", "token", "tokens",
        "windows", "sd", "alpha", "mask", "keep", "dataset", "caption", "loratui", "wd",
        "thumbs", "db", "ds", "store", "macos", "pillow", "sub", "dir", "faulty", "loop",
        "self", "lost", "good", "twin", "small", "wide", "quote", "page", "liar", "anim",
        "bomb", "zero", "cut", "hanfu", "girl", "html", "pdf", "lfs", "git", "exif",
        "background", "model", "path", "overwrite", "empty", "trigger", "word", "out",
        "fix", "unsafe", "fixes", "dupes", "deep", "all"}


def faulty_dataset(root: Path) -> Path:
    """make_broken_set's broken files, plus the problems a user's folder has most often."""
    make_broken_set(root)
    write_image(root / "small.png", 300, 200, seed=7, caption="hanfu_girl_, red dress")
    write_image(root / "wide.png", 1400, 400, seed=8,
                caption="a photograph of a girl standing in a garden at dusk, hanfu_girl_")
    write_image(root / "twin.png", 512, 512, seed=9, caption=None)
    write_image(root / "twin.jpg", 512, 512, seed=10, fmt="JPEG", caption=None)
    (root / "lost.txt").write_text("hanfu_girl_, lost", encoding="utf-8")
    (root / "good_1.txt").write_bytes(b"\xef\xbb\xbfhanfu_girl_, smile")
    (root / "good_2.txt").write_text("", encoding="utf-8")
    (root / "good_3.txt").write_text("smile, hanfu_girl_", encoding="utf-8")
    return root


def loratui(*args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in LANG_VARS}
    return subprocess.run([sys.executable, "-m", "loratui", *args], capture_output=True,
                          text=True, encoding="utf-8", env={**env, "NO_COLOR": "1"})


def english_left(text: str, root: Path) -> list[str]:
    """English words left in `text`, outside paths, codes, backticks and numbers."""
    text = text.replace(str(root), " ")
    text = re.sub(r"`[^`]*`|\[[^\]]*\]", " ", text)
    left = []
    text = re.sub("|".join(re.escape(k) for k in sorted(KINDS, key=len, reverse=True)), " ",
                  text)   # the finding kinds are codes
    for token in text.split():
        if re.search(r"[-_/.=@$\\0-9×:]", token):   # codes, files, sizes
            continue
        for word in re.findall(r"[A-Za-z]{2,}", token):
            if word.lower() not in KEPT and not word.isupper():
                left.append(word)
    return left


def test_scan_and_doctor_of_a_faulty_dataset_are_wholly_chinese(tmp_path):
    root = faulty_dataset(tmp_path / "faulty")
    scan = loratui("--lang", "zh", "dataset", "scan", str(root), "--all",
                   "--trigger", "hanfu_girl_")
    assert scan.returncode == 1, scan.stderr
    out = scan.stdout
    # the computed parts, in whole Chinese sentences
    for expected in ("1 个空文件（0 字节）", "zero.png：0 字节", "2 张图的短边小于训练分辨率 512 像素",
                     "small.png：短边 200 像素", "twin.jpg：和 twin.png 同名（不含扩展名）",
                     "liar.png：内容是 JPEG，扩展名却是 .png", "page.jpg：不是图片：内容是 HTML 网页",
                     "quote.txt：偏移 4 处的字节 0x92（看起来是 Windows-1252）",
                     "1 条句子标注，而大多数标注是标签列表", "可用的图只有 11 张；指南建议 100~300 张",
                     "3 条标注没有触发词 `hanfu_girl_`", "good_1.txt：以 EF BB BF 开头",
                     "汇总：9 个错误，9 个警告，5 条提示"):
        assert expected in out, expected
    assert english_left(out, root) == [], out
    english = loratui("--lang", "en", "dataset", "scan", str(root), "--all",
                      "--trigger", "hanfu_girl_")
    assert "1 empty (0-byte) file" in english.stdout and "small.png: short side 200 px" in \
        english.stdout and "summary: 9 errors, 9 warnings, 5 notes" in english.stdout
    assert not re.search(r"[\u4e00-\u9fff]", english.stdout.replace("图 片", ""))

    doctor = loratui("--lang", "zh", "doctor", str(root))
    assert doctor.returncode == 1, doctor.stderr
    text = doctor.stdout
    assert "SD1.5 的原生尺寸" in text and "SD1.5's" not in text
    assert "（任何标注扩展名）" in text and "等，另有 1 个" in text
    joined = re.sub(r"\n\s+", "", text)   # lines wrapped at the terminal's width
    assert "bomb.png：20000×20000 像素 > 上限 89,478,485；请重新导出或删掉它" in joined
    assert "decompression-bomb" not in text
    assert english_left(text, root) == [], text


def test_prepare_and_trigger_speak_chinese(tmp_path):
    root = faulty_dataset(tmp_path / "faulty")
    out = tmp_path / "ready"
    prepared = loratui("--lang", "zh", "dataset", "prepare", str(root), "--out", str(out),
                       "--trigger", "hanfu_girl_")
    assert prepared.returncode in (0, 1), prepared.stderr
    for expected in ("：写入 12，已是最新 0，删除 0，失败 0，跳过损坏的源文件 4 个（",
                     "跳过 1 个损坏的源文件（empty-file）", "1 条标注不是 UTF-8（字节 0x92）；副本已转成 UTF-8",
                     "2 张图比目标尺寸小，被放大了（细节发软；P3/D09）"):
        assert expected in prepared.stdout, prepared.stdout
    assert english_left(prepared.stdout.replace(str(out), " "), root) == [], prepared.stdout
    again = loratui("--lang", "zh", "dataset", "prepare", str(root), "--out", str(root))
    assert again.returncode == 2
    assert "就是原文件夹：prepare 从不往原文件夹里写" in again.stderr
    trigger = loratui("--lang", "zh", "dataset", "trigger", str(root), "hanfu girl")
    assert "`hanfu girl` 含有空格" in trigger.stdout
    assert "CLIP 把它拆成 3 个 token：han | fu | girl" in trigger.stdout
    shown = trigger.stdout.replace("han | fu | girl", " ")   # the tokens are the word's
    assert english_left(shown, root) == [], trigger.stdout


def test_an_image_pillow_cannot_identify_is_explained_in_chinese(tmp_path):
    root = tmp_path / "set"
    write_image(root / "good.png", 512, 512, seed=1, caption="hanfu_girl_, smile")
    (root / "noise.png").write_bytes(b"garbage, not an image\n")
    scan = loratui("--lang", "zh", "dataset", "scan", str(root), "--all")
    assert "noise.png：不是图片：Pillow 认不出它的内容" in scan.stdout, scan.stdout
    assert "cannot identify" not in scan.stdout

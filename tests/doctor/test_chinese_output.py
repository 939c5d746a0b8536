"""The doctor in Chinese: `--lang zh` / LORATUI_LANG=zh / a zh locale show the rules'
`[rule.zh]` texts and the report's own words from the message catalogue; JSON and SARIF
keep English keys and text and add `message_zh` / `title_zh` beside them."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

from tests.doctor.helpers import write

LANG_VARS = ("LORATUI_LANG", "LC_ALL", "LC_MESSAGES", "LANG", "LANGUAGE")
KOHYA = json.dumps({"network_dim": 64, "network_alpha": 64, "learning_rate": "1e-4",
                    "train_batch_size": 4, "mixed_precision": "fp16"})


def loratui(*args: str, **env: str) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if k not in LANG_VARS}
    clean.update(NO_COLOR="1", COLUMNS="200", **env)   # the content, not the layout
    return subprocess.run([sys.executable, "-m", "loratui", *args], capture_output=True,
                          text=True, encoding="utf-8", env=clean)


def test_text_report_in_chinese(tmp_path: Path):
    cfg = write(tmp_path, "my_lora.json", KOHYA)
    english = loratui("doctor", str(cfg), "--vram", "8GB", LANG="C.UTF-8")
    assert "cyberpunk cockroach men" in english.stdout
    found = re.search(r"Found (\d+) problems \((\d+) errors?, (\d+) warnings?, (\d+) info\)",
                      english.stdout)
    assert found, english.stdout
    total, errors, warnings, info = found.groups()
    assert not any("\u4e00" <= ch <= "\u9fff" for ch in english.stdout)
    for run in (loratui("doctor", str(cfg), "--vram", "8GB", "--lang", "zh"),
                loratui("doctor", str(cfg), "--vram", "8GB", LORATUI_LANG="zh"),
                loratui("doctor", str(cfg), "--vram", "8GB", LANG="zh_CN.UTF-8")):
        out = run.stdout
        assert run.returncode == english.returncode == 1
        # the guide's own words, the rule's code, name and refs as in English
        assert "“设32跑出赛博朋克蟑螂人，重训3次才明白不是越高越好”" in out
        assert "  警告    CF102 rank-too-high  network_dim" in out
        assert "[P10, P20]" in out and "生成清朝僵尸" in out
        assert "修复（不安全）：把 rank 设为 8" in out
        assert f"发现 {total} 个问题（{errors} 个错误，{warnings} 个警告，{info} 条提示）" in out
        assert "cyberpunk" not in out and "Found" not in out
    forced = loratui("doctor", str(cfg), "--vram", "8GB", "--lang", "en", LANG="zh_CN.UTF-8")
    assert forced.stdout == english.stdout


def test_all_checks_passed_in_chinese(tmp_path: Path):
    cfg = write(tmp_path, "loratui.toml", "[network]\nrank = 8\n")
    out = loratui("doctor", str(cfg), "--select", "CF102", "--lang", "zh")
    assert out.returncode == 0 and out.stdout.strip() == "全部检查通过（共 1 项输入）。"


def test_json_keeps_english_and_adds_chinese_when_asked(tmp_path: Path):
    cfg = write(tmp_path, "my_lora.json", KOHYA)
    plain = json.loads(loratui("doctor", str(cfg), "--vram", "8GB", "--format", "json",
                               LANG="zh_CN.UTF-8", LORATUI_LANG="en").stdout)
    chinese = json.loads(loratui("doctor", str(cfg), "--vram", "8GB", "--format", "json",
                                 "--lang", "zh").stdout)
    assert not any("message_zh" in d for d in plain["diagnostics"])
    by_code = {d["code"]: d for d in chinese["diagnostics"]}
    rank = by_code["CF102"]
    english = next(d for d in plain["diagnostics"] if d["code"] == "CF102")
    assert rank["message"] == english["message"]  # English text stays as it was
    assert "赛博朋克蟑螂人" in rank["message_zh"] and rank["title_zh"] == "LoRA 网络维度 rank 超出指南范围"
    assert rank["fix"]["title"] == english["fix"]["title"]
    assert rank["fix"]["title_zh"].startswith("把 rank 设为 8")
    assert {k for d in chinese["diagnostics"] for k in d} - {"message_zh", "title_zh"} == \
        {k for d in plain["diagnostics"] for k in d}


def test_sarif_in_chinese_still_validates(tmp_path: Path):
    import jsonschema

    schema = json.loads((Path(__file__).parent / "sarif-2.1.0-subset.schema.json")
                        .read_text(encoding="utf-8"))
    cfg = write(tmp_path, "my_lora.json", KOHYA)
    doc = json.loads(loratui("doctor", str(cfg), "--vram", "8GB", "--format", "sarif",
                             "--lang", "zh").stdout)
    jsonschema.validate(doc, schema)
    result = next(r for r in doc["runs"][0]["results"] if r["ruleId"] == "CF102")
    assert result["message"]["text"].startswith("network_dim = 64 is above 16")
    assert "赛博朋克蟑螂人" in result["properties"]["message_zh"]
    rule = next(r for r in doc["runs"][0]["tool"]["driver"]["rules"] if r["id"] == "CF102")
    assert rule["shortDescription"]["text"] == "LoRA rank above the guide's range"
    assert rule["properties"]["title_zh"] == "LoRA 网络维度 rank 超出指南范围"


def test_rule_explanation_and_list_in_chinese():
    rule = loratui("rule", "CF102", "--lang", "zh")
    assert rule.returncode == 0
    out = rule.stdout
    assert out.startswith("# rank-too-high (CF102)\nLoRA 网络维度 rank 超出指南范围\n")
    for heading in ("## 检查什么", "## 为什么有问题？", "## 示例", "## 修复的安全性"):
        assert heading in out
    assert "rank 就是容量" in out and "严重程度：警告" in out
    assert "network_dim = 64, network_alpha = 64" in out  # the example is the user's config
    english = loratui("rule", "CF102", LANG="C")
    assert "## Why is this bad?" in english.stdout and "rank 就是容量" not in english.stdout
    listed = loratui("doctor", "--list-rules", "--lang", "zh")
    line = next(x for x in listed.stdout.splitlines() if x.startswith("PR102 "))
    assert "stacked-weights-too-high" in line or "PR102" in line
    assert line.rstrip().endswith("叠加的 LoRA 权重之和超过 1.2")
    assert "条规则" in listed.stderr
    as_json = json.loads(loratui("rule", "PR103", "--format", "json", "--lang", "zh").stdout)
    assert as_json[0]["zh"]["why"].startswith("“没这个冒号插件不认！”")


def test_computed_message_parts_follow_the_language(tmp_path: Path):
    from loratui import i18n
    from loratui.doctor.registry import Text, TextList
    from loratui.i18n import N_

    part = Text(N_("the estimate is {gb} GB"), gb="32.1")
    assert str(part) == f"{part}" == "the estimate is 32.1 GB"
    try:
        i18n.set_language("zh")
        assert part.localized() == "估计需要 32.1 GB"
        assert str(part) == "the estimate is 32.1 GB"  # English wherever a string is made
        causes = TextList([Text(N_("batch size {batch}"), batch=4),
                           Text(N_("no gradient checkpointing"))])
        assert str(causes) == "batch size 4, no gradient checkpointing"
        assert causes.localized() == "批量大小 4，没开梯度检查点"
        i18n.set_language("en")
        assert part.localized() == "the estimate is 32.1 GB"
    finally:
        i18n.set_language(None)
    cfg = write(tmp_path, "my_lora.json", KOHYA)
    data = json.loads(loratui("doctor", str(cfg), "--vram", "8GB", "--format", "json",
                              "--lang", "zh").stdout)
    batch = next(d for d in data["diagnostics"] if d["code"] == "CF110")
    assert "the estimate is" in batch["message"] and "估计需要" not in batch["message"]
    assert "估计需要" in batch["message_zh"] and "estimate" not in batch["message_zh"]


def test_prompt_findings_in_chinese_keep_the_guides_words():
    out = loratui("doctor", "--prompt", "<lora:hanfu:0.8 lbw=MIDD> <lora:ink:0.7:lbw=1,1,0>",
                  "--format", "json", "--lang", "zh")
    by_code = {d["code"]: d for d in json.loads(out.stdout)["diagnostics"]}
    colon = by_code["PR103"]
    assert "without this colon the plugin ignores it" in colon["message"]
    assert "“没这个冒号插件不认！”" in colon["message_zh"] and "`:lbw=MIDD`" in colon["message_zh"]
    assert "分层权重向量有 3 个值" in by_code["PR105"]["message_zh"]
    assert "克苏鲁新娘" in by_code["PR102"]["message_zh"]


def test_out_of_memory_log_in_chinese(tmp_path: Path):
    log = write(tmp_path, "train.log", "steps:  12%| 120/1000\ntorch.cuda.OutOfMemoryError: CUDA "
                "out of memory. Tried to allocate 20.00 MiB (GPU 0; 7.76 GiB total capacity; "
                "6.1 GiB already allocated)\n")
    zh = loratui("doctor", str(log), "--lang", "zh").stdout
    en = loratui("doctor", str(log), LANG="C").stdout
    assert "显存不够了：分配 20.00 MiB 时，显卡共 7.76 GiB [E10, P12, P14]" in zh
    assert "the GPU ran out of memory while allocating 20.00 MiB on a 7.76 GiB card" in en


def test_list_rules_severity_and_fix_columns_in_chinese():
    english = loratui("doctor", "--list-rules", LANG="C").stdout.splitlines()
    listed = loratui("doctor", "--list-rules", "--lang", "zh")
    lines = listed.stdout.splitlines()
    cf101 = next(x for x in lines if x.startswith("CF101 "))
    assert " 警告  修复*  P3,P4,D10" in cf101 and "warning" not in cf101
    assert " warning  fix*  P3,P4,D10" in next(x for x in english if x.startswith("CF101 "))
    words = {w for x in lines if x[:1].isupper() and x[1:2].isupper()
             for w in x.split()[2:4]}
    assert {"错误", "警告", "提示"} <= words and {"修复", "修复*", "建议"} & words
    assert not words & {"error", "warning", "info", "fix", "fix*", "help"}
    assert "修复* = --unsafe-fixes" in " ".join(listed.stderr.split())


def test_unreadable_inputs_are_named_in_chinese(tmp_path: Path):
    broken = write(tmp_path, "broken.json", '{"learning_rate": 1e-4,')
    a_list = write(tmp_path, "list.json", "[1, 2]")
    folder = tmp_path / "empty"
    folder.mkdir()
    (folder / "notes.md").write_text("nothing to check", encoding="utf-8")
    alone = loratui("doctor", str(broken), str(a_list), str(folder), "--lang", "zh")
    assert alone.returncode == 2
    err = alone.stderr
    assert f"{broken}: 不是有效的 JSON：" in err and "line 1 column" in err
    assert f"{a_list}: kohya_ss 配置是一个 JSON 对象；这个文件里是 list" in err
    assert f"{folder}: 文件夹里没有 doctor 能读的东西（" in err and "用 --as 指定类型（loratui, " in err
    assert "not valid JSON" not in err and "cannot tell" not in err
    cfg = write(tmp_path, "my_lora.json", KOHYA)        # beside a readable one: DR002
    mixed = loratui("doctor", str(cfg), str(broken), "--vram", "8GB", "--lang", "zh")
    assert "DR002" in mixed.stdout and "不是有效的 JSON：" in mixed.stdout
    as_json = json.loads(loratui("doctor", str(broken), "--format", "json",
                                 "--lang", "zh").stdout)
    info = as_json["inputs"][0]
    assert info["error"].startswith("not valid JSON: ")           # English stays the key
    assert info["error_zh"].startswith("不是有效的 JSON：")
    english = loratui("doctor", str(broken), LANG="C")
    assert "not valid JSON: " in english.stderr and "不是" not in english.stderr


def test_a_broken_image_is_named_with_its_fix_in_chinese(tmp_path: Path):
    from PIL import Image

    root = tmp_path / "set"
    root.mkdir()
    for i in range(3):
        Image.new("RGB", (512, 512), (40 * i, 0, 0)).save(root / f"ok{i}.png")
    (root / "noise.png").write_bytes(b"garbage, not an image\n")
    zh = loratui("doctor", str(root), "--lang", "zh").stdout
    assert "noise.png：不是图片：Pillow 认不出它的内容；请重新导出或删掉它" in zh, zh
    assert "corrupt" not in zh
    english = loratui("doctor", str(root), "--format", "json", "--lang", "zh").stdout
    (ds110,) = [d for d in json.loads(english)["diagnostics"] if d["code"] == "DS110"]
    assert ds110["message"].endswith("noise.png: not an image: Pillow cannot identify its "
                                      "content; re-export it or delete it")


def test_the_quick_scans_pillow_error_is_wrapped_in_a_chinese_sentence(tmp_path: Path):
    from loratui import i18n
    from loratui.doctor.inputs.dataset import scan_folder

    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "x.png").write_bytes(b"garbage")
    (img,) = scan_folder(str(tmp_path)).images
    assert str(img.error).startswith("sub/x.png: Pillow cannot open it (UnidentifiedImageError: "
                                     "cannot identify image file")
    i18n.set_language("zh")
    try:
        shown = i18n.localized(img.error)
    finally:
        i18n.set_language(None)
    assert shown.startswith("sub/x.png：Pillow 打不开它（UnidentifiedImageError: cannot identify")
    assert shown.endswith("）；请重新导出或删掉它")


def test_keys_named_together_are_joined_the_chinese_way(tmp_path: Path):
    both = json.dumps({"cache_latents": True, "color_aug": True, "random_crop": True})
    cfg = write(tmp_path, "aug.json", both)
    zh = loratui("doctor", str(cfg), "--lang", "zh").stdout
    assert "cache_latents 与 color_aug 和 random_crop 同时开启" in zh, zh
    english = loratui("doctor", str(cfg), "--lang", "en").stdout
    assert "cache_latents with color_aug and random_crop:" in english, english


def test_a_list_of_names_uses_the_languages_separators():
    from loratui import i18n
    from loratui.doctor.registry import TextList

    three = TextList(["color_aug", "random_crop", "flip_aug"], "items")
    assert str(three) == "color_aug, random_crop and flip_aug"
    assert str(TextList(["color_aug"], "items")) == "color_aug"
    i18n.set_language("zh")
    try:
        assert three.localized() == "color_aug、random_crop 和 flip_aug"
    finally:
        i18n.set_language(None)

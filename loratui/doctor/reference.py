"""The doctor's rule reference in Simplified Chinese (`docs/doctor.zh-CN.md`), written from
the rules' `[rule.zh]` tables: `python -m loratui.doctor.reference > docs/doctor.zh-CN.md`.
A test keeps the committed file in sync with the rules."""

from __future__ import annotations

from loratui.doctor.catalog import Catalog, Rule, load_catalog

# Rule files in the order the reference lists them, with their section titles.
SECTIONS = (("config.toml", "训练配置（loratui.toml、kohya_ss、sd-scripts、命令行）"),
            ("dataset.toml", "训练集"),
            ("dataset-scan.toml", "训练集扫描（`loratui dataset scan`）"),
            ("log.toml", "训练日志和报错"),
            ("lora.toml", "LoRA 文件"),
            ("usage.toml", "提示词和 ComfyUI 工作流"),
            ("run.toml", "训练目录和本机环境"))
SEVERITY = {"error": "错误", "warning": "警告", "info": "提示"}
FIX = {"safe": "`--fix`", "unsafe": "`--unsafe-fixes`", "display-only": "建议"}
# PITFALLS.md P1–P34 in a few words each, in the guide's language.
PITFALLS = (
    "图像和文本描述必须对应", "训练集 100~300 张", "SD1.5 锁死 512x512", "批量改尺寸（裁剪或分桶）",
    "BLIP 自动打标，再人工修改、过滤", "图片来源和标注保持一致", "触发词带专属前缀（`hanfu_girl_`）",
    "UNet 学习率 1e-4", "文本编码器学习率 5e-6（过高：清朝僵尸）", "rank 8-16（32：赛博朋克蟑螂人）",
    "alpha 为 rank 的 1~1.5 倍", "batch 1 配合梯度累积 4 步（8G 显存）", "10 轮",
    "fp16 + 梯度检查点 + xformers，别上来就 float32", "颜色失真：--no_half_vae",
    "硬件：单张 4090，8G 也能训", "权重从 0.6 起步", "风格 0.6-0.8，人物 0.75-0.9，超过 0.95 易崩",
    "多 LoRA 权重相加≤1.2", "出马赛克：降 rank（16→8）", "救不活：权重 0.3 再叠同类 LoRA",
    "分层权重要冒号（`:lbw=`）", "XYZ 图表对比各层", "核心层 / 边缘层 / 污染层的权重",
    "找到污染层归零", "用同类模型生成正则图", "动态权重：1/3 步数后 1.0→0.7",
    "标签污染：每张图塞 1 个错误标签", "输出 .safetensors", "WebUI：放进 models/Lora/",
    "ComfyUI：手动建节点或用社区工作流", "notebook 没释放显存：nvidia-smi + kill",
    "风格崩溃：来源和标注要统一", "保存失败：用绝对路径，检查目录是否存在")


def _cell(text: str) -> str:
    return " ".join(text.split()).replace("|", "\\|")


def _row(rule: Rule) -> str:
    fix = (rule.fix or {}).get("applicability")
    how = f"{FIX[fix]}：{rule.text('fix')}" if fix and rule.text("fix") else FIX.get(fix, "")
    return (f"| {rule.code} | `{rule.name}` | {SEVERITY[rule.severity]} | "
            f"{_cell(rule.text('title'))} | {_cell(how)} | {', '.join(rule.refs)} |")


def _family_thresholds(catalog: Catalog) -> list[str]:
    """A row per threshold that some model family's `[doctor]` table changes."""
    from loratui.doctor.engine import family_thresholds
    from loratui.families import NAMES, ids

    fams = [f for f in ids() if f != "sd15"]
    rows = []
    for rule in catalog.rules:
        changed = family_thresholds(rule)
        for name, default in rule.thresholds.items():
            if any(name in diff for diff in changed.values()):
                values = [changed.get(f, {}).get(name, default) for f in ["sd15", *fams]]
                rows.append(f"| {rule.code} | `{name}` | "
                            + " | ".join(f"{v!r}" for v in values) + " |")
    if not rows:
        return []
    return ["", "## 按模型系列的阈值", "",
            "规则自带的阈值是指南的数字（SD1.5）；输入显示为其他模型系列时（配置的 SDXL 开关、"
            "训练脚本、底模，或 LoRA 的张量），换成 `data/<系列>/family.toml` 的 `[doctor]` 表；"
            "你在 loratui.toml 的 `[doctor]` 或 `--set` 里设的值仍然优先。"
            "`loratui rule 代码 --lang zh` 也会列出。", "",
            "| 代码 | 阈值 | SD1.5 | " + " | ".join(NAMES[f] for f in fams) + " |",
            "|---|---|---|" + "---|" * len(fams), *rows]


def render(catalog: Catalog | None = None) -> str:
    catalog = catalog or load_catalog(lang="zh")
    lines = [
        "# loratui doctor 规则参考",
        "",
        "<!-- 由 `python -m loratui.doctor.reference > docs/doctor.zh-CN.md` 从 rules/*.toml "
        "生成，请勿手改 -->",
        "",
        "`loratui doctor` 检查训练配置、训练集、日志、LoRA 文件、提示词和工作流，对照指南里的"
        "坑（PITFALLS.md 的 P1–P34）和用户常遇到的故障（FAILURES.md），给出修复办法。"
        "用中文显示：`loratui doctor PATH --lang zh`，或设置 `LORATUI_LANG=zh`。",
        "",
        "```",
        "loratui doctor my_lora.json --vram 8GB --lang zh   # 诊断一个 kohya_ss 配置",
        "loratui rule CF102 --lang zh                       # 解释一条规则",
        "```",
        "",
        "每条发现都有固定的代码、名字、严重程度和对应的条目（P = PITFALLS.md，"
        "C/D/E/R/O = FAILURES.md）；代码和名字在各种语言里都一样。修复一栏：`--fix` 是安全修复，"
        "`--unsafe-fixes` 会改变训练效果，“建议”只显示不修改。修复里的 `{…}` 由发现时的实际值填入。",
        "",
        f"共 {len(catalog.rules)} 条规则。English: [doctor.md](doctor.md)。",
    ]
    listed: set[str] = set()
    for file, title in SECTIONS:
        rules = [r for r in catalog.rules if r.file == file]
        if not rules:
            continue
        listed.update(r.code for r in rules)
        lines += ["", f"## {title}", "", "| 代码 | 名字 | 严重程度 | 标题 | 修复 | 对应 |",
                  "|---|---|---|---|---|---|"]
        lines += [_row(r) for r in rules]
    others = [r for r in catalog.rules if r.code not in listed]
    if others:
        lines += ["", "## 其他", "", "| 代码 | 名字 | 严重程度 | 标题 | 修复 | 对应 |",
                  "|---|---|---|---|---|---|"]
        lines += [_row(r) for r in others]
    lines += _family_thresholds(catalog)
    lines += ["", "## 指南里的坑（PITFALLS.md）和检查它们的规则", "",
              "| 坑 | 指南的建议或翻车 | 规则 |", "|---|---|---|"]
    for n, text in enumerate(PITFALLS, start=1):
        codes = [r.code for r in catalog.rules if f"P{n}" in r.refs]
        lines.append(f"| P{n} | {_cell(text)} | {', '.join(codes) or '向导里处理'} |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    import sys

    sys.stdout.reconfigure(encoding="utf-8")
    sys.stdout.write(render())

"""A Chinese user's sweep of the command line: normal runs and error paths (a missing file,
bad TOML and JSON, wrong values, a pickle, an empty folder) run with `--lang zh`, and no
English sentence of the message catalogue may show up in what they print. A message that
reaches the screen without `localized()` / `_()` (a plain f-string, `str()` of a Message)
prints its English msgid, which this finds; file names, codes and the tools' own detail
text (a parser's "Expecting value: line 1") are not catalogue messages and stay."""

from __future__ import annotations

import json
import re
from functools import cache
from pathlib import Path

import pytest

from loratui import i18n
from tests.inprocess_cli import run_in_process

PO = Path(i18n.LOCALE_DIR) / "zh" / "LC_MESSAGES" / "loratui.po"
# a placeholder, Rich markup or a `code span` splits a msgid into the fragments searched for
SPLIT = re.compile(r"\{[^}]*\}|%\(?\w*\)?[sdr]|\[/?[a-z #]*\]|`[^`]*`")


@cache
def catalogue_fragments() -> tuple[tuple[str, re.Pattern], ...]:
    """(msgid, pattern) for each English run of two or more words in a translated msgid
    that its translation does not keep as it is (a command, a product name)."""
    from babel.messages.pofile import read_po

    with PO.open("rb") as fh:
        catalog = read_po(fh)
    found = []
    for message in catalog:
        if not message.id:
            continue
        ids = message.id if isinstance(message.id, tuple) else (message.id,)
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        translation = " ".join(s for s in strings if s)
        for msgid in ids:
            for fragment in SPLIT.split(msgid):
                words = re.findall(r"[A-Za-z]{2,}", fragment)
                fragment = fragment.strip(" ,;:.()")
                if len(words) < 2 or len(fragment) < 10 or fragment in translation:
                    continue
                tokens = [re.escape(t) for t in fragment.split()]
                found.append((msgid, re.compile(r"(?<![\w-])" + r"\s+".join(tokens) +
                                                r"(?![\w-])")))
    return tuple(found)


QUOTED = re.compile(r"“[^”]*”|`[^`]*`|\"[^\"]*\"")   # what a log or a file says, quoted


def untranslated(output: str, source: str = "") -> set[str]:
    """The catalogue msgids whose English shows in `output` (wrapped lines are joined),
    outside quotes and not copied from the `source` it read (a log line the doctor quotes
    is the trainer's English: "CUDA out of memory")."""
    flat = QUOTED.sub(" ", " ".join(output.split()))
    source = " ".join(source.split())
    return {msgid for msgid, pattern in catalogue_fragments()
            if pattern.search(flat) and not pattern.search(source)}


def unfilled(output: str) -> set[str]:
    """Placeholders left in the text (`{value}`): a message given fewer values than its
    template names."""
    return {f"(unfilled {p})" for p in re.findall(r"\{[a-z_]+\}", QUOTED.sub(" ", output))}


def run_cli(argv: list[str], monkeypatch) -> tuple[int, str]:
    """(exit status, stdout + stderr) of `loratui ARGV` run in this process."""
    code, out, err = run_in_process(argv, monkeypatch, columns=120, NO_COLOR="1")
    return code, out + err


@pytest.fixture(autouse=True)
def _no_language_setting(clean_language):
    """Every test here starts from no language setting at all (English)."""


@pytest.fixture
def inputs(tmp_path: Path) -> Path:
    """The files a user brings, broken in the usual ways."""
    import numpy as np
    from PIL import Image
    from safetensors.numpy import save_file

    (tmp_path / "bad.toml").write_text("[network\nrank = 8\n", encoding="utf-8")
    (tmp_path / "bad.json").write_text('{"network_dim": 8,,}', encoding="utf-8")
    (tmp_path / "ok.toml").write_text("[network]\nrank = 8\n", encoding="utf-8")
    (tmp_path / "sdscripts.toml").write_text(   # no alpha, no learning rate: defaults
        'pretrained_model_name_or_path = "model.safetensors"\nnetwork_module = '
        '"networks.lora"\nnetwork_dim = 4\ntrain_data_dir = "train"\n', encoding="utf-8")
    (tmp_path / "model.ckpt").write_bytes(b"\x80\x02}q\x00.")
    (tmp_path / "lora.pt").write_bytes(b"PK\x03\x04" + b"\0" * 64)
    (tmp_path / "garbage.safetensors").write_bytes(b"hello world, not a safetensors file")
    key = "lora_unet_mid_block_attentions_0_proj_in"
    save_file({f"{key}.lora_down.weight": np.ones((2, 8), np.float16),
               f"{key}.lora_up.weight": np.ones((8, 2), np.float16),
               f"{key}.alpha": np.array(2.0, np.float16)}, str(tmp_path / "small.safetensors"))
    images = tmp_path / "train"
    images.mkdir()
    for n in range(3):
        Image.new("RGB", (64, 64), (n * 60, 90, 120)).save(images / f"{n}.png")
        (images / f"{n}.txt").write_text("sks_girl, smiling", encoding="utf-8")
    (tmp_path / "empty").mkdir()
    run = tmp_path / "runs" / "my_lora-20260101-120000"
    run.mkdir(parents=True)
    (run / "state.json").write_text(json.dumps({"state": "created", "name": "my_lora"}),
                                    encoding="utf-8")
    done = tmp_path / "runs" / "my_lora-20260101-100000"
    done.mkdir()
    (done / "state.json").write_text(json.dumps({"state": "finished", "name": "my_lora"}),
                                     encoding="utf-8")
    (done / "events.jsonl").write_text(json.dumps(   # as the trainer writes a sample event
        {"time": "2026-01-01T10:00:05+00:00", "type": "sample", "message": "2 sample images",
         "paths": ["samples/a.png", "samples/b.png"]}) + "\n", encoding="utf-8")
    return tmp_path


def sweep(d: Path) -> list[list[str]]:
    """The command lines, run in `d` (the `inputs` folder)."""
    out = str(d / "out")
    return [
        ["config", "check", f"{d}/bad.toml"],
        ["config", "show", f"{d}/missing.toml"],
        ["config", "import", f"{d}/bad.json", "-o", f"{out}/a.toml"],
        ["config", "import", f"{d}/missing.json", "-o", f"{out}/b.toml"],
        ["presets", "--gpu", "lots"],
        ["presets", "--gpu", "8GB"],
        ["presets", "--gpu", "8GB", "--write", f"{d}/bad.toml"],
        ["presets", "--gpu", "8GB", "--write", f"{d}/ok.toml/x.toml"],   # cannot be written
        ["doctor", "--vram", "lots", f"{d}/ok.toml"],
        ["doctor", f"{d}/model.ckpt", f"{d}/lora.pt", f"{d}/garbage.safetensors"],
        ["doctor", f"{d}/sdscripts.toml"],
        ["doctor", f"{d}/bad.json"],
        ["dataset", "scan", f"{d}/train", "--resolution", "-5"],
        ["dataset", "scan", f"{d}/empty"],
        ["dataset", "caption", f"{d}/train", "--add-prefix", "sks_girl"],
        ["dataset", "caption", f"{d}/train", "--model", f"{d}/missing", "--in-place"],
        ["dataset", "trigger", f"{d}/train", "sks_girl", "--insert"],
        ["lora", "inspect", f"{d}/model.ckpt"],
        ["lora", "resize", f"{d}/small.safetensors", "--rank", "1", "-o",
         f"{d}/ok.toml/r.safetensors"],
        ["lora", "convert", f"{d}/small.safetensors", "--to", "peft", "-o",
         f"{out}/peft.safetensors"],
        ["train", f"{d}/bad.toml"],
        ["train", "--resume", "nosuch", f"{d}/ok.toml"],
        ["runs", "--dir", f"{d}/runs"],
        ["watch", f"{d}/missing.log", "--once"],
        ["watch", str(PASTES / "gtx1650-loss-nan.txt"), "--once"],   # the live doctor
        ["watch", f"{d}/empty", "--once"],
        ["rule", "nosuchrule"],
    ]


PASTES = Path(__file__).resolve().parents[1] / "doctor" / "cases" / "pastes"


def test_the_doctor_on_real_pastes_speaks_chinese(monkeypatch):
    """Every log, command line and config users paste into issues, diagnosed in Chinese:
    the rules' own words come from `[rule.zh]`, what a predicate computes from Messages."""
    english = {}
    for paste in sorted(PASTES.glob("*.txt")):
        _code, shown = run_cli(["--lang", "zh", "doctor", str(paste)], monkeypatch)
        found = untranslated(shown, paste.read_text(encoding="utf-8", errors="replace")) | \
            unfilled(shown)
        if found:
            english[paste.name] = (sorted(found), shown)
    assert not english, json.dumps(english, ensure_ascii=False, indent=1)


def test_the_sweep_finds_an_untranslated_message(inputs, monkeypatch):
    """The check can fail: a message that reaches the screen as a plain string (not a
    Message, not through `_()`) shows its English, and the sweep names it."""
    from loratui.config import io

    argv = ["--lang", "zh", "config", "check", f"{inputs}/bad.toml"]
    _code, shown = run_cli(argv, monkeypatch)
    assert "不是有效的 TOML" in shown and untranslated(shown) == set()
    monkeypatch.setattr(io, "SYNTAX_FIX", "fix the syntax at that place")   # a plain str
    _code, shown = run_cli(argv, monkeypatch)
    assert "fix the syntax at that place" in shown
    assert untranslated(shown) == {"fix the syntax at that place"}


def test_every_command_speaks_chinese(inputs, monkeypatch):
    monkeypatch.chdir(inputs)
    english = {}
    for command in sweep(inputs):
        _code, shown = run_cli(["--lang", "zh", *command], monkeypatch)
        found = untranslated(shown)
        if not re.search(r"[\u4e00-\u9fff]", shown):
            found.add("(no Chinese at all)")
        found.update(unfilled(shown))
        if found:
            english[" ".join(command)] = (sorted(found), shown)
    assert not english, json.dumps(english, ensure_ascii=False, indent=1)


def test_the_words_the_sweep_cannot_see(inputs, monkeypatch):
    """One-word messages the fragment search leaves out: a run's state and the VRAM
    estimate's rows."""
    _code, shown = run_cli(["--lang", "zh", "runs", "--dir", f"{inputs}/runs"], monkeypatch)
    assert "已创建" in shown and "created" not in shown
    _code, shown = run_cli(["--lang", "zh", "presets", "--gpu", "8GB"], monkeypatch)
    assert "冻结的权重" in shown and "激活" in shown and "frozen" not in shown
    _code, shown = run_cli(["--lang", "zh", "attach", "--dir", f"{inputs}/runs",
                            "my_lora-20260101-100000", "--once"], monkeypatch)
    assert "样图" in shown and "2 张样图" in shown and "sample" not in shown, shown
    _code, shown = run_cli(["--lang", "zh", "config", "show", f"{inputs}/ok.toml"], monkeypatch)
    assert shown.startswith("# loratui 训练配置：`loratui config check` 检查它，"), shown[:200]
    assert "rank = 8 # LoRA 网络维度 rank（network_dim）：每个适配器的容量" in shown
    monkeypatch.setenv(i18n.ENV_VAR, "zh")    # the variable as well as --lang
    _code, shown = run_cli(["config", "import", f"{inputs}/missing.json", "-o",
                            f"{inputs}/x.toml"], monkeypatch)
    assert "不是可读的 kohya_ss JSON 配置：找不到文件；检查路径" in shown, shown

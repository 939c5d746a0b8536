"""Fixes compose: `--fix --unsafe-fixes` on every fixable case clears what it fixed and adds
nothing; several fixes to one file keep their relations (alpha / rank)."""

from __future__ import annotations

import json

import pytest

from loratui.cli import main
from loratui.doctor.fixer import fixable

from .helpers import run_doctor, write
from .test_cases import all_cases


def _found(diags) -> set[tuple[str, str | None]]:
    return {(d.code, d.location.key) for d in diags}


def _fixable_cases():
    """Cases whose rule can write a fix (display-only rules only advise)."""
    from loratui.doctor.catalog import load_catalog

    catalog = load_catalog()
    writes = {r.code for r in catalog.rules
              if (r.fix or {}).get("applicability", "display-only") != "display-only"}
    out = []
    for case in all_cases():
        if case["fire"] and case.get("kind") != "prompt" and case["rule"] in writes:
            out.append(pytest.param(case, id=f"{case['rule']}-{case['file']}-{len(out)}"))
    return out


@pytest.mark.parametrize("case", _fixable_cases())
def test_fix_clears_what_it_fixed_and_adds_nothing(case, tmp_path, monkeypatch, capsys):
    for k, v in case.get("env", {}).items():
        monkeypatch.setenv(k, v)
    path = write(tmp_path, case["file"], case["content"])
    args = case.get("args", [])
    before, _ = run_doctor([path], args=args)
    to_fix = fixable(before, unsafe=True)
    if not to_fix:
        pytest.skip("nothing writable to fix in this case")
    assert main(["doctor", str(path), "--fix", "--unsafe-fixes", "--format", "json", *args]) \
        in (0, 1)
    report = json.loads(capsys.readouterr().out)
    assert report["summary"]["fixed"] == len(to_fix), report
    after, inputs = run_doctor([path], args=args)
    assert all(i.error is None for i in inputs), [i.error for i in inputs]
    assert not _found(to_fix) & _found(after), [d.message for d in after]
    assert _found(after) <= _found(before), [d.to_dict() for d in after
                                             if (d.code, d.location.key) not in _found(before)]
    backups = list(tmp_path.glob(path.name + ".*.bak"))
    assert [b.read_text(encoding="utf-8") for b in backups] == [case["content"]]


@pytest.mark.parametrize(("name", "content"), [
    ("loratui.toml", "[network]\nrank = 64\nalpha = 128.0\n"),
    ("loratui.toml", "[network]\nrank = 128\nalpha = 1.0\n"),
    ("k.json", json.dumps({"network_dim": "64", "network_alpha": "256",
                           "LoRA_type": "Standard"}, indent=2)),
    ("config.toml", "pretrained_model_name_or_path = \"/m/v1-5-pruned.safetensors\"\n"
     "network_dim = 96\nnetwork_alpha = 2\n"),
])
def test_rank_and_alpha_fixes_leave_alpha_within_the_guides_range(name, content, tmp_path):
    path = write(tmp_path, name, content)
    before, _ = run_doctor([path])
    assert {"CF102"} <= {d.code for d in before}
    assert main(["doctor", str(path), "--unsafe-fixes", "--exit-zero"]) == 0
    after, inputs = run_doctor([path])
    facts = inputs[0].facts
    rank, alpha = float(facts.get("network_dim")), float(facts.get("network_alpha"))
    assert rank == 8 and 1.0 <= alpha / rank <= 1.5, (rank, alpha)
    assert not {"CF102", "CF103", "CF104"} & {d.code for d in after}


def test_fixes_to_one_file_are_merged_before_writing(tmp_path):
    """The alpha fix owns alpha; the rank fix only carried it along: one write, alpha = rank."""
    from loratui.doctor.fixer import merge_edits
    from loratui.doctor.model import Relative

    path = write(tmp_path, "loratui.toml", "[network]\nrank = 64\nalpha = 128.0\n")
    diags, _ = run_doctor([path])
    edits = merge_edits(fixable(diags, unsafe=True))
    alpha = edits[("network", "alpha")]
    assert isinstance(alpha, Relative) and alpha.factor == 1.0
    assert list(edits)[-1] == ("network", "alpha")  # resolved after the rank is written


def _real_configs():
    from pathlib import Path

    kohya = Path(__file__).resolve().parents[1] / "fixtures" / "kohya_ss_presets"
    files = sorted(kohya.glob("*.json")) + sorted((kohya / "test_config").glob("*.json"))
    return [pytest.param(f, id=f.name) for f in files]


@pytest.mark.parametrize("source", _real_configs())
def test_all_fixes_at_once_on_real_kohya_configs(source, tmp_path, capsys):
    """Every fix the doctor offers on a real kohya_ss config, applied together on a small
    card: what was fixed is gone, nothing new appears, the JSON stays kohya_ss's."""
    path = tmp_path / source.name
    path.write_bytes(source.read_bytes())
    args = ["--vram", "6GB"]
    before, _ = run_doctor([path], args=args)
    to_fix = fixable(before, unsafe=True)
    main(["doctor", str(path), "--unsafe-fixes", "--format", "json", *args])
    capsys.readouterr()
    after, inputs = run_doctor([path], args=args)
    assert inputs[0].error is None
    assert not _found(to_fix) & _found(after), [d.message for d in after]
    assert _found(after) <= _found(before)
    assert set(json.loads(path.read_text(encoding="utf-8"))) == \
        set(json.loads(source.read_text(encoding="utf-8"))) | \
        {k[0] for d in to_fix for k in d.fix.edits}


@pytest.mark.parametrize("encoding", ["utf-16", "utf-8-sig"])
def test_fixes_keep_a_utf16_or_bom_config_in_its_encoding(encoding, tmp_path):
    """A config PowerShell wrote as UTF-16 (or an editor with a BOM) is fixed like any other
    and stays in its encoding; the original is kept as a backup."""
    path = tmp_path / "loratui.toml"
    original = "[network]\r\nrank = 128\r\nalpha = 1.0\r\n".encode(encoding)
    path.write_bytes(original)
    assert main(["doctor", str(path), "--unsafe-fixes", "--exit-zero"]) == 0
    raw = path.read_bytes()
    assert raw[:2] == original[:2] and raw != original
    text = raw.decode(encoding)
    assert "rank = 8" in text and "\r\n" in text
    after, _ = run_doctor([path])
    assert not {"CF102", "CF103", "CF104"} & {d.code for d in after}
    assert [p.read_bytes() for p in tmp_path.glob("loratui.toml.*.bak")] == [original]

"""Per-rule cases from tests/doctor/cases/*.toml: each rule fires and stays quiet."""

from __future__ import annotations

from pathlib import Path

import pytest

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib  # type: ignore[no-redef]

from .helpers import codes, run_doctor, write

CASES_DIR = Path(__file__).parent / "cases"


def _cases():
    out = []
    for f in sorted(CASES_DIR.glob("*.toml")):
        for i, case in enumerate(tomllib.loads(f.read_text(encoding="utf-8"))["case"]):
            tag = "fires" if case["fire"] else "quiet"
            out.append(pytest.param(case, id=f"{case['rule']}-{tag}-{f.stem}{i}"))
    return out


def all_cases():
    return [p.values[0] for p in _cases()]


@pytest.mark.parametrize("case", _cases())
def test_case(case, tmp_path, monkeypatch):
    for k, v in case.get("env", {}).items():
        monkeypatch.setenv(k, v)
    if case.get("kind") == "prompt":
        diags, _ = run_doctor(prompts=[case["content"]], args=case.get("args", []))
    else:
        path = write(tmp_path, case["file"], case["content"])
        diags, inputs = run_doctor([path], args=case.get("args", []))
        assert all(i.error is None for i in inputs), [i.error for i in inputs]
    assert "DR001" not in codes(diags), [d.message for d in diags if d.code == "DR001"]
    if case["fire"]:
        assert case["rule"] in codes(diags), [d.to_dict() for d in diags]
    else:
        assert case["rule"] not in codes(diags), [d.message for d in diags
                                                  if d.code == case["rule"]]

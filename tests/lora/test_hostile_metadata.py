"""A LoRA's metadata is its author's free text: hostile values never stop a tool."""

from __future__ import annotations

import pytest
from lora_helpers import run_cli

DEEP = "[" * 5000 + "]" * 5000


@pytest.mark.parametrize("adapter", [DEEP, "[1, 2]", '{"unet.lora_alpha": "x", '
                                     '"unet.alpha_pattern": [3]}', "{", '"text"'])
def test_hostile_metadata_in_a_peft_file(tiny_a, tmp_path, adapter):
    from safetensors.torch import load_file, safe_open, save_file

    peft = tmp_path / "peft.safetensors"
    assert run_cli("lora", "convert", str(tiny_a), "--to", "peft", "-o", str(peft)).returncode == 0
    with safe_open(str(peft), "pt") as fh:
        meta = dict(fh.metadata() or {})
    meta.update({"lora_adapter_metadata": adapter, "loratui_history": DEEP,
                 "loratui_alpha_dtype": "save", "ss_tag_frequency": DEEP})
    save_file(load_file(str(peft)), str(peft), metadata=meta)
    for args in (["lora", "convert", str(peft), "--to", "kohya", "-o", str(tmp_path / "k.st")],
                 ["lora", "scale", str(peft), "--weight", "0.5", "-o", str(tmp_path / "s.st")],
                 ["lora", "inspect", str(peft), "--json"]):
        r = run_cli(*args)
        assert r.returncode == 0, (args, r.stderr)
        assert "Traceback" not in r.stderr and "unexpected" not in r.stderr


def test_tools_read_and_write_file_names_that_are_not_utf8(tiny_a, tmp_path):
    import os
    import shutil

    src = tmp_path / os.fsdecode(b"caf\xe9.safetensors")          # a Latin-1 name
    shutil.copy(tiny_a, src)
    out = tmp_path / os.fsdecode(b"r\xe9duit.safetensors")
    r = run_cli("lora", "resize", str(src), "--rank", "2", "-o", str(out))
    assert r.returncode == 0, r.stderr
    assert "wrote" in r.stdout and "r\\xe9duit.safetensors" in r.stdout
    inspect = run_cli("lora", "inspect", str(out), "--json")
    assert inspect.returncode == 0 and '"rank"' in inspect.stdout, inspect.stderr

"""Shared helpers: run the doctor in-process on files written by the test."""

from __future__ import annotations

from pathlib import Path

from loratui.doctor.engine import Options, diagnose
from loratui.doctor.util import parse_gb


def run_doctor(paths=(), prompts=(), args=(), as_kind=None):
    args = list(args)
    opts = {}
    i = 0
    while i < len(args):
        if args[i] == "--vram":
            opts["vram_gb"] = parse_gb(args[i + 1])
            i += 2
        elif args[i] == "--base":
            opts["base"] = args[i + 1]
            i += 2
        else:
            raise ValueError(args[i])
    diags, inputs = diagnose([str(p) for p in paths], prompts=list(prompts), as_kind=as_kind,
                             options=Options(**opts))
    return diags, inputs


def codes(diags) -> set[str]:
    return {d.code for d in diags}


def write(tmp: Path, name: str, content: str | bytes) -> Path:
    p = tmp / name
    p.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(content, bytes):
        p.write_bytes(content)
    else:
        p.write_bytes(content.encode("utf-8"))
    return p

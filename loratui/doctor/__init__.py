"""`loratui doctor`: rules as data (`rules/*.toml`), predicates as small functions.

Public API (cheap to import: no pydantic, rich or torch):
    diagnose_config(cfg, ...) -> list[Diagnostic]      a RunConfig or a dict
    diagnose_paths(paths, ...) -> (diagnostics, inputs)
"""

from __future__ import annotations

from typing import Any

from loratui.doctor.engine import Options
from loratui.doctor.model import Diagnostic, Fix, Location

__all__ = ["Diagnostic", "Fix", "Location", "Options", "diagnose_config", "diagnose_paths"]


def diagnose_paths(paths=(), *, prompts=(), as_kind=None, options: Options | None = None):
    from loratui.doctor.engine import diagnose

    return diagnose(paths, prompts=prompts, as_kind=as_kind, options=options)


def diagnose_config(cfg: Any, *, vram_gb: float | None = None, select=None, ignore=None,
                    overrides: dict | None = None, path: str = "loratui.toml"
                    ) -> list[Diagnostic]:
    """Run every config rule on a RunConfig (or its `model_dump()` dict)."""
    from loratui.doctor.catalog import load_catalog
    from loratui.doctor.engine import Context, run_rules
    from loratui.doctor.inputs import Input
    from loratui.doctor.inputs.configs import facts_from_run_config

    inp = Input(path, "loratui")
    inp.facts = facts_from_run_config(cfg)
    table = dict(inp.facts.extra.get("doctor") or {})
    table.update(overrides or {})
    opts = Options(vram_gb=vram_gb, select=select, ignore=ignore, overrides=table,
                   probe_gpu=vram_gb is None)
    return run_rules(Context([inp], opts, load_catalog()))

"""`loratui doctor`: rules as data (`rules/*.toml`), predicates as small functions.

Public API (cheap to import: no pydantic, rich or torch):
    diagnose_config(cfg, ...) -> list[Diagnostic]      a RunConfig or a dict
    diagnose_paths(paths, ...) -> (diagnostics, inputs)
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from loratui.doctor.engine import Options
    from loratui.doctor.model import Diagnostic

__all__ = ["Diagnostic", "Fix", "Location", "Options", "code_for_dataset_kind", "diagnose_config",
           "diagnose_paths", "rule_for_dataset_kind"]

# Imported on first use, so `import loratui.doctor.catalog` (the CLI) stays cheap.
_LAZY = {"Diagnostic": "loratui.doctor.model", "Fix": "loratui.doctor.model",
         "Location": "loratui.doctor.model", "Options": "loratui.doctor.engine"}


def __getattr__(name: str):
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'loratui.doctor' has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(module), name)


def diagnose_paths(paths=(), *, prompts=(), as_kind=None, options: Options | None = None):
    from loratui.doctor.engine import diagnose

    return diagnose(paths, prompts=prompts, as_kind=as_kind, options=options)


def diagnose_config(cfg: Any, *, vram_gb: float | None = None, select=None, ignore=None,
                    overrides: dict | None = None, path: str = "loratui.toml"
                    ) -> list[Diagnostic]:
    """Run every config rule on a RunConfig (or its `model_dump()` dict)."""
    from loratui.doctor.catalog import localized_catalog
    from loratui.doctor.engine import Context, Options, run_rules
    from loratui.doctor.inputs import Input
    from loratui.doctor.inputs.configs import facts_from_run_config, note_base_family

    inp = Input(path, "loratui")
    inp.facts = facts_from_run_config(cfg)
    note_base_family(inp.facts, path)
    table = dict(inp.facts.extra.get("doctor") or {})
    table.update(overrides or {})
    opts = Options(vram_gb=vram_gb, select=select, ignore=ignore, overrides=table,
                   probe_gpu=vram_gb is None)
    return run_rules(Context([inp], opts, localized_catalog()))


def code_for_dataset_kind(kind: str) -> str:
    """The rule code that reports a `loratui.dataset` finding kind ("" when none does)."""
    from loratui.dataset.report import DOCTOR_CODES

    return DOCTOR_CODES.get(kind, "")


def rule_for_dataset_kind(kind: str) -> tuple[str, str, str] | None:
    """(code, name, severity) of the rule that reports a `loratui.dataset` finding kind, as
    `loratui doctor` and `loratui rule CODE` show it; None when no rule does. The rule
    catalog is the one source, so the wizard shows a finding as the CLI does."""
    from loratui.doctor.catalog import load_catalog

    code = code_for_dataset_kind(kind)
    rule = load_catalog().get(code) if code else None
    return (rule.code, rule.name, rule.severity) if rule is not None else None

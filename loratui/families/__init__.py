"""Model families (SD1.5, SDXL): one `Family` per module, backed by `data/<id>/family.toml`.

Training, export, inspection, presets, the VRAM estimate and the doctor ask the family
instead of branching on its name. Adding a family = one module here, its data folder (its
name is `[family] label`), an entry in `_MODULES`, and tests.
"""

from __future__ import annotations

import importlib
from functools import cache
from pathlib import Path

from loratui.families.base import Family, TextEncoderSlot, VramTerms
from loratui.familydata import NAMED_ONLY, family_of_cross_attention, label
from loratui.i18n import N_, Message

_MODULES = {"sd15": "loratui.families.sd15", "sdxl": "loratui.families.sdxl"}


class FamilyError(Exception):
    """An unknown family, or a model.family that contradicts the base model."""


def __getattr__(name: str):
    if name == "NAMES":  # read from the data on first use, not at import
        return names()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


@cache
def names() -> dict[str, str]:
    """Every family and architecture loratui can name: id -> label ("sdxl" -> "SDXL",
    "flux" -> "Flux"); `label` names one."""
    return dict(sorted({**NAMED_ONLY, **{fid: label(fid) for fid in _MODULES}}.items()))


def ids() -> tuple[str, ...]:
    """Families loratui trains."""
    return tuple(_MODULES)


@cache
def get(family_id: str) -> Family:
    if family_id not in _MODULES:
        raise FamilyError(Message(N_("unknown model family {name}; loratui trains {names}"),
                                  name=repr(family_id), names=", ".join(_MODULES)))
    return importlib.import_module(_MODULES[family_id]).FAMILY


def by_lbw_count(n: int) -> Family | None:
    """The family whose LoRA Block Weight layout has `n` weights."""
    for fid in _MODULES:
        if n in get(fid).lbw_layouts:
            return get(fid)
    return None


def detect(base: str | Path) -> str | None:
    """Family id of a base model (sd15 / sd2 / sdxl) from its configs or tensor names."""
    from loratui.basemodel import check_base_model

    return check_base_model(base).family


def family_id_of(cfg) -> str:
    """The family a RunConfig trains, never raising: model.family, else the base model's
    detected family, else sd15 (for presets, estimates and advice)."""
    fam = cfg.model.family
    if fam in _MODULES:
        return fam
    if cfg.model.base:
        detected = detect(Path(cfg.model.base).expanduser())
        if detected in _MODULES:
            return detected
    return "sd15"


def resolve(base: str | Path, requested: str = "auto") -> Family:
    """The family to train: `requested` (model.family) checked against the base model."""
    detected = detect(base) if str(base) else None
    if requested in ("", "auto", None):
        if detected is None:
            return get("sd15")
        if detected not in _MODULES:
            raise FamilyError(Message(N_("{path}: {family} base model; loratui trains "
                                         "{families}"), path=str(base),
                                      family=label(detected),
                                      families=", ".join(names()[f] for f in _MODULES)))
        return get(detected)
    problem = override_problem(base, requested, detected)
    if problem:
        raise FamilyError(problem)
    return get(requested)


def override_problem(base, requested: str, detected: str | None) -> Message | None:
    """What is wrong with a hand-set model.family that contradicts the base model's detected
    family (None when it does not): the CLI's error and the wizard's Start step say it."""
    if requested in ("", "auto", None) or detected is None or detected == requested:
        return None
    return Message(N_("model.family = {requested} but {path} is an {family} model (detected "
                      "{detected}): set model.family = {detected} or \"auto\", or pick a "
                      "{wanted} base model"), requested=repr(requested), path=str(base),
                   family=label(detected), detected=repr(detected),
                   wanted=label(requested))


__all__ = [
    "NAMES",
    "Family",
    "FamilyError",
    "TextEncoderSlot",
    "VramTerms",
    "by_lbw_count",
    "detect",
    "family_id_of",
    "family_of_cross_attention",
    "get",
    "ids",
    "label",
    "names",
    "override_problem",
    "resolve",
]

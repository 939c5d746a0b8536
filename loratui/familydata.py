"""A model family's data table, `data/<id>/family.toml`, read once per process.

The one reader of those files: `loratui.families` builds its `Family` from it, and the
doctor asks it for thresholds directly, because the families package (pathlib, dataclasses)
costs too much of the doctor's start-up budget. os.path and tomllib only.
"""

from __future__ import annotations

import os
from functools import cache

from loratui.resources import data_path


def _load_toml(text: str) -> dict:
    try:
        import tomllib
    except ModuleNotFoundError:  # Python 3.10
        import tomli as tomllib  # type: ignore[no-redef]
    return tomllib.loads(text)


def table_path(family_id: str) -> str:
    return os.path.join(data_path("data"), family_id, "family.toml")


@cache
def table(family_id: str) -> dict | None:
    """The whole parsed `family.toml` of `family_id`, or None for a family loratui has no
    data for (SD2, Flux: families it can name but does not train)."""
    if not family_id or not family_id.isidentifier():
        return None
    path = table_path(family_id)
    if not os.path.isfile(path):
        return None
    with open(path, encoding="utf-8") as fh:
        return _load_toml(fh.read())


def doctor_thresholds(family_id: str) -> dict | None:
    """What the doctor checks a config against for this family: `native_resolutions`
    (square sizes it was trained at) and `bucket_multiple` (what bucket sizes must divide
    by), from the table's `[doctor]` section, else from `[family]`'s native_resolution /
    bucket_step; plus any other `[doctor]` keys as written."""
    data = table(family_id)
    if data is None:
        return None
    fam, doctor = data["family"], dict(data.get("doctor", {}))
    doctor["native_resolutions"] = [int(r) for r in
                                    doctor.get("native_resolutions", [fam["native_resolution"]])]
    doctor["bucket_multiple"] = int(doctor.get("bucket_multiple", fam["bucket_step"]))
    return doctor

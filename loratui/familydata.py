"""A model family's data table, `data/<id>/family.toml`, read once per process.

The one reader of those files: `loratui.families` builds its `Family` from it, and the
doctor asks it for thresholds directly, because the families package (pathlib, dataclasses)
costs too much of the doctor's start-up budget. os.path only; the parsed table comes from
loratui's data cache (`loratui.datacache`), so a doctor run on a JSON config never imports
tomllib.
"""

from __future__ import annotations

import os
from functools import cache

from loratui import datacache
from loratui.resources import data_path

# Families and architectures loratui recognises in a base model or a LoRA but has no data
# for (it does not train them). A trained family's label is its family.toml's `label`.
NAMED_ONLY = {"sd2": "SD2.x", "sdxl_refiner": "SDXL refiner", "sd3": "SD3 / SD3.5",
              "flux": "Flux", "cascade": "Stable Cascade", "auraflow": "AuraFlow",
              "playground": "Playground v2.5 (EDM)"}
# The UNet's cross-attention width (what its text encoders hand it) tells the SD families
# apart; the trained ones agree with `cross_attention_dim` in data/<id>/unet/config.json.
CROSS_ATTENTION_FAMILY = {768: "sd15", 1024: "sd2", 2048: "sdxl"}


def _parse(files: list[str]) -> dict:
    with open(files[0], encoding="utf-8") as fh:
        return datacache.toml_loads(fh.read())


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
    data = datacache.cached(f"family-{family_id}", [path], _parse)
    return data if isinstance(data, dict) else _parse([path])


def label(family_id: str | None) -> str:
    """A family's or another architecture's name ("sdxl" -> "SDXL", "flux" -> "Flux")."""
    data = table(family_id or "")
    if data is not None:
        return str(data["family"]["label"])
    return NAMED_ONLY.get(family_id or "", str(family_id))


def lora_label(family_id: str | None) -> str:
    """The family a LoRA is named for: `[family] lora_label` where it differs from the
    model's label ("sd15" -> "SD1.x"), else `label`."""
    data = table(family_id or "")
    if data is not None and "lora_label" in data["family"]:
        return str(data["family"]["lora_label"])
    return label(family_id)


def family_of_cross_attention(width: object) -> str | None:
    """sd15 / sd2 / sdxl from the UNet's cross-attention width; None for any other width."""
    return CROSS_ATTENTION_FAMILY.get(width) if isinstance(width, int) else None


def usage_defaults(family_id: str | None) -> tuple[str, int]:
    """(checkpoint file name, image size) a ComfyUI workflow for a LoRA of this family
    starts from: `[usage] comfy_checkpoint` and the native resolution (SD1.5's when the
    family has no table)."""
    data = table(family_id or "") or table("sd15") or {}
    return (data.get("usage", {}).get("comfy_checkpoint", "v1-5-pruned-emaonly.safetensors"),
            int(data.get("family", {}).get("native_resolution", 512)))


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

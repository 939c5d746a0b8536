"""`loratui lora inspect`: what a LoRA file is, in one summary (also used by the doctor)."""

from __future__ import annotations

import math
from collections import Counter

from loratui.familydata import lora_label
from loratui.lora.reader import LoraFile
from loratui.userfiles import shown

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

METADATA_SHOWN = ("ss_output_name", "ss_base_model_version", "ss_sd_model_name",
                  "ss_network_module", "ss_network_dim", "ss_network_alpha", "ss_network_args",
                  "ss_resolution", "ss_num_train_images", "ss_num_epochs", "ss_epoch",
                  "ss_steps", "ss_max_train_steps", "ss_learning_rate", "ss_unet_lr",
                  "ss_text_encoder_lr", "ss_optimizer", "ss_mixed_precision",
                  "ss_train_batch_size", "ss_clip_skip", "ss_v2", "ss_v_parameterization",
                  "ss_training_started_at", "ss_training_finished_at", "sshs_model_hash")


def _spread(values: list[float]) -> dict[str, Any]:
    if not values:
        return {}
    common = Counter(values).most_common(1)[0][0]
    return {"min": min(values), "max": max(values), "most_common": common,
            "distinct": len(set(values))}


def summarize(lora: LoraFile, *, stats: bool = True, per_module: bool = False
              ) -> dict[str, Any]:
    ranks = lora.ranks()
    alphas = lora.alphas()
    fam, how = lora.family()
    meta_fam = lora.metadata_family()
    checkpoint = lora.format() == "checkpoint"
    if checkpoint:      # a base model given for a LoRA: name its architecture, scan nothing
        from loratui.checkpoint import from_header

        info = from_header(lora.tensors)
        fam, how, stats = info.family, info.reason, False
    scales = [alphas[m] / r for m, r in ranks.items() if m in alphas and r]
    modules = lora.module_names()
    te = [m for m in modules if m.startswith(("lora_te", "text_encoder", "te_"))]
    out: dict[str, Any] = {
        "path": str(lora.path),
        "size_bytes": lora.size,
        "format": lora.format(),
        "lycoris_algo": lora.lycoris_algo() if lora.format() == "lycoris" else None,
        "family": fam or meta_fam,
        "family_from_tensors": fam,
        "family_reason": how,
        "family_from_metadata": meta_fam,
        "checkpoint": checkpoint,
        "tensors": len(lora.tensors),
        "modules": len(modules),
        "text_encoder_modules": len(te),
        "unet_modules": len(modules) - len(te),
        "rank": _spread(list(ranks.values())),
        "alpha": _spread(list(alphas.values())),
        "alpha_missing_modules": sum(1 for m in ranks if m not in alphas),
        "scale": _spread([round(s, 6) for s in scales]) if scales else
        ({"most_common": 1.0, "min": 1.0, "max": 1.0, "distinct": 1} if ranks else {}),
        "dtypes": dict(lora.dtypes()),
        "metadata": {k: lora.metadata[k] for k in METADATA_SHOWN if k in lora.metadata},
        "modelspec": {k: v for k, v in lora.metadata.items() if k.startswith("modelspec.")
                      and k != "modelspec.thumbnail"},
        "metadata_keys": len(lora.metadata),
        "top_tags": _top_tags(lora.metadata.get("ss_tag_frequency")),
    }
    if stats:
        s = lora.tensor_stats()
        ups = s["up_max"]
        out["nan_tensors"] = len(s["nan_tensors"])
        out["inf_tensors"] = len(s["inf_tensors"])
        out["nan_examples"] = s["nan_tensors"][:3]
        out["zero_up_modules"] = sum(1 for v in ups.values() if v == 0.0)
        out["near_zero_up_modules"] = sum(1 for v in ups.values() if 0.0 < v < 1e-6)
        out["up_modules"] = len(ups)
        out["max_abs_up"] = max(ups.values(), default=None)
    if per_module:
        out["per_module"] = {m: {"rank": r, "alpha": alphas.get(m)} for m, r in ranks.items()}
    return out


MAX_TAG_JSON = 16 * 1024 * 1024   # kohya's for 10,000 captioned images is a few MB


def _top_tags(raw: str | None, n: int = 10) -> list[tuple[str, int]]:
    if not raw or len(raw) > MAX_TAG_JSON:     # a crafted one would cost seconds and GBs
        return []
    import json

    try:
        data = json.loads(raw)
    except (ValueError, RecursionError):   # metadata is the file author's free text
        return []
    total: Counter = Counter()
    if isinstance(data, dict):
        for tags in data.values():
            if isinstance(tags, dict):
                for tag, count in tags.items():
                    if isinstance(count, (int, float)) and math.isfinite(count):
                        total[str(tag)] += int(count)
    return total.most_common(n)


def human_size(n: int) -> str:
    size = float(n)
    for unit in ("B", "KB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{size:.1f} {unit}" if unit != "B" else f"{int(size)} B"
        size /= 1024
    return f"{n} B"


def _row(label: str, value: str) -> str:
    """One `  label       value` line, the label padded to 12 columns in every language."""
    from loratui.i18n import _, width

    text = _(label)
    return f"  {text}{' ' * max(1, 12 - width(text))}{value}"


def render(summary: dict[str, Any]) -> str:
    from loratui.i18n import N_, _, localized, ngettext, pgettext

    s = summary

    def fam_name(family: str | None) -> str:
        return lora_label(family) if family else _("unknown")

    lines = [shown(s["path"]), ""]
    fmt = _("{format} ({algorithm})").format(format=s["format"], algorithm=s["lycoris_algo"]) \
        if s.get("lycoris_algo") else s["format"]
    lines.append(_row(N_("format"), fmt))
    if s.get("checkpoint"):
        lines.append("  " + _("a full base model checkpoint, not a LoRA: put it in "
                              "models/Stable-diffusion (A1111) or models/checkpoints (ComfyUI)"))
    fam = fam_name(s["family"])
    detail = []
    if s["family_from_tensors"]:
        detail.append(_("tensors: {reason}").format(reason=localized(s["family_reason"])))
    if s["family_from_metadata"]:
        detail.append(_("metadata: {family}").format(
            family=fam_name(s["family_from_metadata"])))
    joined = pgettext("list separator", "; ").join(detail)
    lines.append(_row(N_("family"), _("{family}  ({detail})").format(family=fam, detail=joined)
                      if detail else fam))
    lines.append(_row(N_("modules"), _("{n} ({unet} UNet, {te} text encoder), {tensors} tensors")
                      .format(n=s["modules"], unet=s["unet_modules"],
                              te=s["text_encoder_modules"], tensors=s["tensors"])))

    def spread(d: dict[str, Any]) -> str:
        if not d:
            return "-"
        if d["min"] == d["max"]:
            return f"{d['min']:g}"
        return _("{common} (most modules; {low}–{high}, {n} values)").format(
            common=f"{d['most_common']:g}", low=f"{d['min']:g}", high=f"{d['max']:g}",
            n=d["distinct"])

    lines.append(_row(N_("rank"), spread(s["rank"])))
    alpha = spread(s["alpha"])
    if s["alpha_missing_modules"]:
        alpha += "; " + ngettext("{n} module without alpha (= rank)",
                                 "{n} modules without alpha (= rank)",
                                 s["alpha_missing_modules"]).format(n=s["alpha_missing_modules"])
    lines.append(_row(N_("alpha"), alpha))
    lines.append(_row(N_("scale"), _("{scale}  (alpha / rank, applied at weight 1.0)").format(
        scale=spread(s["scale"]))))
    lines.append(_row(N_("dtype"), ", ".join(f"{k} ×{v}" for k, v in s["dtypes"].items())))
    lines.append(_row(N_("size"), human_size(s["size_bytes"])))
    if "nan_tensors" in s:
        health = [ngettext("{n} tensor with NaN", "{n} tensors with NaN", s["nan_tensors"])
                  .format(n=s["nan_tensors"]) if s["nan_tensors"] else _("no NaN"),
                  _("{n} with Inf").format(n=s["inf_tensors"]) if s["inf_tensors"]
                  else _("no Inf")]
        if s["up_modules"]:
            if s["zero_up_modules"] == s["up_modules"]:
                health.append(_("ALL lora_up weights are zero (untrained)"))
            elif s["zero_up_modules"]:
                health.append(_("{zero} of {n} lora_up all zero").format(
                    zero=s["zero_up_modules"], n=s["up_modules"]))
            else:
                health.append(_("max |lora_up| {value}").format(value=f"{s['max_abs_up']:.3g}"))
        lines.append(_row(N_("health"), pgettext("list separator", ", ").join(health)))
    if s["metadata"] or s["modelspec"]:
        lines.append("  " + _("metadata"))
        for k, v in {**s["metadata"], **s["modelspec"]}.items():
            text = shown(str(v))      # the author's free text: no escape codes reach the terminal
            lines.append(f"    {shown(k):<28} {text[:70] + '…' if len(text) > 70 else text}")
    else:
        lines.append(_row(N_("metadata"), _("none (A1111 cannot tell which base model it is "
                                            "for)")))
    if s["top_tags"]:
        lines.append(_row(N_("top tags"), ", ".join(f"{shown(t)} ({c})"
                                                    for t, c in s["top_tags"])))
    return "\n".join(lines) + "\n"

"""Predicates over how a LoRA is used: A1111 prompts and ComfyUI workflows (P17–P22)."""

from __future__ import annotations

from loratui.doctor.inputs.prompt import check_lbw
from loratui.doctor.registry import Hit, Text, predicate
from loratui.i18n import N_


def _uses(inp):
    return list(getattr(inp.data, "uses", []) or [])


def _where(use) -> dict:
    if use.source == "comfy":
        return {"key": f"node {use.node} ({use.name})"}
    return {"span": use.span}


def _label(use) -> str:
    return f"`{use.raw}`" if use.raw else f"{use.name} (node {use.node})"


@predicate("weight_too_high")
def weight_too_high(inp, ctx, rule, th):
    for use in _uses(inp):
        w = use.weight
        if w is not None and w > th["max_weight"]:
            yield Hit({"use": _label(use), "weight": round(w, 3), "start": th["start_weight"]},
                      **_where(use))


@predicate("weight_sum_too_high")
def weight_sum_too_high(inp, ctx, rule, th):
    # The LoRAs stacked in one generation: the prompt's (ADetailer's prompt is its own pass).
    uses = [u for u in _uses(inp) if u.weight is not None and u.weight > 0 and
            getattr(u, "part", "prompt") == "prompt"]
    if len(uses) < 2:
        return
    total = sum(u.weight for u in uses)
    if total > th["max_sum"] + 1e-9:
        parts = " + ".join(f"{u.name} {u.weight:g}" for u in uses)
        yield Hit({"total": round(total, 3), "parts": parts})


@predicate("prompt_problems")
def prompt_problems(inp, ctx, rule, th):
    """Syntax problems of one kind (the rule's `thresholds.kinds`) in prompt tags."""
    kinds = tuple(th["kinds"])
    data = inp.data
    for kind, message, span in getattr(data, "problems", []):
        if kind in kinds:
            yield Hit({"problem": message}, span=span)
    for use in _uses(inp):
        for kind, message in use.problems:
            if kind in kinds:
                yield Hit({"problem": Text(N_("{use}: {problem}"), use=_label(use),
                                           problem=message)}, **_where(use))
        if use.lbw is not None and ("lbw-vector" in kinds or "lbw-preset" in kinds):
            bad = check_lbw(use.lbw)
            if bad and bad[0] in kinds:
                yield Hit({"problem": Text(N_("{use}: {problem}"), use=_label(use),
                                           problem=bad[1])}, **_where(use))


@predicate("lbw_layout_vs_base")
def lbw_layout_vs_base(inp, ctx, rule, th):
    base = ctx.options.base
    for use in _uses(inp):
        if use.lbw is None or "," not in use.lbw:
            continue
        n = len(use.lbw.split(","))
        from loratui.families import by_lbw_count

        layout = by_lbw_count(n)  # the family whose block-weight layout has n weights
        if layout is None or base is None:
            continue
        if (base == "sd2" and layout.id == "sd15") or base == layout.id:
            continue
        yield Hit({"use": _label(use), "n": n, "layout": layout.label, "base": base},
                  **_where(use))


@predicate("lora_name_family_vs_base")
def lora_name_family_vs_base(inp, ctx, rule, th):
    """A LoRA whose name says one family used with a checkpoint (or --base) of another."""
    from loratui.doctor.facts import family_from_name
    from loratui.families import NAMES

    checkpoints = list(getattr(inp.data, "checkpoints", []) or [])
    named = {family_from_name(c) for c in checkpoints} - {None}
    if checkpoints:
        if len(named) != 1:
            return  # no telling name, or several checkpoints of different families
        base, how = named.pop(), f"the checkpoint `{checkpoints[0]}`"
    else:
        base, how = ctx.options.base, "--base"
    if base is None:
        return
    for use in _uses(inp):
        fam = family_from_name(use.name)
        if fam is not None and fam != base:
            yield Hit({"use": _label(use), "lora_family": NAMES.get(fam, fam),
                       "base_family": NAMES.get(base, base), "base_how": how}, **_where(use))


@predicate("comfy_a1111_tags")
def comfy_a1111_tags(inp, ctx, rule, th):
    for node_id, pdata in getattr(inp.data, "prompt_data", []):
        if pdata.uses:
            names = ", ".join(u.name for u in pdata.uses[:3])
            yield Hit({"node": node_id, "names": names}, key=f"node {node_id}")

"""Predicates over LoRA files (header + tensor values), FAILURES.md O01–O08."""

from __future__ import annotations

from collections import Counter

from loratui.doctor.facts import to_float, to_int
from loratui.doctor.registry import Hit, Text, predicate
from loratui.familydata import lora_label
from loratui.i18n import N_, message_of
from loratui.lora.reader import LoraError, LoraFile


def _lora(inp) -> LoraFile | None:
    """The readable LoRA with tensors; an empty one is reported by LF101 alone."""
    data = inp.data
    return data if isinstance(data, LoraFile) and data.tensors else None


def _stats(inp):
    cached = getattr(inp, "_lora_stats", None)
    if cached is None:
        cached = inp.data.tensor_stats()
        inp._lora_stats = cached
    return cached


@predicate("lora_unreadable")
def lora_unreadable(inp, ctx, rule, th):
    if isinstance(inp.data, LoraError):
        fixes = {"lfs-pointer": N_("download the real file (git lfs pull, or the site's "
                                   "download button)"),
                 "pickle": N_("get the .safetensors version, or convert it in a trusted "
                              "environment"),
                 "zip": N_("get the .safetensors version, or convert it in a trusted "
                           "environment"),
                 "html": N_("download the file again (you saved a web page)")}
        yield Hit({"problem": message_of(inp.data), "kind": inp.data.kind,
                   "todo": Text(fixes.get(inp.data.kind,
                                          N_("download or copy the file again")))})
    elif isinstance(inp.data, LoraFile) and not inp.data.tensors:
        problem = N_("the file holds no tensors (a header with metadata only): A1111 and "
                     "ComfyUI load nothing from it; the export or the download did not "
                     "finish") if inp.data.metadata else \
            N_("the file holds no tensors: A1111 and ComfyUI load nothing from it; the "
               "export or the download did not finish")
        yield Hit({"problem": Text(problem), "kind": "empty",
                   "todo": Text(N_("export the LoRA again, or download or copy the file "
                                   "again"))})


@predicate("lora_is_checkpoint")
def lora_is_checkpoint(inp, ctx, rule, th):
    lora = _lora(inp)
    if lora is None:
        return
    if lora.format() == "checkpoint" or (lora.size > th["max_lora_gb"] * 1024**3 and
                                        not lora.ranks()):
        yield Hit({"size": f"{lora.size / 1024**3:.1f} GB"})


@predicate("lora_peft_keys")
def lora_peft_keys(inp, ctx, rule, th):
    lora = _lora(inp)
    if lora is not None and lora.format() == "peft":
        example = next(iter(lora.tensors))
        yield Hit({"example": example})


@predicate("lora_old_diffusers_keys")
def lora_old_diffusers_keys(inp, ctx, rule, th):
    lora = _lora(inp)
    if lora is not None and lora.format() == "diffusers-old":
        yield Hit({"example": next(iter(lora.tensors))})


@predicate("lora_nan_inf")
def lora_nan_inf(inp, ctx, rule, th):
    lora = _lora(inp)
    if lora is None or lora.format() == "checkpoint":
        return
    s = _stats(inp)
    bad = s["nan_tensors"] + [t for t in s["inf_tensors"] if t not in s["nan_tensors"]]
    if bad:
        yield Hit({"count": len(bad), "total": len(lora.tensors), "example": bad[0],
                   "what": "NaN" if s["nan_tensors"] else "Inf"})


@predicate("lora_zero_up")
def lora_zero_up(inp, ctx, rule, th):
    lora = _lora(inp)
    if lora is None or lora.format() in ("checkpoint", "lycoris"):
        return
    ups = _stats(inp)["up_max"]
    if not ups:
        return
    zero = [m for m, v in ups.items() if v <= th["near_zero"]]
    if len(zero) == len(ups):
        yield Hit({"problem": Text(N_("every lora_up weight is (near) zero (max |w| {max}): "
                                      "nothing was learned — kohya initialises lora_up to "
                                      "zero, so this file is exactly as it started"),
                                   max=f"{max(ups.values()):.2g}")})
    elif len(zero) / len(ups) >= th["fraction"]:
        yield Hit({"problem": Text(N_("{n} of {total} modules have all-zero lora_up: those "
                                      "layers learned nothing"), n=len(zero), total=len(ups))})


def _meta_num(lora, key):
    return to_float(lora.metadata.get(key))


@predicate("lora_metadata_mismatch")
def lora_metadata_mismatch(inp, ctx, rule, th):
    lora = _lora(inp)
    if lora is None or lora.format() in ("checkpoint",):
        return
    ranks = lora.ranks()
    md_dim = to_int(lora.metadata.get("ss_network_dim"))
    if ranks and md_dim and lora.format() == "kohya" and \
            "dynamic" not in lora.metadata.get("ss_network_args", "") and \
            md_dim not in set(ranks.values()):
        common = Counter(ranks.values()).most_common(1)[0][0]
        yield Hit({"what": Text(N_("ss_network_dim = {dim} but the tensors have rank {rank}"),
                                dim=md_dim, rank=common)})
    alphas = lora.alphas()
    md_alpha = _meta_num(lora, "ss_network_alpha")
    if alphas and md_alpha is not None and lora.format() == "kohya":
        common = Counter(round(a, 4) for a in alphas.values()).most_common(1)[0][0]
        if md_alpha not in (0,) and abs(common - md_alpha) > 1e-3 * max(1, md_alpha) and \
                not (md_dim and md_alpha == 0):
            yield Hit({"what": Text(N_("ss_network_alpha = {meta} but the tensors' alpha is "
                                       "{alpha}"), meta=f"{md_alpha:g}", alpha=f"{common:g}")})
    tensor_fam, how = lora.family()
    meta_fam = lora.metadata_family()
    if tensor_fam and meta_fam and tensor_fam != meta_fam:
        yield Hit({"what": Text(N_("the metadata says {meta} but the tensors are {family} "
                                   "({how}); UIs that trust the metadata will hide or misapply "
                                   "it"), meta=lora_label(meta_fam),
                                family=lora_label(tensor_fam), how=how)})


@predicate("lora_rank_too_high")
def lora_rank_too_high(inp, ctx, rule, th):
    lora = _lora(inp)
    if lora is None or lora.format() in ("checkpoint", "lycoris"):
        return
    ranks = lora.ranks()
    if ranks:
        top = max(ranks.values())
        if top > th["max_rank"]:
            yield Hit({"rank": top})


@predicate("lora_alpha_ratio")
def lora_alpha_ratio(inp, ctx, rule, th):
    lora = _lora(inp)
    if lora is None or lora.format() in ("checkpoint", "lycoris"):
        return
    ranks, alphas = lora.ranks(), lora.alphas()
    ratios = [alphas[m] / r for m, r in ranks.items() if m in alphas and r]
    if not ratios:
        return
    common = Counter(round(x, 4) for x in ratios).most_common(1)[0][0]
    if common > th["max_ratio"]:
        yield Hit({"ratio": common})


@predicate("lora_alpha_zero")
def lora_alpha_zero(inp, ctx, rule, th):
    lora = _lora(inp)
    if lora is None:
        return
    zero = [m for m, a in lora.alphas().items() if a == 0]
    if zero:
        yield Hit({"count": len(zero), "total": len(lora.alphas())})


@predicate("lora_pairs")
def lora_pairs(inp, ctx, rule, th):
    lora = _lora(inp)
    if lora is None or lora.format() in ("checkpoint", "lycoris"):
        return
    problems = lora.pair_problems()
    if problems:
        yield Hit({"count": len(problems), "first": problems[0]})


@predicate("lora_no_version")
def lora_no_version(inp, ctx, rule, th):
    lora = _lora(inp)
    if lora is None or lora.format() == "checkpoint":
        return
    if lora.metadata_family() is None:
        fam, _ = lora.family()
        yield Hit({"family": lora_label(fam) if fam else "unknown"})


@predicate("lora_family_vs_base")
def lora_family_vs_base(inp, ctx, rule, th):
    lora = _lora(inp)
    base = ctx.options.base
    if lora is None or not base:
        return
    fam, how = lora.family()
    if fam is None:
        fam = lora.metadata_family()
        how = "its metadata"
    if fam and fam != base:
        yield Hit({"family": lora_label(fam), "base": lora_label(base),
                   "how": how})


@predicate("lora_vpred")
def lora_vpred(inp, ctx, rule, th):
    lora = _lora(inp)
    if lora is None:
        return
    md = lora.metadata
    if md.get("ss_v_parameterization") == "True" or md.get("modelspec.prediction_type") == "v":
        yield Hit({})

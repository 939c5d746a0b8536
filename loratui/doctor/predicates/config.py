"""Predicates over training configs (`ConfigFacts`), whatever file they came from."""

from __future__ import annotations

import os
import re

from loratui.doctor import facts as F
from loratui.doctor.facts import to_bool, to_float, to_int
from loratui.doctor.model import DELETE, Relative
from loratui.doctor.registry import Hit, Text, TextList, predicate
from loratui.familydata import doctor_thresholds
from loratui.i18n import N_


def _dir_of(inp) -> str:
    return os.path.dirname(inp.path) if inp.path and not inp.path.startswith("<") \
        else os.getcwd()


def local_path(inp, value) -> str | None:
    """A path from a config resolved as the trainer would, or None when it cannot be
    checked here (empty, a Windows path on another OS, a hub id). A string, not a
    pathlib.Path: `import pathlib` costs a tenth of the doctor's start-up budget."""
    if not value or not isinstance(value, str):
        return None
    text = value.strip().strip("\"'")
    if not text:
        return None
    if re.match(r"^[A-Za-z]:[\\/]", text) and os.name != "nt":
        return None
    p = os.path.normpath(os.path.expanduser(text))
    if inp.facts is not None and inp.facts.extra.get("from_paste"):
        # A path in a pasted log names the user's machine: check it only if it is here.
        p = p if os.path.isabs(p) else os.path.abspath(os.path.join(_dir_of(inp), p))
        return p if os.path.exists(p) else None
    if os.path.isabs(p):
        return p
    candidate = os.path.abspath(os.path.join(_dir_of(inp), p))
    if inp.kind == "loratui":
        return candidate
    return candidate if os.path.exists(candidate) else None


# ------------------------------------------------------------------ network size

@predicate("rank_too_high")
def rank_too_high(inp, ctx, rule, th):
    f = inp.facts
    dim = to_int(f.get("network_dim"))
    if dim is None or not F.rank_is_meaningful(f) or dim <= th["max_rank"]:
        return
    if f.extra.get("model_arch") and F.shown_family(f) is None:
        return  # Flux, SD3, ...: the guide's rank range is for Stable Diffusion
    suggested = int(th["suggested_rank"])
    edits = {"network_dim": suggested}
    alpha = to_float(f.get("network_alpha"))
    if f.has("network_alpha") and alpha:  # keep alpha / rank (an alpha fix may set it too)
        edits["network_alpha"] = Relative("network_dim", round(alpha / dim, 4), suggested)
    yield Hit({"rank": dim, "suggested": suggested}, key="network_dim", edits=edits)


def _alpha_ratio(f):
    dim = to_int(f.get("network_dim"))
    alpha = to_float(f.get("network_alpha"))
    if not dim or alpha is None or not F.rank_is_meaningful(f):
        return None
    if alpha == 0 and f.kind != "loratui":
        return None  # sd-scripts treats alpha 0 as alpha = rank
    return dim, alpha, alpha / dim


@predicate("alpha_above_range")
def alpha_above_range(inp, ctx, rule, th):
    got = _alpha_ratio(inp.facts)
    if got is None:
        return
    dim, alpha, ratio = got
    if ratio > th["max_ratio"]:
        yield Hit({"alpha": alpha, "rank": dim, "ratio": round(ratio, 2),
                   "suggested": float(dim)}, key="network_alpha",
                  edits={"network_alpha": Relative("network_dim", 1.0, dim)})


@predicate("alpha_below_range")
def alpha_below_range(inp, ctx, rule, th):
    got = _alpha_ratio(inp.facts)
    if got is None:
        return
    dim, alpha, ratio = got
    if ratio < th["min_ratio"]:
        note = inp.facts.default_note("network_alpha")
        yield Hit({"alpha": alpha, "rank": dim, "ratio": round(ratio, 3), "note": note,
                   "suggested": float(dim)}, key="network_alpha",
                  edits={"network_alpha": Relative("network_dim", 1.0, dim)})


# ------------------------------------------------------------------ learning rates

def _lr_key(f, canon: str) -> str:
    return canon if f.has(canon) else "learning_rate"


@predicate("te_lr_too_high")
def te_lr_too_high(inp, ctx, rule, th):
    f = inp.facts
    if not F.takes_lr_as_given(F.optimizer(f)):
        return
    te = F.text_encoder_lr(f)
    if not te or te <= th["max_text_encoder_lr"]:
        return
    key = _lr_key(f, "text_encoder_lr")
    yield Hit({"lr": te, "suggested": th["suggested"]}, key=key,
              edits={"text_encoder_lr": th["suggested"]})


@predicate("unet_lr_too_high")
def unet_lr_too_high(inp, ctx, rule, th):
    f = inp.facts
    opt = F.optimizer(f)
    if not F.takes_lr_as_given(opt):
        return
    lr = F.unet_lr(f)
    if lr is None or lr < th["max_lr"]:
        return
    yield Hit({"lr": lr, "optimizer": opt, "suggested": th["suggested"]},
              key=_lr_key(f, "unet_lr"), edits={_lr_key(f, "unet_lr"): th["suggested"]})


@predicate("unet_lr_too_low")
def unet_lr_too_low(inp, ctx, rule, th):
    f = inp.facts
    if not F.takes_lr_as_given(F.optimizer(f)):
        return
    lr = F.unet_lr(f)
    if lr is None or lr <= 0 or lr >= th["min_lr"]:
        return
    note = "" if f.has("unet_lr") else f.default_note("learning_rate")
    yield Hit({"lr": lr, "note": note, "suggested": th["suggested"]},
              key=_lr_key(f, "unet_lr"), edits={_lr_key(f, "unet_lr"): th["suggested"]})


@predicate("adaptive_optimizer_lr")
def adaptive_optimizer_lr(inp, ctx, rule, th):
    f = inp.facts
    opt = F.optimizer(f)
    if not F.is_adaptive(opt):
        return
    bad = {}
    for key in ("learning_rate", "unet_lr", "text_encoder_lr"):
        lr = to_float(f.values.get(key))
        if lr is None or lr == 0:
            continue
        if lr < th["min_lr"] or lr > th["max_lr"]:
            bad[key] = lr
    if bad:
        shown = ", ".join(f"{f.display_key(k)} = {v:g}" for k, v in bad.items())
        yield Hit({"optimizer": opt, "values": shown}, key=next(iter(bad)),
                  edits={k: 1.0 for k in bad})


@predicate("dadapt_split_lr")
def dadapt_split_lr(inp, ctx, rule, th):
    f = inp.facts
    opt = F.optimizer(f).lower()
    if "dadapt" not in opt:
        return
    te, un = to_float(f.values.get("text_encoder_lr")), to_float(f.values.get("unet_lr"))
    if te and un and te != un:
        yield Hit({"te": te, "unet": un}, key="text_encoder_lr")


# ------------------------------------------------------------------ memory / precision

def _vram_inputs(f):
    from loratui.vram import VramInputs

    res = F.resolution(f) or (512, 512)
    side = int((res[0] * res[1]) ** 0.5)
    opt = F.optimizer(f)
    return VramInputs(
        rank=to_int(f.get("network_dim")) or 8,
        batch_size=to_int(f.get("train_batch_size")) or 1,
        resolution=side,
        mixed_precision=F.mixed_precision(f),
        gradient_checkpointing=bool(f.get("gradient_checkpointing")),
        attention="sdpa" if F.memory_efficient_attention(f) else "eager",
        train_text_encoder=bool(F.text_encoder_lr(f)),
        cache_latents=bool(f.get("cache_latents")),
        no_half_vae=bool(f.get("no_half_vae")),
        optimizer="AdamW8bit" if "8bit" in opt.lower() else
        "Adafactor" if "adafactor" in opt.lower() else "AdamW",
        family=F.family(f),
        cache_text_encoder_outputs=bool(f.get("cache_text_encoder_outputs")),
    )


@predicate("batch_too_big")
def batch_too_big(inp, ctx, rule, th):
    f = inp.facts
    vram = ctx.vram_gb()
    batch = to_int(f.get("train_batch_size"))
    if vram is None or batch is None or batch <= 1:
        return
    if F.family(f) not in ("sd15", "sdxl"):  # families with VRAM terms (loratui.families)
        return
    from loratui.vram import estimate

    est = estimate(_vram_inputs(f))
    accum = to_int(f.get("gradient_accumulation_steps")) or 1
    guide = vram <= th["small_card_gb"] and batch > th["max_batch_small_card"]
    if est.fits(vram) and not guide:
        return
    why = (Text(N_("the estimate is {gb} GB"), gb=f"{est.total_gb:.1f}")
           if not est.fits(vram) else
           Text(N_("above batch {batch} a card of {gb} GB or less runs out of memory (the "
                   "guide's batch 4 did on 8 GB with SD1.5)"),
                batch=th["max_batch_small_card"], gb=f"{th['small_card_gb']:g}"))
    yield Hit({"batch": batch, "vram": vram, "why": why, "accum": batch * accum},
              key="train_batch_size",
              edits={"train_batch_size": 1, "gradient_accumulation_steps": batch * accum})


@predicate("fp32_small_card")
def fp32_small_card(inp, ctx, rule, th):
    f = inp.facts
    if not f.has("mixed_precision") and (f.kind == "kohya-json" or
                                         not f.known("mixed_precision")):
        return
    if F.mixed_precision(f) != "no":
        return
    vram = ctx.vram_gb()
    if vram is None or vram > th["small_card_gb"]:
        return
    gpu = ctx.gpu()
    from loratui.precision import fp16_unreliable

    if gpu is not None and fp16_unreliable(gpu.name):
        return  # fp32 is what these cards need (CF116, E06)
    yield Hit({"vram": vram}, key="mixed_precision",
              edits={"mixed_precision": "fp16", "no_half_vae": True})  # fp16 VAE: CF112


@predicate("fp16_vae")
def fp16_vae(inp, ctx, rule, th):
    f = inp.facts
    if F.mixed_precision(f) != "fp16" or f.get("no_half_vae") or not f.known("no_half_vae"):
        return
    if re.search(r"fp16[-_]?fix", str(f.get("vae") or ""), re.I):
        return  # a VAE fixed for fp16 (madebyollin's sdxl-vae-fp16-fix) is meant to run in fp16
    if f.kind == "kohya-json" and not f.has("mixed_precision"):
        return
    fam = F.family(f)
    # SDXL's VAE overflows in fp16 (NaN latents, R02); for SD1.x/2.x the guide only says to
    # check no_half_vae when colours come out distorted (P15): advice, not a problem.
    narrow = {} if fam == "sdxl" else {"severity": "info", "refs": ["P15"]}
    yield Hit({"family": fam}, key="no_half_vae" if f.has("no_half_vae")
              else "mixed_precision", edits={"no_half_vae": True}, **narrow)


@predicate("no_gradient_checkpointing")
def no_gradient_checkpointing(inp, ctx, rule, th):
    f = inp.facts
    vram = ctx.vram_gb()
    if vram is None or vram > th["small_card_gb"] or f.get("gradient_checkpointing") is None:
        return
    if not f.get("gradient_checkpointing"):
        yield Hit({"vram": vram}, key="gradient_checkpointing",
                  edits={"gradient_checkpointing": True})


@predicate("no_memory_efficient_attention")
def no_memory_efficient_attention(inp, ctx, rule, th):
    f = inp.facts
    known = any(f.values.get(k) is not None for k in ("xformers", "sdpa", "mem_eff_attn",
                                                      "attention"))
    if not known and (f.kind == "kohya-json" or not f.complete):
        return
    if F.memory_efficient_attention(f):
        return
    key = "attention" if f.kind == "loratui" else "xformers"
    edits = {"attention": "sdpa"} if f.kind == "loratui" else {}
    if f.kind == "kohya-json" and isinstance(f.raw.get("xformers"), str):
        edits = {"xformers": "sdpa"}
    yield Hit({}, key=key, edits=edits)


def _gpu_cc(ctx):
    gpu = ctx.gpu()
    return (gpu, gpu.compute_capability) if gpu is not None else (None, None)


@predicate("bf16_unsupported")
def bf16_unsupported(inp, ctx, rule, th):
    f = inp.facts
    gpu, cc = _gpu_cc(ctx)
    if gpu is None or cc is None or F.mixed_precision(f) != "bf16":
        return
    from loratui.precision import precision_for

    precision, _ = precision_for("bf16", gpu.name, tuple(cc))
    if precision != "bf16":
        shown = "fp32 (mixed precision no)" if precision == "no" else "fp16"
        yield Hit({"gpu": gpu.name, "cc": f"{cc[0]}.{cc[1]}", "use": shown},
                  key="mixed_precision",
                  edits={"mixed_precision": precision, "no_half_vae": True})  # CF112


@predicate("gtx16_fp16")
def gtx16_fp16(inp, ctx, rule, th):
    f = inp.facts
    gpu = ctx.gpu()
    if gpu is None or F.mixed_precision(f) != "fp16":
        return
    from loratui.precision import fp16_unreliable

    if fp16_unreliable(gpu.name):
        yield Hit({"gpu": gpu.name}, key="mixed_precision", edits={"mixed_precision": "no"})


@predicate("eight_bit_old_gpu")
def eight_bit_old_gpu(inp, ctx, rule, th):
    f = inp.facts
    gpu, cc = _gpu_cc(ctx)
    opt = F.optimizer(f).lower()
    if gpu is None or cc is None or "8bit" not in opt:
        return
    if tuple(cc) < (7, 0):
        yield Hit({"gpu": gpu.name, "optimizer": F.optimizer(f)}, key="optimizer_type",
                  edits={"optimizer_type": "AdamW"})


# ------------------------------------------------------------------ resolution / buckets

@predicate("non_native_resolution")
def non_native_resolution(inp, ctx, rule, th):
    f = inp.facts
    res = F.resolution(f)
    if res is None:
        return
    fam = F.shown_family(f)  # only a family the input shows: never a guess
    native = family_native(fam, th) if fam else None
    own = base_model_native_size(inp)
    if own:  # the base model folder says what it was trained at (the tiny demo model: 64)
        native, fam = own, "the base model"
    if not native:
        return
    natives = native if isinstance(native, list) else [native]
    if res[0] == res[1] and res[0] in natives:
        return  # with bucketing on, this is the bucket area: the intended use
    shown = f"{res[0]}x{res[1]}"
    target = natives[0]
    edit_value = target if f.kind == "loratui" else (target, target)
    if f.kind == "kohya-json" or f.kind == "cmdline":
        edit_value = f"{target},{target}"
    yield Hit({"res": shown, "family": fam, "native": target}, key="resolution",
              edits={"resolution": edit_value})


def family_native(fam: str, th) -> list[int] | None:
    """A family's native sizes: `native_resolutions` (the engine lays the family's data
    table over the rule's) for families loratui has data for, the threshold named after
    the family for the others it can name (SD2: 512 / 768), else None."""
    if fam in th:
        return th[fam]
    if doctor_thresholds(fam) is not None:
        return th["native_resolutions"]
    return None


def base_model_native_size(inp) -> int | None:
    """The native size of the diffusers folder the config's base model names, when it is
    on this machine (read from its unet / vae configs)."""
    base = inp.facts.get("pretrained_model_name_or_path")
    if not isinstance(base, str) or not base.strip() or not inp.path:
        return None
    folder = os.path.normpath(os.path.join(os.path.dirname(os.fspath(inp.path)),
                                           os.path.expanduser(base.strip())))
    if not os.path.isdir(folder):
        return None
    from loratui.modelfolder import native_resolution

    return native_resolution(folder)


@predicate("bucket_reso_steps")
def bucket_reso_steps(inp, ctx, rule, th):
    f = inp.facts
    if not f.has("bucket_reso_steps") or f.get("enable_bucket") is False:
        return
    steps = to_int(f.get("bucket_reso_steps"))
    if steps is None:
        return
    fam = F.family(f)
    need = int(th["bucket_multiple"])  # the family's (`[doctor]` of its family.toml)
    if steps <= 0 or steps % need:
        yield Hit({"steps": steps, "need": need, "family": fam}, key="bucket_reso_steps",
                  edits={"bucket_reso_steps": 64})


@predicate("max_bucket_below_resolution")
def max_bucket_below_resolution(inp, ctx, rule, th):
    f = inp.facts
    if not f.get("enable_bucket"):
        return
    res = F.resolution(f)
    max_b = to_int(f.get("max_bucket_reso"))
    if res is None or max_b is None or max(res) <= max_b:
        return
    step = to_int(f.get("bucket_reso_steps")) or 64
    new = -(-max(res) // step) * step
    yield Hit({"max_bucket": max_b, "res": max(res), "suggested": new}, key="max_bucket_reso",
              edits={"max_bucket_reso": new})


@predicate("cache_latents_augment")
def cache_latents_augment(inp, ctx, rule, th):
    f = inp.facts
    if not f.get("cache_latents"):
        return
    on = [k for k in ("color_aug", "random_crop") if f.get(k)]
    if on:
        yield Hit({"augs": TextList(on, "items")}, key=on[0], edits={k: False for k in on})


@predicate("te_cache_trains_te")
def te_cache_trains_te(inp, ctx, rule, th):
    f = inp.facts
    if not f.get("cache_text_encoder_outputs"):
        return
    if F.text_encoder_lr(f) and not f.get("network_train_unet_only") and \
            f.known("network_train_unet_only"):
        yield Hit({}, key="cache_text_encoder_outputs", edits={"network_train_unet_only": True})


@predicate("te_cache_caption_aug")
def te_cache_caption_aug(inp, ctx, rule, th):
    f = inp.facts
    if not f.get("cache_text_encoder_outputs"):
        return
    on = [k for k in ("shuffle_caption", "caption_dropout_rate", "caption_tag_dropout_rate",
                      "token_warmup_step") if f.get(k)]
    if on:
        yield Hit({"opts": ", ".join(f.display_key(k) for k in on)}, key=on[0])


# ------------------------------------------------------------------ model family / prediction

def _base_family(inp):
    """(family, how) of the base model: from a local checkpoint header, else its name."""
    f = inp.facts
    base = f.get("pretrained_model_name_or_path")
    p = local_path(inp, base) if base else None
    if p is not None and os.path.isfile(p) and p.lower().endswith(".safetensors"):
        from loratui.lora.reader import checkpoint_family

        fam = checkpoint_family(p)
        if fam:
            return fam, Text(N_("its tensors"))
    fam = F.family_from_name(str(base or ""))
    return fam, Text(N_("its name"))


@predicate("sdxl_sd15_mixup")
def sdxl_sd15_mixup(inp, ctx, rule, th):
    f = inp.facts
    base_fam, how = _base_family(inp)
    if base_fam is None:
        return
    if f.kind == "loratui" and f.get("family") in (None, "", "auto"):
        return  # loratui trains the family it detects from the base model
    script = str(f.extra.get("script") or "")
    trains_sdxl = bool(f.get("sdxl")) or script.startswith("sdxl_") or \
        f.get("family") == "sdxl"
    base = str(f.get("pretrained_model_name_or_path"))
    # A command whose script name the paste cut off, or a config file (which any script
    # reads): which script trains is not shown.
    trainer_shown = trains_sdxl or bool(script) or f.kind in ("loratui", "aitoolkit")
    if base_fam == "sdxl" and not trains_sdxl and trainer_shown:
        how_fix = Text({"cmdline": N_("run sdxl_train_network.py instead of train_network.py"),
                        "kohya-json": N_("tick \"SDXL model\" (\"sdxl\": true)"),
                        "loratui": N_("set model.family = \"auto\" (or \"sdxl\")"),
                        "aitoolkit": N_("set model.is_xl: true (or arch: \"sdxl\")")}.get(
                            f.kind, N_("use the SDXL training script")))
        yield Hit({"base": base, "base_family": "SDXL", "trainer": "SD1.x/2.x", "how": how,
                   "fix": how_fix}, key="pretrained_model_name_or_path")
    elif base_fam in ("sd15", "sd2") and trains_sdxl:
        yield Hit({"base": base, "base_family": base_fam.upper().replace("SD15", "SD1.5"),
                   "trainer": "SDXL", "how": how,
                   "fix": Text(N_("set model.family = \"auto\" (or \"sd15\")"))
                   if f.kind == "loratui"
                   else Text(N_("use an SDXL base model or train with train_network.py"))},
                  key="pretrained_model_name_or_path")


@predicate("vpred_flags")
def vpred_flags(inp, ctx, rule, th):
    f = inp.facts
    base = str(f.get("pretrained_model_name_or_path") or "")
    vparam = bool(f.get("v_parameterization"))
    fam = F.family(f)
    base_name = F.file_name(base)
    vpred_base = bool(F.VPRED_NAME_HINTS.search(base_name))
    key = "v_parameterization"
    if vpred_base and not vparam and f.known("v_parameterization"):
        yield Hit({"problem": Text(N_("the base model `{name}` looks like a v-prediction "
                                      "model but v-parameterization is off: training will "
                                      "produce brown or noisy images"), name=base_name)}, key="pretrained_model_name_or_path",
                  edits={"v_parameterization": True})
    elif vparam and fam == "sdxl" and not vpred_base and F.EPS_NAME_HINTS.search(base_name):
        yield Hit({"problem": Text(N_("v-parameterization is on for `{name}`, an epsilon "
                                      "(noise-predicting) SDXL model: the LoRA will learn the "
                                      "wrong target"), name=base_name)}, key=key,
                  edits={"v_parameterization": False})
    elif vparam and fam == "sd15" and not vpred_base and not f.get("v2"):
        yield Hit({"problem": Text(N_("v-parameterization is on for an SD1.5 base, which "
                                      "predicts noise (epsilon): the LoRA will learn the "
                                      "wrong target"))}, key=key,
                  edits={"v_parameterization": False})
    if f.get("zero_terminal_snr") and not vparam and f.known("v_parameterization"):
        yield Hit({"problem": Text(N_("zero_terminal_snr without v_parameterization: ZTSNR "
                                      "needs v-prediction"))}, key="zero_terminal_snr")


@predicate("vpred_loss_flag")
def vpred_loss_flag(inp, ctx, rule, th):
    f = inp.facts
    if f.get("scale_v_pred_loss_like_noise_pred") and not f.get("v_parameterization"):
        yield Hit({}, key="scale_v_pred_loss_like_noise_pred",
                  edits={"scale_v_pred_loss_like_noise_pred": False if f.kind == "kohya-json"
                         else DELETE})


# ------------------------------------------------------------------ steps / epochs

@predicate("step_limit_1600")
def step_limit_1600(inp, ctx, rule, th):
    f = inp.facts
    steps = to_int(f.values.get("max_train_steps"))
    epochs = to_int(f.get("max_train_epochs"))
    printed = "max_train_steps" in f.extra.get("printed", {})  # what ran, not a setting
    if steps == th["hidden_default"] and epochs and not printed:
        yield Hit({"epochs": epochs, "steps": steps}, key="max_train_steps",
                  edits={"max_train_steps": 0})
    elif f.kind in ("cmdline", "sdscripts-toml") and f.complete and steps is None and \
            not epochs and \
            str(f.extra.get("script", "")).endswith(("train_network.py", "train_db.py")):
        yield Hit({"epochs": Text(N_("none{note}"), note=f.default_note("max_train_steps")),
                   "steps": th["hidden_default"]}, key="max_train_steps")


@predicate("epochs_far_from_guide")
def epochs_far_from_guide(inp, ctx, rule, th):
    f = inp.facts
    epochs = to_int(f.get("max_train_epochs"))
    if epochs and epochs > th["max_epochs"]:
        yield Hit({"epochs": epochs}, key="max_train_epochs")


# ------------------------------------------------------------------ trigger word

def common_trigger(word: str, th) -> bool:
    words = {w.lower() for w in th["common_words"]}
    low = word.strip().lower()
    if low in words:
        return True
    parts = [p for p in re.split(r"[\s_,]+", low) if p]
    return bool(parts) and all(p in words for p in parts)


@predicate("trigger_word")
def trigger_word(inp, ctx, rule, th):
    f = inp.facts
    triggers: list[tuple[str, str | None]] = []
    if f.kind == "loratui":
        word = str(f.get("trigger_word") or "").strip()
        if not word:
            yield Hit({"problem": Text(N_("no trigger word is set: without one the model "
                                          "\"does not recognise your LoRA\""))},
                      key="trigger_word")
            return
        triggers.append((word, "trigger_word"))
    elif f.kind == "dataset-toml":
        for _i, _j, sub in f.extra.get("subsets", []):
            if sub.get("class_tokens") and not sub.get("is_reg"):
                triggers.append((str(sub["class_tokens"]), "class_tokens"))
    for word, key in triggers:
        if common_trigger(word, th):
            yield Hit({"problem": Text(N_("the trigger word `{word}` is a common phrase: the "
                                          "base model already means something by it, so the "
                                          "LoRA bleeds into every prompt that uses it"),
                                       word=word)}, key=key)


@predicate("cjk_trigger")
def cjk_trigger(inp, ctx, rule, th):
    """A trigger word in Chinese (Japanese, Korean) characters: CLIP has almost none of
    them in its vocabulary and splits each into 2–3 byte-level tokens."""
    from loratui.cjk import has_cjk

    f = inp.facts
    words: list[tuple[str, str]] = []
    if f.kind == "loratui":
        words.append((str(f.get("trigger_word") or "").strip(), "trigger_word"))
    elif f.kind == "dataset-toml":
        words += [(str(sub["class_tokens"]).strip(), "class_tokens")
                  for _i, _j, sub in f.extra.get("subsets", [])
                  if sub.get("class_tokens") and not sub.get("is_reg")]
    for word, key in words:
        if word and has_cjk(word):
            from loratui.dataset.trigger import cjk_tokens

            yield Hit({"word": word, "tokens": len(cjk_tokens(word)), "chars": len(word)},
                      key=key)


# ------------------------------------------------------------------ paths

@predicate("save_path_unwritable")
def save_path_unwritable(inp, ctx, rule, th):
    f = inp.facts
    out = f.get("output_dir")
    p = local_path(inp, out) if out else None
    if p is None:
        return
    probe = p
    while not os.path.exists(probe):
        if os.path.dirname(probe) == probe:
            break
        probe = os.path.dirname(probe)
    problem = None
    if os.path.exists(probe) and not os.path.isdir(probe):
        problem = Text(N_("`{path}` is a file, not a folder"), path=probe)
    elif not os.access(probe, os.W_OK | os.X_OK):
        problem = (Text(N_("`{path}` is not writable"), path=probe) if probe == p else
                   Text(N_("`{path}` does not exist and `{parent}` is not writable, so it "
                           "cannot be created"), path=p, parent=probe))
    if problem:
        yield Hit({"dir": str(out), "problem": problem}, key="output_dir",
                  command=f"mkdir -p \"{p}\"" if os.name != "nt" else f"mkdir \"{p}\"")


@predicate("relative_save_path")
def relative_save_path(inp, ctx, rule, th):
    f = inp.facts
    out = f.get("output_dir")
    if not out or f.kind == "loratui":
        return
    text = str(out).strip().strip("\"'")
    if re.match(r"^([A-Za-z]:[\\/]|/|~|\\\\)", text):
        return
    yield Hit({"dir": text}, key="output_dir")


@predicate("bad_output_name")
def bad_output_name(inp, ctx, rule, th):
    f = inp.facts
    name = f.get("output_name")
    if not name:
        return
    bad = sorted(set(re.findall(r"[/\\:*?\"<>|]", str(name))))
    if bad:
        clean = re.sub(r"[/\\:*?\"<>|]+", "_", str(name))
        yield Hit({"name": name, "chars": " ".join(bad), "clean": clean}, key="output_name",
                  edits={"output_name": clean})


@predicate("non_ascii_paths")
def non_ascii_paths(inp, ctx, rule, th):
    f = inp.facts
    for key in ("train_data_dir", "reg_data_dir", "output_dir", "pretrained_model_name_or_path",
                "logging_dir"):
        value = f.get(key)
        if isinstance(value, str) and not value.isascii():
            yield Hit({"path": value}, key=key)


@predicate("sample_prompts_file")
def sample_prompts_file(inp, ctx, rule, th):
    f = inp.facts
    value = f.get("sample_prompts")
    p = local_path(inp, value) if value else None
    if p is None:
        return
    if not os.path.exists(p):
        yield Hit({"problem": Text(N_("`{path}` does not exist: no samples will be drawn"),
                                   path=value)},
                  key="sample_prompts")
        return
    try:
        with open(p, "rb") as fh:
            raw = fh.read()
    except OSError:
        return
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        yield Hit({"problem": Text(N_("`{path}` is not UTF-8 (byte {byte} at offset "
                                      "{offset}): sd-scripts fails with a "
                                      "UnicodeDecodeError"), path=value,
                                   byte=f"{raw[exc.start]:#04x}", offset=exc.start)},
                  key="sample_prompts")
        return
    if not any(line.strip() and not line.lstrip().startswith("#")
               for line in text.splitlines()):
        yield Hit({"problem": Text(N_("`{path}` is empty: the samples will show something "
                                      "unrelated (\"houses\")"), path=value)},
                  key="sample_prompts")


# ------------------------------------------------------------------ scripts / resume

@predicate("full_finetune_script")
def full_finetune_script(inp, ctx, rule, th):
    script = str(inp.facts.extra.get("script") or "")
    if script in ("train_db.py", "sdxl_train.py", "fine_tune.py", "flux_train.py"):
        yield Hit({"script": script}, key=None)


@predicate("resume_is_file")
def resume_is_file(inp, ctx, rule, th):
    f = inp.facts
    value = f.get("resume")
    if not value or value is True:
        return
    text = str(value)
    p = local_path(inp, text)
    if text.lower().endswith((".safetensors", ".ckpt", ".pt")) or (p is not None and os.path.isfile(p)):
        yield Hit({"path": text}, key="resume")


@predicate("network_weights_rank")
def network_weights_rank(inp, ctx, rule, th):
    f = inp.facts
    value = f.get("network_weights")
    if not value or f.get("dim_from_weights"):
        return
    p = local_path(inp, str(value))
    dim = to_int(f.get("network_dim"))
    if p is None or not os.path.isfile(p) or dim is None:
        return
    from loratui.lora.reader import LoraError, open_lora

    try:
        lora = open_lora(p)
    except LoraError:
        return
    ranks = lora.ranks()
    if ranks and dim not in set(ranks.values()):
        file_rank = max(set(ranks.values()), key=list(ranks.values()).count)
        yield Hit({"file_rank": file_rank, "rank": dim}, key="network_dim",
                  edits={"network_dim": file_rank})


@predicate("huber_loss")
def huber_loss(inp, ctx, rule, th):
    loss = str(inp.facts.get("loss_type") or "").lower()
    if loss in ("huber", "smooth_l1"):
        yield Hit({"loss": loss}, key="loss_type")


@predicate("diffusers_no_metadata")
def diffusers_no_metadata(inp, ctx, rule, th):
    f = inp.facts
    script = str(f.extra.get("script") or "")
    if not script.startswith(("train_text_to_image_lora", "train_text_to_image")):
        return
    p = local_path(inp, f.get("train_data_dir"))
    if p is None or not os.path.isdir(p):
        return
    names = {n.lower() for n in os.listdir(p)}
    if any(n.endswith(".txt") for n in names) and not ({"metadata.jsonl", "metadata.csv"} & names):
        yield Hit({"dir": str(p)}, key="train_data_dir")


# ------------------------------------------------------------------ loratui.toml / dataset TOML

@predicate("invalid_config_value")
def invalid_config_value(inp, ctx, rule, th):
    f = inp.facts
    ours = f.kind == "loratui"
    checker = Text(N_("`loratui config check` rejects it and training does not start")) \
        if ours else Text(N_("the trainer fails on it or trains on nonsense"))
    hint = Text(N_(" (`loratui config fields` lists each key's range)")) if ours else ""
    for bad in f.extra.get("invalid", ()):
        value = bad.value
        shown = repr(value) if isinstance(value, str) else \
            str(value).lower() if isinstance(value, bool) else str(value)
        refs = Text(N_(" (see {refs})"), refs=", ".join(bad.pitfalls)) if bad.pitfalls else ""
        line = f.line_of(bad.key)
        if line is None and f.text:
            from loratui.doctor.inputs.configs import key_line

            line = key_line(f.text, bad.shown.rsplit(".", 1)[-1])
        yield Hit({"value": shown, "problem": bad.problem, "consequence": checker,
                   "refs": refs, "hint": hint}, key=bad.key, line=line)


@predicate("unknown_config_key")
def unknown_config_key(inp, ctx, rule, th):
    f = inp.facts
    from loratui.doctor.config_defaults import DEFAULTS

    for dotted in f.extra.get("unknown_keys", []):
        import difflib

        close = difflib.get_close_matches(dotted, list(DEFAULTS), n=1, cutoff=0.6)
        hint = Text(N_("; did you mean `{key}`?"), key=close[0]) if close else ""
        leaf = dotted.rsplit(".", 1)[-1]
        from loratui.doctor.inputs.configs import key_line

        yield Hit({"key": dotted, "hint": hint}, key=dotted, line=key_line(f.text, leaf),
                  edits={})


@predicate("dataset_toml_keys")
def dataset_toml_keys(inp, ctx, rule, th):
    from loratui.doctor.inputs.configs import GENERAL_KEYS

    for dotted, line, level in inp.facts.extra.get("key_problems", []):
        leaf = dotted.rsplit(".", 1)[-1]
        import difflib

        close = difflib.get_close_matches(leaf, sorted(GENERAL_KEYS), n=1, cutoff=0.7)
        hint = Text(N_("; did you mean `{key}`?"), key=close[0]) if close and close[0] != leaf \
            else Text(N_("; it is valid, but not at this level")) if leaf in GENERAL_KEYS else ""
        yield Hit({"key": dotted, "level": level, "hint": hint}, key=dotted, line=line)


@predicate("dataset_toml_subsets")
def dataset_toml_subsets(inp, ctx, rule, th):
    from loratui.doctor.inputs.configs import key_line

    f = inp.facts
    for i, j, sub in f.extra.get("subsets", []):
        if not sub.get("image_dir") and not sub.get("metadata_file"):
            yield Hit({"where": f"datasets[{i}].subsets[{j}]",
                       "problem": Text(N_("has neither `image_dir` nor `metadata_file`"))},
                      key=f"datasets[{i}].subsets[{j}]", line=key_line(f.text, "subsets"))
            continue
        image_dir = str(sub.get("image_dir") or "")
        name = F.file_name(image_dir.rstrip("/\\"))
        m = re.match(r"^(\d+)_", name)
        if m and "num_repeats" not in sub and int(m.group(1)) > 1:
            yield Hit({"where": f"datasets[{i}].subsets[{j}]",
                       "problem": Text(N_("image_dir `{name}` is named like a kohya repeats "
                                          "folder, but with a dataset config the folder name "
                                          "is not read: it trains with num_repeats = 1, not "
                                          "{repeats}"), name=name, repeats=m.group(1))},
                      key=f"datasets[{i}].subsets[{j}].image_dir",
                      line=key_line(f.text, "image_dir"))


# ------------------------------------------------------------------ the guide's tricks

@predicate("dynamic_weight")
def dynamic_weight(inp, ctx, rule, th):
    f = inp.facts
    if not to_bool(f.get("dynamic_weight")):
        return
    start = to_float(f.get("dynamic_weight_start")) or 0
    end = to_float(f.get("dynamic_weight_end")) or 0
    if start < th["min_start_fraction"]:
        yield Hit({"problem": Text(N_("starts at {start} of the steps, before the LoRA has "
                                      "learned the concept (the guide waits about 1/3)"),
                                   start=f"{start:.2f}")},
                  key="dynamic_weight_start")
    if end < th["min_end_scale"]:
        yield Hit({"problem": Text(N_("ends at scale {end}, far below the guide's 0.7: the "
                                      "last epochs barely train"), end=f"{end:.2f}")},
                  key="dynamic_weight_end")


@predicate("label_pollution_trigger")
def label_pollution_trigger(inp, ctx, rule, th):
    f = inp.facts
    if not to_bool(f.get("label_pollution")):
        return
    trigger = str(f.get("trigger_word") or "").strip().lower()
    tags = [str(t).strip().lower() for t in (f.values.get("label_pollution_tags") or [])]
    if trigger and trigger in tags:
        yield Hit({"trigger": trigger}, key="label_pollution")


# ------------------------------------------------------------------ other trainers

@predicate("onetrainer_fp16_lora_weights")
def onetrainer_fp16_lora_weights(inp, ctx, rule, th):
    f = inp.facts
    if f.extra.get("trainer") != "onetrainer":
        return
    key = "lora_weight_dtype" if f.has("lora_weight_dtype") else "weight_dtype"
    dtype = str(f.values.get(key) or "")
    if dtype.upper().replace("-", "_") in ("FLOAT_16", "FLOAT16", "FP16"):
        yield Hit({"dtype": dtype}, key=key)


@predicate("json_trailing_comma")
def json_trailing_comma(inp, ctx, rule, th):
    line = inp.facts.extra.get("trailing_comma_line")
    if line is not None:
        yield Hit({"line": line}, line=line)


@predicate("blank_caption_extension")
def blank_caption_extension(inp, ctx, rule, th):
    f = inp.facts
    if not f.extra.get("caption_extension_blank"):
        return
    data_dir = local_path(inp, f.get("train_data_dir"))
    if data_dir is not None and os.path.isdir(data_dir):
        return  # the dataset is here: DS106 compares the caption files themselves
    yield Hit({}, key="caption_extension")


# optimizer_args that only one optimizer family takes: any other optimizer's constructor
# refuses them ("AdamW.__init__() got an unexpected keyword argument 'scale_parameter'").
# Owners by name as optimizer_type writes them (matched inside it: "DAdaptAdam" is DAdapt's).
OPTIMIZER_ONLY_ARGS = {
    "scale_parameter": ("Adafactor",), "relative_step": ("Adafactor",),
    "warmup_init": ("Adafactor",), "d_coef": ("Prodigy",), "safeguard_warmup": ("Prodigy",),
    "use_bias_correction": ("Prodigy", "DAdapt"),
}


def _arg_names(value) -> list[str]:
    items = value.split() if isinstance(value, str) else value if isinstance(value, list) else []
    return [str(item).partition("=")[0].strip() for item in items]


@predicate("optimizer_args_of_another")
def optimizer_args_of_another(inp, ctx, rule, th):
    """optimizer_args written for another optimizer than the one set: training stops
    when the optimizer is built. Only judged when the user's file names the optimizer."""
    f = inp.facts
    if f.origin("optimizer_type") != "user":
        return
    opt = F.optimizer(f)
    foreign = [(name, owners) for name in _arg_names(f.values.get("optimizer_args"))
               if (owners := OPTIMIZER_ONLY_ARGS.get(name))
               and not any(owner.lower() in opt.lower() for owner in owners)]
    if foreign:
        owners = sorted({owner for _, names in foreign for owner in names})
        yield Hit({"optimizer": opt, "args": ", ".join(name for name, _ in foreign),
                   "owner": " / ".join(owners)}, key="optimizer_args")

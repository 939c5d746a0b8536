"""Cross-checks over a run folder (config + log + LoRA) and environment probes."""

from __future__ import annotations

import os

from loratui.doctor import facts as F
from loratui.doctor.facts import to_float, to_int
from loratui.doctor.registry import Hit, Text, TextList, predicate
from loratui.i18n import N_

CONFIG_KINDS = ("loratui", "kohya-json", "sdscripts-toml", "cmdline", "aitoolkit")
NAN_NEEDLES = ("loss=nan", "loss: nan", "loss:nan", "loss=inf", "NaN detected in latents",
               "NaN found in latents", "invalid value encountered in cast")


def _children(inp, kinds):
    return [c for c in inp.children if c.kind in kinds and c.error is None]


def _config(inp):
    cfgs = _children(inp, CONFIG_KINDS)
    order = {k: i for i, k in enumerate(CONFIG_KINDS)}
    cfgs.sort(key=lambda c: order[c.kind])
    return cfgs[0].facts if cfgs else None


def _nan_line(inp):
    # A pasted log with the command that started it is a run of its own.
    logs = [inp] if inp.kind == "log" else _children(inp, ("log",))
    for log in logs:
        for needle in NAN_NEEDLES:
            if log.data.contains(needle):
                hits = log.data.lines_with([needle], limit=1)
                line = hits[0][0].line if hits else None
                return log, line
    return None, None


@predicate("run_nan_fp16_vae")
def run_nan_fp16_vae(inp, ctx, rule, th):
    f = _config(inp)
    log, line = _nan_line(inp)
    if f is None or log is None:
        return
    # From a paste, only settings it shows: fp16 written, no_half_vae known to be off.
    if F.mixed_precision(f) == "fp16" and not f.get("no_half_vae") and \
            f.origin("mixed_precision") != "unknown" and f.known("no_half_vae"):
        yield Hit({"where": _at_line(line)}, path=log.path, line=line, suppress=("CF112",))


@predicate("run_nan_lr")
def run_nan_lr(inp, ctx, rule, th):
    f = _config(inp)
    log, line = _nan_line(inp)
    if f is None or log is None:
        return
    causes, refs = [], ["R01"]
    te = F.text_encoder_lr(f)
    lr = F.unet_lr(f)
    if not F.is_adaptive(F.optimizer(f)):
        if te and te > 5e-5:
            causes.append(Text(N_("the text-encoder LR is {lr} (guide: 5e-6)"), lr=f"{te:g}"))
            refs.append("P9")
        if lr and lr >= 1e-3:
            causes.append(Text(N_("the UNet LR is {lr} (guide: 1e-4)"), lr=f"{lr:g}"))
            refs.append("P8")
    dim, alpha = to_int(f.get("network_dim")), to_float(f.get("network_alpha"))
    if dim and alpha and alpha / dim > 1.5:
        causes.append(Text(N_("alpha is {ratio}× the rank"), ratio=f"{alpha / dim:g}"))
        refs.append("P11")
    if causes and not (F.mixed_precision(f) == "fp16" and not f.get("no_half_vae")):
        yield Hit({"where": _at_line(line), "cause": TextList(causes, "and")},
                  path=log.path, line=line, refs=refs)


@predicate("run_oom")
def run_oom(inp, ctx, rule, th):
    f = _config(inp)
    logs = [lg for lg in _children(inp, ("log",)) if lg.data.contains("out of memory") or
            lg.data.contains("OutOfMemoryError")]
    if f is None or not logs:
        return
    causes, fixes = [], []
    script = str(f.extra.get("script") or "")
    if script in ("train_db.py", "sdxl_train.py", "fine_tune.py") or \
            logs[0].data.contains("train_db.py"):
        causes.append(Text(N_("a full fine-tuning script instead of a LoRA script")))
        fixes.append(Text(N_("use train_network.py")))
    batch = to_int(f.get("train_batch_size")) or 1
    if batch > 1:
        causes.append(Text(N_("batch size {batch}"), batch=batch))
        fixes.append(Text(N_("batch 1 with gradient accumulation")))
    if F.mixed_precision(f) == "no":
        causes.append(Text(N_("fp32 (no mixed precision)")))
        fixes.append("fp16")
    if f.get("gradient_checkpointing") is False:
        causes.append(Text(N_("no gradient checkpointing")))
        fixes.append(Text(N_("gradient checkpointing")))
    if not F.memory_efficient_attention(f):
        causes.append(Text(N_("no memory-efficient attention")))
        fixes.append("SDPA/xformers")
    if causes:
        hits = logs[0].data.lines_with(["out of memory", "OutOfMemoryError"], limit=1)
        yield Hit({"causes": TextList(causes), "fixes": TextList(fixes)}, path=logs[0].path,
                  line=hits[0][0].line if hits else None)


@predicate("run_untrained")
def run_untrained(inp, ctx, rule, th):
    f = _config(inp)
    loras = _children(inp, ("lora",))
    if f is None or not loras:
        return
    from loratui.lora.reader import LoraFile

    lora = loras[0].data
    if not isinstance(lora, LoraFile):
        return
    ups = lora.tensor_stats()["up_max"]
    if not ups or any(v > 1e-8 for v in ups.values()):
        return
    opt = F.optimizer(f)
    lr = F.unet_lr(f)
    if F.is_adaptive(opt) and lr is not None and lr < 0.1:
        yield Hit({"cause": Text(N_("{optimizer} ran with learning rate {lr} (it expects "
                                    "about 1.0)"), optimizer=opt, lr=f"{lr:g}"),
                   "fix": Text(N_("set every learning rate to 1.0 and retrain"))},
                  path=loras[0].path)
    elif not F.is_adaptive(opt) and lr is not None and lr < 1e-5:
        yield Hit({"cause": Text(N_("the learning rate is {lr}"), lr=f"{lr:g}"),
                   "fix": Text(N_("use about 1e-4 and retrain"))}, path=loras[0].path)


@predicate("run_rank_mismatch")
def run_rank_mismatch(inp, ctx, rule, th):
    f = _config(inp)
    loras = _children(inp, ("lora",))
    if f is None or not loras:
        return
    from loratui.lora.reader import LoraFile

    lora = loras[0].data
    dim = to_int(f.get("network_dim"))
    if not isinstance(lora, LoraFile) or not dim or lora.format() != "kohya":
        return
    ranks = set(lora.ranks().values())
    if ranks and dim not in ranks:
        yield Hit({"cfg_rank": dim, "file_rank": max(ranks), "lora": lora.path.name},
                  path=loras[0].path)


@predicate("gpu_processes")
def gpu_processes(inp, ctx, rule, th):
    if inp.kind == "run":  # only after an out-of-memory error in this run
        logs = [lg for lg in _children(inp, ("log",)) if lg.data.contains("out of memory")]
        if not logs:
            return
    report = ctx.gpu_report()
    if report is None:
        return
    me = os.getpid()
    procs = [p for g in report.gpus for p in g.processes
             if p.pid != me and (p.used_bytes or 0) >= th["min_mb"] * 1024**2]
    if procs:
        total = sum(p.used_bytes or 0 for p in procs) // 1024**2
        names = ", ".join(f"{p.name} (pid {p.pid}, {(p.used_bytes or 0) // 1024**2} MB)"
                          for p in procs[:4])
        pids = " ".join(str(p.pid) for p in procs)
        yield Hit({"procs": names, "total_mb": total}, command=f"kill {pids}")


def _at_line(line: int | None) -> Text | str:
    return Text(N_(" (line {line})"), line=line) if line else ""

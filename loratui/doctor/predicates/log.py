"""Predicates over logs: needle-gated regexes from rules/log.toml (FAILURES.md regex
sheet), plus a few that read context (the command line in the log, the step count)."""

from __future__ import annotations

import re
from typing import Any

from loratui.doctor.registry import Hit, Text, TextList, predicate
from loratui.doctor.util import LazyRe
from loratui.i18n import N_
from loratui.wording import a_an

_REGEX_CACHE: dict[str, re.Pattern] = {}
STEP_RE = re.compile(r"(\d+)/(\d+) \[")


def _compiled(rule) -> re.Pattern | None:
    if not rule.regex:
        return None
    key = rule.code
    if key not in _REGEX_CACHE:
        _REGEX_CACHE[key] = re.compile("|".join(f"(?:{r})" for r in rule.regex))
    return _REGEX_CACHE[key]


def _needles(rule) -> tuple[str, ...]:
    return rule.needles or tuple(rule.regex)


# rich's logging handler prints each record's level in a padded column and its source in a
# right-hand one: neither is part of the message a finding quotes
RICH_LEVEL_RE = re.compile(r"^\s*(?:DEBUG|INFO|WARNING|ERROR|CRITICAL)\s{2,}(?=\S)")
RICH_SOURCE_RE = re.compile(r"\s{2,}[\w.-]+\.py:\d+\s*$")


def _vars(m: re.Match | None, text: str, count: int) -> dict:
    text = RICH_SOURCE_RE.sub("", RICH_LEVEL_RE.sub("", text))
    out = {"count": count, "text": text if len(text) <= 160 else text[:157] + "…"}
    if m is not None:
        groups = [g for g in m.groups() if g is not None]
        for i, g in enumerate(groups, 1):
            out[f"g{i}"] = g.strip()
        out.update({k: v for k, v in m.groupdict().items() if v is not None})
    return out


def log_hits(inp, rule, limit: int = 50):
    """The lines a rule's needles and regex match; a traceback's echo of the source line
    that raised (`raise RuntimeError(f"NaN detected in latents: {...}")`) is not the
    message itself, and counts only when the paste holds nothing else."""
    log = inp.data
    needles = _needles(rule)
    if not any(log.contains(n) for n in needles):
        return []
    hits = log.lines_with(needles, _compiled(rule), limit)
    said = [h for h in hits if not _source_echo(log, h[0])]
    return said or hits


FRAME_RE = LazyRe(r'^(?:>\s*)?\s*File "[^"]*", line \d+|^\s*│.*\.py:\d+ in \w')
RICH_CODE_RE = LazyRe(r"^\s*│\s*(?:❱\s*)?\d+\s*│")


def _source_echo(log, line) -> bool:
    """`line` is the source a traceback quotes under a frame (plain or rich), not output."""
    if RICH_CODE_RE.match(line.text):
        return True
    return bool(FRAME_RE.match(log.line_before(line.pos)))


@predicate("log_regex")
def log_regex(inp, ctx, rule, th):
    """First matching line; `count` = how many lines matched (up to the scan limit)."""
    hits = log_hits(inp, rule)
    if hits:
        first, m = hits[0]
        yield Hit(_vars(m, first.text, len(hits)), line=first.line)


@predicate("log_loss_nan")
def log_loss_nan(inp, ctx, rule, th):
    hits = log_hits(inp, rule)
    if not hits:
        return
    first, m = hits[0]
    # The view shows the last tqdm update of a line; the loss may have turned NaN in an
    # update it overwrote: point at the first NaN in the file.
    earlier = inp.data.first_in_file(_needles(rule))
    if earlier is not None and earlier.pos < first.pos:
        m_earlier = _compiled(rule).search(earlier.text)
        if m_earlier is not None:
            first, m = earlier, m_earlier
    step = STEP_RE.search(first.text)
    where = Text(N_(" from step {step} of {total}"), step=step.group(1),
                 total=step.group(2)) if step else ""
    value = "inf" if re.search(r"loss\s*[=:]\s*inf\b", m.group(0)) else "NaN"
    later = _finite_loss_after(inp.data, first.pos)
    if later is None:
        verdict, severity = Text(N_("the LoRA saved after this point is broken")), None
    else:
        verdict = Text(N_("a later update shows a finite loss again ({later}), so the "
                          "trainer skipped those steps; check the samples of the checkpoints "
                          "saved in between"), later=later)
        severity = "warning"
    yield Hit({**_vars(m, first.text, len(hits)), "where": where, "value": value,
               "verdict": verdict}, line=first.line, severity=severity)


FINITE_LOSS_RE = re.compile(r"\b(?:avr_)?loss\s*[=:]\s*(\d+(?:\.\d+)?(?:e-?\d+)?)\b")


def _finite_loss_after(log, pos: int) -> str | None:
    """The log's last loss reading when it is finite and comes after file offset `pos` (a
    NaN); None when the loss stays NaN (NaN weights make every later loss NaN)."""
    last = log.last_segment_with(("loss=", "loss: "))
    if last is None or last[0] <= log.to_view_pos(pos):
        return None
    if re.search(r"\bloss\s*[=:]\s*(?:nan|inf)\b", last[1], re.I):
        return None
    found = FINITE_LOSS_RE.findall(last[1])
    return f"loss={found[-1]}" if found else None


@predicate("log_bitsandbytes")
def log_bitsandbytes(inp, ctx, rule, th):
    """bitsandbytes cannot use the GPU. Its CPU-only build only warns at start-up: that is
    a fault when the run uses an 8-bit optimizer, noise otherwise."""
    hits = log_hits(inp, rule)
    if not hits:
        return
    failed = [(line, m) for line, m in hits if "compiled without GPU support" not in line.text]
    if not failed and not _uses_8bit_optimizer(inp):
        return
    line, m = (failed or hits)[0]
    # E03 (an old GPU the build has no kernel for) only when the log says so.
    refs = ["E02", "E03"] if "no kernel image" in line.text else ["E02"]
    yield Hit(_vars(m, line.text, len(hits)), line=line.line, refs=refs)


def _uses_8bit_optimizer(inp) -> bool:
    from loratui.doctor import facts as F
    from loratui.doctor.inputs.tracebacks import final_traceback

    log = inp.data
    if log.contains("use 8-bit") or log.contains("8bit optimizer"):
        return True
    cmd = _command_facts(inp)
    if cmd is not None and F.optimizer(cmd).lower() in F.EIGHT_BIT_OPTIMIZERS:
        return True
    tb, _ended = final_traceback(log)
    return tb is not None and any("bitsandbytes" in f.file for f in tb.frames)


@predicate("log_oom")
def log_oom(inp, ctx, rule, th):
    hits = log_hits(inp, rule)
    if not hits:
        return
    first, _ = hits[0]
    text = first.text
    tried = re.search(r"Tried to allocate ([\d.]+ [GM]iB)", text, re.I)  # retyped in
    total = re.search(r"([\d.]+) GiB total capacity", text, re.I)  # lower case too
    parts = []
    if tried:
        parts.append(Text(N_(" while allocating {size}"), size=tried.group(1)))
    if total:
        size = total.group(1) + " GiB"
        parts.append(Text(N_(" on an {size} card") if a_an(size).startswith("an ") else
                          N_(" on a {size} card"), size=size))
    detail = TextList(parts, "none") if parts else ""
    script = ""
    # Refs for the causes this log shows, not every cause an OOM can have.
    refs = ["E10", "P12", "P14"]
    if _full_finetune(inp):
        script = Text(N_("; the log runs a full fine-tuning script (train_db.py / "
                         "fine_tune.py), not a LoRA script (E09)"))
        refs.insert(0, "E09")
    if _in_notebook(inp):
        refs.append("P32")
    yield Hit({"detail": detail, "script": script, "count": len(hits)}, line=first.line,
              refs=refs)


FULL_FINETUNE_RE = re.compile(r"(?:^|[\\/\"' ])(?:train_db|sdxl_train|fine_tune|flux_train)\.py\b")


def _full_finetune(inp) -> bool:
    cmd = _command_facts(inp)
    if cmd is not None and cmd.extra.get("script"):
        return FULL_FINETUNE_RE.search(" " + str(cmd.extra["script"])) is not None
    return any(FULL_FINETUNE_RE.search(line.text) for n in ("train_db.py", "sdxl_train.py",
                                                            "fine_tune.py")
               for line, _ in inp.data.lines_with([n], limit=5))


def _in_notebook(inp) -> bool:
    log = inp.data
    return any(log.contains(n) for n in ("/content/", "ipykernel", "google.colab",
                                         "/kaggle/", "!accelerate", "!python"))


def _command_facts(inp):
    """The facts of the training command found in this log, or None."""
    for child in inp.children:
        if child.kind == "cmdline" and child.facts is not None:
            return child.facts
    return None


@predicate("log_no_reg")
def log_no_reg(inp, ctx, rule, th):
    hits = log_hits(inp, rule)
    if not hits:
        return
    reg_set = inp.data.contains("--reg_data_dir") or inp.data.contains("reg_data_dir=")
    for cfg_kind in ("loratui", "kohya-json", "sdscripts-toml", "cmdline", "aitoolkit"):
        for sib in ctx.siblings(inp, cfg_kind):
            if sib.facts is not None and sib.facts.get("reg_data_dir"):
                reg_set = True
    if reg_set:
        first, m = hits[0]
        yield Hit(_vars(m, first.text, len(hits)), line=first.line)


@predicate("log_script_in_command")
def log_script_in_command(inp, ctx, rule, th):
    """L-DBTRAIN: only on lines that look like a launched command."""
    for line, m in log_hits(inp, rule):
        if "--" in line.text or "accelerate" in line.text or "python" in line.text:
            yield Hit(_vars(m, line.text, 1), line=line.line)
            return


@predicate("log_traceback")
def log_traceback(inp, ctx, rule, th):
    """The traceback the run ended on (a fallback when no rule explains it). Harmless ones
    (the Triton probe) are skipped; one the run went on after is only information."""
    from loratui.doctor.inputs.tracebacks import final_traceback

    tb, ended = final_traceback(inp.data)
    if tb is None:
        return
    yield Hit({"exception": tb.text}, line=tb.exc_line, severity=None if ended else "info")


FOUND_DIR_RE = LazyRe(r"found directory (.+?) contains \d+ image files")


@predicate("log_captions_not_found")
def log_captions_not_found(inp, ctx, rule, th):
    """Images trained without captions. A regularisation folder without captions is how
    it is meant to be (its class token is the caption); when the command names its caption
    extension, the default `.caption` is not the cause."""
    cmd = _command_facts(inp)
    reg = _norm_dir(cmd.get("reg_data_dir")) if cmd is not None else ""
    for line, m in log_hits(inp, rule):
        found = FOUND_DIR_RE.search(inp.data.line_before(line.pos))
        if reg and found and _norm_dir(found.group(1)).startswith(reg):
            continue  # regularisation images: no captions is the normal case
        ext = cmd.get("caption_extension") if cmd is not None else None
        if ext and cmd.origin("caption_extension") == "user":
            ext = ext if str(ext).startswith(".") else f".{ext}"  # sd-scripts adds the dot
            why = Text(N_("no `{ext}` file sits beside them, so only the folder's class token "
                          "is their caption"), ext=ext)
            yield Hit({**_vars(m, line.text, 1), "why": why}, line=line.line, refs=["P5"])
        else:
            why = Text(N_("the caption extension does not match the files (sd-scripts' "
                          "default is .caption)"))
            yield Hit({**_vars(m, line.text, 1), "why": why}, line=line.line)
        return


def _norm_dir(path) -> str:
    return str(path or "").replace("\\", "/").rstrip("/").lower()


@predicate("log_ended_without_training")
def log_ended_without_training(inp, ctx, rule, th):
    log = inp.data
    ended = [n for n in ("Training has ended", "training finished", "Training finished",
                         "model saved.") if log.contains(n)]
    if not ended:
        return
    progressed = log.contains("steps:") and re.search(rb"steps:\s+\d+%", log.view) is not None
    saved = log.contains("saving checkpoint") or log.contains("save trained model") or \
        log.contains(".safetensors")
    if progressed or saved or _stopped_on_an_error(log):
        return  # an error the paste shows ended it: that error's finding says why
    hits = log.lines_with([ended[0]])
    yield Hit({}, line=hits[0][0].line if hits else None)


def _stopped_on_an_error(log) -> bool:
    """The run stopped on a traceback or on its argument parser's error."""
    from loratui.doctor.inputs.tracebacks import final_traceback

    if log.contains(": error: unrecognized arguments") or log.contains(": error: argument "):
        return True
    tb, ended = final_traceback(log)
    return tb is not None and ended


# ------------------------------------------------------------------ root causes from tracebacks

OS_ERRORS = ("OSError", "FileNotFoundError", "PermissionError", "IsADirectoryError",
             "NotADirectoryError", "FileExistsError")
SAVE_FUNC_RE = re.compile(r"save|serializ|_write|write_|makedirs|mkdir", re.I)
SAVING_LINE_RE = re.compile(rb"saving (?:checkpoint|model)|save trained model|"
                            rb"saving state|model saved|Saving model", re.I)
RUNTIME_SAVE_RE = re.compile(r"Parent directory .* does not exist|File .* cannot be opened|Error while serializing|IoError|"
                             r"\[Errno \d+\]|No space left", re.I)


def _saving(inp, tb) -> bool:
    """The traceback was raised while saving: a saving frame, or (frames cut from the
    paste) a saving line just before it."""
    if any(SAVE_FUNC_RE.search(f.func) for f in tb.frames):
        return True
    if tb.frames and any("load" in f.func.lower() for f in tb.frames[-3:]):
        return False
    log = inp.data
    v = log.to_view_pos(tb.pos)
    return SAVING_LINE_RE.search(log.view, max(v - 2048, 0), v) is not None


@predicate("log_save_failed")
def log_save_failed(inp, ctx, rule, th):
    from loratui.doctor.inputs.tracebacks import tracebacks

    for tb in tracebacks(inp.data):
        os_error = tb.exc_type in OS_ERRORS or (
            tb.exc_type in ("RuntimeError", "SafetensorError") and
            RUNTIME_SAVE_RE.search(tb.message) is not None)
        if os_error and _saving(inp, tb):
            yield Hit({"exception": tb.text}, line=tb.exc_line)
            return


WIDTHS = {768: "SD1.x", 1024: "SD2.x", 2048: "SDXL"}
SIZE_RE = re.compile(r"size mismatch for ([\w.]+): copying a param with shape "
                     r"torch\.Size\(\[([\d, ]*)\]\) from checkpoint, the shape in current "
                     r"model is torch\.Size\(\[([\d, ]*)\]\)")
SDXL_KEYS_RE = re.compile(r"(?:Missing|Unexpected) key\(s\) in state_dict:.*"
                          r"(label_emb|conditioner\.embedders|add_embedding)")


def _family_of(shape: str) -> str | None:
    for n in re.findall(r"\d+", shape):
        if int(n) in WIDTHS:
            return WIDTHS[int(n)]
    return None


@predicate("log_base_size_mismatch")
def log_base_size_mismatch(inp, ctx, rule, th):
    """Shapes of the base model's own weights (not LoRA keys) that do not fit: the
    checkpoint is of another family than the script builds."""
    for line, _m in log_hits(inp, rule):
        sm = SIZE_RE.search(line.text)
        if sm is not None:
            if "lora" in sm.group(1).lower():
                continue
            ckpt, model = _family_of(sm.group(2)), _family_of(sm.group(3))
            if ckpt and model and ckpt != model:
                detail = Text(N_("the checkpoint's `{key}` has {family} shapes ({shape}) where "
                                 "the script builds {model} ({model_shape})"),
                              key=sm.group(1), family=ckpt, shape=sm.group(2), model=model,
                              model_shape=sm.group(3))
            elif sm.group(1).endswith("conv_in.weight") and \
                    sm.group(2).replace(" ", "").split(",")[1:2] == ["9"]:
                detail = Text(N_("the checkpoint is an inpainting model (`{key}` takes 9 input "
                                 "channels, the script's model 4): train on its plain version"),
                              key=sm.group(1))
            else:
                detail = Text(N_("`{key}` is [{shape}] in the checkpoint and [{model_shape}] in "
                                 "the model the script builds"),
                              key=sm.group(1), shape=sm.group(2), model_shape=sm.group(3))
            yield Hit({"detail": detail}, line=line.line)
            return
        if "KeyError" in line.text and "conditioner.embedders" in line.text:
            yield Hit({"detail": Text(N_("the SDXL script looks for SDXL keys "
                                         "(`conditioner.embedders`) the checkpoint lacks: an "
                                         "SD1.x/SD2.x checkpoint"))}, line=line.line)
            return
        km = SDXL_KEYS_RE.search(line.text)
        if km is not None:
            yield Hit({"detail": Text(N_("the checkpoint has SDXL keys (`{key}`) the script's "
                                         "SD1.x/SD2.x model does not"), key=km.group(1))},
                      line=line.line)
            return


BLOCK_WEIGHT_RE = re.compile(r"could not convert string to float: '([^']*)'")
BLOCK_SPEC_RE = re.compile(r"^(?:lbw\s*=.*|[A-Z]{2,}[A-Z0-9]*|(?:[\d.]+\s*,\s*){5,}[\d.]+|"
                           r"(?:IN|OUT|MID)\w*)$")


@predicate("log_block_weight_syntax")
def log_block_weight_syntax(inp, ctx, rule, th):
    for line, _m in log_hits(inp, rule):
        bm = BLOCK_WEIGHT_RE.search(line.text)
        if bm is not None and BLOCK_SPEC_RE.match(bm.group(1).strip()):
            yield Hit({"value": bm.group(1)}, line=line.line)
            return


@predicate("log_no_kernel")
def log_no_kernel(inp, ctx, rule, th):
    """Every form of "no kernel image": PyTorch, xformers and flash-attention builds
    (bitsandbytes' own is LG114)."""
    for line, m in log_hits(inp, rule):
        low = line.text.lower()
        if "bitsandbytes" in low:
            continue
        lib = "flash-attention" if "flash" in low else "xformers" if "xformers" in low \
            else "PyTorch"
        yield Hit({**_vars(m, line.text, 1), "lib": lib}, line=line.line)
        return


RATE_RE = re.compile(rb"(\d+)/(\d+) \[[^\]\n]{0,40}?,\s*([\d.]+)\s*(s/it|it/s)")


def _rates(log) -> list[tuple[int, int, float]]:
    """(total, step, seconds per step) of every progress update in the file, overwritten
    ones included."""
    out: list[tuple[int, int, float]] = []
    prev = b""
    for _base, block in log._stream():
        buf = prev + bytes(block)
        cut = max(buf.rfind(b"\n"), buf.rfind(b"\r"))
        head, prev = (buf[:cut], buf[cut:]) if cut != -1 else (b"", buf[-4096:])
        for m in RATE_RE.finditer(head):
            value = float(m.group(3))
            if value <= 0:
                continue
            spi = value if m.group(4) == b"s/it" else 1.0 / value
            out.append((int(m.group(2)), int(m.group(1)), spi))
            if len(out) > 2_000_000:
                return out
    return out


@predicate("log_slowdown")
def log_slowdown(inp, ctx, rule, th):
    """A sustained multi-fold rise in seconds per step in one progress bar: the GPU ran
    out of memory and the driver spilled into shared system memory."""
    if not inp.data.contains("s/it"):
        return
    rates = _rates(inp.data)
    by_total: dict[int, list[tuple[int, float]]] = {}
    for total, step, spi in rates:
        by_total.setdefault(total, []).append((step, spi))
    for total, seq in by_total.items():
        seq = [(s, r) for s, r in seq if s >= 2]
        if len(seq) < 6:
            continue
        n = max(len(seq) // 5, 2)
        early = sorted(r for _s, r in seq[:n])[n // 2]
        hit_vars = judge_slowdown(early, min(r for _s, r in seq[-n:]), total, th)
        if hit_vars is not None:
            yield Hit(hit_vars)
            return


NAN_NEEDLES = ("loss=nan", "loss: nan", "avr_loss=nan", "NaN detected in latents",
               "NaN found in latents", "all NaNs", "invalid value encountered in cast")
# "GTX 1660 Ti", "GTX1650", and as users write it in prose: "GeForce 1660 SUPER"
GTX16_RE = re.compile(r"GTX\s*16[3-6]0|GeForce\s+16[3-6]0")
GTX16_NEEDLES = ("GTX 16", "GTX16", "GeForce 16")


@predicate("log_gtx16_nan")
def log_gtx16_nan(inp, ctx, rule, th):
    log = inp.data
    gpu = next((line for line, _ in log.lines_with(list(GTX16_NEEDLES), limit=5)
                if GTX16_RE.search(line.text)), None)
    if gpu is None or not any(log.contains(n) for n in NAN_NEEDLES):
        return
    cmd = _command_facts(inp)
    if cmd is not None:
        from loratui.doctor import facts as F

        if cmd.get("mixed_precision") is not None and F.mixed_precision(cmd) != "fp16":
            return
    card = GTX16_RE.search(gpu.text).group(0)
    nan = next(line for n in NAN_NEEDLES for line, _ in log.lines_with([n], limit=1))
    yield Hit({"card": card, "text": nan.text[:160]}, line=nan.line)


XFORMERS_CALLED = ("No operator found for `memory_efficient_attention", "No such operator xformers::",
                   "named symbol not found")
XFORMERS_KERNEL = "named symbol not found"


@predicate("log_xformers")
def log_xformers(inp, ctx, rule, th):
    """xformers missing or mismatched: an error when the run uses it (its command has
    --xformers, or a traceback names it), a notice otherwise."""
    hits = log_hits(inp, rule)
    if not hits:
        return
    from loratui.doctor.inputs.tracebacks import final_traceback

    tb, _ended = final_traceback(inp.data)
    through = tb is not None and any("xformers" in f.file.lower() for f in tb.frames)
    # a CUDA error raised inside xformers' own kernels (ZLUDA on AMD has none of them) is
    # xformers' only when the traceback runs through it
    hits = [(line, m) for line, m in hits if XFORMERS_KERNEL not in line.text or through]
    if not hits:
        return
    first, m = hits[0]
    cmd = _command_facts(inp)
    used = cmd is not None and (bool(cmd.get("xformers")) or
                                str(cmd.get("attention") or "").lower() == "xformers")
    if through or (tb is not None and "xformers" in tb.text.lower()):
        used = True
    if "ImportError: No xformers" in first.text or "No xformers /" in first.text:
        used = True
    # an attention call xformers could not serve: the run called it
    if any(n in line.text for line, _m in hits for n in XFORMERS_CALLED):
        used = True
    severity = None if used else "info"
    if not used and cmd is None and tb is None and "requires torch==" in first.text:
        severity = "warning"  # pip's own verdict on the install; no run shows the use
    if used and (tb is None or not _ended):
        from loratui.doctor.inputs.paste import settings_cap

        severity = settings_cap(inp.data) or severity  # it trained, so xformers worked
    yield Hit(_vars(m, first.text, len(hits)), line=first.line, severity=severity)


TRAINING_SIGNS = ("train_network.py", "sdxl_train", "running training", "steps:", "学習開始",
                  "caching latents")


@predicate("log_shape_mismatch")
def log_shape_mismatch(inp, ctx, rule, th):
    """Widths of another family: at generation a LoRA of another family (O02); in a
    training run, a base model the script does not build (C02) too."""
    hits = log_hits(inp, rule)
    if not hits:
        return
    first, m = hits[0]
    refs = list(rule.refs)
    if _command_facts(inp) is not None or any(inp.data.contains(n) for n in TRAINING_SIGNS):
        refs.insert(0, "C02")
    yield Hit(_vars(m, first.text, len(hits)), line=first.line, refs=refs)


@predicate("log_huber_device")
def log_huber_device(inp, ctx, rule, th):
    """Tensors on two devices is the huber-loss bug (C15) only where the paste shows the
    huber loss; elsewhere it is some other bug, left to the traceback fallback."""
    hits = log_hits(inp, rule)
    if not hits:
        return
    cmd = _command_facts(inp)
    huber = inp.data.contains("huber") or (
        cmd is not None and "huber" in str(cmd.get("loss_type") or "").lower())
    if huber:
        first, m = hits[0]
        yield Hit(_vars(m, first.text, len(hits)), line=first.line)


ADAPTIVE_NAMES = ("Prodigy", "prodigy", "DAdapt", "dadapt", "DAdaptation")


@predicate("log_dropped_lr")
def log_dropped_lr(inp, ctx, rule, th):
    """DAdaptation using only its first LR is always worth saying; the GUI's "Learning rate
    won't be used ... because text_encoder_lr or unet_lr is set" is its normal notice and
    matters only with an adaptive optimizer (C09), which the paste must show."""
    for line, m in log_hits(inp, rule):
        if "dadaptation" in line.text:
            yield Hit(_vars(m, line.text, 1), line=line.line)
            return
        cmd = _command_facts(inp)
        optimizer = str(cmd.get("optimizer_type") or "") if cmd is not None else ""
        if any(n in optimizer for n in ADAPTIVE_NAMES) or \
                any(inp.data.contains(n) for n in ADAPTIVE_NAMES):
            yield Hit(_vars(m, line.text, 1), line=line.line)
            return


@predicate("log_loss_not_falling")
def log_loss_not_falling(inp, ctx, rule, th):
    """The mean loss per epoch, read from the progress updates the log shows (the last
    update before each `epoch N/M` line, sd-scripts' running epoch average): LG168."""
    from loratui.watch.progress import ProgressReader

    reader = ProgressReader()
    per_epoch: dict = {}
    for line, _m in inp.data.lines_with(["epoch ", "epoch:", "%|"], limit=5000):
        row = reader.feed(line.text)
        if row is None or row.get("epoch") is None:
            continue
        loss = row.get("loss_avg", row.get("loss"))
        if isinstance(loss, float) and loss == loss:
            first, last, losses = per_epoch.get(row["epoch"], (row["step"], row["step"], []))
            losses.append(loss)
            per_epoch[row["epoch"]] = (first, row["step"], losses)
    means = []
    before = 0  # the last step of the epoch before
    for epoch, (_first, last, losses) in per_epoch.items():
        means.append((epoch, sum(losses) / len(losses), last - before))
        before = last
        hit_vars = judge_epochs(means, th)
        if hit_vars is not None:
            yield Hit(hit_vars)
            return


def judge_epochs(means: list[tuple[Any, float, int]], th: dict[str, Any]) -> dict | None:
    """LG168's verdict on the last two finished epochs `(epoch, mean loss, steps)`: the
    message's values when it fires, else None. The whole log's rule and the live watch
    share it."""
    if len(means) < 2:
        return None
    (e0, m0, n0), (e1, m1, n1) = means[-2], means[-1]
    if min(n0, n1) < int(th["min_steps"]) or m0 <= 0:
        return None
    change = (m1 - m0) / m0
    rise, flat = float(th["rise"]), float(th["flat"])
    if change >= rise:
        how = Text(N_("rose {percent}"), percent=f"{change:.0%}")
        meaning = Text(N_("the run is diverging (the learning rate is too high)"))
    elif abs(change) <= flat:
        how, meaning = Text(N_("stayed flat")), Text(N_("nothing is being learned"))
    else:
        return None
    return {"before_epoch": e0, "epoch": e1, "before": f"{m0:.4g}",
                    "after": f"{m1:.4g}", "how": how, "meaning": meaning}


def judge_slowdown(before: float, after: float, total, th: dict[str, Any]) -> dict | None:
    """LG163's verdict on seconds per step `after` against `before` (each a robust reading
    of its part of the run): the message's values when it fires, else None. The whole
    log's rule and the live watch share it."""
    if before > 0 and after >= float(th["factor"]) * before and after >= float(th["min_seconds"]):
        return {"before": f"{before:.2f}", "after": f"{after:.2f}",
                "factor": f"{after / before:.0f}", "total": total}
    return None


# ("ignore subset with image_dir=" is no sign: sd-scripts prints it for train_data_dir's
# empty `N_name` folders too)
DATASET_CONFIG_SIGNS = ("Load dataset config from", "Loading dataset config from",
                        "[[datasets.subsets]]")


@predicate("log_no_training_data")
def log_no_training_data(inp, ctx, rule, th):
    """No images: with a dataset config the subsets' image_dir names the image folder
    itself, without one train_data_dir is the parent of `N_name` folders."""
    hits = log_hits(inp, rule)
    if not hits:
        return
    first, m = hits[0]
    cmd = _command_facts(inp)
    given = [k for k in ("dataset_config", "train_data_dir")
             if cmd is not None and cmd.origin(k) == "user" and cmd.get(k)]
    if given:  # the command says which: the log's signs are only a guess
        uses_config = "dataset_config" in given
    else:
        uses_config = any(inp.data.contains(n) for n in DATASET_CONFIG_SIGNS)
    if uses_config:
        where = Text(N_("the dataset config's image_dir must name a folder that holds the "
                        "images"))
        fix = Text(N_("point each subset's image_dir at the folder with the images (the "
                      "`10_name` folder itself) and check that it exists"))
    else:
        where = Text(N_("train_data_dir must be the parent of `N_name` folders"))
        fix = Text(N_("point train_data_dir at the folder that contains `10_name`, not at "
                      "`10_name` itself"))
    yield Hit({**_vars(m, first.text, len(hits)), "where": where, "fix_hint": fix},
              line=first.line)


MPS_SIGNS = ("Apple MPS", "(not 'mps')", "on MPS", "mps backend", "MPS backend", "device: mps",
             "device='mps'", "Apple M1", "Apple M2", "Apple M3", "Apple M4")


@predicate("log_bf16_refused")
def log_bf16_refused(inp, ctx, rule, th):
    """accelerate refused bf16: on the Apple MPS device when the log shows one, otherwise
    a CUDA card older than Ampere."""
    hits = log_hits(inp, rule)
    if not hits:
        return
    first, m = hits[0]
    if any(inp.data.contains(n) for n in MPS_SIGNS):
        why = Text(N_("the log runs on Apple's MPS device, where accelerate does not run bf16 "
                      "mixed precision"))
        fix = Text(N_("set mixed_precision to no (or fp16 on a recent torch) and "
                      "save_precision to fp16 or float on Apple Silicon"))
    else:
        why = Text(N_("this GPU has no bf16 (it needs an RTX 30xx / A100 or newer; Colab's "
                      "T4 and V100 have none)"))
        fix = Text(N_("set mixed_precision and save_precision to fp16 (with no_half_vae for "
                      "SDXL), or train on an Ampere or newer GPU"))
    yield Hit({**_vars(m, first.text, len(hits)), "why": why, "fix_hint": fix},
              line=first.line)


FORGE_LORA_SIGNS = ("sd_forge_lora", "network_on_disk", "[LORA]")


@predicate("log_forge_missing_lora")
def log_forge_missing_lora(inp, ctx, rule, th):
    """Forge's LoRA extension failing on the file name of a LoRA it did not find: only
    when the log shows that extension (the same AttributeError elsewhere is another bug)."""
    if not any(inp.data.contains(n) for n in FORGE_LORA_SIGNS):
        return
    hits = log_hits(inp, rule)
    if hits:
        first, m = hits[0]
        yield Hit(_vars(m, first.text, len(hits)), line=first.line)


@predicate("log_decode_error")
def log_decode_error(inp, ctx, rule, th):
    """A file that is not UTF-8 (the trainer reads UTF-8), or a UTF-8 file read with the
    locale's codec (the trainer named no encoding): the codec in the error tells which."""
    hits = log_hits(inp, rule)
    if not hits:
        return
    first, m = hits[0]
    codec = next((g for g in m.groups() if g and not g.startswith("0x")), "utf-8") \
        if m is not None else "utf-8"
    if codec.lower() in ("utf-8", "utf8"):
        what = Text(N_("a caption, prompt or config file is not UTF-8"))
        fix = Text(N_("re-save the file as UTF-8 (`loratui doctor DATASET_FOLDER` lists every "
                      "non-UTF-8 caption)"))
    else:
        what = Text(N_("a file was read with the system's `{codec}` codec, not as UTF-8: the "
                       "program opened it without naming an encoding"), codec=codec)
        fix = Text(N_("update the trainer (sd-scripts reads its prompt and config files as "
                      "UTF-8), or set PYTHONUTF8=1 before starting it"))
    yield Hit({**_vars(m, first.text, len(hits)), "what": what, "fix_hint": fix},
              line=first.line)


# A tensor whose bytes are fewer than its shape needs, read by safetensors: the file is cut
# short (an interrupted download or copy) or not what its header says.
SHORT_TENSOR_RE = re.compile(r"shape '\[[\d, ]*\]' is invalid for input of size \d+")


@predicate("log_tensor_cut_short")
def log_tensor_cut_short(inp, ctx, rule, th):
    from loratui.doctor.inputs.tracebacks import tracebacks

    for tb in tracebacks(inp.data):
        if SHORT_TENSOR_RE.search(tb.message) and any(
                "safetensors" in f.file.replace("\\", "/").lower() or f.func == "get_tensor"
                for f in tb.frames):
            loader = next((f.file for f in reversed(tb.frames) if "safetensors" not in
                           f.file.lower()), "")
            yield Hit({"exception": tb.text, "file": loader}, line=tb.exc_line)
            return


# A call and the function it calls disagree on the arguments: the caller and the callee
# come from different versions (a wrapper script and its sd-scripts, a trainer and a library).
SIGNATURE_RE = re.compile(r"^([\w.]+)\(\) (?:takes (?:from \d+ to )?\d+ positional arguments? "
                          r"but \d+ (?:were|was) given|missing \d+ required positional "
                          r"arguments?: .+)$")


@predicate("log_signature_mismatch")
def log_signature_mismatch(inp, ctx, rule, th):
    from loratui.doctor.inputs.tracebacks import final_traceback

    tb, ended = final_traceback(inp.data)
    if tb is None or not ended or tb.exc_type != "TypeError":
        return
    m = SIGNATURE_RE.match(tb.message)
    if m is None or len(tb.frames) < 1:
        return
    caller = tb.frames[-1]
    yield Hit({"exception": tb.text, "function": m.group(1),
               "caller": f"{caller.file}:{caller.line}"}, line=tb.exc_line)


@predicate("log_error_notice")
def log_error_notice(inp, ctx, rule, th):
    """An error the paste reports without a traceback (a GUI's `ERROR` line, AUTOMATIC1111's
    "Network with error"), when no rule explains it: said as seen, with no cause guessed."""
    from loratui.doctor.inputs.tracebacks import PROGRESS, final_traceback

    log = inp.data
    if final_traceback(log)[0] is not None:
        return  # LG139 quotes the traceback
    # an error the run went on from (a pip line before training, a failed preload) is not
    # what it ended on
    hits = [(line, m) for line, m in log_hits(inp, rule)
            if PROGRESS.search(log.visible_from(line.pos, 1 << 20)) is None]
    if hits:
        last, m = hits[-1]
        yield Hit(_vars(m, last.text, len(hits)), line=last.line)

"""Predicates over logs: needle-gated regexes from rules/log.toml (FAILURES.md regex
sheet), plus a few that read context (the command line in the log, the step count)."""

from __future__ import annotations

import re

from loratui.doctor.registry import Hit, predicate
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


def _vars(m: re.Match | None, text: str, count: int) -> dict:
    out = {"count": count, "text": text if len(text) <= 160 else text[:157] + "…"}
    if m is not None:
        groups = [g for g in m.groups() if g is not None]
        for i, g in enumerate(groups, 1):
            out[f"g{i}"] = g.strip()
        out.update({k: v for k, v in m.groupdict().items() if v is not None})
    return out


def log_hits(inp, rule, limit: int = 50):
    log = inp.data
    needles = _needles(rule)
    if not any(log.contains(n) for n in needles):
        return []
    return log.lines_with(needles, _compiled(rule), limit)


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
    where = f" from step {step.group(1)} of {step.group(2)}" if step else ""
    yield Hit({**_vars(m, first.text, len(hits)), "where": where}, line=first.line)


@predicate("log_oom")
def log_oom(inp, ctx, rule, th):
    hits = log_hits(inp, rule)
    if not hits:
        return
    first, _ = hits[0]
    text = first.text
    tried = re.search(r"Tried to allocate ([\d.]+ [GM]iB)", text)
    total = re.search(r"([\d.]+) GiB total capacity", text)
    detail = ""
    if tried:
        detail += f" while allocating {tried.group(1)}"
    if total:
        detail += f" on {a_an(total.group(1) + ' GiB')} card"
    script = ""
    if inp.data.contains("train_db.py") or inp.data.contains("sdxl_train.py ") or \
            inp.data.contains("fine_tune.py"):
        script = "; the log runs a full fine-tuning script (train_db.py / fine_tune.py), " \
                 "not a LoRA script (E09)"
    yield Hit({"detail": detail, "script": script, "count": len(hits)}, line=first.line)


@predicate("log_no_reg")
def log_no_reg(inp, ctx, rule, th):
    hits = log_hits(inp, rule)
    if not hits:
        return
    reg_set = inp.data.contains("--reg_data_dir") or inp.data.contains("reg_data_dir=")
    for cfg_kind in ("loratui", "kohya-json", "sdscripts-toml", "cmdline"):
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


EXC_RE = re.compile(r"^(?:[\w.]+\.)?(\w*(?:Error|Exception|Interrupt|Exit)\w*)(?::\s*(.*))?$")


@predicate("log_traceback")
def log_traceback(inp, ctx, rule, th):
    """The first Python traceback's exception line (a fallback when no rule explains it)."""
    log = inp.data
    pos = log.find(b"Traceback (most recent call last)")
    if pos == -1:
        return
    chunk = log.visible_from(pos, 200_000).decode("utf-8", errors="replace")
    from loratui.doctor.inputs.log import ANSI_RE

    lines = ANSI_RE.sub("", chunk).split("\n")
    for offset, raw in enumerate(lines[1:], 1):
        raw = raw.rsplit("\r", 1)[-1]  # the update a terminal shows last
        text = raw.strip()
        if not text or raw.startswith((" ", "\t")) or text.startswith(("File ", "^", "~")):
            continue
        m = EXC_RE.match(text)
        if m:
            yield Hit({"exception": text[:300]}, line=log.line_no(pos) + offset)
            return
        if not text.startswith(("During handling", "The above exception")):
            continue


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
    if not progressed and not saved:
        hits = log.lines_with([ended[0]])
        yield Hit({}, line=hits[0][0].line if hits else None)

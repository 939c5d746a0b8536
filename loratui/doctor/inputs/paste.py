"""What a log paste says about the run's settings: the training command found in it (read
as a `cmdline` child input, so config rules check it too) and the values the trainer
printed (`total optimization steps / 学習ステップ数: 5000`), which beat computed ones.

Only the parts of a long log around a command are decoded: `.py` hits in its view and
`Command '[` lists, a window each, so a 200 MB log costs no second copy.
"""

from __future__ import annotations

from loratui.doctor.inputs import Input
from loratui.doctor.util import LazyRe, unwrap_lines

WHOLE_FROM = 512 << 10  # a view smaller than this is decoded whole
WINDOW_BEFORE = 8 * 1024
WINDOW_AFTER = 64 * 1024
MAX_WINDOWS = 40
# What sd-scripts and the kohya_ss GUI print about the run they start.
PRINTED = (
    ("max_train_steps", LazyRe(r"total optimization steps\s*/[^:\n]*:\s*(\d+)")),
    ("max_train_steps", LazyRe(r"max_train_steps \([^)\n]*\)\s*=\s*(\d+)")),
    ("max_train_epochs", LazyRe(r"num epochs\s*/[^:\n]*:\s*(\d+)")),
    ("train_batch_size", LazyRe(r"batch size per device\s*/[^:\n]*:\s*(\d+)")),
    ("gradient_accumulation_steps",
     LazyRe(r"gradient accumulation steps\s*/[^=:\n]*[=:]\s*(\d+)")),
    ("network_dim", LazyRe(r"base dim \(rank\):\s*(\d+)")),
    ("network_alpha", LazyRe(r"base dim \(rank\):\s*\d+,\s*alpha:\s*([\d.]+)")),
)
PRINTED_NEEDLES = (b"total optimization steps", b"max_train_steps (", b"num epochs /",
                   b"batch size per device", b"gradient accumulation steps /", b"base dim (rank)")


def _regions(log) -> list[tuple[int, str]]:
    """(first line number, text) of the parts of the view that may hold a command."""
    view = log.view
    if len(view) <= WHOLE_FROM:
        return [(1, view.decode("utf-8", errors="replace"))]
    spans: list[list[int]] = []
    for needle in (b".py", b"Command '[", b"--pretrained_model_name_or_path"):
        pos = view.find(needle)
        hits = 0
        while pos != -1 and hits < MAX_WINDOWS:
            start = max(view.rfind(b"\n", 0, max(pos - WINDOW_BEFORE, 0)) + 1, 0)
            end = min(pos + WINDOW_AFTER, len(view))
            if spans and start <= spans[-1][1]:
                spans[-1][1] = max(spans[-1][1], end)
            else:
                spans.append([start, end])
            hits += 1
            pos = view.find(needle, end)
    spans.sort()
    out = []
    for start, end in spans:
        line = log.line_no(log.to_file_pos(start))
        out.append((line, view[start:end].decode("utf-8", errors="replace")))
    return out


def printed_values(log) -> dict[str, tuple[float, int]]:
    """Settings the trainer printed: canonical key → (value, line)."""
    out: dict[str, tuple[float, int]] = {}
    if not any(log.contains(n.decode()) for n in PRINTED_NEEDLES):
        return out
    for key, regex in PRINTED:
        if key in out:
            continue
        for needle in PRINTED_NEEDLES:
            for pos in log.find_all(needle.decode(), limit=5):
                m = regex.search(log.segment(pos))
                if m:
                    value = float(m.group(1))
                    out.setdefault(key, (int(value) if value.is_integer() and
                                         key != "network_alpha" else value, log.line_no(pos)))
    return out


SAVED = ("saving checkpoint", "model saved", "save trained model", "Model saved",
         "saved to", "Training finished", "training finished", "Training has ended")


STEPPED = LazyRe(rb"\d+%\|[^\n\r|]*\|\s*[1-9]\d*/\d+ \[")


def settings_cap(log) -> str | None:
    """How severe findings about the settings of a command may be, given what the paste
    shows of its run: "info" when it saved its LoRA with no error, NaN or traceback it
    ended on (the settings are advice); "warning" when it is training past its first steps
    without one (none of them stopped it); None otherwise."""
    from loratui.doctor.inputs.tracebacks import final_traceback

    saved = any(log.contains(n) for n in SAVED) and log.contains(".safetensors")
    if not saved and STEPPED.search(log.view, max(len(log.view) - (4 << 20), 0)) is None:
        return None
    if any(log.contains(n) for n in ("=nan", ": nan", "NaN", "loss=inf", "out of memory", "Killed", "SIGKILL",
                                     "non-zero exit status", "No data found")):
        return None
    tb, ended = final_traceback(log)
    if tb is not None and ended:
        return None
    return "info" if saved else "warning"


def _last_run_saved(log, commands) -> int | None:
    """The line of the last of several training commands in one paste, when the run it
    started saved its LoRA and did not end on a traceback; None otherwise."""
    from loratui.doctor.inputs.tracebacks import final_traceback

    starts = sorted({c.line for c in commands if c.script})
    if len(starts) < 2:
        return None
    last = starts[-1]
    saved = [line for line, _m in log.lines_with(list(SAVED), limit=50) if line.line > last]
    if not saved or not log.contains(".safetensors"):
        return None
    tb, ended = final_traceback(log)
    if tb is not None and ended and tb.line > last:
        return None
    return last


def _arg_lines(facts, cmd, first: int, text: str, skip: set[str]) -> None:
    """Point each argument at the line of the paste it is on (a command spans several)."""
    import re

    lines = text.split("\n")
    start = sum(len(line) + 1 for line in lines[:cmd.line - first])
    for key, path in facts.keys.items():
        if key in skip:  # the trainer's printed value: its own line
            continue
        m = re.compile(r"--" + re.escape(path[0]) + r"\b").search(text, start)
        if m is not None and text.count("\n", start, m.start()) < 400:
            facts.lines[key] = first + text.count("\n", 0, m.start())


def attach_command(inp: Input) -> None:
    """Read the training command in a log paste into a `cmdline` child of `inp`."""
    from loratui.doctor.inputs.commands import assignments, best_command, find_commands
    from loratui.doctor.inputs.configs import KNOWN_ARGS, command_facts

    log = inp.data
    commands = []
    env: dict = {}
    region_of: dict[int, tuple[int, str]] = {}
    for first, text in _regions(log):
        text = unwrap_lines(text)  # quoted, stamped or coloured lines read as they were
        for cmd in find_commands(text):
            cmd.line += first - 1
            commands.append(cmd)
            region_of[id(cmd)] = (first, text)
        if first == 1 and len(text) < 1 << 20:
            env = assignments(text)
    printed = printed_values(log)
    log.later_run_from = _last_run_saved(log, commands)
    cmd = best_command(commands)
    written = {k: v for k, v in env.items() if k in KNOWN_ARGS}  # config lines pasted along
    if cmd is None and not printed and len(written) < 3:
        return
    # A log is an excerpt of the run: what its command leaves out is unknown here, not
    # sd-scripts' default (the command may be cut, or read a config file).
    facts = command_facts(cmd, "", env, excerpt=True)
    for key, (value, line) in printed.items():
        facts.set(key, value, (key,), value, line)  # the trainer's own word wins
    from loratui.doctor.inputs.values import check_other

    check_other(facts)
    facts.extra["from_paste"] = True
    facts.extra["printed"] = {k: v for k, (v, _line) in printed.items()}
    first_line = cmd.line if cmd is not None else None
    if cmd is not None:
        _arg_lines(facts, cmd, *region_of[id(cmd)], skip=set(printed))
    for key in list(facts.lines):
        if facts.lines[key] is None:
            facts.lines[key] = first_line
    if first_line is not None:
        for key in facts.values:
            facts.lines.setdefault(key, first_line)
    child = Input(inp.path, "cmdline")
    child.facts = facts
    child.severity_cap = "info" if log.later_run_from is not None else settings_cap(log)
    child.parent = inp
    inp.children.append(child)
    inp.command = child  # type: ignore[attr-defined]

"""What a log paste says about the run's settings: the training command found in it (read
as a `cmdline` child input, so config rules check it too) and the values the trainer
printed (`total optimization steps / 学習ステップ数: 5000`), which beat computed ones.

Only the parts of a long log around a command are decoded: `.py` hits in its view and
`Command '[` lists, a window each, so a 200 MB log costs no second copy.
"""

from __future__ import annotations

from loratui.doctor.inputs import Input
from loratui.doctor.util import LazyRe

WHOLE_FROM = 4 << 20  # a view smaller than this is decoded whole
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
)
PRINTED_NEEDLES = (b"total optimization steps", b"max_train_steps (", b"num epochs /",
                   b"batch size per device", b"gradient accumulation steps /")


def _regions(log) -> list[tuple[int, str]]:
    """(first line number, text) of the parts of the view that may hold a command."""
    view = log.view
    if len(view) <= WHOLE_FROM:
        return [(1, view.decode("utf-8", errors="replace"))]
    spans: list[list[int]] = []
    for needle in (b".py", b"Command '["):
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


def printed_values(log) -> dict[str, tuple[int, int]]:
    """Settings the trainer printed: canonical key → (value, line)."""
    out: dict[str, tuple[int, int]] = {}
    if not any(log.contains(n.decode()) for n in PRINTED_NEEDLES):
        return out
    for key, regex in PRINTED:
        if key in out:
            continue
        for needle in PRINTED_NEEDLES:
            for pos in log.find_all(needle.decode(), limit=5):
                m = regex.search(log.segment(pos))
                if m:
                    out.setdefault(key, (int(m.group(1)), log.line_no(pos)))
    return out


SAVED = ("saving checkpoint", "model saved", "save trained model", "Model saved",
         "saved to", "Training finished", "training finished", "Training has ended")


def run_went_well(log) -> bool:
    """The paste shows the run saving its LoRA with no error, NaN or traceback."""
    from loratui.doctor.inputs.tracebacks import final_traceback

    if not any(log.contains(n) for n in SAVED) or not log.contains(".safetensors"):
        return False
    if any(log.contains(n) for n in ("=nan", ": nan", "NaN", "out of memory", "Killed", "SIGKILL",
                                     "non-zero exit status")):
        return False
    tb, _ended = final_traceback(log)
    return tb is None


def attach_command(inp: Input) -> None:
    """Read the training command in a log paste into a `cmdline` child of `inp`."""
    from loratui.doctor.inputs.commands import assignments, best_command, find_commands
    from loratui.doctor.inputs.configs import command_facts

    log = inp.data
    commands = []
    env: dict = {}
    for first, text in _regions(log):
        for cmd in find_commands(text):
            cmd.line += first - 1
            commands.append(cmd)
        if first == 1 and len(text) < 1 << 20:
            env = assignments(text)
    printed = printed_values(log)
    cmd = best_command(commands)
    if cmd is None:
        return  # printed values alone are no config to check
    # A log is an excerpt of the run: what its command leaves out is unknown here, not
    # sd-scripts' default (the command may be cut, or read a config file).
    facts = command_facts(cmd, "", env, excerpt=True)
    for key, (value, line) in printed.items():
        facts.set(key, value, (key,), value, line)  # the trainer's own word wins
    from loratui.doctor.inputs.values import check_other

    check_other(facts)
    facts.extra["from_paste"] = True
    facts.extra["printed"] = {k: v for k, (v, _line) in printed.items()}
    for key in list(facts.lines):
        if facts.lines[key] is None:
            facts.lines[key] = cmd.line
    for key in facts.values:
        facts.lines.setdefault(key, cmd.line)
    child = Input(inp.path, "cmdline")
    child.facts = facts
    if run_went_well(log):
        child.severity_cap = "info"
    child.parent = inp
    inp.children.append(child)
    inp.command = child  # type: ignore[attr-defined]

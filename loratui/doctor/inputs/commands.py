"""Training commands found in pasted text, whatever shape the paste gives them.

Users paste commands as their shell, notebook or GUI printed them:

- shell lines, joined across `\\` (sh), `^` (cmd.exe) and backtick (PowerShell)
  continuations, with their prompts (`$ `, `user@host:~$ `, `C:\\kohya>`, `PS C:\\x>`)
  and PowerShell's `>>` continuation prompts;
- notebook cells (`!accelerate launch ...`, `%cd`);
- commands a GUI logged on one line, or wrapped by its logger onto indented lines
  (`12:00:00-123456 INFO     accelerate launch ... \\n                         --flag`);
- the argument list of `subprocess.CalledProcessError: Command '[...]' returned non-zero
  exit status N`;
- commands quoted inside an error message (`Unable to create process using '...'`).

`find_commands(text)` returns every command found, each with its arguments already
split and unquoted (`"name"` is `name`), the line it starts on and whether it is whole.
`assignments(text)` reads the variables of a launcher script (lora-scripts' `train.sh` /
`train.ps1`: `network_dim=32`, `$network_dim = 32`) so `$network_dim` in its command can
be resolved.
"""

from __future__ import annotations

import re

from loratui.doctor.util import ANSI, LazyRe

# Prompts and prefixes in front of a command on its line.
PROMPT = LazyRe(
    r"^\s*(?:\([\w.-]+\)\s*)?(?:"
    r"PS [^>\n]{1,260}>\s?"                        # PowerShell
    r"|[A-Za-z]:\\[^>\n]{0,260}>\s?"               # cmd.exe
    r"|[\w.-]+@[\w.-]+:[^$#\n]{0,260}[$#]\s"       # bash user@host:path$
    r"|[$#]\s|>>>\s)")
PS_CONTINUATION = LazyRe(r"^\s*>>\s?")
LOG_PREFIX = LazyRe(
    r"^\s*(?:\[?\d{4}-\d\d-\d\d[ T]\d\d:\d\d:\d\d(?:[.,]\d+)?\]?\s*|\d\d:\d\d:\d\d(?:-\d+)?\s+)?"
    r"\[?(?:INFO|WARNING|WARN|ERROR|DEBUG|CRITICAL)\]?\s*(?::\s*)?")
NOTEBOOK = LazyRe(r"^\s*!\s*")
CONTINUED = LazyRe(r"[ \t]*(?:\\|\^|`)[ \t]*$")
# What runs a trainer: the launcher, then a training script (or python -m ...).
LAUNCHER = LazyRe(
    r"(?:\"[^\"\n]*?(?:accelerate|python[\d.]*|pythonw)(?:\.exe)?\"|'[^'\n]*?(?:accelerate|python)"
    r"[\w.]*'|(?<![\w/\\.-])[^\s\"']*?(?:accelerate|python[\d.]*)(?:\.exe)?)(?=\s)", re.I)
SCRIPT = LazyRe(r"[^\s\"'=]*?(?:train_network|sdxl_train_network|train_db|sdxl_train|fine_tune|"
                r"train_textual_inversion|train_text_to_image_lora\w*|train_dreambooth_lora\w*|"
                r"sd3_train_network|flux_train_network|flux_train|[\w-]*train[\w-]*)\.py\b")
# sd-scripts' own arguments: a run of them is an sd-scripts command even when the paste cut
# off its launcher and script name (`--pretrained_model_name_or_path=... --network_dim 32`).
SDSCRIPTS_FLAG = LazyRe(
    r"(?:^|\s)--(pretrained_model_name_or_path|network_module|network_dim|network_alpha|"
    r"train_data_dir|reg_data_dir|dataset_config|output_name|save_model_as|train_batch_size|"
    r"max_train_steps|max_train_epochs|optimizer_type|network_train_unet_only|"
    r"caption_extension|enable_bucket|cache_latents|save_every_n_epochs|lr_scheduler|"
    r"unet_lr|text_encoder_lr|min_snr_gamma|keep_tokens|shuffle_caption|sample_prompts)\b")
# Arguments only sd-scripts has: one of them must be among those found.
SDSCRIPTS_ONLY = ("pretrained_model_name_or_path", "network_module", "network_dim",
                  "train_data_dir", "dataset_config", "save_model_as")
CALLED = LazyRe(r"Command '(\[.*?\])' (?:returned non-zero exit status|died with)", re.S)
QUOTED_ITEM = LazyRe(r"'((?:[^'\\]|\\.)*)'")
ARG = LazyRe(r"(?:^|\s)--?[A-Za-z][\w-]*")
ELLIPSIS = ("...", "…")


class Command:
    """One command: its arguments split and unquoted, where it starts, how it was found."""

    __slots__ = ("args", "launcher", "line", "script", "shape", "text", "whole")

    def __init__(self, tokens: list[str], line: int, shape: str, text: str,
                 whole: bool = True) -> None:
        at = next((i for i, t in enumerate(tokens) if SCRIPT.fullmatch(t)), None)
        if at is None:
            at = next((i for i, t in enumerate(tokens) if SCRIPT.search(t)), None)
        self.launcher = tokens[:at] if at is not None else []
        self.args = tokens[at + 1:] if at is not None else tokens
        self.script = (tokens[at].replace("\\", "/").rstrip("/").rsplit("/", 1)[-1]
                       if at is not None else "")
        self.line = line
        self.shape = shape
        self.text = text
        # A command is whole when nothing in it was cut: no `...` left for the rest and
        # no settings kept in a file we do not have (`--config_file`).
        self.whole = whole and not any(t.strip().endswith(ELLIPSIS) for t in tokens)

    @property
    def arg_count(self) -> int:
        return sum(1 for t in self.args if t.startswith("-"))

    def __repr__(self) -> str:
        return f"<Command {self.shape} {self.script} line {self.line} {len(self.args)} args>"


def split_args(command: str) -> list[str]:
    """Shell-like split that removes the quoting every shell uses (`"a b"`, `'a b'`) and
    keeps backslashes (Windows paths). An unbalanced quote runs to the end."""
    tokens: list[str] = []
    cur: list[str] = []
    quote = ""
    started = False
    for ch in command:
        if quote:
            if ch == quote:
                quote = ""
            else:
                cur.append(ch)
        elif ch in "\"'":
            quote = ch
            started = True
        elif ch.isspace():
            if cur or started:
                tokens.append("".join(cur))
                cur, started = [], False
        else:
            cur.append(ch)
            started = True
    if cur or started:
        tokens.append("".join(cur))
    return tokens


def unquote(value: str) -> str:
    """A value as the shell passes it on: surrounding quotes removed."""
    text = value.strip()
    while len(text) >= 2 and text[0] == text[-1] and text[0] in "\"'":
        text = text[1:-1].strip()
    return text


def _logical_lines(text: str) -> list[tuple[int, str, bool]]:
    """(first line number, text, logged by a logger) of each logical line: prompts,
    notebook `!` and log prefixes removed, every kind of continuation joined."""
    out: list[tuple[int, str, bool]] = []
    cur_no = 0
    cur: list[str] = []
    cur_logged = False
    open_ = False
    for no, raw in enumerate(text.split("\n"), 1):
        raw = raw.rsplit("\r", 1)[-1][:100_000]
        line = ANSI.sub("", raw).rstrip()
        if line.lstrip().startswith(("%cd", "%%", "%env", "%pip")):
            continue
        ps_more = PS_CONTINUATION.match(line)
        logged = False
        if ps_more:
            line = line[ps_more.end():]
        else:
            m = PROMPT.match(line)
            if m:
                line = line[m.end():]
            m = LOG_PREFIX.match(line)
            if m and m.group(0).strip():
                line, logged = line[m.end():], True
            m = NOTEBOOK.match(line)
            if m:
                line = line[m.end():]
        body = line.strip()
        # Loggers wrap a long command onto indented lines that go on with `--flag`; some
        # pastes lose the `\\` and keep one `--flag` a line.
        wrapped = bool(cur) and body.startswith("--") and not logged and (
            cur[0].startswith("--") or SCRIPT.search(" ".join(cur)) is not None)
        # A logger (rich) wraps a long message onto lines indented to its message column.
        wrapped = wrapped or (cur_logged and not logged and bool(body) and
                              raw[:16].isspace() and len(raw) > 16)
        if cur and (open_ or ps_more or wrapped):
            cur.append(body)
        else:
            if cur:
                out.append((cur_no, " ".join(cur), cur_logged))
            cur_no, cur, cur_logged = no, [body], logged
        cont = CONTINUED.search(cur[-1])
        open_ = cont is not None
        if cont:
            cur[-1] = cur[-1][:cont.start()]
    if cur:
        out.append((cur_no, " ".join(cur), cur_logged))
    return out


def scriptless_start(body: str) -> int | None:
    """Where an sd-scripts argument list starts in a line that names no script (the paste
    cut it off), or None: at least three of sd-scripts' arguments, one of them its own."""
    names = {m.group(1): m.start() for m in SDSCRIPTS_FLAG.finditer(body)}
    if len(names) < 3 or not any(n in names for n in SDSCRIPTS_ONLY):
        return None
    first = min(names.values())
    launcher = next(iter(LAUNCHER.finditer(body, 0, first)), None)
    if launcher is not None:
        return launcher.start()
    return first + (body[first].isspace())


def _command_in(body: str) -> tuple[str, bool] | None:
    """The command inside one logical line (from its launcher to its end), or None."""
    script = SCRIPT.search(body)
    if script is None:
        start = scriptless_start(body)
        return None if start is None else (body[start:].strip(), False)
    if not ARG.search(body, script.end()):
        return None
    start = script.start()
    for m in LAUNCHER.finditer(body, 0, script.start()):
        start = m.start()
        break
    # Back over an opening quote of the script path itself.
    if start == script.start() and start > 0 and body[start - 1] in "\"'":
        start -= 1
    cmd = body[start:]
    quoted = False
    before = body[:start].rstrip()
    if before.endswith(("'", "using")) or re.search(r"['\"]\s*$", before):
        # Quoted inside a message: `... using '"python.exe" "accelerate.exe" launch ...': x`
        end = cmd.rfind("'")
        if end > 0:
            cmd = cmd[:end]
            quoted = True
    return cmd.strip(), quoted


def _called_process(text: str) -> list[Command]:
    out = []
    for m in CALLED.finditer(text):
        inner = m.group(1)
        tokens: list[str] | None = None
        if len(inner) < 200_000:
            import ast

            try:
                value = ast.literal_eval(inner)
                if isinstance(value, list) and all(isinstance(v, str) for v in value):
                    tokens = value
            except (ValueError, SyntaxError, MemoryError, RecursionError):
                tokens = None
        if tokens is None:
            tokens = [t.replace("\\\\", "\\") for t in QUOTED_ITEM.findall(inner)]
        if tokens and any(SCRIPT.search(t) for t in tokens):
            line = text.count("\n", 0, m.start()) + 1
            out.append(Command(tokens, line, "called-process", inner))
    return out


def find_commands(text: str) -> list[Command]:
    """Every training command in `text`, in the order they appear."""
    text = text.replace("\r\n", "\n")
    found: list[Command] = []
    for no, body, logged in _logical_lines(text):
        if not body or ("--" not in body and " -" not in body):
            continue
        got = _command_in(body)
        if got is None:
            continue
        cmd, quoted = got
        tokens = split_args(cmd)
        shape = "quoted" if quoted else "logged" if logged else "shell"
        found.append(Command(tokens, no, shape, cmd, whole=not cmd.endswith(ELLIPSIS)))
    found.extend(_called_process(text))
    found.sort(key=lambda c: c.line)
    return found


def best_command(commands: list[Command]) -> Command | None:
    """The command that ran: the one with the most arguments (the GUI's full command over
    the short list it hands to the subprocess), the last one on a tie."""
    best = None
    for cmd in commands:
        if best is None or cmd.arg_count >= best.arg_count:
            best = cmd
    return best


# ---------------------------------------------------------------- launcher-script variables

ASSIGN = LazyRe(r"^[ \t]*(?:export[ \t]+|set[ \t]+|\$(?:env:)?)?([A-Za-z_]\w*)[ \t]*=[ \t]*"
                r"(\"[^\"\n]*\"|'[^'\n]*'|[^\s#;]*)[ \t]*(?:[#;].*)?$", re.M)
VAR_REF = LazyRe(r"\$\{(\w+)\}|\$(?:env:)?(\w+)|%(\w+)%")


# `"name": value,` lines of a JSON config pasted without its braces (a fragment).
JSON_PAIR = LazyRe(r'^[ \t]*"([A-Za-z_]\w*)"[ \t]*:[ \t]*("[^"\n]*"|[-+\w.]+)[ \t]*,?[ \t]*$',
                   re.M)


def assignments(text: str) -> dict[str, tuple[str, int]]:
    """`name = value` lines of a launcher script, and `"name": value` lines of a pasted
    JSON fragment → (unquoted value, line)."""
    out: dict[str, tuple[str, int]] = {}
    for m in ASSIGN.finditer(text):
        name = m.group(1)
        if name.lower() in ("if", "for", "while", "then", "do"):
            continue
        line = text.count("\n", 0, m.start()) + 1
        out[name] = (unquote(m.group(2)), line)
    if '":' in text:
        for m in JSON_PAIR.finditer(text):
            out.setdefault(m.group(1), (unquote(m.group(2)), text.count("\n", 0, m.start()) + 1))
    return out


def substitute(token: str, env: dict[str, tuple[str, int]]) -> str | None:
    """`--network_dim=$network_dim` with the script's variables filled in; None when a
    variable is not known (the value is then unknown, not the literal `$x`)."""
    missing = False

    def repl(m: re.Match) -> str:
        nonlocal missing
        name = m.group(1) or m.group(2) or m.group(3)
        if name in env:
            return env[name][0]
        missing = True
        return ""

    value = VAR_REF.sub(repl, token)
    return None if missing else value

"""Plain-text output that fits the terminal: lines wider than the width are wrapped at
spaces under their own text, never in the middle of a word, a path or a `label: value`.

- a line with a label column (`warning kind      message`, `  images   8 usable ...`,
  `    help: text`) continues under the text after the label;
- a shell command (`loratui ...`, `accelerate ...`, `$ ...`) continues on the next line
  after ` \\`, so it still pastes as one command;
- an example row (`  loratui cmd ARGS      what it does`) keeps the command whole and
  wraps the description in its own column (or under the command when that is too narrow);
- a word wider than the room left stays whole (the line is then wider: nothing fits).
Terminal escape codes (colours) take no columns; CJK characters take two (`loratui.cjk.cells`).
"""

from __future__ import annotations

from loratui.cjk import cells, has_cjk, wrap
from loratui.doctor.util import ANSI, LazyRe

# (compiled when first used: most output has no line to wrap, and no command in it)
_GAP = LazyRe(r"\S( {2,})(?=\S)")                 # the first run of 2+ spaces
_LABEL = LazyRe(r"( *)([A-Za-z][\w/-]{0,15}: )(?=\S)")      # "help: ", "fix: "
_WORDS = LazyRe(r"(\s*)(\[[^\]\n]{1,24}\]\S*|\S+)")    # "[P3, P4, D10]" is one word
_SHELL_WORDS = LazyRe(r"""(?:[^\s"']+|"[^"]*"|'[^']*')+""")
COMMANDS = ("loratui ", "accelerate launch ", "accelerate config", "accelerate env", "python ", "python3 ", "$ ", "RUN=", "pip ")
MIN_ROOM = 24    # a column narrower than this wraps under the line's indent instead


def visible(text: str) -> int:
    """Terminal columns of `text` (escape codes take none)."""
    return cells(ANSI.sub("", text) if "\x1b" in text else text)


def fit(text: str, width: int) -> str:
    """Every line of `text` fitted to `width` columns (see the module's notes)."""
    out: list[str] = []
    continued = False      # the line before ended with ` \`: this one is a command too
    for line in text.split("\n"):
        if continued and visible(line) > width:
            out += shell_lines(line, width)
        else:
            out += fit_line(line, width)
        continued = line.rstrip().endswith(" \\")
    return "\n".join(out)


def fit_line(line: str, width: int) -> list[str]:
    if visible(line) <= width:
        return [line]
    body = line.lstrip(" ")
    indent = " " * (len(line) - len(body))
    gap = _GAP.search(line, len(indent))
    if body.startswith(COMMANDS):
        if gap is None or line.rstrip().endswith("\\") or line[gap.end(1)] == "-":
            return shell_lines(line, width)
        # an example row: the command, then its description in the column after the gap
        command, desc = line[:gap.start(1)], line[gap.end(1):]
        column = visible(line[:gap.end(1)])
        if visible(command) < column <= width - MIN_ROOM:
            return hang(command + " " * (column - visible(command)), desc, width)
        return shell_lines(command, width) + hang(indent + "    ", desc, width)
    label = _LABEL.match(line)
    if gap is not None and width - MIN_ROOM >= visible(line[:gap.end(1)]):
        return hang(line[:gap.end(1)], line[gap.end(1):], width)
    if label is not None and width - MIN_ROOM >= visible(label.group(0)):
        return hang(label.group(0), line[label.end():], width)
    return hang(indent, body, width)


def hang(head: str, text: str, width: int) -> list[str]:
    """`text` wrapped in the room after `head`; later lines start under the text."""
    pad = " " * visible(head)
    room = max(width - len(pad), MIN_ROOM // 2)
    lines = wrap(text, room) if has_cjk(text) else _wrap_keeping_spaces(text, room)
    return [(head if i == 0 else pad) + part for i, part in enumerate(lines or [""])]


def _wrap_keeping_spaces(text: str, room: int) -> list[str]:
    """Break at spaces only; the spaces inside a line stay as they were (aligned columns)."""
    lines: list[str] = []
    line = ""
    for sep, word in _WORDS.findall(text):
        if line and visible(line + sep + word) > room:
            lines.append(line)
            line = word
        else:
            line = line + sep + word if line else word
    if line:
        lines.append(line)
    return lines


def shell_lines(line: str, width: int) -> list[str]:
    """A shell command in lines that end with ` \\` (a quoted argument stays whole)."""
    body = line.lstrip(" ")
    indent = " " * (len(line) - len(body))
    words = _SHELL_WORDS.findall(body)
    tail = words[-1] == "\\" if words else False
    if tail:
        words = words[:-1]
    lines: list[str] = []
    current = indent
    for word in words:
        if current.strip() and visible(current + " " + word) + 2 > width:
            lines.append(current + " \\")
            current = indent + "    " + word
        else:
            current = current + " " + word if current.strip() else current + word
    lines.append(current + (" \\" if tail else ""))
    return lines


def fit_toml(text: str, width: int) -> str:
    """A TOML document whose long `key = value # comment` lines continue the comment on
    comment lines under its `#` (still the same TOML); values are never wrapped."""
    out: list[str] = []
    for line in text.split("\n"):
        at = _comment_start(line) if visible(line) > width else -1
        if at < 0:
            out.append(line)
            continue
        head, comment = line[:at].rstrip(), line[at + 1:].strip()
        if visible(head) > width - MIN_ROOM:      # a long value: the comment goes above it
            indent = " " * (len(head) - len(head.lstrip(" ")))
            above = hang(indent + "# ", comment, width)
            out += [above[0], *(indent + "# " + part.lstrip(" ") for part in above[1:]), head]
            continue
        lines = hang(head + " # ", comment, width)
        out += [lines[0], *(" " * (len(head) + 1) + "#" + part[len(head) + 2:]
                            for part in lines[1:])]
    return "\n".join(out)


def _comment_start(line: str) -> int:
    """Index of the `#` that starts the line's comment (outside strings), or -1."""
    quote = ""
    i = 0
    while i < len(line):
        ch = line[i]
        if quote:
            if ch == "\\" and quote == '"':
                i += 1
            elif ch == quote:
                quote = ""
        elif ch in "\"'":
            quote = ch
        elif ch == "#" and i and line[i - 1] == " " and line[:i].strip():
            return i
        i += 1
    return -1

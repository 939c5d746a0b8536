"""Reading the files users bring, and showing their names, without ever crashing.

Stdlib only (the doctor and `--help` import it). Every failure becomes a `UserFileError`
whose text names the file and says what to do; the CLI prints it on one line, exit 2.

- `decode_text`: UTF-8 with or without a BOM; UTF-16 / UTF-32 with a BOM (Notepad,
  PowerShell `>`), and BOM-less UTF-16 recognised by its zero bytes.
- `loads_json` / `loads_toml`: parse errors and absurd nesting (`RecursionError` in
  Python's parsers) turn into a message.
- `shown`: a file name made safe for one line of terminal or JSON output: undecodable
  bytes (kept by Python as surrogates) become `\\xNN`, control characters (a newline, an
  escape sequence) become `\\n`, `\\x1b`.
"""

from __future__ import annotations

import codecs
import math
import os
import re

from loratui.i18n import N_, Message

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

_BOMS = ((codecs.BOM_UTF32_LE, "utf-32-le", "UTF-32"), (codecs.BOM_UTF32_BE, "utf-32-be", "UTF-32"),
         (codecs.BOM_UTF8, "utf-8", "UTF-8"), (codecs.BOM_UTF16_LE, "utf-16-le", "UTF-16"),
         (codecs.BOM_UTF16_BE, "utf-16-be", "UTF-16"))


class UserFileError(Exception):
    """A user's file that cannot be used. `str()` is one line: the file, what is wrong,
    and what to do; `localized()` the same in the reader's language (`problem` and `fix`
    are `Message`s)."""

    def __init__(self, path: Any, problem: str, fix: str = "") -> None:
        self.path = path
        self.problem = problem
        self.fix = fix
        super().__init__(one_line(f"{shown(path)}: {self.detail}"))

    @property
    def detail(self) -> str:
        """What is wrong and what to do, without the file: "problem; fix"."""
        return Message(N_("{problem}; {fix}"), problem=self.problem, fix=self.fix) \
            if self.fix else self.problem

    def localized(self) -> str:
        return one_line(Message(N_("{path}: {detail}"), path=shown(self.path),
                                detail=self.detail).localized())


def sniff_encoding(data: bytes) -> tuple[str, str, int]:
    """(codec, display name, BOM length) of text bytes; ("utf-8", "UTF-8", 0) by default.
    BOM-less UTF-16 is recognised by its zero bytes (ASCII text has none)."""
    for bom, codec, name in _BOMS:
        if data.startswith(bom):
            return codec, name, len(bom)
    head = data[:4096]
    if len(head) >= 4 and head.count(0) >= len(head) // 4:
        even, odd = head[0::2].count(0), head[1::2].count(0)
        if odd > 2 * even:
            return "utf-16-le", "UTF-16", 0
        if even > 2 * odd:
            return "utf-16-be", "UTF-16", 0
    return "utf-8", "UTF-8", 0


def decode_text(data: bytes, path: Any = "<text>") -> str:
    """Text from bytes in UTF-8 (BOM or not) or a Unicode encoding `sniff_encoding` finds."""
    codec, name, skip = sniff_encoding(data)
    try:
        return data[skip:].decode(codec)
    except UnicodeDecodeError as exc:
        raise UserFileError(path, Message(N_("not valid {encoding} text (byte {byte} at offset "
                                             "{offset})"), encoding=name,
                                          byte=f"0x{data[skip + exc.start]:02x}",
                                          offset=skip + exc.start),
                            Message(N_("save it as UTF-8 (in most editors: Save As → Encoding "
                                       "UTF-8)"))) \
            from None


def encode_like(text: str, original: bytes) -> bytes:
    """`text` (lines ending in `\\n`) as the bytes of a file written like `original`: the
    same Unicode encoding and byte-order mark, and CRLF line ends where it had them, so
    that a tool's edit of a Windows user's file changes only what it meant to change."""
    codec, _name, bom_len = sniff_encoding(original)
    head = original[bom_len:bom_len + 65536].decode(codec, errors="replace")
    if "\r\n" in head:
        text = text.replace("\r\n", "\n").replace("\n", "\r\n")
    return original[:bom_len] + text.encode(codec)


MAX_TEXT_FILE = 64 * 1024 * 1024    # no config or caption is larger


def read_text(path: Any, limit: int = MAX_TEXT_FILE) -> str:
    """`decode_text` of a file; a missing or unreadable file is a UserFileError too, and so
    is a device, a pipe (reading /dev/zero never ends) or a file over `limit` bytes."""
    import stat

    try:
        st = os.stat(path)      # before opening: opening a pipe waits for a writer
        if stat.S_ISDIR(st.st_mode):
            raise IsADirectoryError(path)
        if not stat.S_ISREG(st.st_mode):
            raise UserFileError(path, Message(N_("not a regular file (a device or a pipe)")),
                                Message(N_("give the path of the file itself")))
        if st.st_size > limit:
            raise UserFileError(path, Message(N_("{size} MiB: far too large for this kind of "
                                                 "file"), size=f"{st.st_size / 2**20:.0f}"),
                                Message(N_("check that this is the right file")))
        with open(path, "rb") as fh:
            data = fh.read(limit + 1)
    except FileNotFoundError:
        raise UserFileError(path, Message(N_("file not found")),
                            Message(N_("check the path"))) from None
    except IsADirectoryError:
        raise UserFileError(path, Message(N_("is a folder, not a file")),
                            Message(N_("give the file inside it"))) \
            from None
    except OSError as exc:
        raise UserFileError(path, Message(N_("cannot read ({error})"),
                                          error=exc.strerror or str(exc)),
                            Message(N_("check that it exists and that you may read it"))) \
            from None
    return decode_text(data, path)


SYNTAX_FIX = Message(N_("fix the syntax at that place"))


def loads_json(text: str, path: Any = "<json>") -> Any:
    import json  # not at the top: `loratui doctor CONFIG` has no start-up time for it

    try:
        return json.loads(text)
    except RecursionError:
        raise too_deep(path) from None
    except ValueError as exc:
        raise UserFileError(path, Message(N_("not valid JSON ({error})"), error=str(exc)),
                            SYNTAX_FIX) \
            from None


def loads_toml(text: str, path: Any = "<toml>") -> dict[str, Any]:
    try:
        import tomllib
    except ModuleNotFoundError:  # Python 3.10
        import tomli as tomllib

    try:
        return tomllib.loads(text)
    except RecursionError:
        raise too_deep(path) from None
    except tomllib.TOMLDecodeError as exc:
        raise UserFileError(path, Message(N_("not valid TOML ({error})"), error=str(exc)),
                            SYNTAX_FIX) \
            from None


def too_deep(path: Any) -> UserFileError:
    return UserFileError(path, Message(N_("nested too deeply to read (hundreds of levels of "
                                          "brackets: no tool writes that)")),
                         Message(N_("check that this is the right file")))


# Compiled on first use (these wide classes cost ~0.6 ms, a few % of the doctor's start-up),
# and only for text that is not `isprintable()`: every character they match is unprintable.
_PATTERNS = {"unsafe": r"[\x00-\x1f\x7f-\x9f\ud800-\udfff\u2028\u2029]",
             "surrogate": r"[\ud800-\udfff]"}
_COMPILED: dict[str, re.Pattern] = {}


def _re(name: str) -> re.Pattern:
    if name not in _COMPILED:
        _COMPILED[name] = re.compile(_PATTERNS[name])
    return _COMPILED[name]


def _escaped(text: str, name: str = "unsafe") -> str:
    return text if text.isprintable() else _re(name).sub(_escape, text)


_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _escape(m: re.Match) -> str:
    ch = m.group()
    code = ord(ch)
    if ch in _NAMED:
        return _NAMED[ch]
    if 0xDC80 <= code <= 0xDCFF:     # an undecodable byte, kept by os.fsdecode
        return f"\\x{code - 0xDC00:02x}"
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def shown(name: Any) -> str:
    """A path or name as one printable line of valid UTF-8 (see the module doc)."""
    text = os.fsdecode(name) if isinstance(name, (bytes, os.PathLike)) else str(name)
    return _escaped(text)


def broken_link(path: Any) -> str | None:
    """What is wrong with a symbolic link that leads nowhere (a loop, or a target that is
    not there), as a Message; None for anything else. Said instead of "no such file"."""
    import errno

    if not os.path.islink(path):
        return None
    try:
        os.stat(path)
        return None
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            return Message(N_("a symbolic link that leads back to itself; fix or delete the "
                              "link"))
        if exc.errno not in (errno.ENOENT, errno.ENOTDIR):
            return None  # e.g. a link into a folder this user cannot enter: its own error
    return Message(N_("a symbolic link to {target}, which does not exist; fix or delete the "
                      "link"), target=shown(os.readlink(path)))


def short_repr(value: Any, limit: int = 70) -> str:
    """`repr(value)` cut to `limit` characters: a config value quoted in a message (a 10 MB
    string must not become a 10 MB error line)."""
    text = repr(value) if not isinstance(value, str) or len(value) <= 4 * limit \
        else repr(value[:4 * limit])
    return text[:limit] + "…" if len(text) > limit else text


def one_line(text: str) -> str:
    """A message for one line: surrogates escaped, line breaks shown as `\\n`."""
    return _escaped(text)


def has_surrogates(text: str) -> bool:
    """Whether `text` holds undecodable bytes of a file name (which UTF-8 cannot write)."""
    return not text.isprintable() and _re("surrogate").search(text) is not None


def json_safe(obj: Any) -> Any:
    """`obj` made for strict JSON: the undecodable bytes of every string (keys too) written
    as `\\xNN`, so that the output is valid UTF-8; NaN and infinities (which JSON lacks)
    as null; records with `as_dict()` as their fields."""
    if isinstance(obj, str):
        return _re("surrogate").sub(_escape, obj) if has_surrogates(obj) else obj
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, dict):
        return {json_safe(k): json_safe(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [json_safe(v) for v in obj]
    if hasattr(obj, "as_dict"):     # the dataset package's plain records (Finding …)
        return json_safe(obj.as_dict())
    return obj


def dumps_json(obj: Any, **kw: Any) -> str:
    """Strict JSON of `obj` (see `json_safe`) for output a program reads."""
    import json

    from loratui.outstream import unicode_output

    return json.dumps(json_safe(obj), ensure_ascii=not unicode_output(), allow_nan=False, **kw)


def keep_backup(path: Any) -> Any:
    """Copy `path` to `<name>.<UTC time>.bak` beside it before it is replaced, and return
    the copy's path. A backup never replaces an earlier one: the name is created
    exclusively, with `-2`, `-3` … added when that second already has one."""
    import shutil
    import stat
    import time
    from pathlib import Path

    path = Path(path)
    mode = os.stat(path).st_mode    # a pipe would stall the copy, a folder cannot be one
    if not stat.S_ISREG(mode):
        raise UserFileError(path, Message(N_("a folder, not a file") if stat.S_ISDIR(mode) else
                                          N_("not a regular file (a device or a pipe)")),
                            Message(N_("choose another name for the output")))
    stamp = time.strftime("%Y%m%d-%H%M%S", time.gmtime())
    for n in range(1, 10_000):
        target = path.with_name(f"{path.name}.{stamp}{'' if n == 1 else f'-{n}'}.bak")
        try:
            fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
        except FileExistsError:
            continue
        try:
            with os.fdopen(fd, "wb") as out, open(path, "rb") as src:
                shutil.copyfileobj(src, out, 1024 * 1024)
            shutil.copystat(path, target)
        except BaseException:
            target.unlink(missing_ok=True)
            raise
        return target
    raise UserFileError(path, Message(N_("has 10000 backups from this second")),
                        Message(N_("remove old .bak files")))

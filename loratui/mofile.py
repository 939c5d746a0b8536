"""A compiled gettext catalogue (`.mo`) read the way `gettext.GNUTranslations` reads it,
but lazily: the file's bytes are kept, its msgids are indexed as bytes, and a
translation is decoded only when it is asked for. A command that shows twenty of the
catalogue's thousand messages decodes twenty (start-up time: no `gettext` import, no
parse of the whole file, no cache of it).

The format (GNU gettext manual, "The Format of GNU MO Files"): a header of 32-bit words
(magic, revision, count N, offset of the msgids' table, offset of the translations'
table), then two tables of N (length, offset) pairs pointing at NUL-terminated strings.
A plural entry's msgid is `singular\\0plural` and its translation the forms joined by
`\\0`; a context is written `context\\x04msgid`. The entry with the empty msgid is the
catalogue's metadata (`Content-Type: ...; charset=`, `Plural-Forms: ...`).
"""

from __future__ import annotations

import sys

MAGIC = 0x950412DE


class MoError(ValueError):
    """The file is not a compiled gettext catalogue this reader understands."""


class MoFile:
    """Lookups in one `.mo` file: `get(msgid)` for a message (with `context\\x04` before
    it for pgettext), `forms(singular)` for a plural entry's translations."""

    def __init__(self, data: bytes) -> None:
        if len(data) < 20:
            raise MoError("too short for a .mo header")
        for order in ("little", "big"):
            if int.from_bytes(data[:4], order) == MAGIC:
                break
        else:
            raise MoError("bad magic number")
        revision, count, ids_at, strs_at = _words(data, 4, 4, order)
        if revision >> 16 not in (0, 1):
            raise MoError(f"unknown major revision {revision >> 16}")
        if max(ids_at, strs_at) + 8 * count > len(data):
            raise MoError("tables past the end of the file")
        self._data = data
        self._strs = _words(data, strs_at, 2 * count, order)   # (length, offset) pairs
        ids = _words(data, ids_at, 2 * count, order)
        # msgid bytes -> entry (a plural entry under its `singular\0plural`)
        keys = [data[offset:offset + length] for length, offset in zip(ids[::2], ids[1::2],
                                                                        strict=True)]
        self._ids = dict(zip(keys, range(count), strict=True))
        self._singulars: dict[bytes, int] | None = None
        self.charset = "utf-8"
        self.plural_rule = ""       # the C expression after `plural=`; "" when none
        meta = self._ids.get(b"")
        if meta is not None:
            self._read_metadata(self._raw(meta).decode("ascii", errors="replace"))

    @classmethod
    def read(cls, path: str) -> MoFile:
        with open(path, "rb") as fh:
            return cls(fh.read())

    def get(self, msgid: str) -> str | None:
        """The translation of a message (not a plural one), None when there is none."""
        index = self._ids.get(self._encode(msgid))
        return None if index is None else self._text(index)

    def forms(self, singular: str, plural: str = "") -> list[str] | None:
        """The translated forms of the plural entry whose first msgid is `singular` (as
        gettext, whatever its second; `plural`, when given, finds it without an index)."""
        index = self._ids.get(self._encode(f"{singular}\0{plural}")) if plural else None
        if index is None:
            if self._singulars is None:
                self._singulars = {key.partition(b"\0")[0]: i
                                   for key, i in self._ids.items() if b"\0" in key}
            index = self._singulars.get(self._encode(singular))
        return None if index is None else self._text(index).split("\0")

    def _encode(self, text: str) -> bytes:
        return text.encode(self.charset, errors="replace")  # ("?" is no msgid of ours)

    def _text(self, index: int) -> str:
        return self._raw(index).decode(self.charset, errors="replace")

    def _raw(self, index: int) -> bytes:
        """Entry `index`'s translation, as it is in the file."""
        length, offset = self._strs[2 * index], self._strs[2 * index + 1]
        if offset + length > len(self._data):
            raise MoError("a translation past the end of the file")
        return self._data[offset:offset + length]

    def _read_metadata(self, text: str) -> None:
        """`charset` and `plural_rule` from the metadata entry, as gettext reads them."""
        for line in text.split("\n"):
            key, sep, value = line.partition(":")
            if not sep:
                continue
            key, value = key.strip().lower(), value.strip()
            if key == "content-type" and "charset=" in value:
                self.charset = value.split("charset=")[1].split(";")[0].strip() or "utf-8"
            elif key == "plural-forms":
                self.plural_rule = value.partition("plural=")[2].strip().rstrip(";")


def _words(data: bytes, at: int, count: int, order: str) -> list[int]:
    """`count` unsigned 32-bit words from `at` (no `struct` import: start-up time)."""
    if order == sys.byteorder:
        return memoryview(data)[at:at + 4 * count].cast("I").tolist()
    return [int.from_bytes(data[i:i + 4], order) for i in range(at, at + 4 * count, 4)]

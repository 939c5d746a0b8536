"""The message catalogue: English source strings, translated at display time with gettext.

    from loratui.i18n import _, N_, ngettext
    _("Dataset")                              # translated now
    ngettext("{n} image", "{n} images", n).format(n=n)
    LABEL = N_("Trigger")                     # marked at import, translated by _(LABEL) later

The language comes, in order, from `set_language()` (the `--lang zh|en` option), the
`LORATUI_LANG` variable, then the POSIX locale variables `LC_ALL`, `LC_MESSAGES`, `LANG`
(the first one set). Any Chinese locale reads the Simplified Chinese catalogue, as GNU
gettext does (it falls back from `zh_TW` to `zh`): zh_TW and zh_HK readers get Simplified
Chinese rather than English; `LORATUI_LANG=en` overrides. Everything else is English.

The catalogue is `locale/zh/LC_MESSAGES/loratui.mo` beside this module, opened on the
first translated call and read lazily (`loratui.mofile`: only the messages shown are
decoded); in English it is never opened.
Babel extracts and compiles it at development time only (docs/translating.md).
"""

from __future__ import annotations

import os

LANGS = ("en", "zh")
DOMAIN = "loratui"
LOCALE_DIR = os.path.join(os.path.dirname(__file__), "locale")
ENV_VAR = "LORATUI_LANG"
LOCALE_VARS = ("LC_ALL", "LC_MESSAGES", "LANG")

_explicit: str | None = None
_catalogs: dict[str, Catalog] = {}   # language -> its compiled catalogue, loaded once

TYPE_CHECKING = False  # not `typing.TYPE_CHECKING`: typing costs start-up time
if TYPE_CHECKING:
    from loratui.mofile import MoFile


def set_language(lang: str | None) -> None:
    """Use `lang` ("en", "zh" or a locale name such as "zh_CN.UTF-8"); None: back to the
    environment."""
    global _explicit
    _explicit = None if lang is None else normalize(lang)


def normalize(name: str) -> str:
    """'zh', 'zh_CN.UTF-8', 'zh-Hans', 'zh_SG', 'zh_TW' -> 'zh'; anything else -> 'en'."""
    base = name.strip().lower().replace("-", "_").split(".")[0].split("@")[0]
    return "zh" if base == "zh" or base.startswith("zh_") else "en"


def language() -> str:
    """The language messages are shown in now: "en" or "zh"."""
    if _explicit is not None:
        return _explicit
    chosen = os.environ.get(ENV_VAR, "").strip()
    if chosen:
        return normalize(chosen)
    for var in LOCALE_VARS:
        value = os.environ.get(var, "").strip()
        if value:
            return normalize(value)
    return "en"


def _catalog(lang: str) -> Catalog:
    catalog = _catalogs.get(lang)
    if catalog is None:
        from loratui.mofile import MoError, MoFile

        mo = os.path.join(LOCALE_DIR, lang, "LC_MESSAGES", DOMAIN + ".mo")
        try:
            catalog = Catalog(MoFile.read(mo))
        except (OSError, MoError):    # no catalogue (or a damaged one): English
            catalog = Catalog(None)
        _catalogs[lang] = catalog
    return catalog


class Catalog:
    """A compiled catalogue's lookups, as `gettext.GNUTranslations` does them (msgid with
    "context\x04" before it for pgettext; a plural's form by the catalogue's C rule, "0"
    for Chinese), each translation decoded once, when first asked for."""

    def __init__(self, mo: MoFile | None) -> None:
        self.mo = mo
        self.plural_rule = mo.plural_rule if mo is not None else ""
        self._seen: dict[str, str | None] = {}   # key -> translation, None: none

    def form(self, n: int) -> int:
        if self.plural_rule in ("", "0"):
            return 0
        import gettext

        return gettext.c2py(self.plural_rule)(n)

    def gettext(self, msgid: str) -> str:
        return self._lookup(msgid) or msgid

    def ngettext(self, singular: str, plural: str, n: int) -> str:
        forms = self.mo.forms(singular, plural) if self.mo else None
        form = self.form(n)
        if forms is not None and form < len(forms):
            return forms[form]
        return singular if n == 1 else plural

    def pgettext(self, context: str, msgid: str) -> str:
        return self._lookup(f"{context}\x04{msgid}") or msgid

    def _lookup(self, key: str) -> str | None:
        if key not in self._seen:
            self._seen[key] = self.mo.get(key) if self.mo else None
        return self._seen[key]


def _(msgid: str) -> str:
    """`msgid` in the current language (itself in English or when it has no translation)."""
    lang = language()
    if lang == "en" or not msgid:
        return msgid
    return _catalog(lang).gettext(msgid)


def ngettext(singular: str, plural: str, n: int) -> str:
    """The form of a message for `n` things (Chinese has one form for every n)."""
    lang = language()
    if lang == "en":
        return singular if n == 1 else plural
    return _catalog(lang).ngettext(singular, plural, n)


def pgettext(context: str, msgid: str) -> str:
    """`msgid` translated in a context, for a short English word that needs two
    translations ("Train" the step, "train" the verb)."""
    lang = language()
    if lang == "en":
        return msgid
    return _catalog(lang).pgettext(context, msgid)


def N_(msgid: str) -> str:
    """Marks `msgid` for extraction and returns it unchanged: translate it with `_()` when
    it is shown (for constants built at import time, before the language is known)."""
    return msgid


def width(text: str) -> int:
    """Terminal columns `text` takes (CJK characters take two): for padding and layout."""
    from rich.cells import cell_len

    return cell_len(text)


class Message(str):
    """A computed message that is its English text wherever a string is used (JSON, logs,
    comparisons, `+`), and knows its msgid and arguments so that `localized()` gives it in
    the current language: `Message(N_("short side {px} px"), px=200)`, or for a count
    `Message.ngettext("{n} image", "{n} images", n)` (extracted as a plural, as `ngettext`). Arguments may be Messages
    themselves (localized in turn); it pickles, so worker processes can send it back."""

    template: str
    plural_template: str
    count: int | None
    args: dict

    def __new__(cls, template: str, /, **args) -> Message:
        return cls._make(template, "", None, args)

    @classmethod
    def ngettext(cls, singular: str, plural: str, n: int, /, **args) -> Message:
        return cls._make(singular, plural, n, {"n": n, **args})

    @classmethod
    def _make(cls, template: str, plural: str, count: int | None, args: dict) -> Message:
        chosen = template if count is None or count == 1 else plural
        self = super().__new__(cls, chosen.format(**args) if args else chosen)
        self.template, self.plural_template, self.count, self.args = \
            template, plural, count, args
        return self

    def __reduce__(self):
        return (_rebuild_message, (self.template, self.plural_template, self.count,
                                   self.args))

    def localized(self) -> str:
        if language() == "en":
            return str.__str__(self)
        args = {k: localized(v) for k, v in self.args.items()}
        text = _(self.template) if self.count is None else \
            ngettext(self.template, self.plural_template, self.count)
        try:
            return text.format(**args) if args else text
        except (KeyError, IndexError, ValueError):   # a translation with other placeholders
            return str.__str__(self)


def _rebuild_message(template: str, plural: str, count: int | None, args: dict) -> Message:
    return Message._make(template, plural, count, args)


def localized(value):
    """`value` in the current language when it knows how (a Message, the doctor's Text),
    else as it is."""
    method = getattr(value, "localized", None)
    return method() if method is not None else value


def error_text(exc: BaseException) -> str:
    """An exception's message in the current language: its argument when that is a
    `Message` (raised as `SomeError(Message(N_("..."), ...))`), else `str(exc)`."""
    method = getattr(exc, "localized", None)
    return method() if method is not None else localized(message_of(exc))


def message_fields(message: Message) -> dict:
    """A Message as JSON fields (`msgid`, `args`, and `plural` + `n` for a count), for
    records such as a run's events.jsonl that are read back and shown in another language;
    an argument that is a Message is written as such fields in turn."""
    fields: dict = {"msgid": message.template,
                    "args": {k: message_fields(v) if isinstance(v, Message)
                             else v if isinstance(v, (str, int, float, bool)) or v is None
                             else str(v) for k, v in message.args.items()}}
    if message.count is not None:
        fields.update(plural=message.plural_template, n=message.count)
    return fields


def message_from_fields(record: dict) -> Message | None:
    """The Message that `message_fields()` wrote into `record`; None when the record has
    none (written before, or by hand) or its fields are not what it writes."""
    msgid, args = record.get("msgid"), record.get("args", {})
    if not isinstance(msgid, str) or not isinstance(args, dict):
        return None
    args = {k: (message_from_fields(v) or str(v)) if isinstance(v, dict) else v
            for k, v in args.items()}
    count, plural = record.get("n"), record.get("plural")
    try:
        if isinstance(count, int) and isinstance(plural, str):
            return Message._make(msgid, plural, count, {**args, "n": count})
        return Message._make(msgid, "", None, args)
    except (KeyError, IndexError, ValueError):
        return None


class Translated(str):
    """Text that arrives with its own translations rather than from the catalogue (a rule's
    `[rule.zh]` title recorded in a finding): English wherever a string is used,
    `localized()` gives the current language's text when it has one."""

    translations: dict[str, str]

    def __new__(cls, english: str, translations: dict[str, str]) -> Translated:
        self = super().__new__(cls, english)
        self.translations = {k: v for k, v in translations.items() if v}
        return self

    def __reduce__(self):
        return (Translated, (str.__str__(self), self.translations))

    def localized(self) -> str:
        return self.translations.get(language()) or str.__str__(self)


def message_of(exc: BaseException) -> str:
    """An exception's message as the `Message` it was raised with (kept, to be shown later
    in the reader's language), else its text."""
    first = exc.args[0] if len(exc.args) == 1 else None
    return first if isinstance(first, Message) else str(exc)


def joined(parts: list, template: str = N_("{first}; {second}")):
    """`parts` (Messages or text) as one Message, two at a time through `template` (the
    punctuation of each language: "a; b" and "a；b"), so the whole list is shown in the
    reader's language and recorded with its msgids; "" for no parts."""
    if not parts:
        return ""
    whole = parts[0]
    for part in parts[1:]:
        whole = Message(template, first=whole, second=part)
    return whole

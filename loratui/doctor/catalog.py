"""The rule catalog: `rules/*.toml` read into `Rule` objects.

Every rule is data: code, kebab-case name, severity, refs to PITFALLS (P..) and FAILURES
(C/D/E/R/O..) ids, the input kinds it applies to, the predicate that computes it,
thresholds, log regexes, a message template, a fix template and an explanation.
Its `[rule.zh]` table holds the same texts in Simplified Chinese (title, message, fix,
what, why, example, fix_safety), with the same `{placeholders}`; codes, names and refs
are shared by every language.
The parsed rules are kept in loratui's data cache (`loratui.datacache`): parsing them with
tomllib costs more than the doctor's whole start-up budget. Their translations are cached
apart (`zh-rules`) and read only when a language other than English is asked for. A rule's
long texts (title, message, fix, explanation) and its translation stay packed (`marshal`
bytes) until first read: a run builds the strings of the few rules that find something,
not of all of them.
"""

from __future__ import annotations

import marshal
import os

from loratui import datacache
from loratui.doctor.model import APPLICABILITIES, SEVERITIES

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

# Input kinds a rule can name, and the groups that expand to several kinds.
INPUT_KINDS = ("loratui", "kohya-json", "sdscripts-toml", "cmdline", "aitoolkit", "dataset-toml",
               "log", "lora", "prompt", "comfy", "dataset", "run", "env")
KIND_GROUPS = {"config": ("loratui", "kohya-json", "sdscripts-toml", "cmdline", "aitoolkit"),
               "usage": ("prompt", "comfy")}
EXPLAIN_FIELDS = ("what", "why", "example", "fix_safety")
# Translated texts of a rule, per language table (`[rule.zh]`). `fix` is the fix's title;
# `example` may stay out (it is usually the user's own config or log text).
LANGUAGES = ("zh",)
TRANSLATED_FIELDS = ("title", "message", "fix", *EXPLAIN_FIELDS)


class CatalogError(Exception):
    pass


# A rule's texts that are packed until first read (`_pack_texts`).
TEXT_FIELDS = ("title", "message", "fix", "explain")


class Rule:
    __slots__ = ("_texts", "_translation", "code", "fallback", "file", "inputs", "kinds",
                 "lang", "module", "name", "needles", "predicate", "quiet", "refs", "regex",
                 "severity", "supersedes", "thresholds")

    def __init__(self, data: dict[str, Any], module: str, file: str) -> None:
        self.code: str = data["code"]
        self.name: str = data["name"]
        # TEXT_FIELDS as `_pack_texts` packed them, or as a dict (unpacked data)
        self._texts: bytes | dict[str, Any] = data.get("_texts") or \
            {k: data[k] for k in TEXT_FIELDS if k in data}
        self.severity: str = data["severity"]
        self.refs: tuple[str, ...] = tuple(data.get("refs", ()))
        inputs: list[str] = []
        for kind in data.get("inputs", ()):
            inputs.extend(KIND_GROUPS.get(kind, (kind,)))
        self.inputs: tuple[str, ...] = tuple(inputs)
        self.predicate: str = data.get("predicate", "")
        self.module: str = data.get("module", module)
        self.thresholds: dict[str, Any] = dict(data.get("thresholds", {}))
        regex = data.get("regex", ())
        self.regex: tuple[str, ...] = (regex,) if isinstance(regex, str) else tuple(regex)
        self.needles: tuple[str, ...] = tuple(data.get("needles", ()))
        # Dataset-scanner finding kinds a rule reports (predicate `scan_findings`).
        self.kinds: tuple[str, ...] = tuple(data.get("kinds", ()))
        self.supersedes: tuple[str, ...] = tuple(data.get("supersedes", ()))
        # A fallback rule is dropped when another error/warning was found in the same file.
        self.fallback: bool = bool(data.get("fallback", False))
        # A quiet fault does not stop a run (the LoRA just learns nothing): a run that saved
        # its LoRA is no evidence against it, so it stays a warning there.
        self.quiet: bool = bool(data.get("quiet", False))
        self.file = file
        # The `[rule.<lang>]` texts of the language the catalog was loaded in, if any.
        self._translation: bytes | dict[str, str] = {}
        self.lang: str | None = None

    @property
    def title(self) -> str:
        return self._text_fields().get("title", "")

    @property
    def message(self) -> str:
        return self._text_fields().get("message", "")

    @property
    def fix(self) -> dict[str, Any] | None:
        return self._text_fields().get("fix")

    @property
    def explain(self) -> dict[str, str]:
        return self._text_fields().get("explain", {})

    @property
    def translation(self) -> dict[str, str]:
        if isinstance(self._translation, bytes):
            self._translation = _unpack(self._translation)
        return self._translation

    def _text_fields(self) -> dict[str, Any]:
        if isinstance(self._texts, bytes):
            self._texts = _unpack(self._texts)
        return self._texts

    def text(self, field: str) -> str:
        """A field in the catalog's language, English where it has no translation:
        `title`, `message`, `fix` (the fix's title) or an explanation field."""
        own = self.translation.get(field)
        if own:
            return own
        if field == "fix":
            return (self.fix or {}).get("title", "")
        if field in EXPLAIN_FIELDS:
            return self.explain.get(field, "")
        return getattr(self, field)

    def to_dict(self) -> dict[str, Any]:
        return {
            "code": self.code, "name": self.name, "title": self.title,
            "severity": self.severity, "refs": list(self.refs), "inputs": list(self.inputs),
            "predicate": self.predicate, "thresholds": self.thresholds, "kinds": list(self.kinds),
            "message": self.message, "fix": self.fix, "explain": self.explain,
            "supersedes": list(self.supersedes), "fallback": self.fallback,
            "quiet": self.quiet, "file": self.file,
            **({self.lang: dict(self.translation)} if self.lang else {}),
        }

    def __repr__(self) -> str:
        return f"<Rule {self.code} {self.name}>"


class Catalog:
    def __init__(self, rules: list[Rule], lang: str | None = None) -> None:
        self.lang = lang  # the language of the rules' `translation`, None for English only
        self.rules = sorted(rules, key=lambda r: r.code)
        self.by_code = {r.code: r for r in self.rules}
        self.by_name = {r.name: r for r in self.rules}

    def get(self, code_or_name: str) -> Rule | None:
        key = code_or_name.strip()
        return self.by_code.get(key.upper()) or self.by_name.get(key.lower())

    def select(self, select: list[str] | None = None, ignore: list[str] | None = None
               ) -> list[Rule]:
        """Rules whose code starts with one of `select` (all when empty), minus `ignore`.
        Names and refs (`P10`, `C01`) work too."""
        def matches(rule: Rule, patterns: list[str]) -> bool:
            for p in patterns:
                p = p.strip()
                if not p:
                    continue
                if p.upper() == "ALL" or rule.code.startswith(p.upper()) or rule.name == p.lower() \
                        or p.upper() in rule.refs:
                    return True
            return False

        rules = self.rules
        if select:
            rules = [r for r in rules if matches(r, select)]
        if ignore:
            rules = [r for r in rules if not matches(r, ignore)]
        return rules


# ------------------------------------------------------------------ thresholds
def thresholds_for(rule: Rule, overrides: dict[str, Any],
                   family: str | None = None) -> dict[str, Any]:
    """Rule thresholds (the guide's figures, for SD1.5), then the model family's (the
    `[doctor]` table of `data/<family>/family.toml`), then the user's overrides. Both
    tables take `name = value` (any rule having that threshold) or `CODE = { name = value }`
    (that rule only)."""
    th = dict(rule.thresholds)
    if family:
        from loratui.familydata import doctor_thresholds  # only for an input showing one

        _overlay(th, rule, doctor_thresholds(family) or {})
    _overlay(th, rule, overrides)
    return th


def _overlay(th: dict[str, Any], rule: Rule, table: dict[str, Any]) -> None:
    for name in th:
        if name in table and not isinstance(table[name], dict):
            th[name] = table[name]
    per_rule = table.get(rule.code) or table.get(rule.name)
    if isinstance(per_rule, dict):
        for name, value in per_rule.items():
            if name in th:
                th[name] = value


def placeholders(template: str) -> set[str]:
    """The `{names}` a message or fix template fills in."""
    import string

    try:
        return {name for _, name, _, _ in string.Formatter().parse(template) if name}
    except ValueError:
        return set()


def _validate_translation(data: dict[str, Any], lang: str, where: str) -> None:
    table = data[lang]
    if not isinstance(table, dict):
        raise CatalogError(f"{where}: [rule.{lang}] must be a table")
    unknown = sorted(set(table) - set(TRANSLATED_FIELDS))
    if unknown:
        raise CatalogError(f"{where}: unknown [rule.{lang}] field(s) {', '.join(unknown)}; "
                           f"allowed: {', '.join(TRANSLATED_FIELDS)}")
    # A text whose placeholders no longer match the English (the English changed, the
    # translation did not yet) is left out: that field is shown in English. The catalog
    # test (`stale_translations`) fails on it.
    for field in stale_translations(data, lang):
        del table[field]


def stale_translations(data: dict[str, Any], lang: str) -> list[str]:
    """The `[rule.<lang>]` fields of a rule's data whose placeholders differ from the
    English ones."""
    table = data.get(lang) or {}
    english = {"message": data.get("message", ""),
               "fix": (data.get("fix") or {}).get("title", "")}
    return [field for field, source in english.items()
            if field in table and placeholders(table[field]) != placeholders(source)]


def _validate(data: dict[str, Any], file: str) -> None:
    where = f"{file}: rule {data.get('code', '?')}"
    for key in ("code", "name", "severity", "message", "inputs"):
        if key not in data:
            raise CatalogError(f"{where}: missing `{key}`")
    if data["severity"] not in SEVERITIES:
        raise CatalogError(f"{where}: severity must be one of {SEVERITIES}")
    fix = data.get("fix")
    if fix is not None and fix.get("applicability") not in APPLICABILITIES:
        raise CatalogError(f"{where}: fix.applicability must be one of {APPLICABILITIES}")
    for kind in data["inputs"]:
        if kind not in INPUT_KINDS and kind not in KIND_GROUPS:
            raise CatalogError(f"{where}: unknown input kind {kind!r}")
    for lang in LANGUAGES:
        if lang in data:
            _validate_translation(data, lang, where)


def _parse_files(files: list[str]) -> list[dict[str, Any]]:
    """The rules' data, without their translations."""
    return _parse_all(files)[0]


def _parse_translations(lang: str) -> Callable[[list[str]], dict[str, Any]]:
    """A builder of the rules' `[rule.<lang>]` tables, by code."""
    def build(files: list[str]) -> dict[str, Any]:
        return _parse_all(files)[1][lang]
    return build


def _parse_all(files: list[str]) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    out: list[dict[str, Any]] = []
    translations: dict[str, Any] = {lang: {} for lang in LANGUAGES}
    for path in files:
        name = os.path.basename(path)
        try:
            with open(path, encoding="utf-8") as fh:
                doc = datacache.toml_loads(fh.read())
        except (OSError, UnicodeDecodeError, ValueError) as exc:  # TOMLDecodeError: a ValueError
            raise CatalogError(f"{path}: cannot read rule file ({exc})") from None
        module = doc.get("meta", {}).get("module", "loratui.doctor.predicates")
        for data in doc.get("rule", []):
            _validate(data, name)
            data.setdefault("module", module)
            data["_file"] = name
            for lang in LANGUAGES:
                if lang in data:
                    translations[lang][data["code"]] = marshal.dumps(data.pop(lang))
            out.append(_pack_texts(data))
    return out, translations


def _pack_texts(data: dict[str, Any]) -> dict[str, Any]:
    """A rule's data with its TEXT_FIELDS packed into `_texts` (read by `Rule` on first
    use): loading the catalog then makes no strings for them."""
    texts = {k: data.pop(k) for k in TEXT_FIELDS if k in data}
    data["_texts"] = marshal.dumps(texts)
    return data


def _unpack(blob: bytes) -> dict[str, Any]:
    value = marshal.loads(blob)   # our own data (the cache is checked before it is read)
    return value if isinstance(value, dict) else {}


# The shipped rules by language, read once per process: a command that both scans a
# dataset (its image-count thresholds) and diagnoses reads the cache once.
_shipped: dict[str, Catalog] = {}


def localized_catalog(rules_dir: str | os.PathLike | None = None) -> Catalog:
    """The rules in the language messages are shown in now (`loratui.i18n.language()`:
    `--lang`, `LORATUI_LANG`, the locale); English reads no translation at all. The
    shipped rules (no `rules_dir`) are loaded once per process and language; nothing
    changes a `Rule` after loading."""
    from loratui.i18n import language

    lang = language()
    if rules_dir is not None:
        return load_catalog(rules_dir, lang=lang)
    found = _shipped.get(lang)
    if found is None:
        found = _shipped[lang] = load_catalog(lang=lang)
    return found


def default_rules_dir() -> str:
    """The shipped `rules/` folder as a string (no pathlib: the doctor's start-up budget):
    `loratui/_data/rules` in a wheel, `rules/` in a checkout."""
    from loratui.resources import data_path

    return data_path("rules")


def load_catalog(rules_dir: str | os.PathLike | None = None, *, use_cache: bool = True,
                 lang: str | None = None) -> Catalog:
    """The rules of `rules_dir` (the shipped ones by default). With `lang` ("zh") each rule
    also carries its texts in that language (`Rule.text`); in English the translations
    are not even read from the cache."""
    folder = os.fspath(rules_dir) if rules_dir is not None else default_rules_dir()
    files = sorted(os.path.join(folder, n) for n in os.listdir(folder) if n.endswith(".toml"))
    raw = datacache.cached("rules", files, _parse_files) if use_cache else None
    if not isinstance(raw, list) or not all(isinstance(d, dict) for d in raw):
        raw = _parse_files(files)
    rules = [Rule(d, d["module"], d["_file"]) for d in raw]
    counts: dict[str, int] = {}
    for rule in rules:
        counts[rule.code] = counts.get(rule.code, 0) + 1
    dupes = sorted(code for code, n in counts.items() if n > 1)
    if dupes:
        raise CatalogError(f"duplicate rule codes: {', '.join(dupes)}")
    if lang not in LANGUAGES:
        return Catalog(rules)
    build = _parse_translations(lang)
    translated = datacache.cached(f"{lang}-rules", files, build) if use_cache else None
    if not isinstance(translated, dict):
        translated = build(files)
    for rule in rules:
        table = translated.get(rule.code)
        if isinstance(table, (bytes, dict)):
            rule._translation = table
            rule.lang = lang
    return Catalog(rules, lang)

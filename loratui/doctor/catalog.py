"""The rule catalog: `rules/*.toml` read into `Rule` objects.

Every rule is data: code, kebab-case name, severity, refs to PITFALLS (P..) and FAILURES
(C/D/E/R/O..) ids, the input kinds it applies to, the predicate that computes it,
thresholds, log regexes, a message template, a fix template and an explanation.
Its `[rule.zh]` table holds the same texts in Simplified Chinese (title, message, fix,
what, why, example, fix_safety), with the same `{placeholders}`; codes, names and refs
are shared by every language.

Parsing ~150 rules with the pure-Python `tomllib` costs more than the whole start-up
budget of `loratui doctor`, so the parsed catalog is cached in the user cache folder,
keyed by the rule files' paths, sizes and mtimes and the Python version. The cache holds
plain data (lists, dicts, strings, numbers) in `marshal` form: built in, so reading it
imports nothing (`import json` alone is 5% of the budget). `marshal` is not meant for
untrusted input, so the file is ours only: written atomically by this module, with a magic
number and a CRC-32 of the payload checked before it is read; anything else is ignored
and the rules are parsed again. The translations go to a cache file of their own, read
only when a language other than English is asked for.
"""

from __future__ import annotations

import marshal
import os
import sys
import zlib

from loratui.doctor.model import APPLICABILITIES, SEVERITIES

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

CACHE_VERSION = 5
CACHE_MAGIC = b"LTRC"
KEEP_CACHES = 4

# Input kinds a rule can name, and the groups that expand to several kinds.
INPUT_KINDS = ("loratui", "kohya-json", "sdscripts-toml", "cmdline", "dataset-toml", "log",
               "lora", "prompt", "comfy", "dataset", "run", "env")
KIND_GROUPS = {"config": ("loratui", "kohya-json", "sdscripts-toml", "cmdline"),
               "usage": ("prompt", "comfy")}
EXPLAIN_FIELDS = ("what", "why", "example", "fix_safety")
# Translated texts of a rule, per language table (`[rule.zh]`). `fix` is the fix's title;
# `example` may stay out (it is usually the user's own config or log text).
LANGUAGES = ("zh",)
TRANSLATED_FIELDS = ("title", "message", "fix", *EXPLAIN_FIELDS)


class CatalogError(Exception):
    pass


class Rule:
    __slots__ = ("code", "explain", "fallback", "file", "fix", "inputs", "kinds", "lang",
                 "message", "module", "name", "needles", "predicate", "refs", "regex",
                 "severity", "supersedes", "thresholds", "title", "translation")

    def __init__(self, data: dict[str, Any], module: str, file: str) -> None:
        self.code: str = data["code"]
        self.name: str = data["name"]
        self.title: str = data.get("title", "")
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
        self.message: str = data.get("message", "")
        self.fix: dict[str, Any] | None = data.get("fix")
        self.explain: dict[str, str] = dict(data.get("explain", {}))
        self.supersedes: tuple[str, ...] = tuple(data.get("supersedes", ()))
        # A fallback rule is dropped when another error/warning was found in the same file.
        self.fallback: bool = bool(data.get("fallback", False))
        self.file = file
        # The `[rule.<lang>]` texts of the language the catalog was loaded in, if any.
        self.translation: dict[str, str] = {}
        self.lang: str | None = None

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
            "file": self.file,
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
    english = {"message": data.get("message", ""),
               "fix": (data.get("fix") or {}).get("title", "")}
    for field, source in english.items():
        if field in table and placeholders(table[field]) != placeholders(source):
            raise CatalogError(
                f"{where}: [rule.{lang}] {field} has placeholders "
                f"{sorted(placeholders(table[field]))}, the English has "
                f"{sorted(placeholders(source))}")


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


def _parse_files(files: list[str]) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """The rules' data, and their translations by language then code."""
    try:
        import tomllib
    except ModuleNotFoundError:  # Python 3.10
        import tomli as tomllib  # type: ignore[no-redef]

    out: list[dict[str, Any]] = []
    translations: dict[str, Any] = {lang: {} for lang in LANGUAGES}
    for path in files:
        name = os.path.basename(path)
        try:
            with open(path, encoding="utf-8") as fh:
                doc = tomllib.loads(fh.read())
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
            raise CatalogError(f"{path}: cannot read rule file ({exc})") from None
        module = doc.get("meta", {}).get("module", "loratui.doctor.predicates")
        for data in doc.get("rule", []):
            _validate(data, name)
            data.setdefault("module", module)
            data["_file"] = name
            for lang in LANGUAGES:
                if lang in data:
                    translations[lang][data["code"]] = data.pop(lang)
            out.append(data)
    return out, translations


def _cache_path(files: list[str]) -> str | None:
    if os.environ.get("LORATUI_NO_CACHE"):
        return None
    base = os.environ.get("LORATUI_CACHE_DIR") or os.environ.get("XDG_CACHE_HOME") or \
        os.path.join(os.path.expanduser("~"), ".cache")
    key = [f"{CACHE_VERSION}|{sys.version_info[:2]}|{marshal.version}"]
    for f in files:
        st = os.stat(f)
        key.append(f"{os.path.realpath(f)}|{st.st_size}|{st.st_mtime_ns}")
    digest = zlib.crc32("\n".join(key).encode()) ^ (len(files) << 24)
    return os.path.join(base, "loratui", f"rules-{digest:08x}.cache")


def default_rules_dir() -> str:
    """The shipped `rules/` folder as a string (no pathlib: the doctor's start-up budget):
    `loratui/_data/rules` in a wheel, `rules/` in a checkout."""
    from loratui.resources import data_path

    return data_path("rules")


def load_catalog(rules_dir: str | os.PathLike | None = None, *, use_cache: bool = True,
                 lang: str | None = None) -> Catalog:
    """The rules of `rules_dir` (the installed ones by default). With `lang` ("zh") each
    rule also carries its texts in that language (`Rule.text`); English needs no more
    than the rules themselves, so their translations are not even read from the cache."""
    folder = os.fspath(rules_dir) if rules_dir is not None else default_rules_dir()
    files = sorted(os.path.join(folder, n) for n in os.listdir(folder) if n.endswith(".toml"))
    cache = _cache_path(files) if use_cache else None
    raw = _read_cache(cache) if cache is not None else None
    lang = lang if lang in LANGUAGES else None
    translated: dict[str, Any] | None = None
    if raw is not None and lang is not None:
        translated = _read_cache(f"{cache}.{lang}")
        if not isinstance(translated, dict):
            raw = translated = None  # parse again: the rules and their translations agree
    if raw is None:
        raw, translations = _parse_files(files)
        if cache is not None:
            _write_cache(cache, raw)
            for code, table in translations.items():
                _write_cache(f"{cache}.{code}", table)
        translated = translations.get(lang) if lang else None
    rules = [Rule(d, d["module"], d["_file"]) for d in raw]
    codes = [r.code for r in rules]
    dupes = sorted({c for c in codes if codes.count(c) > 1})
    if dupes:
        raise CatalogError(f"duplicate rule codes: {', '.join(dupes)}")
    if translated:
        for rule in rules:
            table = translated.get(rule.code)
            if isinstance(table, dict):
                rule.translation = table
                rule.lang = lang
    return Catalog(rules, lang)


def _read_cache(path: str) -> Any:
    try:
        with open(path, "rb") as fh:
            blob = fh.read()
    except OSError:
        return None
    payload = blob[8:]
    if blob[:4] != CACHE_MAGIC or int.from_bytes(blob[4:8], "little") != zlib.crc32(payload):
        return None
    try:
        raw = marshal.loads(payload)
    except (ValueError, EOFError, TypeError):
        return None
    if isinstance(raw, dict):  # translations: code -> table
        return raw
    if not isinstance(raw, list) or not all(isinstance(d, dict) for d in raw):
        return None
    return raw


def _write_cache(path: str, raw: Any) -> None:
    import contextlib

    folder = os.path.dirname(path)
    try:
        payload = marshal.dumps(raw)
    except ValueError:  # a value marshal cannot hold (a TOML date): no cache
        return
    try:
        os.makedirs(folder, exist_ok=True)
        tmp = os.path.join(folder, f".{os.path.basename(path)}.{os.getpid()}.tmp")
        with open(tmp, "wb") as fh:
            fh.write(CACHE_MAGIC + zlib.crc32(payload).to_bytes(4, "little") + payload)
        os.replace(tmp, path)
        # keep the newest few: two installs used in turn (a checkout and a venv) keep theirs
        # (a catalog's translations, `<cache>.zh`, go with it)
        old = sorted((os.path.join(folder, n) for n in os.listdir(folder)
                      if n.startswith("rules-") and n.endswith(".cache")),
                     key=os.path.getmtime, reverse=True)
        for stale in old[KEEP_CACHES:]:
            for companion in (stale, *(f"{stale}.{lang}" for lang in LANGUAGES)):
                with contextlib.suppress(OSError):
                    os.unlink(companion)
    except OSError:
        pass  # a read-only home is fine: we just parse every time

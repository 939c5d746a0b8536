"""Run the rule catalog over inputs and collect `Diagnostic`s.

A rule applies to an input when the input's kind is in the rule's `inputs`. Its
predicate runs with the rule's thresholds (user overrides from the `[doctor]` table of
loratui.toml or `--set` applied); every `Hit` becomes a `Diagnostic`. A predicate that
raises becomes a DR001 finding and the run goes on. A finding whose rule lists
`supersedes` (a root cause found by cross-checking a run folder) removes the findings it
explains from the same run.
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Iterable

from loratui.doctor.catalog import Catalog, Rule, load_catalog, thresholds_for
from loratui.doctor.inputs import Input
from loratui.doctor.model import DELETE, Diagnostic, Fix, Location, Relative
from loratui.doctor.registry import PREDICATES, Hit

TYPE_CHECKING = False
if TYPE_CHECKING:
    from pathlib import Path
    from typing import Any

SEVERITY_RANK = {"info": 0, "warning": 1, "error": 2}
WRITABLE_KINDS = ("loratui", "kohya-json", "sdscripts-toml", "dataset-toml")
INTERNAL = {
    "DR001": ("rule-crashed", "warning"),
    "DR002": ("unreadable-input", "error"),
}


class Options:
    """What the user told the doctor beyond the paths."""

    def __init__(self, *, vram_gb: float | None = None, base: str | None = None,
                 select: list[str] | None = None, ignore: list[str] | None = None,
                 overrides: dict[str, Any] | None = None, probe_gpu: bool = True,
                 env: bool = False) -> None:
        self.vram_gb = vram_gb
        self.base = base
        self.select = select or []
        self.ignore = ignore or []
        self.overrides = overrides or {}
        self.probe_gpu = probe_gpu
        self.env = env


class Context:
    def __init__(self, inputs: list[Input], options: Options, catalog: Catalog) -> None:
        self.inputs = inputs
        self.options = options
        self.catalog = catalog
        self._gpu: Any = None
        self._gpu_done = False

    # -- the GPU, probed lazily and only where a driver can exist (NVML import is 30 ms)
    def gpu_report(self):
        if not self._gpu_done:
            self._gpu_done = True
            if self.options.probe_gpu and (os.environ.get("LORATUI_FAKE_GPU") or
                                           _driver_present()):
                from loratui.gpu import detect

                self._gpu = detect(allow_torch=False)
        return self._gpu

    def gpu(self):
        report = self.gpu_report()
        return report.best if report is not None else None

    def vram_gb(self) -> float | None:
        if self.options.vram_gb is not None:
            return self.options.vram_gb if self.options.vram_gb > 0 else None
        gpu = self.gpu()
        return round(gpu.total_gb, 1) if gpu is not None else None

    def all_inputs(self) -> Iterable[Input]:
        stack = list(self.inputs)
        while stack:
            inp = stack.pop(0)
            yield inp
            stack[0:0] = inp.children

    def siblings(self, inp: Input, kind: str) -> list[Input]:
        """Inputs of `kind` in the same run folder as `inp` (or all inputs at top level)."""
        root = inp
        while root.parent is not None:
            root = root.parent
        pool = [root, *root.children] if root.kind == "run" else list(self.all_inputs())
        found = []
        for candidate in pool:
            if candidate.kind == kind and candidate.error is None:
                found.append(candidate)
            for child in candidate.children if candidate is not root else []:
                if child.kind == kind and child.error is None:
                    found.append(child)
        return found


def _driver_present() -> bool:
    if os.name == "nt":
        return True
    return os.path.exists("/proc/driver/nvidia/version") or os.path.exists("/dev/nvidiactl")


def family_thresholds(rule: Rule) -> dict[str, dict[str, Any]]:
    """For each family loratui has data for, the thresholds of `rule` its `[doctor]` table
    changes (name -> value); families that change none are left out."""
    from loratui import families

    changed = {}
    for family in families.ids():
        th = thresholds_for(rule, {}, family)
        diff = {name: value for name, value in th.items() if value != rule.thresholds[name]}
        if diff:
            changed[family] = diff
    return changed


def input_family(inp: Input) -> str | None:
    """The model family an input shows — a config's flag, script or base model name, a
    LoRA's tensors or metadata — for the family's thresholds; None when it does not say
    (the rules' own thresholds apply: never a guess)."""
    if inp.facts is not None:
        from loratui.doctor.facts import shown_family

        return shown_family(inp.facts)
    if inp.kind == "lora" and inp.data is not None:
        from loratui.lora.reader import LoraFile

        if isinstance(inp.data, LoraFile) and inp.data.tensors:
            return inp.data.family()[0] or inp.data.metadata_family()
    return None


class _SafeVars(dict):
    def __missing__(self, key: str) -> str:
        return "{" + key + "}"


def render(template: str, variables: dict[str, Any]) -> str:
    """`template` filled in; `{n:image|images}` picks the singular or plural by `n`."""
    from loratui.wording import counted

    variables = counted(variables)
    try:
        return template.format_map(_SafeVars(variables))
    except (ValueError, TypeError, IndexError, KeyError, AttributeError):
        plain = {k: str(v) for k, v in variables.items()}
        try:
            return template.format_map(_SafeVars(plain))
        except (ValueError, TypeError, IndexError, KeyError, AttributeError):
            return template


def fmt_num(value: Any) -> str:
    """1e-4 → '1e-04'? no: '0.0001'; keeps numbers short and readable in messages."""
    if isinstance(value, float):
        if value == 0:
            return "0"
        if abs(value) < 1e-3 or abs(value) >= 1e5:
            return f"{value:.0e}".replace("e-0", "e-").replace("e+0", "e")
        return f"{value:g}"
    return str(value)


def _import_module(name: str) -> None:
    importlib.import_module(name)


def run_rules(ctx: Context) -> list[Diagnostic]:
    rules = ctx.catalog.select(ctx.options.select, ctx.options.ignore)
    per_rule_ignore = set(_as_list(ctx.options.overrides.get("ignore")))
    rules = [r for r in rules if r.code not in per_rule_ignore and r.name not in per_rule_ignore]
    diagnostics: list[Diagnostic] = []
    suppressed: list[tuple[str, str]] = []  # (root path, code)
    inputs = list(ctx.all_inputs())
    for inp in inputs:
        if inp.error is not None:
            diagnostics.append(_internal("DR002", inp.error,
                                         Location(inp.path, line=inp.error_line)))
    kinds = {inp.kind for inp in inputs if inp.error is None}
    if ctx.options.env or not ctx.inputs:
        kinds.add("env")
    for rule in rules:
        if not any(k in kinds for k in rule.inputs):
            continue
        fn = _predicate(rule)
        by_family: dict[str | None, dict[str, Any]] = {}
        targets = [i for i in inputs if i.kind in rule.inputs and i.error is None]
        if "env" in rule.inputs and "env" in kinds:
            targets.append(Input("<environment>", "env"))
        for inp in targets:
            try:
                fam = input_family(inp) if rule.thresholds else None
                if fam not in by_family:
                    by_family[fam] = thresholds_for(rule, ctx.options.overrides, fam)
                th = by_family[fam]
                if fn is None:
                    raise LookupError(f"predicate {rule.predicate!r} is not registered "
                                      f"(module {rule.module})")
                for hit in fn(inp, ctx, rule, th) or ():
                    diag = _to_diagnostic(rule, th, inp, hit)
                    diagnostics.append(diag)
                    for code in (*rule.supersedes, *hit.suppress):
                        suppressed.append((_root_path(inp), code))
            except Exception as exc:  # a crashing rule is a finding, never an abort
                diagnostics.append(_internal(
                    "DR001", f"rule {rule.code} ({rule.name}) crashed on this input: "
                    f"{type(exc).__name__}: {exc}. The other rules ran; please report this.",
                    Location(inp.path)))
    if suppressed:
        diagnostics = _apply_supersedes(diagnostics, suppressed, inputs)
    fallback = {r.code: r for r in rules if r.fallback}
    if fallback:
        # A fallback is explained by another finding about the same file from a rule of
        # the same input kinds (a log's traceback by a log rule, not by a warning about
        # the settings of the command found in that log).
        kinds = {k for r in fallback.values() for k in r.inputs}
        same_kind = {r.code for r in rules if kinds.intersection(r.inputs)}
        explained = {d.location.path for d in diagnostics
                     if d.code not in fallback and (d.severity == "error" or (
                         d.code in same_kind and d.severity == "warning"))}
        diagnostics = [d for d in diagnostics
                       if d.code not in fallback or d.location.path not in explained]
    _earlier_runs_are_history(diagnostics, inputs)
    return _dedupe(sorted(diagnostics, key=Diagnostic.sort_key))


def _earlier_runs_are_history(diags: list[Diagnostic], inputs: list[Input]) -> None:
    """What a paste shows before its last run, when that run trained and saved its LoRA,
    is information: the user already got past it."""
    later = {inp.path: inp.data.later_run_from for inp in inputs
             if inp.kind == "log" and getattr(inp.data, "later_run_from", None) is not None}
    for d in diags:
        start = later.get(d.location.path)
        if start is not None and d.location.line is not None and d.location.line < start:
            d.severity = "info"


def _as_list(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [v.strip() for v in value.split(",") if v.strip()]
    return [str(v) for v in value]


def _predicate(rule: Rule):
    fn = PREDICATES.get(rule.predicate)
    if fn is None and rule.module:
        try:
            _import_module(rule.module)
        except ImportError:
            return None
        fn = PREDICATES.get(rule.predicate)
    return fn


def _root_path(inp: Input) -> str:
    while inp.parent is not None:
        inp = inp.parent
    return inp.path


def _apply_supersedes(diags: list[Diagnostic], suppressed: list[tuple[str, str]],
                      inputs: list[Input]) -> list[Diagnostic]:
    roots: dict[str, str] = {}
    for inp in inputs:
        roots[inp.path] = _root_path(inp)
    kill = set(suppressed)
    return [d for d in diags
            if (roots.get(d.location.path, d.location.path), d.code) not in kill]


def _dedupe(diags: list[Diagnostic]) -> list[Diagnostic]:
    seen = set()
    out = []
    for d in diags:
        key = (d.code, d.location.path, d.location.key, d.location.line, d.message)
        if key not in seen:
            seen.add(key)
            out.append(d)
    return out


def _internal(code: str, message: str, location: Location) -> Diagnostic:
    """A finding of the doctor itself; a `Message` (an input's read error) carries its text
    in the current language as well, as a rule's `[rule.zh]` does."""
    from loratui.i18n import language, localized

    name, severity = INTERNAL[code]
    lang = language()
    if lang == "en" or not hasattr(message, "localized"):
        return Diagnostic(code, name, severity, str(message), location, ())
    return Diagnostic(code, name, severity, str.__str__(message), location, (), lang=lang,
                      local_message=localized(message))


def _localized(variables: dict[str, Any]) -> dict[str, Any]:
    """The variables for a translated message: computed `Text` parts in its language."""
    from loratui.i18n import localized

    return {k: localized(v) for k, v in variables.items()}


def _to_diagnostic(rule: Rule, th: dict[str, Any], inp: Input, hit: Hit) -> Diagnostic:
    facts = inp.facts
    variables: dict[str, Any] = {k: fmt_num(v) for k, v in th.items()}
    key = hit.key
    line = hit.line
    if facts is not None and key is not None:
        if line is None:
            line = facts.line_of(key)
        variables.setdefault("key", facts.display_key(key))
        key_out = facts.source_key(key)
    else:
        key_out = key
    for k, v in hit.vars.items():
        variables[k] = fmt_num(v) if isinstance(v, float) else v
    if line is None and facts is not None and facts.extra.get("from_paste"):
        line = facts.extra.get("command_line")  # a setting left out: point at the command
    message = render(rule.message, variables)
    local = rule.translation  # `[rule.zh]` when the catalog was loaded in Chinese
    fix = None
    if rule.fix:
        applicability = hit.applicability or rule.fix.get("applicability", "display-only")
        title = render(rule.fix.get("title", ""), variables)
        edits: dict[tuple[str, ...], Any] = {}
        if hit.edits and facts is not None and inp.kind in WRITABLE_KINDS and not inp.read_only \
                and applicability != "display-only":
            for canon, value in hit.edits.items():
                path = facts.keys.get(canon) or _new_key_path(facts, canon)
                if path is None:
                    continue
                if isinstance(value, Relative):
                    ref = facts.keys.get(value.key) or _new_key_path(facts, value.key)
                    if ref is None:
                        continue
                    edits[path] = Relative(ref, value.factor, value.default,
                                           isinstance(facts.raw.get(canon), str))
                    continue
                edits[path] = value if value is DELETE else _keep_type(facts, canon, value)
        elif applicability != "display-only":
            applicability = "display-only"  # nothing we can write (a log, a command line)
        command = render(hit.command, variables) if hit.command else None
        if not command and rule.fix.get("command"):
            command = render(rule.fix["command"], variables)
        local_fix = render(local["fix"], _localized(variables)) if local.get("fix") else None
        fix = Fix(applicability, title, edits, command, local_fix)
    location = Location(hit.path or inp.path, key_out, line, None, hit.span, hit.image)
    refs = hit.refs if hit.refs is not None else rule.refs
    severity = hit.severity or rule.severity
    cap = getattr(inp, "severity_cap", None)
    if cap == "info" and rule.quiet:
        cap = "warning"
    if cap is not None and SEVERITY_RANK.get(severity, 0) > SEVERITY_RANK[cap]:
        severity = cap
    if not local:
        return Diagnostic(rule.code, rule.name, severity, message, location, refs, fix)
    return Diagnostic(rule.code, rule.name, severity, message, location, refs, fix,
                      lang=rule.lang, local_message=render(local.get("message", ""),
                                                               _localized(variables)) or None,
                      local_title=local.get("title") or None)


def _new_key_path(facts, canon: str) -> tuple[str, ...] | None:
    if facts.kind == "loratui":
        from loratui.doctor.facts import LORATUI_KEYS

        dotted = LORATUI_KEYS.get(canon)
        return tuple(dotted.split(".")) if dotted else None
    if facts.kind == "kohya-json":
        from loratui.doctor.inputs.configs import KOHYA_GUI_MAP

        reverse = {v: k for k, v in KOHYA_GUI_MAP.items()}
        return (reverse.get(canon, canon),)
    if facts.kind in ("sdscripts-toml", "dataset-toml"):
        return (canon,)
    return None


def _keep_type(facts, canon: str, value: Any) -> Any:
    """kohya_ss JSON writes some numbers as strings: keep what the file used."""
    raw = facts.raw.get(canon)
    if isinstance(raw, str) and not isinstance(value, str):
        if isinstance(value, tuple):
            return ",".join(str(v) for v in value)
        if isinstance(value, bool):
            return str(value).lower()
        return fmt_num(value) if isinstance(value, float) else str(value)
    if isinstance(value, tuple):
        return list(value)
    return value


# ---------------------------------------------------------------- public entry points

def _drop_datasets_read_through_a_config(loaded: list[Input]) -> list[Input]:
    """A dataset folder given beside a config (or run) that points at it is checked once, as
    the config's child, where the config's caption extension and trigger word apply."""
    import os

    attached: set[str] = set()
    stack = [c for inp in loaded for c in inp.children]
    while stack:
        child = stack.pop()
        if child.kind == "dataset":
            attached.add(os.path.realpath(child.path))
        stack.extend(child.children)
    return [inp for inp in loaded
            if not (inp.kind == "dataset" and os.path.realpath(inp.path) in attached)]


def _one_dataset_per_folder(loaded: list[Input]) -> None:
    """A dataset folder reached through several configs (the project's, a run's copy, a
    dataset TOML) is checked once: under the first config outside a run folder, else the
    first one met. The others are dropped from their parents."""
    import os

    found: list[Input] = []
    stack = list(reversed(loaded))
    while stack:
        inp = stack.pop()
        if inp.kind == "dataset" and inp.parent is not None:
            found.append(inp)
        stack.extend(reversed(inp.children))

    def in_run(inp: Input) -> bool:
        while inp.parent is not None:
            inp = inp.parent
            if inp.kind == "run":
                return True
        return False

    keep: dict[str, Input] = {}
    for inp in sorted(found, key=in_run):  # stable: outside runs first, then given order
        keep.setdefault(os.path.realpath(inp.path), inp)
    for inp in found:
        if keep[os.path.realpath(inp.path)] is not inp and inp.parent is not None:
            inp.parent.children.remove(inp)


def _one_place(diags: list[Diagnostic], inputs: list[Input]) -> list[Diagnostic]:
    """A config finding repeated, word for word, by the copy of that config in a run folder
    is reported once, on the user's own file."""
    by_path = {}
    for inp in inputs:
        by_path.setdefault(inp.path, inp)

    def copy_in_run(path: str) -> bool:
        inp = by_path.get(path)
        return inp is not None and inp.facts is not None and inp.parent is not None and \
            inp.parent.kind == "run"

    outside = {(d.code, d.location.key, d.message) for d in diags
               if not copy_in_run(d.location.path) and d.location.path in by_path
               and by_path[d.location.path].facts is not None}
    return [d for d in diags if not (copy_in_run(d.location.path) and
                                     (d.code, d.location.key, d.message) in outside)]


def diagnose(paths: Iterable[str | Path] = (), *, prompts: Iterable[str] = (),
             as_kind: str | None = None, options: Options | None = None,
             catalog: Catalog | None = None, inputs: list[Input] | None = None
             ) -> tuple[list[Diagnostic], list[Input]]:
    """Load every path (and prompt) and run the catalog. Returns (diagnostics, inputs)."""
    from loratui.doctor import inputs as inputs_mod

    options = options or Options()
    catalog = catalog or load_catalog()
    loaded: list[Input] = list(inputs or [])
    for path in paths:
        loaded.append(inputs_mod.load(path, as_kind))
    loaded = _drop_datasets_read_through_a_config(loaded)
    _one_dataset_per_folder(loaded)
    for i, text in enumerate(prompts):
        loaded.append(inputs_mod.prompt_input(text, "<prompt>" if i == 0 else f"<prompt {i+1}>"))
    overrides = dict(options.overrides)
    for inp in loaded:
        doctor_table = getattr(inp.facts, "extra", {}).get("doctor") if inp.facts else None
        if inp.kind == "run":
            for child in inp.children:
                if child.facts is not None and child.facts.extra.get("doctor"):
                    doctor_table = child.facts.extra["doctor"]
        if isinstance(doctor_table, dict):
            for k, v in doctor_table.items():
                overrides.setdefault(k, v)
    options.overrides = overrides
    ctx = Context(loaded, options, catalog)
    return _one_place(run_rules(ctx), list(ctx.all_inputs())), loaded

"""`loratui rule CODE`: a rule's explanation, ruff style, in the catalog's language."""

from __future__ import annotations

from dataclasses import dataclass

from loratui.doctor.catalog import Rule
from loratui.doctor.engine import family_thresholds
from loratui.doctor.output import severity_word
from loratui.families import NAMES
from loratui.i18n import N_, _

HEADINGS = (("what", N_("What it does")), ("why", N_("Why is this bad?")),
            ("example", N_("Example")), ("fix_safety", N_("Fix safety")))
FIX_KINDS = {"safe": N_("Fix: safe, applied by --fix."),
             "unsafe": N_("Fix: unsafe, applied only with --unsafe-fixes."),
             "display-only": N_("Fix: advice only (shown, never applied).")}


@dataclass(frozen=True)
class HowTo:
    """How the reader applies a rule's fix and overrides its thresholds: the command
    line's flags, or another front end's own keys (msgids; `overrides` may use
    {thresholds} and {code})."""

    fixes: dict[str, str]
    overrides: str


COMMAND_LINE = HowTo(FIX_KINDS, N_("Thresholds: {thresholds} (override in loratui.toml "
                                   "[doctor] or with --set {code}.NAME=VALUE)."))


def explain_rule(rule: Rule, how: HowTo = COMMAND_LINE) -> str:
    lines = [f"# {rule.name} ({rule.code})"]
    if rule.text("title"):
        lines.append(rule.text("title"))
    lines.append("")
    fix = (rule.fix or {}).get("applicability")
    lines.append(_("Severity: {severity}. Reads: {inputs}.").format(
        severity=severity_word(rule.severity), inputs=", ".join(rule.inputs)))
    if rule.refs:
        lines.append(_("Covers: {refs} (P = PITFALLS.md, C/D/E/R/O = FAILURES.md).").format(
            refs=", ".join(rule.refs)))
    if fix:
        lines.append(_(how.fixes[fix]))
    if rule.thresholds:
        lines.append(_(how.overrides).format(thresholds=_shown(rule.thresholds), code=rule.code))
        for family, changed in family_thresholds(rule).items():
            lines.append(_("Thresholds for {family}: {thresholds} (when the input shows that "
                           "model family; your [doctor] values still win).").format(
                family=NAMES.get(family, family), thresholds=_shown(changed)))
    if rule.supersedes:
        lines.append(_("When it fires it replaces: {codes} (one root cause instead of several "
                       "symptoms).").format(codes=", ".join(rule.supersedes)))
    for key, heading in HEADINGS:
        text = rule.text(key)
        if text:
            lines += ["", f"## {_(heading)}", text.strip()]
    return "\n".join(lines)


def _shown(thresholds: dict) -> str:
    return ", ".join(f"{name} = {value!r}" for name, value in thresholds.items())

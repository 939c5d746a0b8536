"""`loratui rule CODE`: a rule's explanation, ruff style."""

from __future__ import annotations

from loratui.doctor.catalog import Rule

HEADINGS = (("what", "What it does"), ("why", "Why is this bad?"), ("example", "Example"),
            ("fix_safety", "Fix safety"))


def explain_rule(rule: Rule) -> str:
    lines = [f"# {rule.name} ({rule.code})", ""]
    fix = (rule.fix or {}).get("applicability")
    lines.append(f"Severity: {rule.severity}. Reads: {', '.join(rule.inputs)}.")
    if rule.refs:
        lines.append(f"Covers: {', '.join(rule.refs)} "
                     "(P = PITFALLS.md, C/D/E/R/O = FAILURES.md).")
    if fix:
        lines.append({"safe": "Fix: safe, applied by --fix.",
                      "unsafe": "Fix: unsafe, applied only with --unsafe-fixes.",
                      "display-only": "Fix: advice only (shown, never applied)."}[fix])
    if rule.thresholds:
        shown = ", ".join(f"{k} = {v!r}" for k, v in rule.thresholds.items())
        lines.append(f"Thresholds: {shown} (override in loratui.toml [doctor] or "
                     f"with --set {rule.code}.NAME=VALUE).")
    if rule.supersedes:
        lines.append(f"When it fires it replaces: {', '.join(rule.supersedes)} "
                     "(one root cause instead of several symptoms).")
    for key, heading in HEADINGS:
        text = rule.explain.get(key)
        if text:
            lines += ["", f"## {heading}", text.strip()]
    return "\n".join(lines)

"""Human-readable documentation of the run-config fields (docs/config.md, `config fields`)."""

from __future__ import annotations

from typing import Any

from .model import field_docs


def range_text(row: dict[str, Any]) -> str:
    """'[1, 1024]', '(0.0, 10.0]', 'one of no, fp16, bf16', '' — from a field_docs() row."""
    from loratui.i18n import N_, Message

    b = row["bounds"]
    parts: list[str] = []
    lo, hi = b.get("ge", b.get("gt")), b.get("le", b.get("lt"))
    if lo is not None or hi is not None:
        left = "[" if "ge" in b else "("
        right = "]" if "le" in b else ")"
        parts.append(f"{left}{'' if lo is None else lo}, {'' if hi is None else hi}{right}")
    if "multiple_of" in b:
        parts.append(Message(N_("multiple of {n}"), n=b["multiple_of"]))
    if row["choices"]:
        parts.append(Message(N_("one of {choices}"), choices=", ".join(map(str, row["choices"]))))
    if not parts:
        return ""
    text = parts[0]
    for part in parts[1:]:   # English and Chinese both separate them with "; "
        text = Message("{first}; {second}", first=text, second=part)
    return text


def fields_markdown() -> str:
    lines = [
        "# loratui.toml reference",
        "",
        "Generated from `loratui/config/model.py` by `loratui config fields --markdown`;",
        "a test keeps this file in sync. Pitfall numbers refer to PITFALLS.md (P1–P34).",
        "",
        "| key | type | default | unit | allowed | pitfalls | meaning |",
        "|---|---|---|---|---|---|---|",
    ]
    for row in field_docs():
        default = row["default"]
        shown = "(= rank)" if row["key"] == "network.alpha" else f"`{default!r}`"
        lines.append(
            f"| `{row['key']}` | {row['type']} | {shown} | {row['unit']} | "
            f"{range_text(row).replace('|', '/')} | {' '.join(row['pitfalls'])} | "
            f"{row['description'].replace('|', '/')} |"
        )
    return "\n".join(lines) + "\n"

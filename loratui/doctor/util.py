"""Small helpers shared by the doctor's parsers and predicates."""

from __future__ import annotations

import re


def parse_gb(text: str) -> float:
    """'8GB', '8 gb', '8', '7.6GiB', '12G', '8192MB' → gigabytes."""
    m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*(g|gb|gib|m|mb|mib)?\s*", str(text), re.IGNORECASE)
    if not m:
        raise ValueError(f"cannot read {text!r} as a memory size; write it like 8GB")
    value = float(m.group(1))
    if (m.group(2) or "").lower().startswith("m"):
        value /= 1024
    return value

"""The runs `loratui watch` has followed, so `loratui runs` can list them beside
loratui's own: a small JSON file, `$XDG_STATE_HOME/loratui/watched.json`
(~/.local/state/loratui/ by default), rewritten atomically, the newest 50 kept.

Entry: {path, trainer, first_seen, last_seen, last_state, last_step, max_steps}
(times ISO 8601 UTC). A damaged file reads as empty and is replaced on the next write.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from loratui.watch.progress import utc_now

MAX_ENTRIES = 50
FILE_NAME = "watched.json"
FIELDS = ("path", "trainer", "first_seen", "last_seen", "last_state", "last_step",
          "max_steps")


def registry_path() -> Path:
    base = os.environ.get("XDG_STATE_HOME") or os.path.join(os.path.expanduser("~"), ".local",
                                                             "state")
    return Path(base) / "loratui" / FILE_NAME


def load(path: Path | None = None) -> list[dict[str, Any]]:
    """Entries, newest (last seen) first."""
    path = path or registry_path()
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError, RecursionError):
        return []
    entries = data.get("watched") if isinstance(data, dict) else None
    if not isinstance(entries, list):
        return []
    good = [{k: e.get(k) for k in FIELDS} for e in entries
            if isinstance(e, dict) and isinstance(e.get("path"), str)]
    return sorted(good, key=lambda e: str(e.get("last_seen") or ""), reverse=True)


def record(state: dict[str, Any], path: Path | None = None) -> None:
    """Add or update the entry of `state["source"]` (a watch's state dict). Never fails
    the watch: a registry that cannot be written is skipped."""
    source = state.get("source")
    if not isinstance(source, str) or source == "-":
        return
    source = os.path.abspath(source)
    path = path or registry_path()
    entries = load(path)
    now = utc_now()
    old = next((e for e in entries if e["path"] == source), None)
    entry = {"path": source, "trainer": state.get("trainer"),
             "first_seen": (old or {}).get("first_seen") or now, "last_seen": now,
             "last_state": state.get("state"), "last_step": state.get("step"),
             "max_steps": state.get("max_steps")}
    entries = [entry] + [e for e in entries if e["path"] != source]
    # ASCII escapes: a path's undecodable bytes (\udcff) go into UTF-8 and come back as they were
    text = json.dumps({"watched": entries[:MAX_ENTRIES]}, indent=1)
    try:
        from loratui.atomic import atomic_write_text

        atomic_write_text(path, text + "\n")
    except OSError:
        pass

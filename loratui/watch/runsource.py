"""loratui's own run folders, through the same interface: the run folder's followers
(what the wizard's `RunPoller` reads), state.json for the state."""

from __future__ import annotations

from typing import Any

from loratui.i18n import N_, Message
from loratui.runs import RunFolder
from loratui.watch.doctor_live import LiveDoctor
from loratui.watch.source import WatchSource

# loratui's run states → the watch's five
STATE_MAP = {"created": "running", "starting": "running", "loading": "running",
             "caching": "running", "running": "running", "saving": "running",
             "finished": "finished", "failed": "failed", "crashed": "failed",
             "interrupted": "failed"}


class RunFolderSource(WatchSource):
    def __init__(self, run: RunFolder) -> None:
        super().__init__(str(run.path), "loratui", sample_dirs=[run.path / "samples"])
        self.run = run
        self.metrics = run.follow_metrics()
        self.events = run.follow_events()
        self.doctor = LiveDoctor(run.name)
        self.run_state: dict[str, Any] = {}

    def _read(self):
        rows, events = self.metrics.poll(), self.events.poll()
        self.run_state = self.run.state()
        for ev in events:
            ev.setdefault("event", ev.get("type"))
        events += self.doctor.check_rows(rows)
        return rows, events

    def state(self) -> dict[str, Any]:
        st = super().state()
        rs = self.run_state
        if rs:
            st["state"] = STATE_MAP.get(str(rs.get("state")), "unknown")
            st["run_state"] = rs.get("state")
            st["step"] = rs.get("step", st["step"]) if not self.last_row else st["step"]
            st["max_steps"] = st["max_steps"] or rs.get("max_steps")
            st["epoch"] = st["epoch"] if st["epoch"] is not None else rs.get("epoch")
            if isinstance(rs.get("pid"), int):
                st["pid"] = rs["pid"]
            if rs.get("error"):
                st["error"] = rs["error"]
            elif rs.get("state") == "interrupted":
                st["error"] = Message(N_("interrupted (resumable)")) if rs.get("resumable") \
                    else Message(N_("interrupted"))
        self.state_name = st["state"]
        self.ended = st["state"] in ("finished", "failed")  # state.json is the last word
        return st

    def _judge_end(self, now: float):
        return []  # state.json says how the run ended

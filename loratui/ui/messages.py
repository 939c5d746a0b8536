"""Small messages that workers post to the screens (they never touch widgets)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from textual.message import Message
from textual.message_pump import MessagePump
from textual.worker import get_current_worker


@dataclass
class RunUpdate(Message):
    """What a run-folder poll found: new metric and event rows, the current state."""

    run_path: str
    metrics: list[dict[str, Any]] = field(default_factory=list)
    events: list[dict[str, Any]] = field(default_factory=list)
    state: dict[str, Any] = field(default_factory=dict)
    samples: list[str] = field(default_factory=list)


@dataclass
class GpuUpdate(Message):
    """A GPU usage sample (replaces a queued one: only the newest matters)."""

    text: str

    def can_replace(self, message: Message) -> bool:
        return isinstance(message, GpuUpdate)


@dataclass
class Progress(Message):
    """Progress of a long task (scan, prepare, captioning); newer replaces queued."""

    task: str
    done: int
    total: int | None
    detail: str = ""

    def can_replace(self, message: Message) -> bool:
        return isinstance(message, Progress) and message.task == self.task


@dataclass
class TaskDone(Message):
    """A long task finished; `result` is what the core returned. Posted after its
    Progress messages, so handlers see them in order."""

    task: str
    result: Any = None
    extra: dict[str, Any] = field(default_factory=dict)


def post_if_current(target: MessagePump, message: Message) -> None:
    """Post from an exclusive worker unless a newer worker of its group has replaced it: a
    result that finishes late must not overwrite the one of the newer input."""
    if not get_current_worker().is_cancelled:
        target.post_message(message)

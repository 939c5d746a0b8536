"""`--notify CMD`: run the user's shell command on each error finding.

The finding goes in environment variables (LORATUI_CODE, LORATUI_TITLE,
LORATUI_MESSAGE, LORATUI_SOURCE, LORATUI_SEVERITY, LORATUI_FIX), never into the
command's text, so a log line cannot inject shell code. The command runs in a thread
with a time limit: a slow or failing one never holds up the watch.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import threading
from typing import Any

from loratui.i18n import N_, Message

TIMEOUT = 30.0


class Notifier:
    def __init__(self, command: str, source: str, *, timeout: float = TIMEOUT,
                 severities: tuple[str, ...] = ("error",)) -> None:
        self.command = command
        self.source = source
        self.timeout = timeout
        self.severities = severities
        self.threads: list[threading.Thread] = []
        self.failures: list[str] = []

    def __call__(self, events: list[dict[str, Any]]) -> None:
        for ev in events:
            if ev.get("type") == "finding" and ev.get("severity") in self.severities:
                t = threading.Thread(target=self._run, args=(ev,), name="watch-notify",
                                     daemon=True)
                t.start()
                self.threads.append(t)
        self.threads = [t for t in self.threads if t.is_alive()]

    def environment(self, ev: dict[str, Any]) -> dict[str, str]:
        env = dict(os.environ)
        env.update({"LORATUI_CODE": str(ev.get("code", "")),
                    "LORATUI_TITLE": str(ev.get("title", "")),
                    "LORATUI_MESSAGE": str(ev.get("message", "")),
                    "LORATUI_SEVERITY": str(ev.get("severity", "")),
                    "LORATUI_FIX": str(ev.get("fix", "")),
                    "LORATUI_SOURCE": self.source})
        return {k: v.replace("\x00", "") for k, v in env.items()}

    def _run(self, ev: dict[str, Any]) -> None:
        try:
            proc = subprocess.Popen(self.command, shell=True, env=self.environment(ev),
                                    stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                    stderr=subprocess.PIPE, start_new_session=True)
        except OSError as exc:
            self._failed(Message(N_("cannot be started ({error})"), error=str(exc)))
            return
        try:
            _out, err = proc.communicate(timeout=self.timeout)
        except subprocess.TimeoutExpired:
            _kill_group(proc)
            self._failed(Message(N_("still running after {seconds} s; stopped"),
                                 seconds=f"{self.timeout:g}"))
            return
        if proc.returncode != 0:
            self._failed(Message(N_("exited with status {status}: {error}"),
                                 status=proc.returncode,
                                 error=err.decode(errors="replace").strip()[:200]))

    def _failed(self, why: Message) -> None:
        msg = Message(N_("--notify command {problem}"), problem=why)
        self.failures.append(f"loratui watch: {msg}")
        print(f"loratui watch: {msg.localized()}", file=sys.stderr)

    def wait(self, timeout: float = 5.0) -> None:
        """Let running commands finish (at exit), up to `timeout` in all."""
        for t in self.threads:
            t.join(timeout)


def _kill_group(proc: subprocess.Popen) -> None:
    """Stop the shell and what it started (its own session)."""
    try:
        if hasattr(os, "killpg"):
            os.killpg(proc.pid, 9)
        else:
            proc.kill()
    except OSError:
        pass
    with contextlib.suppress(subprocess.TimeoutExpired, OSError, ValueError):
        proc.communicate(timeout=5)

"""The real wizard in other people's terminals (tmux): TERM=linux, xterm (8 colours),
screen-256color, no TERM at all; a Chinese locale; a server's bare C locale, where the wizard drew
`\\u25c6`-style escapes that broke its layout; a terminal smaller than 80×24, resized
to 200×60 and back while a run is live. Skipped when tmux is not installed."""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from pathlib import Path

import pytest
from test_ui_tmux import REPO, Tmux, loratui_command
from ui_helpers import write_run

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed"),
]


class SizedTmux(Tmux):
    def start_sized(self, command: list[str], cwd: Path, env: dict[str, str | None],
                    columns: int, rows: int) -> None:
        """`command` in a new session of `columns` x `rows`; a None in `env` unsets it."""
        unset = " ".join(f"-u {k}" for k, v in env.items() if v is None)
        exports = " ".join(f"{k}={v!r}" for k, v in env.items() if v is not None)
        line = f"cd {str(cwd)!r} && env {unset} {exports} {' '.join(map(repr, command))}; " \
               "echo EXIT=$?; sleep 600"
        subprocess.run([*self.base, "new-session", "-d", "-s", self.name, "-x", str(columns),
                        "-y", str(rows), line], check=True)

    def resize(self, columns: int, rows: int) -> None:
        self.run("resize-window", "-t", self.name, "-x", str(columns), "-y", str(rows))


def tui_env(**env: str | None) -> dict[str, str | None]:
    base: dict[str, str | None] = {
        "PYTHONPATH": str(REPO), "HF_HUB_OFFLINE": "1", "TEXTUAL_ANIMATIONS": "none",
        "LORATUI_FAKE_GPU": "", "TERM": "xterm-256color", "LANG": "C.UTF-8",
        "LC_ALL": None, "LORATUI_LANG": None, "PYTHONIOENCODING": None,
        "XDG_STATE_HOME": os.environ.get("XDG_STATE_HOME")}
    base.update(env)
    return base


@pytest.fixture
def sized_tmux(tmp_path: Path):
    socket = tmp_path / "tmux.sock"
    yield lambda name: SizedTmux(name, socket)
    subprocess.run(["tmux", "-S", str(socket), "kill-server"], capture_output=True,
                   check=False)


def wait_until(t: SizedTmux, ready, timeout: float = 30.0) -> str:
    deadline = time.monotonic() + timeout
    while True:
        screen = t.screen()
        assert "Traceback" not in screen, screen
        if ready(screen):
            return screen
        assert time.monotonic() < deadline, screen
        time.sleep(0.3)


TERMINALS = {   # session: (environment, what its Start step shows)
    "linux": ({"TERM": "linux"}, "1/8 Start › Dataset"),
    "xterm": ({"TERM": "xterm"}, "1/8 Start › Dataset"),
    "screen-zh": ({"TERM": "screen-256color", "LANG": "zh_CN.UTF-8"}, "1/8 开始 › 数据集"),
    "c-locale": ({"LANG": "C", "LC_ALL": "C", "PYTHONUTF8": "0"}, "1/8 Start > Dataset"),
    "no-term": ({"TERM": None}, "1/8 Start › Dataset"),      # TERM unset
}


def test_the_wizard_in_other_terminals(tmp_path, sized_tmux) -> None:
    sessions = {}
    for name, (env, _shown) in TERMINALS.items():
        sessions[name] = sized_tmux(name)
        sessions[name].start_sized([*loratui_command(), "wizard", str(tmp_path)], tmp_path,
                                   tui_env(**env), 100, 30)
    for name, (_env, shown) in TERMINALS.items():
        screen = sessions[name].wait_for(shown, timeout=90)
        assert "\\u" not in screen, screen          # no escapes where characters belong
        sessions[name].keys("C-q")
        sessions[name].wait_for("EXIT=0", timeout=30)


def test_a_small_terminal_resized_during_a_live_run(tmp_path, sized_tmux) -> None:
    """With COLUMNS and LINES exported by the shell (as some profiles and CI do): the
    wizard took them for the window's size, 80×24 in a 40×12 terminal, and kept them
    through every resize."""
    run = write_run(tmp_path / "runs" / "demo-1", steps=300, max_steps=800)
    t = sized_tmux("small")
    t.start_sized([*loratui_command(), "wizard", str(tmp_path), "--run", str(run)], tmp_path,
                  tui_env(COLUMNS="80", LINES="24"), 40, 12)
    screen = t.wait_for("40×12", timeout=90)
    assert "80×24" in screen
    for columns, rows in ((200, 60), (60, 20), (30, 8), (120, 40)):
        t.resize(columns, rows)
    t.resize(200, 60)
    screen = wait_until(t, lambda screen: "300/800" in screen and "80×24" not in screen)
    assert "6/8 Start › Dataset › Captions › Trigger › Parameters › Train" in screen
    t.resize(60, 20)
    t.wait_for("60×20", timeout=30)
    t.keys("C-q")
    t.wait_for("EXIT=0", timeout=30)

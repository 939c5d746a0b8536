"""`loratui ARGV` in a subprocess with the environment of another person's terminal: a
locale, an output encoding, TERM, NO_COLOR, COLUMNS; its output piped, or on a
pseudo-terminal of a given size (what a user's terminal is to the program)."""

from __future__ import annotations

import os
import select
import subprocess
import sys

# what the caller's own terminal would add to every run
CLEARED = ("LANG", "LANGUAGE", "LC_ALL", "LC_CTYPE", "LC_MESSAGES", "PYTHONIOENCODING",
           "PYTHONUTF8", "LORATUI_LANG", "NO_COLOR", "FORCE_COLOR", "CLICOLOR_FORCE", "COLUMNS",
           "LINES", "TERM", "COLORTERM", "TEXTUAL_COLOR_SYSTEM")

C_LOCALE = {"PYTHONUTF8": "0", "LC_ALL": "C", "LANG": "C"}   # a server's bare locale
NOT_UTF8 = {"C": C_LOCALE, "ascii": {"PYTHONIOENCODING": "ascii"},
            "latin-1": {"PYTHONIOENCODING": "latin-1"}}


def environment(**env: str) -> dict[str, str]:
    """The test's environment without the caller's terminal settings, plus `env`
    (a value of None removes the variable)."""
    out = {k: v for k, v in os.environ.items() if k not in CLEARED}
    out.update({"LORATUI_FAKE_GPU": "", "TERM": "xterm-256color"})
    out.update(env)
    return {k: v for k, v in out.items() if v is not None}


def command(*args: str) -> list[str]:
    return [sys.executable, "-m", "loratui", *map(str, args)]


def run_piped(*args: str, cwd=None, stdin=subprocess.DEVNULL, **env: str
              ) -> subprocess.CompletedProcess:
    """stdout and stderr as bytes (what a file receives)."""
    return subprocess.run(command(*args), cwd=cwd, env=environment(**env), stdin=stdin,
                          capture_output=True, timeout=120)


def run_on_tty(*args: str, cwd=None, columns: int = 80, rows: int = 24, **env: str
               ) -> tuple[int, bytes]:
    """(exit status, everything written) with stdin, stdout and stderr on a
    pseudo-terminal of `columns` x `rows`."""
    import fcntl
    import pty
    import struct
    import termios

    main_fd, tty_fd = pty.openpty()
    fcntl.ioctl(tty_fd, termios.TIOCSWINSZ, struct.pack("HHHH", rows, columns, 0, 0))
    proc = subprocess.Popen(command(*args), cwd=cwd, env=environment(**env), stdin=tty_fd,
                            stdout=tty_fd, stderr=tty_fd, close_fds=True)
    os.close(tty_fd)
    out = b""
    try:
        while select.select([main_fd], [], [], 60)[0]:
            try:
                chunk = os.read(main_fd, 65536)
            except OSError:        # the process closed the terminal
                break
            if not chunk:
                break
            out += chunk
    finally:
        if proc.poll() is None:
            proc.kill()
        code = proc.wait(timeout=30)
        os.close(main_fd)
    return code, out

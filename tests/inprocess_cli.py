"""`loratui ARGV` run in this process, its output captured (faster than a subprocess for
tests that run many commands)."""

from __future__ import annotations

import contextlib
import io

from loratui import cli


def run_in_process(argv: list[str], monkeypatch, columns: int = 100,
                   **env: str) -> tuple[int, str, str]:
    """(exit status, stdout, stderr); no GPU is detected, `env` is set first."""
    monkeypatch.setenv("COLUMNS", str(columns))
    monkeypatch.setenv("LORATUI_FAKE_GPU", "")
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = cli.main(argv)
        except SystemExit as exc:
            code = exc.code
    return code, out.getvalue(), err.getvalue()

"""The wizard started where it cannot run: stdin from /dev/null or a pipe (`loratui <
/dev/null`, `echo | loratui`, ssh without a terminal), stdout into a pipe (`loratui |
cat`). One clear message and exit 2, at once; before, Textual drew into the pipe and
waited for keys forever."""

from __future__ import annotations

import os
import subprocess

import pytest

from tests.terminal_run import command, environment, run_piped


def assert_refused(code: int, stderr: bytes, streams: str) -> None:
    text = stderr.decode()
    assert code == 2, text
    assert "Traceback" not in text and "\x1b[" not in text
    lines = text.strip().splitlines()
    assert len(lines) == 1, text
    assert f"needs an interactive terminal, but its {streams}" in lines[0]
    assert "ssh -t" in lines[0] and "loratui doctor" in lines[0]


@pytest.mark.parametrize("argv", [(), ("wizard",), ("wizard", "--run", "runs/x")])
def test_stdin_from_dev_null(tmp_path, argv):
    r = run_piped(*argv, cwd=tmp_path)            # stdin /dev/null, stdout and stderr pipes
    assert_refused(r.returncode, r.stderr, "stdin, stdout, stderr are")
    assert r.stdout == b""


def test_stdin_from_a_pipe(tmp_path):
    r = subprocess.run(command(), cwd=tmp_path, env=environment(), input=b"\n",
                       capture_output=True, timeout=60)
    assert_refused(r.returncode, r.stderr, "stdin, stdout, stderr are")


def test_stdout_into_a_pipe(tmp_path):
    """`loratui | cat` from a terminal: only stdout is a pipe."""
    import pty

    main_fd, tty_fd = pty.openpty()
    proc = subprocess.Popen(command(), cwd=tmp_path, env=environment(), stdin=tty_fd,
                            stdout=subprocess.PIPE, stderr=tty_fd, close_fds=True)
    os.close(tty_fd)
    try:
        out, _ = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    seen = b""
    try:
        while chunk := os.read(main_fd, 65536):
            seen += chunk
    except OSError:
        pass
    os.close(main_fd)
    assert_refused(proc.returncode, seen, "stdout is")
    assert out == b""


def test_demo_is_not_built_for_a_wizard_that_cannot_open(tmp_path):
    r = run_piped("demo", "--dir", "demo", cwd=tmp_path)
    assert_refused(r.returncode, r.stderr, "stdin, stdout, stderr are")
    assert not (tmp_path / "demo").exists()


def test_in_chinese(tmp_path):
    r = run_piped("--lang", "zh", cwd=tmp_path, LANG="C.UTF-8")
    assert r.returncode == 2
    assert "向导需要一个交互式终端" in r.stderr.decode()

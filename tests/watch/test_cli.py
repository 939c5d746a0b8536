"""`loratui watch` as users run it: a real process, real files, real pipes."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from tests.trainer_streams import sd_scripts


def loratui(*args, stdin=None, env=None, cwd=None, timeout=60):
    full_env = {**os.environ, **(env or {})}
    return subprocess.run([sys.executable, "-m", "loratui", *map(str, args)], input=stdin,
                          env=full_env, cwd=cwd, capture_output=True, timeout=timeout)


def test_once_json_prints_the_state(tmp_path):
    stream = sd_scripts(steps=30, epochs=2, nan_at=20)
    log = tmp_path / "train.log"
    log.write_bytes(stream.data)
    state_home = tmp_path / "state"
    r = loratui("watch", log, "--once", "--json", env={"XDG_STATE_HOME": str(state_home)})
    assert r.returncode == 0, r.stderr
    snap = json.loads(r.stdout)
    assert (snap["state"], snap["step"], snap["max_steps"], snap["epoch"]) == \
        ("finished", 30, 30, 2)
    assert snap["trainer"] == "sd-scripts" and snap["source"] == str(log)
    assert snap["last"]["loss_avg"] == "nan"  # JSON has no NaN: spelled out
    assert [f["code"] for f in snap["findings"]] == ["LG101"]
    watched = json.loads((state_home / "loratui" / "watched.json").read_text())["watched"]
    assert watched[0]["path"] == str(log) and watched[0]["last_step"] == 30


def test_stdin_pipe(tmp_path):
    stream = sd_scripts(steps=20, epochs=2)
    r = loratui("watch", "-", "--once", "--json", stdin=stream.data)
    assert r.returncode == 0, r.stderr
    snap = json.loads(r.stdout)
    assert snap["state"] == "finished" and snap["step"] == 20 and snap["source"] == "-"


def test_bad_path_is_one_line_and_exit_2(tmp_path):
    r = loratui("watch", tmp_path / "nope.log", "--once", "--json")
    assert r.returncode == 2 and r.stdout == b""
    err = r.stderr.decode()
    assert err.count("\n") == 1 and "nope.log" in err and "Traceback" not in err
    empty = tmp_path / "empty_dir"
    empty.mkdir()
    r = loratui("watch", empty, "--once")
    assert r.returncode == 2 and "no training log" in r.stderr.decode()


@pytest.mark.parametrize("command", [["watch", "{log}", "--once", "--json"],
                                     ["doctor", "{log}"]])
def test_watching_or_diagnosing_a_log_imports_nothing_heavy(tmp_path, command):
    log = tmp_path / "train.log"
    log.write_bytes(sd_scripts(steps=30, epochs=3, rise=0.04).data)
    args = [a.format(log=log) for a in command]
    code = ("import sys, runpy; sys.argv = ['loratui', *%r]\n"
            "try:\n    runpy.run_module('loratui', run_name='__main__')\n"
            "except SystemExit:\n    pass\n"
            "print('HEAVY:', [m for m in ('torch', 'tensorboard', 'textual', 'diffusers') "
            "if m in sys.modules], file=sys.stderr)" % args)
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert "HEAVY: []" in r.stderr, r.stderr[-2000:]


def test_notify_gets_the_finding_as_data_never_as_shell(tmp_path):
    out = tmp_path / "notified.txt"
    stream = sd_scripts(steps=20, epochs=2)
    # a hostile folder name the finding quotes: it must reach the command as text only
    hostile = b"ValueError: invalid literal for int() with base 10: '$(touch pwned)`touch pwned2`'\n"
    data = stream.data.replace(b"running training", hostile + b"running training")
    log = tmp_path / "train.log"
    log.write_bytes(data)
    cmd = (f'printf "%s|%s|%s|%s\\n" "$LORATUI_CODE" "$LORATUI_TITLE" "$LORATUI_SOURCE" '
           f'"$LORATUI_MESSAGE" >> "{out}"')
    r = loratui("watch", log, "--once", "--notify", cmd, cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    lines = out.read_text().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"LG105|Folder name not repeats|{log}|")
    assert "$(touch pwned)`touch pwned2`" in lines[0]
    assert not (tmp_path / "pwned").exists() and not (tmp_path / "pwned2").exists()


def test_a_failing_or_slow_notify_never_stops_the_watch(tmp_path):
    log = tmp_path / "train.log"
    log.write_bytes(sd_scripts(steps=20, epochs=2, nan_at=5).data)
    from loratui.watch import open_source
    from loratui.watch.notify import Notifier

    source = open_source(log)
    slow = Notifier("sleep 30", str(log), timeout=0.5)
    failing = Notifier("exit 3", str(log))
    _rows, events, _st, _s = source.poll()
    slow(events)
    failing(events)
    slow.wait(5)
    failing.wait(5)
    assert any("still running" in f for f in slow.failures)
    assert any("status 3" in f for f in failing.failures)


def test_once_view_in_chinese(tmp_path):
    """The live view's labels and state follow --lang; numbers, codes and paths stay."""
    stream = sd_scripts(steps=30, epochs=2)
    log = tmp_path / "train.log"
    log.write_bytes(stream.data)
    env = {"XDG_STATE_HOME": str(tmp_path / "state"), "COLUMNS": "120", "NO_COLOR": "1"}
    r = loratui("--lang", "zh", "watch", log, "--once", env=env)
    assert r.returncode == 0, r.stderr
    out = r.stdout.decode()
    assert "状态" in out and "已完成" in out and "第 2 轮" in out and "平均" in out
    assert "finished" not in out and "epoch" not in out
    english = loratui("--lang", "en", "watch", log, "--once", env=env).stdout.decode()
    assert "finished" in english and "epoch 2" in english


def test_watch_stdin_from_a_terminal_says_to_pipe_it_in(tmp_path):
    """`loratui watch -` typed at a terminal waited, silent, for keyboard input."""
    from tests.terminal_run import run_on_tty

    code, out = run_on_tty("watch", "--once", "-", cwd=tmp_path, LANG="C.UTF-8")
    assert code == 2
    assert b"pipe it in" in out and b"Traceback" not in out


def test_once_json_is_valid_for_a_log_whose_name_is_not_utf8(tmp_path):
    """A file name's undecodable byte reached stdout as a bare `\\xff` (invalid JSON), and
    the watched-runs list refused the name as "a file is not UTF-8 text"."""
    if sys.platform == "darwin":
        pytest.skip("macOS file systems refuse names that are not UTF-8")
    log = tmp_path / os.fsdecode(b"run-\xff.log")
    log.write_bytes(sd_scripts(steps=10, epochs=1).data)
    state_home = tmp_path / "state"
    r = loratui("watch", log, "--once", "--json", env={"XDG_STATE_HOME": str(state_home)})
    assert r.returncode == 0, r.stderr
    snap = json.loads(r.stdout)
    assert snap["step"] == 10 and snap["source"].startswith(str(tmp_path))
    watched = json.loads((state_home / "loratui" / "watched.json").read_text())["watched"]
    assert watched[0]["path"] == str(log)  # the same bytes, to watch again

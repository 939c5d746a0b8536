"""One set of terminal escape sequences, dropped alike by the doctor's log view, its
command finder and traceback reader, and the watch's line splitter."""

from __future__ import annotations

import pytest

from loratui.doctor.util import ANSI

RAW = ("\x1b]0;kohya_ss\x07\x1b7\x1b[2;36m2024-05-01 10:00:01\x1b[0m \x1b[34mINFO    \x1b[0m "
       "prepare tokenizer\x1b8\x1b[?25l\x1b[A\x1b=")


def test_every_kind_of_escape_is_dropped():
    assert ANSI.sub("", RAW) == "2024-05-01 10:00:01 INFO     prepare tokenizer"


@pytest.mark.parametrize("reader", ["log", "watch"])
def test_readers_show_the_line_without_escapes(tmp_path, reader):
    data = (RAW + "\nsteps:  50%|█████     | 1/2 [00:01<00:01,  1.00s/it, avr_loss=0.1]\n")
    if reader == "log":
        from loratui.doctor.inputs.log import LogData

        log = LogData("x.log", data.encode())
        lines = [line.text for line, _ in log.lines_with(["prepare"])]
    else:
        from loratui.watch.tail import Segments

        lines = Segments().feed(data.encode())
    assert "2024-05-01 10:00:01 INFO     prepare tokenizer" in [x.strip() for x in lines]

from __future__ import annotations

import math

from tests.trainer_streams import replay


def follow_growing(tmp_path, data: bytes, *, trainer=None, name="train.log", seed=0,
                   max_chunk=700):
    """Replay `data` into a growing log while a source polls it; all it returned."""
    from loratui.watch import open_source

    log = tmp_path / name
    log.write_bytes(b"")
    source = open_source(log, trainer=trainer)
    rows, events, states = [], [], []

    def poll():
        r, e, st, _s = source.poll()
        rows.extend(r)
        events.extend(e)
        states.append(st)

    with open(log, "ab") as fh:
        def write(chunk):
            fh.write(chunk)
            fh.flush()
        replay(data, write, poll, seed=seed, max_chunk=max_chunk)
    poll()
    poll()  # one quiet poll: the rules that wait for the stream to stop
    return source, rows, events, states


def same(a, b, rel=1e-6) -> bool:
    if isinstance(a, float) and math.isnan(a):
        return isinstance(b, float) and math.isnan(b)
    return math.isclose(a, b, rel_tol=rel)


def findings(events, code=None):
    return [e for e in events if e.get("type") == "finding" and (code is None or e["code"] == code)]

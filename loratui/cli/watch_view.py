"""The `loratui watch` live view (rich): state, progress, loss sparkline, findings."""

from __future__ import annotations

import math
import sys
import time
from typing import Any

from loratui.cli.attach_view import sparkline
from loratui.i18n import _, localized, width
from loratui.runs import state_name
from loratui.watch import shown
from loratui.wording import format_duration

SEVERITY_STYLE = {"error": "bold red", "warning": "yellow", "info": "cyan"}
STATE_STYLE = {"running": "green", "finished": "bold green", "failed": "bold red",
               "stalled": "yellow", "unknown": "dim"}


def _num(value: Any, fmt: str) -> str:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return "nan" if isinstance(value, float) and not math.isfinite(value) else \
            format(value, fmt)
    return "–"


def render(snap: dict[str, Any], rows: list[dict[str, Any]], events: list[dict[str, Any]],
           gpu: str | None = None):
    from rich.console import Group
    from rich.panel import Panel
    from rich.table import Table
    from rich.text import Text

    last = rows[-1] if rows else snap.get("last") or {}
    step, max_steps = snap.get("step") or 0, snap.get("max_steps")
    info = Table.grid(padding=(0, 2))
    info.add_column(style="bold")
    info.add_column()
    state = snap.get("state", "unknown")
    line = Text(state_name(state), style=STATE_STYLE.get(state, ""))
    line.append(f"   {snap.get('trainer') or _('unknown')}")
    if snap.get("pid"):
        line.append(f"   pid {snap['pid']}")
    if snap.get("error"):
        line.append(f"   {localized(snap['error'])}", style="red")
    info.add_row(_("state"), line)
    sec = last.get("sec_per_step")
    speed = (f"{1 / sec:.2f} it/s" if sec < 1 else f"{sec:.2f} s/it") if \
        isinstance(sec, (int, float)) and sec > 0 else "–"
    info.add_row(_("step"), f"{step}/{max_steps or '?'}   " + _("epoch {epoch}").format(
        epoch=snap.get("epoch") or "?") + f"   {speed}   ETA {format_duration(last.get('eta_s'))}")
    info.add_row("loss", f"{_num(last.get('loss'), '.4f')}   " + _("avg {value}").format(
        value=_num(last.get("loss_avg"), ".4f")))
    lr = _num(last.get("lr_unet"), ".2e")
    if last.get("lr_te"):
        lr += f"   te {_num(last.get('lr_te'), '.2e')}"
    info.add_row("lr", lr)
    if gpu:
        info.add_row("GPU", gpu)
    parts: list[Any] = [info]
    if isinstance(max_steps, int) and max_steps > 0:
        done = max(0.0, min(1.0, step / max_steps))
        parts.append(Text.assemble(("━" * round(done * 50), "green"),
                                   ("─" * (50 - round(done * 50)), "dim"), f" {done:4.0%}"))
    for key, label in (("loss", "loss"), ("loss_avg", _("loss avg"))):
        spark = sparkline([r.get(key) for r in rows])
        if spark:
            parts.append(Text(f"{label}{' ' * max(0, 8 - width(label))}  {spark}",
                              style="cyan"))
    findings = snap.get("findings") or []
    if findings:
        table = Table.grid(padding=(0, 1))
        for f in findings[-6:]:
            table.add_row(Text(f.get("code", ""), style=SEVERITY_STYLE.get(f.get("severity"),
                                                                             "")),
                          Text(f"{shown(f, 'title')}: {shown(f, 'message')}"[:160]))
            if shown(f, "fix"):
                table.add_row("", Text(_("fix: {fix}").format(fix=shown(f, "fix"))[:160],
                                       style="dim"))
        parts.append(Panel(table, title=_("doctor"), title_align="left"))
    other = [e for e in events if e.get("type") not in ("finding",)][-4:]
    if other:
        table = Table.grid(padding=(0, 1))
        for e in other:
            table.add_row(str(e.get("time", ""))[11:19], e.get("type", ""),
                          Text(str(localized(e.get("message", "")))[:120]))
        parts.append(Panel(table, title=_("events"), title_align="left"))
    samples = snap.get("samples") or []
    if samples:
        parts.append(Text(_("samples: {n} shown, newest {path}").format(
            n=len(samples), path=samples[-1]), style="dim"))
    return Panel(Group(*parts), title="[bold]loratui watch[/]", subtitle="stdin" if snap.get("source") == "-" else snap.get("source"),
                 title_align="left")


def gpu_line(gpu, state: dict[str, Any]) -> str | None:
    """The GPU's memory and use, and what the run's process holds (found by its PID)."""
    usage = gpu.sample() if gpu.available else None
    if usage is None:
        return None
    line = usage.summary()
    pid = state.get("pid")
    if isinstance(pid, int):
        from loratui.gpustats import process_gpu_memory

        held = process_gpu_memory(pid, gpu._nvml)
        if held:
            line += "   " + _("the run holds {memory}").format(memory=", ".join(
                _("{gb} GB on GPU {index}").format(gb=f"{b / 1024**3:.1f}", index=i)
                for i, b in held))
    return line


def follow(source, *, interval: float = 0.5, notifier=None) -> int:
    from rich.console import Console
    from rich.live import Live

    from loratui.gpustats import GpuSampler
    from loratui.watch import registry

    rows: list[dict[str, Any]] = []
    events: list[dict[str, Any]] = []
    gpu = GpuSampler()
    console = Console()
    last_record = 0.0
    try:
        with Live(console=console, refresh_per_second=4, transient=False) as live:
            while True:
                new_rows, new_events, state, _samples = source.poll()
                rows = (rows + new_rows)[-2000:]
                events = (events + new_events)[-50:]
                if notifier is not None:
                    notifier(new_events)
                for f in (e for e in new_events if e.get("type") == "finding"):
                    live.console.print(f"[{SEVERITY_STYLE.get(f['severity'], '')}]"
                                       f"{f['code']}[/] {shown(f, 'title')}: "
                                       f"{shown(f, 'message')}",
                                       markup=True, highlight=False)
                live.update(render(source.snapshot(), rows, events, gpu_line(gpu, state)))
                now = time.monotonic()
                if now - last_record > 5:
                    registry.record(state)
                    last_record = now
                if source.ended and state["state"] in ("finished", "failed"):
                    break
                time.sleep(interval)
    except KeyboardInterrupt:
        print(_("stopped watching; the run goes on"), file=sys.stderr)
        registry.record(source.state())
        return 0
    finally:
        gpu.close()
    registry.record(source.state())
    return 0 if source.state()["state"] == "finished" else 1

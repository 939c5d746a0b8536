"""The `loratui attach` live view (rich): progress, loss sparkline, events, log tail."""

from __future__ import annotations

import math
import sys
import time

from loratui.i18n import _, localized
from loratui.runs import TERMINAL_STATES, RunFolder, event_message, event_name, state_name
from loratui.wording import format_duration

BLOCKS = "▁▂▃▄▅▆▇█"


def _finite(v) -> bool:
    return isinstance(v, (int, float)) and math.isfinite(v)


def sparkline(values: list[float], width: int = 60) -> str:
    values = [v for v in values if _finite(v)][-width:]
    if not values:
        return ""
    lo, hi = min(values), max(values)
    span = (hi - lo) or 1.0
    return "".join(BLOCKS[min(7, int((v - lo) / span * 7.999))] for v in values)


def render(run: RunFolder, metrics: list[dict], events: list[dict]):
    from rich.console import Group
    from rich.panel import Panel
    from rich.table import Table
    from rich.text import Text

    st = run.state()
    last = metrics[-1] if metrics else {}
    step = last.get("step", st.get("step", 0)) or 0
    max_steps = last.get("max_steps") or st.get("max_steps") or 0
    info = Table.grid(padding=(0, 2))
    info.add_column(style="bold")
    info.add_column()
    procs = " " + _("×{n} processes").format(n=st["processes"]) \
        if (st.get("processes") or 1) > 1 else ""
    info.add_row(_("state"), state_name(st["state"]) + procs +
                 (f" ({localized(st['error'])})" if st.get("error") else ""))
    info.add_row(_("step"), f"{step}/{max_steps or '?'}   " + _("epoch {epoch}/{epochs}").format(
        epoch=last.get("epoch", "?"), epochs=st.get("epochs", "?")) +
        f"   ETA {format_duration(last.get('eta_s'))}")
    if last:
        lr = f"unet {last.get('lr_unet', 0):.2e}" + (f"  te {last['lr_te']:.2e}"
                                                    if last.get("lr_te") else "")
        info.add_row("loss", f"{last.get('loss', 0):.4f}   " + _("avg {value}").format(
            value=f"{last.get('loss_avg', 0):.4f}"))
        info.add_row("lr", lr)
        speed = f"{last.get('sec_per_step', 0):.2f} s/step"
        if last.get("images_per_sec"):
            speed += f"   {last['images_per_sec']:.2f} img/s"
        if last.get("mem_peak_mb"):
            alloc = last.get("mem_allocated_mb")
            speed += (f"   GPU {alloc:.0f} MiB alloc," if alloc is not None else "   GPU") + \
                f" {last['mem_peak_mb']:.0f} MiB peak"
        info.add_row(_("speed"), speed)
    parts = [info]
    if _finite(max_steps) and max_steps > 0 and _finite(step):
        done = max(0.0, min(1.0, step / max_steps))
        parts.append(Text.assemble(("━" * round(done * 50), "green"),
                                   ("─" * (50 - round(done * 50)), "dim"), f" {done:4.0%}"))
    line = sparkline([m.get("loss_avg") for m in metrics])
    if line:
        parts.append(Text(f"{_('loss avg')}  {line}", style="cyan"))
    if events:
        ev = Table.grid(padding=(0, 1))
        for e in events[-5:]:
            style = {"nan": "red", "oom": "red", "failed": "red", "finished": "green",
                     "interrupted": "yellow", "warning": "yellow"}.get(e.get("type"), "")
            ev.add_row(str(e.get("time", ""))[11:19],
                       Text(event_name(str(e.get("type", ""))), style=style),
                       Text(event_message(e)[:100]))
        parts.append(Panel(ev, title=_("events"), title_align="left"))
    tail = run.log_tail(6)
    if tail:
        parts.append(Panel(Text("\n".join(t[:140] for t in tail), style="dim"),
                           title="train.log", title_align="left"))
    return Panel(Group(*parts), title=f"[bold]{run.name}[/]", subtitle=str(run.path),
                 title_align="left")


def attach(run: RunFolder, *, once: bool = False, interval: float = 0.5) -> int:
    from rich.console import Console
    from rich.live import Live

    metrics_f, events_f = run.follow_metrics(), run.follow_events()
    metrics = metrics_f.poll()[-2000:]
    events = events_f.poll()[-50:]
    console = Console()
    if once:
        console.print(render(run, metrics, events))
        return 0
    try:
        with Live(render(run, metrics, events), console=console, refresh_per_second=4,
                  transient=False) as live:
            while True:
                metrics = (metrics + metrics_f.poll())[-2000:]
                events = (events + events_f.poll())[-50:]
                live.update(render(run, metrics, events))
                if run.state()["state"] in TERMINAL_STATES:
                    break
                time.sleep(interval)
    except KeyboardInterrupt:
        print(_("detached; training goes on. Re-attach: {command}").format(
            command=f"loratui attach {run.path}"), file=sys.stderr)
        return 0
    st = run.state()
    return 0 if st["state"] == "finished" else 1

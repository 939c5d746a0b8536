"""`loratui runs`, `loratui attach`, `loratui stop`: list, follow and stop training runs.

Only reads run folders (`loratui.runs`) and the list of runs `loratui watch` followed
(`loratui.watch.registry`), so it starts fast and never touches torch.
"""

from __future__ import annotations

import argparse
import os
import sys

from loratui.cli import add_command
from loratui.i18n import N_, _, localized

TYPE_CHECKING = False  # (importing typing costs start-up time)

if TYPE_CHECKING:  # pathlib costs ~6 ms of `loratui --help`'s budget; imported where used
    from pathlib import Path

RUNS_EPILOG = N_("""\
examples:
  loratui runs                     runs under ./runs (or loratui.toml's output.dir), then
                                   the other trainers' runs `loratui watch` followed
  loratui runs --dir ~/loras/runs
  loratui runs --json              one list; watched runs have "watched": true
""")
ATTACH_EPILOG = N_("""\
examples:
  loratui attach runs/my_lora-20260101-120000   live view; Ctrl-C detaches, training goes on
  loratui attach my_lora                        newest run whose name starts with my_lora
  loratui attach my_lora --once                 print the view once and exit
""")
STOP_EPILOG = N_("""\
examples:
  loratui stop runs/my_lora-20260101-120000     save a resumable state and stop
  loratui train --resume runs/my_lora-20260101-120000
""")


def register(sub: argparse._SubParsersAction) -> None:
    p = add_command(sub, "runs", help=_("list training runs and their state"), epilog=RUNS_EPILOG)
    _dir_args(p)
    p.add_argument("--json", action="store_true", help=_("print JSON"))
    p.set_defaults(run=run_runs)

    a = add_command(sub, "attach", help=_("follow a training run live (Ctrl-C detaches)"),
                    epilog=ATTACH_EPILOG)
    a.add_argument("run_ref", metavar="RUN", help=_("run folder, or run name under --dir"))
    _dir_args(a)
    a.add_argument("--once", action="store_true", help=_("print the view once and exit"))
    a.add_argument("--interval", type=float, default=0.5, help=_("refresh seconds (default 0.5)"))
    a.set_defaults(run=run_attach)

    s = add_command(sub, "stop", help=_("stop a running training run (it saves a resumable state)"),
                    epilog=STOP_EPILOG)
    s.add_argument("run_ref", metavar="RUN", help=_("run folder, or run name under --dir"))
    _dir_args(s)
    s.set_defaults(run=run_stop)


def _dir_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--dir", metavar="DIR", help=_("folder holding run folders (default: "
                   "output.dir of ./loratui.toml, else ./runs)"))
    p.add_argument("--config", metavar="TOML", help=_("take the runs folder from this config"))


def runs_root(args: argparse.Namespace) -> Path:
    return _runs_root(args).resolve()


def _runs_root(args: argparse.Namespace) -> Path:
    from pathlib import Path

    if args.dir:
        return Path(args.dir).expanduser()
    cfg_path = Path(args.config) if args.config else Path("loratui.toml")
    if cfg_path.is_file():
        try:
            import tomllib
        except ModuleNotFoundError:  # Python 3.10
            import tomli as tomllib
        try:
            out = tomllib.loads(cfg_path.read_text(encoding="utf-8")).get("output", {})
            folder = Path(out.get("dir", "runs")).expanduser()
            return folder if folder.is_absolute() else cfg_path.parent / folder
        except (OSError, ValueError):
            pass
    return Path("runs")


def _find(args):
    from loratui.runs import find_run

    run = find_run(args.run_ref, runs_root(args))
    if run is None:
        print("loratui: " + _("{run}: no such run under {folder} (see `loratui runs`)").format(
            run=args.run_ref, folder=runs_root(args)), file=sys.stderr)
    return run


def watched_rows(skip: set[str]) -> list[dict]:
    """Runs of other trainers that `loratui watch` followed (newest first), as of the last
    look; `skip`: paths already listed as loratui's own runs."""
    from loratui.watch.registry import load

    rows = []
    for entry in load():
        path = entry["path"]
        if os.path.realpath(path) in skip:
            continue
        state = entry.get("last_state") or "unknown"
        if not os.path.exists(path):
            state = "missing"  # the log or folder is gone
        rows.append({"name": os.path.basename(path.rstrip(os.sep)) or path, "path": path,
                     "trainer": entry.get("trainer") or "unknown", "state": state,
                     "step": entry.get("last_step"), "max_steps": entry.get("max_steps"),
                     "first_seen": entry.get("first_seen"),
                     "last_seen": entry.get("last_seen"), "watched": True})
    return rows


def run_runs(args: argparse.Namespace) -> int:

    from loratui.runs import list_runs

    root = runs_root(args)
    rows = [{**r.summary(), "trainer": "loratui", "watched": False} for r in list_runs(root)]
    watched = watched_rows({os.path.realpath(r["path"]) for r in rows})
    if args.json:
        from loratui.userfiles import dumps_json

        print(dumps_json(rows + watched, indent=2))
        return 0
    if not rows:
        print(_("no runs under {folder}").format(folder=root), file=sys.stderr)
    if rows:
        _own_table(rows, root)
    if watched:
        _watched_table(watched)
    return 0


def _own_table(rows: list[dict], root: Path) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title=_("runs in {folder}").format(folder=root), title_justify="left")
    for col in (N_("run"), N_("state"), N_("step"), N_("epoch"), N_("loss avg"), N_("started"),
                N_("LoRA / error")):
        table.add_column(_(col), no_wrap=col in ("run", "started"), overflow="fold")
    for r in rows:
        step = f"{r['step']}/{r['max_steps']}" if r.get("max_steps") else str(r["step"] or 0)
        epoch = f"{r['epoch']}/{r['epochs']}" if r.get("epochs") else str(r["epoch"] or "")
        loss = f"{r['loss_avg']:.4f}" if isinstance(r.get("loss_avg"), float) else ""
        tail = os.path.basename(r["lora"]) if r.get("lora") else \
            str(localized(r.get("error") or ""))[:60]
        state = _state_markup(r["state"])
        if (r.get("processes") or 1) > 1:
            state += f" ×{r['processes']}"
        if r["state"] in ("interrupted", "crashed") and r["resumable"]:
            tail = _("resume: {command}").format(command="loratui train --resume " + r["path"])
        table.add_row(r["name"], state, step, epoch, loss,
                      (r.get("started_at") or "")[5:16].replace("T", " "), tail)
    Console().print(table)


def _watched_table(rows: list[dict]) -> None:
    """Other trainers' runs: their state when loratui last watched them."""
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    table = Table(title=_("watched runs (loratui watch PATH follows one again)"),
                  title_justify="left")
    for col in (N_("trainer"), N_("state"), N_("step"), N_("last seen"), N_("source")):
        table.add_column(_(col), no_wrap=col != "source", overflow="fold")
    for r in rows:
        step = r["step"] if r["step"] is not None else ""
        step = f"{step}/{r['max_steps']}" if r.get("max_steps") else str(step)
        table.add_row(escape(r["trainer"]), _state_markup(r["state"]), step,
                      (r.get("last_seen") or "")[5:16].replace("T", " "), escape(r["path"]))
    Console().print(table)


def _state_markup(state: str) -> str:
    colour = {"finished": "green", "running": "cyan", "failed": "red", "crashed": "red",
              "interrupted": "yellow", "stalled": "yellow", "missing": "red"}.get(state, "white")
    from loratui.runs import state_name

    return f"[{colour}]{state_name(state)}[/]"


def run_attach(args: argparse.Namespace) -> int:
    from loratui.cli.attach_view import attach

    run = _find(args)
    if run is None:
        return 2
    return attach(run, once=args.once, interval=args.interval)


def run_stop(args: argparse.Namespace) -> int:
    import os
    import signal

    run = _find(args)
    if run is None:
        return 2
    st = run.state()
    if st["state"] not in ("starting", "loading", "caching", "running", "saving"):
        from loratui.runs import state_name

        state = state_name(st["state"])
        print("loratui stop: " + _("{run} is {state}, not running").format(
            run=run.path, state=state), file=sys.stderr)
        return 1
    # a group: every trainer process on this machine (they agree on the step to stop at)
    pids = run.local_pids() or [st.get("pid")]
    asked = []
    for pid in pids:
        try:
            os.kill(int(pid), signal.SIGINT)
            asked.append(str(pid))
        except (OSError, TypeError, ValueError) as exc:
            print("loratui stop: " + _("cannot signal pid {pid}: {error}").format(
                pid=pid, error=exc), file=sys.stderr)
    if not asked:
        return 1
    print(_("asked pid {pids} to stop; it saves a resumable state at the next step (resume: "
            "{command})").format(pids=", ".join(asked),
                                 command=f"loratui train --resume {run.path}"), file=sys.stderr)
    return 0

"""Bare `loratui` and `loratui wizard [FOLDER]`: open the wizard (Textual is imported only here)."""

from __future__ import annotations

from loratui.i18n import N_, _

TYPE_CHECKING = False
if TYPE_CHECKING:
    from pathlib import Path

EXAMPLES = N_("""\
examples:
  loratui                          open the wizard on the current folder
  loratui wizard ~/loras/hanfu     open it on a project folder
  loratui wizard --run runs/hanfu-20261125-0300   follow a run folder
  TEXTUAL_COLOR_SYSTEM=256 loratui     force 256 colours (ssh does not forward COLORTERM)
""")


def register(sub) -> None:
    from loratui.cli import add_command

    p = add_command(sub, "wizard", help=_("open the terminal wizard (the default command)"),
                    epilog=EXAMPLES)
    p.add_argument("project", nargs="?", default=".", help=_("project folder (default: here)"))
    p.add_argument("--run", dest="run_dir", metavar="DIR",
                   help=_("open this run folder on the Train step"))
    p.set_defaults(run=_run)


def _run(args) -> int:
    from pathlib import Path

    return run_wizard(Path(args.project), run_dir=args.run_dir)


def run_wizard(project: Path | None = None, *, run_dir: str | None = None,
               step: str = "start") -> int:
    from pathlib import Path

    from loratui.ui.app import create_app
    from loratui.ui.widgets.sample_view import detect_graphics

    detect_graphics()  # ask the terminal about graphics before Textual reads its input
    app = create_app(project or Path.cwd(), run_dir=run_dir,
                     step="train" if run_dir else step)
    app.run()
    if app.state is not None:  # one line on the way out: the run, its state, how to return
        print(app.exit_summary())
    return app.return_code or 0


DEMO_SETUP_STEPS = ("model", "dataset", "config")


def run_demo_wizard(folder: str | Path, family: str = "sd15") -> int:
    """`loratui demo`: build the demo project (tiny model, dataset with deliberate problems,
    loratui.toml) unless it exists, then open the wizard on it to walk every step."""
    import sys
    from pathlib import Path

    root = Path(folder).expanduser().resolve()
    if not (root / "loratui.toml").is_file():
        from loratui.demo import DEMO_STEPS, run_demo
        from loratui.i18n import _

        print("loratui demo: " + _("preparing the demo project in {folder} …").format(
            folder=root), file=sys.stderr)
        steps = [s for s in DEMO_STEPS if s.name in DEMO_SETUP_STEPS]
        ctx = run_demo(root, steps=steps, family=family)
        if ctx.failed:
            print("loratui demo: " + _("step {step!r} failed").format(step=ctx.failed),
                  file=sys.stderr)
            return 1
    return run_wizard(root)

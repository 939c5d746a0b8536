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


def not_a_terminal() -> str | None:
    """The message to exit with when stdin, stdout or stderr is not a terminal (the wizard
    reads keys from stdin and draws on stderr; its summary goes to stdout), else None.
    Textual would otherwise draw into the pipe and wait for keys that never come."""
    import sys

    names = [name for name, stream in (("stdin", sys.__stdin__), ("stdout", sys.__stdout__),
                                       ("stderr", sys.__stderr__))
             if stream is None or not stream.isatty()]
    if not names:
        return None
    from loratui.i18n import ngettext

    return ngettext(
        "loratui: the wizard needs an interactive terminal, but its {streams} is a pipe, "
        "a file or /dev/null; run it in a terminal (over ssh: ssh -t HOST loratui) or use "
        "a command that needs none: loratui doctor, loratui train, loratui demo --headless "
        "(see loratui --help)",
        "loratui: the wizard needs an interactive terminal, but its {streams} are pipes, "
        "files or /dev/null; run it in a terminal (over ssh: ssh -t HOST loratui) or use "
        "a command that needs none: loratui doctor, loratui train, loratui demo --headless "
        "(see loratui --help)", len(names)).format(streams=", ".join(names))


def require_terminal() -> None:
    """Exit 2 with `not_a_terminal()`'s message when the wizard cannot run here."""
    import sys

    message = not_a_terminal()
    if message is not None:
        print(message, file=sys.stderr)
        raise SystemExit(2)


def _size_from_the_terminal() -> None:
    """Drop COLUMNS and LINES that a shell or script exported: Textual sizes the screen
    with `shutil.get_terminal_size()`, which prefers them to the terminal's real size, so
    the wizard was laid out for 80×24 in a 40×12 window and never followed a resize."""
    import os

    for name in ("COLUMNS", "LINES"):
        os.environ.pop(name, None)


def run_wizard(project: Path | None = None, *, run_dir: str | None = None,
               step: str = "start") -> int:
    from pathlib import Path

    require_terminal()
    _size_from_the_terminal()
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

    require_terminal()    # before the demo project is built
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

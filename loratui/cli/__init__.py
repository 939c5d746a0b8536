"""The `loratui` command line.

argparse, not click: `import click` alone costs 2.3× `import rich` here, and the
start-up budget for `loratui --help` is 2×. Each subcommand lives in its own module
with a cheap `register()` (argparse only) and a `run()` that imports what it needs.
Bare `loratui` opens the wizard.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys

from loratui import __version__
from loratui.i18n import LANGS, N_, _, set_language
from loratui.outstream import prepare_streams

# Subcommand modules, in the order `--help` lists them. Each defines register(subparsers).
COMMAND_MODULES = (
    "loratui.cli.presets_cmd",
    "loratui.cli.config_cmd",
    "loratui.cli.dataset_cmd",
    "loratui.cli.doctor_cmd",
    "loratui.cli.lora_cmd",
    "loratui.cli.train_cmd",
    "loratui.cli.runs_cmd",
    "loratui.cli.watch_cmd",
    "loratui.cli.demo_cmd",
    "loratui.cli.wizard_cmd",
)
# A command lives in `loratui/cli/<command>_cmd.py` unless listed here.
COMMAND_ALIASES = {
    "rule": "loratui.cli.doctor_cmd",
    "attach": "loratui.cli.runs_cmd",
    "stop": "loratui.cli.runs_cmd",
}

EPILOG = N_("""\
examples:
  loratui                               open the wizard
  loratui presets --gpu auto            what to start from on this GPU
  loratui presets --gpu 8GB --write loratui.toml
  loratui config check loratui.toml     validate a run config
  loratui --lang zh                     the wizard and messages in Chinese
  loratui <command> --help              help and examples for one command
""")
LANG_HELP = N_("language of messages: en or zh (default: $LORATUI_LANG, then the locale)")


def terminal_width() -> int:
    """`shutil.get_terminal_size().columns` without importing shutil (it pulls in bz2,
    lzma and zlib; argparse imports it for every argument it adds, start-up time)."""
    try:
        columns = int(os.environ.get("COLUMNS", "0"))
    except ValueError:
        columns = 0
    if columns <= 0:
        try:
            columns = os.get_terminal_size(sys.__stdout__.fileno()).columns
        except (AttributeError, ValueError, OSError):
            columns = 0
    return columns or 80


class HelpFormatter(argparse.RawDescriptionHelpFormatter):
    def __init__(self, prog: str) -> None:
        super().__init__(prog, max_help_position=34, width=terminal_width() - 2)

    def format_help(self) -> str:
        """The help fitted to the terminal: example rows and long lines wrap under their
        own text (`loratui.textfit`), commands continue after ` \\`."""
        from loratui.cjk import cells

        text = super().format_help()
        width = self._width + 2
        if all(cells(line) <= width for line in text.split("\n")):
            return text          # (argparse formats `prog` this way too: keep it cheap)
        from loratui.textfit import fit

        return fit(text, width)

    def _split_lines(self, text: str, width: int) -> list[str]:
        """Argument help wrapped by terminal columns when it holds Chinese (textwrap
        counts characters, and a CJK character takes two columns)."""
        from loratui.cjk import has_cjk, wrap

        if not has_cjk(text):   # argparse's, but never at a hyphen (`kohya-` / `json`)
            import textwrap

            return textwrap.wrap(" ".join(text.split()), width, break_on_hyphens=False,
                                 break_long_words=False)
        return wrap(" ".join(text.split()), width)

    def _format_usage(self, usage, actions, groups, prefix) -> str:
        """The usage's continuation lines lined up under a translated "usage:" that takes
        more columns than characters (argparse indents by characters)."""
        from loratui.cjk import cells

        text = super()._format_usage(usage, actions, groups, prefix)
        shown = argparse._("usage: ") if prefix is None else prefix
        extra = cells(shown) - len(shown)
        if extra <= 0:
            return text
        first, *rest = text.split("\n")
        return "\n".join([first, *(" " * extra + line if line.startswith(" ") else line
                                   for line in rest)])


class _Ignored:
    """Stands in for what a command registers beyond its name and help."""

    def __getattr__(self, name: str):
        return self._ignore

    def _ignore(self, *args, **kwargs) -> _Ignored:
        return self


class SummaryParser(argparse.ArgumentParser):
    """A command's parser that keeps only its name and one-line help: `loratui --help`
    lists every command without building all their options (start-up time)."""

    def add_argument(self, *args, **kwargs):
        return _Ignored()

    def add_argument_group(self, *args, **kwargs):
        return _Ignored()

    def add_mutually_exclusive_group(self, *args, **kwargs):
        return _Ignored()

    def add_subparsers(self, *args, **kwargs):
        return _Ignored()


def build_parser(modules: tuple[str, ...] = COMMAND_MODULES, *, summary: bool = False
                 ) -> argparse.ArgumentParser:
    """The parser of `modules`' commands; `summary`: names and helps only (for --help)."""
    parser = argparse.ArgumentParser(
        prog="loratui",
        description=_("A terminal wizard and doctor for training Stable Diffusion LoRAs."),
        epilog=_(EPILOG),
        formatter_class=HelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"loratui {__version__}",
                        help=_("show the version and exit"))
    parser.add_argument("--lang", choices=LANGS, help=_(LANG_HELP))  # read by take_lang()
    sub = parser.add_subparsers(title=_("commands"), metavar="COMMAND",
                                parser_class=SummaryParser if summary else argparse.ArgumentParser)
    for name in modules:
        importlib.import_module(name).register(sub)
    return parser


def _command_parser(argv: list[str]) -> argparse.ArgumentParser | None:
    """A parser holding only the subcommand named by argv[0]: registering every command
    costs more start-up time than `loratui doctor CONFIG` may spend in all. None when
    argv names no known command (then the full parser reports the error)."""
    if not argv or argv[0].startswith("-"):
        return None
    module = COMMAND_ALIASES.get(argv[0], f"loratui.cli.{argv[0]}_cmd")
    if module not in COMMAND_MODULES:
        return None
    parser = build_parser((module,))
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return parser if argv[0] in sub.choices else None


def positive_int(text: str) -> int:
    """argparse type: a whole number of at least 1 (a resolution, a count of processes)."""
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(
            _("expected a whole number of at least 1, got {value!r}").format(value=text))
    return value


def add_command(sub, name: str, *, help: str, epilog: str = "", description: str = ""):
    """Add a subcommand parser with our formatter; `set_defaults(run=...)` is the caller's.
    `help` comes translated (`_()`), `epilog` and `description` marked (`N_()`)."""
    return sub.add_parser(
        name,
        help=help,
        description=_(description) if description else help,
        epilog=_(epilog) if epilog else "",
        formatter_class=HelpFormatter,
    )


def translate_argparse() -> None:
    """argparse's own texts ("usage:", "options:", its errors) from our catalogue:
    argparse calls the module globals `_` and `ngettext` for each of them
    (loratui/cli/argparse_texts.py lists them for the catalogue). In English too: the
    texts are then argparse's own, without gettext's search of the system's locale
    folders (and the `locale` import) that its default `_` makes on every parser."""
    from loratui.i18n import ngettext

    argparse._ = _
    argparse.ngettext = ngettext


def take_lang(argv: list[str]) -> list[str]:
    """Set the language from `--lang X` / `--lang=X` wherever it stands before `--`
    (`loratui --lang zh doctor`, `loratui doctor . --lang zh`); argv without it."""
    rest: list[str] = []
    i = 0
    while i < len(argv):
        arg = argv[i]
        if arg == "--":
            rest += argv[i:]
            break
        if arg == "--lang" or arg.startswith("--lang="):
            value = arg.partition("=")[2] if "=" in arg else (
                argv[i + 1] if i + 1 < len(argv) else "")
            i += 1 if "=" in arg else 2
            if value not in LANGS:
                print(_("loratui: --lang: choose one of {choices} (got {value!r})").format(
                    choices=", ".join(LANGS), value=value), file=sys.stderr)
                raise SystemExit(2)
            set_language(value)
            continue
        rest.append(arg)
        i += 1
    return rest


def main(argv: list[str] | None = None) -> int:
    if argv is None:
        argv = sys.argv[1:]
    prepare_streams()
    argv = take_lang(argv)
    _language_the_terminal_shows()
    translate_argparse()
    if argv in (["--help"], ["-h"]):
        build_parser(summary=True).parse_args(argv)  # prints the command list, exits
    parser = _command_parser(argv) or build_parser()
    args = parser.parse_args(argv)
    run = getattr(args, "run", None)
    if run is None:
        from loratui.cli.wizard_cmd import run_wizard

        return run_wizard()
    try:
        return int(run(args) or 0)
    except KeyboardInterrupt:
        print(_("interrupted"), file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0
    except Exception as exc:   # the last guard: a message, never a traceback
        if os.environ.get("LORATUI_DEBUG"):
            raise
        print(f"loratui {argv[0] if argv else ''}: {unexpected_message(exc)}".replace(" :", ":"),
              file=sys.stderr)
        return 2


def _language_the_terminal_shows() -> None:
    """English, with a note, when Chinese was asked for but stdout or stderr cannot show it
    (a server's `LANG=C`, `PYTHONIOENCODING=ascii`): `\\u6587` escapes are no message."""
    from loratui.i18n import language
    from loratui.outstream import PROBE, can_show

    if language() == "zh" and not (can_show(PROBE, sys.stdout) and can_show(PROBE, sys.stderr)):
        set_language("en")
        encoding = getattr(sys.stdout, "encoding", None) or "?"
        # English on purpose: the terminal cannot show this note's translation
        print(f"loratui: this terminal's encoding ({encoding}) cannot show Chinese, so "
              "messages are in English; use a UTF-8 locale (LANG=C.UTF-8) or "
              "PYTHONIOENCODING=utf-8 to see Chinese",
              file=sys.stderr)


def unexpected_message(exc: BaseException) -> str:
    """One line for an error no command caught: the file when one is known, what to do."""
    from loratui.i18n import error_text
    from loratui.userfiles import UserFileError, one_line, shown

    if isinstance(exc, UserFileError):
        return error_text(exc)
    if isinstance(exc, RecursionError):
        return _("an input is nested too deeply to read (hundreds of levels of brackets); "
                 "check that each file given is the right one")
    if isinstance(exc, OSError) and exc.filename:
        return one_line(_("{path}: {error}; check the path, the free space and your "
                          "permissions").format(path=shown(exc.filename),
                                                error=exc.strerror or exc))
    if isinstance(exc, UnicodeError):
        return one_line(_("a file is not UTF-8 text ({error}); save it as UTF-8").format(
            error=exc))
    return one_line(_("unexpected {kind}: {error}. Run again with LORATUI_DEBUG=1 to see "
                      "where, and report it").format(kind=type(exc).__name__, error=exc))

"""argparse's own texts ("usage:", "options:", its error messages), marked here so that
the message catalogue carries their translations (docs/translating.md).

argparse looks each of them up through the module globals `argparse._` and
`argparse.ngettext` (bound to `gettext.gettext` / `gettext.ngettext`, the process-wide
default domain): `translate_argparse()` points those at loratui's catalogue in a
non-English run, so `loratui --lang zh doctor --help` and its errors are wholly Chinese
with no argparse subclass. This module is read by the extractor only; nothing imports
it at run time. The msgids are argparse's, from Python 3.10 to 3.13.
"""

from __future__ import annotations

from loratui.i18n import N_, ngettext

ARGPARSE_MESSAGES = (
    N_("usage: "),
    N_("positional arguments"),
    N_("options"),
    N_("optional arguments"),                       # Python 3.9
    N_("show this help message and exit"),
    N_("show program's version number and exit"),   # 3.12+
    N_("%(prog)s: error: %(message)s\n"),
    N_("argument %(argument_name)s: %(message)s"),
    N_("unrecognized arguments: %s"),
    N_("the following arguments are required: %s"),
    N_("one of the arguments %s is required"),
    N_("not allowed with argument %s"),
    N_("ignored explicit argument %r"),
    N_("expected one argument"),
    N_("expected at most one argument"),
    N_("expected at least one argument"),
    N_("ambiguous option: %(option)s could match %(matches)s"),
    N_("unexpected option string: %s"),
    N_("invalid %(type)s value: %(value)r"),
    N_("invalid choice: %(value)r (choose from %(choices)s)"),
    N_("invalid choice: %(value)r, maybe you meant %(closest)r? (choose from %(choices)s)"),
    N_("can't open '%(filename)s': %(error)s"),
    N_("argument \"-\" with mode %r"),
    N_("unknown parser %(parser_name)r (choices: %(choices)s)"),
)


def expected_arguments(n: int) -> str:
    """argparse's one plural message, looked up as argparse does."""
    return ngettext("expected %s argument", "expected %s arguments", n)

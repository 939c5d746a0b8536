"""`loratui config show|check|import|export|fields`."""

from __future__ import annotations

import argparse
import sys

from loratui.cli import add_command
from loratui.i18n import N_, Message, _, error_text, localized, ngettext

EPILOG = N_("""\
examples:
  loratui config show loratui.toml            the full config, defaults filled in
  loratui config check loratui.toml           validate (exit 1 on errors, 2 unreadable)
  loratui config import kohya.json -o loratui.toml
  loratui config import config.toml --dataset dataset.toml -o loratui.toml
  loratui config export loratui.toml --out kohya/   sd-scripts config + dataset TOML
  loratui config fields                       every key with meaning, range and pitfall
""")


def register(sub: argparse._SubParsersAction) -> None:
    p = add_command(sub, "config", help=_("show, check, import and export run configs"),
                    epilog=EPILOG)
    csub = p.add_subparsers(title=_("actions"), metavar="ACTION")

    show = add_command(csub, "show", help=_("print a config with every default filled in"),
                       epilog=N_("example:\n  loratui config show loratui.toml > full.toml\n"))
    show.add_argument("path", nargs="?", default="loratui.toml")
    show.set_defaults(run=run_show)

    check = add_command(csub, "check", help=_("validate a config; exit 1 when it is invalid, "
                        "2 when it cannot be read"),
                        epilog=N_("example:\n  loratui config check runs/my_lora.toml && loratui train "
                               "runs/my_lora.toml\n"))
    check.add_argument("path", nargs="?", default="loratui.toml")
    check.set_defaults(run=run_check)

    imp = add_command(csub, "import", help=_("convert a kohya_ss GUI JSON or sd-scripts TOML"),
                      epilog=N_("examples:\n  loratui config import my_kohya.json -o loratui.toml\n"
                             "  loratui config import config.toml --dataset dataset.toml\n"))
    imp.add_argument("source", help=_("kohya_ss .json, sd-scripts config .toml or dataset .toml"))
    imp.add_argument("--dataset", metavar="TOML", help=_("sd-scripts dataset config to merge"))
    imp.add_argument("-o", "--out", default="loratui.toml", help=_("target (default loratui.toml)"))
    imp.add_argument("--force", action="store_true",
                     help=_("replace an existing target (kept first as a timestamped .bak)"))
    imp.set_defaults(run=run_import)

    exp = add_command(csub, "export", help=_("write an sd-scripts config TOML + dataset TOML"),
                      epilog=N_("example:\n  loratui config export loratui.toml --out kohya/\n"
                             "  accelerate launch train_network.py --config_file "
                             "kohya/config.toml --dataset_config kohya/dataset.toml\n"))
    exp.add_argument("path", nargs="?", default="loratui.toml")
    exp.add_argument("--out", default=".", help=_("folder for config.toml and dataset.toml"))
    exp.set_defaults(run=run_export)

    fields = add_command(csub, "fields", help=_("document every config key"),
                         epilog=N_("examples:\n  loratui config fields\n"
                                "  loratui config fields --markdown > docs/config.md\n"))
    fields.add_argument("--markdown", action="store_true", help=_("print the docs/config.md table"))
    fields.set_defaults(run=run_fields)

    p.set_defaults(run=lambda args: (p.print_help(), 2)[1])


def _fail(exc: Exception) -> int:
    print(_("error: {message}").format(message=error_text(exc)), file=sys.stderr)
    return 2


def run_show(args: argparse.Namespace) -> int:
    from loratui.config import ConfigError, load_config
    from loratui.config.io import config_to_toml

    try:
        cfg = load_config(args.path, resolve=False)
    except ConfigError as exc:
        return _fail(exc)
    from loratui.cli import terminal_width
    from loratui.textfit import fit_toml

    sys.stdout.write(fit_toml(config_to_toml(cfg), terminal_width()))
    return 0


def run_check(args: argparse.Namespace) -> int:
    from loratui.config import ConfigError, load_config

    try:
        cfg = load_config(args.path)
    except ConfigError as exc:
        if exc.unreadable:  # not a config at all: bad input, on stderr
            return _fail(exc)
        # the verdict is the command's output: stdout, like `ruff check`
        print(_("error: {message}").format(message=error_text(exc)))
        return 1
    problem = _base_model_problem(cfg)
    if problem:
        print(_("error: {message}").format(message=localized(problem)))
        return 1
    print(_("{path}: ok").format(path=args.path))
    return 0


def _base_model_problem(cfg):
    """The Start step's and the pre-flight's verdict on a model.base that is here (one that
    is not may live on the machine that trains: `loratui train` checks it there)."""
    from pathlib import Path

    base = Path(cfg.model.base).expanduser() if cfg.model.base else None
    if base is None or not (base.exists() or base.is_symlink()):
        return None
    from loratui.basemodel import check_base_model

    check = check_base_model(base, vae=cfg.model.vae, v_prediction=cfg.model.v_prediction)
    if check.ok is not False:
        return None
    return Message(N_("{problem} (model.base)"), problem=check.message)


def run_import(args: argparse.Namespace) -> int:
    from pathlib import Path

    from loratui.config import ConfigError, save_config
    from loratui.config.kohya import import_config

    out = Path(args.out)
    if out.is_dir():
        return _fail(IsADirectoryError(Message(
            N_("{out} is a folder; give a file name for -o, e.g. {example}"), out=out,
            example=out / "loratui.toml")))
    if out.exists() and not args.force:
        return _fail(FileExistsError(Message(N_("{out} exists; pass --force to overwrite it"),
                                             out=out)))
    try:
        result = import_config(args.source, args.dataset)
    except ConfigError as exc:
        return _fail(exc)
    # --force replaces the file (kept as a .bak): its old keys must not stay beside the import
    backup = save_config(result.config, out, replace=True)
    err = sys.stderr
    print(_("imported {source} → {out}").format(source=args.source, out=out), file=err)
    if backup:
        print("  " + _("the previous {name} is kept as {backup}").format(
            name=out.name, backup=backup), file=err)
    for note in result.notes:
        print("  " + _("note: {note}").format(note=localized(note)), file=err)
    for problem in result.errors:
        print("  " + _("not imported (invalid): {problem}").format(problem=localized(problem)),
              file=err)
    if result.unmapped:
        print("  " + ngettext("{n} key with no loratui equivalent:",
                              "{n} keys with no loratui equivalent:",
                              len(result.unmapped)).format(n=len(result.unmapped)), file=err)
        for key, value in result.unmapped.items():
            text = repr(value)
            print(f"    {key} = {text[:70] + '…' if len(text) > 70 else text}", file=err)
    return 0


def run_export(args: argparse.Namespace) -> int:
    from pathlib import Path

    from loratui.config import ConfigError, atomic_write_text, load_config
    from loratui.config.kohya import export_sdscripts

    try:
        cfg = load_config(args.path)
    except ConfigError as exc:
        return _fail(exc)
    from loratui.userfiles import keep_backup

    conf, dataset = export_sdscripts(cfg)
    out = Path(args.out)
    if out.exists() and not out.is_dir():
        return _fail(NotADirectoryError(Message(N_("--out {out} is a file; give a folder"),
                                                out=out)))
    for name, text in (("config.toml", conf), ("dataset.toml", dataset)):
        target = out / name
        if target.is_file() and target.read_bytes() != text.encode("utf-8"):
            print("  " + _("{target} was there before: kept as {backup}").format(
                target=target, backup=keep_backup(target)), file=sys.stderr)
        atomic_write_text(target, text)
    from loratui.cli import terminal_width
    from loratui.textfit import fit

    print(fit(_("wrote {config} and {dataset}").format(config=out / "config.toml",
                                                      dataset=out / "dataset.toml") +
              f"\n  accelerate launch train_network.py --config_file {out / 'config.toml'} "
              f"--dataset_config {out / 'dataset.toml'}", terminal_width()), file=sys.stderr)
    return 0


def run_fields(args: argparse.Namespace) -> int:
    from loratui.config.docs import fields_markdown

    if args.markdown:
        sys.stdout.write(fields_markdown())
        return 0
    from rich.console import Console
    from rich.table import Table

    from loratui.config import field_docs

    table = Table(_("key"), _("default"), _("range"), _("pitfalls"), _("meaning"))
    for row in field_docs():
        table.add_row(row["key"], repr(row["default"]), _range(row), " ".join(row["pitfalls"]),
                      _(row["description"]))
    from loratui.ui import cjkwrap  # Chinese has no spaces: break between its characters

    previous = cjkwrap.install()
    try:
        Console().print(table)
    finally:
        cjkwrap.restore(previous)
    return 0


def _range(row: dict) -> str:
    from loratui.config.docs import range_text

    return localized(range_text(row))

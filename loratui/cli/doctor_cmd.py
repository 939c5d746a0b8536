"""`loratui doctor` and `loratui rule CODE` (argparse only at import time)."""

from __future__ import annotations

import sys

from loratui.cli import add_command
from loratui.i18n import N_, Message, _, error_text, language, localized, pgettext

DOCTOR_EPILOG = N_("""\
inputs (detected from the path; override with --as KIND):
  loratui.toml, kohya_ss GUI .json, sd-scripts config/dataset .toml, a pasted command
  line (.sh/.bat/.ps1/.txt), a training log, a LoRA .safetensors, a ComfyUI workflow
  .json, a run folder (config + log + output cross-checked), a dataset folder.

examples:
  loratui doctor                             the project here: loratui.toml, dataset, last run
  loratui doctor loratui.toml
  loratui doctor my_lora.json --vram 8GB
  loratui doctor train.log                   what went wrong in this run
  loratui doctor runs/my_lora-2026-01-01/    config + log + output in one
  loratui doctor out/my_lora.safetensors --base sd15
  loratui doctor --prompt "<lora:hanfu:0.8> <lora:ink:0.7:lbw=MIDD>"
  loratui doctor cfg.json --format json | jq '.diagnostics[].code'
  loratui doctor loratui.toml --fix          apply safe fixes (comments kept)
  loratui doctor --list-rules
  loratui rule CF103                         explain one rule

exit status: 0 no errors, 1 errors found (or warnings with --strict), 2 could not run.
""")

CONFIG_NAME = "loratui.toml"
# `--list-rules`' fix column: what a rule's fix is, by its applicability.
FIX_MARKS = {"safe": lambda: pgettext("rule fix", "fix"),
             "unsafe": lambda: pgettext("rule fix", "fix*"),
             "display-only": lambda: pgettext("rule fix", "help")}
KINDS = ("loratui", "kohya-json", "sdscripts-toml", "dataset-toml", "cmdline", "aitoolkit",
         "log", "lora", "prompt", "comfy", "dataset", "run")


def _codes(text: str) -> list[str]:
    return [c.strip() for c in text.split(",") if c.strip()]


def register(sub) -> None:
    p = add_command(sub, "doctor", help=_("diagnose a config, log, LoRA file, prompt or run"),
                    epilog=DOCTOR_EPILOG)
    p.add_argument("paths", nargs="*", metavar="PATH",
                   help=_("files or folders to check (default: the project here: loratui.toml, "
                        "its dataset and its latest run)"))
    p.add_argument("--prompt", action="append", default=[], metavar="TEXT",
                   help=_("an A1111 prompt to check (<lora:name:w>, lbw=); repeatable"))
    p.add_argument("--as", dest="as_kind", choices=KINDS, metavar="KIND",
                   help=_("read every PATH as this kind ({kinds})").format(kinds=", ".join(KINDS)))
    p.add_argument("--vram", metavar="GB", help=_("GPU memory to check against (e.g. 8GB); "
                   "default: the detected GPU"))
    p.add_argument("--base", choices=("sd15", "sd2", "sdxl"),
                   help=_("the base model family the LoRA will be used with"))
    p.add_argument("--select", type=_codes, default=[], metavar="CODES",
                   help=_("only these rules (codes, prefixes, names or refs like P10)"))
    p.add_argument("--ignore", type=_codes, default=[], metavar="CODES",
                   help=_("skip these rules"))
    p.add_argument("--set", action="append", default=[], metavar="NAME=VALUE",
                   help=_("override a rule threshold, e.g. max_rank=32 or CF103.max_rank=32"))
    p.add_argument("--format", choices=("text", "json", "sarif"), default="text")
    p.add_argument("--fix", action="store_true", help=_("apply safe fixes to config files"))
    p.add_argument("--unsafe-fixes", action="store_true",
                   help=_("with --fix, also apply fixes that change training behaviour"))
    p.add_argument("--strict", action="store_true", help=_("exit 1 on warnings too"))
    p.add_argument("--exit-zero", action="store_true", help=_("always exit 0 unless it could "
                   "not run"))
    p.add_argument("--env", action="store_true",
                   help=_("also check this machine (GPU processes, libraries)"))
    p.add_argument("--no-color", action="store_true", help=_("plain text output"))
    p.add_argument("--list-rules", action="store_true", help=_("list every rule and exit"))
    p.set_defaults(run=run_doctor)

    r = add_command(sub, "rule", help=_("explain a doctor rule"),
                    epilog=N_("examples:\n  loratui rule CF103\n  loratui rule rank-too-high\n"
                           "  loratui rule --all     every rule, one after another\n"))
    r.add_argument("code", nargs="?", help=_("rule code or name"))
    r.add_argument("--all", action="store_true", help=_("explain every rule"))
    r.add_argument("--format", choices=("text", "json"), default="text")
    r.set_defaults(run=run_rule)


def _parse_value(text: str):
    low = text.strip().lower()
    if low in ("true", "false"):
        return low == "true"
    try:
        return int(text)
    except ValueError:
        pass
    try:
        return float(text)
    except ValueError:
        return text


def _overrides(items: list[str]) -> dict:
    out: dict = {}
    for item in items:
        name, eq, value = item.partition("=")
        if not eq:
            raise ValueError(Message(N_("--set {item!r}: write it as NAME=VALUE"), item=item))
        code, dot, thr = name.partition(".")
        if dot:
            out.setdefault(code.upper(), {})[thr] = _parse_value(value)
        else:
            out[name] = _parse_value(value)
    return out


def run_doctor(args) -> int:
    from loratui.doctor.catalog import CatalogError, localized_catalog

    try:
        catalog = localized_catalog()  # Chinese rule texts only in a Chinese run
    except (CatalogError, FileNotFoundError) as exc:
        print(f"loratui doctor: {error_text(exc)}", file=sys.stderr)
        return 2
    if args.list_rules:
        return _list_rules(catalog, args.format)
    if args.unsafe_fixes and not args.fix:
        args.fix = True
    vram = None
    if args.vram:
        from loratui.doctor.util import parse_gb

        try:
            vram = parse_gb(args.vram)
        except ValueError as exc:
            print(f"loratui doctor: --vram: {error_text(exc)}", file=sys.stderr)
            return 2
    try:
        overrides = _overrides(args.set)
    except ValueError as exc:
        print(f"loratui doctor: {error_text(exc)}", file=sys.stderr)
        return 2
    import os

    if not args.paths and not args.prompt:
        from loratui.doctor.project import find_project

        project = find_project(".")
        if not project.paths and not args.env:
            print(_("loratui doctor: nothing to check in {folder}: no {config} here.\n"
                    "  Run it in a project folder, or name what to check: loratui doctor "
                    "PATH... (a config, log, LoRA file, run folder or dataset)").format(
                        folder=project.folder, config=CONFIG_NAME), file=sys.stderr)
            return 2
        if project.paths:
            notes = "".join(_("; {note}").format(note=localized(n)) for n in project.notes)
            print(_("checking the project in {folder}: {inputs}").format(
                folder=project.folder, inputs=project.describe()) + notes, file=sys.stderr)
            args.paths = project.paths
    missing = [p for p in args.paths if not os.path.exists(p)]
    if missing:
        from loratui.userfiles import broken_link, shown

        for p in missing:
            link = broken_link(p)
            print(_("loratui doctor: {path}: {detail}").format(path=shown(p),
                                                               detail=localized(link))
                  if link else _("loratui doctor: {path}: no such file or folder").format(
                      path=shown(p)), file=sys.stderr)
        return 2
    from loratui.doctor.engine import Options, diagnose

    options = Options(vram_gb=vram, base=args.base, select=args.select, ignore=args.ignore,
                      overrides=overrides, env=args.env)
    diags, inputs = diagnose(args.paths, prompts=args.prompt, as_kind=args.as_kind,
                             options=options, catalog=catalog)
    if inputs and all(i.error is not None for i in inputs):
        for i in inputs:
            print(f"loratui doctor: {i.path}: {localized(i.error)}", file=sys.stderr)
        if args.format == "text":
            return 2
    fixed = 0
    if args.fix:
        from loratui.doctor.fixer import apply_fixes

        fixed, errors = apply_fixes(diags, unsafe=args.unsafe_fixes)
        for e in errors:
            print(f"loratui doctor: {localized(e)}", file=sys.stderr)
        if fixed:  # report what is left, like ruff --fix
            diags, inputs = diagnose(args.paths, prompts=args.prompt, as_kind=args.as_kind,
                                     options=options, catalog=catalog)
    _emit(diags, inputs, args, catalog, fixed)
    if all(i.error is not None for i in inputs) and inputs:
        return 2
    if args.exit_zero:
        return 0
    bad = {"error", "warning"} if args.strict else {"error"}
    return 1 if any(d.severity in bad for d in diags) else 0


def _emit(diags, inputs, args, catalog, fixed: int) -> None:
    from loratui.doctor import output

    if args.format == "json":
        info = [{"path": i.path, "kind": i.kind, **_error_fields(i.error)} for i in inputs]
        sys.stdout.write(output.render_json(diags, fixed=fixed, inputs=info))
    elif args.format == "sarif":
        sys.stdout.write(output.render_sarif(diags, catalog))
    else:
        color = not args.no_color and output.use_color(sys.stdout)
        checked = [i.path for i in inputs] + (["<environment>"] if args.env else [])
        from loratui.cli import terminal_width
        from loratui.textfit import fit

        sys.stdout.write(fit(output.render_text(diags, color=color, fixed=fixed,
                                                checked=checked), terminal_width()))


def _error_fields(error) -> dict:
    """An input's read error for the JSON report: English `error`, and `error_zh` beside it
    in a Chinese run (as findings carry `message_zh`)."""
    if not error:
        return {}
    shown, lang = localized(error), language()
    return {"error": str.__str__(error), **({f"error_{lang}": shown} if shown != error else {})}


def _list_rules(catalog, fmt: str) -> int:
    if fmt == "json":
        import json

        from loratui.outstream import unicode_output

        print(json.dumps([r.to_dict() for r in catalog.rules], indent=2,
                         ensure_ascii=not unicode_output()))
        return 0
    from loratui.cjk import cells
    from loratui.cli import terminal_width
    from loratui.doctor.output import SEVERITY_WORDS, pad
    from loratui.textfit import hang

    width = max(len(r.name) for r in catalog.rules)
    sev_width = max(cells(word()) for word in SEVERITY_WORDS.values())
    mark_width = max(cells(mark()) for mark in FIX_MARKS.values())
    refs_width = max(len(",".join(r.refs)) for r in catalog.rules)
    columns = terminal_width()
    lines = []
    for r in catalog.rules:
        fix = (r.fix or {}).get("applicability", "")
        mark = FIX_MARKS[fix]() if fix in FIX_MARKS else ""
        head = (f"{r.code}  {r.name.ljust(width)}  {pad(SEVERITY_WORDS[r.severity](), sev_width)}"
                f"  {pad(mark, mark_width)}  ")
        line = f"{head}{','.join(r.refs).ljust(refs_width)}  {r.text('title')}".rstrip()
        if cells(line) <= columns:
            lines.append(line)
        else:        # narrow: the title on its own line(s) under the name
            lines.append(f"{head}{','.join(r.refs)}".rstrip())
            lines += hang(" " * (len(r.code) + 2), r.text("title"), columns)
    print("\n".join(lines))
    note = _("{n} rules. `loratui rule CODE` explains one; {fix} = --fix, "
             "{unsafe} = --unsafe-fixes, {help} = advice.").format(
        n=len(catalog.rules), fix=FIX_MARKS["safe"](), unsafe=FIX_MARKS["unsafe"](),
        help=FIX_MARKS["display-only"]())
    print("\n" + "\n".join(hang("", note, columns)), file=sys.stderr)
    return 0


def run_rule(args) -> int:
    from loratui.doctor.catalog import CatalogError, localized_catalog

    try:
        catalog = localized_catalog()
    except (CatalogError, FileNotFoundError) as exc:
        print(f"loratui rule: {error_text(exc)}", file=sys.stderr)
        return 2
    if args.all:
        rules = catalog.rules
    elif args.code:
        rule = catalog.get(args.code)
        if rule is None:
            print(_("loratui rule: no rule {code!r} (see `loratui doctor --list-rules`)").format(
                code=args.code), file=sys.stderr)
            return 2
        rules = [rule]
    else:
        print(_("loratui rule: name a rule code, e.g. `loratui rule CF103`"), file=sys.stderr)
        return 2
    if args.format == "json":
        import json

        from loratui.doctor.engine import family_thresholds
        from loratui.outstream import unicode_output

        # family id -> the thresholds its [doctor] table changes, as the text shows them
        print(json.dumps([{**r.to_dict(), "family_thresholds": family_thresholds(r)}
                          for r in rules], indent=2, ensure_ascii=not unicode_output()))
        return 0
    from loratui.cli import terminal_width
    from loratui.doctor.explain import explain_rule
    from loratui.textfit import fit

    print(fit("\n\n".join(explain_rule(r) for r in rules), terminal_width()))
    return 0

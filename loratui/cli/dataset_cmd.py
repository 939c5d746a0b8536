"""`loratui dataset scan|prepare|caption|trigger` (argparse only at import time)."""

from __future__ import annotations

import argparse
import sys

from loratui.cli import positive_int
from loratui.i18n import N_, _, error_text, localized, ngettext

EPILOG = N_("""\
examples:
  loratui dataset scan ./train                     problems, sizes, captions (headers only)
  loratui dataset scan ./train --deep --json       full decode + near-duplicates, as JSON
  loratui dataset scan ./train --trigger hanfu_girl_ --reg ./reg
  loratui dataset prepare ./train --out ./train_512 --mode crop --trigger hanfu_girl_
  loratui dataset prepare ./train --out ./train_buckets --mode bucket
  loratui dataset caption ./train_512 --model ./blip-base --prefix hanfu_girl_
  loratui dataset caption ./train_512 --remove-tag watermark --dedupe --add-prefix hanfu_girl_
  loratui dataset caption ./train_512 --clip ./clip-vit-base-patch32 --worst 10
  loratui dataset trigger ./train_512 hanfu_girl_ --insert
""")


def register(sub) -> None:
    from loratui.cli import add_command

    p = add_command(sub, "dataset", help=_("scan, prepare, caption a dataset; check the trigger"),
                    epilog=EPILOG)
    p.set_defaults(run=lambda args: (p.print_help(), 2)[1])
    ds = p.add_subparsers(title=_("dataset commands"), metavar="ACTION")

    s = add_command(ds, "scan", help=_("report every problem in a dataset folder"), epilog=EPILOG)
    s.add_argument("dir", nargs="?", help=_("dataset folder (flat, or the parent of kohya N_name "
                   "folders); default: the --config's dataset.dir"))
    _common_scan(s)
    s.add_argument("--json", action="store_true", help=_("print the full report as JSON"))
    s.add_argument("--deep", action="store_true",
                   help=_("decode every image fully (slower; finds damage inside files) and check "
                        "near-duplicates"))
    s.add_argument("--dupes", action="store_true",
                   help=_("check near-duplicates (perceptual hash) in a header scan"))
    s.add_argument("--all", action="store_true", help=_("list every file of every finding"))
    s.add_argument("--min-severity", choices=("info", "warning", "error"), default="info",
                   help=_("hide findings below this severity (default: info)"))
    s.add_argument("--fail-on", choices=("info", "warning", "error", "never"), default="error",
                   help=_("exit 1 when a finding is at or above this severity (default: error)"))
    s.set_defaults(run=run_scan)

    pr = add_command(ds, "prepare", help=_("write a training-ready copy (never touches the source)"),
                     epilog=EPILOG)
    pr.add_argument("dir", help=_("source dataset folder"))
    pr.add_argument("--out", required=True, help=_("new folder for the copy"))
    pr.add_argument("--config", help=_("loratui.toml: take mode (dataset.bucketing), resolution, "
                    "caption extension and trigger word from it"))
    pr.add_argument("--mode", choices=("crop", "pad", "bucket"), default=None,
                    help=_("crop: centre-crop to a square; pad: fit and pad; bucket: SD1.5 aspect "
                         "buckets (area ≈ resolution², sides in steps of 64). Default crop"))
    pr.add_argument("--resolution", type=positive_int, default=None, help=_("square side / bucket area "
                    "(default 512)"))
    pr.add_argument("--background", default="white",
                    help=_("colour that transparency is flattened onto: white, black, grey, "
                         "#RRGGBB or R,G,B (default white)"))
    pr.add_argument("--format", choices=("png", "jpg"), default="png", help=_("output format"))
    pr.add_argument("--trigger", default=None, help=_("put this trigger word first in every "
                    "caption"))
    pr.add_argument("--caption-ext", default=None, help=_("caption extension (default .txt)"))
    pr.add_argument("--workers", type=positive_int, default=None, help=_("processes (default: all cores)"))
    pr.add_argument("--force", action="store_true",
                    help=_("rebuild a copy made with other settings, or write into a folder that "
                         "holds other files (they are never overwritten or deleted)"))
    pr.add_argument("--all", action="store_true", help=_("list every skipped or failed file"))
    pr.add_argument("--json", action="store_true", help=_("print the result as JSON"))
    pr.set_defaults(run=run_prepare)

    c = add_command(ds, "caption", help=_("BLIP captions, bulk caption edits, CLIP agreement"),
                    epilog=EPILOG)
    c.add_argument("dir", help=_("dataset folder"))
    c.add_argument("--model", help=_("local BLIP folder or a repo id in the local HF cache "
                   "(default Salesforce/blip-image-captioning-base from the cache)"))
    c.add_argument("--blip", action="store_true", help=_("run BLIP even with edit options"))
    c.add_argument("--batch-size", type=int, default=8)
    c.add_argument("--device", default="auto", help=_("auto, cpu, cuda, cuda:1 ..."))
    c.add_argument("--overwrite", action="store_true", help=_("replace existing captions"))
    c.add_argument("--overwrite-empty", action="store_true", help=_("replace empty captions"))
    c.add_argument("--prefix", default="", help=_("put this first (e.g. the trigger word)"))
    c.add_argument("--max-tokens", type=int, default=40, help=_("longest BLIP caption in tokens"))
    c.add_argument("--beams", type=int, default=3, help=_("beam search width"))
    c.add_argument("--caption-ext", default=".txt")
    g = c.add_argument_group(_("bulk edits (prepared copy, or --in-place with a backup)"))
    g.add_argument("--add-prefix", default="", metavar="TEXT",
                   help=_("put TEXT first in every caption that lacks it"))
    g.add_argument("--replace", nargs=2, metavar=("OLD", "NEW"), help=_("replace text"))
    g.add_argument("--remove-tag", action="append", default=[], metavar="TAG",
                   help=_("remove a comma-separated tag (repeatable)"))
    g.add_argument("--dedupe", action="store_true", help=_("drop repeated tags"))
    g.add_argument("--noise-tag", action="store_true",
                   help=_("label pollution (P28): add one wrong tag to each caption"))
    g.add_argument("--noise-tags", default="", help=_("comma-separated tags to draw from"))
    g.add_argument("--noise-probability", type=float, default=1.0)
    g.add_argument("--seed", type=int, default=0)
    g.add_argument("--in-place", action="store_true",
                   help=_("allow editing a source folder (changed captions are backed up)"))
    g.add_argument("--dry-run", action="store_true", help=_("say what would change"))
    a = c.add_argument_group(_("image–caption agreement (P1)"))
    a.add_argument("--clip", metavar="MODEL", help=_("local CLIP folder: list worst-matching pairs"))
    a.add_argument("--worst", type=int, default=10, help=_("how many pairs to list"))
    c.set_defaults(run=run_caption)

    t = add_command(ds, "trigger", help=_("check a trigger word (P7); insert it into captions"),
                    epilog=EPILOG)
    t.add_argument("dir", help=_("dataset folder"))
    t.add_argument("word", help=_("trigger word, e.g. hanfu_girl_"))
    t.add_argument("--tokenizer", metavar="PATH",
                   help=_("base model folder (or its tokenizer/) whose own CLIP tokenizer to use "
                   "(default: SD1.5's CLIP vocabulary, shipped with loratui)"))
    t.add_argument("--config", help=_("loratui.toml: dataset.caption_extension gives the "
                   "captions (and model.base a tokenizer, when it has a full CLIP one)"))
    t.add_argument("--insert", action="store_true",
                   help=_("put the word first in every caption (prepared copy, or --in-place)"))
    t.add_argument("--in-place", action="store_true",
                   help=_("allow --insert in a source folder (changed captions are backed up)"))
    t.add_argument("--caption-ext", default=None, help=_("caption extension (default .txt)"))
    t.add_argument("--json", action="store_true")
    t.set_defaults(run=run_trigger)


def _common_scan(p: argparse.ArgumentParser) -> None:
    p.add_argument("--config", help=_("loratui.toml: take caption extension, trigger, "
                   "resolution, reg folder and repeats from it"))
    p.add_argument("--caption-ext", default=None,
                   help=_("caption extension (default: the --config's; without one, the "
                        "extension most captions have: .txt, .caption ...)"))
    p.add_argument("--trigger", default=None, help=_("trigger word every caption must contain"))
    p.add_argument("--reg", default=None, help=_("regularisation folder"))
    p.add_argument("--resolution", type=positive_int, default=None, help=_("training resolution (512)"))
    p.add_argument("--workers", type=positive_int, default=None, help=_("processes (default: all cores)"))
    p.add_argument("--tokenizer", metavar="PATH", help=_("base model folder (or its tokenizer/): "
                   "exact CLIP token counts instead of estimates"))


def _err(msg: str) -> None:
    print(f"loratui: {msg}", file=sys.stderr)


def _write_json(report) -> None:
    """The report as JSON on stdout, written record by record in UTF-8."""
    out = getattr(sys.stdout, "buffer", None)
    if out is None:      # a text-only stream (redirected in-process)
        print(report.to_json())
        return
    sys.stdout.flush()
    report.write_json(out)
    out.write(b"\n")
    out.flush()


class PausedGC:
    """`with PausedGC():` no cyclic garbage collection inside (restored after, if it was
    on). For the one-shot `dataset scan` process only: the switch is process-wide, so the
    wizard (a long-lived app with its own threads) scans with the collector on. A scan builds
    a record and a few lists per image, none of them cycles, and the collector would walk
    every record built so far again and again (~15 % of a 10,000-image scan's time)."""

    def __enter__(self) -> None:
        import gc

        self._was_on = gc.isenabled()
        gc.disable()

    def __exit__(self, *exc: object) -> None:
        import gc

        if self._was_on:
            gc.enable()


def _progress(label: str, enabled: bool = True):
    """A rich progress bar on stderr (a no-op callback when stderr is not a terminal)."""
    if not enabled or not sys.stderr.isatty():
        return None, None
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn

    prog = Progress("[progress.description]{task.description}", BarColumn(),
                    MofNCompleteColumn(), TimeRemainingColumn(),
                    console=Console(stderr=True), transient=True)
    task = prog.add_task(label, total=None)

    def update(done: int, total: int) -> None:
        prog.update(task, completed=done, total=total)

    return prog, update


def run_scan(args) -> int:
    from loratui.dataset import ScanOptions, scan

    opts = ScanOptions()
    folder = args.dir
    if args.config:
        from loratui.config import ConfigError, load_config

        try:
            cfg = load_config(args.config)
        except ConfigError as exc:
            _err(error_text(exc))
            return 2
        opts = ScanOptions.from_config(cfg)
        folder = folder or cfg.dataset.dir
    if not folder:
        _err(_("give a dataset folder (or --config with dataset.dir set)"))
        return 2
    if not args.config:   # no config to say which: the captions the folder has (.caption …)
        opts.caption_extension = "auto"
    for attr, value in (("caption_extension", args.caption_ext), ("trigger_word", args.trigger),
                        ("reg_dir", args.reg), ("resolution", args.resolution)):
        if value is not None:
            setattr(opts, attr, value)
    if args.tokenizer:
        from loratui.dataset.trigger import load_tokenizer

        opts.tokenizer = load_tokenizer(args.tokenizer)
        if opts.tokenizer is None:
            _err(_("no CLIP tokenizer in {path}; token counts are estimates").format(
                path=args.tokenizer))
    opts.deep = args.deep
    opts.duplicates = True if (args.dupes or args.deep) else None
    opts.workers = args.workers
    prog, update = _progress(_("scanning"))
    with PausedGC():
        try:
            if prog:
                with prog:
                    report = scan(folder, opts, progress=update)
            else:
                report = scan(folder, opts)
        except (FileNotFoundError, NotADirectoryError) as exc:
            _err(error_text(exc))
            return 2
        if args.json:
            _write_json(report)
        else:
            from loratui.cli import terminal_width
            from loratui.dataset.text import render  # (not needed for --json: start-up)
            from loratui.textfit import fit

            print(fit(render(report, minimum=args.min_severity,
                             max_paths=-1 if args.all else 5), terminal_width()))
    order = {"info": 0, "warning": 1, "error": 2}
    if args.fail_on != "never" and report.findings and any(
            order[f.severity] >= order[args.fail_on] for f in report.findings):
        return 1
    return 0


def parse_colour(text: str) -> tuple[int, int, int]:
    named = {"white": (255, 255, 255), "black": (0, 0, 0), "grey": (127, 127, 127),
             "gray": (127, 127, 127)}
    t = text.strip().lower()
    if t in named:
        return named[t]
    if t.startswith("#") and len(t) == 7:
        return tuple(int(t[i:i + 2], 16) for i in (1, 3, 5))  # type: ignore[return-value]
    parts = t.split(",")
    if len(parts) == 3 and all(p.strip().isdigit() and int(p) <= 255 for p in parts):
        return tuple(int(p) for p in parts)  # type: ignore[return-value]
    raise ValueError(_("--background {value!r}: use white, black, grey, #RRGGBB or R,G,B").format(
        value=text))


def run_prepare(args) -> int:
    from dataclasses import asdict

    from loratui.dataset.prepare import PrepareError, PrepareOptions, prepare
    from loratui.userfiles import dumps_json, shown

    try:
        bg = parse_colour(args.background)
    except ValueError as exc:
        _err(error_text(exc))
        return 2
    opts = PrepareOptions(background=bg, format=args.format, workers=args.workers,
                          force=args.force)
    if args.config:
        from loratui.config import ConfigError, load_config

        try:
            ds = load_config(args.config).dataset
        except ConfigError as exc:
            _err(error_text(exc))
            return 2
        opts.mode = "bucket" if ds.bucketing else "crop"
        opts.resolution, opts.caption_extension = ds.resolution, ds.caption_extension
        opts.trigger_word = ds.trigger_word
    for attr, value in (("mode", args.mode), ("resolution", args.resolution),
                        ("trigger_word", args.trigger), ("caption_extension", args.caption_ext)):
        if value is not None:
            setattr(opts, attr, value)
    prog, update = _progress(_("preparing"))
    try:
        if prog:
            with prog:
                res = prepare(args.dir, args.out, opts, progress=update)
        else:
            res = prepare(args.dir, args.out, opts)
    except PrepareError as exc:
        _err(error_text(exc))
        return 2
    except (FileNotFoundError, NotADirectoryError) as exc:
        if exc.errno is not None:     # the OS's own (a --out it cannot create): name the path
            raise
        _err(error_text(exc))
        return 2
    if args.json:
        print(dumps_json(asdict(res), indent=2))
    else:
        _print_prepared(res, args.dir, every=args.all)
    if res.written + res.up_to_date == 0:
        found = len(res.excluded) + len(res.failed)
        _err(ngettext("{folder}: none of its {n} image file could be used, nothing was "
                      "written; see why with `loratui dataset scan {folder}`",
                      "{folder}: none of its {n} image files could be used, nothing was "
                      "written; see why with `loratui dataset scan {folder}`", found).format(
            folder=shown(args.dir), n=found) if found else
             _("{folder}: no image files found, nothing was written; check the folder (images "
               "may sit in sub-folders such as `10_name`)").format(folder=shown(args.dir)))
        return 2
    return 1 if res.failed else 0


def _print_prepared(res, src: str, *, every: bool = False, first: int = 5) -> None:
    """The prepare summary: counts, then per reason at most `first` names (all with
    --all), so 50,000 broken files make a few lines, not 50,000."""
    from collections import defaultdict

    from loratui.userfiles import one_line, shown

    print(ngettext("{out}: {written} written, {current} already up to date, {removed} removed, "
                   "{failed} failed, {n} broken source file skipped ({seconds} s)",
                   "{out}: {written} written, {current} already up to date, {removed} removed, "
                   "{failed} failed, {n} broken source files skipped ({seconds} s)",
                   len(res.excluded)).format(
        out=shown(res.out), written=res.written, current=res.up_to_date, removed=res.removed,
        failed=len(res.failed), n=len(res.excluded), seconds=f"{res.elapsed_s:.1f}"))
    if res.sizes:
        print("  " + _("sizes: {sizes}").format(
            sizes=" · ".join(f"{k} {v}" for k, v in sorted(res.sizes.items()))))
    if res.kept:
        print("  " + ngettext(
            "{n} file in {out} was not written by loratui: left as it is (a copy whose name "
            "would clash gets another name)",
            "{n} files in {out} were not written by loratui: left as they are (a copy whose "
            "name would clash gets another name)", len(res.kept)).format(
                n=len(res.kept), out=shown(res.out)))
    groups: dict[tuple[str, str], list[str]] = defaultdict(list)
    for path, why in res.excluded.items():
        groups[("skipped", why)].append(path)
    for path, why in res.failed.items():
        groups[("failed", why if len(res.failed) <= first else _reason(why))].append(path)
    for path, why in res.captions_converted.items():
        groups[("caption", _caption_cause(why))].append(path)
    for (what, why), paths in groups.items():
        n = len(paths)
        if what == "skipped":
            label = ngettext("skipped {n} broken source file ({why})",
                             "skipped {n} broken source files ({why})", n)
        elif what == "failed":
            label = ngettext("failed  {n} file: {why}", "failed  {n} files: {why}", n)
        elif str(getattr(why, "template", "")).startswith("cannot read"):
            label = ngettext("{n} caption could not be read ({why}): the copy has no caption "
                             "text from it",
                             "{n} captions could not be read ({why}): the copies have no "
                             "caption text from them", n)
        elif str(getattr(why, "template", "")).startswith("saved as"):
            label = ngettext("{n} caption {why}; the copies are UTF-8",
                             "{n} captions {why}; the copies are UTF-8", n)
        else:
            label = ngettext("{n} caption was not UTF-8 ({why}); the copies are UTF-8",
                             "{n} captions were not UTF-8 ({why}); the copies are UTF-8", n)
        label = label.format(n=n, why=localized(why))
        print("  " + one_line(label))
        shown_paths = paths if every else paths[:first]
        for p in shown_paths:
            detail = res.failed.get(p, "") if what == "failed" and len(res.failed) > first \
                else ""
            print("          " + (_("{path}: {detail}").format(
                path=shown(p), detail=one_line(localized(detail))) if detail else shown(p)))
        if len(shown_paths) < len(paths):
            print("          " + _("… and {n} more (--all lists them; `loratui dataset scan "
                                   "{folder}` says why)").format(
                n=len(paths) - len(shown_paths), folder=shown(src)))
    if res.upscaled:
        print("  " + ngettext("{n} image was smaller than the target and upscaled (soft "
                              "detail; P3/D09)",
                              "{n} images were smaller than the target and upscaled (soft "
                              "detail; P3/D09)", len(res.upscaled)).format(n=len(res.upscaled)))
    if res.captions_missing:
        print("  " + ngettext("{n} image has no caption: `loratui dataset caption {out} --model "
                              "PATH`",
                              "{n} images have no caption: `loratui dataset caption {out} "
                              "--model PATH`", len(res.captions_missing)).format(
            n=len(res.captions_missing), out=shown(res.out)))


def _caption_cause(why: str) -> str:
    """What a caption's conversion was about, without the file's own offset (to group)."""
    from loratui.i18n import Message

    args = getattr(why, "args", {})
    return Message(N_("byte {byte}"), byte=args["byte"]) if "offset" in args else why


def _reason(message: str) -> str:
    """An error message without the file-specific part, to group failures by cause."""
    return message.split(":")[0][:80]


def run_caption(args) -> int:
    from loratui.dataset import captions as cap
    from loratui.dataset.edit import SourceFolderError, edit_captions

    edits = cap.build_edits(
        prefix=args.add_prefix,
        replace=tuple(args.replace) if args.replace else None, remove=args.remove_tag,
        dedupe=args.dedupe, noise=args.noise_tag,
        noise_tags=[t.strip() for t in args.noise_tags.split(",") if t.strip()],
        noise_probability=args.noise_probability, seed=args.seed)
    do_blip = args.blip or args.model is not None or (not edits and not args.clip)
    rc = 0
    if do_blip:
        rc = _run_blip(args)
        if rc == 2:
            return rc
    if edits:
        try:
            res = edit_captions(args.dir, edits, caption_extension=args.caption_ext,
                                in_place=args.in_place, dry_run=args.dry_run)
        except SourceFolderError as exc:
            _err(error_text(exc))
            return 2
        n = len(res.changed)
        print((ngettext("would change {n} caption, {same} unchanged",
                        "would change {n} captions, {same} unchanged", n) if args.dry_run else
               ngettext("changed {n} caption, {same} unchanged",
                        "changed {n} captions, {same} unchanged", n)).format(
            n=n, same=res.unchanged))
        for p, why in res.skipped.items():
            print("  " + _("skipped {path}: {why}").format(path=p, why=localized(why)))
        if res.backup_dir:
            print("  " + _("originals backed up in {folder}").format(folder=res.backup_dir))
    if args.clip:
        rc = max(rc, _run_clip(args))
    return rc


def _run_blip(args) -> int:
    from loratui.dataset.models import ModelNotFound, caption_folder

    prog, update = _progress(_("captioning"))
    try:
        kw = dict(batch_size=args.batch_size, device=args.device, overwrite=args.overwrite,
                  overwrite_empty=args.overwrite_empty, prefix=args.prefix,
                  max_new_tokens=args.max_tokens, num_beams=args.beams,
                  caption_extension=args.caption_ext)
        if prog:
            with prog:
                res = caption_folder(args.dir, args.model, progress=update, **kw)
        else:
            res = caption_folder(args.dir, args.model, **kw)
    except ModelNotFound as exc:
        _err(error_text(exc))
        return 2
    except (FileNotFoundError, NotADirectoryError) as exc:
        _err(error_text(exc))
        return 2
    written = ngettext("BLIP ({model}, {device}): {n} caption written, {kept} existing kept",
                       "BLIP ({model}, {device}): {n} captions written, {kept} existing kept",
                       len(res.written)).format(
        model=res.model, device=res.device or _("not loaded"), n=len(res.written),
        kept=res.kept)
    print(written if args.overwrite else
          _("{summary} (--overwrite replaces them)").format(summary=written))
    for p, why in res.failed.items():
        print("  " + _("failed {path}: {why}").format(path=p, why=localized(why)))
    if res.backup_dir:
        print("  " + _("overwritten captions backed up in {folder}").format(
            folder=res.backup_dir))
    return 1 if res.failed else 0


def _run_clip(args) -> int:
    from loratui.dataset.models import ModelNotFound, clip_agreement

    try:
        worst = clip_agreement(args.dir, args.clip, top=args.worst, device=args.device,
                               caption_extension=args.caption_ext)
    except ModelNotFound as exc:
        _err(error_text(exc))
        return 2
    print(_("worst-matching image/caption pairs (CLIP cosine, lower = worse; P1):"))
    for a in worst:
        print(f"  {a.score:+.3f}  {a.path}: {a.caption[:80]}")
    return 0


def run_trigger(args) -> int:
    from dataclasses import asdict

    from loratui.dataset import ScanOptions, scan
    from loratui.dataset.trigger import check_trigger, load_tokenizer
    from loratui.userfiles import dumps_json

    tokenizer_path, caption_ext = args.tokenizer, args.caption_ext
    if args.config:
        from loratui.config import ConfigError, load_config

        try:
            cfg = load_config(args.config)
        except ConfigError as exc:
            _err(error_text(exc))
            return 2
        tokenizer_path = tokenizer_path or cfg.model.base or None
        caption_ext = caption_ext or cfg.dataset.caption_extension
    tokenizer = load_tokenizer(tokenizer_path)  # SD1.5's CLIP vocabulary unless a full own one
    caption_ext = caption_ext or ".txt"
    try:
        report = scan(args.dir, ScanOptions(caption_extension=caption_ext))
    except (FileNotFoundError, NotADirectoryError) as exc:
        _err(error_text(exc))
        return 2
    captions = {(r.caption_path or _("{path} (no caption)").format(path=r.path)): r.caption
                for r in report.usable_images()}
    rep = check_trigger(args.word, captions, tokenizer=tokenizer)
    inserted = None
    if args.insert:
        from loratui.dataset.edit import SourceFolderError, insert_trigger

        try:
            inserted = insert_trigger(args.dir, args.word, caption_extension=caption_ext,
                                      in_place=args.in_place)
        except SourceFolderError as exc:
            _err(error_text(exc))
            return 2
    if args.json:
        data = asdict(rep)
        data["ok"] = rep.ok
        if inserted:
            data["inserted"] = asdict(inserted)
        print(dumps_json(data, indent=2))
    else:
        _print_trigger(args.word, rep, inserted)
    if inserted is not None:
        return 0 if not any(f.severity == "error" for f in rep.findings) else 1
    return 0 if rep.ok else 1


def _print_trigger(word: str, rep, inserted) -> None:
    from loratui.dataset.text import severity_label

    print(_("trigger `{word}`").format(word=word))
    if rep.tokens is not None:
        print("  " + ngettext("CLIP splits it into {n} token: {tokens}",
                              "CLIP splits it into {n} tokens: {tokens}", len(rep.tokens)).format(
            n=len(rep.tokens), tokens=" | ".join(rep.tokens)))
    for f in rep.findings:
        print(f"  {severity_label(f.severity)} {f.kind}: {localized(f.message)} "
              f"[{', '.join(f.refs)}]")
        print("          " + _("fix: {fix}").format(fix=_(f.fix)))
    if rep.suggestions:
        print("  " + _("try instead: {words}").format(words=", ".join(rep.suggestions)))
    found = rep.captions_checked - len(rep.missing)
    line = ngettext("in {found} of {n} caption", "in {found} of {n} captions",
                    rep.captions_checked).format(found=found, n=rep.captions_checked)
    if rep.captions_checked:
        line = _("{line}; first in {first}").format(line=line,
                                                    first=found - len(rep.not_first))
    print("  " + line)
    for p in rep.missing[:10]:
        print("          " + _("missing in {path}").format(path=p))
    if len(rep.missing) > 10:
        print("          " + _("… and {n} more").format(n=len(rep.missing) - 10))
    if inserted:
        done = ngettext("inserted into {n} caption, created {created}",
                        "inserted into {n} captions, created {created}",
                        len(inserted.changed)).format(n=len(inserted.changed),
                                                      created=len(inserted.created))
        if inserted.backup_dir:
            done = _("{summary}; originals backed up in {folder}").format(
                summary=done, folder=inserted.backup_dir)
        print("  " + done)
    elif rep.missing:
        print("  " + _("--insert puts it first in every caption (in a prepared copy)"))

"""Rewrite caption files in bulk: trigger insertion and tag edits.

In a prepared copy (a folder with `.loratui-prepare.json`) captions are edited in
place. In a source folder only with `in_place=True`, and every changed file is first
copied to `<folder>/.loratui-backup/<timestamp>/`. Writes are atomic.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from loratui.atomic import atomic_write_text
from loratui.i18n import N_, Message

from . import captions as cap
from ._io import Backup
from .prepare import is_prepared_copy, written_by_prepare
from .report import UNUSABLE_CAPTION
from .scanner import ScanOptions, scan


class SourceFolderError(Exception):
    """Refused to change captions in a source folder without `in_place`."""


@dataclass
class EditResult:
    changed: list[str] = field(default_factory=list)
    created: list[str] = field(default_factory=list)
    unchanged: int = 0
    skipped: dict[str, str] = field(default_factory=dict)   # caption path -> why
    backup_dir: str = ""


EDIT_CAPTIONS = Message(N_("edit captions"))


def rewrite_captions(folder: Path | str, fn: Callable[[str], str], *,
                     caption_extension: str = ".txt", create_missing: bool = False,
                     in_place: bool = False, dry_run: bool = False,
                     what: str = EDIT_CAPTIONS) -> EditResult:
    """Apply `fn` to the caption of every usable image in `folder`."""
    folder = Path(folder).expanduser()
    prepared = is_prepared_copy(folder)
    if not prepared and not in_place and not dry_run:
        raise SourceFolderError(Message(
            N_("{folder} is a source folder: to {what} in the training copy run "
               "`loratui dataset prepare {folder} --out DIR` first and edit DIR, or pass "
               "--in-place (originals are backed up in .loratui-backup/)"),
            folder=str(folder), what=what))
    report = scan(folder, ScanOptions(caption_extension=caption_extension))
    backup = Backup(folder, skip=written_by_prepare(folder))
    result = EditResult()
    for rec in report.usable_images():
        cap_rel = rec.caption_path or str(Path(rec.path).with_suffix(caption_extension)
                                          .as_posix())
        if Path(cap_rel).suffix.lower() != caption_extension.lower():
            result.skipped[cap_rel] = Message(N_("caption has another extension than {ext}"),
                                              ext=caption_extension)
            continue
        odd = UNUSABLE_CAPTION.intersection(rec.problems)
        if odd:     # a folder, a pipe, a huge or unreadable file: never written over
            result.skipped[cap_rel] = Message(N_("not a readable caption file ({problem}): "
                                                 "see `loratui dataset scan`"),
                                              problem=sorted(odd)[0])
            continue
        if rec.caption is None and "caption-not-utf8" in rec.problems:
            result.skipped[cap_rel] = Message(N_("not UTF-8: fix the encoding first (prepare "
                                                 "converts it)"))
            continue
        if rec.caption is None and not create_missing:
            continue
        old = rec.caption or ""
        new = fn(old.strip())
        if new == old.strip() and rec.caption is not None and "caption-bom" not in rec.problems:
            result.unchanged += 1
            continue
        target = folder / cap_rel
        if not dry_run:
            if backup is not None:
                backup.save(target)
            atomic_write_text(target, new + "\n", fsync=False)
        (result.changed if rec.caption is not None else result.created).append(cap_rel)
    if backup is not None and backup.saved:
        result.backup_dir = str(backup.dir)
    return result


def insert_trigger(folder: Path | str, word: str, **kw) -> EditResult:
    """Put `word` first in every caption (moving it when it is a later tag); create missing
    captions."""
    word = word.strip()
    return rewrite_captions(folder, lambda t: cap.put_first(t, word), create_missing=True,
                            what=Message(N_("insert the trigger word")), **kw)


def edit_captions(folder: Path | str, edits: list[cap.Edit], **kw) -> EditResult:
    """Apply bulk edits (see `captions.build_edits`) to every caption."""
    return rewrite_captions(folder, lambda t: cap.apply_edits(t, edits), **kw)

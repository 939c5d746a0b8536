"""Predicates over dataset folders (the simple checks; the full scanner adds more)."""

from __future__ import annotations

import os
import re
from collections import Counter

from loratui.doctor import facts as F
from loratui.doctor.inputs.dataset import REPEATS_RE
from loratui.doctor.predicates.config import common_trigger
from loratui.doctor.registry import Hit, Text, TextList, predicate
from loratui.i18n import N_

ODD_FORMATS = (".jxl", ".avif", ".heic", ".gif", ".tif", ".tiff")


def _ds(inp):
    return inp.data


def _examples(paths, root, n=3) -> str:
    from loratui.userfiles import shown

    out = []
    for p in list(paths)[:n]:
        try:
            rel = os.path.relpath(p, root)
        except ValueError:  # another drive (Windows)
            rel = ".."
        out.append(shown(p if rel.startswith("..") else rel))
    more = len(paths) - n
    listed = TextList(out)
    return Text(N_("{listed} and {n} more"), listed=listed, n=more) if more > 0 else listed


@predicate("dataset_tiny")
def dataset_tiny(inp, ctx, rule, th):
    n = len(_ds(inp).images)
    if n < th["min_images"]:
        yield Hit({"n": n})


def _tiny_limit(ctx) -> int:
    """DS101's threshold: below it DS101 reports the count, so DS102 starts there."""
    from loratui.doctor.catalog import thresholds_for

    tiny = ctx.catalog.get("DS101")
    return int(thresholds_for(tiny, ctx.options.overrides)["min_images"]) if tiny else 0


@predicate("dataset_small")
def dataset_small(inp, ctx, rule, th):
    n = len(_ds(inp).images)
    if _tiny_limit(ctx) <= n < th["recommended_min"]:
        yield Hit({"n": n})


def training_size(ds, default: int) -> tuple[tuple[int, int], str]:
    """((width, height), which) the images are trained at: the resolution of the config that
    points at this folder, else the rule's default (SD1.5's native 512)."""
    res = F.resolution(ds.config) if ds.config is not None else None
    if res:
        return res, Text(N_("the config's training resolution"))
    return (default, default), Text(N_("SD1.5's native size"))


@predicate("images_not_native")
def images_not_native(inp, ctx, rule, th):
    ds = _ds(inp)
    cfg = ds.config
    if cfg is not None and cfg.get("enable_bucket"):
        return
    (w, h), which = training_size(ds, int(th["size"]))
    sized = [i for i in ds.images if i.width]
    off = [i for i in sized if (i.width, i.height) != (w, h)]
    if off:
        shapes = Counter(f"{i.width}x{i.height}" for i in off).most_common(3)
        yield Hit({"n": len(off), "total": len(sized), "size": f"{w}x{h}", "which": which,
                   "shapes": ", ".join(f"{s} ×{c}" for s, c in shapes)})


@predicate("images_too_small")
def images_too_small(inp, ctx, rule, th):
    ds = _ds(inp)
    (w, h), which = training_size(ds, int(th["min_side"]))
    side = min(w, h)
    small = [i.path for i in ds.images if i.width and min(i.width, i.height) < side]
    if small:
        yield Hit({"n": len(small), "min_side": side, "which": which,
                   "examples": _examples(small, ds.root)})


@predicate("missing_captions")
def missing_captions(inp, ctx, rule, th):
    ds = _ds(inp)
    missing = [i.path for i in ds.images if i.caption_path is None]
    if not missing or not ds.images:
        return
    other = {e: c for e, c in ds.caption_exts.items() if e != ds.caption_extension}
    if ds.caption_extension and other and len(missing) == len(ds.images):
        return  # every caption has another extension: that is caption-extension-mismatch
    yield Hit({"n": len(missing), "total": len(ds.images),
               "ext": ds.caption_extension or Text(N_("any caption extension")),
               "examples": _examples(missing, ds.root)})


@predicate("caption_extension_mismatch")
def caption_extension_mismatch(inp, ctx, rule, th):
    ds = _ds(inp)
    if not ds.caption_extension or not ds.images:
        return
    found = sum(1 for i in ds.images if i.caption_path is not None)
    other = {e: c for e, c in ds.caption_exts.items() if e != ds.caption_extension}
    if found == 0 and other:
        ext = max(other, key=other.get)
        yield Hit({"ext": ds.caption_extension, "found": ext, "count": other[ext]})


@predicate("folder_layout")
def folder_layout(inp, ctx, rule, th):
    ds = _ds(inp)
    name = os.path.basename(os.path.normpath(ds.root))
    if ds.layout == "kohya" and (REPEATS_RE.match(name) or (ds.root_images and not ds.subdirs)):
        yield Hit({"problem": Text(N_("`{path}` holds the images itself; train_data_dir must "
                                      "be its parent (the folder that contains `N_name` "
                                      "folders): sd-scripts finds no data"), path=ds.root)})
        return
    bad = [n for n, count in ds.subdirs if count and not REPEATS_RE.match(n)]
    good = [n for n, count in ds.subdirs if count and REPEATS_RE.match(n)]
    if ds.layout == "kohya" or good:
        for n in bad:
            fix = re.sub(r"^(\d+)\s+", r"\1_", n) if re.match(r"^\d+\s", n) else f"10_{n}"
            yield Hit({"problem": Text(N_("sub-folder `{name}` is not named "
                                          "`<repeats>_<name>` (e.g. `{example}`): sd-scripts "
                                          "stops with \"invalid literal for int()\""),
                                       name=n, example=fix)})


@predicate("duplicate_stems")
def duplicate_stems(inp, ctx, rule, th):
    ds = _ds(inp)
    if ds.duplicate_stems:
        from loratui.userfiles import shown

        groups = "; ".join(" + ".join(shown(os.path.basename(p)) for p in g) for g in ds.duplicate_stems[:3])
        yield Hit({"n": len(ds.duplicate_stems), "groups": groups})


@predicate("junk_files")
def junk_files(inp, ctx, rule, th):
    ds = _ds(inp)
    bad = ds.junk + ds.double_ext
    if bad:
        yield Hit({"n": len(bad), "examples": _examples(bad, ds.root)})


@predicate("unreadable_images")
def unreadable_images(inp, ctx, rule, th):
    ds = _ds(inp)
    bad = [i for i in ds.images if i.error]
    if bad:
        yield Hit({"n": len(bad), "examples": _examples([i.path for i in bad], ds.root),
                   "error": bad[0].error}, image=str(bad[0].path))


@predicate("non_utf8_captions")
def non_utf8_captions(inp, ctx, rule, th):
    ds = _ds(inp)
    bad = [i for i in ds.images if i.caption_error]
    if bad:
        yield Hit({"n": len(bad), "examples": _examples([i.caption_path for i in bad], ds.root),
                   "detail": bad[0].caption_error}, image=str(bad[0].caption_path))


@predicate("empty_captions")
def empty_captions(inp, ctx, rule, th):
    ds = _ds(inp)
    # (a caption that could not be read at all, None, is another rule's finding)
    empty = [i.caption_path for i in ds.images if i.caption_path is not None and
             i.caption is not None and not i.caption.strip()]
    if empty:
        yield Hit({"n": len(empty), "examples": _examples(empty, ds.root)})


def _has_cjk(text: str) -> bool:
    from loratui.cjk import has_cjk

    return has_cjk(text)


def _first_tag(caption: str) -> str:
    return re.split(r"[,\n]", caption.strip(), maxsplit=1)[0].strip().lower()


@predicate("dataset_trigger")
def dataset_trigger(inp, ctx, rule, th):
    ds = _ds(inp)
    caps = [i.caption for i in ds.images if i.caption]
    if len(caps) < 2:
        return
    cfg_trigger = str(ds.config.get("trigger_word") or "").strip() if ds.config else ""
    if cfg_trigger:
        missing = [c for c in caps if cfg_trigger.lower() not in c.lower()]
        if missing:
            yield Hit({"problem": Text(N_("the trigger word `{word}` is missing from {n} of "
                                          "{total} captions"), word=cfg_trigger,
                                       n=len(missing), total=len(caps))})
        return
    firsts = Counter(_first_tag(c) for c in caps)
    tag, count = firsts.most_common(1)[0]
    if count == len(caps) and tag:
        if common_trigger(tag, th):
            yield Hit({"problem": Text(N_("every caption starts with `{tag}`, a common "
                                          "phrase: use a unique trigger word instead"),
                                       tag=tag)})
        elif _has_cjk(tag):
            from loratui.dataset.trigger import cjk_tokens

            yield Hit({"problem": Text(N_("every caption starts with `{tag}`, in Chinese "
                                          "characters: CLIP splits it into {n} byte-level "
                                          "tokens that other Chinese words share, a weak "
                                          "trigger; put a unique ASCII one such as "
                                          "`hanfu_girl_` first"),
                                       tag=tag, n=len(cjk_tokens(tag)))})
    elif not any(all(w in c.lower() for c in caps) for w in re.findall(r"\w{4,}",
                                                                        caps[0].lower())[:20]):
        yield Hit({"problem": Text(N_("no word is shared by every caption, so there is no "
                                      "trigger word"))})


@predicate("transparent_images")
def transparent_images(inp, ctx, rule, th):
    ds = _ds(inp)
    bad = [i.path for i in ds.images if i.mode in ("RGBA", "LA", "PA", "La")]
    if bad:
        yield Hit({"n": len(bad), "examples": _examples(bad, ds.root)})


@predicate("odd_formats")
def odd_formats(inp, ctx, rule, th):
    ds = _ds(inp)
    bad = [i.path for i in ds.images if os.path.splitext(i.path)[1].lower() in ODD_FORMATS]
    if bad:
        yield Hit({"n": len(bad), "examples": _examples(bad, ds.root)})


# Words that make a caption a sentence rather than a tag list. Booru / WD14 tags are short
# noun phrases ("long hair", "looking at viewer") and rarely carry articles or finite verbs.
_PROSE_WORDS = frozenset((
    "a", "an", "the", "is", "are", "was", "were", "this", "that", "there", "these", "those",
    "and", "her", "his", "their", "its", "which", "who", "stands", "standing", "sits",
    "sitting", "wearing", "holds", "holding", "shows", "showing"))
_WORD_RE = re.compile(r"[^\W\d_]+|\d+\w*")
# Tag separators turned into commas (a regex class with CJK characters in it costs ~0.2 ms
# of start-up to compile).
_TAG_SEPARATORS = str.maketrans("\n，、", ",,,")


def caption_style(caption: str) -> str | None:
    """'tags', 'prose' or None (too short to tell) for one caption."""
    text = caption.strip()
    if not text:
        return None
    parts = [p.strip() for p in text.translate(_TAG_SEPARATORS).split(",") if p.strip()]
    words = [w.lower() for w in _WORD_RE.findall(text)]
    function = sum(1 for w in words if w in _PROSE_WORDS)
    longest = max(len(p.split()) for p in parts)
    if text.endswith(".") or function >= 2 or (function and longest >= 4) or longest >= 7:
        return "prose"
    if len(parts) >= 2 or "_" in text:
        return "tags"
    return None  # a bare word or phrase ("ohwx", "red dress"): either style


@predicate("mixed_caption_styles")
def mixed_caption_styles(inp, ctx, rule, th):
    ds = _ds(inp)
    styles = Counter(caption_style(i.caption) for i in ds.images if i.caption)
    tags, prose = styles["tags"], styles["prose"]
    if tags + prose < 10:
        return
    if min(tags, prose) / (tags + prose) >= th["min_fraction"]:
        yield Hit({"tags": tags, "prose": prose})

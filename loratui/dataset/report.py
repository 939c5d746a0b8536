"""The typed result of a dataset scan: per-image records, findings and totals.

Everything here is plain records of str/int/float/bool/list/dict, so a report
round-trips through JSON (`DatasetReport.to_json()` / `DatasetReport.from_dict()`)
and the doctor, the wizard and `loratui dataset scan --json` all read the same data.
Importing this module costs nothing: the records are plain classes (`Record`), not
dataclasses, because `dataclasses` pulls in `inspect`/`ast`/`dis` and builds each class
at import, which is most of what `loratui doctor` on a config with a dataset paid.
"""

from __future__ import annotations

from itertools import islice, repeat
from operator import attrgetter

from loratui.i18n import N_

TYPE_CHECKING = False  # not typing's: importing typing costs the doctor's start-up time
if TYPE_CHECKING:
    from typing import Any

SCHEMA_VERSION = 1

# kind -> (severity, refs, fix). Refs point at PITFALLS (Pn) and FAILURES section B (Dnn)
# or A (Cnn). The doctor's `rules/dataset.toml` maps kinds to its own codes.
KINDS: dict[str, tuple[str, tuple[str, ...], str]] = {
    # -- size of the set --------------------------------------------------------------
    "no-images": ("error", ("P2", "D01"),
                  N_("Point at the folder that holds the images (or the parent of `N_name` folders).")),
    "very-few-images": ("warning", ("P2",),
                        N_("Collect more images: the guide recommends 100–300 (its good runs used "
                           "120 and 300).")),
    "too-few-images": ("info", ("P2",),
                       N_("Add images if the result overfits: the guide recommends 100–300; fewer "
                          "can work for a character, with fewer repeats/epochs.")),
    "many-images": ("info", ("P2", "P6"),
                    N_("More than the guide's 100–300: fine if they share one source and style; "
                       "otherwise trim to the most consistent ones.")),
    # -- resolution / pixels ----------------------------------------------------------
    "not-512": ("info", ("P3", "P4"),
                N_("Not the training resolution (dataset.resolution; SD1.5's native size is "
                   "512×512): `loratui dataset prepare DIR --out DIR2` crops (or `--mode bucket` "
                   "buckets) without distorting.")),
    "small-image": ("warning", ("P3", "D09"),
                    N_("Short side below the training resolution: it will be upscaled (soft, "
                       "blurry detail is learned). Replace with a larger original or drop it.")),
    "extreme-aspect": ("info", ("P4", "D10"),
                       N_("Centre-cropping keeps only the middle: use `--mode bucket` or crop by hand.")),
    "alpha": ("warning", ("D08",),
              N_("Transparency is dropped by trainers and the background colour gets learned: "
                 "prepare flattens onto `--background` (pick the colour you want).")),
    "palette": ("info", ("D08",), N_("Palette image: prepare converts it to RGB.")),
    "cmyk": ("warning", ("D08",), N_("CMYK image: colours shift when a trainer converts it; prepare "
                "converts to RGB.")),
    "16-bit": ("info", ("D08",), N_("16-bit image: prepare converts to 8-bit RGB.")),
    "grayscale": ("info", ("D08", "P6"), N_("Greyscale image in a colour set: the LoRA may learn to "
                     "drain colour. Keep it only if that is the style.")),
    "animated": ("warning", ("D11",), N_("An animated image (GIF, APNG, animated WebP): "
                 "trainers read its first frame only. Export the frame you want as a still "
                 "PNG or JPEG (prepare keeps the first frame in the copy).")),
    "exif-rotated": ("info", ("P4",), N_("EXIF says the image is rotated; some loaders ignore it and "
                        "train on sideways pictures. prepare applies the rotation.")),
    # -- broken files -----------------------------------------------------------------
    "empty-file": ("error", ("D05",), N_("0-byte file: delete it (an interrupted copy or download).")),
    "truncated": ("error", ("D05",), N_("The file ends early (interrupted copy or download): copy "
                     "it again or delete it.")),
    "corrupt": ("error", ("D05",), N_("Not a readable image: re-export it or delete it.")),
    "wrong-extension": ("warning", ("D05",), N_("The extension lies about the content: rename the "
                           "file to its real format's extension.")),
    "unsupported-format": ("error", ("D11",), N_("Trainers skip or mis-read this format: convert to "
                              "PNG or JPEG (prepare does it for the copy).")),
    "decompression-bomb": ("error", ("D05",), N_("Refused: too many pixels to decode safely. "
                              "Downscale it with an image editor if it is genuine.")),
    "junk-file": ("warning", ("D05",), N_("OS metadata file (macOS `._*`, .DS_Store, Thumbs.db) that "
                     "trainers try to open as an image: delete it.")),
    "double-extension": ("warning", ("D05",), N_("Double extension (e.g. `.png.jpg`): rename to one.")),
    "unreadable": ("error", ("D05",), N_("Cannot be read (permissions or I/O error): check the file.")),
    "broken-symlink": ("error", ("D05",), N_("Symbolic link to nothing: fix or delete the link.")),
    "not-a-file": ("error", ("D05",), N_("A folder or a named pipe has an image's or a "
                      "caption's name: trainers fail on it or find no caption (a pipe can "
                      "even stop them, waiting for a writer). Rename or delete it.")),
    "symlink-loop": ("warning", (), N_("A folder link points back into the tree: skipped once.")),
    "same-stem": ("error", ("D06",), N_("Two images share a name stem (`a.png` + `a.jpg`): they share "
                     "one caption and one latent cache. Rename or delete one.")),
    "exact-duplicate": ("warning", ("P6", "P2"), N_("Byte-identical copies weigh one image double and "
                           "overfit it: delete the copies.")),
    "near-duplicate": ("info", ("P6", "P2"), N_("Nearly identical images (perceptual hash): keep the "
                          "best one unless the differences matter.")),
    "latent-cache": ("info", ("D07",), N_("`.npz` latent caches beside the images: delete them if you "
                        "changed resolution or bucketing.")),
    # -- captions ---------------------------------------------------------------------
    "caption-missing": ("warning", ("P5", "P1"), N_("Caption it: `loratui dataset caption DIR --model "
                           "PATH` (BLIP), then edit by hand.")),
    "caption-empty": ("warning", ("P5", "P1"), N_("Empty caption: write one or run "
                         "`loratui dataset caption DIR --model PATH --overwrite-empty`.")),
    "caption-not-utf8": ("error", ("D04",), N_("Re-save the caption as UTF-8 (prepare converts the "
                            "copy).")),
    "caption-too-large": ("error", ("D04",), N_("A caption file of megabytes is no caption (a "
                             "log, a dump or a binary file named like one): trainers read it "
                             "whole as the caption. Replace it with the real caption.")),
    "caption-bom": ("warning", ("D04", "P7"), N_("UTF-8 byte-order mark: it becomes part of the first "
                       "tag (the trigger word). prepare strips it in the copy.")),
    "caption-other-extension": ("error", ("C01",), N_("Captions exist with another extension than "
                                   "the config's: rename them or set `dataset.caption_extension`.")),
    "caption-too-long": ("warning", ("P5",), N_("CLIP reads 75 tokens; the rest is cut off. Shorten "
                            "it or move the key tags first.")),
    "caption-no-trigger": ("error", ("P7",), N_("Without the trigger word the model 'does not "
                              "recognise your LoRA': `loratui dataset prepare ... --trigger WORD` "
                              "inserts it in the copy.")),
    "trigger-not-first": ("info", ("P7",), N_("Put the trigger word first (kept in place by "
                             "`keep_tokens` when tags are shuffled).")),
    "caption-style-mixed": ("warning", ("P6", "P33"), N_("Mix of tag lists and sentences: pick one "
                               "style for every caption (style collapse otherwise).")),
    "caption-orphan": ("info", ("D06",), N_("Caption file with no image of the same stem.")),
    # -- trigger word (check_trigger) ----------------------------------------------------
    "trigger-empty": ("warning", ("P7",), N_("Choose a unique trigger word such as `hanfu_girl_` "
                         "and put it first in every caption.")),
    "trigger-space": ("error", ("P7",), N_("No spaces: join the parts with `_` and make it unique "
                         "(e.g. `hanfu_girl_`).")),
    "trigger-punctuation": ("error", ("P7",), N_("Commas and other separators split the trigger into "
                               "several tags: use letters, digits and `_` only.")),
    "trigger-english-word": ("error", ("P7",), N_("An everyday English word already means something "
                                "to the model: use a unique token-like word.")),
    "trigger-common-phrase": ("error", ("P7",), N_("Made only of everyday English words (like "
                                 "`beautiful girl`): add a unique part, e.g. `hanfu_girl_`.")),
    "trigger-run-together": ("warning", ("P7",), N_("Reads as English words run together: the "
                                "tokenizer splits it into those words. Add a unique part.")),
    "trigger-short": ("warning", ("P7",), N_("Very short triggers collide with existing tokens: use "
                         "at least 4 characters.")),
    "trigger-non-ascii": ("warning", ("P7",), N_("CLIP's tokenizer handles non-ASCII text poorly: "
                             "prefer ASCII letters, digits and `_`.")),
    "trigger-cjk": ("warning", ("P7",), N_("CLIP's vocabulary has almost no Chinese: the trigger "
                       "is learned from byte pieces that other Chinese words share. Use a unique "
                       "ASCII prefix from its meaning or pinyin, as the guide does: `hanfu_girl_` "
                       "for 汉服女孩 (Chinese tags can stay after it in the captions).")),
    "trigger-known-token": ("warning", ("P7",), N_("The tokenizer has this as one existing token: it "
                               "already means something. Make it unusual.")),
    "trigger-many-tokens": ("info", ("P7",), N_("Splits into many tokens: shorter triggers leave "
                               "more of CLIP's 75 tokens to the caption.")),
    # -- layout ------------------------------------------------------------------------
    "images-in-parent": ("error", ("D01",), N_("Images beside `N_name` folders are ignored by kohya: "
                            "move them into a `N_name` folder.")),
    "leaf-folder": ("warning", ("D01",), N_("This is a `N_name` folder itself: for kohya, point "
                       "`train_data_dir` at its parent.")),
    "bad-folder-name": ("error", ("D02",), N_("Folder beside `N_name` folders is not named "
                           "`<repeats>_<name>` (e.g. `10_hanfu`): rename it (underscore, no space).")),
    "stray-folder": ("warning", ("D02",), N_("Folder without images among `N_name` folders; some "
                        "trainers fail on it: move it out.")),
    "nested-images": ("warning", ("D01",), N_("Images in sub-sub-folders are not read by kohya "
                         "(non-recursive): move them up.")),
}

# kind -> the `loratui doctor` rule that reports it (rules/dataset.toml, dataset-scan.toml).
DOCTOR_CODES: dict[str, str] = {
    "no-images": "DS101", "very-few-images": "DS101", "too-few-images": "DS102",
    "many-images": "DS213",
    "not-512": "DS103", "small-image": "DS104", "caption-missing": "DS105",
    "caption-other-extension": "DS106", "images-in-parent": "DS107", "leaf-folder": "DS107",
    "bad-folder-name": "DS107", "stray-folder": "DS107", "same-stem": "DS108",
    "junk-file": "DS109", "double-extension": "DS109", "empty-file": "DS110",
    "truncated": "DS110", "corrupt": "DS110", "decompression-bomb": "DS110",
    "unreadable": "DS110", "caption-not-utf8": "DS111", "caption-empty": "DS112",
    "caption-no-trigger": "DS113", "alpha": "DS114", "unsupported-format": "DS115",
    "caption-style-mixed": "DS116", "wrong-extension": "DS201", "exact-duplicate": "DS202",
    "near-duplicate": "DS203", "caption-too-long": "DS204", "caption-bom": "DS205",
    "trigger-not-first": "DS206", "exif-rotated": "DS207", "cmyk": "DS208", "16-bit": "DS208",
    "grayscale": "DS208", "palette": "DS208", "extreme-aspect": "DS209",
    "latent-cache": "DS210", "broken-symlink": "DS211", "symlink-loop": "DS211",
    "nested-images": "DS212", "animated": "DS214", "not-a-file": "DS215",
    "caption-too-large": "DS215",
}

SEVERITY_ORDER = {"info": 0, "warning": 1, "error": 2}

# kinds on a usable image that say its caption name holds no caption (a folder, a pipe, a
# file of megabytes, one that cannot be read): writers leave such a name alone
UNUSABLE_CAPTION = frozenset({"not-a-file", "caption-too-large", "unreadable"})


class Record:
    """A plain record: fields named in `_fields` (in order), equality and repr over them,
    unhashable, like a dataclass of the same fields."""

    __slots__ = ()
    _fields: tuple[str, ...] = ()
    __hash__ = None  # type: ignore[assignment]

    def __eq__(self, other: object) -> bool:
        if other.__class__ is not self.__class__:
            return NotImplemented
        return all(getattr(self, n) == getattr(other, n) for n in self._fields)

    def __repr__(self) -> str:
        inner = ", ".join(f"{n}={getattr(self, n)!r}" for n in self._fields)
        return f"{type(self).__qualname__}({inner})"

    def as_dict(self) -> dict[str, Any]:
        """Field name -> value (shallow)."""
        return {n: getattr(self, n) for n in self._fields}

    def replace(self, **changes: Any):
        """A copy with `changes` (as `dataclasses.replace`)."""
        return type(self)(**{**self.as_dict(), **changes})


class Finding(Record):
    """One kind of problem and every file it was found in (aggregated, not one per file)."""

    _fields = ("kind", "severity", "message", "paths", "refs", "fix", "details")

    def __init__(self, kind: str, severity: str, message: str, paths: list[str] | None = None,
                 refs: list[str] | None = None, fix: str = "",
                 details: dict[str, str] | None = None) -> None:
        self.kind = kind
        self.severity = severity
        self.message = message
        self.paths: list[str] = [] if paths is None else paths
        self.refs: list[str] = [] if refs is None else refs
        self.fix = fix
        self.details: dict[str, str] = {} if details is None else details  # path -> what

    @property
    def count(self) -> int:
        return len(self.paths)


class ImageRecord(Record):
    """What the scan learned about one image file (paths are relative to the report root).
    format: detected from content (PNG, JPEG, WEBP, BMP, GIF, TIFF, ...); width/height:
    stored pixels, before EXIF rotation (what sd-scripts loads); mode: PIL mode name;
    orientation: EXIF (1 = upright); ok: usable for training; caption_tokens: CLIP tokens
    (exact with a tokenizer, else an estimate); caption_style: "tags", "sentence" or "";
    phash: perceptual hash (hex) when duplicates were checked; is_reg: from the
    regularisation folder."""

    _fields = ("path", "subset", "bytes", "format", "width", "height", "mode", "has_alpha",
               "orientation", "ok", "caption_path", "caption", "caption_tokens",
               "caption_style", "phash", "is_reg", "problems")
    __slots__ = _fields

    def __init__(self, path: str, subset: str = "", bytes: int = 0, format: str = "",
                 width: int = 0, height: int = 0, mode: str = "", has_alpha: bool = False,
                 orientation: int = 1, ok: bool = True, caption_path: str = "",
                 caption: str | None = None, caption_tokens: int = 0, caption_style: str = "",
                 phash: str = "", is_reg: bool = False,
                 problems: list[str] | None = None) -> None:
        self.path = path
        self.subset = subset
        self.bytes = bytes
        self.format = format
        self.width = width
        self.height = height
        self.mode = mode
        self.has_alpha = has_alpha
        self.orientation = orientation
        self.ok = ok
        self.caption_path = caption_path
        self.caption = caption
        self.caption_tokens = caption_tokens
        self.caption_style = caption_style
        self.phash = phash
        self.is_reg = is_reg
        self.problems: list[str] = [] if problems is None else problems

    @property
    def short_side(self) -> int:
        return min(self.width, self.height)

    @property
    def aspect(self) -> float:
        return self.width / self.height if self.height else 0.0


class Subset(Record):
    """One image folder: the root of a flat set, or a kohya `N_name` folder."""

    _fields = ("path", "repeats", "name", "is_reg", "images")

    def __init__(self, path: str, repeats: int = 1, name: str = "", is_reg: bool = False,
                 images: int = 0) -> None:
        self.path = path
        self.repeats = repeats
        self.name = name
        self.is_reg = is_reg
        self.images = images


class Totals(Record):
    """Counts over the whole dataset (training subsets; reg images apart). images: image
    files found (training subsets, not reg); usable: images that can be trained on;
    steps_per_epoch_images: usable training images x repeats; resolutions: "WxH" -> count;
    short_sides: "<256", "256-511", ...; aspects: "portrait", "square", ...; buckets: SD1.5
    bucket -> count; caption_files: extension -> files found."""

    _fields = ("images", "usable", "broken", "reg_images", "steps_per_epoch_images",
               "captioned", "resolutions", "short_sides", "aspects", "buckets", "modes",
               "formats", "caption_styles", "caption_files")

    def __init__(self, images: int = 0, usable: int = 0, broken: int = 0, reg_images: int = 0,
                 steps_per_epoch_images: int = 0, captioned: int = 0,
                 resolutions: dict[str, int] | None = None,
                 short_sides: dict[str, int] | None = None,
                 aspects: dict[str, int] | None = None, buckets: dict[str, int] | None = None,
                 modes: dict[str, int] | None = None, formats: dict[str, int] | None = None,
                 caption_styles: dict[str, int] | None = None,
                 caption_files: dict[str, int] | None = None) -> None:
        self.images = images
        self.usable = usable
        self.broken = broken
        self.reg_images = reg_images
        self.steps_per_epoch_images = steps_per_epoch_images
        self.captioned = captioned
        self.resolutions: dict[str, int] = {} if resolutions is None else resolutions
        self.short_sides: dict[str, int] = {} if short_sides is None else short_sides
        self.aspects: dict[str, int] = {} if aspects is None else aspects
        self.buckets: dict[str, int] = {} if buckets is None else buckets
        self.modes: dict[str, int] = {} if modes is None else modes
        self.formats: dict[str, int] = {} if formats is None else formats
        self.caption_styles: dict[str, int] = {} if caption_styles is None else caption_styles
        self.caption_files: dict[str, int] = {} if caption_files is None else caption_files


class DatasetReport(Record):
    """What a scan found: subsets, images, findings and totals. layout: "flat", "kohya" or
    "leaf"."""

    _fields = ("root", "layout", "deep", "duplicates_checked", "caption_extension",
               "trigger_word", "resolution", "tokens_exact", "subsets", "images", "findings",
               "totals", "elapsed_s", "schema_version")

    def __init__(self, root: str, layout: str = "flat", deep: bool = False,
                 duplicates_checked: bool = False, caption_extension: str = ".txt",
                 trigger_word: str = "", resolution: int = 512, tokens_exact: bool = False,
                 subsets: list[Subset] | None = None, images: list[ImageRecord] | None = None,
                 findings: list[Finding] | None = None, totals: Totals | None = None,
                 elapsed_s: float = 0.0, schema_version: int = SCHEMA_VERSION) -> None:
        self.root = root
        self.layout = layout
        self.deep = deep
        self.duplicates_checked = duplicates_checked
        self.caption_extension = caption_extension
        self.trigger_word = trigger_word
        self.resolution = resolution
        self.tokens_exact = tokens_exact
        self.subsets: list[Subset] = [] if subsets is None else subsets
        self.images: list[ImageRecord] = [] if images is None else images
        self.findings: list[Finding] = [] if findings is None else findings
        self.totals = Totals() if totals is None else totals
        self.elapsed_s = elapsed_s
        self.schema_version = schema_version

    # -- queries used by the doctor and the UI ---------------------------------------
    def finding(self, kind: str) -> Finding | None:
        return next((f for f in self.findings if f.kind == kind), None)

    def by_severity(self, minimum: str = "info") -> list[Finding]:
        floor = SEVERITY_ORDER[minimum]
        return [f for f in self.findings if SEVERITY_ORDER[f.severity] >= floor]

    @property
    def worst(self) -> str:
        """Highest severity present, or "" when clean."""
        if not self.findings:
            return ""
        return max((f.severity for f in self.findings), key=SEVERITY_ORDER.__getitem__)

    def usable_images(self) -> list[ImageRecord]:
        return [r for r in self.images if r.ok]

    # -- (de)serialisation --------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """Plain dicts and lists (copies), as `dataclasses.asdict` would give, ~10x faster: a
        10,000-image report is mostly flat records that need no recursive copy."""
        out = {name: getattr(self, name) for name in _REPORT_SCALARS}
        out["subsets"] = [s.as_dict() for s in self.subsets]
        out["images"] = [_image_dict(r) for r in self.images]
        out["findings"] = [_finding_dict(f) for f in self.findings]
        out["totals"] = {k: dict(v) if isinstance(v, dict) else v
                         for k, v in zip(_TOTALS_FIELDS, _totals_values(self.totals),
                                         strict=True)}
        return {name: out[name] for name in _REPORT_FIELDS}

    def to_json(self, indent: int | None = 2) -> str:
        """JSON of `to_dict()`. With `indent`, top-level keys one per line and every image,
        finding and subset one record per line (readable, grep-able, and written by the C
        encoder: `json.dumps(indent=...)` falls back to the pure-Python one, several times
        slower on a large dataset); `indent=None`: one line. Strict JSON in valid UTF-8: a
        file name that is not UTF-8 is written with `\\xNN` escapes (`userfiles.json_safe`)."""
        return self.to_json_bytes(indent).decode("utf-8")

    def to_json_bytes(self, indent: int | None = 2) -> bytes:
        """`to_json()` in UTF-8."""
        return b"".join(self._json_pieces(indent))

    def write_json(self, stream: Any, indent: int | None = 2) -> None:
        """Write `to_json_bytes()` to the binary `stream` record by record (what
        `loratui dataset scan --json` does: no copy of the whole text is made)."""
        write = stream.write
        for piece in self._json_pieces(indent):
            write(piece)

    def _json_pieces(self, indent: int | None):
        """UTF-8 pieces of the JSON text: the top-level keys, and the rows of a list of
        records a few hundred rows at a time. A value JSON cannot hold (NaN, an infinity:
        ValueError) or UTF-8 cannot write (the undecodable bytes of a file name:
        UnicodeEncodeError, a ValueError too) is written from its safe copy."""
        encode = _row_encoder()

        def piece(value: Any) -> bytes:
            try:
                return encode(value).encode("utf-8")
            except ValueError:
                from loratui.userfiles import json_safe

                return encode(json_safe(value)).encode("utf-8")

        if indent is None:
            yield piece(self._rows())
            return
        pad, rows_pad = " " * indent, " " * (2 * indent)
        next_row = f",\n{rows_pad}"
        next_row_b = next_row.encode()
        yield b"{"
        # rows are made as they are written (each dict is dropped once encoded)
        for i, (key, value) in enumerate(self._rows(lazy=True).items()):
            head = f"{',' if i else ''}\n{pad}{encode(key)}: "      # keys are ASCII names
            if key in _ROW_LISTS and getattr(self, key):
                yield f"{head}[\n{rows_pad}".encode()
                lead = ""
                while batch := list(islice(value, _ROWS_PER_WRITE)):
                    try:
                        yield (lead + next_row.join(map(encode, batch))).encode("utf-8")
                    except ValueError:
                        yield lead.encode() + next_row_b.join(map(piece, batch))
                    lead = next_row
                yield f"\n{pad}]".encode()
            else:
                yield head.encode() + piece(value)
        yield b"\n}"

    def _rows(self, lazy: bool = False) -> dict[str, Any]:
        """`to_dict()` without its copies: dicts that share this report's lists, for
        encoding only. `lazy`: the lists of records as iterators of dicts."""
        out = {name: getattr(self, name) for name in _REPORT_SCALARS}
        rows = {"subsets": map(Record.as_dict, self.subsets),
                "images": map(dict, map(zip, repeat(_IMAGE_FIELDS),
                                        map(_image_values, self.images))),
                "findings": map(dict, map(zip, repeat(_FINDING_FIELDS),
                                          map(_finding_values, self.findings)))}
        out.update(rows if lazy else {k: list(v) for k, v in rows.items()})
        out["totals"] = dict(zip(_TOTALS_FIELDS, _totals_values(self.totals), strict=True))
        return {name: out[name] for name in _REPORT_FIELDS}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> DatasetReport:
        data = dict(data)
        data["subsets"] = [Subset(**s) for s in data.get("subsets", [])]
        data["images"] = [ImageRecord(**r) for r in data.get("images", [])]
        data["findings"] = [Finding(**f) for f in data.get("findings", [])]
        data["totals"] = Totals(**data.get("totals", {}))
        known = set(cls._fields)
        return cls(**{k: v for k, v in data.items() if k in known})


_REPORT_FIELDS = DatasetReport._fields
_REPORT_SCALARS = tuple(n for n in _REPORT_FIELDS
                        if n not in ("subsets", "images", "findings", "totals"))
_IMAGE_FIELDS = ImageRecord._fields
_image_values = attrgetter(*_IMAGE_FIELDS)
_FINDING_FIELDS = Finding._fields
_finding_values = attrgetter(*_FINDING_FIELDS)
_TOTALS_FIELDS = Totals._fields
_ROW_LISTS = ("subsets", "images", "findings")   # written one record per line
_ROWS_PER_WRITE = 256
_totals_values = attrgetter(*_TOTALS_FIELDS)


def _row_encoder():
    """`JSONEncoder(ensure_ascii=False, allow_nan=False).encode` for the report's plain data,
    with one C encoder made once instead of once a call (a report encodes one call per
    image). Falls back to the encoder's `encode` where the C accelerator is missing."""
    import json
    from json import encoder as _enc

    if _enc.c_make_encoder is None:
        return json.JSONEncoder(ensure_ascii=False, allow_nan=False).encode

    def default(o: Any) -> Any:
        raise TypeError(f"Object of type {type(o).__name__} is not JSON serializable")

    make = _enc.c_make_encoder(None, default, _enc.encode_basestring, None, ": ", ", ",
                               False, False, False)
    join = "".join

    def encode(o: Any) -> str:
        if isinstance(o, str):
            return _enc.encode_basestring(o)
        return join(make(o, 0))

    return encode


def _image_dict(r: ImageRecord) -> dict[str, Any]:
    d = dict(zip(_IMAGE_FIELDS, _image_values(r), strict=True))
    d["problems"] = list(r.problems)
    return d


def _finding_dict(f: Finding) -> dict[str, Any]:
    d = dict(zip(_FINDING_FIELDS, _finding_values(f), strict=True))
    d["paths"], d["refs"], d["details"] = list(f.paths), list(f.refs), dict(f.details)
    return d


def make_finding(kind: str, message: str, paths: list[str], *, severity: str | None = None,
                 extra_refs: tuple[str, ...] = (), details: dict[str, str] | None = None
                 ) -> Finding:
    """A Finding with the catalogue's severity, refs and fix for `kind`."""
    sev, refs, fix = KINDS[kind]
    merged = list(dict.fromkeys([*refs, *extra_refs]))
    return Finding(kind=kind, severity=severity or sev, message=message, paths=list(paths),
                   refs=merged, fix=fix, details=dict(details or {}))

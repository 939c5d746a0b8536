"""The typed result of a dataset scan: per-image records, findings and totals.

Everything here is plain dataclasses of str/int/float/bool/list/dict, so a report
round-trips through JSON (`DatasetReport.to_json()` / `DatasetReport.from_dict()`)
and the doctor, the wizard and `loratui dataset scan --json` all read the same data.
Importing this module costs nothing (stdlib only).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from operator import attrgetter
from typing import Any

SCHEMA_VERSION = 1

# kind -> (severity, refs, fix). Refs point at PITFALLS (Pn) and FAILURES section B (Dnn)
# or A (Cnn). The doctor's `rules/dataset.toml` maps kinds to its own codes.
KINDS: dict[str, tuple[str, tuple[str, ...], str]] = {
    # -- size of the set --------------------------------------------------------------
    "no-images": ("error", ("P2", "D01"),
                  "Point at the folder that holds the images (or the parent of `N_name` folders)."),
    "too-few-images": ("warning", ("P2",),
                       "Collect more images: the guide recommends 100–300 (its good runs used "
                       "120 and 300)."),
    "many-images": ("info", ("P2", "P6"),
                    "More than the guide's 100–300: fine if they share one source and style; "
                    "otherwise trim to the most consistent ones."),
    # -- resolution / pixels ----------------------------------------------------------
    "not-512": ("info", ("P3", "P4"),
                "Not the training resolution (dataset.resolution; SD1.5's native size is "
                "512×512): `loratui dataset prepare DIR --out DIR2` crops (or `--mode bucket` "
                "buckets) without distorting."),
    "small-image": ("warning", ("P3", "D09"),
                    "Short side below the training resolution: it will be upscaled (soft, "
                    "blurry detail is learned). Replace with a larger original or drop it."),
    "extreme-aspect": ("info", ("P4", "D10"),
                       "Centre-cropping keeps only the middle: use `--mode bucket` or crop by hand."),
    "alpha": ("warning", ("D08",),
              "Transparency is dropped by trainers and the background colour gets learned: "
              "prepare flattens onto `--background` (pick the colour you want)."),
    "palette": ("info", ("D08",), "Palette image: prepare converts it to RGB."),
    "cmyk": ("warning", ("D08",), "CMYK image: colours shift when a trainer converts it; prepare "
             "converts to RGB."),
    "16-bit": ("info", ("D08",), "16-bit image: prepare converts to 8-bit RGB."),
    "grayscale": ("info", ("D08", "P6"), "Greyscale image in a colour set: the LoRA may learn to "
                  "drain colour. Keep it only if that is the style."),
    "exif-rotated": ("info", ("P4",), "EXIF says the image is rotated; some loaders ignore it and "
                     "train on sideways pictures. prepare applies the rotation."),
    # -- broken files -----------------------------------------------------------------
    "empty-file": ("error", ("D05",), "0-byte file: delete it (an interrupted copy or download)."),
    "truncated": ("error", ("D05",), "The file ends early (interrupted copy or download): copy "
                  "it again or delete it."),
    "corrupt": ("error", ("D05",), "Not a readable image: re-export it or delete it."),
    "wrong-extension": ("warning", ("D05",), "The extension lies about the content: rename the "
                        "file to its real format's extension."),
    "unsupported-format": ("error", ("D11",), "Trainers skip or mis-read this format: convert to "
                           "PNG or JPEG (prepare does it for the copy)."),
    "decompression-bomb": ("error", ("D05",), "Refused: too many pixels to decode safely. "
                           "Downscale it with an image editor if it is genuine."),
    "junk-file": ("warning", ("D05",), "OS metadata file (macOS `._*`, .DS_Store, Thumbs.db) that "
                  "trainers try to open as an image: delete it."),
    "double-extension": ("warning", ("D05",), "Double extension (e.g. `.png.jpg`): rename to one."),
    "unreadable": ("error", ("D05",), "Cannot be read (permissions or I/O error): check the file."),
    "broken-symlink": ("error", ("D05",), "Symbolic link to nothing: fix or delete the link."),
    "symlink-loop": ("warning", (), "A folder link points back into the tree: skipped once."),
    "same-stem": ("error", ("D06",), "Two images share a name stem (`a.png` + `a.jpg`): they share "
                  "one caption and one latent cache. Rename or delete one."),
    "exact-duplicate": ("warning", ("P6", "P2"), "Byte-identical copies weigh one image double and "
                        "overfit it: delete the copies."),
    "near-duplicate": ("info", ("P6", "P2"), "Nearly identical images (perceptual hash): keep the "
                       "best one unless the differences matter."),
    "latent-cache": ("info", ("D07",), "`.npz` latent caches beside the images: delete them if you "
                     "changed resolution or bucketing."),
    # -- captions ---------------------------------------------------------------------
    "caption-missing": ("warning", ("P5", "P1"), "Caption it: `loratui dataset caption DIR --model "
                        "PATH` (BLIP), then edit by hand."),
    "caption-empty": ("warning", ("P5", "P1"), "Empty caption: write one or run "
                      "`loratui dataset caption DIR --model PATH --overwrite-empty`."),
    "caption-not-utf8": ("error", ("D04",), "Re-save the caption as UTF-8 (prepare converts the "
                         "copy)."),
    "caption-bom": ("warning", ("D04", "P7"), "UTF-8 byte-order mark: it becomes part of the first "
                    "tag (the trigger word). prepare strips it in the copy."),
    "caption-other-extension": ("error", ("C01",), "Captions exist with another extension than "
                                "the config's: rename them or set `dataset.caption_extension`."),
    "caption-too-long": ("warning", ("P5",), "CLIP reads 75 tokens; the rest is cut off. Shorten "
                         "it or move the key tags first."),
    "caption-no-trigger": ("error", ("P7",), "Without the trigger word the model 'does not "
                           "recognise your LoRA': `loratui dataset prepare ... --trigger WORD` "
                           "inserts it in the copy."),
    "trigger-not-first": ("info", ("P7",), "Put the trigger word first (kept in place by "
                          "`keep_tokens` when tags are shuffled)."),
    "caption-style-mixed": ("warning", ("P6", "P33"), "Mix of tag lists and sentences: pick one "
                            "style for every caption (style collapse otherwise)."),
    "caption-orphan": ("info", ("D06",), "Caption file with no image of the same stem."),
    # -- trigger word (check_trigger) ----------------------------------------------------
    "trigger-empty": ("warning", ("P7",), "Choose a unique trigger word such as `hanfu_girl_` "
                      "and put it first in every caption."),
    "trigger-space": ("error", ("P7",), "No spaces: join the parts with `_` and make it unique "
                      "(e.g. `hanfu_girl_`)."),
    "trigger-punctuation": ("error", ("P7",), "Commas and other separators split the trigger into "
                            "several tags: use letters, digits and `_` only."),
    "trigger-english-word": ("error", ("P7",), "An everyday English word already means something "
                             "to the model: use a unique token-like word."),
    "trigger-common-phrase": ("error", ("P7",), "Made only of everyday English words (like "
                              "`beautiful girl`): add a unique part, e.g. `hanfu_girl_`."),
    "trigger-run-together": ("warning", ("P7",), "Reads as English words run together: the "
                             "tokenizer splits it into those words. Add a unique part."),
    "trigger-short": ("warning", ("P7",), "Very short triggers collide with existing tokens: use "
                      "at least 4 characters."),
    "trigger-non-ascii": ("warning", ("P7",), "CLIP's tokenizer handles non-ASCII text poorly: "
                          "prefer ASCII letters, digits and `_`."),
    "trigger-known-token": ("warning", ("P7",), "The tokenizer has this as one existing token: it "
                            "already means something. Make it unusual."),
    "trigger-many-tokens": ("info", ("P7",), "Splits into many tokens: shorter triggers leave "
                            "more of CLIP's 75 tokens to the caption."),
    # -- layout ------------------------------------------------------------------------
    "images-in-parent": ("error", ("D01",), "Images beside `N_name` folders are ignored by kohya: "
                         "move them into a `N_name` folder."),
    "leaf-folder": ("warning", ("D01",), "This is a `N_name` folder itself: for kohya, point "
                    "`train_data_dir` at its parent."),
    "bad-folder-name": ("error", ("D02",), "Folder beside `N_name` folders is not named "
                        "`<repeats>_<name>` (e.g. `10_hanfu`): rename it (underscore, no space)."),
    "stray-folder": ("warning", ("D02",), "Folder without images among `N_name` folders; some "
                     "trainers fail on it: move it out."),
    "nested-images": ("warning", ("D01",), "Images in sub-sub-folders are not read by kohya "
                      "(non-recursive): move them up."),
}

# kind -> the `loratui doctor` rule that reports it (rules/dataset.toml, dataset-scan.toml).
DOCTOR_CODES: dict[str, str] = {
    "no-images": "DS101", "too-few-images": "DS102", "many-images": "DS213",
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
    "nested-images": "DS212",
}

SEVERITY_ORDER = {"info": 0, "warning": 1, "error": 2}


@dataclass
class Finding:
    """One kind of problem and every file it was found in (aggregated, not one per file)."""

    kind: str
    severity: str
    message: str
    paths: list[str] = field(default_factory=list)
    refs: list[str] = field(default_factory=list)
    fix: str = ""
    details: dict[str, str] = field(default_factory=dict)   # path -> what exactly is wrong

    @property
    def count(self) -> int:
        return len(self.paths)


@dataclass(slots=True)
class ImageRecord:
    """What the scan learned about one image file (paths are relative to the report root)."""

    path: str
    subset: str = ""
    bytes: int = 0
    format: str = ""          # detected from content: PNG, JPEG, WEBP, BMP, GIF, TIFF, ...
    width: int = 0            # stored pixels, before EXIF rotation (what sd-scripts loads)
    height: int = 0
    mode: str = ""            # PIL mode name: RGB, RGBA, L, LA, P, CMYK, I;16, ...
    has_alpha: bool = False
    orientation: int = 1      # EXIF orientation (1 = upright)
    ok: bool = True           # usable for training
    caption_path: str = ""
    caption: str | None = None
    caption_tokens: int = 0   # CLIP tokens (exact with a tokenizer, else an estimate)
    caption_style: str = ""   # "tags", "sentence", "" (none)
    phash: str = ""           # perceptual hash (hex) when duplicates were checked
    is_reg: bool = False      # from the regularisation folder
    problems: list[str] = field(default_factory=list)

    @property
    def short_side(self) -> int:
        return min(self.width, self.height)

    @property
    def aspect(self) -> float:
        return self.width / self.height if self.height else 0.0


@dataclass
class Subset:
    """One image folder: the root of a flat set, or a kohya `N_name` folder."""

    path: str
    repeats: int = 1
    name: str = ""
    is_reg: bool = False
    images: int = 0


@dataclass
class Totals:
    """Counts over the whole dataset (training subsets; reg images apart)."""
    images: int = 0            # image files found (training subsets, not reg)
    usable: int = 0            # images that can be trained on
    broken: int = 0
    reg_images: int = 0
    steps_per_epoch_images: int = 0   # usable training images × repeats
    captioned: int = 0
    resolutions: dict[str, int] = field(default_factory=dict)     # "WxH" -> count
    short_sides: dict[str, int] = field(default_factory=dict)     # "<256", "256-511", ...
    aspects: dict[str, int] = field(default_factory=dict)         # "portrait", "square", ...
    buckets: dict[str, int] = field(default_factory=dict)         # SD1.5 bucket -> count
    modes: dict[str, int] = field(default_factory=dict)
    formats: dict[str, int] = field(default_factory=dict)
    caption_styles: dict[str, int] = field(default_factory=dict)
    caption_files: dict[str, int] = field(default_factory=dict)   # extension -> files found


@dataclass
class DatasetReport:
    """What a scan found: subsets, images, findings and totals."""
    root: str
    layout: str = "flat"            # "flat" | "kohya" | "leaf"
    deep: bool = False
    duplicates_checked: bool = False
    caption_extension: str = ".txt"
    trigger_word: str = ""
    resolution: int = 512
    tokens_exact: bool = False
    subsets: list[Subset] = field(default_factory=list)
    images: list[ImageRecord] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    totals: Totals = field(default_factory=Totals)
    elapsed_s: float = 0.0
    schema_version: int = SCHEMA_VERSION

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
        """Plain dicts and lists (copies), as `dataclasses.asdict` gives, ~10x faster: a
        10,000-image report is mostly flat records that need no recursive copy."""
        out = {name: getattr(self, name) for name in _REPORT_SCALARS}
        out["subsets"] = [asdict(s) for s in self.subsets]
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
        import json

        from loratui.userfiles import has_surrogates, json_safe

        encode = json.JSONEncoder(ensure_ascii=False, allow_nan=False).encode

        def build(data: dict[str, Any]) -> str:
            if indent is None:
                return encode(data)
            pad, rows_pad = " " * indent, " " * (2 * indent)
            parts = []
            for key, value in data.items():
                if isinstance(value, list) and value and isinstance(value[0], dict):
                    rows = f",\n{rows_pad}".join(map(encode, value))
                    parts.append(f"{pad}{encode(key)}: [\n{rows_pad}{rows}\n{pad}]")
                else:
                    parts.append(f"{pad}{encode(key)}: {encode(value)}")
            return "{\n" + ",\n".join(parts) + "\n}"

        data = self.to_dict()
        try:
            text = build(data)
        except ValueError:          # NaN or an infinity somewhere
            return build(json_safe(data))
        return build(json_safe(data)) if has_surrogates(text) else text

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> DatasetReport:
        data = dict(data)
        data["subsets"] = [Subset(**s) for s in data.get("subsets", [])]
        data["images"] = [ImageRecord(**r) for r in data.get("images", [])]
        data["findings"] = [Finding(**f) for f in data.get("findings", [])]
        data["totals"] = Totals(**data.get("totals", {}))
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})


_REPORT_FIELDS = tuple(f.name for f in fields(DatasetReport))
_REPORT_SCALARS = tuple(n for n in _REPORT_FIELDS
                        if n not in ("subsets", "images", "findings", "totals"))
_IMAGE_FIELDS = tuple(f.name for f in fields(ImageRecord))
_image_values = attrgetter(*_IMAGE_FIELDS)
_FINDING_FIELDS = tuple(f.name for f in fields(Finding))
_finding_values = attrgetter(*_FINDING_FIELDS)
_TOTALS_FIELDS = tuple(f.name for f in fields(Totals))
_totals_values = attrgetter(*_TOTALS_FIELDS)


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

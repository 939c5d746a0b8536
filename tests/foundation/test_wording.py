"""Counts in what a user reads: "1 caption", "2 captions", never "caption(s)"."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from itertools import pairwise
from pathlib import Path

import pytest

from loratui.wording import a_an, format_duration, plural

REPO = Path(__file__).resolve().parents[2]


def test_plural_and_article():
    assert plural(1, "caption") == "1 caption"
    assert plural(0, "caption") == "0 captions"
    assert plural(2, "sample image") == "2 sample images"
    assert plural(3, "kind", "kinds") == "3 kinds"
    assert a_an("8 GB card") == "an 8 GB card" and a_an("12 GB card") == "a 12 GB card"


def test_durations_read_alike_in_the_wizard_attach_and_watch():
    assert format_duration(99) == "1:39" and format_duration(3723.9) == "1:02:03"
    for unknown in (None, float("nan"), float("inf"), -5, True, "12"):
        assert format_duration(unknown) == "–"
    from rich.console import Console

    from loratui.cli.watch_view import render

    console = Console(width=100, record=True)
    console.print(render({"state": "running", "step": 10, "max_steps": 100},
                         [{"step": 10, "eta_s": 3723.0}], []))
    assert "ETA 1:02:03" in console.export_text()


def test_templates_choose_singular_or_plural_by_the_count():
    from loratui.doctor.engine import render

    template = "{n} of {total} {total:image|images} {n:has|have} no caption"
    assert render(template, {"n": 1, "total": 8}) == "1 of 8 images has no caption"
    assert render(template, {"n": 3, "total": 8}) == "3 of 8 images have no caption"
    assert render(template, {"n": 1, "total": 1}) == "1 of 1 image has no caption"
    # thresholds reach templates as display strings
    assert render("{m} {m:step|steps}, {x:>4}", {"m": "1", "x": 7}) == "1 step,    7"
    assert render("{m} {m:step|steps}", {"m": "10"}) == "10 steps"


@pytest.fixture(scope="module")
def demo_project(tmp_path_factory) -> Path:
    """The demo's dataset, its prepared copy and loratui.toml (no model: it takes seconds),
    plus the README's run (written by loratui's trainer) as the project's run."""
    from loratui.demo import DEMO_STEPS, run_demo

    root = tmp_path_factory.mktemp("wording") / "demo"
    steps = [s for s in DEMO_STEPS if s.name in ("dataset", "prepare", "config")]
    ctx = run_demo(root, steps=steps, log=lambda _msg: None)
    assert ctx.failed is None
    shutil.copytree(REPO / "tests" / "fixtures" / "readme-run", root / "runs" / "readme-run")
    return root


def _loratui(cwd: Path, *args: str) -> str:
    env = {**os.environ, "LORATUI_FAKE_GPU": "", "COLUMNS": "200"}
    out = subprocess.run([sys.executable, "-m", "loratui", *args], cwd=cwd, env=env,
                         capture_output=True, text=True, timeout=60)
    assert out.returncode in (0, 1), (args, out.stderr[-2000:])
    return out.stdout + out.stderr


COMMANDS = [
    ("dataset", "scan", "dataset", "--fail-on", "never"),
    ("dataset", "scan", "--config", "loratui.toml", "--json", "--fail-on", "never"),
    ("dataset", "prepare", "dataset", "--out", "copy", "--resolution", "64"),
    ("dataset", "trigger", "dataset", "lrt_girl"),
    ("dataset", "caption", "dataset_prepared", "--dedupe", "--dry-run"),
    ("config", "check", "loratui.toml"),
    ("doctor", "loratui.toml", "dataset", "runs/readme-run"),
    ("presets",),
    ("runs", "--config", "loratui.toml"),
    ("train", "--help"),
]


@pytest.mark.parametrize("args", COMMANDS, ids=lambda a: " ".join(a[:2]))
def test_main_commands_write_no_s_in_parentheses(demo_project, args):
    text = _loratui(demo_project, *args)
    assert text.strip(), args
    assert "(s)" not in text, [ln for ln in text.splitlines() if "(s)" in ln]


def test_one_of_a_kind_is_singular(demo_project):
    """The demo's dataset has exactly one image without a caption and one caption in
    another style: said in the singular."""
    text = _loratui(demo_project, "dataset", "scan", "dataset", "--fail-on", "never")
    assert "1 image without a .txt caption" in text
    assert re.search(r"\b1 (sentence|tag-list) caption among mostly", text), text
    assert "1 image folder," in text and "0 errors," in text


# -- one offending file: the doctor and the scanner say it in the singular -------------------

_PLURAL_NOUNS = (r"(?:images|captions|files|links|stems|tensors|modules|problems|lines|"
                 r"characters|tokens|folders|paths)")
# "1 images", "1 caption files", "1 .npz latent cache files" (but "1 of 8 images" is right)
_ONE_WITH_PLURAL = re.compile(rf"(?<![\w.,/×-])1 (?!of\b)(?:[\w.`'-]+ ){{0,3}}?{_PLURAL_NOUNS}\b")
# "1 of 8 images have", "1 image are", "1 caption files are"
_ONE_WITH_PLURAL_VERB = re.compile(
    r"(?<![\w.,/×-])1 (?:of \d+ )?(?:[\w.`'-]+ ){1,3}?(?:are|have|look|sit|start|contain)\b")
_LEFT_PLACEHOLDER = re.compile(r"\{\w+(?::[^{}]*)?\}")


def _picture(path: Path, size=(512, 512), colour=0, mode="RGB", fmt=None, **save) -> Path:
    from PIL import Image, ImageDraw

    path.parent.mkdir(parents=True, exist_ok=True)
    im = Image.new("RGB", size, ((colour * 37) % 256, (colour * 91) % 256, (colour * 53) % 256))
    ImageDraw.Draw(im).rectangle((colour % 7 * 20, 10, colour % 7 * 20 + 60, 90), fill="white")
    if mode != "RGB":
        im = im.convert(mode)
    im.save(path, format=fmt, **save)
    return path


def _one_offence_sets(root: Path) -> list[Path]:
    """Folders of seven good captioned 512×512 images plus exactly one offending file each
    (and a folder with a single image)."""
    from PIL import Image

    offences = {
        "small": lambda d: _picture(d / "odd.png", (640, 480), 90),
        "no-caption": lambda d: _picture(d / "bare.png", colour=91),
        "alpha": lambda d: _picture(d / "see-through.png", colour=92, mode="RGBA"),
        "cmyk": lambda d: _picture(d / "print.jpg", colour=93, mode="CMYK", fmt="JPEG"),
        "rotated": lambda d: _picture(d / "turned.jpg", colour=94, fmt="JPEG",
                                      exif=_rotated_exif()),
        "wide": lambda d: _picture(d / "wide.png", (1536, 512), 95),
        "empty-caption": lambda d: (_picture(d / "quiet.png", colour=96),
                                    (d / "quiet.txt").write_text("", encoding="utf-8")),
        "bom": lambda d: (_picture(d / "bom.png", colour=97),
                          (d / "bom.txt").write_bytes(b"\xef\xbb\xbfzq_girl_, red dress")),
        "not-utf8": lambda d: (_picture(d / "ansi.png", colour=98),
                               (d / "ansi.txt").write_bytes(b"zq_girl_, caf\xe9 \x93dress\x94")),
        "long-caption": lambda d: (_picture(d / "long.png", colour=99),
                                   (d / "long.txt").write_text(
                                       "zq_girl_, " + ", ".join(f"tag{i} word" for i in range(60)),
                                       encoding="utf-8")),
        "junk": lambda d: ((d / "._a0.png").write_bytes(b"\x00\x05\x16\x07" + b"\x00" * 80),
                           (d / "a0.npz").write_bytes(b"PK\x03\x04")),
        "broken-link": lambda d: os.symlink(d / "gone.png", d / "link.png"),
        "same-stem": lambda d: _picture(d / "a0.jpg", colour=100, fmt="JPEG"),
        "duplicate": lambda d: shutil.copy(d / "a1.png", d / "a1 copy.png"),
        "nested": lambda d: _picture(d / "more" / "deep.png", colour=101),
        "liar": lambda d: _picture(d / "liar.png", colour=102, fmt="JPEG"),
        "gif": lambda d: _picture(d / "anim.gif", colour=103, fmt="GIF"),
        "cut": lambda d: (d / "cut.png").write_bytes(
            _picture(d / "cut.png", colour=104).read_bytes()[:300]),
    }
    folders = []
    for k, (name, make) in enumerate(offences.items()):
        d = root / name
        for i in range(7):
            _picture(d / f"a{i}.png", colour=10 * k + i)
            (d / f"a{i}.txt").write_text(f"zq_girl_, red dress, garden, pose {i}",
                                         encoding="utf-8")
        make(d)
        folders.append(d)
    single = root / "single"
    _picture(single / "only.png", colour=200)
    (single / "only.txt").write_text("zq_girl_, red dress", encoding="utf-8")
    assert Image.open(single / "only.png").size == (512, 512)
    return [*folders, single]


def _rotated_exif():
    from PIL import Image

    exif = Image.Exif()
    exif[0x0112] = 6
    return exif


def _wrong_singulars(text: str) -> list[str]:
    return [ln for ln in text.splitlines()
            if _ONE_WITH_PLURAL.search(ln) or _ONE_WITH_PLURAL_VERB.search(ln)
            or _LEFT_PLACEHOLDER.search(ln) or "(s)" in ln]


def test_wording_checks_catch_wrong_singulars():
    assert _wrong_singulars("DS103 1 of 8 images have no caption file (.txt)")
    assert _wrong_singulars("1 caption files are empty (a.txt)")
    assert _wrong_singulars("1 .npz latent cache files beside the images")
    assert _wrong_singulars("only 1 images: far below")
    assert _wrong_singulars("1 {n:image|images} left as written")
    assert not _wrong_singulars("1 of 8 images has no caption file (.txt): e.g. a.png")
    assert not _wrong_singulars("1 caption file is empty; 3 images are fine; 512x1 images")


@pytest.fixture(scope="module")
def one_offence_sets(tmp_path_factory) -> list[Path]:
    return _one_offence_sets(tmp_path_factory.mktemp("one-offence"))


def test_doctor_on_one_offending_file_speaks_in_the_singular(one_offence_sets):
    """Every dataset rule that fires for exactly one file says so in the singular, in
    English; the Chinese texts fill in the same placeholders."""
    root = one_offence_sets[0].parent
    names = [str(d.relative_to(root)) for d in one_offence_sets]
    text = _loratui(root, "doctor", *names)
    codes = set(re.findall(r"\b(DS\d{3})\b", text))
    assert len(codes) >= 15, text          # the sets make most dataset rules fire
    assert "only 1 image:" in text and "1 of 8 images has no caption file" in text
    assert not _wrong_singulars(text), _wrong_singulars(text)
    zh = _loratui(root, "--lang", "zh", "doctor", *names)
    assert "张图" in zh and not _LEFT_PLACEHOLDER.search(zh), zh


def test_dataset_scan_on_one_offending_file_speaks_in_the_singular(one_offence_sets):
    from loratui.dataset import scan
    from loratui.dataset.text import render

    for folder in one_offence_sets:
        text = render(scan(folder, workers=1), max_paths=5)
        assert not _wrong_singulars(text), (folder.name, _wrong_singulars(text))


# -- piped at 80 columns: nothing wraps in the middle of a field --------------------------

NARROW_COMMANDS = [
    ("presets",), ("presets", "--all"), ("presets", "--gpu", "8GB"),
    ("doctor", "loratui.toml", "dataset", "runs/readme-run"), ("rule", "DS105"),
    ("runs", "--config", "loratui.toml"), ("dataset", "scan", "dataset", "--fail-on", "never"),
    ("dataset", "trigger", "dataset", "lrt_girl"), ("config", "check", "loratui.toml"),
    ("config", "show", "loratui.toml"), ("config", "export", "loratui.toml", "--out", "kohya"),
    ("doctor", "--list-rules"), ("--help",), ("dataset", "--help"), ("doctor", "--help"), ("train", "--help"),
    ("watch", "--help"), ("attach", "--help"), ("config", "--help"), ("presets", "--help"),
]
TABLES = {"presets", "runs"}      # rich tables wrap text inside their cells


def test_fit_wraps_under_the_text_and_keeps_commands_pasteable():
    from loratui.textfit import fit, fit_line, visible

    row = ("  loratui dataset scan ./train                     problems, sizes, captions "
           "(headers only)")
    assert fit_line(row, 80) == [row[:76], " " * 51 + "(headers only)"]
    command = ("  loratui dataset caption ./train_512 --remove-tag watermark --dedupe "
               "--add-prefix hanfu_girl_")
    assert fit_line(command, 80) == [
        "  loratui dataset caption ./train_512 --remove-tag watermark --dedupe \\",
        "      --add-prefix hanfu_girl_"]
    finding = ("warning caption-style-mixed      1 caption in a different style from the "
               "rest (sentence vs tags captions) [P6, P33]")
    assert fit_line(finding, 80)[1] == " " * 33 + "(sentence vs tags captions) [P6, P33]"
    helped = "    help: " + "crop or resize " * 6
    assert all(ln.startswith(" " * 10) for ln in fit_line(helped, 60)[1:])
    quoted = "  loratui watch train.log --notify 'curl -d \"$T: $M\" ntfy.sh/my-runs-for-today'"
    assert "'curl -d \"$T: $M\" ntfy.sh/my-runs-for-today'" in fit(quoted, 60)
    zh = "    只有 8 张图：远少于指南建议的 100~300 张（它的两个成功例子用了 120 张和 300 张）"
    assert all(visible(ln) <= 60 for ln in fit(zh, 60).splitlines())
    coloured = "    \x1b[2m" + "word " * 20 + "\x1b[0m"
    assert all(visible(ln) <= 40 for ln in fit(coloured, 40).splitlines())
    assert fit("/a/very/long/path/" * 6, 40) == "/a/very/long/path/" * 6    # one word: whole
    # a sentence that opens with a tool's name is prose, not a command to keep pasteable
    prose = "    accelerate refused bf16: the log runs on Apple's MPS device, so it stops"
    assert fit_line(prose, 60) == ["    accelerate refused bf16: the log runs on Apple's MPS",
                                   "    device, so it stops"]


def _piped(cwd: Path, *args: str, columns: str | None = None) -> str:
    """The command's stdout and stderr as a pipe gets them (no terminal: 80 columns)."""
    env = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "LINES")}
    env["LORATUI_FAKE_GPU"] = ""
    if columns:
        env["COLUMNS"] = columns
    out = subprocess.run([sys.executable, "-m", "loratui", *args], cwd=cwd, env=env,
                         capture_output=True, text=True, timeout=60)
    assert out.returncode in (0, 1), (args, out.stderr[-2000:])
    return out.stdout + out.stderr


def _too_wide(text: str, width: int = 80) -> list[str]:
    """Lines wider than `width` that could have been broken: a lone long word or a TOML
    value (never wrapped: it must stay valid) may be wider."""
    from rich.cells import cell_len

    return [ln for ln in text.splitlines() if cell_len(ln) > width and " " in ln.strip()
            and not re.match(r"\s*[\w.]+ = [^#]*$", ln)]


def _split_fields(text: str) -> list[str]:
    """A field's `label:` left at the end of a line with its value on the next, unindented
    line (`GPU: …   family:` / `SD1.5`), or a ` \\` continuation that no indented line
    continues."""
    lines = text.splitlines()
    bad = []
    for line, after in pairwise(lines):
        indent = len(line) - len(line.lstrip())
        deeper = after.strip() and len(after) - len(after.lstrip()) > indent
        if re.search(r"(^|\S {2,})[\w/-]+:$", line.rstrip()) and after.strip() and not deeper:
            bad.append(f"{line!r} / {after!r}")
        if line.endswith(" \\") and not (after.strip() and after.startswith(" ")):
            bad.append(f"{line!r} / {after!r}")
    return bad


def _words(text: str) -> list[str]:
    text = re.sub(r"\d+\.\d\d s\)", "s)", text)           # a scan's elapsed time
    return [w for w in text.split() if w not in ("\\", "#")]


@pytest.mark.slow
@pytest.mark.parametrize("args", NARROW_COMMANDS, ids=" ".join)
def test_piped_output_fits_80_columns(demo_project, args):
    narrow = _piped(demo_project, *args)
    assert narrow.strip(), args
    assert not _too_wide(narrow), _too_wide(narrow)
    assert not _split_fields(narrow), _split_fields(narrow)
    if args[0] in TABLES:
        return
    wide = _piped(demo_project, *args, columns="400")
    if args[:2] == ("config", "show"):   # a comment may move above its long value
        import tomllib

        assert tomllib.loads(narrow) == tomllib.loads(wide)
        assert sorted(_words(narrow)) == sorted(_words(wide))
    else:                          # the same words in the same order: none cut in two
        assert _words(narrow) == _words(wide)


def test_presets_header_keeps_each_field_whole(demo_project):
    text = _piped(demo_project, "presets", columns="80")
    assert "family: SD1.5" in text.splitlines()[1] or "family: SD1.5" in text.splitlines()[0]
    assert not _split_fields(text) and not _too_wide(text)

"""Counts in what a user reads: "1 caption", "2 captions", never "caption(s)"."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from loratui.wording import a_an, plural

REPO = Path(__file__).resolve().parents[2]


def test_plural_and_article():
    assert plural(1, "caption") == "1 caption"
    assert plural(0, "caption") == "0 captions"
    assert plural(2, "sample image") == "2 sample images"
    assert plural(3, "kind", "kinds") == "3 kinds"
    assert a_an("8 GB card") == "an 8 GB card" and a_an("12 GB card") == "a 12 GB card"


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

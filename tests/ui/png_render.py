"""Render what the wizard shows to a PNG, cell by cell, with a monospace font: the
READMEs' screenshots. Also finds characters the font has no glyph for (they would show
as boxes).

Like a terminal, a character the monospace font lacks comes from a fallback font: DejaVu
Sans for symbols, and a CJK font for Chinese, each CJK character spanning two cells.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont
from rich.cells import get_character_cell_size

FONT_DIRS = [Path("/usr/share/fonts/truetype/dejavu"), Path("/usr/share/fonts/dejavu"),
             Path("/usr/share/fonts/TTF")]
NOT_A_GLYPH = "\U0010fffd"  # a private-use code point no font draws: its box is "missing"
# Where the common CJK fonts are installed when fontconfig cannot be asked: Debian/Ubuntu
# (fonts-wqy-microhei, fonts-noto-cjk), Fedora, Arch, macOS and Windows.
CJK_FONT_FILES = [
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
    "/usr/share/fonts/wqy-microhei/wqy-microhei.ttc",
    "/usr/share/fonts/wenquanyi/wqy-microhei/wqy-microhei.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/noto-cjk/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/google-noto-cjk/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/adobe-source-han-sans/SourceHanSans-Regular.ttc",
    "/usr/share/fonts/opentype/source-han-sans/SourceHanSans-Regular.ttc",
    "/System/Library/Fonts/PingFang.ttc",
    "C:/Windows/Fonts/msyh.ttc",
]
CJK_PROBE = "中文汉字"  # a font that draws these draws the wizard's Simplified Chinese
CJK_PREFERRED = ("Mono", "SC", "CN")  # in a collection: the monospace or Simplified face


def _fontconfig_cjk() -> list[tuple[str, int]]:
    """(file, face index) of the fonts fontconfig says cover Chinese, best first."""
    if shutil.which("fc-list") is None:
        return []
    try:
        out = subprocess.run(["fc-list", ":lang=zh-cn", "file", "index", "family"],
                             capture_output=True, text=True, timeout=20, check=False).stdout
    except (OSError, subprocess.SubprocessError):
        return []
    found = []
    for line in out.splitlines():  # /path/f.ttc: Family,Other names:index=1
        path, _, rest = line.partition(": ")
        family, _, index = rest.rpartition(":index=")
        if path and index.isdigit():
            rank = next((i for i, word in enumerate(CJK_PREFERRED) if word in family),
                        len(CJK_PREFERRED))
            found.append((rank, path, int(index)))
    return [(path, index) for _, path, index in sorted(found)]


def _faces(path: str) -> list[tuple[str, int]]:
    """The faces of a font file (a .ttc holds several), preferred ones first."""
    faces = []
    for index in range(16):
        try:
            family = ImageFont.truetype(path, 15, index=index).getname()[0] or ""
        except OSError:
            break
        rank = next((i for i, word in enumerate(CJK_PREFERRED) if word in family),
                    len(CJK_PREFERRED))
        faces.append((rank, index))
    return [(path, index) for _, index in sorted(faces)]


def draws(font, text: str) -> bool:
    """Whether `font` has a glyph for every character of `text`."""
    box = _missing_mask(font)
    return all(_mask(font, ch) != box for ch in text)


def find_cjk_font() -> tuple[Path, int] | None:
    """A font with Chinese glyphs, as (file, face index): fontconfig's choice for Simplified
    Chinese when fontconfig is there, else the first of the usual install places."""
    candidates = _fontconfig_cjk()
    for path in CJK_FONT_FILES:
        if Path(path).is_file():
            candidates += _faces(path)
    for path, index in candidates:
        try:
            font = ImageFont.truetype(path, 15, index=index)
        except OSError:
            continue
        if draws(font, CJK_PROBE):
            return Path(path), index
    return None


def find_font(bold: bool = False, name: str = "") -> Path | None:
    name = name or ("DejaVuSansMono-Bold.ttf" if bold else "DejaVuSansMono.ttf")
    return next((d / name for d in FONT_DIRS if (d / name).is_file()), None)


def _mask(font, ch: str) -> tuple:
    mask = font.getmask(ch)
    return mask.size, bytes(mask)


def _missing_mask(font) -> tuple:
    """What `font` draws for a character it has no glyph for (its box, or nothing)."""
    return _mask(font, NOT_A_GLYPH)


def screen_segments(app):
    """The screen as rows of (text, style) runs, as a terminal would draw it."""
    from rich.segment import Segment
    from ui_helpers import recorded_screen

    console = recorded_screen(app)
    rows: list[list] = [[]]
    for text, style, control in Segment.simplify(console._record_buffer):
        if control:  # cursor moves between lines: the rows are split on "\n" below
            continue
        parts = text.split("\n")
        for i, part in enumerate(parts):
            if i:
                rows.append([])
            if part:
                rows[-1].append((part, style))
    return rows[:app.size.height]


class Renderer:
    def __init__(self, size: int = 15, cjk: bool = False) -> None:
        """`cjk`: the screen shows Chinese; a CJK font must be found (FileNotFoundError)."""
        regular, bold = find_font(), find_font(bold=True)
        if regular is None:
            raise FileNotFoundError("DejaVu Sans Mono is not installed")
        self.font = ImageFont.truetype(str(regular), size)
        self.bold = ImageFont.truetype(str(bold or regular), size)
        # What a terminal does too: a glyph the monospace font lacks (braille, the chart's
        # dots) comes from a fallback font. Only a glyph no font has is a "box".
        sans = find_font(name="DejaVuSans.ttf")
        self.fallback = ImageFont.truetype(str(sans), size) if sans else None
        self.cell_w = round(self.font.getlength("M"))
        self.ascent, descent = self.font.getmetrics()
        self.cell_h = self.ascent + descent
        self.cjk = None
        if cjk:
            found = find_cjk_font()
            if found is None:
                raise FileNotFoundError("no CJK font installed (e.g. fonts-wqy-microhei)")
            # As large as two cells allow: a CJK glyph is one em wide and fills them.
            self.cjk_file, index = found
            em = min(size + 1, 2 * self.cell_w - 1)
            self.cjk = ImageFont.truetype(str(self.cjk_file), em, index=index)
        self.drawn: dict[str, set[str]] = {}  # font name -> the characters it drew
        self.outside: set[str] = set()  # wide characters whose ink leaves their cells
        self._boxes: dict = {}  # font -> the mask it draws for a code point it lacks

    def _has(self, font, ch: str) -> bool:
        if font not in self._boxes:
            self._boxes[font] = _missing_mask(font)
        return _mask(font, ch) != self._boxes[font]

    def font_for(self, ch: str, bold: bool):
        """The font that draws `ch`, or None when no font has it. A wide character (two
        cells) comes from the CJK font first, as a terminal's CJK fallback draws it."""
        main = self.bold if bold else self.font
        fonts = [main, self.fallback, self.cjk]
        if get_character_cell_size(ch) == 2:
            fonts = [self.cjk, main, self.fallback]
        return next((f for f in fonts if f is not None and self._has(f, ch)), None)

    def _glyph(self, draw, ch: str, font, left: int, top: int, cells: int, fg, bold: bool):
        """One character on its baseline; a wide one centred in its two cells."""
        x = left + (cells * self.cell_w - font.getlength(ch)) / 2 if cells == 2 else left
        baseline = top + self.ascent
        draw.text((x, baseline), ch, font=font, fill=fg, anchor="ls")
        if bold and font is self.cjk:  # no bold CJK face: embolden as terminals do
            draw.text((x + 1, baseline), ch, font=font, fill=fg, anchor="ls")
        name = " ".join(font.getname())
        self.drawn.setdefault(name, set()).add(ch)
        if cells == 2:  # its ink stays inside its two cells: not clipped, not overlapping
            ink = draw.textbbox((x, baseline), ch, font=font, anchor="ls")
            if ink[0] < left or ink[1] < top or ink[2] > left + 2 * self.cell_w \
                    or ink[3] > top + self.cell_h:
                self.outside.add(ch)

    def render(self, app) -> tuple[Image.Image, set[str]]:
        """The screen as an image, and the characters that would show as boxes."""
        from rich.color import Color

        rows = screen_segments(app)
        width, height = app.size
        image = Image.new("RGB", (width * self.cell_w, height * self.cell_h), (12, 12, 12))
        draw = ImageDraw.Draw(image)
        missing: set[str] = set()
        default_fg, default_bg = (220, 220, 220), (12, 12, 12)
        for y, row in enumerate(rows):
            x = 0
            for text, style in row:
                fg = style.color.get_truecolor() if style and style.color else default_fg
                bg = style.bgcolor.get_truecolor() if style and style.bgcolor else default_bg
                if style and style.reverse:
                    fg, bg = bg, fg
                if style and style.dim:
                    fg = Color.from_rgb(*(c * 0.6 + b * 0.4 for c, b in zip(fg, bg, strict=True))
                                        ).get_truecolor()
                font = self.bold if style and style.bold else self.font
                for ch in text:
                    cells = get_character_cell_size(ch)
                    if cells == 0:  # a combining mark: no cell of its own
                        continue
                    box = (x * self.cell_w, y * self.cell_h, (x + cells) * self.cell_w - 1,
                           (y + 1) * self.cell_h - 1)
                    draw.rectangle(box, fill=tuple(bg))
                    if ch == "▀":  # half blocks (sample images): exact colours, no font
                        draw.rectangle((box[0], box[1], box[2], box[1] + self.cell_h // 2 - 1),
                                       fill=tuple(fg))
                    elif ch == "▄":
                        draw.rectangle((box[0], box[1] + self.cell_h // 2, box[2], box[3]),
                                       fill=tuple(fg))
                    elif ch.isprintable() and not ch.isspace():
                        glyph_font = self.font_for(ch, font is self.bold)
                        if glyph_font is None:
                            missing.add(ch)
                            glyph_font = font
                        self._glyph(draw, ch, glyph_font, box[0], box[1], cells, tuple(fg),
                                    font is self.bold)
                    x += cells
        return image, missing

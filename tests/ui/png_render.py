"""Render what the wizard shows to a PNG, cell by cell, with a monospace font: the
README's screenshot. Also finds characters the font has no glyph for (they would show
as boxes)."""

from __future__ import annotations

from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

FONT_DIRS = [Path("/usr/share/fonts/truetype/dejavu"), Path("/usr/share/fonts/dejavu"),
             Path("/usr/share/fonts/TTF")]
NOT_A_GLYPH = "\U0010fffd"  # a private-use code point no font draws: its box is "missing"


def find_font(bold: bool = False, name: str = "") -> Path | None:
    name = name or ("DejaVuSansMono-Bold.ttf" if bold else "DejaVuSansMono.ttf")
    return next((d / name for d in FONT_DIRS if (d / name).is_file()), None)


def _missing_mask(font):
    mask = font.getmask(NOT_A_GLYPH)
    return mask.size, bytes(mask)


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
    def __init__(self, size: int = 15) -> None:
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
        ascent, descent = self.font.getmetrics()
        self.cell_h = ascent + descent
        self._boxes: dict = {}  # font -> the mask it draws for a code point it lacks

    def _has(self, font, ch: str) -> bool:
        if font not in self._boxes:
            self._boxes[font] = _missing_mask(font)
        mask = font.getmask(ch)
        return (mask.size, bytes(mask)) != self._boxes[font]

    def font_for(self, ch: str, bold: bool):
        """The font that draws `ch`, or None when no font has it."""
        main = self.bold if bold else self.font
        if self._has(main, ch):
            return main
        if self.fallback is not None and self._has(self.fallback, ch):
            return self.fallback
        return None

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
                    box = (x * self.cell_w, y * self.cell_h, (x + 1) * self.cell_w,
                           (y + 1) * self.cell_h)
                    draw.rectangle(box, fill=tuple(bg))
                    if ch == "▀":  # half blocks (sample images): exact colours, no font
                        draw.rectangle((box[0], box[1], box[2], box[1] + self.cell_h // 2),
                                       fill=tuple(fg))
                    elif ch == "▄":
                        draw.rectangle((box[0], box[1] + self.cell_h // 2, box[2], box[3]),
                                       fill=tuple(fg))
                    elif ch.isprintable() and not ch.isspace():
                        glyph_font = self.font_for(ch, font is self.bold)
                        if glyph_font is None:
                            missing.add(ch)
                            glyph_font = font
                        draw.text((box[0], box[1]), ch, font=glyph_font, fill=tuple(fg))
                    x += 1
        return image, missing

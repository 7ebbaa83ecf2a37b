"""Drawing layout text with Pillow, shared by the raster print mode and the PNG preview.

Geometry follows the printer's Font A: a column is 12 dots wide, a character 24 dots high and a
line 30 dots (the default 1/6 inch at 180 dpi). WenQuanYi Zen Hei *Mono* draws ASCII exactly
one column wide and CJK exactly two, so a wrapped line occupies the same room as it would in the
printer's own GB18030 font.
"""

from __future__ import annotations

import threading
from functools import lru_cache
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

from printers.layout import Align, text_columns

__all__ = ["CELL_H", "CELL_W", "LINE_H", "FontNotFound", "cjk_font", "text_row_image"]

CELL_W = 12
CELL_H = 24
LINE_H = 30

_FREETYPE_LOCK = threading.Lock()

# (path, face index): index 1 of the WenQuanYi collection is the monospaced face.
_DEFAULT_FONTS: tuple[tuple[str, int], ...] = (
    ("/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc", 1),
    ("/usr/share/fonts/wqy-zenhei/wqy-zenhei.ttc", 1),  # Fedora / Arch layout
)


class FontNotFound(RuntimeError):
    """No CJK font: raster printing and previews cannot draw Chinese."""


@lru_cache(maxsize=64)
def cjk_font(size_px: int, font_path: str | None = None) -> ImageFont.FreeTypeFont:
    """The CJK font at `size_px`; loaded lazily and cached, never at import time."""
    candidates = [(font_path, 0)] if font_path else list(_DEFAULT_FONTS)
    for path, index in candidates:
        if Path(path).is_file():
            return ImageFont.truetype(path, size_px, index=index)
    tried = ", ".join(p for p, _ in candidates)
    raise FontNotFound(f"no CJK font found (tried {tried}); install fonts-wqy-zenhei")


def text_row_image(
    text: str,
    *,
    size: int,
    bold: bool,
    align: Align,
    width_px: int,
    antialias: bool,
    font_path: str | None = None,
) -> Image.Image:
    """One already-wrapped row of text as a white 'L' image, `width_px` wide.

    The printer version is drawn without antialiasing: a thermal head prints dots, and grey
    edges would only be dithered into noise.
    """
    # Labels, branch and service names repeat on every ticket and glyph rendering is most of
    # the cost of a raster job, so rows are cached; callers get a copy they may change.
    return _row_image(text, size, bold, align, width_px, antialias, font_path).copy()


@lru_cache(maxsize=512)
def _row_image(
    text: str,
    size: int,
    bold: bool,
    align: Align,
    width_px: int,
    antialias: bool,
    font_path: str | None,
) -> Image.Image:
    image = Image.new("L", (width_px, LINE_H * size), 255)
    draw = ImageDraw.Draw(image)
    draw.fontmode = "L" if antialias else "1"
    text_w = text_columns(text) * CELL_W * size
    if align is Align.CENTER:
        x = (width_px - text_w) // 2
    elif align is Align.RIGHT:
        x = width_px - text_w
    else:
        x = 0
    # A FreeType face must be used by one thread at a time, and the cached font is shared by
    # every printer's worker and by preview requests.
    with _FREETYPE_LOCK:
        font = cjk_font(CELL_H * size, font_path)
        # Drawn from the top of the ascender: CJK glyphs sit in the middle of the 30-dot line.
        draw.text((x, 0), text, font=font, fill=0)
        if bold:
            # Double strike one dot to the right, as printers do for emphasised characters.
            draw.text((x + max(1, size // 2), 0), text, font=font, fill=0)
    return image

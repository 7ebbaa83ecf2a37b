"""Render a ticket layout to ESC/POS bytes with python-escpos.

python-escpos's `Dummy` printer collects the bytes; a profile tells it (and us) the paper width,
without which centring and image sizes are guesses. Chinese is printed one of two ways, chosen
per printer:

- `gb18030`: the printer's own Chinese font. Each row with non-ASCII text is sent as
  `FS &` + GB18030 bytes + `FS .`. Small and fast, needs a printer with a Chinese font.
- `raster`: rows with non-ASCII text are drawn with Pillow and sent as `GS v 0` raster images.
  Works on any ESC/POS printer, at the cost of bigger jobs.

ASCII-only rows (the big number, English names) are always sent as plain text: every printer
has those glyphs and text is sharper and smaller than an image.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from escpos.constants import QR_ECLEVEL_M
from escpos.image import EscposImage
from escpos.printer import Dummy
from PIL import Image

from printers.draw import CELL_W, text_row_image
from printers.layout import Align, Cut, Feed, Line, Qr, Rule, Text, layout_ticket, wrap
from printers.ticket import TicketPrint

__all__ = ["ChineseMode", "Paper", "RenderOptions", "paper_for", "render_escpos", "render_ticket"]

FS_KANJI_ON = b"\x1c\x26"  # FS &: select Chinese (double-byte) character mode
FS_KANJI_OFF = b"\x1c\x2e"  # FS .: back to single-byte characters
LF = b"\n"


class ChineseMode(StrEnum):
    GB18030 = "gb18030"
    RASTER = "raster"


@dataclass(frozen=True, slots=True)
class RenderOptions:
    # Raster by default: it prints Chinese correctly on every ESC/POS printer; gb18030 is the
    # faster choice once a printer is known to carry a Chinese font.
    chinese_mode: ChineseMode = ChineseMode.RASTER
    profile: str = "TM-T88V"
    font_path: str | None = None  # CJK font for raster mode; None: WenQuanYi Zen Hei Mono

    def __post_init__(self) -> None:
        # Accept the plain string from a config file, and reject a typo before the first job.
        object.__setattr__(self, "chinese_mode", ChineseMode(self.chinese_mode))


@dataclass(frozen=True, slots=True)
class Paper:
    columns: int  # Font A columns at size 1
    width_px: int  # printable dots per line


def paper_for(profile: Any) -> Paper:
    """Paper geometry from a python-escpos profile, with sane values where it says 'Unknown'."""
    data = profile.profile_data
    columns = int(data.get("fonts", {}).get("0", {}).get("columns", 42))
    pixels = data.get("media", {}).get("width", {}).get("pixels")
    width_px = int(pixels) if isinstance(pixels, int | str) and str(pixels).isdigit() else 0
    if width_px <= 0:
        width_px = columns * CELL_W
    width_px -= width_px % 8  # raster rows are whole bytes
    return Paper(columns=min(columns, width_px // CELL_W), width_px=width_px)


def render_ticket(ticket: TicketPrint, options: RenderOptions | None = None) -> bytes:
    return render_escpos(layout_ticket(ticket), options or RenderOptions())


def render_escpos(lines: Sequence[Line], options: RenderOptions) -> bytes:
    printer = Dummy(profile=options.profile)
    paper = paper_for(printer.profile)
    # ESC @ first: whatever size, alignment or Chinese mode the last job left behind is reset.
    printer.hw("INIT")
    for line in lines:
        if isinstance(line, Text):
            _text(printer, line, paper, options)
        elif isinstance(line, Rule):
            _style(printer, size=1, align=Align.LEFT, bold=False)
            printer._raw(b"-" * paper.columns + LF)
        elif isinstance(line, Feed):
            _style(printer, size=1, align=Align.LEFT, bold=False)
            printer._raw(LF * line.lines)
        elif isinstance(line, Qr):
            _qr(printer, line)
        elif isinstance(line, Cut):
            printer.cut()
    return bytes(printer.output)


def _style(printer: Any, *, size: int, align: Align, bold: bool) -> None:
    # Sent before every row so that each row stands alone, whatever came before it.
    printer.set(align=align.value, bold=bold, custom_size=True, width=size, height=size)


def _text(printer: Any, line: Text, paper: Paper, options: RenderOptions) -> None:
    # `_raw` rather than `text()`: python-escpos would re-encode through single-byte code pages,
    # which have no Chinese; wrap() has already stripped control characters.
    for row in wrap(line.text, paper.columns // line.size):
        if row.isascii():
            _style(printer, size=line.size, align=line.align, bold=line.bold)
            printer._raw(row.encode("ascii") + LF)
        elif options.chinese_mode is ChineseMode.GB18030:
            _style(printer, size=line.size, align=line.align, bold=line.bold)
            printer._raw(FS_KANJI_ON + row.encode("gb18030") + FS_KANJI_OFF + LF)
        else:
            # The image is full width with the text already placed, so print it flush left.
            _style(printer, size=1, align=Align.LEFT, bold=False)
            image = text_row_image(
                row,
                size=line.size,
                bold=line.bold,
                align=line.align,
                width_px=paper.width_px,
                antialias=False,
                font_path=options.font_path,
            )
            _raster(printer, image)


def _raster(printer: Any, image: Image.Image) -> None:
    """GS v 0: one raster image, in python-escpos's bit conversion.

    Sent directly rather than through `Escpos.image()`, which prints a warning on stdout for
    every image on profiles whose paper width is "Unknown"; our rows never need its splitting.
    """
    raster = EscposImage(image)
    header = b"\x1dv0\x00" + _u16(raster.width_bytes) + _u16(raster.height)
    printer._raw(header + raster.to_raster_format())


def _u16(value: int) -> bytes:
    return value.to_bytes(2, "little")


def _qr(printer: Any, qr: Qr) -> None:
    _style(printer, size=1, align=qr.align, bold=False)
    if printer.profile.supports("qrCode"):
        # Native GS ( k: the printer draws the modules itself, crisp and a few bytes long.
        printer.qr(qr.data, ec=QR_ECLEVEL_M, size=qr.module_dots, native=True)
        printer._raw(LF)
    else:
        printer.qr(
            qr.data,
            ec=QR_ECLEVEL_M,
            size=qr.module_dots,
            native=False,
            center=qr.align is Align.CENTER,
        )

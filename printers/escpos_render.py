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
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from escpos.constants import QR_ECLEVEL_M
from escpos.image import EscposImage
from escpos.printer import Dummy
from PIL import Image

from printers.draw import text_row_image
from printers.layout import Align, Cut, Feed, Line, Qr, Rule, Text, layout_ticket, wrap
from printers.paper import Paper, model_for, paper_for
from printers.qr_image import qr_band
from printers.ticket import TicketPrint

__all__ = [
    "ChineseCharset",
    "ChineseMode",
    "Paper",
    "RenderOptions",
    "render_escpos",
    "render_ticket",
]

FS_KANJI_ON = b"\x1c\x26"  # FS &: select Chinese (double-byte) character mode
FS_KANJI_OFF = b"\x1c\x2e"  # FS .: back to single-byte characters
FS_CODE_SYSTEM = b"\x1cC"  # FS C n: select the Chinese character code system
# GS V 65 0: feed to the cutting position, no further, and cut. The printer knows how far its
# blade is from the head; anything we feed before that is blank paper on every ticket.
CUT_AT_BLADE = b"\x1dV\x41\x00"
LF = b"\n"


class ChineseMode(StrEnum):
    GB18030 = "gb18030"
    RASTER = "raster"


class ChineseCharset(StrEnum):
    """The bytes sent between FS & and FS .: what the printer's Chinese font is indexed by."""

    GB18030 = "gb18030"  # Epson China models, Xprinter/Gprinter with current firmware
    GBK = "gbk"  # older Xprinter/Gprinter firmware: two-byte codes only


@dataclass(frozen=True, slots=True)
class RenderOptions:
    # Raster by default: it prints Chinese correctly on every ESC/POS printer; gb18030 is the
    # faster choice once a printer is known to carry a Chinese font.
    chinese_mode: ChineseMode = ChineseMode.RASTER
    profile: str = "TM-T88V"
    font_path: str | None = None  # CJK font for raster mode; None: WenQuanYi Zen Hei Mono
    width_dots: int | None = None  # None: the profile's width
    columns: int | None = None  # None: as many Font A columns as fit the width
    chinese_charset: ChineseCharset = ChineseCharset.GB18030
    # FS C n after ESC @ on printers whose firmware has several code systems; None: not sent.
    chinese_code_system: int | None = None
    paper: Paper = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        # Accept the plain strings from a config file, and reject a typo before the first job.
        object.__setattr__(self, "chinese_mode", ChineseMode(self.chinese_mode))
        object.__setattr__(self, "chinese_charset", ChineseCharset(self.chinese_charset))
        if self.chinese_code_system is not None and not 0 <= self.chinese_code_system <= 255:
            raise ValueError(f"chinese_code_system {self.chinese_code_system} is not a byte")
        object.__setattr__(self, "paper", paper_for(self.profile, self.width_dots, self.columns))


def render_ticket(ticket: TicketPrint, options: RenderOptions | None = None) -> bytes:
    return render_escpos(layout_ticket(ticket), options or RenderOptions())


def render_escpos(lines: Sequence[Line], options: RenderOptions) -> bytes:
    printer = Dummy(profile=model_for(options.profile).escpos_profile)
    paper = options.paper
    # ESC @ first: whatever size, alignment or Chinese mode the last job left behind is reset.
    printer.hw("INIT")
    if options.chinese_code_system is not None:
        printer._raw(FS_CODE_SYSTEM + bytes((options.chinese_code_system,)))
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
            _qr(printer, line, paper)
        elif isinstance(line, Cut):
            _cut(printer, paper)
    return bytes(printer.output)


def _cut(printer: Any, paper: Paper) -> None:
    if paper.cutter:
        printer._raw(CUT_AT_BLADE)
    else:
        _style(printer, size=1, align=Align.LEFT, bold=False)
        printer._raw(LF * paper.tear_feed_lines)


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
        elif (encoded := _in_printer_font(row, options)) is not None:
            _style(printer, size=line.size, align=line.align, bold=line.bold)
            printer._raw(FS_KANJI_ON + encoded + FS_KANJI_OFF + LF)
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


def _in_printer_font(row: str, options: RenderOptions) -> bytes | None:
    """The row's bytes for the printer's Chinese font, or None to draw it as an image.

    A character outside a GBK printer's font (a rare name character, an emoji) would print as
    garbage or shift the rest of the row, so such a row is drawn instead.
    """
    if options.chinese_mode is not ChineseMode.GB18030:
        return None
    try:
        return row.encode(options.chinese_charset.value)
    except UnicodeEncodeError:
        return None


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


def _qr(printer: Any, qr: Qr, paper: Paper) -> None:
    if printer.profile.supports("qrCode"):
        # Native GS ( k: the printer draws the modules itself, crisp and a few bytes long.
        _style(printer, size=1, align=qr.align, bold=False)
        printer.qr(qr.data, ec=QR_ECLEVEL_M, size=qr.module_dots, native=True)
        printer._raw(LF)
    else:
        # Drawn here, full width and already placed, rather than by python-escpos, which
        # centres on the profile's width and not on the paper this printer has.
        _style(printer, size=1, align=Align.LEFT, bold=False)
        _raster(printer, qr_band(qr, paper.width_px).convert("1").convert("L"))

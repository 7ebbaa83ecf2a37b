"""PNG preview of a ticket, drawn from the same layout list the printer gets.

The manager's page shows it, and the kiosk can show it when the printer is down. Geometry is in
printer dots (see `printers.draw`), so `width_px=512` is exactly a TM-T88V line and 576 a common
80 mm Chinese printer.
"""

from __future__ import annotations

import io
from collections.abc import Sequence

import qrcode
from PIL import Image, ImageDraw

from printers.draw import CELL_W, LINE_H, text_row_image
from printers.layout import Align, Cut, Feed, Line, Qr, Rule, Text, layout_ticket, wrap
from printers.ticket import TicketPrint

__all__ = ["preview_image", "preview_png"]

_QUIET_ZONE = 4  # modules of white around a QR code, as the QR standard asks


def preview_png(ticket: TicketPrint, width_px: int = 576, *, font_path: str | None = None) -> bytes:
    buffer = io.BytesIO()
    preview_image(layout_ticket(ticket), width_px, font_path=font_path).save(buffer, format="PNG")
    return buffer.getvalue()


def preview_image(
    lines: Sequence[Line], width_px: int = 576, *, font_path: str | None = None
) -> Image.Image:
    if width_px < 8 * CELL_W:
        raise ValueError(f"width_px must be at least {8 * CELL_W}")
    columns = width_px // CELL_W
    blocks: list[Image.Image] = [_blank(width_px, LINE_H)]  # top margin, as after a cut
    for line in lines:
        if isinstance(line, Text):
            blocks += [
                text_row_image(
                    row,
                    size=line.size,
                    bold=line.bold,
                    align=line.align,
                    width_px=width_px,
                    antialias=True,
                    font_path=font_path,
                )
                for row in wrap(line.text, columns // line.size)
            ]
        elif isinstance(line, Rule):
            blocks.append(_rule(width_px, dashed=False))
        elif isinstance(line, Feed):
            blocks.append(_blank(width_px, LINE_H * line.lines))
        elif isinstance(line, Qr):
            blocks.append(_qr(line, width_px))
        elif isinstance(line, Cut):
            blocks += [_blank(width_px, LINE_H * 2), _rule(width_px, dashed=True)]
    canvas = Image.new("L", (width_px, sum(b.height for b in blocks)), 255)
    y = 0
    for block in blocks:
        canvas.paste(block, (0, y))
        y += block.height
    return canvas


def _blank(width_px: int, height: int) -> Image.Image:
    return Image.new("L", (width_px, height), 255)


def _rule(width_px: int, *, dashed: bool) -> Image.Image:
    band = _blank(width_px, LINE_H)
    draw = ImageDraw.Draw(band)
    mid = LINE_H // 2
    if dashed:  # the cut: where the customer tears the ticket off
        for x in range(0, width_px, 16):
            draw.line([(x, mid), (x + 8, mid)], fill=128, width=1)
    else:
        draw.line([(0, mid), (width_px - 1, mid)], fill=0, width=2)
    return band


def _qr(line: Qr, width_px: int) -> Image.Image:
    code = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, border=_QUIET_ZONE)
    code.add_data(line.data)
    code.make(fit=True)
    modules = code.modules_count + 2 * _QUIET_ZONE
    # Shrink the modules rather than overflow the paper with a very long URL.
    code.box_size = max(1, min(line.module_dots, width_px // modules))
    symbol = code.make_image().get_image().convert("L")
    band = _blank(width_px, symbol.height)
    if line.align is Align.CENTER:
        x = (width_px - symbol.width) // 2
    elif line.align is Align.RIGHT:
        x = width_px - symbol.width
    else:
        x = 0
    band.paste(symbol, (x, 0))
    return band

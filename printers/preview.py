"""PNG preview of a ticket, drawn from the same layout list the printer gets.

The manager's page shows it, and the kiosk can show it when the printer is down. Geometry is in
printer dots (see `printers.draw`), so `width_px=512` is exactly a TM-T88V line and 576 a common
80 mm Chinese printer.
"""

from __future__ import annotations

import io
from collections.abc import Sequence

from PIL import Image, ImageDraw

from printers.draw import CELL_W, LINE_H, text_row_image
from printers.layout import Cut, Feed, Line, Qr, Rule, Text, layout_ticket, wrap
from printers.qr_image import qr_band
from printers.ticket import TicketPrint

__all__ = ["preview_image", "preview_png"]


def preview_png(
    ticket: TicketPrint,
    width_px: int = 576,
    *,
    columns: int | None = None,
    font_path: str | None = None,
) -> bytes:
    """`width_px` and `columns` as the printer's `RenderOptions.paper` gives them."""
    image = preview_image(layout_ticket(ticket), width_px, columns=columns, font_path=font_path)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def preview_image(
    lines: Sequence[Line],
    width_px: int = 576,
    *,
    columns: int | None = None,
    font_path: str | None = None,
) -> Image.Image:
    if width_px < 8 * CELL_W:
        raise ValueError(f"width_px must be at least {8 * CELL_W}")
    if columns is None:
        columns = width_px // CELL_W
    elif not 2 <= columns <= width_px // CELL_W:
        raise ValueError(f"{columns} columns do not fit {width_px} dots")
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
            # The dashes the printer prints: one per column, as wide as the text above it.
            rule = Text("-" * columns)
            blocks.append(
                text_row_image(
                    rule.text,
                    size=1,
                    bold=False,
                    align=rule.align,
                    width_px=width_px,
                    antialias=True,
                    font_path=font_path,
                )
            )
        elif isinstance(line, Feed):
            blocks.append(_blank(width_px, LINE_H * line.lines))
        elif isinstance(line, Qr):
            blocks.append(qr_band(line, width_px))
        elif isinstance(line, Cut):
            blocks += [_blank(width_px, LINE_H * 2), _cut_mark(width_px)]
    canvas = Image.new("L", (width_px, sum(b.height for b in blocks)), 255)
    y = 0
    for block in blocks:
        canvas.paste(block, (0, y))
        y += block.height
    return canvas


def _blank(width_px: int, height: int) -> Image.Image:
    return Image.new("L", (width_px, height), 255)


def _cut_mark(width_px: int) -> Image.Image:
    # Grey, so it is not mistaken for printing: where the blade cuts (or the customer tears).
    band = _blank(width_px, LINE_H)
    draw = ImageDraw.Draw(band)
    mid = LINE_H // 2
    for x in range(0, width_px, 16):
        draw.line([(x, mid), (x + 8, mid)], fill=128, width=1)
    return band

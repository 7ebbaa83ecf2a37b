"""A QR code drawn as a full-width band of paper, for the preview and for printers without
native QR (`GS ( k`): both place the symbol on the same width the same way."""

from __future__ import annotations

import qrcode
from PIL import Image

from printers.layout import Align, Qr

__all__ = ["qr_band"]

_QUIET_ZONE = 4  # modules of white around a QR code, as the QR standard asks


def qr_band(line: Qr, width_px: int) -> Image.Image:
    """A white 'L' image `width_px` wide with the symbol placed as `line.align` says."""
    code = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, border=_QUIET_ZONE)
    code.add_data(line.data)
    code.make(fit=True)
    modules = code.modules_count + 2 * _QUIET_ZONE
    # Shrink the modules rather than overflow the paper with a very long URL.
    code.box_size = max(1, min(line.module_dots, width_px // modules))
    symbol = code.make_image().get_image().convert("L")
    band = Image.new("L", (width_px, symbol.height), 255)
    if line.align is Align.CENTER:
        x = (width_px - symbol.width) // 2
    elif line.align is Align.RIGHT:
        x = width_px - symbol.width
    else:
        x = 0
    band.paste(symbol, (x, 0))
    return band

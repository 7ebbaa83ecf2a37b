"""QR codes as SVG, made here: phones and kiosks in a branch have no internet."""

from __future__ import annotations

import io

import qrcode
import qrcode.image.svg
from fastapi.responses import Response


def svg_bytes(data: str) -> bytes:
    image = qrcode.make(
        data,
        image_factory=qrcode.image.svg.SvgPathImage,
        border=2,
        error_correction=qrcode.constants.ERROR_CORRECT_M,
    )
    buffer = io.BytesIO()
    image.save(buffer)
    return buffer.getvalue()


def svg_response(data: str, *, cache: bool = True) -> Response:
    return Response(
        svg_bytes(data),
        media_type="image/svg+xml",
        headers={"Cache-Control": "public, max-age=86400" if cache else "no-store"},
    )

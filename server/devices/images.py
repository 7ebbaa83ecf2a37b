"""Uploaded images (slides, staff photos): decided by their content with Pillow,
never by the file name or the declared type."""

from __future__ import annotations

import io
from dataclasses import dataclass

from PIL import Image, ImageOps, UnidentifiedImageError

from server.errors import InvalidInput

MAX_IMAGE_BYTES = 2 * 1024 * 1024
MAX_PIXELS = 40_000_000  # a decompression bomb is refused before it is decoded
ACCEPTED = {
    "PNG": ("image/png", "png"),
    "JPEG": ("image/jpeg", "jpg"),
    "WEBP": ("image/webp", "webp"),
}


@dataclass(frozen=True)
class CheckedImage:
    data: bytes
    media_type: str
    extension: str
    width: int
    height: int


def check_image(data: bytes, *, max_bytes: int = MAX_IMAGE_BYTES) -> CheckedImage:
    """The image if it is a whole PNG, JPEG or WebP of at most `max_bytes`; a clear
    422 otherwise."""
    if not data:
        raise InvalidInput("file: the upload is empty", code="empty_file")
    if len(data) > max_bytes:
        raise InvalidInput(
            f"file: {len(data)} bytes; an image may be at most {max_bytes // 1024 // 1024} MiB",
            code="image_too_large",
        )
    try:
        with Image.open(io.BytesIO(data)) as image:
            kind = image.format or ""
            width, height = image.size
            if kind not in ACCEPTED:
                raise InvalidInput(
                    f"file: a {kind or 'unknown'} image; send PNG, JPEG or WebP",
                    code="unsupported_image",
                )
            if width * height > MAX_PIXELS:
                raise InvalidInput("file: too many pixels", code="image_too_large")
            image.load()  # a truncated or corrupt file fails here, not on the TV
    except InvalidInput:
        raise
    except (
        UnidentifiedImageError,
        OSError,
        SyntaxError,
        ValueError,
        Image.DecompressionBombError,
    ) as exc:
        raise InvalidInput(
            "file: not a PNG, JPEG or WebP image (checked by its content)", code="not_an_image"
        ) from exc
    media_type, extension = ACCEPTED[kind]
    return CheckedImage(data, media_type, extension, width, height)


def portrait(image: CheckedImage, *, size: int = 480) -> bytes:
    """A staff photo as a JPEG at most `size` pixels on its longer side, upright, with
    no metadata kept (EXIF may hold a place or a phone's name)."""
    with Image.open(io.BytesIO(image.data)) as opened:
        upright = ImageOps.exif_transpose(opened)
        upright = upright.convert("RGB")
        upright.thumbnail((size, size))
        out = io.BytesIO()
        upright.save(out, "JPEG", quality=85, optimize=True)
    return out.getvalue()

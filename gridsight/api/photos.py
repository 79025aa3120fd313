"""Report-back photos: size- and type-checked uploads stored under the uploads folder.

The type is decided by the file's first bytes (JPEG, PNG, WebP), not by the name or the
client's ``Content-Type``; the image is then decoded and encoded afresh (Pillow), so what
is stored and served is pixels only: no metadata (GPS), nothing smuggled after the image.
The stored name is random (``<32 hex>.<ext>``), so a client never chooses a path.
"""

from __future__ import annotations

import asyncio
import io
import re
import secrets
from pathlib import Path

from fastapi import UploadFile

from gridsight.core.errors import GridsightError

PHOTO_NAME = re.compile(r"^[0-9a-f]{32}\.(jpg|png|webp)$")
_CHUNK = 64 * 1024
#: Largest photo accepted, in pixels (a 48 MP phone camera is about 8000 x 6000).
MAX_PIXELS = 50_000_000


class PayloadTooLarge(GridsightError):
    """The upload is larger than the service accepts."""


class UnsupportedMediaType(GridsightError):
    """The upload is not one of the accepted image types."""


def sniff_image(head: bytes) -> tuple[str, str] | None:
    """``(extension, content type)`` of an image by its magic bytes, else None."""
    if head.startswith(b"\xff\xd8\xff"):
        return "jpg", "image/jpeg"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png", "image/png"
    if len(head) >= 12 and head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "webp", "image/webp"
    return None


def reencode(data: bytes, ext: str, max_pixels: int = MAX_PIXELS) -> bytes:
    """Decode ``data`` as an image and encode it afresh (JPEG, or PNG for a PNG).

    Only pixels survive: EXIF (GPS position, camera serial), XMP, comments and anything
    appended after the image are gone, and a file that merely starts like an image
    (a JPEG header followed by HTML) is refused. The EXIF orientation is applied first.

    Raises:
        UnsupportedMediaType: not a decodable image, or more than ``max_pixels`` pixels.
    """
    from PIL import Image, ImageOps, UnidentifiedImageError

    try:
        with Image.open(io.BytesIO(data)) as img:
            if img.width * img.height > max_pixels:
                raise UnsupportedMediaType(
                    f"photo: {img.width}x{img.height} is more than {max_pixels} pixels"
                )
            img.load()
            upright = ImageOps.exif_transpose(img)
            out = io.BytesIO()
            if ext == "png":
                upright.save(out, format="PNG", optimize=False)
            else:
                upright.convert("RGB").save(out, format="JPEG", quality=88)
    except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError):
        raise UnsupportedMediaType("photo: the file is not a readable image") from None
    return out.getvalue()


async def store_photo(upload: UploadFile, folder: Path, max_bytes: int) -> tuple[str, int, str]:
    """Check, re-encode and store one upload in ``folder``; returns (file name, size,
    content type). A JPEG or WebP is stored as JPEG, a PNG as PNG.

    Raises:
        PayloadTooLarge: more than ``max_bytes``.
        UnsupportedMediaType: not a JPEG, PNG or WebP image.
    """
    head = await upload.read(16)
    kind = sniff_image(head)
    if kind is None:
        raise UnsupportedMediaType("photo: only JPEG, PNG or WebP images are accepted")
    data = bytearray(head)
    while chunk := await upload.read(_CHUNK):
        data += chunk
        if len(data) > max_bytes:
            raise PayloadTooLarge(
                f"photo: larger than the {max_bytes // 1024} KiB the service accepts"
            )
    ext = "png" if kind[0] == "png" else "jpg"
    clean = await asyncio.to_thread(reencode, bytes(data), ext)
    folder.mkdir(parents=True, exist_ok=True)
    name = f"{secrets.token_hex(16)}.{ext}"
    (folder / name).write_bytes(clean)
    return name, len(clean), "image/png" if ext == "png" else "image/jpeg"

"""Report-back photos: size- and type-checked uploads stored under the uploads folder.

The type is decided by the file's first bytes (JPEG, PNG, WebP), not by the name or the
client's ``Content-Type``; the stored name is random (``<32 hex>.<ext>``), so a client
never chooses a path.
"""

from __future__ import annotations

import re
import secrets
from pathlib import Path

from fastapi import UploadFile

from gridsight.core.errors import GridsightError

PHOTO_NAME = re.compile(r"^[0-9a-f]{32}\.(jpg|png|webp)$")
_CHUNK = 64 * 1024


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


async def store_photo(upload: UploadFile, folder: Path, max_bytes: int) -> tuple[str, int, str]:
    """Check and store one upload in ``folder``; returns (file name, size, content type).

    Raises:
        PayloadTooLarge: more than ``max_bytes``.
        UnsupportedMediaType: not a JPEG, PNG or WebP image.
    """
    head = await upload.read(16)
    kind = sniff_image(head)
    if kind is None:
        raise UnsupportedMediaType("photo: only JPEG, PNG or WebP images are accepted")
    ext, ctype = kind
    folder.mkdir(parents=True, exist_ok=True)
    name = f"{secrets.token_hex(16)}.{ext}"
    path = folder / name
    size = len(head)
    try:
        with path.open("wb") as out:
            out.write(head)
            while chunk := await upload.read(_CHUNK):
                size += len(chunk)
                if size > max_bytes:
                    raise PayloadTooLarge(
                        f"photo: larger than the {max_bytes // 1024} KiB the service accepts"
                    )
                out.write(chunk)
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    return name, size, ctype

"""Names and types of files inside the EPUB: plain ASCII names, types read from the bytes."""

from __future__ import annotations

import re
import unicodedata


def slugify(text: str, limit: int = 80) -> str:
    """A safe ASCII file name from any title or file name ("Café crème" -> "cafe-creme")."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")
    return slug[:limit].rstrip("-")


PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"

_IMAGE_SIGNATURES = (
    (PNG_SIGNATURE, "image/png", "png"),
    (b"\xff\xd8\xff", "image/jpeg", "jpg"),
    (b"GIF87a", "image/gif", "gif"),
    (b"GIF89a", "image/gif", "gif"),
)


def image_type(data: bytes) -> tuple[str, str] | None:
    """(media type, extension) of a PNG, JPEG, GIF or WebP image, from its first bytes; else None.

    The bytes decide, not the file name: a reading system rejects a book whose image is not
    what the manifest says it is."""
    for signature, media_type, extension in _IMAGE_SIGNATURES:
        if data.startswith(signature):
            return media_type, extension
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp", "webp"
    return None

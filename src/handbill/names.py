"""Names and types of files inside the EPUB: plain ASCII names, types read from the bytes."""

from __future__ import annotations

import hashlib
import re
import unicodedata


def slugify(text: str, limit: int = 80) -> str:
    """A safe ASCII file name from any title or file name ("Café crème" -> "cafe-creme",
    "Война и мир" -> "voyna-i-mir", "世界和平" -> "shi-jie-he-ping")."""
    slug = re.sub(r"[^a-z0-9]+", "-", _ascii(text).lower()).strip("-")
    return slug[:limit].rstrip("-")


def book_slug(title: str) -> str:
    """The default output name of a book (`dist/<slug>.epub`, the `serve` address).

    Transliteration loses what tells two titles apart ("Мир" and "Мір", "世界" and "视界" read
    alike), so a title with letters of any script but Latin, or one with no letter or digit that
    survives, also carries a short hash of itself: two different titles never share a name.
    An ASCII or Latin title keeps its plain slug, as before."""
    slug = slugify(title)
    if slug and not _has_non_latin_letters(title):
        return slug
    digest = hashlib.sha256(unicodedata.normalize("NFC", title).encode("utf-8")).hexdigest()[:6]
    return f"{slug[:72].rstrip('-') or 'book'}-{digest}" if title.strip() else "book"


def _ascii(text: str) -> str:
    if text.isascii():
        return text  # the common case needs no transliteration table (anyascii loads lazily)
    from anyascii import anyascii  # ISC, pure Python, per-character tables for every script

    pieces = []
    for character in unicodedata.normalize("NFC", text):
        latin = anyascii(character)
        # Han and Hangul syllables come out as run-together capitalised syllables ("ShiJie"):
        # keep them apart so the slug reads "shi-jie".
        pieces.append(f" {latin} " if _is_syllable(character) else latin)
    return "".join(pieces)


def _is_syllable(character: str) -> bool:
    name = unicodedata.name(character, "")
    return name.startswith(("CJK UNIFIED IDEOGRAPH", "CJK COMPATIBILITY IDEOGRAPH", "HANGUL SYLLABLE"))


def _has_non_latin_letters(text: str) -> bool:
    return any(
        unicodedata.category(character).startswith("L") and not unicodedata.name(character, "").startswith("LATIN")
        for character in text
        if not character.isascii()
    )


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

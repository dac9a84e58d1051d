"""The served-book records: one book as the site offers it, prepared once from a build.

In: a `Book` from the build and its built editions (EPUB bytes). Out: `ServedBook`, holding
the editions, a cover thumbnail and the EPUB's files for reading in a browser. Pages, feeds
and the app only look things up in it; nothing here knows about HTTP or the server.
"""

from __future__ import annotations

import functools
import hashlib
import io
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from ..model import Book

EPUB_TYPE = "application/epub+zip"


@dataclass(frozen=True)
class Edition:
    label: str
    file_name: str
    data: bytes

    @property
    def size(self) -> str:
        return human_size(len(self.data))

    @functools.cached_property
    def sha256(self) -> str:
        """The edition's SHA-256 in hex: shown on the page and listed in SHA256SUMS."""
        return hashlib.sha256(self.data).hexdigest()

    @property
    def suffix(self) -> str:
        return ".kepub.epub" if self.file_name.endswith(".kepub.epub") else ".epub"


@dataclass(frozen=True)
class ServedBook:
    """One book as the server offers it: its editions, cover, and pages to read in a browser."""

    slug: str
    book: Book
    editions: tuple[Edition, ...]
    thumbnail: bytes
    pages: dict[str, bytes]
    """Files of the EPUB's package folder by their path, for reading in the browser."""
    spine: tuple[str, ...]
    updated: str
    work: str | None = None
    """The `work` key of book.toml: books sharing it are editions (translations) of one work."""

    @property
    def authors(self) -> str:
        return ", ".join(self.book.authors) or self.book.label("unknown_author")


def served_book(book: Book, editions: Sequence[Edition], updated: datetime, work: str | None = None) -> ServedBook:
    """Everything the server needs, prepared once: requests then only look things up."""
    from PIL import Image

    with zipfile.ZipFile(io.BytesIO(editions[0].data)) as archive:
        pages = {
            name.removeprefix("EPUB/"): archive.read(name)
            for name in archive.namelist()
            if name.startswith("EPUB/") and not name.endswith("/")
        }
    image = Image.open(io.BytesIO(book.cover.data)).convert("RGB")
    image.thumbnail((300, 450), Image.Resampling.LANCZOS)
    thumbnail = io.BytesIO()
    image.save(thumbnail, "JPEG", quality=85)
    return ServedBook(
        slug=book.slug or "book",
        book=book,
        editions=tuple(editions),
        thumbnail=thumbnail.getvalue(),
        pages=pages,
        spine=tuple(document.file_name for document in book.documents),
        updated=updated.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        work=work,
    )


def human_size(size: int) -> str:
    if size < 1024 * 1024:
        return f"{max(size // 1024, 1)} KB"
    return f"{size / 1024 / 1024:.1f} MB"

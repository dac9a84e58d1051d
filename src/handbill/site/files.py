"""The whole site as one mapping {path: (bytes, content type)}: what `publish` writes to disk
and what `serve` sends from memory, made by one function so the two never differ.

In: `ServedBook` records and the site's public address (`base`, ending in `/`), which only the
QR code and the catalogs' absolute links use: every link of the pages is relative, so the
folder works under any prefix, on any host, and on a mirror. Out: `site_files`, the mapping
with paths relative to the site's root (`index.html`, `opds.xml`, `books/<slug>.epub`...).
No HTTP and no file system here.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import replace

from .books import EPUB_TYPE, ServedBook
from .opds import (
    OPDS_2,
    OPDS_ACQUISITION,
    OPDS_ENTRY,
    OPDS_PUBLICATION,
    opds2_feed,
    opds2_publication,
    opds_entry,
    opds_feed,
)
from .pages import HTML_TYPE, READABLE_TYPES, contents_page, for_the_browser, landing_page

SiteFiles = dict[str, tuple[bytes, str]]
"""Path relative to the site's root (no leading slash) -> (bytes, content type)."""

TEXT_TYPE = "text/plain; charset=utf-8"
INDEX = "index.html"


def with_free_slugs(books: Iterable[ServedBook]) -> list[ServedBook]:
    """The books with a slug each of their own (`x`, `x-2`...), their editions named after it."""
    taken: dict[str, ServedBook] = {}
    for served in books:
        slug = free_slug(served.slug, taken)
        editions = tuple(replace(edition, file_name=slug + edition.suffix) for edition in served.editions)
        taken[slug] = replace(served, slug=slug, editions=editions)
    return list(taken.values())


def free_slug(slug: str, taken: dict[str, ServedBook]) -> str:
    """`slug`, or `slug-2`, `slug-3`...: two books of one title get two addresses. A slug is
    also kept apart from another's `-thumb` cover address."""
    slug = slug or "book"

    def clashes(candidate: str) -> bool:
        return (
            candidate in taken
            or f"{candidate}-thumb" in taken
            or (candidate.endswith("-thumb") and candidate.removesuffix("-thumb") in taken)
        )

    candidate, number = slug, 1
    while clashes(candidate):
        number += 1
        candidate = f"{slug}-{number}"
    return candidate


def sha256sums(books: Iterable[ServedBook]) -> bytes:
    """Every edition's digest in the format of `sha256sum` (checked with `sha256sum -c SHA256SUMS`
    in the site's folder)."""
    return "".join(
        f"{edition.sha256}  books/{edition.file_name}\n" for served in books for edition in served.editions
    ).encode("ascii")


def site_files(books: Sequence[ServedBook], base: str) -> SiteFiles:
    """Every file of the site, with `books` already given their own slugs (`with_free_slugs`).

    The landing page is the one for a reader who states no language (editions in the order
    given); `serve` makes the other orders with `landing_page`, the same function."""
    books = list(books)
    files: SiteFiles = {
        INDEX: (landing_page(books, base), HTML_TYPE),
        "opds.xml": (opds_feed(books, base), OPDS_ACQUISITION),
        "opds.json": (opds2_feed(books, base), OPDS_2),
        "SHA256SUMS": (sha256sums(books), TEXT_TYPE),
    }
    for served in books:
        slug = served.slug
        files[f"opds/{slug}.xml"] = (opds_entry(books, slug, base), OPDS_ENTRY)
        files[f"opds/{slug}.json"] = (opds2_publication(books, slug, base), OPDS_PUBLICATION)
        for edition in served.editions:
            files[f"books/{edition.file_name}"] = (edition.data, EPUB_TYPE)
        cover = served.book.cover
        files[f"covers/{slug}.{cover.extension}"] = (cover.data, cover.media_type)
        files[f"covers/{slug}-thumb.jpg"] = (served.thumbnail, "image/jpeg")
        files[f"read/{slug}/{INDEX}"] = (contents_page(served), HTML_TYPE)
        for name, data in served.pages.items():
            suffix = name[name.rfind(".") :].lower() if "." in name else ""
            if suffix not in READABLE_TYPES or name.startswith("content.opf") or not _plain(name):
                continue
            if suffix == ".xhtml":
                data = for_the_browser(data, name, served.spine, served.book)
            files[f"read/{slug}/{name}"] = (data, READABLE_TYPES[suffix])
    return files


def _plain(name: str) -> bool:
    """A path inside the book that stays inside it, wherever it is written or served."""
    parts = name.split("/")
    return all(part and part not in (".", "..") and "\\" not in part for part in parts) and name != INDEX

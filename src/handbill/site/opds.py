"""The site's catalogs for reading apps: an OPDS 1.2 acquisition feed (Atom XML) and the
same catalog as OPDS 2.0 JSON.

In: `ServedBook` records and the site's public address (`base`, ending in `/`). Out: each
feed as bytes, the same whether a server sends it or it is written to disk; no HTTP here.
"""

from __future__ import annotations

from collections.abc import Iterable
from urllib.parse import quote

from .books import EPUB_TYPE, ServedBook

OPDS_ACQUISITION = "application/atom+xml;profile=opds-catalog;kind=acquisition"
OPDS_2 = "application/opds+json"


def opds_feed(books: Iterable[ServedBook], base: str) -> bytes:
    """An OPDS 1.2 acquisition feed (Atom) listing every book and its editions."""
    from lxml import etree

    atom = "http://www.w3.org/2005/Atom"
    dc = "http://purl.org/dc/terms/"
    opds = "http://opds-spec.org/2010/catalog"
    books = list(books)

    def element(parent, tag, text=None, **attributes):  # type: ignore[no-untyped-def]
        node = etree.SubElement(parent, tag, {key.replace("_", "-"): value for key, value in attributes.items()})
        if text is not None:
            node.text = text
        return node

    feed = etree.Element(f"{{{atom}}}feed", nsmap={None: atom, "dc": dc, "opds": opds})
    updated = max((served.updated for served in books), default="1980-01-01T00:00:00Z")
    element(feed, f"{{{atom}}}id", f"{base}opds")
    element(feed, f"{{{atom}}}title", "handbill books")
    element(feed, f"{{{atom}}}updated", updated)
    author = element(feed, f"{{{atom}}}author")
    element(author, f"{{{atom}}}name", "handbill")
    for rel in ("self", "start"):
        element(feed, f"{{{atom}}}link", rel=rel, href=f"{base}opds", type=OPDS_ACQUISITION)
    identifiers = _entry_identifiers(books, base)
    for served in books:
        book = served.book
        entry = element(feed, f"{{{atom}}}entry")
        element(entry, f"{{{atom}}}title", book.title)
        element(entry, f"{{{atom}}}id", identifiers[served.slug])
        element(entry, f"{{{atom}}}updated", served.updated)
        for name in book.authors:
            element(element(entry, f"{{{atom}}}author"), f"{{{atom}}}name", name)
        element(entry, f"{{{dc}}}language", book.language)
        if book.date:
            element(entry, f"{{{dc}}}issued", book.date)
        if book.publisher:
            element(entry, f"{{{dc}}}publisher", book.publisher)
        for subject in book.subjects:
            element(entry, f"{{{atom}}}category", term=subject, label=subject)
        if book.description:
            element(entry, f"{{{atom}}}summary", book.description)
        element(
            entry,
            f"{{{atom}}}link",
            rel="http://opds-spec.org/image",
            href=f"{base}covers/{served.slug}.{book.cover.extension}",
            type=book.cover.media_type,
        )
        element(
            entry,
            f"{{{atom}}}link",
            rel="http://opds-spec.org/image/thumbnail",
            href=f"{base}covers/{served.slug}-thumb.jpg",
            type="image/jpeg",
        )
        for edition in served.editions:
            element(
                entry,
                f"{{{atom}}}link",
                rel="http://opds-spec.org/acquisition/open-access",
                href=f"{base}books/{edition.file_name}",
                type=EPUB_TYPE,
                title=edition.label,
                length=str(len(edition.data)),
            )
    return etree.tostring(feed, xml_declaration=True, encoding="utf-8", pretty_print=True)


def _entry_identifiers(books: list[ServedBook], base: str) -> dict[str, str]:
    """Each book's identifier, unique in the catalog: two books of one title and author get
    the same derived identifier, and a reading app would show only one of them."""
    identifiers: dict[str, str] = {}
    for served in books:
        identifier = served.book.identifier
        if identifier in identifiers.values():
            identifier = f"{base}books/{quote(served.slug)}.epub"
        identifiers[served.slug] = identifier
    return identifiers


def opds2_feed(books: Iterable[ServedBook], base: str) -> bytes:
    """The same catalog as OPDS 2.0 JSON."""
    import json

    books = list(books)
    identifiers = _entry_identifiers(books, base)
    publications = []
    for served in books:
        book = served.book
        metadata = {
            "@type": "http://schema.org/Book",
            "title": book.title,
            "identifier": identifiers[served.slug],
            "language": book.language,
            "modified": served.updated,
            "author": [{"name": name} for name in book.authors],
        }
        if book.date:
            metadata["published"] = book.date
        if book.description:
            metadata["description"] = book.description
        publications.append(
            {
                "metadata": metadata,
                "links": [
                    {
                        "rel": "http://opds-spec.org/acquisition/open-access",
                        "href": f"{base}books/{edition.file_name}",
                        "type": EPUB_TYPE,
                        "title": edition.label,
                        "length": len(edition.data),
                    }
                    for edition in served.editions
                ],
                "images": [
                    {"href": f"{base}covers/{served.slug}.{book.cover.extension}", "type": book.cover.media_type},
                    {"href": f"{base}covers/{served.slug}-thumb.jpg", "type": "image/jpeg"},
                ],
            }
        )
    feed = {
        "metadata": {"title": "handbill books"},
        "links": [{"rel": "self", "href": f"{base}opds.json", "type": OPDS_2}],
        "publications": publications,
    }
    return json.dumps(feed, ensure_ascii=False, indent=1).encode("utf-8")

"""The site's catalogs for reading apps: an OPDS 1.2 acquisition feed (Atom XML) and the
same catalog as OPDS 2.0 JSON.

In: `ServedBook` records and the site's public address (`base`, ending in `/`). Out: each
feed as bytes, the same whether a server sends it or it is written to disk; no HTTP here.
"""

from __future__ import annotations

from collections.abc import Iterable
from urllib.parse import quote

from .books import EPUB_TYPE, ServedBook
from .works import autonym, works

OPDS_ACQUISITION = "application/atom+xml;profile=opds-catalog;kind=acquisition"
OPDS_ENTRY = "application/atom+xml;type=entry;profile=opds-catalog"
OPDS_2 = "application/opds+json"
OPDS_PUBLICATION = "application/opds-publication+json"


_ATOM = "http://www.w3.org/2005/Atom"
_DC = "http://purl.org/dc/terms/"
_OPDS = "http://opds-spec.org/2010/catalog"
_NAMESPACES = {None: _ATOM, "dc": _DC, "opds": _OPDS}


def _element(parent, tag, text=None, **attributes):  # type: ignore[no-untyped-def]
    from lxml import etree

    node = etree.SubElement(parent, tag, {key.replace("_", "-"): value for key, value in attributes.items()})
    if text is not None:
        node.text = text
    return node


def opds_feed(books: Iterable[ServedBook], base: str) -> bytes:
    """An OPDS 1.2 acquisition feed (Atom) listing every book and its editions."""
    from lxml import etree

    atom = _ATOM
    element = _element
    books = list(books)
    feed = etree.Element(f"{{{atom}}}feed", nsmap=_NAMESPACES)
    updated = max((served.updated for served in books), default="1980-01-01T00:00:00Z")
    element(feed, f"{{{atom}}}id", f"{base}opds")
    element(feed, f"{{{atom}}}title", "handbill books")
    element(feed, f"{{{atom}}}updated", updated)
    author = element(feed, f"{{{atom}}}author")
    element(author, f"{{{atom}}}name", "handbill")
    for rel in ("self", "start"):
        element(feed, f"{{{atom}}}link", rel=rel, href=f"{base}opds.xml", type=OPDS_ACQUISITION)
    identifiers = _entry_identifiers(books, base)
    translations = _translations(books)
    for served in books:
        _entry(element(feed, f"{{{atom}}}entry"), served, identifiers[served.slug], base, translations[served.slug])
    return etree.tostring(feed, xml_declaration=True, encoding="utf-8", pretty_print=True)


def opds_entry(books: Iterable[ServedBook], slug: str, base: str) -> bytes:
    """One book's OPDS Catalog Entry Document: what its translations' entries link to."""
    from lxml import etree

    books = list(books)
    served = next(served for served in books if served.slug == slug)
    entry = etree.Element(f"{{{_ATOM}}}entry", nsmap=_NAMESPACES)
    _entry(entry, served, _entry_identifiers(books, base)[slug], base, _translations(books)[slug])
    return etree.tostring(entry, xml_declaration=True, encoding="utf-8", pretty_print=True)


def _entry(entry, served: ServedBook, identifier: str, base: str, translations: list[ServedBook]) -> None:  # type: ignore[no-untyped-def]
    """A complete catalog entry: metadata, `dc:language`, cover, downloads, and a link to each
    translation's own entry.

    Translations are linked with `rel="related"` and `hreflang`: OPDS 1.2 (5.1.2) gives an
    `alternate` link of the entry type a meaning of its own, the Complete Catalog Entry of this
    very book, so a reading app following it would show another edition's details in this
    one's place. Atom's `related` carries no such meaning; apps that do not know it pass it over.
    """
    atom, dc, element = _ATOM, _DC, _element
    book = served.book
    element(entry, f"{{{atom}}}title", book.title)
    element(entry, f"{{{atom}}}id", identifier)
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
    for translation in translations:
        element(
            entry,
            f"{{{atom}}}link",
            rel="related",
            href=f"{base}opds/{quote(translation.slug)}.xml",
            type=OPDS_ENTRY,
            hreflang=translation.book.language,
            title=f"{autonym(translation.book.language)}: {translation.book.title}",
        )


def _translations(books: list[ServedBook]) -> dict[str, list[ServedBook]]:
    """For each book, the other editions of its work (none for a book without a `work` key)."""
    found: dict[str, list[ServedBook]] = {}
    for work in works(books):
        for served in work.editions:
            found[served.slug] = [other for other in work.editions if other is not served]
    return found


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
    translations = _translations(books)
    publications = [_publication(served, identifiers[served.slug], base, translations[served.slug]) for served in books]
    feed = {
        "metadata": {"title": "handbill books"},
        "links": [{"rel": "self", "href": f"{base}opds.json", "type": OPDS_2}],
        "publications": publications,
    }
    return json.dumps(feed, ensure_ascii=False, indent=1).encode("utf-8")


def opds2_publication(books: Iterable[ServedBook], slug: str, base: str) -> bytes:
    """One book as an OPDS 2.0 publication document: what its translations link to."""
    import json

    books = list(books)
    served = next(served for served in books if served.slug == slug)
    publication = _publication(served, _entry_identifiers(books, base)[slug], base, _translations(books)[slug])
    return json.dumps(publication, ensure_ascii=False, indent=1).encode("utf-8")


def _publication(served: ServedBook, identifier: str, base: str, translations: list[ServedBook]) -> dict:  # type: ignore[type-arg]
    """A publication of the OPDS 2.0 catalog; translations are `related` links carrying their
    `language` (the Readium link object's property), as in the Atom feed."""
    book = served.book
    metadata = {
        "@type": "http://schema.org/Book",
        "title": book.title,
        "identifier": identifier,
        "language": book.language,
        "modified": served.updated,
        "author": [{"name": name} for name in book.authors],
    }
    if book.date:
        metadata["published"] = book.date
    if book.description:
        metadata["description"] = book.description
    links = [
        {
            "rel": "http://opds-spec.org/acquisition/open-access",
            "href": f"{base}books/{edition.file_name}",
            "type": EPUB_TYPE,
            "title": edition.label,
            "length": len(edition.data),
        }
        for edition in served.editions
    ]
    links += [
        {
            "rel": "related",
            "href": f"{base}opds/{quote(translation.slug)}.json",
            "type": OPDS_PUBLICATION,
            "language": translation.book.language,
            "title": f"{autonym(translation.book.language)}: {translation.book.title}",
        }
        for translation in translations
    ]
    links.append({"rel": "self", "href": f"{base}opds/{quote(served.slug)}.json", "type": OPDS_PUBLICATION})
    return {
        "metadata": metadata,
        "links": links,
        "images": [
            {"href": f"{base}covers/{served.slug}.{book.cover.extension}", "type": book.cover.media_type},
            {"href": f"{base}covers/{served.slug}-thumb.jpg", "type": "image/jpeg"},
        ],
    }

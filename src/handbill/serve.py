"""Serve built books to phones and reading apps on the local network.

Waitress does the serving: a fixed pool of worker threads behind an asynchronous
connection loop, so many clients and idle keep-alive connections cannot stall it,
where the standard library's servers start a thread per connection. Werkzeug does
the HTTP details we would otherwise get wrong: byte ranges (206/416), HEAD,
conditional requests and routing. Only the books and our own pages are served:
every URL is looked up in a fixed table, never on the file system.
"""

from __future__ import annotations

import io
import socket
import zipfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from html import escape
from urllib.parse import quote

from werkzeug.exceptions import HTTPException, MethodNotAllowed, NotFound
from werkzeug.routing import Map, Rule
from werkzeug.wrappers import Request, Response

from .book import Book

EPUB_TYPE = "application/epub+zip"
OPDS_ACQUISITION = "application/atom+xml;profile=opds-catalog;kind=acquisition"
OPDS_2 = "application/opds+json"
_READABLE_TYPES = {
    ".xhtml": "application/xhtml+xml; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".jpg": "image/jpeg",
    ".png": "image/png",
    ".gif": "image/gif",
    ".webp": "image/webp",
    ".svg": "image/svg+xml",
}


@dataclass(frozen=True)
class Edition:
    label: str
    file_name: str
    data: bytes

    @property
    def size(self) -> str:
        return human_size(len(self.data))


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

    @property
    def authors(self) -> str:
        return ", ".join(self.book.authors) or "Unknown"


def served_book(book: Book, editions: Sequence[Edition], updated: datetime) -> ServedBook:
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
    )


def human_size(size: int) -> str:
    if size < 1024 * 1024:
        return f"{max(size // 1024, 1)} KB"
    return f"{size / 1024 / 1024:.1f} MB"


# -- the application -----------------------------------------------------------------------


class Library:
    """The WSGI application: a landing page, OPDS catalogs, downloads, and books to read."""

    def __init__(self, books: Iterable[ServedBook]):
        self.books = {book.slug: book for book in books}
        self._landing_pages: dict[str, bytes] = {}
        self.routes = Map(
            [
                Rule("/", endpoint="index"),
                Rule("/opds", endpoint="opds"),
                Rule("/opds.json", endpoint="opds2"),
                Rule("/books/<slug>.kepub.epub", endpoint="kepub"),
                Rule("/books/<slug>.epub", endpoint="epub"),
                Rule("/covers/<slug>.<extension>", endpoint="cover"),
                Rule("/covers/<slug>-thumb.jpg", endpoint="thumbnail"),
                Rule("/read/<slug>/", endpoint="contents"),
                Rule("/read/<slug>/<path:name>", endpoint="page"),
            ],
            strict_slashes=False,
            merge_slashes=False,
        )

    def __call__(self, environ, start_response):  # type: ignore[no-untyped-def]
        request = Request(environ)
        try:
            if request.method not in ("GET", "HEAD"):
                raise MethodNotAllowed(valid_methods=["GET", "HEAD"])
            endpoint, arguments = self.routes.bind_to_environ(environ).match()
            response = getattr(self, f"_{endpoint}")(request, **arguments)
        except HTTPException as error:
            response = error.get_response(environ)
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        return response(environ, start_response)

    def _book(self, slug: str) -> ServedBook:
        if slug not in self.books:
            raise NotFound()
        return self.books[slug]

    def _download(self, request: Request, edition: Edition) -> Response:
        response = Response(edition.data, mimetype=EPUB_TYPE)
        response.headers["Content-Disposition"] = f'attachment; filename="{edition.file_name}"'
        response.headers["Cache-Control"] = "no-cache"
        response.set_etag(f"{len(edition.data)}-{hash(edition.data) & 0xFFFFFFFF:08x}")
        return response.make_conditional(request, accept_ranges=True, complete_length=len(edition.data))

    def _epub(self, request: Request, slug: str) -> Response:
        return self._download(request, self._book(slug).editions[0])

    def _kepub(self, request: Request, slug: str) -> Response:
        editions = [edition for edition in self._book(slug).editions if edition.file_name.endswith(".kepub.epub")]
        if not editions:
            raise NotFound()
        return self._download(request, editions[0])

    def _cover(self, request: Request, slug: str, extension: str) -> Response:
        cover = self._book(slug).book.cover
        if extension != cover.extension:
            raise NotFound()
        return Response(cover.data, mimetype=cover.media_type)

    def _thumbnail(self, request: Request, slug: str) -> Response:
        return Response(self._book(slug).thumbnail, mimetype="image/jpeg")

    def _contents(self, request: Request, slug: str) -> Response:
        served = self._book(slug)
        items = "".join(
            f'<li><a href="{quote(entry.href)}">{escape(entry.title)}</a></li>' for entry in served.book.toc
        )
        body = (
            f'<p><a href="../../">&#8592; All books</a></p><h1>{escape(served.book.title)}</h1>'
            f'<p class="by">{escape(served.authors)}</p><ol class="toc">{items}</ol>'
        )
        return _html(served.book.title, body, served.book.language)

    def _page(self, request: Request, slug: str, name: str) -> Response:
        served = self._book(slug)
        data = served.pages.get(name)
        suffix = name[name.rfind(".") :].lower() if "." in name else ""
        if data is None or suffix not in _READABLE_TYPES or name.startswith("content.opf"):
            raise NotFound()
        if suffix == ".xhtml":
            data = _for_the_browser(data, name, served.spine)
        return Response(data, content_type=_READABLE_TYPES[suffix])

    def _index(self, request: Request) -> Response:
        address = request.host_url
        page = self._landing_pages.get(address)
        if page is None:
            page = self._landing_page(address)
            if len(self._landing_pages) < 16:  # one per address the server is reached by
                self._landing_pages[address] = page
        return Response(page, content_type="text/html; charset=utf-8")

    def _landing_page(self, address: str) -> bytes:
        cards = "".join(_card(served) for served in self.books.values())
        body = (
            "<h1>Books</h1>"
            f"{cards}"
            '<section class="help"><h2>On a phone</h2>'
            "<p>Tap <b>EPUB</b>: an iPhone opens it in Books, Android in your reading app. "
            "Kobo readers take the Kobo edition.</p>"
            f"<p>Reading apps (KOReader, Moon+ Reader, Librera, Thorium) can add this catalog: "
            f'<a href="/opds">{escape(address)}opds</a></p>'
            f'<h2>Share this page</h2><figure class="qr">{qr_svg(address)}'
            f"<figcaption>{escape(address)}</figcaption></figure></section>"
        )
        return _html("Books", body, "en").get_data()

    def _opds(self, request: Request) -> Response:
        return Response(opds_feed(self.books.values(), request.host_url), content_type=OPDS_ACQUISITION)

    def _opds2(self, request: Request) -> Response:
        return Response(opds2_feed(self.books.values(), request.host_url), content_type=OPDS_2)


def _card(served: ServedBook) -> str:
    buttons = "".join(
        f'<a class="button" href="/books/{edition.file_name}" download="{edition.file_name}">'
        f"{escape(edition.label)} <small>{edition.size}</small></a>"
        for edition in served.editions
    )
    return (
        '<article class="book">'
        f'<img src="/covers/{served.slug}-thumb.jpg" alt="Cover of {escape(served.book.title)}" width="150"/>'
        f'<div><h2>{escape(served.book.title)}</h2><p class="by">{escape(served.authors)}</p>'
        f'<p class="buttons">{buttons}<a class="button light" href="/read/{served.slug}/">Read in the browser</a></p>'
        "</div></article>"
    )


_STYLE = """
body{font-family:system-ui,-apple-system,sans-serif;margin:0 auto;max-width:40em;padding:1em;line-height:1.4}
h1{font-size:1.6em}
.book{display:block;overflow:hidden;margin:1em 0;padding-bottom:1em;border-bottom:1px solid #ccc}
.book img{float:left;margin:0 1em 0.5em 0;width:120px;height:auto;border:1px solid #ccc}
.book h2{margin:0 0 .3em;font-size:1.25em}
.by{margin:0 0 .8em;color:#555}
.button{display:inline-block;margin:0 .4em .5em 0;padding:.7em 1em;border-radius:.4em;background:#b3121b;
color:#fff;text-decoration:none;font-weight:bold}
.button small{font-weight:normal;opacity:.85}
.button.light{background:#eee;color:#222}
.qr{margin:1em 0}
.qr figcaption{word-break:break-all}
.toc li{margin:.5em 0}
@media (prefers-color-scheme:dark){body{background:#111;color:#eee}.by{color:#aaa}
.button.light{background:#333;color:#eee}}
"""


def _html(title: str, body: str, language: str) -> Response:
    page = (
        f'<!DOCTYPE html>\n<html lang="{escape(language)}"><head><meta charset="utf-8"/>'
        '<meta name="viewport" content="width=device-width, initial-scale=1"/>'
        f"<title>{escape(title)}</title><style>{_STYLE}</style></head><body>{body}</body></html>\n"
    )
    return Response(page, content_type="text/html; charset=utf-8")


def _for_the_browser(data: bytes, name: str, spine: tuple[str, ...]) -> bytes:
    """A phone-sized viewport and previous/next links around an EPUB chapter."""
    links = ['<a href="./">Contents</a>']
    if name in spine:
        index = spine.index(name)
        if index > 0:
            links.insert(0, f'<a href="{quote(spine[index - 1])}">&#8592; Previous</a>')
        if index + 1 < len(spine):
            links.append(f'<a href="{quote(spine[index + 1])}">Next &#8594;</a>')
    navigation = f'<nav class="handbill-pages" style="margin:2em 0;text-align:center">{" | ".join(links)}</nav>'
    viewport = (
        '<meta name="viewport" content="width=device-width, initial-scale=1"/>'
        "<style>body{margin:0 auto;max-width:40em;padding:1em}</style>"
    )
    text = data.decode("utf-8")
    text = text.replace("<head>", f"<head>\n{viewport}", 1)
    position = text.rfind("</body>")
    if position != -1:
        text = text[:position] + navigation + "\n" + text[position:]
    return text.encode("utf-8")


# -- catalogs ------------------------------------------------------------------------------


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
    for served in books:
        book = served.book
        entry = element(feed, f"{{{atom}}}entry")
        element(entry, f"{{{atom}}}title", book.title)
        element(entry, f"{{{atom}}}id", book.identifier)
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


def opds2_feed(books: Iterable[ServedBook], base: str) -> bytes:
    """The same catalog as OPDS 2.0 JSON."""
    import json

    publications = []
    for served in books:
        book = served.book
        metadata = {
            "@type": "http://schema.org/Book",
            "title": book.title,
            "identifier": book.identifier,
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


# -- addresses, QR codes, the server -------------------------------------------------------


def lan_address() -> str | None:
    """This machine's address on the local network, found without sending anything."""
    try:
        candidates = socket.getaddrinfo(socket.gethostname(), None, socket.AF_INET)
    except OSError:
        return None
    for *_, address in candidates:
        if not address[0].startswith("127."):
            return address[0]
    return None


def qr_svg(text: str) -> str:
    import segno

    return segno.make(text, error="m").svg_inline(scale=6, border=2, dark="#000", light="#fff")


def qr_terminal(text: str) -> str:
    import segno

    buffer = io.StringIO()
    segno.make(text, error="m").terminal(out=buffer, compact=True, border=2)
    return buffer.getvalue()


def make_server(app: Library, host: str, port: int):  # type: ignore[no-untyped-def]
    """A waitress server bound now (so the real port is known), started by `.run()`."""
    from waitress.server import create_server

    return create_server(app, host=host, port=port, threads=8, channel_timeout=60, ident="handbill")

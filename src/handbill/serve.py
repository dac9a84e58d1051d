"""Serve built books to phones and reading apps on the local network.

Waitress does the serving: a fixed pool of worker threads behind an asynchronous
connection loop, so many clients and idle keep-alive connections cannot stall it,
where the standard library's servers start a thread per connection. Werkzeug does
the HTTP details we would otherwise get wrong: byte ranges (206), HEAD,
conditional requests and routing. Only the books and our own pages are served:
every URL is looked up in a fixed table, never on the file system.

A client that holds a connection without finishing its request (slowloris) costs
nothing but a slot among `ServerLimits.connections`; when the slots run out, the
connection that has kept the server waiting longest is closed to make room, and no
request may take longer than `ServerLimits.request_seconds` to arrive.
"""

from __future__ import annotations

import errno
import io
import ipaddress
import socket
import time
import zipfile
from collections.abc import Callable, Iterable, Sequence
from contextlib import suppress
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from html import escape
from urllib.parse import quote

from werkzeug.exceptions import HTTPException, MethodNotAllowed, NotFound
from werkzeug.routing import Map, Rule
from werkzeug.wrappers import Request, Response
from werkzeug.wsgi import wrap_file

from .errors import HandbillError
from .model import Book

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


class ServeError(HandbillError):
    """The server cannot start: the option named in the message is the problem."""


@dataclass(frozen=True)
class Edition:
    label: str
    file_name: str
    data: bytes

    @property
    def size(self) -> str:
        return human_size(len(self.data))

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
    """The WSGI application: a landing page, OPDS catalogs, downloads, and books to read.

    Absolute addresses (the QR code, the OPDS links) use `address`, the one the server
    printed, never the request's `Host` header: a forged Host cannot reach a page that is
    cached and served to others.
    """

    def __init__(self, books: Iterable[ServedBook], address: str = "http://127.0.0.1/"):
        self.books: dict[str, ServedBook] = {}
        for served in books:
            slug = _free_slug(served.slug, self.books)
            editions = tuple(replace(edition, file_name=slug + edition.suffix) for edition in served.editions)
            self.books[slug] = replace(served, slug=slug, editions=editions)
        self.address = address
        self.routes = Map(
            [
                Rule("/", endpoint="index"),
                Rule("/opds", endpoint="opds"),
                Rule("/opds.json", endpoint="opds2"),
                Rule("/books/<slug>.kepub.epub", endpoint="kepub"),
                Rule("/books/<slug>.epub", endpoint="epub"),
                Rule("/covers/<slug>.<extension>", endpoint="cover"),
                Rule("/covers/<slug>-thumb.jpg", endpoint="thumbnail"),
                Rule("/read/<slug>", endpoint="to_contents", strict_slashes=True),
                Rule("/read/<slug>/", endpoint="contents", strict_slashes=True),
                Rule("/read/<slug>/<path:name>", endpoint="page"),
            ],
            strict_slashes=False,
            merge_slashes=False,
        )

    @property
    def address(self) -> str:
        return self._address

    @address.setter
    def address(self, address: str) -> None:
        self._address = address
        self._cached: dict[str, bytes] = {}

    def _cache(self, name: str, make: Callable[[], bytes]) -> bytes:
        if name not in self._cached:
            self._cached[name] = make()
        return self._cached[name]

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
        environ = request.environ
        if "HTTP_RANGE" in environ and not _single_satisfiable_range(environ["HTTP_RANGE"], len(edition.data)):
            # RFC 9110 14.2: a server may ignore Range; the whole file beats a 416 the client cannot use
            environ = {key: value for key, value in environ.items() if key != "HTTP_RANGE"}
        response.make_conditional(environ, accept_ranges=True, complete_length=len(edition.data))
        if request.method == "GET" and response.status_code in (200, 206):
            # waitress sends a wsgi.file_wrapper straight from memory; a plain body is first copied
            # to its output buffer, a temporary file past 1 MB, once per download
            body = io.BytesIO(edition.data)
            if response.content_range and response.content_range.start is not None:
                body.seek(response.content_range.start)
            response.response = wrap_file(environ, body)
            response.direct_passthrough = True
        return response

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

    def _to_contents(self, request: Request, slug: str) -> Response:
        """Without the slash, the contents' relative links would leave the book."""
        self._book(slug)
        return Response(status=308, headers={"Location": f"/read/{quote(slug)}/"})

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
        return Response(self._cache("index", self._landing_page), content_type="text/html; charset=utf-8")

    def _landing_page(self) -> bytes:
        address = self.address
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
        feed = self._cache("opds", lambda: opds_feed(self.books.values(), self.address))
        return Response(feed, content_type=OPDS_ACQUISITION)

    def _opds2(self, request: Request) -> Response:
        feed = self._cache("opds2", lambda: opds2_feed(self.books.values(), self.address))
        return Response(feed, content_type=OPDS_2)


def _free_slug(slug: str, taken: dict[str, ServedBook]) -> str:
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


def _single_satisfiable_range(header: str, length: int) -> bool:
    from werkzeug.http import parse_range_header

    parsed = parse_range_header(header)
    return (
        parsed is not None
        and parsed.units == "bytes"
        and len(parsed.ranges) == 1
        and parsed.range_for_length(length) is not None
    )


def _card(served: ServedBook) -> str:
    buttons = "".join(
        f'<a class="button" href="/books/{quote(edition.file_name)}" download="{escape(edition.file_name)}">'
        f"{escape(edition.label)} <small>{edition.size}</small></a>"
        for edition in served.editions
    )
    slug = quote(served.slug)
    return (
        '<article class="book">'
        f'<img src="/covers/{slug}-thumb.jpg" alt="Cover of {escape(served.book.title)}" width="150"/>'
        f'<div><h2>{escape(served.book.title)}</h2><p class="by">{escape(served.authors)}</p>'
        f'<p class="buttons">{buttons}<a class="button light" href="/read/{slug}/">Read in the browser</a></p>'
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


# -- addresses, QR codes, the server -------------------------------------------------------


def lan_address(family: socket.AddressFamily = socket.AF_INET) -> str | None:
    """This machine's address on the local network, found without sending anything."""
    try:
        candidates = socket.getaddrinfo(socket.gethostname(), None, family)
    except (OSError, UnicodeError):
        return None
    for *_, address in candidates:
        ip = ipaddress.ip_address(str(address[0]).split("%")[0])
        if not (ip.is_loopback or ip.is_link_local or ip.is_unspecified):
            return str(ip)
    return None


def url_host(host: str) -> str:
    """An IPv6 literal in brackets, as a URL wants it (RFC 3986 3.2.2)."""
    return f"[{host}]" if ":" in host and not host.startswith("[") else host


def public_address(host: str, port: int, dual_stack: bool = False) -> str:
    """The address to print and to put in QR codes and catalogs, for a server bound to `host`
    (`dual_stack`: an IPv6 socket on `::` that takes IPv4 clients too)."""
    if host in ("0.0.0.0", ""):
        host = lan_address() or "127.0.0.1"
    elif host == "::":
        host = (dual_stack and lan_address()) or lan_address(socket.AF_INET6) or "::1"
    return f"http://{url_host(host)}:{port}/"


def is_loopback(address: str) -> bool:
    from urllib.parse import urlsplit

    try:
        return ipaddress.ip_address(urlsplit(address).hostname or "").is_loopback
    except ValueError:
        return False


def qr_svg(text: str) -> str:
    import segno

    return segno.make(text, error="m").svg_inline(scale=6, border=2, dark="#000", light="#fff")


def qr_terminal(text: str) -> str:
    import segno

    buffer = io.StringIO()
    segno.make(text, error="m").terminal(out=buffer, compact=True, border=2)
    return buffer.getvalue()


@dataclass(frozen=True)
class ServerLimits:
    """How much of the server one client may hold, chosen for a handful of phones on a LAN."""

    connections: int = 100
    """Open connections. When all are taken, the one that has kept the server waiting
    longest (idle, or sending its request slowly) is closed to let a new client in."""
    request_seconds: int = 10
    """From a request's first byte to its last: a slowloris client trickling a header is
    cut off after this, however often it sends a byte."""
    idle_seconds: int = 30
    """An idle keep-alive connection is closed after this."""
    cleanup_seconds: int = 2
    """How often connections are checked against the two timeouts above."""
    header_bytes: int = 16 * 1024
    """Request line and headers together; a phone sends under 2 KB (answered with 431)."""
    body_bytes: int = 0
    """Only GET and HEAD are served, so no request needs a body (answered with 413)."""
    threads: int = 8
    """Workers that run the application; slow clients never hold one, the connection
    loop buffers their requests and replies."""


LIMITS = ServerLimits()


def make_server(  # type: ignore[no-untyped-def]
    app: Library, host: str, port: int, limits: ServerLimits = LIMITS, listening: socket.socket | None = None
):
    """A waitress server bound now (so the real port is known), started by `.run()`.

    `listening` is the socket `listen(host, port)` gave, if it was bound first. The app's
    address (QR code, catalogs) is set to the one the server can be reached at.
    """
    from waitress.adjustments import Adjustments

    listening = listening or listen(host, port)
    adjustments = Adjustments(
        sockets=[listening],
        threads=limits.threads,
        connection_limit=limits.connections,
        channel_timeout=limits.idle_seconds,
        cleanup_interval=limits.cleanup_seconds,
        max_request_header_size=limits.header_bytes,
        max_request_body_size=limits.body_bytes,
        asyncore_use_poll=True,  # select() fails past file descriptor 1023
        ident="handbill",
    )
    server_class = _server_class()
    server = server_class(
        app,
        map={},
        _sock=listening,
        adj=adjustments,
        sockinfo=(listening.family, listening.type, listening.proto, listening.getsockname()),
        bind_socket=False,
    )
    server.request_seconds = limits.request_seconds
    dual_stack = listening.family == socket.AF_INET6 and not listening.getsockopt(
        socket.IPPROTO_IPV6, socket.IPV6_V6ONLY
    )
    app.address = public_address(host or "0.0.0.0", server.effective_port, dual_stack)
    return server


def listen(host: str, port: int) -> socket.socket:
    """The socket to serve on, bound; a host or port that cannot be used raises `ServeError`
    naming the option."""
    import os
    import re

    shown = host if host.isprintable() else repr(host)
    if ":" in host or re.fullmatch(r"[0-9.]+", host):
        try:
            ipaddress.ip_address(host)
        except ValueError:
            raise ServeError(f"--host {shown}: not a valid IP address") from None
    try:
        found = socket.getaddrinfo(host or None, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except (OSError, UnicodeError, ValueError) as error:
        reason = getattr(error, "strerror", None) or str(error)
        raise ServeError(f"--host {shown}: not an address or host name to listen on ({reason})") from None
    family, kind, proto, _, address = found[0]
    listening = socket.socket(family, kind, proto)
    try:
        if os.name == "posix":  # elsewhere SO_REUSEADDR would let two servers share a port
            listening.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if family == socket.AF_INET6 and ipaddress.ip_address(address[0]).is_unspecified:
            with suppress(OSError):  # `::` takes IPv4 phones too, where the system allows
                listening.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
        listening.bind(address)
    except OSError as error:
        listening.close()
        problems = {
            errno.EADDRINUSE: f"--port {port}: already in use by another program (--port 0 picks a free one)",
            errno.EACCES: f"--port {port}: not allowed (ports below 1024 need administrator rights)",
            errno.EADDRNOTAVAIL: f"--host {shown}: not an address of this machine",
        }
        problem = problems.get(error.errno or 0, f"--host {shown} --port {port}: cannot listen there ({error})")
        raise ServeError(problem) from None
    return listening


def _server_class() -> type:
    """waitress's server and connection, taught to shed slow clients (imported only to serve)."""
    from waitress.channel import HTTPChannel
    from waitress.server import TcpWSGIServer

    class Channel(HTTPChannel):
        request_started = 0.0

        def received(self, data: bytes) -> bool:
            if self.request is None and data:
                self.request_started = time.time()
            return super().received(data)

        def waiting_since(self) -> float | None:
            """Since when the client has kept us waiting, or None while we owe it a reply."""
            if self.requests or self.total_outbufs_len or self.will_close or self.close_when_flushed:
                return None
            return self.request_started if self.request is not None else self.last_activity

    class Server(TcpWSGIServer):
        channel_class = Channel
        request_seconds = LIMITS.request_seconds
        next_channel_cleanup: float  # waitress's: when maintenance() next runs

        def _open(self) -> list:  # type: ignore[type-arg]
            return [channel for channel in list(self.active_channels.values()) if not channel.will_close]

        def _longest_waiting(self):  # type: ignore[no-untyped-def]
            """The connection that has kept us waiting longest, or None if every one awaits a reply."""
            waiting = [(since, channel) for channel in self._open() if (since := channel.waiting_since()) is not None]
            return min(waiting, key=lambda pair: pair[0])[1] if waiting else None

        def readable(self) -> bool:
            now = time.time()
            if now >= self.next_channel_cleanup:
                self.next_channel_cleanup = now + self.adj.cleanup_interval
                self.maintenance(now)
            if not self.accepting:
                return False
            return len(self._open()) < self.adj.connection_limit or self._longest_waiting() is not None

        def handle_accept(self) -> None:
            super().handle_accept()
            if len(self._open()) > self.adj.connection_limit and (oldest := self._longest_waiting()) is not None:
                oldest.will_close = True  # closed on the loop's next turn, which comes at once

        def maintenance(self, now: float) -> None:
            super().maintenance(now)  # idle connections
            cutoff = now - self.request_seconds
            for channel in self.active_channels.values():
                if channel.request is not None and not channel.requests and channel.request_started < cutoff:
                    channel.will_close = True

    return Server

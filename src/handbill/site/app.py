"""The WSGI application `Library`: routes each URL to a page, a feed, a cover or a download.

In: `ServedBook` records and the address the site is reached at. Out: HTTP responses, with
byte ranges (206), HEAD and conditional requests done by Werkzeug. Only the books and our own
pages are served: every URL is looked up in a fixed table, never on the file system. The
pages and feeds come from `pages` and `opds`; this module only adds HTTP around them.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Iterable
from dataclasses import replace
from urllib.parse import quote

from werkzeug.exceptions import HTTPException, MethodNotAllowed, NotFound
from werkzeug.routing import Map, Rule
from werkzeug.wrappers import Request, Response
from werkzeug.wsgi import wrap_file

from .books import EPUB_TYPE, Edition, ServedBook
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
from .works import in_preferred_order, works

_LANDING_VARIANTS = 32
"""Landing pages kept ready, one per choice of first editions that readers' languages made."""


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
                Rule("/opds/<slug>", endpoint="opds_entry"),
                Rule("/opds/<slug>.json", endpoint="opds2_publication"),
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
        return Response(contents_page(self._book(slug)), content_type=HTML_TYPE)

    def _page(self, request: Request, slug: str, name: str) -> Response:
        served = self._book(slug)
        data = served.pages.get(name)
        suffix = name[name.rfind(".") :].lower() if "." in name else ""
        if data is None or suffix not in READABLE_TYPES or name.startswith("content.opf"):
            raise NotFound()
        if suffix == ".xhtml":
            data = for_the_browser(data, name, served.spine, served.book)
        return Response(data, content_type=READABLE_TYPES[suffix])

    def _index(self, request: Request) -> Response:
        """The landing page offers first, for each work, the edition the phone's languages ask for."""
        wanted = request.headers.get("Accept-Language")
        firsts = tuple(in_preferred_order(work.editions, wanted)[0].slug for work in works(self.books.values()))
        name = "index " + " ".join(firsts)

        def make() -> bytes:
            return landing_page(self.books.values(), self.address, wanted)

        variants = sum(cached.startswith("index ") for cached in self._cached)
        page = self._cache(name, make) if name in self._cached or variants < _LANDING_VARIANTS else make()
        response = Response(page, content_type=HTML_TYPE)
        response.vary.add("Accept-Language")
        return response

    def _opds(self, request: Request) -> Response:
        feed = self._cache("opds", lambda: opds_feed(self.books.values(), self.address))
        return Response(feed, content_type=OPDS_ACQUISITION)

    def _opds_entry(self, request: Request, slug: str) -> Response:
        """One book's complete OPDS entry: where its translations' entries link to."""
        self._book(slug)
        entry = self._cache(f"opds {slug}", lambda: opds_entry(self.books.values(), slug, self.address))
        return Response(entry, content_type=OPDS_ENTRY)

    def _opds2_publication(self, request: Request, slug: str) -> Response:
        self._book(slug)
        publication = self._cache(f"opds2 {slug}", lambda: opds2_publication(self.books.values(), slug, self.address))
        return Response(publication, content_type=OPDS_PUBLICATION)

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

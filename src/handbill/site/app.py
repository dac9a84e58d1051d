"""The WSGI application `Library`: the site of `site_files`, served from memory.

In: `ServedBook` records and the address the site is reached at. Out: HTTP responses, with
byte ranges (206), HEAD and conditional requests done by Werkzeug for downloads. Every URL is
looked up in the site's mapping (the very files `handbill publish` writes), never on the file
system. Only the landing page is made per request: it offers first the editions the phone's
`Accept-Language` asks for, from the same `landing_page` the mapping's `index.html` comes from.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Iterable
from urllib.parse import quote

from werkzeug.exceptions import HTTPException, MethodNotAllowed, NotFound
from werkzeug.wrappers import Request, Response
from werkzeug.wsgi import wrap_file

from .books import EPUB_TYPE, Edition, ServedBook
from .files import INDEX, SiteFiles, site_files, with_free_slugs
from .pages import HTML_TYPE, landing_page
from .works import in_preferred_order, works

_LANDING_VARIANTS = 32
"""Landing pages kept ready, one per choice of first editions that readers' languages made."""

_ALIASES = {"opds": "opds.xml"}
"""Addresses of earlier versions that reading apps may have saved."""


class Library:
    """The WSGI application: the site's files, the landing page in the reader's languages.

    Absolute addresses (the QR code, the OPDS links) use `address`, the one the server
    printed, never the request's `Host` header: a forged Host cannot reach a page that is
    cached and served to others.
    """

    def __init__(self, books: Iterable[ServedBook], address: str = "http://127.0.0.1/"):
        self.books: dict[str, ServedBook] = {served.slug: served for served in with_free_slugs(books)}
        self.editions: dict[str, Edition] = {
            f"books/{edition.file_name}": edition for served in self.books.values() for edition in served.editions
        }
        self.address = address

    @property
    def address(self) -> str:
        return self._address

    @address.setter
    def address(self, address: str) -> None:
        self._address = address
        self._files: SiteFiles | None = None
        self._cached: dict[str, bytes] = {}

    @property
    def files(self) -> SiteFiles:
        """The site at `address`, made on the first request (the server sets the address first)."""
        if self._files is None:
            self._files = site_files(list(self.books.values()), self.address)
        return self._files

    def _cache(self, name: str, make: Callable[[], bytes]) -> bytes:
        if name not in self._cached:
            self._cached[name] = make()
        return self._cached[name]

    def __call__(self, environ, start_response):  # type: ignore[no-untyped-def]
        request = Request(environ)
        try:
            if request.method not in ("GET", "HEAD"):
                raise MethodNotAllowed(valid_methods=["GET", "HEAD"])
            response = self._respond(request)
        except HTTPException as error:
            response = error.get_response(environ)
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        return response(environ, start_response)

    def _respond(self, request: Request) -> Response:
        name = request.path.removeprefix("/")
        name = _ALIASES.get(name, name)
        if name in ("", INDEX):
            return self._index(request)
        files = self.files
        if name.endswith("/") or not name:
            name += INDEX
        elif f"{name}/{INDEX}" in files:  # without the slash, the contents' relative links would leave the book
            return Response(status=308, headers={"Location": f"/{quote(name)}/"})
        if name not in files:
            raise NotFound()
        if name in self.editions:
            return self._download(request, self.editions[name])
        data, content_type = files[name]
        return Response(data, content_type=content_type)

    def _download(self, request: Request, edition: Edition) -> Response:
        response = Response(edition.data, mimetype=EPUB_TYPE)
        response.headers["Content-Disposition"] = f'attachment; filename="{edition.file_name}"'
        response.headers["Cache-Control"] = "no-cache"
        response.set_etag(edition.sha256[:32])
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

    def _index(self, request: Request) -> Response:
        """The landing page offers first, for each work, the edition the phone's languages ask for."""
        wanted = request.headers.get("Accept-Language")
        firsts = tuple(in_preferred_order(work.editions, wanted)[0].slug for work in works(self.books.values()))
        plain = tuple(work.editions[0].slug for work in works(self.books.values()))
        if firsts == plain:
            page = self.files[INDEX][0]  # the published site's own index.html
        else:

            def make() -> bytes:
                return landing_page(self.books.values(), self.address, wanted)

            name = "index " + " ".join(firsts)
            variants = len(self._cached)
            page = self._cache(name, make) if name in self._cached or variants < _LANDING_VARIANTS else make()
        response = Response(page, content_type=HTML_TYPE)
        response.vary.add("Accept-Language")
        return response


def _single_satisfiable_range(header: str, length: int) -> bool:
    from werkzeug.http import parse_range_header

    parsed = parse_range_header(header)
    return (
        parsed is not None
        and parsed.units == "bytes"
        and len(parsed.ranges) == 1
        and parsed.range_for_length(length) is not None
    )

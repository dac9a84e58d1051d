"""The site of served books: HTML pages, OPDS catalogs, and the WSGI app that serves them.

In: built books (`served_book(book, editions, updated)`). Out: the whole site as one mapping
{path: (bytes, content type)} (`site_files`), which `handbill publish` writes to disk and the
`Library` WSGI app serves from memory through `make_server`, a hardened waitress server for
`handbill serve`. Pages (`pages`) and feeds (`opds`) do not depend on the app or the server.

    books.py   the served-book records: Edition, ServedBook, served_book
    pages.py   the landing page, book cards, contents pages, chapters read online
    opds.py    the OPDS 1.2 (Atom) and OPDS 2.0 (JSON) catalogs
    files.py   the site as one mapping: site_files, slugs of their own, SHA256SUMS
    works.py   editions of one work: grouping, languages' own names, Accept-Language
    app.py     Library: the mapping served from memory, downloads, byte ranges
    server.py  waitress limits, listen, make_server, addresses, QR for the terminal

Each name below is imported when first used, so the pages and feeds load neither Werkzeug
nor waitress.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .. import _lazy_attributes

if TYPE_CHECKING:
    from .app import Library
    from .books import EPUB_TYPE, Edition, ServedBook, served_book
    from .files import SiteFiles, site_files, with_free_slugs
    from .opds import OPDS_2, OPDS_ACQUISITION, opds2_feed, opds_feed
    from .pages import qr_svg
    from .server import (
        LIMITS,
        ServeError,
        ServerLimits,
        is_loopback,
        lan_address,
        listen,
        make_server,
        public_address,
        qr_terminal,
        url_host,
    )

__all__ = [
    "EPUB_TYPE",
    "Edition",
    "LIMITS",
    "Library",
    "OPDS_2",
    "OPDS_ACQUISITION",
    "ServeError",
    "ServedBook",
    "ServerLimits",
    "SiteFiles",
    "is_loopback",
    "lan_address",
    "listen",
    "make_server",
    "opds2_feed",
    "opds_feed",
    "public_address",
    "qr_svg",
    "qr_terminal",
    "served_book",
    "site_files",
    "url_host",
    "with_free_slugs",
]

_LAZY = {
    "Library": "app",
    "EPUB_TYPE": "books",
    "Edition": "books",
    "ServedBook": "books",
    "served_book": "books",
    "SiteFiles": "files",
    "site_files": "files",
    "with_free_slugs": "files",
    "OPDS_2": "opds",
    "OPDS_ACQUISITION": "opds",
    "opds2_feed": "opds",
    "opds_feed": "opds",
    "qr_svg": "pages",
    "LIMITS": "server",
    "ServeError": "server",
    "ServerLimits": "server",
    "is_loopback": "server",
    "lan_address": "server",
    "listen": "server",
    "make_server": "server",
    "public_address": "server",
    "qr_terminal": "server",
    "url_host": "server",
}


__getattr__, __dir__ = _lazy_attributes(__name__, _LAZY, globals())

"""The site's pages and catalogs stand on their own: made from the served-book records alone,
they are byte for byte what the server sends, and making them loads neither Werkzeug nor waitress
(so a `publish` command can write the same site to disk without a server)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from lxml import etree
from werkzeug.test import Client

from handbill.build import edition_bytes
from handbill.config import load_config
from handbill.site import Edition, Library, ServedBook, served_book
from handbill.site.opds import opds2_feed, opds_feed
from handbill.site.pages import contents_page, for_the_browser, landing_page

from .conftest import CONTENT, register

ADDRESS = "http://192.0.2.7:8000/"


@pytest.fixture(scope="module")
def books(tmp_path_factory: pytest.TempPathFactory) -> list[ServedBook]:
    """The statement twice: two books of one title, so slugs and catalog identifiers must differ."""
    book, modified, data = edition_bytes(load_config(CONTENT))
    path = tmp_path_factory.mktemp("site") / "statement.epub"
    path.write_bytes(data["epub"])
    register(path, CONTENT)
    editions = [
        Edition("EPUB", f"{book.slug}.epub", data["epub"]),
        Edition("Kobo", f"{book.slug}.kepub.epub", data["kepub"]),
    ]
    return list(Library([served_book(book, editions, modified)] * 2, ADDRESS).books.values())


def test_the_pages_made_alone_are_what_the_server_sends(books: list[ServedBook]) -> None:
    client = Client(Library(books, ADDRESS))
    assert [served.slug for served in books] == [books[0].slug, f"{books[0].slug}-2"]
    assert client.get("/").get_data() == landing_page(books, ADDRESS)
    for served in books:
        assert client.get(f"/read/{served.slug}/").get_data() == contents_page(served)
        chapter = served.spine[1]
        page = for_the_browser(served.pages[chapter], chapter, served.spine)
        assert client.get(f"/read/{served.slug}/{chapter}").get_data() == page
        assert b'href="index.html">Contents</a>' in page and b"Previous</a>" in page


def test_the_catalogs_made_alone_are_what_the_server_sends(books: list[ServedBook]) -> None:
    client = Client(Library(books, ADDRESS))
    atom = opds_feed(books, ADDRESS)
    assert client.get("/opds").get_data() == atom
    assert client.get("/opds.json").get_data() == opds2_feed(books, ADDRESS)
    ids = etree.fromstring(atom).findall("{http://www.w3.org/2005/Atom}entry/{http://www.w3.org/2005/Atom}id")
    assert len({node.text for node in ids}) == 2  # two books of one title stay two in a reading app
    publications = json.loads(opds2_feed(books, ADDRESS))["publications"]
    assert publications[1]["links"][0]["href"] == f"{ADDRESS}books/{books[1].slug}.epub"


def test_pages_and_catalogs_load_no_server() -> None:
    code = (
        "import sys, handbill.site.pages, handbill.site.opds, handbill.site.books\n"
        "print(sorted(name for name in ('werkzeug', 'waitress') if name in sys.modules))"
    )
    loaded = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=Path(__file__).parent
    )
    assert loaded.stdout.strip() == "[]"

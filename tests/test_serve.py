"""The real server on a loopback port, spoken to over HTTP as a phone or a reading app would."""

from __future__ import annotations

import http.client
import json
import socket
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import pytest
from lxml import etree

from handbill.build import make_book
from handbill.config import load_config
from handbill.site import Edition, Library, ServeError, make_server, served_book
from handbill.write.epub import epub_bytes, modified_time

from .conftest import CONTENT, register
from .serving import running

ATOM = "{http://www.w3.org/2005/Atom}"


@dataclass
class Server:
    port: int
    slug: str
    epub: bytes

    def request(self, method: str, path: str, headers: dict[str, str] | None = None) -> tuple[int, dict, bytes]:
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        connection.request(method, path, headers=headers or {})
        response = connection.getresponse()
        body = response.read()
        connection.close()
        return response.status, {key.lower(): value for key, value in response.getheaders()}, body


@pytest.fixture(scope="module")
def server() -> Iterator[Server]:
    config = load_config(CONTENT)
    book = make_book(config)
    data = epub_bytes(book, modified_time(config.modified, config.date))
    editions = [Edition("EPUB", f"{book.slug}.epub", data), Edition("Kobo", f"{book.slug}.kepub.epub", data)]
    app = Library([served_book(book, editions, modified_time(config.modified, config.date))])
    running = make_server(app, "127.0.0.1", 0)
    thread = threading.Thread(target=running.run, daemon=True)
    thread.start()
    yield Server(running.effective_port, book.slug, data)
    running.close()
    thread.join(timeout=5)


def test_landing_page_works_on_a_phone_without_javascript(server: Server) -> None:
    status, headers, body = server.request("GET", "/")
    page = body.decode()
    assert status == 200 and headers["content-type"].startswith("text/html")
    assert 'name="viewport"' in page and "<script" not in page
    assert "For a general strike against ICE violence" in page and "Socialist Equality Party (US)" in page
    assert f'href="books/{server.slug}.epub"' in page and f'href="books/{server.slug}.kepub.epub"' in page
    assert f'src="covers/{server.slug}-thumb.jpg"' in page  # relative: the published site works under any prefix
    assert "<svg" in page and "KB" in page  # the QR code of the page's address, the sizes


def test_download_opens_in_a_reading_app(server: Server) -> None:
    status, headers, body = server.request("GET", f"/books/{server.slug}.epub")
    assert status == 200 and body == server.epub
    assert headers["content-type"] == "application/epub+zip"
    assert headers["content-disposition"] == f'attachment; filename="{server.slug}.epub"'
    assert headers["accept-ranges"] == "bytes"


def test_head_and_byte_ranges_let_phones_resume(server: Server) -> None:
    path = f"/books/{server.slug}.epub"
    status, headers, body = server.request("HEAD", path)
    assert status == 200 and body == b"" and int(headers["content-length"]) == len(server.epub)
    status, headers, body = server.request("GET", path, {"Range": "bytes=100-199"})
    assert status == 206 and body == server.epub[100:200]
    assert headers["content-range"] == f"bytes 100-199/{len(server.epub)}"
    status, headers, body = server.request("GET", path, {"Range": f"bytes={len(server.epub) - 10}-"})
    assert status == 206 and body == server.epub[-10:]
    status, headers, body = server.request("GET", path, {"Range": "bytes=-10"})
    assert status == 206 and body == server.epub[-10:]
    status, headers, body = server.request("HEAD", path, {"Range": "bytes=0-9"})
    assert status == 206 and body == b"" and headers["content-range"] == f"bytes 0-9/{len(server.epub)}"


@pytest.mark.parametrize(
    "header",
    [
        "bytes=99999999-",  # starts past the end
        "bytes=0-1,5-6",  # several ranges
        "bytes=5-1",  # backwards
        "bytes=-0",  # an empty suffix
        "bytes=abc",
        "bytes=",
        "items=0-5",  # another unit
        "bytes=0-1;x",
        "0-100",
    ],
)
def test_a_range_that_is_not_one_satisfiable_byte_range_gets_the_whole_file(server: Server, header: str) -> None:
    status, headers, body = server.request("GET", f"/books/{server.slug}.epub", {"Range": header})
    assert status == 200 and body == server.epub and "content-range" not in headers
    status, headers, body = server.request("HEAD", f"/books/{server.slug}.epub", {"Range": header})
    assert status == 200 and int(headers["content-length"]) == len(server.epub)


def test_covers(server: Server) -> None:
    status, headers, body = server.request("GET", f"/covers/{server.slug}.png")
    assert status == 200 and headers["content-type"] == "image/png" and body[:4] == b"\x89PNG"
    assert server.request("GET", f"/covers/{server.slug}.jpg")[0] == 404
    status, _, thumbnail = server.request("GET", f"/covers/{server.slug}-thumb.jpg")
    assert status == 200 and len(thumbnail) < len(body)


def test_opds_catalog_follows_opds_1_2(server: Server) -> None:
    status, headers, body = server.request("GET", "/opds")
    assert status == 200
    assert headers["content-type"] == "application/atom+xml;profile=opds-catalog;kind=acquisition"
    feed = etree.fromstring(body)
    assert feed.tag == f"{ATOM}feed"
    for required in ("id", "title", "updated", "author"):
        assert feed.find(f"{ATOM}{required}") is not None, required
    links = {link.get("rel"): link for link in feed.findall(f"{ATOM}link")}
    for rel in ("self", "start"):
        assert links[rel].get("type") == "application/atom+xml;profile=opds-catalog;kind=acquisition"
    entry = feed.find(f"{ATOM}entry")
    assert entry.findtext(f"{ATOM}title").startswith("For a general strike")
    assert entry.findtext(f"{ATOM}id").startswith("urn:uuid:") and entry.findtext(f"{ATOM}updated")
    by_rel: dict[str, list] = {}
    for link in entry.findall(f"{ATOM}link"):
        by_rel.setdefault(link.get("rel"), []).append(link)
    acquisitions = by_rel["http://opds-spec.org/acquisition/open-access"]
    assert [link.get("type") for link in acquisitions] == ["application/epub+zip"] * 2
    assert by_rel["http://opds-spec.org/image"] and by_rel["http://opds-spec.org/image/thumbnail"]
    for link in acquisitions + by_rel["http://opds-spec.org/image/thumbnail"]:
        path = "/" + link.get("href").split("/", 3)[3]
        assert server.request("HEAD", path)[0] == 200, path


def test_opds_2_feed(server: Server) -> None:
    status, headers, body = server.request("GET", "/opds.json")
    assert status == 200 and headers["content-type"] == "application/opds+json"
    feed = json.loads(body)
    assert feed["metadata"]["title"]
    assert feed["links"][0]["rel"] == "self"
    publication = feed["publications"][0]
    assert publication["metadata"]["title"].startswith("For a general strike")
    assert publication["links"][0]["rel"] == "http://opds-spec.org/acquisition/open-access"
    assert publication["images"]


def test_read_in_the_browser(server: Server) -> None:
    status, _, body = server.request("GET", f"/read/{server.slug}/")
    assert status == 200 and b"Contact" in body
    status, headers, body = server.request("GET", f"/read/{server.slug}/text-002.xhtml")
    assert status == 200 and headers["content-type"].startswith("application/xhtml+xml")
    assert b'name="viewport"' in body and b"Today, workers and young people" in body and b"Next" in body
    etree.fromstring(body)  # still well-formed for the browser's XML parser
    assert server.request("GET", f"/read/{server.slug}/styles/handbill.css")[0] == 200


@pytest.mark.parametrize(
    "path",
    [
        "/read/{slug}/../../../etc/passwd",
        "/read/{slug}/%2e%2e/%2e%2e/etc/passwd",
        "/read/{slug}/..%2f..%2fpyproject.toml",
        "/read/{slug}/content.opf",
        "/read/{slug}/META-INF/container.xml",
        "/books/../pyproject.toml",
        "/books/%2e%2e%2fpyproject.toml",
        "//etc/passwd",
        "/content/",
        "/src/handbill/",
        "/books/",
        "/read/nobook/text-002.xhtml",
    ],
)
def test_nothing_but_the_books_is_served(server: Server, path: str) -> None:
    status, _, body = server.request("GET", path.format(slug=server.slug))
    assert status == 404
    assert b"root:" not in body and b"[project]" not in body


@pytest.mark.parametrize("method", ["POST", "PUT", "DELETE", "PATCH", "OPTIONS"])
def test_other_methods_are_refused(server: Server, method: str) -> None:
    status, headers, _ = server.request(method, f"/books/{server.slug}.epub")
    assert status == 405 and "GET" in headers["allow"]


def test_many_clients_and_idle_connections_do_not_stall_it(server: Server) -> None:
    idle = [socket.create_connection(("127.0.0.1", server.port), timeout=5) for _ in range(30)]
    try:
        idle[0].sendall(b"GET / HTTP/1.1\r\nHost: x\r\n")  # a request that never finishes
        with ThreadPoolExecutor(max_workers=16) as pool:
            results = list(pool.map(lambda _: server.request("GET", f"/books/{server.slug}.epub"), range(64)))
        assert all(status == 200 and body == server.epub for status, _, body in results)
    finally:
        for connection in idle:
            connection.close()


def test_serve_command_prints_address_and_qr_then_stops_cleanly_on_ctrl_c(tmp_path) -> None:
    import re
    import signal
    import subprocess
    import sys
    import time

    process = subprocess.Popen(
        [sys.executable, "-m", "handbill", "serve", str(CONTENT), "--host", "127.0.0.1", "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        lines = []
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            line = process.stdout.readline()
            lines.append(line)
            if line.startswith("serving") or not line:
                break
        found = re.search(r"http://127\.0\.0\.1:(\d+)/", "".join(lines))
        assert found, "".join(lines) + process.stderr.read()
        status, _, body = Server(int(found.group(1)), "", b"").request("GET", "/")
        assert status == 200 and b"For a general strike" in body
        status, headers, _ = Server(int(found.group(1)), "", b"").request("HEAD", "/opds")
        assert status == 200
    finally:
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=30)
    assert process.returncode == 130, err  # Ctrl-C, as for every command
    assert "stopped" in err and "Traceback" not in err


def test_read_without_the_slash_redirects_to_the_contents(server: Server) -> None:
    status, headers, _ = server.request("GET", f"/read/{server.slug}")
    assert status in (301, 308) and headers["location"] == f"/read/{server.slug}/"
    assert server.request("GET", "/read/nobook")[0] == 404
    status, _, body = server.request("GET", headers["location"])
    assert status == 200 and b'href="text-002.xhtml"' in body  # relative links that now stay in the book


@pytest.mark.parametrize("path", ["/", "/opds", "/opds.json"])
def test_a_forged_host_header_never_reaches_a_page(server: Server, path: str) -> None:
    forged = server.request("GET", path, {"Host": "evil.example:666"})[2]
    honest = server.request("GET", path)[2]
    assert b"evil.example" not in forged and b"evil.example" not in honest
    assert f"http://127.0.0.1:{server.port}/".encode() in honest
    assert forged == honest


def test_ipv6_addresses_are_bracketed_in_what_is_printed_and_in_qr_codes() -> None:
    from urllib.parse import urlsplit

    from handbill.site import public_address, qr_svg

    assert public_address("::1", 8000) == "http://[::1]:8000/"
    assert public_address("fe80::1%eth0", 80) == "http://[fe80::1%eth0]:80/"
    assert public_address("127.0.0.1", 8000) == "http://127.0.0.1:8000/"
    for host in ("::", "0.0.0.0", "::ffff:127.0.0.1"):
        assert urlsplit(public_address(host, 8000)).port == 8000  # an unbracketed IPv6 host has no port
    app = Library([])
    try:
        with running(app, host="::1") as port:
            connection = http.client.HTTPConnection("::1", port, timeout=10)
            connection.request("GET", "/")
            page = connection.getresponse().read().decode()
            connection.close()
    except ServeError as error:
        pytest.skip(f"no IPv6 loopback here: {error}")
    address = f"http://[::1]:{port}/"
    assert app.address == address
    assert f"<figcaption>{address}</figcaption>" in page and qr_svg(address) in page


def test_two_books_with_one_title_get_two_addresses_and_both_are_offered(write_book, tmp_path) -> None:
    from handbill.build import edition_bytes

    library = []
    for folder, text in (("one", "The first book's words."), ("two", "The second book's words.")):
        source = write_book(
            {"book.toml": 'title = "Same Title"\nauthors = ["A. Writer"]\n', "01.md": f"# Only\n\n{text}\n"}, folder
        )
        book, modified, data = edition_bytes(load_config(source))
        for kind, suffix in (("epub", ".epub"), ("kepub", ".kepub.epub")):
            (tmp_path / f"{folder}{suffix}").write_bytes(data[kind])
            register(tmp_path / f"{folder}{suffix}")
        editions = [
            Edition("EPUB", f"{book.slug}.epub", data["epub"]),
            Edition("Kobo", f"{book.slug}.kepub.epub", data["kepub"]),
        ]
        library.append(served_book(book, editions, modified))
    with running(Library(library)) as port:
        site = Server(port, "", b"")
        page = site.request("GET", "/")[2].decode()
        opds = etree.fromstring(site.request("GET", "/opds")[2])
        opds2 = json.loads(site.request("GET", "/opds.json")[2])
        downloads = {slug: site.request("GET", f"/books/{slug}.epub") for slug in ("same-title", "same-title-2")}
        readable = {
            slug: site.request("GET", f"/read/{slug}/text-001.xhtml")[2] for slug in ("same-title", "same-title-2")
        }
    for slug in ("same-title", "same-title-2"):
        assert f'href="books/{slug}.epub"' in page and f'href="books/{slug}.kepub.epub"' in page
        assert f'href="read/{slug}/index.html"' in page and f'src="covers/{slug}-thumb.jpg"' in page
        status, headers, _ = downloads[slug]
        assert status == 200 and headers["content-disposition"] == f'attachment; filename="{slug}.epub"'
    assert downloads["same-title"][2] == (tmp_path / "one.epub").read_bytes()
    assert downloads["same-title-2"][2] == (tmp_path / "two.epub").read_bytes()
    assert b"The first book" in readable["same-title"] and b"The second book" in readable["same-title-2"]
    entries = opds.findall(f"{ATOM}entry")
    assert len(entries) == 2 and len({entry.findtext(f"{ATOM}id") for entry in entries}) == 2
    hrefs = {link.get("href").rsplit("/", 1)[1] for entry in entries for link in entry.findall(f"{ATOM}link")}
    assert {"same-title.epub", "same-title-2.epub", "same-title.kepub.epub", "same-title-2.kepub.epub"} <= hrefs
    publications = opds2["publications"]
    assert len(publications) == 2 and len({p["metadata"]["identifier"] for p in publications}) == 2
    assert sorted(p["links"][0]["href"].rsplit("/", 1)[1] for p in publications) == [
        "same-title-2.epub",
        "same-title.epub",
    ]


def test_slugs_never_collide_with_each_other_or_with_a_cover_thumbnail_address() -> None:
    from handbill.site import ServedBook

    def served(slug: str) -> ServedBook:
        edition = Edition("EPUB", f"{slug}.epub", b"")
        return ServedBook(slug, None, (edition,), b"", {}, (), "")  # type: ignore[arg-type]

    slugs = ["x", "x", "x-thumb", "y-thumb", "y", "x-2", ""]
    books = Library([served(slug) for slug in slugs]).books
    assert list(books) == ["x", "x-2", "x-thumb-2", "y-thumb", "y-2", "x-2-2", "book"]
    assert [book.editions[0].file_name for book in books.values()] == [f"{slug}.epub" for slug in books]
    thumbnails = {f"{slug}-thumb" for slug in books}
    assert not thumbnails & set(books)  # /covers/<a>-thumb.jpg is never /covers/<b>.jpg

"""`handbill publish`: the static site, served by a plain static server (Python's http.server on
127.0.0.1) under a prefix, and crawled as a phone and a reading app would: every link of the page
and of both catalogs answers, every download is byte for byte what `handbill build` writes, the
SHA256SUMS and the page's digests agree with them, no page names a local path, and the page's
QR code, read from a real browser's screenshot, is the site's public address. Publishing again
rebuilds only the edited book, and never deletes a file publish did not write."""

from __future__ import annotations

import hashlib
import http.server
import json
import shutil
import subprocess
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urldefrag, urljoin

import pytest
from click.testing import CliRunner
from lxml import etree
from PIL import Image

from handbill.cli import cli
from handbill.config import load_config
from handbill.publish import MANIFEST, built_for_the_site
from handbill.site import Library

from .conftest import register

ATOM = "{http://www.w3.org/2005/Atom}"
ACQUISITION = "http://opds-spec.org/acquisition/open-access"
PREFIX = "site/"
BOOKS = {
    # folder: (title, language, book.toml extra, text)
    "leaflet": (
        "The Leaflet",
        "en",
        "",
        "# Strike\n\nEvery worker joins.\n\n![A crowd](crowd.png)\n\n# Demands\n\nShorter hours.\n",
    ),
    "arabic": ("بيان الإضراب", "ar", "", "# الإضراب\n\nالعمال في كل مدينة ينضمون إلى الدعوة إلى إضراب عام.\n"),
    "editions/de": ("Aufruf zum Generalstreik", "de", 'work = "call"\n', "# Aufruf\n\nArbeiter schließen sich an.\n"),
    "editions/en": ("A Call for a General Strike", "en", 'work = "call"\n', "# The call\n\nWorkers join the call.\n"),
}


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, list(args), catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


def write_books(root: Path) -> dict[str, Path]:
    folders = {}
    for name, (title, language, extra, text) in BOOKS.items():
        folder = root / name
        folder.mkdir(parents=True)
        settings = f'title = "{title}"\nlanguage = "{language}"\nauthors = "Strike Committee"\ndate = "2026-01-22"\n'
        (folder / "book.toml").write_text(settings + extra, encoding="utf-8")
        (folder / "01.md").write_text(text, encoding="utf-8")
        folders[name] = folder
    Image.new("RGB", (64, 48), (180, 20, 30)).save(folders["leaflet"] / "crowd.png")
    return folders


class Site:
    def __init__(self, root: Path, port: int) -> None:
        self.root = root
        self.folder = root / PREFIX
        self.base = f"http://127.0.0.1:{port}/{PREFIX}"

    def get(self, url: str) -> tuple[int, str, bytes]:
        try:
            with urllib.request.urlopen(url, timeout=30) as response:
                return response.status, response.headers.get("Content-Type", ""), response.read()
        except urllib.error.HTTPError as error:
            return error.code, "", b""


@pytest.fixture(scope="module")
def static_root(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, int]]:
    """A plain static server for a folder, as any host would serve the published site."""
    root = tmp_path_factory.mktemp("www")

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def __init__(self, *args, **kwargs):  # type: ignore[no-untyped-def]
            super().__init__(*args, directory=str(root), **kwargs)

        def log_message(self, *args) -> None:  # type: ignore[no-untyped-def]
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Quiet)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield root, server.server_address[1]
    server.shutdown()
    server.server_close()
    thread.join(timeout=5)


@pytest.fixture(scope="module")
def sources(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    return write_books(tmp_path_factory.mktemp("books"))


@pytest.fixture(scope="module")
def built(sources: dict[str, Path], tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, bytes]]:
    """Each book as `handbill build --format all` writes it, by title, registered for EPUBCheck."""
    out = tmp_path_factory.mktemp("built")
    editions = {}
    for name, folder in sources.items():
        target = out / f"{name.replace('/', '-')}.epub"
        code, _, stderr = run("build", str(folder), "-o", str(target), "--format", "all")
        assert code == 0, stderr
        kepub = target.with_name(target.stem + ".kepub.epub")
        register(target, folder)
        register(kepub, folder)
        editions[BOOKS[name][0]] = {"epub": target.read_bytes(), "kepub": kepub.read_bytes()}
    return editions


@pytest.fixture(scope="module")
def site(static_root: tuple[Path, int], sources: dict[str, Path]) -> Site:
    root, port = static_root
    site = Site(root, port)
    code, stdout, stderr = run(
        "publish", str(sources["leaflet"]), str(sources["arabic"]), str(sources["leaflet"].parent / "editions"),
        "-o", str(site.folder), "--base-url", site.base,
    )  # fmt: skip
    assert code == 0, stderr
    assert "published 4 book(s)" in stdout and "(4 built, 0 unchanged)" in stdout
    return site


def links(data: bytes, content_type: str, url: str) -> set[str]:
    """The addresses a page or catalog links to, made absolute, fragments dropped."""
    if "json" in content_type:
        document = json.loads(data)
        found = {link["href"] for link in document.get("links", [])}
        for publication in document.get("publications", [document] if "metadata" in document else []):
            found |= {link["href"] for link in publication["links"] + publication.get("images", [])}
    else:
        html = "text/html" in content_type
        tree = etree.fromstring(data, etree.HTMLParser() if html else etree.XMLParser())
        found = {value for node in tree.iter() for key, value in node.attrib.items() if key.endswith(("href", "src"))}
    return {urldefrag(urljoin(url, href)).url for href in found if not href.startswith(("mailto:", "#"))}


def crawl(site: Site) -> dict[str, tuple[int, str, bytes]]:
    """Every address under the base the page and the catalogs lead to, followed through pages."""
    seen: dict[str, tuple[int, str, bytes]] = {}
    queue = [site.base, site.base + "opds.xml", site.base + "opds.json"]
    while queue and len(seen) < 500:
        url = queue.pop()
        if url in seen or not url.startswith(site.base):
            continue
        seen[url] = answer = site.get(url)
        status, _, data = answer
        kind = "text/html" if url.endswith(("/", ".html")) else ""
        kind = kind or ("xml" if url.endswith((".xml", ".xhtml")) else "json" if url.endswith(".json") else "")
        if status == 200 and kind:
            queue += sorted(links(data, kind, url))
    return seen


def test_every_link_answers_and_no_page_names_a_local_path(site: Site, sources: dict[str, Path]) -> None:
    found = crawl(site)
    assert all(status == 200 for status, _, _ in found.values()), [url for url, a in found.items() if a[0] != 200]
    paths = {url.removeprefix(site.base) for url in found}
    assert {"", "opds.xml", "opds.json", "SHA256SUMS"} <= paths
    assert sum(path.startswith("books/") for path in paths) == 8  # 4 books, EPUB and Kobo each
    assert any(
        path.startswith("read/the-leaflet/") and path.endswith(".png") for path in paths
    )  # the image read online
    # each publication's own OPDS 2 document (its self link), and the two translations' Atom entries
    assert sum(path.startswith("opds/") for path in paths) == 6
    local = [str(site.root), str(sources["leaflet"].parent), "/home/", "/work/", "/root/", "/tmp/"]
    for path in (site.folder / MANIFEST, *(site.folder / p for p in paths if p and not p.startswith("books/"))):
        text = path.read_bytes().decode("utf-8", "replace") if path.is_file() else ""
        assert not [place for place in local if place in text], path
    for url, (_, _, data) in found.items():
        assert not [place for place in local if place.encode() in data], url
    assert not [path for path in site.folder.rglob("*") if path.name.endswith(".part")]  # every file renamed into place
    assert {path.stat().st_mode & 0o777 for path in site.folder.rglob("*") if path.is_file()} == {0o644}


def test_every_acquisition_link_downloads_what_handbill_build_writes(site: Site, built) -> None:  # type: ignore[no-untyped-def]
    feed = etree.fromstring(site.get(site.base + "opds.xml")[2])
    entries = feed.findall(f"{ATOM}entry")
    assert len(entries) == 4
    for entry in entries:
        acquisitions = entry.findall(f"{ATOM}link[@rel='{ACQUISITION}']")
        assert all(link.get("href").startswith(site.base) for link in entry.findall(f"{ATOM}link"))  # absolute
        downloads = sorted(site.get(link.get("href"))[2] for link in acquisitions)
        assert downloads == sorted(built[entry.findtext(f"{ATOM}title")].values())
    catalog = json.loads(site.get(site.base + "opds.json")[2])
    for publication in catalog["publications"]:
        hrefs = [link["href"] for link in publication["links"] if link["rel"] == ACQUISITION]
        assert all(href.startswith(site.base) for href in hrefs + [image["href"] for image in publication["images"]])
        downloads = sorted(site.get(href)[2] for href in hrefs)
        assert downloads == sorted(built[publication["metadata"]["title"]].values())


def test_sha256sums_match_the_downloads_and_the_page_shows_each_digest(site: Site, built) -> None:  # type: ignore[no-untyped-def]
    status, _, sums = site.get(site.base + "SHA256SUMS")
    assert status == 200
    page = site.get(site.base)[2].decode()
    lines = sums.decode("ascii").splitlines()
    assert len(lines) == 8
    every_edition = {data for editions in built.values() for data in editions.values()}
    for line in lines:
        digest, name = line.split("  ", 1)
        data = site.get(site.base + name)[2]
        assert hashlib.sha256(data).hexdigest() == digest and data in every_edition
        assert f'<code title="{name.removeprefix("books/")}">{digest}</code>' in page  # by its file
    checked = subprocess.run(["sha256sum", "-c", "SHA256SUMS"], cwd=site.folder, capture_output=True, text=True)
    assert checked.returncode == 0 and checked.stdout.count(": OK") == 8


def test_the_landing_page_lists_each_book_in_its_language(site: Site) -> None:
    page = etree.fromstring(site.get(site.base)[2], etree.HTMLParser())
    arabic = next(article for article in page.iter("article") if article.findtext(".//h2") == BOOKS["arabic"][0])
    assert (arabic.get("lang"), arabic.get("dir")) == ("ar", "rtl")
    work = next(article for article in page.iter("article") if "work" in article.get("class"))
    assert [item.get("lang") for item in work.iterfind(".//ul[@class='editions']/li/h3")] == ["de", "en"]


def test_the_pages_on_disk_are_what_serve_sends(site: Site, sources: dict[str, Path]) -> None:
    """One code path: `serve` at the same address holds the very files `publish` wrote."""
    order = [sources["leaflet"], sources["arabic"], sources["editions/de"], sources["editions/en"]]
    served = Library([built_for_the_site(load_config(folder)) for folder in order], site.base)
    on_disk = {
        path.relative_to(site.folder).as_posix(): path.read_bytes()
        for path in site.folder.rglob("*")
        if path.is_file() and path.name != MANIFEST
    }
    assert on_disk == {path: data for path, (data, _) in served.files.items()}


def test_the_qr_code_in_a_browser_screenshot_is_the_public_address(site: Site, tmp_path: Path) -> None:
    zxingcpp = pytest.importorskip("zxingcpp")
    chromium = shutil.which("chromium") or "/usr/bin/chromium"
    if not Path(chromium).exists():
        pytest.skip("no chromium here")
    shot = tmp_path / "page.png"
    command = [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", "--window-size=600,4000"]
    subprocess.run([*command, f"--screenshot={shot}", site.base], capture_output=True, timeout=120)
    assert shot.is_file()
    codes = zxingcpp.read_barcodes(Image.open(shot))
    assert [code.text for code in codes if code.format == zxingcpp.BarcodeFormat.QRCode] == [site.base]


def copy_of(site: Site, sources: dict[str, Path], tmp_path: Path) -> tuple[Path, dict[str, Path]]:
    """The books and their site copied elsewhere: the inputs' digests do not depend on where they are."""
    books = tmp_path / "books"
    shutil.copytree(sources["leaflet"].parent, books)
    folder = tmp_path / "site"
    shutil.copytree(site.folder, folder)
    return folder, {name: books / name for name in BOOKS}


def test_republishing_rebuilds_only_the_edited_book(site: Site, sources, built, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    folder, books = copy_of(site, sources, tmp_path)
    arguments = [str(books["leaflet"]), str(books["arabic"]), str(books["leaflet"].parent / "editions")]
    code, stdout, _ = run("publish", *arguments, "-o", str(folder), "--base-url", site.base)
    assert code == 0 and "(0 built, 4 unchanged): 0 of" in stdout
    before = {path: path.stat().st_mtime_ns for path in folder.rglob("*.epub")}
    with (books["arabic"] / "01.md").open("a", encoding="utf-8") as text:
        text.write("\nسطر جديد.\n")
    code, stdout, stderr = run("publish", *arguments, "-o", str(folder), "--base-url", site.base)
    assert code == 0, stderr
    assert "(1 built, 3 unchanged)" in stdout and f"built: {BOOKS['arabic'][0]}" in stdout
    changed = {path.name for path, mtime in before.items() if path.stat().st_mtime_ns != mtime}
    publications = json.loads((folder / "opds.json").read_bytes())["publications"]
    arabic = next(p for p in publications if p["metadata"]["title"] == BOOKS["arabic"][0])
    editions = {link["href"].rsplit("/", 1)[1] for link in arabic["links"] if link["rel"] == ACQUISITION}
    assert changed == editions and len(changed) == 2  # only the Arabic book's two editions were written again
    rebuilt = tmp_path / "arabic.epub"
    assert run("build", str(books["arabic"]), "-o", str(rebuilt))[0] == 0
    register(rebuilt, books["arabic"])
    assert rebuilt.read_bytes() in {path.read_bytes() for path in folder.rglob("*.epub") if path.name in changed}
    sums = (folder / "SHA256SUMS").read_text()
    assert hashlib.sha256(rebuilt.read_bytes()).hexdigest() in sums
    manifest = json.loads((folder / MANIFEST).read_text())
    assert len(manifest["books"]) == 4 and set(manifest["files"]) == {
        path.relative_to(folder).as_posix() for path in folder.rglob("*") if path.is_file() and path.name != MANIFEST
    }


def test_a_removed_book_leaves_with_its_files_and_the_users_files_stay(site: Site, sources, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    folder, books = copy_of(site, sources, tmp_path)
    (folder / "notes.txt").write_text("mine", encoding="utf-8")
    (folder / "books" / "mine.epub").write_bytes(b"mine")
    code, stdout, stderr = run("publish", str(books["leaflet"]), "-o", str(folder), "--base-url", site.base)
    assert code == 0 and "(0 built, 1 unchanged)" in stdout, stderr
    assert "removed" in stdout
    assert (folder / "read" / "the-leaflet" / "index.html").is_file()  # still published
    assert not list(folder.glob("opds/a-call*")) and not (folder / "read" / "a-call-for-a-general-strike").exists()
    assert sorted(path.name for path in (folder / "books").iterdir()) == [
        "mine.epub",
        "the-leaflet.epub",
        "the-leaflet.kepub.epub",
    ]
    assert (folder / "notes.txt").read_text() == "mine"


def test_a_folder_of_other_files_is_refused_unless_forced(sources: dict[str, Path], tmp_path: Path) -> None:
    folder = tmp_path / "public"
    folder.mkdir()
    (folder / "index.html").write_text("my own page", encoding="utf-8")
    code, stdout, stderr = run("publish", str(sources["leaflet"]), "-o", str(folder), "--base-url", "https://x.org/")
    assert code == 1 and "is not empty" in stderr and "--force" in stderr and len(stderr.splitlines()) == 1
    assert (folder / "index.html").read_text() == "my own page" and len(list(folder.iterdir())) == 1
    code, _, stderr = run(
        "publish", str(sources["leaflet"]), "-o", str(folder), "--base-url", "https://x.org/", "--force"
    )
    assert code == 0, stderr
    assert b"the-leaflet.epub" in (folder / "index.html").read_bytes() and (folder / MANIFEST).is_file()


@pytest.mark.parametrize(
    ("url", "problem"),
    [
        ("https://example.org/books", "must end with /"),
        ("ftp://example.org/", "public address"),
        ("example.org/", "public address"),
        ("https:///", "public address"),
        ("https://example.org/?x=1", "no ?query"),
        ("https://exa mple.org/", "public address"),
    ],
)
def test_the_base_url_must_be_an_http_folder_address(
    sources: dict[str, Path], tmp_path: Path, url: str, problem: str
) -> None:
    code, _, stderr = run("publish", str(sources["leaflet"]), "-o", str(tmp_path / "out"), "--base-url", url)
    assert code == 1 and problem in stderr and "--base-url" in stderr and len(stderr.splitlines()) == 1
    assert not (tmp_path / "out").exists()


def test_a_broken_book_stops_the_publish_with_one_line_and_the_site_stays_as_it_was(
    site: Site, sources: dict[str, Path], tmp_path: Path
) -> None:
    folder, books = copy_of(site, sources, tmp_path)
    before = {path: path.read_bytes() for path in folder.rglob("*") if path.is_file()}
    (books["arabic"] / "book.toml").write_text('title = "Broken\nlanguage = "ar"\n', encoding="utf-8")
    code, _, stderr = run(
        "publish", str(books["leaflet"]), str(books["arabic"]), "-o", str(folder), "--base-url", site.base
    )
    assert code == 1 and "book.toml" in stderr and len(stderr.splitlines()) == 1 and "Traceback" not in stderr
    assert {path: path.read_bytes() for path in folder.rglob("*") if path.is_file()} == before


def test_an_edition_changed_in_the_folder_is_built_again(site: Site, sources: dict[str, Path], tmp_path: Path) -> None:
    """A forged or damaged copy in the folder is never taken for the book: its digest differs."""
    folder, books = copy_of(site, sources, tmp_path)
    epub = folder / "books" / "the-leaflet.epub"
    good = epub.read_bytes()
    epub.write_bytes(good[:100] + bytes([good[100] ^ 1]) + good[101:])  # one bit changed
    arguments = [str(books["leaflet"]), str(books["arabic"]), str(books["leaflet"].parent / "editions")]
    code, stdout, stderr = run("publish", *arguments, "-o", str(folder), "--base-url", site.base)
    assert code == 0 and "(1 built, 3 unchanged)" in stdout and "built: The Leaflet" in stdout, stderr
    assert epub.read_bytes() == good


def test_a_document_to_import_is_published_and_kept_until_it_changes(tmp_path: Path) -> None:
    document = tmp_path / "notes.txt"
    document.write_text("Notes of the meeting\n\nThe meeting opened at seven.\n", encoding="utf-8")
    folder, base = tmp_path / "site", "https://example.org/notes/"
    outputs = []
    for text in (None, None, "The meeting closed at nine.\n"):
        if text:
            with document.open("a", encoding="utf-8") as file:
                file.write("\n" + text)
        code, stdout, stderr = run("publish", str(document), "-o", str(folder), "--base-url", base)
        assert code == 0, stderr
        outputs.append(stdout)
    assert ["(1 built" in out for out in outputs] == [True, False, True] and "(0 built, 1 unchanged)" in outputs[1]
    (epub,) = (folder / "books").glob("*[!b].epub")
    register(epub, document)
    built = tmp_path / "built.epub"
    assert run("build", str(document), "-o", str(built))[0] == 0
    assert built.read_bytes() == epub.read_bytes()


def test_another_handbill_or_library_version_builds_every_book_again(
    site: Site, sources: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A new Pillow or handbill may write other bytes: the editions must stay what `build` writes."""
    import handbill.publish

    folder, books = copy_of(site, sources, tmp_path)
    arguments = [books["leaflet"], books["arabic"], books["leaflet"].parent / "editions"]
    assert len(handbill.publish.publish(arguments, folder, site.base).kept) == 4
    monkeypatch.setattr(handbill.publish, "_toolchain", lambda: "handbill 99 pillow 99")
    again = handbill.publish.publish(arguments, folder, site.base)
    assert len(again.built) == 4 and not again.kept and not again.written  # the same bytes: nothing rewritten


@pytest.mark.parametrize(
    "manifest",
    [
        b"not json",
        b'{"format": "something else"}',
        b'{"format": "handbill-publish", "books": 5, "files": 3}',
        b'{"format": "handbill-publish", "books": [{"inputs": ["x"]}, {"inputs": "x", "editions": 1}], "files": {"../../x": "0"}}',
    ],
)
def test_a_damaged_manifest_never_gives_a_traceback(sources: dict[str, Path], tmp_path: Path, manifest: bytes) -> None:
    folder = tmp_path / "site"
    folder.mkdir()
    (folder / MANIFEST).write_bytes(manifest)
    (tmp_path / "x").write_text("outside", encoding="utf-8")
    code, stdout, stderr = run("publish", str(sources["leaflet"]), "-o", str(folder), "--base-url", "https://x.org/")
    ours = manifest.startswith(b'{"format": "handbill-publish"')
    assert (code, len(stderr.splitlines())) == ((0, 0) if ours else (1, 1)), stderr
    if not ours:
        assert MANIFEST in stderr and "--force" in stderr
        code, _, stderr = run(
            "publish", str(sources["leaflet"]), "-o", str(folder), "--base-url", "https://x.org/", "--force"
        )
        assert code == 0, stderr
    assert (folder / "books" / "the-leaflet.epub").is_file() and (tmp_path / "x").read_text() == "outside"

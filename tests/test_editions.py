"""Edition sets: one work in several languages, built in one run and served together.

Three editions of one statement (English, German, Arabic) and one unrelated book: built with
`handbill build A B C D -o out/` and as a folder of book folders, with a broken book among
them; then served, where the landing page lists the work once with each language under its
own name, offers the phone's language first, and the OPDS catalogs link the translations.
"""

from __future__ import annotations

import http.client
import io
import json
import os
import zipfile
from pathlib import Path

import pytest
from click.testing import CliRunner
from lxml import etree

from handbill.build import edition_bytes, kepub_path
from handbill.cli import cli
from handbill.config import load_config
from handbill.editions import edition_folders, edition_sources
from handbill.errors import ConfigError
from handbill.site import Edition, Library, served_book
from handbill.site.works import accepted_languages, autonym, in_preferred_order, works

from .conftest import Epub, register
from .serving import running

ATOM = "{http://www.w3.org/2005/Atom}"
DC = "{http://purl.org/dc/terms/}"
ENTRY_TYPE = "application/atom+xml;type=entry;profile=opds-catalog"

EDITIONS = {
    "en": (
        "A Call for a General Strike",
        "# The call\n\nWorkers in every city are joining the call for a general strike.\n",
    ),
    "de": (
        "Aufruf zum Generalstreik",
        "# Der Aufruf\n\nArbeiter in jeder Stadt schließen sich dem Aufruf zum Generalstreik an.\n",
    ),
    "ar": (
        "دعوة إلى إضراب عام",
        "# الدعوة\n\nالعمال في كل مدينة ينضمون إلى الدعوة إلى إضراب عام.\n",
    ),
}
OTHER = ("Minutes of the Meeting", "# Minutes\n\nThe meeting opened at seven and closed at nine.\n")


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, list(args), catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


def write_edition(folder: Path, language: str, title: str, text: str, work: str | None = "general-strike") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    settings = (
        f'title = "{title}"\nlanguage = "{language}"\nauthors = "Socialist Equality Party"\ndate = "2026-01-22"\n'
    )
    if work:
        settings += f'work = "{work}"\n'
    (folder / "book.toml").write_text(settings, encoding="utf-8")
    (folder / "01-call.md").write_text(text, encoding="utf-8")
    return folder


@pytest.fixture
def edition_set(tmp_path: Path) -> dict[str, Path]:
    """en, de, ar editions of one work in `editions/<lang>`, and an unrelated book in `minutes`."""
    folders = {lang: write_edition(tmp_path / "editions" / lang, lang, *EDITIONS[lang]) for lang in EDITIONS}
    folders["other"] = write_edition(tmp_path / "minutes", "en", *OTHER, work=None)
    return folders


def written_books(folder: Path) -> dict[str, Epub]:
    """Every EPUB in `folder` by title, each registered for EPUBCheck."""
    books = {}
    for path in sorted(folder.glob("*.epub")):
        register(path)
        epub = Epub(path)
        books[epub.metadata("title")[0]] = epub
    return books


# --- handbill build A B C -----------------------------------------------------------------------


def test_several_books_in_one_run_each_get_their_own_file(edition_set: dict[str, Path], tmp_path: Path) -> None:
    out = tmp_path / "out"
    sources = [str(edition_set[key]) for key in ("en", "de", "ar", "other")]
    code, stdout, stderr = run("build", *sources, "-o", f"{out}/")
    assert code == 0, stderr
    books = written_books(out)
    assert sorted(books) == sorted([title for title, _ in EDITIONS.values()] + [OTHER[0]])
    assert len(list(out.iterdir())) == 4  # four distinct files, nothing else (no .part left)
    for language, (title, _) in EDITIONS.items():
        assert books[title].metadata("language") == [language]
        assert f"wrote {books[title].path}" in stdout
    assert len({epub.metadata("identifier")[0] for epub in books.values()}) == 4
    assert "4 of 4 books built" in stdout


def test_two_editions_of_one_title_do_not_overwrite_each_other(tmp_path: Path) -> None:
    english = write_edition(tmp_path / "en", "en", "Manifesto", "# One\n\nWorkers of the world, unite.\n")
    german = write_edition(tmp_path / "de", "de", "Manifesto", "# Eins\n\nProletarier aller Länder, vereinigt euch.\n")
    out = tmp_path / "out"
    code, stdout, stderr = run("build", str(english), str(german), "-o", str(out), "--format", "all")
    assert code == 0, stderr
    assert sorted(path.name for path in out.iterdir()) == [
        "manifesto-de.epub",
        "manifesto-de.kepub.epub",
        "manifesto.epub",
        "manifesto.kepub.epub",
    ]
    assert "manifesto.epub is another book's in this run; named manifesto-de.epub" in stdout
    first, second = Epub(out / "manifesto.epub"), Epub(out / "manifesto-de.epub")
    register(first.path), register(second.path)
    assert (first.metadata("language"), second.metadata("language")) == (["en"], ["de"])
    # Editions of one work get identifiers of their own: a reader keeps both.
    assert first.metadata("identifier") != second.metadata("identifier")


def test_books_that_would_share_an_identifier_are_warned_of(tmp_path: Path) -> None:
    one = write_edition(tmp_path / "a", "en", "Notes", "# Notes\n\nFirst draft.\n", work=None)
    two = write_edition(tmp_path / "b", "en", "Notes", "# Notes\n\nSecond draft.\n", work=None)
    code, _, stderr = run("build", str(one), str(two), "-o", str(tmp_path / "out"))
    assert code == 0
    assert f"warning: {two / 'book.toml'}: has the identifier of {one}" in stderr
    written_books(tmp_path / "out")


def test_a_folder_of_book_folders_builds_each_edition(edition_set: dict[str, Path], tmp_path: Path) -> None:
    editions = tmp_path / "editions"
    (editions / "images").mkdir()  # not a book: passed over
    (editions / "images" / "logo.png").write_bytes(b"\x89PNG")
    assert edition_folders(editions) == [editions / "ar", editions / "de", editions / "en"]
    out = tmp_path / "out"
    code, stdout, stderr = run("build", str(editions), "-o", str(out))
    assert code == 0, stderr
    books = written_books(out)
    assert sorted(books) == sorted(title for title, _ in EDITIONS.values())
    assert "3 of 3 books built" in stdout


def test_a_book_whose_chapters_sit_in_part_folders_stays_one_book(tmp_path: Path, build_book) -> None:  # type: ignore[no-untyped-def]
    book = tmp_path / "parted"
    for part in ("part-1", "part-2"):
        (book / part).mkdir(parents=True)
        (book / part / "chapter.md").write_text(f"# {part}\n\nText of {part}.\n", encoding="utf-8")
    assert edition_folders(book) is None and edition_sources([book]) is None
    epub, _ = build_book(book)
    assert [label for label, _ in epub.toc()] == ["part-1", "part-2"]


def test_a_folder_given_twice_is_built_once(edition_set: dict[str, Path], tmp_path: Path) -> None:
    english = edition_set["en"]
    assert edition_sources([english, english.parent / "." / "en", tmp_path / "editions"]) == [
        english,
        tmp_path / "editions" / "ar",
        tmp_path / "editions" / "de",
    ]


def test_a_broken_book_is_reported_and_the_others_are_built(edition_set: dict[str, Path], tmp_path: Path) -> None:
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "book.toml").write_text('title = "Broken"\nlanguage = "not a tag"\n', encoding="utf-8")
    (broken / "a.md").write_text("# A\n\nText.\n", encoding="utf-8")
    empty = tmp_path / "empty"  # no Markdown at all: an error from a later stage
    empty.mkdir()
    (empty / "book.toml").write_text('title = "Empty"\n', encoding="utf-8")
    out = tmp_path / "out"
    sources = [edition_set["en"], broken, edition_set["de"], empty, edition_set["ar"]]
    code, stdout, stderr = run("build", *map(str, sources), "-o", str(out))
    assert code == 1
    errors = stderr.strip().splitlines()
    assert len(errors) == 2, stderr
    assert errors[0].startswith(f"Error: {broken / 'book.toml'}: 'language'")
    assert errors[1].startswith(f"Error: {empty}: no Markdown files")
    assert "Traceback" not in stderr and "internal error" not in stderr
    books = written_books(out)
    assert sorted(books) == sorted(title for title, _ in EDITIONS.values())
    assert sorted(os.listdir(out)) == sorted(path.name for path in out.glob("*.epub"))  # no .part left
    assert "3 of 5 books built" in stdout


def test_a_strict_set_writes_nothing_for_a_book_that_warns(edition_set: dict[str, Path], tmp_path: Path) -> None:
    warns = write_edition(tmp_path / "warns", "en", "Warns", "# W\n\n![map](https://example.org/map.png)\n", None)
    out = tmp_path / "out"
    code, _, stderr = run("build", str(edition_set["en"]), str(warns), "-o", str(out), "--strict")
    assert code == 1 and "strict mode; nothing was written" in stderr
    assert [path.name for path in out.iterdir()] == [next(iter(written_books(out).values())).path.name]


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--watch"], "--watch is for one book; 2 books were given"),
        (["--title", "T"], "--title is for one book"),
        (["--language", "de"], "--language is for one book"),
        (["-o", "x.epub"], "-o x.epub: with several books, -o names a folder"),
        (["-o", "-"], "-o -: with several books, -o names a folder"),
    ],
)
def test_what_only_fits_one_book_is_refused_for_a_set(
    edition_set: dict[str, Path], tmp_path: Path, extra: list[str], message: str
) -> None:
    code, stdout, stderr = run("build", str(edition_set["en"]), str(edition_set["de"]), *extra)
    assert code == 2 and [line for line in stderr.splitlines() if line.startswith("Error:")] == [
        next(line for line in stderr.splitlines() if message in line)
    ]
    assert not (tmp_path / "x.epub").exists() and stdout == ""


def test_o_naming_an_existing_file_is_refused_for_a_set(edition_set: dict[str, Path], tmp_path: Path) -> None:
    existing = tmp_path / "notes.txt"
    existing.write_text("mine", encoding="utf-8")
    code, _, stderr = run("build", str(edition_set["en"]), str(edition_set["de"]), "-o", str(existing))
    assert code == 2 and "names a folder" in stderr and existing.read_text(encoding="utf-8") == "mine"


def test_one_book_with_o_naming_a_folder_is_still_refused(edition_set: dict[str, Path], tmp_path: Path) -> None:
    folder = tmp_path / "out"
    folder.mkdir()
    code, _, stderr = run("build", str(edition_set["en"]), "-o", str(folder))
    assert code == 2 and "--output" in stderr and f"'{folder}' is a folder" in stderr and not any(folder.iterdir())


def test_work_must_be_text(tmp_path: Path) -> None:
    book = write_edition(tmp_path / "b", "en", "T", "# T\n\nText.\n", work=None)
    with (book / "book.toml").open("a", encoding="utf-8") as settings:
        settings.write("work = 3\n")
    with pytest.raises(ConfigError, match="'work' must be a string") as caught:
        load_config(book)
    assert caught.value.path == book / "book.toml"
    assert load_config(write_edition(tmp_path / "c", "de", "T", "# T\n\nText.\n", work=" w ")).work == "w"


# --- serve ---------------------------------------------------------------------------------------


@pytest.fixture
def library(edition_set: dict[str, Path], tmp_path: Path) -> Library:
    """The set as `handbill serve editions/ minutes/` serves it (the folder of book folders is
    opened into its editions: ar, de, en), every built EPUB registered for EPUBCheck."""
    served = []
    for source in edition_sources([tmp_path / "editions", edition_set["other"]]) or []:
        config = load_config(source)
        book, modified, data = edition_bytes(config)
        path = tmp_path / "served" / f"{config.language}-{book.slug}.epub"
        path.parent.mkdir(exist_ok=True)
        path.write_bytes(data["epub"])
        register(path, source)
        name = f"{book.slug}.epub"
        editions = [Edition("EPUB", name, data["epub"]), Edition("Kobo", kepub_path(Path(name)).name, data["kepub"])]
        served.append(served_book(book, editions, modified, work=config.work))
    return Library(served)


def fetch(port: int, path: str, headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], bytes]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)  # generous: the test machines are shared
    try:
        connection.request("GET", path, headers=headers or {})
        response = connection.getresponse()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
    finally:
        connection.close()


def landing_entries(page: bytes) -> list[dict]:  # type: ignore[type-arg]
    """Each card of the landing page: its title and, for a work, its editions' language names,
    titles and EPUB links in the order offered."""
    tree = etree.fromstring(page, etree.HTMLParser())
    entries = []
    for article in tree.iter("article"):
        editions = [
            {
                "language": item.find("h3").text,
                "lang": item.find("h3").get("lang"),
                "dir": item.find("h3").get("dir"),
                "title": item.find("p[@class='title']").text,
                "epub": item.find(".//a[@class='button']").get("href"),
            }
            for item in article.iterfind(".//ul[@class='editions']/li")
        ]
        entries.append({"title": article.find(".//h2").text, "editions": editions})
    return entries


def test_the_landing_page_lists_the_work_once_with_each_language_under_its_own_name(library: Library) -> None:
    with running(library) as port:
        status, headers, page = fetch(port, "/")
    assert status == 200 and "accept-language" in headers["vary"].lower()
    entries = landing_entries(page)
    assert len(entries) == 2  # the work, and the unrelated book
    work, other = entries
    assert other == {"title": OTHER[0], "editions": []}
    # No Accept-Language: the editions in the order given (the folder's: ar, de, en), the first first.
    assert [edition["language"] for edition in work["editions"]] == ["العربية", "Deutsch", "English"]
    assert [edition["title"] for edition in work["editions"]] == [EDITIONS[lang][0] for lang in ("ar", "de", "en")]
    assert work["title"] == EDITIONS["ar"][0]
    assert [(edition["lang"], edition["dir"]) for edition in work["editions"]] == [
        ("ar", "rtl"),
        ("de", "ltr"),
        ("en", "ltr"),
    ]


@pytest.mark.parametrize(
    ("accept_language", "first"),
    [
        ("de", "de"),
        ("de-DE,de;q=0.9,en;q=0.8", "de"),
        ("de-AT", "de"),  # the language asked for, though not the region
        ("en;q=0.5, de;q=0.8", "de"),
        ("fr-FR, en;q=0.4", "en"),
        ("fr", "ar"),  # nothing matches: the first edition stays first
        ("de;q=0, en;q=0.1", "en"),  # q=0: not wanted at all
        ("de;q=abc, en;q=0.3", "en"),  # a malformed weight drops its range
        ("*", "ar"),
        ("AR-eg", "ar"),  # case-insensitive
    ],
)
def test_the_phones_language_is_offered_first(library: Library, accept_language: str, first: str) -> None:
    with running(library) as port:
        _, _, page = fetch(port, "/", {"Accept-Language": accept_language})
    work = landing_entries(page)[0]
    assert work["editions"][0]["lang"] == first
    assert work["title"] == EDITIONS[first][0]
    assert sorted(edition["lang"] for edition in work["editions"]) == ["ar", "de", "en"]


def test_each_edition_downloads_its_own_book(library: Library) -> None:
    with running(library) as port:
        _, _, page = fetch(port, "/", {"Accept-Language": "de"})
        for edition in landing_entries(page)[0]["editions"]:
            status, headers, data = fetch(port, "/" + edition["epub"])  # relative to the landing page at /
            assert status == 200 and headers["content-type"] == "application/epub+zip"
            with zipfile.ZipFile(io.BytesIO(data)) as archive:
                package = etree.fromstring(archive.read("EPUB/content.opf"))
            assert package.findtext(".//{http://purl.org/dc/elements/1.1/}language") == edition["lang"]


def test_the_opds_feed_gives_every_entry_its_language_and_links_the_translations(library: Library) -> None:
    with running(library) as port:
        status, _, body = fetch(port, "/opds")
        assert status == 200
        feed = etree.fromstring(body)
        entries = {entry.findtext(f"{ATOM}title"): entry for entry in feed.iter(f"{ATOM}entry")}
        assert len(entries) == 4
        assert all(entry.findtext(f"{DC}language") for entry in entries.values())
        languages = {title: entries[title].findtext(f"{DC}language") for title in entries}
        assert languages == {EDITIONS["ar"][0]: "ar", EDITIONS["de"][0]: "de", EDITIONS["en"][0]: "en", OTHER[0]: "en"}
        assert not entries[OTHER[0]].findall(f"{ATOM}link[@rel='related']")
        for language, (title, _) in EDITIONS.items():
            links = entries[title].findall(f"{ATOM}link[@rel='related']")
            assert sorted(link.get("hreflang") for link in links) == sorted(set(EDITIONS) - {language})
            assert all(link.get("type") == ENTRY_TYPE for link in links)
            assert not entries[title].findall(f"{ATOM}link[@rel='alternate']")  # would mean "this book's entry"
            for link in links:  # each leads to that translation's own entry
                status, headers, body = fetch(port, link.get("href").removeprefix(library.address.rstrip("/")))
                assert status == 200 and headers["content-type"] == ENTRY_TYPE
                entry = etree.fromstring(body)
                assert entry.tag == f"{ATOM}entry"
                assert entry.findtext(f"{DC}language") == link.get("hreflang")
                assert entry.findtext(f"{ATOM}title") == EDITIONS[link.get("hreflang")][0]
                assert autonym(link.get("hreflang")) in link.get("title")
                back = entry.findall(f"{ATOM}link[@rel='related'][@hreflang='{language}']")
                assert len(back) == 1  # and links back


def test_the_opds2_catalog_links_the_translations(library: Library) -> None:
    with running(library) as port:
        status, _, body = fetch(port, "/opds.json")
        assert status == 200
        publications = {p["metadata"]["title"]: p for p in json.loads(body)["publications"]}
        assert {title: p["metadata"]["language"] for title, p in publications.items()}[OTHER[0]] == "en"
        assert not [link for link in publications[OTHER[0]]["links"] if link["rel"] == "related"]
        for language, (title, _) in EDITIONS.items():
            assert publications[title]["metadata"]["language"] == language
            related = [link for link in publications[title]["links"] if link["rel"] == "related"]
            assert sorted(link["language"] for link in related) == sorted(set(EDITIONS) - {language})
            for link in related:
                status, headers, body = fetch(port, link["href"].removeprefix(library.address.rstrip("/")))
                assert status == 200 and headers["content-type"] == "application/opds-publication+json"
                assert json.loads(body)["metadata"]["language"] == link["language"]


def test_unknown_opds_entries_are_not_found(library: Library) -> None:
    with running(library) as port:
        assert fetch(port, "/opds/no-such-book")[0] == 404
        assert fetch(port, "/opds/no-such-book.json")[0] == 404


# --- languages and weights -----------------------------------------------------------------------


def test_autonyms_come_from_cldr() -> None:
    assert [autonym(tag) for tag in ("de", "ar", "en", "fr", "he", "ckb", "pt-BR")] == [
        "Deutsch",
        "العربية",
        "English",
        "Français",
        "עברית",
        "کوردیی ناوەندی",
        "Português (Brasil)",
    ]
    assert autonym("de-DE-1996") == "Deutsch (Deutschland)"  # a variant CLDR lacks: its prefix
    assert autonym("x-klingon") == "x-klingon"  # nothing CLDR knows: the tag as written


def test_accept_language_weights() -> None:
    assert accepted_languages("de-DE, de;q=0.9, en;q=0.8, *;q=0.1") == [
        ("de-de", 1.0),
        ("de", 0.9),
        ("en", 0.8),
        ("*", 0.1),
    ]
    assert accepted_languages("en;q=0.5, fr, de;q=0.5") == [("fr", 1.0), ("en", 0.5), ("de", 0.5)]
    assert accepted_languages("en;q=1.5, de;q=-1, fr;q=, es;q=0.1234, it ; q = 0.7") == [("it", 0.7)]
    assert accepted_languages("de;q=0, <script>, en") == [("en", 1.0)]
    assert accepted_languages(None) == accepted_languages("") == []


def test_books_without_a_work_stay_entries_of_their_own(library: Library) -> None:
    grouped = works(library.books.values())
    assert [len(work.editions) for work in grouped] == [3, 1]
    assert in_preferred_order(grouped[1].editions, "de") == grouped[1].editions


def test_serve_opens_a_folder_of_book_folders_and_groups_the_work(
    edition_set: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`handbill serve editions/ minutes/` as typed: the server is replaced by one that only
    keeps the app it was given, so the command returns instead of serving."""
    import handbill.site

    served: list[Library] = []

    class Kept:
        def __init__(self, app: Library, listening) -> None:  # type: ignore[no-untyped-def]
            served.append(app)
            self.listening = listening

        def run(self) -> None:
            pass

        def close(self) -> None:
            self.listening.close()

    monkeypatch.setattr(handbill.site, "make_server", lambda app, host, port, listening: Kept(app, listening))
    code, stdout, _ = run("serve", str(tmp_path / "editions"), str(edition_set["other"]), "--host", "127.0.0.1")
    assert code == 1 and "serving 4 book(s)" in stdout  # the "stopped" of Ctrl-C, as the real server ends
    grouped = works(served[0].books.values())
    assert [[edition.book.language for edition in work.editions] for work in grouped] == [["ar", "de", "en"], ["en"]]
    assert grouped[0].key == "general-strike" and grouped[1].key is None

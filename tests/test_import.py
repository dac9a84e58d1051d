"""`handbill import` and one-step builds of documents, as a user meets them: the statement's seed
made into the book `content/` holds, the report, --force, builds that write nothing but the EPUB,
and one-line errors for bad input."""

from __future__ import annotations

import sys
import tomllib
import types
from pathlib import Path

import pytest
from click.testing import CliRunner

from handbill import importers
from handbill.build import build
from handbill.cli import cli
from handbill.config import load_config

from .conftest import CONTENT, Epub, register
from .test_statement import SECOND_SECTION, SEED, TITLE, normalise, source_blocks

needs_seed = pytest.mark.skipif(
    not SEED.exists(), reason="the source statement (../shared/seeds) is not beside the repository"
)
CONTACT_LABEL = "To contact the WSWS and the Socialist Equality Party visit:"


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, list(args), catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


def blocks_of(book: Epub) -> list[str]:
    return [normalise(block) for name in book.body_documents() for block in book.text_blocks(name)]


def built(folder: Path, output: Path) -> Epub:
    path = build(load_config(folder), output).path
    register(path, folder)
    return Epub(path)


@pytest.fixture(scope="module")
def content_book(tmp_path_factory: pytest.TempPathFactory) -> Epub:
    return Epub(build(load_config(CONTENT), tmp_path_factory.mktemp("content") / "content.epub").path)


@pytest.fixture(scope="module")
def seed_import(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """The seed imported once by the command line: (the book folder, what it printed)."""
    if not SEED.exists():
        pytest.skip("the source statement (../shared/seeds) is not beside the repository")
    folder = tmp_path_factory.mktemp("imported") / "statement"
    code, out, err = run("import", str(SEED), "-o", str(folder))
    assert code == 0, err
    return folder, out


# -- the proof: the seed becomes the book content/ holds ------------------------------------------------
@needs_seed
def test_the_seed_gives_the_paragraphs_of_content_in_order_verbatim(
    seed_import: tuple[Path, str], content_book: Epub, tmp_path: Path
) -> None:
    book = built(seed_import[0], tmp_path / "seed.epub")
    assert blocks_of(book) == blocks_of(content_book)
    assert blocks_of(book) == source_blocks()  # and the same as test_statement's own repair of the seed


@needs_seed
def test_the_seed_gives_the_sections_and_contents_of_content(
    seed_import: tuple[Path, str], content_book: Epub, tmp_path: Path
) -> None:
    book = built(seed_import[0], tmp_path / "seed.epub")
    documents = book.body_documents()
    assert len(documents) == len(content_book.body_documents()) == 4
    assert [len(book.text_blocks(name)) for name in documents] == [
        len(content_book.text_blocks(name)) for name in content_book.body_documents()
    ]
    title_page = book.document(documents[0])
    assert title_page.find(".//{*}section[@class='titlepage']") is not None
    labels = [normalise(label) for label, _ in book.toc()]
    # content/ lists the last section as "Contact", a word the seed does not have as a title: the
    # import lists it under its own first words instead (see the report).
    assert labels == [TITLE, SECOND_SECTION, CONTACT_LABEL]
    assert [normalise(label) for label, _ in content_book.toc()] == [TITLE, SECOND_SECTION, "Contact"]
    assert CONTACT_LABEL in " ".join(SEED.read_text(encoding="utf-8").split())
    second = book.document(documents[2])
    assert normalise("".join(second.find(".//{*}h1").itertext())) == SECOND_SECTION
    assert not second.findall(".//{*}p/{*}strong")
    opening = book.document(documents[1])
    assert opening.find(".//{*}h1") is None  # the opening section is listed under the title, as in content/


@needs_seed
def test_the_seed_gives_the_metadata_of_content(
    seed_import: tuple[Path, str], content_book: Epub, tmp_path: Path
) -> None:
    settings = tomllib.loads((seed_import[0] / "book.toml").read_text(encoding="utf-8"))
    assert settings["title"] == TITLE
    assert settings["authors"] == ["Socialist Equality Party (US)"]
    assert settings["date"] == "2026-01-22"
    assert settings["language"] == "en"
    book = built(seed_import[0], tmp_path / "seed.epub")
    for name in ("title", "creator", "language", "date"):
        assert book.metadata(name) == content_book.metadata(name), name


@needs_seed
def test_import_prints_one_line_per_kind_of_repair_with_count_and_first_place(seed_import: tuple[Path, str]) -> None:
    folder, out = seed_import
    lines = out.splitlines()
    assert lines[0] == f"wrote {folder}: book.toml, 4 chapters"
    assert "backslash escapes that would print literally removed: 3, first at line 28" in lines
    assert "paragraphs split mid-sentence by a page or column break joined: 2, first at line 38" in lines
    assert "bold lines made section titles: 1, first at line 34" in lines
    assert "date taken from the byline: 1, first at line 5" in lines
    kinds = [line.split(": ")[0] for line in lines[1:]]
    assert len(kinds) == len(set(kinds)), "one line per kind"


@needs_seed
def test_the_imported_folder_is_plain_markdown_with_front_matter(seed_import: tuple[Path, str]) -> None:
    folder = seed_import[0]
    names = sorted(path.name for path in folder.iterdir())
    assert names[-1] == "book.toml" and all(name.endswith(".md") for name in names[:-1])
    title_page = (folder / names[0]).read_text(encoding="utf-8")
    assert title_page.startswith('---\ntype: "titlepage"\ntoc: false\n---\n')
    assert "\\$" not in "".join((folder / name).read_text(encoding="utf-8") for name in names[:-1])
    assert not any(path.name.startswith(".") for path in folder.parent.iterdir()), "a staging folder was left"


# -- builds and serving without a book folder ----------------------------------------------------------
@needs_seed
def test_build_of_a_document_writes_nothing_but_the_epub(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, content_book: Epub
) -> None:
    source_folder = tmp_path / "inbox"
    source_folder.mkdir()
    source = source_folder / "statement.txt"
    source.write_bytes(SEED.read_bytes())
    monkeypatch.chdir(tmp_path)
    code, out, err = run("build", "inbox/statement.txt")
    assert code == 0, err
    output = tmp_path / "dist" / "for-a-general-strike-against-ice-violence-and-trump-s-dictatorship.epub"
    assert f"wrote {Path('dist') / output.name}" in out
    assert sorted(path.name for path in source_folder.iterdir()) == ["statement.txt"]
    assert sorted(path.name for path in tmp_path.iterdir()) == ["dist", "inbox"]
    assert sorted(path.name for path in (tmp_path / "dist").iterdir()) == [output.name]
    register(output)
    book = Epub(output)
    assert blocks_of(book) == blocks_of(content_book)
    assert book.metadata("date") == ["2026-01-22"]


def test_build_of_a_markdown_file_stays_a_markdown_book(tmp_path: Path) -> None:
    source = tmp_path / "notes.md"
    source.write_text("# Notes\n\nSome \\$5 text.\n", encoding="utf-8")
    assert not importers.is_importable(source)
    config = load_config(source)
    assert config.files is None
    book = Epub(build(config, tmp_path / "notes.epub").path)
    register(book.path)
    assert "Some $5 text." in blocks_of(book)  # built as written: `\$` is Markdown's escaped dollar, as in pandoc


def test_in_memory_images_go_into_the_book_and_nothing_is_read_from_disk(tmp_path: Path) -> None:
    import io

    from PIL import Image

    picture = io.BytesIO()
    Image.new("RGB", (8, 8), "red").save(picture, "PNG")
    document = importers.Document(
        source=str(tmp_path / "doc.txt"),
        blocks=[
            importers.Block("heading", "A picture", level=1),
            importers.Block("paragraph", "Look: ![a red square](images/red.png)"),
            importers.Block("paragraph", "And ![not there](images/absent.png)"),
        ],
        images=[importers.Image("red.png", picture.getvalue())],
    )
    from handbill.importers.writer import book_files

    root = tmp_path / "doc.txt"
    (tmp_path / "doc.txt").mkdir()  # a real folder of that name: its files must not be read
    (tmp_path / "doc.txt" / "images").mkdir()
    Image.new("RGB", (8, 8), "blue").save(tmp_path / "doc.txt" / "images" / "absent.png")
    config = load_config(root, files=book_files(document))
    path = build(config, tmp_path / "out.epub").path
    register(path)
    book = Epub(path)
    images = [name for name in book.files if name.endswith(".png") and "cover" not in name]
    assert len(images) == 1
    assert Image.open(io.BytesIO(book.files[images[0]])).getpixel((0, 0)) == (255, 0, 0)
    assert "not there" in " ".join(blocks_of(book))


def test_serve_and_build_load_documents_in_memory(tmp_path: Path) -> None:
    from handbill.cli import _load

    source = tmp_path / "letter.txt"
    source.write_text("Dear friends,\n\nwe meet at noon.\n", encoding="utf-8")
    config = _load(source)
    assert config.files is not None and config.source == source
    assert sorted(path.name for path in tmp_path.iterdir()) == ["letter.txt"]


# -- the target folder ---------------------------------------------------------------------------------
def test_a_folder_with_files_is_refused_without_force_and_left_as_it_was(tmp_path: Path) -> None:
    source = tmp_path / "a.txt"
    source.write_text("# A title\n\nSome text with **bold** and a [link](https://example.org).\n", encoding="utf-8")
    folder = tmp_path / "book"
    folder.mkdir()
    (folder / "mine.md").write_text("my own edits", encoding="utf-8")
    code, out, err = run("import", str(source), "-o", str(folder))
    assert code == 1
    assert err.strip().splitlines() == [f"Error: {folder}: is not empty; pass --force to write the book into it anyway"]
    assert out == ""
    assert [path.name for path in folder.iterdir()] == ["mine.md"]
    assert sorted(path.name for path in tmp_path.iterdir()) == ["a.txt", "book"]


def test_force_writes_into_the_folder_and_keeps_files_it_did_not_write(tmp_path: Path) -> None:
    source = tmp_path / "a.txt"
    source.write_text("# A title\n\nSome text with **bold** and a [link](https://example.org).\n", encoding="utf-8")
    folder = tmp_path / "book"
    folder.mkdir()
    (folder / "mine.txt").write_text("my own notes", encoding="utf-8")
    (folder / "book.toml").write_text("title = 'old'", encoding="utf-8")
    code, _, err = run("import", str(source), "-o", str(folder), "--force")
    assert code == 0, err
    assert (folder / "mine.txt").read_text(encoding="utf-8") == "my own notes"
    assert tomllib.loads((folder / "book.toml").read_text(encoding="utf-8"))["title"] == "A title"
    assert not any(path.name.startswith(".") for path in tmp_path.iterdir())
    built(folder, tmp_path / "a.epub")


def test_an_empty_folder_is_used_and_the_default_folder_is_the_documents_name(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = tmp_path / "letter.txt"
    source.write_text("Dear friends,\n\nwe meet at noon.\n", encoding="utf-8")
    (tmp_path / "empty").mkdir()
    assert run("import", str(source), "-o", str(tmp_path / "empty"))[0] == 0
    assert (tmp_path / "empty" / "book.toml").is_file()
    monkeypatch.chdir(tmp_path)
    code, out, err = run("import", "letter.txt")
    assert code == 0, err
    assert out.startswith("wrote letter: book.toml, 1 chapter\n")
    assert "no repairs were needed" in out
    built(tmp_path / "letter", tmp_path / "letter.epub")


# -- bad input: one line naming the source, nothing written --------------------------------------------
@pytest.mark.parametrize(
    ("name", "content", "said"),
    [
        ("notes.rtf", b"{\\rtf1 hello}", "handbill cannot import '.rtf' files; it imports .docx, .htm, .html"),
        ("README", b"text", "handbill cannot import files without an extension"),
        ("latin1.txt", "Caf\xe9 cr\xe8me\n".encode("latin-1"), "line 1 is not UTF-8 text; save the file as UTF-8"),
    ],
)
def test_bad_documents_give_one_line_naming_the_source(tmp_path: Path, name: str, content: bytes, said: str) -> None:
    source = tmp_path / name
    source.write_bytes(content)
    commands = [["import", str(source), "-o", str(tmp_path / "out")]]
    if name.endswith(".txt"):  # build takes other files as Markdown books, as it always has
        commands.append(["build", str(source), "-o", str(tmp_path / "o.epub")])
    for command in commands:
        code, out, err = run(*command)
        assert code == 1
        assert len(err.strip().splitlines()) == 1, err
        assert err.startswith(f"Error: {source}: {said}"), err
        assert sorted(path.name for path in tmp_path.iterdir()) == [name]


def test_a_missing_file_a_folder_and_an_oversized_file_are_named(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    code, _, err = run("import", str(tmp_path / "absent.txt"))
    assert code == 1 and err.strip() == f"Error: {tmp_path / 'absent.txt'}: no such file"
    (tmp_path / "folder.txt").mkdir()
    code, _, err = run("import", str(tmp_path / "folder.txt"), "-o", str(tmp_path / "x"))
    assert code == 1 and err.strip() == f"Error: {tmp_path / 'folder.txt'}: is a folder, not a document"
    big = tmp_path / "big.txt"
    big.write_text("word " * 300, encoding="utf-8")
    monkeypatch.setattr(importers, "MAX_DOCUMENT_BYTES", 1000)
    code, _, err = run("import", str(big), "-o", str(tmp_path / "x"))
    assert code == 1 and err.startswith(f"Error: {big}: is larger than") and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "x").exists()


def test_an_import_past_its_time_is_refused_by_name(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    source = tmp_path / "slow.txt"
    source.write_text("Some text.\n", encoding="utf-8")
    monkeypatch.setattr(importers, "MAX_IMPORT_SECONDS", 0.0)
    code, _, err = run("import", str(source), "-o", str(tmp_path / "out"))
    assert code == 1 and err.strip() == f"Error: {source}: took longer than 0 s to import; it is refused"
    assert not (tmp_path / "out").exists()


def test_a_target_that_is_a_file_is_refused(tmp_path: Path) -> None:
    source = tmp_path / "a.txt"
    source.write_text("Text.\n", encoding="utf-8")
    (tmp_path / "taken").write_text("x", encoding="utf-8")
    code, _, err = run("import", str(source), "-o", str(tmp_path / "taken"))
    assert code == 2 and "is a file" in err and "taken" in err  # click's usage error, one line
    assert (tmp_path / "taken").read_text(encoding="utf-8") == "x"


# -- addresses: the reader follows the media type the server sends --------------------------------------
@pytest.fixture
def fake_fetch(monkeypatch: pytest.MonkeyPatch):
    """importers.fetch stands in for imp-web's fetcher: answers are set by the test."""
    answers: dict[str, tuple[bytes, str, str]] = {}
    module = types.ModuleType("handbill.importers.fetch")

    def get(url: str) -> tuple[bytes, str, str]:
        return answers[url]

    module.get = get  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "handbill.importers.fetch", module)
    monkeypatch.setattr(importers, "fetch", module, raising=False)
    return answers


def test_an_address_is_read_by_the_media_type_it_is_served_with(fake_fetch, tmp_path: Path) -> None:
    fake_fetch["http://127.0.0.1:9/statement"] = (
        b"# Notice\n\nMeet at **noon** today, at the [hall](https://example.org).\n",
        "text/markdown; charset=utf-8",
        "http://127.0.0.1:9/statement",
    )
    document = importers.read("http://127.0.0.1:9/statement")
    assert document.metadata.title == "Notice"
    folder = tmp_path / "notice"
    code, out, err = run("import", "http://127.0.0.1:9/statement", "-o", str(folder))
    assert code == 0, err
    built(folder, tmp_path / "notice.epub")


def test_an_address_with_an_unknown_media_type_is_one_line(fake_fetch) -> None:
    fake_fetch["https://example.org/x"] = (b"\x00\x01", "application/octet-stream", "https://example.org/x")
    code, _, err = run("import", "https://example.org/x")
    assert code == 1
    assert err.strip() == (
        "Error: https://example.org/x: the server sent application/octet-stream, which handbill cannot import "
        "(it imports web pages, text, Word, OpenDocument and PDF)"
    )


def test_watch_refuses_an_address_in_one_line() -> None:
    code, _, err = run("build", "https://example.org/statement", "--watch")
    assert code == 2
    assert err.strip().splitlines()[-1] == "Error: --watch needs a file or folder to watch; an address is fetched once"


def test_a_markdown_files_front_matter_is_its_metadata(tmp_path: Path) -> None:
    source = tmp_path / "aufruf.md"
    source.write_text(
        "---\ntitle: Aufruf zum Generalstreik\nauthor: Sozialistische Gleichheitspartei\ndate: 2026-01-22\n"
        "language: de\n---\n\nDie Arbeiter der Stadt streiken im Jahr\n1934. Das war ein Wendepunkt.\n\n"
        "Ein Absatz mit \\$ Zeichen.\n",
        encoding="utf-8",
    )
    document = importers.read(source)
    metadata = document.metadata
    assert (metadata.title, metadata.authors, metadata.date, metadata.language) == (
        "Aufruf zum Generalstreik",
        ["Sozialistische Gleichheitspartei"],
        "2026-01-22",
        "de",
    )
    assert document.repairs.lines() == [
        "backslash escapes that would print literally removed: 1, first at line 11",
        "hard-wrapped lines rejoined: 1, first at line 8",
    ]
    folder = tmp_path / "book"
    assert run("import", str(source), "-o", str(folder))[0] == 0
    book = built(folder, tmp_path / "aufruf.epub")
    assert book.metadata("language") == ["de"] and book.metadata("title") == ["Aufruf zum Generalstreik"]
    assert blocks_of(book) == [
        "Die Arbeiter der Stadt streiken im Jahr 1934. Das war ein Wendepunkt.",
        "Ein Absatz mit $ Zeichen.",
    ]
    document = book.document(book.body_documents()[0])
    assert document.find(".//{*}ol") is None


def test_a_document_without_text_is_one_line(tmp_path: Path) -> None:
    source = tmp_path / "empty.txt"
    source.write_text("\n\n   \n\f\n", encoding="utf-8")
    code, _, err = run("import", str(source), "-o", str(tmp_path / "out"))
    assert code == 1 and err.strip() == f"Error: {source}: holds no text; there is nothing to import"
    assert not (tmp_path / "out").exists()


def test_a_document_that_does_not_say_its_language_is_warned_of(tmp_path: Path) -> None:
    source = tmp_path / "note.txt"
    source.write_text("Treffen am Freitag.\n", encoding="utf-8")
    code, _, err = run("import", str(source), "-o", str(tmp_path / "out"))
    assert code == 0
    assert err.strip() == (
        f"warning: {source}: the document does not say what language it is in; the book says 'en' "
        "(set language in book.toml, or pass --language)"
    )
    code, _, err = run("build", str(source), "--language", "de", "-o", str(tmp_path / "note.epub"))
    assert code == 0 and "language" not in err  # the command line said it
    register(tmp_path / "note.epub")
    assert Epub(tmp_path / "note.epub").metadata("language") == ["de"]


def test_force_never_writes_through_a_symbolic_link(tmp_path: Path) -> None:
    source = tmp_path / "a.md"
    picture = tmp_path / "p.png"
    from PIL import Image

    Image.new("RGB", (4, 4)).save(picture)
    source.write_text("# Title\n\nText.\n", encoding="utf-8")
    document = importers.read(source)
    document.images.append(importers.Image("p.png", picture.read_bytes()))
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    folder = tmp_path / "book"
    folder.mkdir()
    (folder / "images").symlink_to(elsewhere, target_is_directory=True)
    from handbill.errors import OutputError
    from handbill.importers.writer import write_book

    with pytest.raises(OutputError, match="'images' in it is a symbolic link"):
        write_book(document, folder, force=True)
    assert list(elsewhere.iterdir()) == [] and sorted(p.name for p in folder.iterdir()) == ["images"]


@needs_seed
def test_the_statement_hard_wrapped_as_plain_text_with_page_breaks_gives_its_paragraphs(tmp_path: Path) -> None:
    """The statement as another program would print it to plain text: wrapped at 50 columns
    (breaking after the hyphens of `military-presidential` and the like), in pages of 40 lines
    with a running header and a page number, paragraphs cut by the page breaks."""
    import textwrap

    paragraphs = source_blocks()
    lines: list[str] = []
    for paragraph in paragraphs:
        lines += textwrap.wrap(paragraph, width=50, break_on_hyphens=True) + [""]
    assert any(line.endswith("military-") for line in lines), "the test needs a hyphen at a line's end"
    pages = [lines[start : start + 40] for start in range(0, len(lines), 40)]
    text = "\f".join(
        "\n".join(["For a general strike — wsws.org", "", *page, "", f"- {number} -"])
        for number, page in enumerate(pages, start=1)
    )
    source = tmp_path / "statement.txt"
    source.write_text(text, encoding="utf-8")
    folder = tmp_path / "book"
    code, out, err = run("import", str(source), "-o", str(folder))
    assert code == 0, err
    book = built(folder, tmp_path / "wrapped.epub")
    assert blocks_of(book) == paragraphs
    assert f"running headers and footers removed: {len(pages)}, first at page 1" in out
    assert f"page numbers removed: {len(pages)}, first at page 1" in out


def test_a_readers_unexpected_error_on_a_damaged_file_is_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import zipfile

    module = types.ModuleType("handbill.importers.docx")

    def read(data: bytes, source: str, repairs) -> None:  # type: ignore[no-untyped-def]
        raise zipfile.BadZipFile("File is not a zip file")

    module.read = read  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "handbill.importers.docx", module)
    monkeypatch.delenv("HANDBILL_DEBUG", raising=False)
    source = tmp_path / "letter.docx"
    source.write_bytes(b"PK\x03\x04 damaged")
    code, _, err = run("build", str(source), "-o", str(tmp_path / "letter.epub"))
    assert code == 1
    assert err.strip() == (
        f"Error: {source}: cannot be read as a Word document (BadZipFile: File is not a zip file); is it damaged? "
        "Open it and save it again, or export it to another format"
    )
    assert sorted(path.name for path in tmp_path.iterdir()) == ["letter.docx"]

"""Word (.docx) and OpenDocument (.odt) import: the statement as other programs wrote it, every kind
of markup an editor uses, real documents from other projects' test data, and hostile packages.

The fixtures (tests/data/import/office) were made by pandoc and LibreOffice, never by handbill
(make_fixtures.sh); real/README.md names the origin and licence of the others."""

from __future__ import annotations

import io
import shutil
import struct
import time
import tracemalloc
import zipfile
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from handbill.cli import cli
from handbill.errors import HandbillError
from handbill.importers import Repairs, docx, odt
from handbill.importers import read as import_document
from handbill.importers.model import Document, DocumentError
from handbill.importers.office import MAX_MEMBERS

from .conftest import REPO, Epub, register
from .test_statement import SECOND_SECTION, SEED, TITLE, normalise, source_blocks

OFFICE = REPO / "tests" / "data" / "import" / "office"
REAL = OFFICE / "real"
STATEMENTS = [
    "statement-pandoc.docx",
    "statement-pandoc.odt",
    "statement-libreoffice.docx",
    "statement-libreoffice.odt",
]
FEATURES = ["features-pandoc.docx", "features-pandoc.odt", "features-libreoffice.odt"]


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, list(args), catch_exceptions=False)
    return result.exit_code, result.output


def reader_of(path: Path):  # type: ignore[no-untyped-def]
    return docx if path.suffix == ".docx" else odt


def read_only(path: Path, data: bytes | None = None) -> Document:
    """The format reader alone, before the shared repairs: what this module is responsible for."""
    return reader_of(path).read(path.read_bytes() if data is None else data, str(path), Repairs())


def build(source: Path, tmp_path: Path) -> Epub:
    output = tmp_path / (source.name + ".epub")
    code, output_text = run("build", str(source), "-o", str(output))
    assert code == 0, output_text
    register(output, source)
    return Epub(output)


# -- the statement, as pandoc and LibreOffice wrote it ----------------------------------------------
@pytest.mark.skipif(not SEED.exists(), reason="the source statement (../shared/seeds) is not beside the repository")
@pytest.mark.parametrize("name", STATEMENTS)
def test_statement_paragraph_by_paragraph_with_its_sections_as_chapters(name: str, tmp_path: Path) -> None:
    book = build(OFFICE / name, tmp_path)
    blocks = [normalise(block) for document in book.body_documents() for block in book.text_blocks(document)]
    assert blocks == source_blocks()
    labels = [normalise(label) for label, _ in book.toc()]
    assert labels[:2] == [normalise(TITLE), SECOND_SECTION]
    # The section title (a bold line in pandoc's files, a heading in LibreOffice's) opens a chapter
    # as a heading, and is nowhere left as bold text.
    chapter = next(d for d in book.body_documents() if SECOND_SECTION in normalise(" ".join(book.text_blocks(d))))
    heading = book.document(chapter).find(".//{*}h1")
    assert heading is not None and normalise("".join(heading.itertext())) == SECOND_SECTION
    assert not [p for p in book.document(chapter).iter("{*}p") if normalise("".join(p.itertext())) == SECOND_SECTION]
    # Emphasis survives: the standfirst is in italics, the contact address a link in bold.
    text = b"".join(book.files[d] for d in book.body_documents()).decode()
    assert "<em>The following statement" in text
    assert 'href="https://wsws.org/contact"' in text


@pytest.mark.parametrize("name", STATEMENTS)
def test_statement_metadata_prefers_the_byline_date_to_the_files_creation_date(name: str) -> None:
    document = import_document(OFFICE / name)
    metadata = document.metadata
    assert normalise(metadata.title) == normalise(TITLE)
    assert metadata.authors == ["Socialist Equality Party (US)"]
    # pandoc stamps the file with the minute it was made (dcterms:created, meta:creation-date);
    # the statement's own byline says when it was published.
    assert metadata.date == "2026-01-22"
    assert metadata.language.split("-")[0] == "en"


@pytest.mark.parametrize("name", ["statement-libreoffice.docx", "statement-libreoffice.odt"])
def test_document_properties_are_read(name: str) -> None:
    metadata = read_only(OFFICE / name).metadata
    assert metadata.title == "For a general strike against ICE violence and Trump's dictatorship!"
    assert metadata.authors == ["Socialist Equality Party (US)"]
    assert metadata.description == "Statement of the Socialist Equality Party (US), 22 January 2026."
    assert metadata.language == "en-US"
    assert metadata.subjects  # LibreOffice joins a .docx's keywords with spaces; the .odt keeps three
    assert metadata.date == ""  # no date property: the byline's, later


@pytest.mark.parametrize("name", ["statement-pandoc.docx", "statement-pandoc.odt"])
def test_a_bold_line_is_marked_bold_for_the_shared_rule(name: str) -> None:
    blocks = read_only(OFFICE / name).blocks
    title = [block for block in blocks if SECOND_SECTION in normalise(block.text.replace("’", "'"))]
    assert len(title) == 1 and title[0].kind == "paragraph" and title[0].bold
    assert title[0].text == "**For a general strike to stop Trump’s occupation of Minneapolis!**"


# -- every kind of markup --------------------------------------------------------------------------
@pytest.mark.parametrize("name", FEATURES)
def test_inline_markup_links_and_literal_text(name: str) -> None:
    blocks = read_only(OFFICE / name).blocks
    texts = [block.text for block in blocks]
    assert (
        "A paragraph with **bold**, *italic*, ***bold italic*** and **bold *nested italic* bold** text, "
        "a [web link](https://example.org/a%20page), a [mail link](mailto:ada@example.org) and an "
        "internal link that is only text." in texts
    )
    # Literal characters that Markdown would read as markup are escaped; a year that starts a
    # paragraph is not a numbered list.
    assert "1934\\. A year that starts a paragraph, 3 \\* 4 \\= 12, a\\_b\\_c, &lt;T> and &amp; stay literal." in texts
    whole_bold = [block for block in blocks if block.text == "**A whole bold paragraph**"]
    assert len(whole_bold) == 1 and whole_bold[0].bold
    assert not [block for block in blocks if block.bold and block is not whole_bold[0]]


@pytest.mark.parametrize("name", FEATURES)
def test_headings_lists_tables_notes_and_images(name: str) -> None:
    document = read_only(OFFICE / name)
    blocks = document.blocks
    headings = [(block.level, block.text) for block in blocks if block.kind == "heading"]
    assert (1, "Erste Überschrift") in headings and (2, "Zweite Überschrift") in headings
    lists = [block.text for block in blocks if block.kind == "list"]
    assert lists == ["- First item\n- Second item with *emphasis*\n    1. Nested one\n    2. Nested two\n- Third item"]
    [table] = [block.text for block in blocks if block.kind == "table"]
    assert table.splitlines()[1:] == ["| --- | --- |", "| Alpha | 1 |", "| **Beta** | 2 |"]
    assert table.splitlines()[0].replace("**", "") == "| Name | Value |"
    # The note's text follows the paragraph that refers to it, so it stays in the same chapter.
    index = next(i for i, block in enumerate(blocks) if block.text == "A sentence with a note.[^1]")
    assert blocks[index + 1].text == "[^1]: The note’s text, with *italic*."
    [image] = [block for block in blocks if block.kind == "image"]
    assert image.text in ("![A red square](images/001.png)", "![](images/001.png)")  # pandoc's .odt has no alt
    assert [(i.name, i.data) for i in document.images] == [("001.png", (OFFICE / "red-square.png").read_bytes())]


def test_features_book_shows_what_the_editor_wrote(tmp_path: Path) -> None:
    book = build(OFFICE / "features-libreoffice.odt", tmp_path)
    assert book.metadata("language") == ["de-DE"]
    assert book.metadata("creator") == ["Ada Editor", "Ben Writer"]
    assert book.metadata("description") == ["Every kind of block and inline markup an editor uses."]
    assert {"testing", "Word", "Import fixtures"} <= set(book.metadata("subject"))
    pages = [book.document(name) for name in book.body_documents()]
    links = {a.get("href") for page in pages for a in page.iter("{*}a")}
    assert {"https://example.org/a%20page", "mailto:ada@example.org"} <= links
    assert not [href for href in links if href and href.startswith("#zweite")]
    nested = [ol for page in pages for ol in page.iter("{*}ol") if ol.getparent().tag.endswith("li")]
    assert len(nested) == 1 and [normalise("".join(li.itertext())) for li in nested[0]] == ["Nested one", "Nested two"]
    cells = [normalise("".join(td.itertext())) for page in pages for td in page.iter("{*}td", "{*}th")]
    assert cells == ["Name", "Value", "Alpha", "1", "Beta", "2"]
    images = [img for page in pages for img in page.iter("{*}img")]
    assert [img.get("alt") for img in images] == ["A red square"]
    assert any(
        name.endswith(".png") and data == (OFFICE / "red-square.png").read_bytes() for name, data in book.files.items()
    )
    notes = [aside for page in pages for aside in page.iter("{*}aside")]
    assert notes and "The note's text, with italic." in normalise("".join(notes[0].itertext()))


# -- real documents from other projects' test data ------------------------------------------------
def test_word_footnotes_and_endnotes_become_notes(tmp_path: Path) -> None:
    blocks = read_only(REAL / "footnotes.docx").blocks
    assert [block.text for block in blocks] == ["Ouch[^1].[^2]", "[^1]: A tachyon walks into a bar.", "[^2]: Fin."]
    book = build(REAL / "footnotes.docx", tmp_path)
    text = " ".join(normalise(" ".join(book.text_blocks(d))) for d in book.body_documents())
    assert "A tachyon walks into a bar." in text and "[^1]" not in text


def test_word_image_table_and_list() -> None:
    picture = read_only(REAL / "tiny-picture.docx")
    assert [block.kind for block in picture.blocks] == ["image"]
    assert picture.images[0].name == "001.png" and picture.images[0].data.startswith(b"\x89PNG")
    tables = read_only(REAL / "tables.docx").blocks
    assert [block.kind for block in tables] == ["paragraph", "table", "paragraph"]
    assert tables[1].text == "| Top left | Top right |\n| --- | --- |\n| Bottom left | Bottom right |"
    assert [block.text for block in read_only(REAL / "simple-list.docx").blocks] == ["- Apple\n- Banana"]
    assert read_only(REAL / "tables.docx").metadata.authors == ["Michael Williamson"]


def test_opendocument_styles_lists_tables_and_images() -> None:
    styles = {block.text for block in read_only(REAL / "parastyles.odt").blocks}
    # Bold and italic set by the paragraph's style, not by a span.
    assert {"**Bold**", "*Italic*", "***Bold italic***", "Plain text"} <= styles
    lists = read_only(REAL / "twolevellist.odt").blocks
    assert [block.kind for block in lists] == ["paragraph", "list", "paragraph"]
    assert lists[1].text == "- Item A\n- Item B\n    - Subitem B.1\n    - **Subitem B.2 (bold)**\n- Item C"
    table = read_only(REAL / "simpletable.odt").blocks
    assert table[0].text == "| Cell 1 | Cell 2 |\n| --- | --- |\n| **Cell 3 (bold)** | *Cell 4 (italic)* |"
    images = read_only(REAL / "images.odt")
    assert [image.name for image in images.images] == [f"00{n}.gif" for n in range(1, 6)]
    assert sum(block.text.count("](images/") for block in images.blocks) == 5


def test_a_greek_play_keeps_its_language_and_properties(tmp_path: Path) -> None:
    document = read_only(REAL / "Electra.odt")
    assert document.metadata.title == "Ηλέκτρα"
    assert document.metadata.authors == ["Euripides"]
    assert document.metadata.language == "el-GR"
    assert not document.blocks[0].text.startswith("\ufeff")  # a byte-order mark in the text is no character
    book = build(REAL / "Electra.odt", tmp_path)
    assert book.metadata("language") == ["el-GR"] and book.metadata("title") == ["Ηλέκτρα"]


def test_creation_date_is_taken_only_when_the_text_has_no_date() -> None:
    repairs = Repairs()
    document = docx.read((REAL / "tables.docx").read_bytes(), "tables.docx", repairs)
    assert document.metadata.date == "2014-07-05"
    assert any("creation date" in line for line in repairs.lines())  # said in the report


# -- hostile and broken packages --------------------------------------------------------------------
def refused(source: Path, tmp_path: Path, *words: str) -> str:
    """`handbill import` and `handbill build` each refuse `source` with one line naming it, and write nothing."""
    out = tmp_path / "out"
    code, text = run("import", str(source), "-o", str(out))
    assert code == 1, text
    assert "Traceback" not in text and len(text.strip().splitlines()) == 1, text
    assert str(source) in text
    for word in words:
        assert word in text, text
    assert not out.exists() or not any(out.iterdir())
    epub = tmp_path / "book.epub"
    code, built = run("build", str(source), "-o", str(epub))
    assert code == 1 and "Traceback" not in built and not epub.exists(), built
    assert not [p for p in tmp_path.iterdir() if p.suffix == ".epub" or p.name.startswith(".")]
    return text


def zip_with(members: dict[str, bytes], compression: int = zipfile.ZIP_DEFLATED) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def declared_size(data: bytes, name: str, size: int) -> bytes:
    """The package with `name`'s uncompressed size in the central directory set to `size` (a lie)."""
    data = bytearray(data)
    at = data.find(b"PK\x01\x02")
    while at >= 0:
        length = struct.unpack("<H", data[at + 28 : at + 30])[0]
        if data[at + 46 : at + 46 + length] == name.encode():
            data[at + 24 : at + 28] = struct.pack("<L", size)
            return bytes(data)
        at = data.find(b"PK\x01\x02", at + 46)
    raise AssertionError(name)


def minimal_docx(document_xml: bytes) -> dict[str, bytes]:
    template = zipfile.ZipFile(REAL / "simple-list.docx")
    members = {info.filename: template.read(info) for info in template.infolist()}
    members["word/document.xml"] = document_xml
    return members


@pytest.mark.parametrize("suffix", [".docx", ".odt"])
def test_zip_bomb_fails_fast_within_bounded_memory(suffix: str, tmp_path: Path) -> None:
    # 64 MB of zeros deflate to about 64 KB: a thousand times, where XML is 5 to 20.
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        with archive.open("word/document.xml" if suffix == ".docx" else "content.xml", "w") as member:
            chunk = b"\0" * 2**20
            for _ in range(64):
                member.write(chunk)
    bomb = tmp_path / f"bomb{suffix}"
    bomb.write_bytes(buffer.getvalue())
    assert bomb.stat().st_size < 1_000_000
    tracemalloc.start()
    started = time.monotonic()
    try:
        with pytest.raises(DocumentError, match="ZIP bomb"):
            reader_of(bomb).read(bomb.read_bytes(), str(bomb), Repairs())
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert time.monotonic() - started < 5, "refused only after inflating"  # bounded: it takes milliseconds
    assert peak < 20 * 2**20, f"{peak / 2**20:.0f} MB to refuse a bomb"
    refused(bomb, tmp_path, "ZIP bomb")


def test_a_member_that_lies_about_its_size_is_read_no_further(tmp_path: Path) -> None:
    """A member declared at 2 KB whose data inflates to 50 MB: zipfile stops at the declared size,
    so memory stays bounded, and the checksum then says the part is damaged."""
    members = minimal_docx(b"<w:document/>" + b" " * 50 * 2**20)
    liar = tmp_path / "liar.docx"
    liar.write_bytes(declared_size(zip_with(members), "word/document.xml", 2048))
    tracemalloc.start()
    try:
        with pytest.raises(DocumentError):
            docx.read(liar.read_bytes(), str(liar), Repairs())
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 20 * 2**20, f"{peak / 2**20:.0f} MB"
    refused(liar, tmp_path, "damaged")


def test_members_that_together_would_unpack_past_the_limit(tmp_path: Path) -> None:
    import os

    members = minimal_docx(zipfile.ZipFile(REAL / "simple-list.docx").read("word/document.xml"))
    for n in range(3):
        members[f"word/media/noise{n}.bin"] = os.urandom(2**20)
    data = zip_with(members, zipfile.ZIP_STORED)
    for n in range(3):  # each claims 90 MB: under the ratio limit alone, 270 MB together
        data = declared_size(data, f"word/media/noise{n}.bin", 90 * 2**20)
    big = tmp_path / "big.docx"
    big.write_bytes(data)
    refused(big, tmp_path, "200 MB")


def test_more_members_than_the_limit_are_counted_before_zipfile_reads_them(tmp_path: Path) -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as archive:
        for n in range(MAX_MEMBERS + 1):
            archive.writestr(f"{n}", b"")
    many = tmp_path / "many.odt"
    many.write_bytes(buffer.getvalue())
    refused(many, tmp_path, "parts")


def test_encrypted_word_and_opendocument_files(tmp_path: Path) -> None:
    for name, words in (
        ("example_password.docx", ("encrypted", "without a password")),
        ("aes_sample.odt", ("encrypted",)),
    ):
        source = tmp_path / name
        shutil.copy(REAL / name, source)
        refused(source, tmp_path, *words)


def test_old_word_file_text_file_and_swapped_formats(tmp_path: Path) -> None:
    old = tmp_path / "old.docx"
    shutil.copy(REAL / "plain.doc", old)
    refused(old, tmp_path, "Word 97-2003", "save it again")
    text = tmp_path / "notes.docx"
    text.write_text("Just some notes, saved with the wrong name.\n", encoding="utf-8")
    refused(text, tmp_path, "is not a Word document", "text file")
    odt_as_docx = tmp_path / "letter.docx"
    shutil.copy(OFFICE / "statement-pandoc.odt", odt_as_docx)
    refused(odt_as_docx, tmp_path, "rename it to .odt")
    docx_as_odt = tmp_path / "letter.odt"
    shutil.copy(OFFICE / "statement-pandoc.docx", docx_as_odt)
    refused(docx_as_odt, tmp_path, "rename it to .docx")


def test_damaged_packages(tmp_path: Path) -> None:
    whole = (OFFICE / "statement-pandoc.docx").read_bytes()
    cut = tmp_path / "cut.docx"
    cut.write_bytes(whole[: len(whole) // 2])
    refused(cut, tmp_path, "damaged")
    members = minimal_docx(b"")
    del members["word/document.xml"]
    empty = tmp_path / "empty.docx"
    empty.write_bytes(zip_with(members))
    refused(empty, tmp_path, "document part")
    broken = tmp_path / "broken.docx"
    broken.write_bytes(zip_with(minimal_docx(b"<w:document><w:body><w:p>")))
    refused(broken, tmp_path, "cannot be read")
    garbled = bytearray((OFFICE / "statement-pandoc.odt").read_bytes())
    at = garbled.find(b"content.xml") + 200
    garbled[at : at + 400] = bytes(400)
    bad_odt = tmp_path / "garbled.odt"
    bad_odt.write_bytes(bytes(garbled))
    refused(bad_odt, tmp_path)
    no_content = tmp_path / "nocontent.odt"
    no_content.write_bytes(zip_with({"mimetype": b"application/vnd.oasis.opendocument.text"}))
    refused(no_content, tmp_path, "content.xml")


def test_entities_are_never_expanded_nor_fetched(tmp_path: Path) -> None:
    nasty = tmp_path / "nasty.odt"
    shutil.copy(REAL / "nasty.odt", nasty)  # declares an external entity pointing at a local file
    refused(nasty, tmp_path, "DTD")
    laughs = (
        b'<?xml version="1.0"?><!DOCTYPE w [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">'
        b'<!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;"><!ENTITY d "&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;">]>'
        b'<w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main">'
        b"<w:body><w:p><w:r><w:t>&d;&d;&d;&d;&d;&d;&d;&d;</w:t></w:r></w:p></w:body></w:document>"
    )
    bomb = tmp_path / "laughs.docx"
    bomb.write_bytes(zip_with(minimal_docx(laughs)))
    refused(bomb, tmp_path, "DTD")


def test_errors_are_the_import_error_class(tmp_path: Path) -> None:
    with pytest.raises(HandbillError) as caught:
        docx.read(b"not a zip at all", "x.docx", Repairs())
    assert isinstance(caught.value, DocumentError) and str(caught.value).startswith("x.docx: ")


def test_word_styles_by_outline_level_and_formatting_not_by_english_names(tmp_path: Path) -> None:
    """A heading style with a German name and id ("Überschrift 1", "berschrift1"); an editor's own
    "Kapitel" based on a heading style; "Abschnitt" that sets bold and "Betont" that sets italic:
    each counts as the reader of the Word file sees it (mammoth alone knows none of them)."""
    template = zipfile.ZipFile(OFFICE / "features-pandoc.docx")
    members = {info.filename: template.read(info) for info in template.infolist()}
    styles = members["word/styles.xml"].decode()
    styles = styles.replace('w:val="heading 1"', 'w:val="Überschrift 1"').replace(
        'w:val="heading 2"', 'w:val="Überschrift 2"'
    )
    styles = styles.replace('w:styleId="Heading1"', 'w:styleId="berschrift1"')
    styles = styles.replace(
        "</w:styles>",
        '<w:style w:type="paragraph" w:styleId="Kapitel"><w:name w:val="Kapitel"/><w:basedOn w:val="Heading2"/></w:style>'
        '<w:style w:type="paragraph" w:styleId="Abschnitt"><w:name w:val="Abschnitt"/><w:basedOn w:val="BodyText"/>'
        "<w:rPr><w:b/></w:rPr></w:style>"
        '<w:style w:type="character" w:styleId="Betont"><w:name w:val="Betont"/><w:rPr><w:i/></w:rPr></w:style>'
        "</w:styles>",
    )
    document = members["word/document.xml"].decode()
    document = document.replace('<w:pStyle w:val="Heading1" />', '<w:pStyle w:val="berschrift1" />')
    document = document.replace(
        '<w:pStyle w:val="Heading2" /></w:pPr><w:r><w:t xml:space="preserve">Zweite',
        '<w:pStyle w:val="Kapitel" /></w:pPr><w:r><w:t xml:space="preserve">Zweite',
    )
    document = document.replace(
        '<w:pStyle w:val="BodyText" /></w:pPr><w:r><w:rPr><w:b /><w:bCs /></w:rPr><w:t xml:space="preserve">A whole',
        '<w:pStyle w:val="Abschnitt" /></w:pPr><w:r><w:t xml:space="preserve">A whole',
    )
    document = document.replace(
        '<w:r><w:t xml:space="preserve">Ada Editor</w:t></w:r>',
        '<w:r><w:rPr><w:rStyle w:val="Betont"/></w:rPr><w:t xml:space="preserve">Ada Editor</w:t></w:r>',
    )
    assert document.count("Kapitel") == 1 and document.count("Abschnitt") == 1 and document.count("Betont") == 1
    members["word/styles.xml"], members["word/document.xml"] = styles.encode(), document.encode()
    german = tmp_path / "german.docx"
    german.write_bytes(zip_with(members))
    blocks = read_only(german).blocks
    headings = [(block.level, block.text) for block in blocks if block.kind == "heading"]
    assert (1, "Erste Überschrift") in headings and (2, "Zweite Überschrift") in headings
    bold = [block for block in blocks if block.bold]
    assert [block.text for block in bold] == ["**A whole bold paragraph**"]
    assert "*Ada Editor*" in [block.text for block in blocks]


# -- formatted runs as Markdown: what a reader sees is what the document said ---------------------
_RUN_TEXT = st.text(alphabet="ab *_[]()#>-+=1.\\<&!`|:~;xc{}^", min_size=1, max_size=8)
_LINK = st.sampled_from(["", "", "https://example.org/x", "file:///etc/passwd"])
_RUNS = st.lists(
    st.one_of(st.tuples(_RUN_TEXT, st.booleans(), st.booleans(), _LINK), st.just(("\n", False, False, ""))),
    min_size=1,
    max_size=6,
)


@given(_RUNS)
@settings(max_examples=300, deadline=None)
def test_runs_render_as_their_text_with_their_emphasis(runs: list[tuple[str, bool, bool, str]]) -> None:
    """Any text, any emphasis, links and line breaks: the rendered paragraph shows exactly the text,
    each run inside <strong>, <em> or <a> when it was bold, italic or a web link, and nothing else
    (no list, heading, rule, quote, image or link made of the text's own characters)."""
    from lxml import html as lxml_html

    from handbill.importers.office import LINE_BREAK, Run, inline
    from handbill.render.markdown import render_markdown

    from .conftest import reader_text

    markdown = inline(
        [
            Run(markdown=LINE_BREAK) if text == "\n" else Run(text, bold, italic, href)
            for text, bold, italic, href in runs
        ]
    )
    root = lxml_html.fragment_fromstring(render_markdown(markdown) or "<p></p>", create_parent="div")
    assert len(root) <= 1 and (not len(root) or root[0].tag == "p"), markdown  # one paragraph, nothing else
    shown = reader_text(root[0]) if len(root) else ""
    assert shown == " ".join(" ".join(text for text, *_ in runs).replace(" \n ", " ").split()) or shown == " ".join(
        "".join(" " if text == "\n" else text for text, *_ in runs).split()
    ), markdown
    for text, bold, italic, href in runs:
        word = " ".join(text.split())
        if not word or text == "\n":
            continue
        for tag, wanted in (("strong", bold), ("em", italic), ("a", href.startswith("https:"))):
            if wanted:
                inside = " ".join(" ".join("".join(e.itertext()).split()) for e in root.iter(tag))
                assert word in inside, (markdown, tag, word)
    assert not [a for a in root.iter("a") if not (a.get("href") or "").startswith("https:")]
    assert not list(root.iter("img"))


def test_elements_nested_thousands_deep(tmp_path: Path) -> None:
    """mammoth walks the tree recursively and lxml stops at 256 levels: both are one line, not a traceback."""
    deep = (
        b'<w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"><w:body>'
        + b"<w:sdt><w:sdtContent>" * 20_000
        + b"<w:p><w:r><w:t>x</w:t></w:r></w:p>"
        + b"</w:sdtContent></w:sdt>" * 20_000
        + b"</w:body></w:document>"
    )
    source = tmp_path / "deep.docx"
    source.write_bytes(zip_with(minimal_docx(deep)))
    refused(source, tmp_path, "nested too deeply")
    template = zipfile.ZipFile(OFFICE / "statement-pandoc.odt")
    members = {info.filename: template.read(info) for info in template.infolist()}
    members["content.xml"] = (
        b'<office:document-content xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" '
        b'xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0"><office:body><office:text>'
        + b"<text:section>" * 20_000
        + b"<text:p>x</text:p>"
        + b"</text:section>" * 20_000
        + b"</office:text></office:body></office:document-content>"
    )
    source = tmp_path / "deep.odt"
    source.write_bytes(zip_with(members))
    refused(source, tmp_path, "content.xml")


def test_an_image_linked_from_outside_is_not_fetched_and_is_reported() -> None:
    repairs = Repairs()
    document = docx.read((REAL / "external-picture.docx").read_bytes(), "external-picture.docx", repairs)
    assert document.images == [] and not [block for block in document.blocks if "](" in block.text]
    assert any(line.startswith("images linked from outside the document left out: 1") for line in repairs.lines())


def test_an_image_shown_twice_is_one_file_and_a_missing_one_is_reported(tmp_path: Path) -> None:
    template = zipfile.ZipFile(REAL / "tiny-picture.docx")
    members = {info.filename: template.read(info) for info in template.infolist()}
    body = members["word/document.xml"].decode()
    start, end = body.index("<w:p "), body.index("</w:p>") + len("</w:p>")
    members["word/document.xml"] = (body[:end] + body[start:end] + body[end:]).encode()
    twice = read_only(tmp_path / "twice.docx", zip_with(members))
    assert [block.text for block in twice.blocks] == ["![](images/001.png)", "![](images/001.png)"]
    assert [image.name for image in twice.images] == ["001.png"]
    del members["word/media/image1.png"]
    missing = tmp_path / "missing.docx"
    missing.write_bytes(zip_with(members))
    repairs = Repairs()
    document = docx.read(missing.read_bytes(), str(missing), repairs)
    assert document.images == [] and not [block for block in document.blocks if "](" in block.text]
    assert any("images missing or damaged in the package left out" in line for line in repairs.lines())

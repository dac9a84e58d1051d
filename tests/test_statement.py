"""The default book, read as a reader would: its text against the source, its structure, its metadata."""

from __future__ import annotations

import re
import unicodedata
from pathlib import Path

import pytest
from lxml import etree

from handbill.build import build
from handbill.check.epubcheck import jar_path, validate
from handbill.config import load_config

from .conftest import CONTENT, REPO, Epub

SEED = REPO.parent / "shared" / "seeds" / "000_86acad7a959e0f43.txt"
TITLE = "For a general strike against ICE violence and Trump's dictatorship!"
SECOND_SECTION = "For a general strike to stop Trump's occupation of Minneapolis!"


def normalise(text: str) -> str:
    """Compare text, not typography: straight quotes, one space."""
    text = unicodedata.normalize("NFC", text)
    text = text.translate(str.maketrans({"\u2018": "'", "\u2019": "'", "\u201c": '"', "\u201d": '"'}))
    return " ".join(text.split())


def source_blocks() -> list[str]:
    """The statement's paragraphs as the author wrote them, repaired independently of content/:
    paragraphs that a page break split mid-sentence are joined, backslash escapes and Markdown
    markup are removed."""
    raw = SEED.read_text(encoding="utf-8")
    blocks: list[str] = []
    for block in (part.strip() for part in raw.split("\n\n")):
        if not block:
            continue
        if blocks and blocks[-1][-1] not in ".!?:*)" and block[0].islower():
            blocks[-1] += " " + block  # a sentence broken by a page break
        else:
            blocks.append(block)
    cleaned = []
    for block in blocks:
        block = block.replace("\\$", "$")
        block = re.sub(r"\[([^\]]+)\]\([^)]+\)", r"\1", block)
        block = block.lstrip("# ").replace("**", "").replace("*", "")
        cleaned.append(normalise(block))
    return cleaned


@pytest.fixture(scope="module")
def body_blocks(statement: Epub) -> list[str]:
    return [normalise(block) for name in statement.body_documents() for block in statement.text_blocks(name)]


@pytest.mark.skipif(not SEED.exists(), reason="the source statement (../shared/seeds) is not beside the repository")
def test_every_paragraph_of_the_statement_verbatim_in_order_and_nothing_else(body_blocks: list[str]) -> None:
    assert body_blocks == source_blocks()


def test_no_conversion_artifact_survives(statement: Epub, body_blocks: list[str]) -> None:
    text = "\n".join(body_blocks)
    assert "\\" not in text, "a backslash escape printed literally"
    assert "**" not in text and "*The following" not in text, "Markdown markup printed literally"
    assert "$1.5 trillion" in text and "$8.2 trillion" in text and "$18.3 trillion" in text
    # Paragraphs broken by page breaks are whole again: no block starts in the middle of a sentence.
    for block in body_blocks:
        if block == "wsws.org/contact":
            continue
        assert not block[0].islower(), f"paragraph starts mid-sentence: {block[:60]!r}"
        assert block[-1] in '.!?:)"' or block.endswith("2026"), f"paragraph ends mid-sentence: {block[-60:]!r}"
    # The section title is a heading, not bold text.
    second = statement.document(statement.body_documents()[2])
    heading = second.find(".//{*}h1")
    assert heading is not None and normalise("".join(heading.itertext())) == SECOND_SECTION
    assert not second.findall(".//{*}p/{*}strong")


def test_every_sentence_survives_in_order(body_blocks: list[str]) -> None:
    """Independent of the seed: key sentences of each section, in reading order."""
    text = " ".join(body_blocks)
    sentences = [
        "It is necessary to ask and to answer the question: What next?",
        "incapable of countering the violence and criminality of the Trump regime.",
        "the Socialist Equality Party and the International Youth and Students for Social Equality therefore call",
        "fight for socialism.",
        "To contact the WSWS and the Socialist Equality Party visit:",
    ]
    position = 0
    for sentence in sentences:
        found = text.find(sentence, position)
        assert found >= 0, sentence
        position = found


def test_chapters_and_table_of_contents(statement: Epub) -> None:
    documents = statement.body_documents()
    assert len(documents) == 4  # title page, two sections, contact
    title_page = statement.document(documents[0])
    assert title_page.find(".//{*}section[@class='titlepage']") is not None
    assert normalise("".join(title_page.find(".//{*}h1").itertext())) == TITLE
    labels = [normalise(label) for label, _ in statement.toc()[:3]]
    assert labels == [TITLE, SECOND_SECTION, "Contact"]
    assert [normalise(label) for label in statement.ncx_labels()] == labels
    hrefs = [href for _, href in statement.toc()]
    assert [statement.base + href for href in hrefs] == documents[1:]
    # The opening section's body gets no invented heading: its label lives in aria-label only.
    opening = statement.document(documents[1])
    assert opening.find(".//{*}h1") is None and opening.find(".//{*}h2") is None


def test_metadata(statement: Epub) -> None:
    assert statement.metadata("title") == [TITLE]
    assert statement.metadata("creator") == ["Socialist Equality Party (US)"]
    assert statement.metadata("language") == ["en"]
    assert statement.metadata("date") == ["2026-01-22"]
    assert statement.metadata("identifier") == ["urn:uuid:5f0c2b9e-6a3d-5c41-9b7e-2a1d8e4f3c60"]
    assert statement.metadata("description")[0].startswith("Statement of the Socialist Equality Party")
    assert len(statement.metadata("subject")) >= 3
    for name in (
        "accessMode",
        "accessModeSufficient",
        "accessibilityFeature",
        "accessibilityHazard",
        "accessibilitySummary",
    ):
        assert statement.meta_property(f"schema:{name}"), name
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", statement.meta_property("dcterms:modified")[0])


def test_cover_is_a_portrait_image_every_library_shows(statement: Epub) -> None:
    from io import BytesIO

    from PIL import Image

    covers = [item for item in statement.manifest.values() if "cover-image" in (item.get("properties") or "")]
    assert len(covers) == 1
    cover = covers[0]
    assert cover.get("media-type") == "image/png"
    legacy = statement.opf.find("{*}metadata/{*}meta[@name='cover']")
    assert legacy is not None and legacy.get("content") == cover.get("id")
    data = statement.files[statement.base + cover.get("href")]
    assert len(data) < 500_000
    image = Image.open(BytesIO(data))
    assert image.format == "PNG" and image.size == (1600, 2400)
    # The first page a reader opens shows that image.
    first = statement.document(statement.spine[0])
    assert first.find(".//{*}img").get("src") == cover.get("href")


def test_every_document_is_well_formed_xhtml_with_declaration_and_language(statement: Epub) -> None:
    for name, data in statement.files.items():
        if name.endswith(".xhtml"):
            assert data.startswith(b'<?xml version="1.0" encoding="utf-8"?>'), name
            root = etree.fromstring(data)
            assert root.get("lang") == "en"
            assert root.get("{http://www.w3.org/XML/1998/namespace}lang") == "en"
        assert re.fullmatch(r"[A-Za-z0-9._/-]+", name), f"unsafe file name {name!r}"
    first = statement.infos[0]
    assert first.filename == "mimetype" and first.compress_type == 0 and not first.extra
    assert statement.files["mimetype"] == b"application/epub+zip"


@pytest.mark.skipif(jar_path() is None, reason="needs Java and the epubcheck package")
def test_epubcheck_reports_nothing_at_all(statement: Epub) -> None:
    result = validate(statement.path)
    assert (result.fatal, result.errors, result.warnings) == (0, 0, 0), result.messages
    assert [message for message in result.messages if message.severity != "USAGE"] == []


def test_two_builds_are_byte_identical_whatever_the_clock_or_zone(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import time

    monkeypatch.delenv("SOURCE_DATE_EPOCH", raising=False)
    first = build(load_config(CONTENT), tmp_path / "a.epub").path.read_bytes()
    monkeypatch.setenv("TZ", "Pacific/Kiritimati")
    time.tzset()
    time.sleep(1.1)
    second = build(load_config(CONTENT), tmp_path / "b.epub").path.read_bytes()
    monkeypatch.delenv("TZ")
    time.tzset()
    assert first == second


def test_source_date_epoch_fixes_every_timestamp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1769342400")  # 2026-01-25T12:00:00Z
    book = Epub(build(load_config(CONTENT), tmp_path / "a.epub").path)
    assert book.meta_property("dcterms:modified") == ["2026-01-25T12:00:00Z"]
    assert {info.date_time for info in book.infos} == {(2026, 1, 25, 12, 0, 0)}

"""The Kobo edition: sentence spans with unique ids, Kobo's wrappers, and exactly the same words."""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

from click.testing import CliRunner

from handbill.cli import cli

from .conftest import CONTENT, NS, Epub, reader_text, register


def build_both(book: Path, tmp_path: Path) -> tuple[Epub, Epub]:
    output = tmp_path / "out" / "book.epub"
    result = CliRunner().invoke(cli, ["build", str(book), "-o", str(output), "--format", "all"], catch_exceptions=False)
    assert result.exit_code == 0, result.stderr
    kepub = output.with_name("book.kepub.epub")
    assert f"wrote {kepub}" in result.stdout
    register(output)
    register(kepub)
    return Epub(output), Epub(kepub)


def body_text(epub: Epub, name: str) -> str:
    return reader_text(epub.document(name).find("{*}body"))


def test_statement_kepub_has_the_same_words_in_sentence_spans(tmp_path: Path) -> None:
    plain, kobo = build_both(CONTENT, tmp_path)
    assert plain.spine == kobo.spine
    for name in kobo.body_documents():
        assert body_text(kobo, name) == body_text(plain, name)
        document = kobo.document(name)
        body = document.find("x:body", NS)
        assert [child.get("id") for child in body] == ["book-columns"]
        assert body[0][0].get("id") == "book-inner"
        ids = [span.get("id") for span in document.iter("{*}span") if span.get("class") == "koboSpan"]
        assert ids and all(re.fullmatch(r"kobo\.\d+\.\d+", value) for value in ids)
        assert max(Counter(ids).values()) == 1
        for paragraph in document.iter("{*}p"):
            if reader_text(paragraph):
                assert paragraph.find(".//{*}span[@class='koboSpan']") is not None


def test_sentences_and_inline_markup(write_book, tmp_path: Path) -> None:
    book = write_book(
        {
            "a.md": (
                "# Title\n\nOne. Two? Three! \u201cFour.\u201d Five\u2026 six\n\n"
                "A *stressed phrase. Here* and [a link](#title).[^n]\n\n"
                "- item one. item two\n\n| a | b |\n|---|---|\n| c. d | e |\n\n```\ncode. more\n```\n\n"
                "![alt](pic.png)\n\n[^n]: A note. Two sentences.\n"
            ),
            "pic.png": _png(),
        }
    )
    plain, kobo = build_both(book, tmp_path)
    name = kobo.body_documents()[0]
    assert body_text(kobo, name) == body_text(plain, name)
    document = kobo.document(name)
    first = document.find(".//x:section/x:p", NS)
    assert [span.text for span in first.findall("x:span", NS)] == [
        "One. ",
        "Two? ",
        "Three! ",
        "\u201cFour.\u201d ",
        "Five\u2026 ",
        "six",
    ]
    emphasis = document.find(".//x:em", NS)
    assert [span.text for span in emphasis.findall("x:span", NS)] == ["stressed phrase. ", "Here"]
    image = document.find(".//x:img", NS)
    assert image.getparent().get("class") == "koboSpan"
    assert document.find(".//x:aside//x:span[@class='koboSpan']", NS) is not None


def _png() -> bytes:
    from .test_book import png

    return png()

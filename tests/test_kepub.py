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


def _ids_and_targets(epub: Epub) -> tuple[dict[str, list[str]], list[tuple[str, str]]]:
    """Every document's ids, and every link into the book as (document, fragment)."""
    ids: dict[str, list[str]] = {}
    links: list[tuple[str, str]] = []
    nav = next(i.get("href") for i in epub.manifest.values() if "nav" in (i.get("properties") or ""))
    for name in [*epub.spine, epub.base + nav]:
        document = epub.document(name)
        ids[name] = [element.get("id") for element in document.iter() if element.get("id") is not None]
        for link in document.iter("{*}a"):
            href = link.get("href") or ""
            if "#" in href and "://" not in href:
                path, fragment = href.split("#", 1)
                links.append((epub.base + path if path else name, fragment))
    ncx = epub.document(epub.manifest["ncx"].get("href"))
    for content in ncx.iter("{*}content"):
        path, _, fragment = content.get("src").partition("#")
        if fragment:
            links.append((epub.base + path, fragment))
    return ids, links


KOBO_CLASH = {
    "a.md": (
        "# Book inner\n\nSee [the columns](#book-columns), [a paragraph](b.md#kobo.2.1) and [under](b.md#_x).\n\n"
        "## Book columns\n\nText.[^1]\n\n[^1]: A note.\n"
    ),
    "b.md": (
        '# Two\n\n<p id="kobo.2.1">A paragraph with a Kobo-like id.</p>\n\n<h2 id="kobo.1.1">Kobo 1.1</h2>\n\n'
        'Back to [the start](a.md#book-inner). <span id="_x">Under.</span> <span id="KOBO.3.3">Upper.</span>\n\n'
        '<svg width="10" height="10" viewBox="0 0 10 10"><defs><linearGradient id="kobo.9.9">'
        '<stop offset="0" stop-color="red"/></linearGradient></defs>'
        '<rect width="10" height="10" fill="url(#kobo.9.9)"/></svg>\n'
    ),
}


def test_ids_that_clash_with_kobos_are_renamed_and_links_follow(write_book, tmp_path: Path) -> None:
    plain, kobo = build_both(write_book(KOBO_CLASH), tmp_path)
    plain_ids, plain_links = _ids_and_targets(plain)
    kobo_ids, kobo_links = _ids_and_targets(kobo)
    assert "book-inner" in plain_ids[plain.body_documents()[0]]  # the EPUB keeps its ids
    for name, ids in kobo_ids.items():
        assert max(Counter(ids).values(), default=1) == 1, (name, ids)
        if name in kobo.body_documents():
            document = kobo.document(name)
            assert [child.get("id") for child in document.find("x:body", NS)] == ["book-columns"]
            user_ids = [value for value in ids if not re.fullmatch(r"kobo\.\d+\.\d+|book-columns|book-inner", value)]
            assert all(not value.lower().startswith("kobo.") for value in user_ids)
    assert len(kobo_links) == len(plain_links) >= 7  # links in the text, the nav and the NCX
    for document, fragment in kobo_links:
        assert fragment in kobo_ids[document], (document, fragment)
    # Each link arrives at the element it arrived at in the EPUB: the same words.
    for (plain_document, plain_fragment), (document, fragment) in zip(plain_links, kobo_links, strict=True):
        assert plain_document == document
        before = plain.document(document).find(f".//*[@id='{plain_fragment}']")
        after = kobo.document(document).find(f".//*[@id='{fragment}']")
        assert reader_text(before) == reader_text(after)
    second = kobo.document(kobo.body_documents()[1])
    assert second.find(".//{*}rect").get("fill") == "url(#_kobo.9.9)"
    assert second.find(".//{*}linearGradient").get("id") == "_kobo.9.9"


def test_kepub_alone_renames_the_same_way(write_book, tmp_path: Path) -> None:
    output = tmp_path / "out" / "book.epub"
    book = write_book(KOBO_CLASH)
    result = CliRunner().invoke(cli, ["build", str(book), "-o", str(output), "--format", "kepub"])
    assert result.exit_code == 0, result.stderr
    kepub = output.with_name("book.kepub.epub")
    register(kepub)
    ids, links = _ids_and_targets(Epub(kepub))
    assert all(fragment in ids[document] for document, fragment in links)
    assert all(max(Counter(values).values(), default=1) == 1 for values in ids.values())


def test_kobo_id_renames_only_what_could_clash_and_never_two_ids_to_one() -> None:
    from handbill.write.kepub import kobo_id

    assert kobo_id("intro") == "intro" and kobo_id("kobo-like") == "kobo-like"
    assert kobo_id("book-inner") == "_book-inner" and kobo_id("kobo.2.1") == "_kobo.2.1"
    ids = ["book-inner", "_book-inner", "__book-inner", "kobo.1.1", "_kobo.1.1", "Kobo.1.1", "x", "_x", "book-columns"]
    renamed = [kobo_id(value) for value in ids]
    assert len(set(renamed)) == len(ids)
    assert not {"book-inner", "book-columns"} & set(renamed)
    assert not [value for value in renamed if value.lower().startswith("kobo.")]

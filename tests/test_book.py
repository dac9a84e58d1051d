"""Whole books built from small folders: order, splitting, notes, links, images, raw HTML."""

from __future__ import annotations

import io
from pathlib import Path

from PIL import Image

from .conftest import NS, reader_text


def png(width: int = 20, height: int = 10) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), (10, 120, 200)).save(buffer, "PNG")
    return buffer.getvalue()


def test_file_names_decide_order_naturally(write_book, build_book) -> None:
    book = write_book({"10-last.md": "# Ten\n\nx\n", "2-second.md": "# Two\n\nx\n", "1-first.md": "# One\n\nx\n"})
    epub, _ = build_book(book)
    assert [label for label, _ in epub.toc()] == ["One", "Two", "Ten"]


def test_summary_md_decides_order_like_mdbook(write_book, build_book) -> None:
    book = write_book(
        {
            "SUMMARY.md": "# Summary\n\n- [Intro](intro.md)\n- [Guide](guide/start.md)\n  - [Deeper](guide/deep.md)\n- [Draft]()\n",
            "intro.md": "# Intro\n\nSee [deep part](guide/deep.html#details).\n",
            "guide/start.md": "# Start\n\nx\n",
            "guide/deep.md": "# Deep\n\n## Details\n\ny\n",
            "unlisted.md": "# Not in the book\n",
        }
    )
    epub, _ = build_book(book)
    assert [label for label, _ in epub.toc()] == ["Intro", "Start", "Deep", "Details"]
    intro = epub.document(epub.body_documents()[0])
    deep_file = epub.toc()[2][1]
    assert intro.find(".//{*}a").get("href") == f"{deep_file}#details"


def test_book_toml_chapters_and_front_matter(write_book, build_book) -> None:
    book = write_book(
        {
            "book.toml": 'title = "T"\nauthor = "Someone"\nchapters = ["b.md", "a.md"]\n',
            "a.md": "---\ntitle: Afterwards\ntype: appendix\nlanguage: fr\n---\n\nBonjour.\n",
            "b.md": "# Before\n\nHello.\n",
        }
    )
    epub, _ = build_book(book)
    assert [label for label, _ in epub.toc()] == ["Before", "Afterwards"]
    appendix = epub.document(epub.body_documents()[1])
    section = appendix.find(".//x:section", NS)
    assert section.get("{http://www.idpf.org/2007/ops}type") == "appendix"
    assert section.get("role") == "doc-appendix" and section.get("lang") == "fr"
    text = " ".join(reader_text(p) for p in appendix.iter("{*}p"))
    assert text == "Bonjour." and "title:" not in text


def test_footnotes_become_popup_notes_in_the_right_chapter(write_book, build_book) -> None:
    book = write_book(
        {"a.md": "# One\n\nA claim.[^src]\n\n# Two\n\nAnother.[^two]\n\n[^src]: The source.\n[^two]: Second note.\n"}
    )
    epub, _ = build_book(book, split_level=1)
    first, second = (epub.document(name) for name in epub.body_documents())
    ref = first.find(".//x:a[@epub:type='noteref']", NS)
    note = first.find(".//x:aside[@epub:type='footnote']", NS)
    assert ref.get("role") == "doc-noteref" and note.get("role") == "doc-footnote"
    assert ref.get("href") == "#" + note.get("id")
    assert reader_text(note) == "1. The source."
    assert note.find(".//x:a", NS).get("href") == "#" + ref.get("id")  # back-link comes first
    assert reader_text(second.find(".//x:aside", NS)) == "2. Second note."


def test_links_between_files_and_missing_targets(write_book, build_book) -> None:
    book = write_book(
        {
            "a.md": "# A\n\n[to b](b.md#part-two) [web](https://example.org) [mail](mailto:x@example.org) "
            "[gone](missing.md) [no anchor](b.md#nowhere) [self](#a)\n",
            "b.md": "# B\n\n## Part two\n\ntext\n",
        }
    )
    epub, warnings = build_book(book)
    a = epub.document(epub.body_documents()[0])
    hrefs = [link.get("href") for link in a.iter("{*}a")]
    b_file = epub.toc()[1][1]
    assert hrefs == [f"{b_file}#part-two", "https://example.org", "mailto:x@example.org", "#a"]
    assert "gone" in reader_text(a) and "no anchor" in reader_text(a)
    assert sum("leads nowhere" in warning for warning in warnings) == 2


def test_links_to_later_chapters_keep_their_attributes_or_become_text(write_book, build_book) -> None:
    # Links to a chapter not yet assembled wait until the end of the book: they must come out
    # exactly as links to earlier chapters do.
    book = write_book(
        {
            "a.md": '# A\n\n[next](b.md "Go on"){.more} [broken](b.md#gone){#kept} [empty](c.md) [self](a.md#a)\n',
            "b.md": "# B\n\ntext [back](a.md#a) [broken](a.md#gone){#kept}\n",
            "c.md": "",
        }
    )
    epub, warnings = build_book(book)
    a, b = (epub.document(name) for name in epub.body_documents())
    a_file, b_file = (href for _, href in epub.toc())
    [forward, self_link] = a.iter("{*}a")
    assert (forward.get("href"), forward.get("title"), forward.get("class")) == (b_file, "Go on", "more")
    assert reader_text(forward) == "next" and self_link.get("href") == "#a"
    for document in (a, b):
        [kept] = document.findall(".//{*}span[@id='kept']")
        assert reader_text(kept) == "broken" and kept.get("href") is None
    assert "empty" in reader_text(a) and b"handbill-pending" not in epub.files[epub.base + a_file]
    [back] = b.iter("{*}a")
    assert back.get("href") == f"{a_file}#a"
    assert sum("leads nowhere" in warning for warning in warnings) == 3


def test_images_are_embedded_and_unsafe_ones_refused(write_book, build_book, tmp_path) -> None:
    (tmp_path / "secret.png").write_bytes(png())
    book = write_book(
        {
            "a.md": "# A\n\n![A chart](img/chart.png)\n\n![outside](../secret.png) ![remote](https://example.org/x.png) "
            "![missing](nope.png) ![absolute](/etc/passwd)\n",
            "img/chart.png": png(),
        }
    )
    epub, warnings = build_book(book)
    a = epub.document(epub.body_documents()[0])
    images = a.findall(".//x:img", NS)
    assert len(images) == 1 and images[0].get("alt") == "A chart"
    data = epub.files[epub.base + images[0].get("src")]
    assert data == png()
    assert all(word in reader_text(a) for word in ("outside", "remote", "missing", "absolute"))
    assert len(warnings) == 4
    assert "visual" in epub.meta_property("schema:accessMode")
    assert "alternativeText" in epub.meta_property("schema:accessibilityFeature")
    assert "text alternatives" in epub.meta_property("schema:accessibilitySummary")[0]


def test_raw_html_is_cleaned_to_valid_xhtml(write_book, build_book) -> None:
    book = write_book(
        {
            "a.md": (
                '# Raw\n\n<div onclick="x()">Kept <b>bold<i>mis</b>nested</i> &nbsp;&rsquo; text</div>\n\n'
                '<script>alert(1)</script>\n\n<p>A <a href="javascript:evil()">trap</a> and <Custom>custom</Custom>.</p>\n\n'
                '<!-- a -- comment -->\n\n<iframe src="https://example.org"></iframe>\n\nAfter.\n'
            )
        }
    )
    epub, warnings = build_book(book)
    document = epub.files[epub.body_documents()[0]].decode()
    assert "alert" not in document and "onclick" not in document and "javascript" not in document
    assert "<iframe" not in document and "comment" not in document
    text = reader_text(epub.document(epub.body_documents()[0]))
    assert "\u00a0\u2019" in document  # HTML entities became characters XML knows
    assert "Kept boldmisnested \u2019 text" in text and "A trap and custom." in text and "After." in text
    assert any("script" in warning for warning in warnings)


def test_empty_chapter_is_left_out_with_a_warning(write_book, build_book) -> None:
    book = write_book({"a.md": "# A\n\ntext\n", "b.md": "  \n\n", "c.md": "# C\n\nmore\n"})
    epub, warnings = build_book(book)
    assert [label for label, _ in epub.toc()] == ["A", "C"]
    assert any("b.md" in warning and "no text" in warning for warning in warnings)


def test_very_long_chapter_is_split_into_documents_of_reasonable_size(write_book, build_book) -> None:
    paragraph = "word " * 200
    book = write_book({"long.md": "# Long\n\n" + "\n\n".join(f"{n} {paragraph}" for n in range(600))})
    epub, _ = build_book(book)
    documents = epub.body_documents()
    assert len(documents) > 1
    assert all(len(epub.files[name]) < 260_000 for name in documents)
    assert len(epub.toc()) == 1
    assert sum(len(epub.document(name).findall(".//{*}p")) for name in documents) == 600


def test_forbidden_control_characters_are_removed_with_a_warning(write_book, build_book) -> None:
    book = write_book({"a.md": "# Form\x0cfeed\r\n\r\nNUL\x00 here\r\n"})
    epub, warnings = build_book(book)
    assert reader_text(epub.document(epub.body_documents()[0]).find(".//{*}p")) == "NUL here"
    assert any("control character" in warning for warning in warnings)


def test_stylesheet_fonts_and_images_are_embedded_and_the_rest_removed(write_book, build_book) -> None:
    font = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")
    if not font.exists():
        font = Path(__file__).resolve().parent.parent / "src" / "handbill" / "data" / "fonts" / "DejaVuSans.ttf"
    book = write_book(
        {
            "book.toml": 'stylesheet = "css/book.css"\n',
            "css/book.css": (
                '@import "more.css";\n@font-face { font-family: "B"; src: url("../fonts/b.ttf") format("truetype"); }\n'
                "body { font-family: B, serif; }\nh1 { background-image: url(../pic.png); }\n"
                "h2 { background: url(https://example.org/x.png); color: inherit; }\nh3 { background: url(gone.png); }\n"
            ),
            "fonts/b.ttf": font.read_bytes(),
            "pic.png": png(),
            "a.md": "# A\n\ntext\n",
        }
    )
    epub, warnings = build_book(book)
    css = next(data for name, data in epub.files.items() if name.endswith("01-book.css")).decode()
    fonts = [item for item in epub.manifest.values() if item.get("media-type") == "font/ttf"]
    assert len(fonts) == 1 and f'url("../{fonts[0].get("href")}")' in css
    assert "example.org" not in css and "gone.png" not in css and "@import" not in css
    assert "color: inherit" in css
    assert "META-INF/com.apple.ibooks.display-options.xml" in epub.files
    assert len(warnings) == 3
    # A background image is seen, but has no text alternative to declare.
    assert "visual" in epub.meta_property("schema:accessMode")
    assert "alternativeText" not in epub.meta_property("schema:accessibilityFeature")
    assert "images" not in epub.meta_property("schema:accessibilitySummary")[0]

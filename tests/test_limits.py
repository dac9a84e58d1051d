"""Limits: a small input never costs unbounded time or memory, and a large book stays readable
(no content document over what Adobe-engine readers take)."""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from handbill import sources
from handbill.assemble import split as split_module
from handbill.cli import cli

from .conftest import reader_text

BILLION_LAUGHS = """---
a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]
b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]
c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]
d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]
e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]
f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]
g: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]
h: &h [*g,*g,*g,*g,*g,*g,*g,*g,*g]
i: &i [*h,*h,*h,*h,*h,*h,*h,*h,*h]
---
# Laughs
"""


def build_error(book: Path) -> str:
    """The one error line a failed build prints (and that it wrote nothing)."""
    result = CliRunner().invoke(cli, ["build", str(book), "-o", str(book.parent / "out.epub")])
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output and "internal error" not in result.stderr
    assert not (book.parent / "out.epub").exists()
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: "), result.stderr
    return lines[0].removeprefix("Error: ")


# -- front matter ---------------------------------------------------------------------------


def test_billion_laughs_front_matter_fails_fast_naming_the_file(write_book) -> None:
    book = write_book({"01.md": "# Fine\n\ntext\n", "02-laughs.md": BILLION_LAUGHS})
    started = time.perf_counter()
    line = build_error(book)
    assert time.perf_counter() - started < 10  # expanded, it takes minutes and gigabytes
    assert line == f"{book / '02-laughs.md'}:3: front matter: aliases (*a) are not allowed"


@pytest.mark.parametrize(
    ("front_matter", "problem", "line"),
    [
        ("title: x\nmerge: {<<: *base}\n", "aliases", 3),  # a merge key needs an alias too
        ("deep: " + "[" * 40 + "]" * 40 + "\n", "nested more than", 2),
        ("deep:\n" + "".join("  " * n + "- \n" for n in range(1, 30)), "nested more than", 22),
        ("deep: " + "[" * 30_000 + "]" * 30_000 + "\n", "nested more than", 2),  # no RecursionError
        ("title: x\n" + "padding: " + "x" * 70_000 + "\n", "larger than 64 KB", 2),
        ("title: x\ndate: 2026-02-30\n", "'2026-02-30' is not valid here", 3),
        ("title: x\nbig: " + "9" * 5000 + "\n", "is not valid here", 3),
        ("ratio: !!float abc\n", "'abc' is not valid here", 2),
        ("x: !!python/object:os.system echo\n", "could not determine a constructor", 2),
    ],
)
def test_front_matter_beyond_the_limits_is_one_error_at_its_line(write_book, front_matter, problem, line) -> None:
    book = write_book({"a.md": f"---\n{front_matter}---\n# T\n\ntext\n"})
    message = build_error(book)
    assert message.startswith(f"{book / 'a.md'}:{line}: front matter") and problem in message


def test_front_matter_without_aliases_keeps_working(write_book, build_book) -> None:
    """Anchors alone, nested lists and dates within the depth limit are still read."""
    front = "title: Anchored &x\ntype: &kind appendix\ntags: [[a, [b]], {c: [d]}]\ndate: 2026-01-22\n"
    epub, warnings = build_book(write_book({"book.toml": 'title = "T"\n', "a.md": f"---\n{front}---\ntext\n"}))
    assert epub.toc()[0][0] == "Anchored &x"
    assert epub.document(epub.body_documents()[0]).find(".//{*}section").get("class") == "appendix"
    assert not warnings


# -- source size ----------------------------------------------------------------------------


def test_a_source_over_the_size_limit_is_refused_by_name_unread(write_book, monkeypatch) -> None:
    book = write_book({"01.md": "# Fine\n\ntext\n", "02-huge.md": ""})
    with (book / "02-huge.md").open("wb") as file:
        file.truncate(sources.MAX_SOURCE_BYTES + 1)  # sparse: nothing to read, and nothing is
    read = []
    monkeypatch.setattr(
        sources, "decode", lambda data, path, real=sources.decode: read.append(path) or real(data, path)
    )
    line = build_error(book)
    assert line == f"{book / '02-huge.md'}: is larger than 20 MB, the most a Markdown file may be; split it"
    assert all(path.name != "02-huge.md" for path in read)


def test_a_source_that_grows_past_the_limit_while_read_is_refused(write_book, monkeypatch) -> None:
    book = write_book({"a.md": "# T\n\n" + "word " * 100})
    monkeypatch.setattr(sources, "MAX_SOURCE_BYTES", 400)
    monkeypatch.setattr(sources.os, "fstat", lambda fd, real=sources.os.fstat: _pretend_size(real(fd), 10))
    assert "a.md: is larger than" in build_error(book)


def _pretend_size(info, size: int):
    import os

    return os.stat_result((*info[:6], size, *info[7:]))


def test_a_source_at_the_limit_is_read(write_book, build_book, monkeypatch) -> None:
    text = "# T\n\n" + "word " * 100 + "\n"
    monkeypatch.setattr(sources, "MAX_SOURCE_BYTES", len(text))
    epub, _ = build_book(write_book({"a.md": text}))
    assert epub.text_blocks(epub.body_documents()[0])[1].count("word") == 100


# -- footnotes ------------------------------------------------------------------------------

FOOTNOTE_TEXTS = [
    "a[^1] b[^1] c[^1][^2] d[^missing]\n\n[^1]: one[^2]\n[^2]: two [^1]\n\n    more\n\n[^3]: unused\n",
    "x[^a]" * 50 + "\n\n[^a]: A\n",
    "[^a]: first\n\nx[^a] y[^b]\n\n[^b]: b\n[^a]: redefined\n",
    "> quote[^q]\n\n- item[^q]\n\n[^q]: Q\n    - nested[^r]\n\n[^r]: R\n",
    "x[^1-2] y[^1] z[^2] w[^fnref]\n\n[^1-2]: a\n[^1]: b\n[^2]: c\n[^fnref]: d\n",
    "| a | b[^t] |\n|---|---|\n| c[^t] | d |\n\n[^t]: in a table\n",
]


def upstream_footnotes(text: str) -> str:
    """What Python-Markdown's own footnotes extension makes of `text`, all else as handbill has it."""
    import markdown
    from markdown.extensions.footnotes import FootnoteExtension

    from handbill.render import markdown as render

    extensions = [
        FootnoteExtension(SEPARATOR="-", BACKLINK_TEXT="") if isinstance(extension, FootnoteExtension) else extension
        for extension in render._extensions(tuple(render._OPTIONAL_EXTENSIONS))
    ]
    return markdown.Markdown(extensions=extensions, output_format="xhtml").convert(text)


@pytest.mark.parametrize("text", FOOTNOTE_TEXTS)
def test_linear_footnotes_render_as_python_markdown_does(text: str) -> None:
    from handbill.render import markdown as render

    assert render.render_markdown(text) == upstream_footnotes(text)


@given(
    st.lists(
        st.one_of(
            st.sampled_from(["text ", "\n\n", "> ", "- ", "`", "*", "[^", "]", ":", "    ", "x"]),
            st.from_regex(r"\[\^[a-c1-3]{1,2}\]:? ?", fullmatch=True),
        ),
        max_size=40,
    ).map("".join)
)
@settings(max_examples=150, deadline=None)
def test_linear_footnotes_match_python_markdown_on_any_text(text: str) -> None:
    from handbill.render import markdown as render

    rendered = render.render_markdown(text)
    try:
        expected = upstream_footnotes(text)
    except RuntimeError:  # a definition inside a note: Python-Markdown fails, handbill renders it
        return
    if rendered != expected:
        # A definition inside the last note: Python-Markdown stops without it, handbill renders it
        # as one more note. Everything else is the same.
        notes = re.compile(r'<li id="([^"]+)">')
        assert rendered.split('<div class="footnote">')[0] == expected.split('<div class="footnote">')[0]
        ours, theirs = notes.findall(rendered), notes.findall(expected)
        assert len(ours) > len(theirs) and ours[: len(theirs)] == theirs


def test_a_definition_inside_a_note_is_rendered_not_a_crash() -> None:
    from handbill.render import markdown as render

    text = "a[^1]\n\n[^1]: b [^2]\n\n    [^2]: inner\n\n[^3]:[^[^4]:\n\n[^4]:\n"
    with pytest.raises(RuntimeError):
        upstream_footnotes(text)
    rendered = render.render_markdown(text)
    assert 'id="fn-1"' in rendered and 'id="fn-2"' in rendered and "inner" in rendered


def twenty_thousand_footnotes() -> str:
    count = 20_000
    text = "# Notes\n\n" + "\n\n".join(f"Paragraph {n} with a note.[^{n}]" for n in range(count))
    return text + "\n\n" + "\n".join(f"[^{n}]: Note number {n}." for n in range(count)) + "\n"


def test_twenty_thousand_footnotes_build_in_seconds(write_book, build_book) -> None:
    """Python-Markdown's footnotes took minutes here (and the build was refused as too slow)."""
    started = time.process_time()
    epub, warnings = build_book(write_book({"notes.md": twenty_thousand_footnotes()}))
    assert time.process_time() - started < 40  # about 6 s; quadratic, it is minutes
    assert not warnings
    documents = epub.body_documents()
    assert len(documents) > 1
    asides = 0
    for name in documents:
        assert len(epub.files[name]) <= 260_000
        asides += _notes_resolve_within(epub.document(name))
    assert asides == 20_000


def _notes_resolve_within(document) -> int:
    """Every noteref in a document that names no other document points at a popup note in this
    one (a note referred to again later is where it was first referred to); how many notes."""
    ids = {element.get("id") for element in document.iter() if element.get("id")}
    refs = document.findall(".//{*}a[@role='doc-noteref']")
    assert all(ref.get("href")[1:] in ids for ref in refs if ref.get("href").startswith("#"))
    notes = document.findall(".//{*}aside[@role='doc-footnote']")
    assert all(note.find(".//{*}a[@role='doc-backlink']").get("href")[1:] in ids for note in notes)
    return len(notes)


# -- documents small enough for Adobe-engine readers ------------------------------------------


def sizes_and_documents(epub) -> list[tuple[int, object]]:
    return [(len(epub.files[name]), epub.document(name)) for name in epub.body_documents()]


def test_a_six_thousand_row_table_becomes_tables_that_repeat_its_header(write_book, build_book) -> None:
    rows = "\n".join(f"| {n} | row {n} with some text[^n{n % 7}] |" for n in range(6000))
    rows = rows.replace("| 4500 |", '| <span id="row4500">4500</span> |')
    notes = "\n".join(f"[^n{n}]: Note {n}." for n in range(7))
    chapter = "# Table\n\n| number | text |\n|---|---|\n" + rows + "\n\n" + notes + "\n"
    book = write_book({"01.md": chapter, "02.md": "# Links\n\n[row 4500](01.md#row4500)\n"})
    epub, warnings = build_book(book)
    assert not warnings
    found = []
    tables = 0
    for size, document in sizes_and_documents(epub)[:-1]:
        assert size <= 260_000
        for table in document.iter("{*}table"):
            tables += 1
            assert [reader_text(cell) for cell in table.findall("{*}thead/{*}tr/{*}th")] == ["number", "text"]
            found += [int(reader_text(row[0])) for row in table.findall("{*}tbody/{*}tr")]
        _notes_resolve_within(document)
    assert found == list(range(6000)) and tables > 1
    link = epub.document(epub.body_documents()[-1]).find(".//{*}a")
    holder = next(name for name in epub.body_documents() if b'id="row4500"' in epub.files[name])
    assert holder != epub.body_documents()[0] and link.get("href") == holder.rsplit("/", 1)[-1] + "#row4500"


def test_a_long_ordered_list_continues_its_numbering(write_book, build_book, monkeypatch) -> None:
    monkeypatch.setattr(split_module, "MAX_DOCUMENT_BYTES", 20_000)
    items = "\n".join(f"{n}. item {n} " + "word " * 20 for n in range(7, 1007))
    epub, warnings = build_book(write_book({"a.md": "# List\n\n" + items + "\n"}))
    assert not warnings
    numbers = []
    for size, document in sizes_and_documents(epub):
        assert size <= 20_000 + 1000
        for listing in document.iter("{*}ol"):
            start = int(listing.get("start", "1"))
            for offset, item in enumerate(listing.findall("{*}li")):
                assert reader_text(item).startswith(f"item {start + offset} ")
                numbers.append(start + offset)
    assert numbers == list(range(7, 1007)) and len(epub.body_documents()) > 5


def test_reversed_and_valued_items_keep_their_numbers(monkeypatch) -> None:
    """A reversed list counts down from its length; an item with a value sets the count."""
    from lxml import html

    monkeypatch.setattr(split_module, "MAX_DOCUMENT_BYTES", 2_000)
    items = "".join(f"<li>{number}{'x' * 100}</li>" for number in range(32, 2, -1))
    listing = html.fragment_fromstring(f'<ol reversed="reversed">{items}<li value="100">100</li><li>99</li></ol>')
    pieces = split_module._split_block(listing, split_module._Sizes({}))
    assert len(pieces) > 2 and pieces[0].get("start") is None
    for piece in pieces[1:]:
        assert piece.get("reversed") == "reversed"
        assert piece.get("start") == piece[0].text.rstrip("x")
    assert [item.text.rstrip("x") for piece in pieces for item in piece] == [
        str(n) for n in [*range(32, 2, -1), 100, 99]
    ]


def test_paragraph_of_thousands_of_long_reference_links_is_split_between_links(write_book, build_book) -> None:
    url = "https://example.org/" + "x" * 2000
    links = "\n".join(f"[ref {n}][r{n}]" for n in range(2700))
    definitions = "\n".join(f"[r{n}]: {url}/{n}" for n in range(2700))
    book = write_book({"a.md": "# Links\n\n" + links + "\n\n" + definitions + "\n"})
    epub, warnings = build_book(book)
    assert warnings == [
        f"{book / 'a.md'}: a paragraph of 5530 KB is split in 28, at most 200 KB each (Adobe-engine readers stop at 260 KB)"
    ]
    seen = []
    for size, document in sizes_and_documents(epub):
        assert size <= 260_000
        seen += [(reader_text(link), link.get("href")) for link in document.iter("{*}a")]
    assert seen == [(f"ref {n}", f"{url}/{n}") for n in range(2700)]


def test_a_short_source_that_renders_long_is_measured(write_book, build_book) -> None:
    """One reference definition, or one abbreviation, used a thousand times: 20 KB of Markdown that
    makes megabytes of XHTML."""
    url = "https://example.org/" + "x" * 2000
    text = "# Short\n\n" + "\n\n".join(f"[a][r] HTML {n}" for n in range(1000))
    text += f"\n\n[r]: {url}\n\n*[HTML]: " + "Hypertext Markup Language " * 40 + "\n"
    epub, warnings = build_book(write_book({"a.md": text}))
    assert len(text) < 25_000 and not warnings
    documents = sizes_and_documents(epub)
    assert len(documents) > 10 and all(size <= 260_000 for size, _ in documents)
    assert sum(len(document.findall(".//{*}abbr")) for _, document in documents) == 1000


@pytest.mark.parametrize(
    ("markdown", "kind"),
    [
        ("\n>\n".join(f"> quoted paragraph {n} " + "word " * 30 for n in range(300)), "{*}blockquote"),
        ("```\n" + "\n".join(f"line {n} <tag> & " + "x" * 60 for n in range(600)) + "\n```", "{*}pre"),
        ("\n\n".join(f"term {n}\n: definition {n} " + "word " * 20 for n in range(300)), "{*}dl"),
        (" ".join(f"word{n}" for n in range(8000)), "{*}p"),
        (  # raw HTML: rows outside a tbody, joined in pairs by a rowspan
            "<table>"
            + "".join(
                f'<tr><td rowspan="2">{n}</td><td>{"a" * 200}</td></tr><tr><td>b{n}</td></tr>' for n in range(200)
            )
            + "</table>",
            "{*}table",
        ),
    ],
)
def test_large_blocks_are_split_with_every_word_kept(write_book, build_book, monkeypatch, markdown, kind) -> None:
    monkeypatch.setattr(split_module, "MAX_DOCUMENT_BYTES", 20_000)
    epub, _ = build_book(write_book({"a.md": "# Heading\n\n" + markdown + "\n"}))
    documents = sizes_and_documents(epub)
    assert len(documents) > 2
    text = []
    for size, document in documents:
        assert size <= 20_000 + 1000
        assert document.find(f".//{kind}") is not None  # no document is left with the heading alone
        text.append(reader_text(document.find(".//{*}section")))
    expected = reader_text(_render_whole(markdown))
    assert " ".join(text).removeprefix("Heading ").replace(" ", "") == expected.replace(" ", "")


def _render_whole(markdown: str):
    from lxml import html

    from handbill.render import markdown as render
    from handbill.render.typography import smarten

    container = html.fragment_fromstring(render.render_markdown(markdown), create_parent="div")
    smarten(container)
    return container


def test_a_block_that_cannot_be_split_is_warned_of_by_name(write_book, build_book, monkeypatch) -> None:
    monkeypatch.setattr(split_module, "MAX_DOCUMENT_BYTES", 20_000)
    monkeypatch.setattr(split_module, "READER_LIMIT_BYTES", 26 * 1024)
    book = write_book({"a.md": "# T\n\n| a |\n|---|\n| " + "x" * 30_000 + " |\n| " + "y" * 25_000 + " |\n"})
    epub, warnings = build_book(book)
    assert warnings == [  # the row of 25 KB fits what readers open: not worth a warning
        f"{book / 'a.md'}: one <table> of 30 KB cannot be split; "
        "its document is over the 26 KB Adobe-engine readers open"
    ]
    assert "x" * 30_000 in reader_text(epub.document(epub.body_documents()[0]).find(".//{*}td"))


def test_a_table_of_contents_too_large_for_one_document_is_warned_of(write_book, build_book, monkeypatch) -> None:
    monkeypatch.setattr(split_module, "READER_LIMIT_BYTES", 5_000)
    book = write_book({f"{n:03d}.md": f"# Chapter {n}\n\n## Part\n\ntext\n" for n in range(60)})
    epub, warnings = build_book(book)
    assert len(epub.toc()) == 120
    assert any(
        warning.startswith(f"{book}: the table of contents (nav.xhtml) is about")
        and warning.endswith("set toc_depth = 1 in book.toml")
        for warning in warnings
    )

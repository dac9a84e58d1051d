"""Broken and hostile input: each case is a valid book (checked by the EPUBCheck batch) with the
reader-visible text kept and active content gone, or one clear error."""

from __future__ import annotations

import re

import pytest
from click.testing import CliRunner

from handbill.cli import cli

from .conftest import reader_text, register

# name: (Markdown, text a reader must still see, strings that must not be in any document)
CASES = {
    "unclosed tags": ("# T\n\n<div><p>open <b>bold <i>it\n\nmore text\n", ["open bold it", "more text"], []),
    "misnested": ("<b><p>x</b></p><ul><p>para in list</p><li>ok</li>text</ul>", ["para in list", "ok"], []),
    "html entities": (
        "&nbsp;&copy; &hellip; &bogus; &#x1F600; <p>&mdash;</p>",
        ["\u00a9 \u2026 &bogus; \U0001f600", "\u2014"],
        ["&nbsp;", "&copy;"],
    ),
    "custom elements": (
        "<my-widget foo=bar>hi</my-widget> <Listing id=1>code</Listing> <T>tail",
        ["hi", "code", "tail"],
        ["<my-widget", "<listing", "<t>"],
    ),
    "script and style": (
        "<script>alert(1)</script><style>p{}</style>text<img src=x onerror=alert(1)>",
        ["text"],
        ["alert", "onerror", "<style"],
    ),
    "javascript links": (
        "[a](javascript:alert(1)) <a href='JaVaScRiPt:x'>b</a> <a href='data:text/html,x'>d</a>",
        ["a b d"],
        ["javascript", "data:"],
    ),
    "frames and objects": (
        "<iframe src='http://x'>no</iframe><object data=x>object fallback</object><embed src=y>after",
        ["object fallback", "after"],
        ["<iframe", "<object", "<embed"],
    ),
    "comments with --": ("<!-- a -- b --> text <!-- unterminated", ["text"], ["<!--"]),
    "inline svg": (
        "<svg width='10' height='10' viewBox='0 0 10 10'><circle r='4' onclick='x'/><script>x</script><text x='1' y='5'>svg text</text></svg>",
        ["svg text"],
        ["onclick", "<script"],
    ),
    "mathml": ("<math><mi>x</mi><mo>=</mo><mn>2</mn></math>", ["x=2"], []),
    "doctype and entities": (
        "<!DOCTYPE foo [<!ENTITY xxe SYSTEM 'file:///etc/passwd'><!ENTITY a '&a;&a;'>]>&xxe; &a; text",
        ["text"],
        ["root:", "<!DOCTYPE foo", "ENTITY"],
    ),
    "broken table": (
        "<table><p>stray</p><tr><td>1<td>2</tr><tbody><tr><th>h</th></tr></tbody>text</table>",
        ["stray", "1", "2", "h"],
        [],
    ),
    "nested links": (
        "<a href='#x'>outer <a href='#y'>inner</a></a><h2 id='x'>X</h2><p id='y'>Y</p>",
        ["outer inner"],
        [],
    ),
    "blocks inside paragraphs": (
        "<p>para <div>div in p</div> <h1>h1 in p</h1> <ul><li>li</li></ul></p>",
        ["div in p", "h1 in p", "li"],
        [],
    ),
    "orphan list items": (
        "<li>orphan li</li><dd>orphan dd</dd><dl><p>x</p><dd>d</dd></dl>",
        ["orphan li", "orphan dd"],
        [],
    ),
    "bad attributes": (
        "<p id='a b' style='color:red' lang='not a lang' dir='sideways' hidden aria-foo='x' width='-5'>attrs</p>",
        ["attrs"],
        ["color:red", "sideways", "aria-foo"],
    ),
    "duplicate ids and titles": ("# Same\n\n# Same\n\n<p id='x'>a</p><p id='x'>b</p>", ["a", "b"], []),
    "title with markup characters": ('# A & B < C > D "quoted"\n\ntext', ["A & B < C > D \u201cquoted\u201d"], []),
    "forms": (
        "<form action='x'><input type=text value=v><button>Press</button><select><option>o</option></select><label>lab</label></form>",
        ["Press", "lab"],
        ["<form", "<input", "<button"],
    ),
    "media": (
        "<video src='x.mp4'>video fallback</video><audio src='a.mp3'></audio>",
        ["video fallback"],
        ["<video", "<audio"],
    ),
    "whole html document": (
        "<html><head><title>t</title></head><body onload=x><p>body text</p></body></html> after",
        ["body text", "after"],
        ["onload"],
    ),
    "void elements with content": ("line<br>break<wbr>x<hr>", ["line break", "x"], []),
    "cdata": ("<![CDATA[ inside ]]> outside", ["outside"], ["CDATA"]),
}


@pytest.mark.parametrize("name", CASES)
def test_hostile_html_gives_a_valid_book_with_the_text_kept(name: str, write_book, build_book) -> None:
    markdown, visible, forbidden = CASES[name]
    epub, _ = build_book(write_book({"a.md": markdown}))
    documents = epub.body_documents()
    text = " ".join(reader_text(epub.document(document).find("{*}body")) for document in documents)
    for expected in visible:
        assert expected in text, f"{expected!r} lost from {text!r}"
    raw = b"".join(epub.files[document] for document in documents).decode()
    for unwanted in forbidden:
        assert unwanted.lower() not in raw.lower()


def test_rtl_cjk_emoji_and_combining_characters_intact(write_book, build_book) -> None:
    text = "# \u0645\u0631\u062d\u0628\u0627\n\n\u0647\u0630\u0627 \u0646\u0635. \u05e2\u05d1\u05e8\u05d9\u05ea \u4e2d\u6587 \U0001f600 e\u0301\n"
    epub, _ = build_book(write_book({"a.md": "---\nlanguage: ar\n---\n\n" + text}), language="ar")
    document = epub.document(epub.body_documents()[0])
    assert document.get("lang") == "ar" and document.get("dir") == "rtl"
    assert epub.opf.find("{*}spine").get("page-progression-direction") == "rtl"
    assert "\u05e2\u05d1\u05e8\u05d9\u05ea \u4e2d\u6587 \U0001f600 e\u0301" in reader_text(document)
    assert epub.metadata("language") == ["ar"]


def test_encodings(write_book, build_book) -> None:
    book = write_book(
        {
            "a.md": "\ufeff# BOM\r\n\r\nWith CRLF.\r\n",
            "b.md": "# UTF-16\n\nTexte fran\u00e7ais.\n".encode("utf-16"),
        }
    )
    epub, _ = build_book(book)
    assert [label for label, _ in epub.toc()] == ["BOM", "UTF-16"]
    assert "Texte fran\u00e7ais." in reader_text(epub.document(epub.body_documents()[1]))


def test_latin1_is_refused_by_name(write_book) -> None:
    book = write_book({"a.md": "caf\u00e9 cr\u00e8me\n".encode("latin-1")})
    result = CliRunner().invoke(cli, ["build", str(book), "-o", str(book / "x.epub")])
    assert result.exit_code == 1 and "a.md:1: is not UTF-8 text" in result.stderr


def test_too_deep_nesting_is_refused_not_a_traceback(write_book) -> None:
    book = write_book({"a.md": "<div>" * 5000 + "deep" + "</div>" * 5000})
    result = CliRunner().invoke(cli, ["build", str(book), "-o", str(book / "x.epub")])
    assert result.exit_code == 1 and "a.md: HTML nested more than" in result.stderr


def test_symlinks_leading_out_are_not_read(write_book, build_book, tmp_path) -> None:
    secret = tmp_path / "secret.md"
    secret.write_text("# Secret\n\nprivate words\n")
    book = write_book({"a.md": "# A\n\npublic\n"})
    (book / "b.md").symlink_to(secret)
    epub, warnings = build_book(book)
    assert all("private words" not in data.decode("utf-8", "ignore") for data in epub.files.values())
    assert any("outside the book folder" in warning for warning in warnings)


def test_language_tag_with_underscore_is_corrected(write_book, build_book) -> None:
    epub, warnings = build_book(write_book({"book.toml": 'language = "en_US"\n', "a.md": "# A\n\nx\n"}))
    assert epub.metadata("language") == ["en-US"]
    assert any("en_US" in warning for warning in warnings)


def test_a_thousand_chapters(write_book, build_book) -> None:
    files = {f"{n:04d}.md": f"# Chapter {n}\n\nText of chapter {n} & more.\n" for n in range(1, 1101)}
    epub, _ = build_book(write_book(files))
    assert len(epub.toc()) == 1100
    assert epub.toc()[-1][0] == "Chapter 1100"
    assert len(epub.ncx_labels()) == 1100


def test_mdbook_project_folder(write_book, build_book) -> None:
    book = write_book(
        {
            "book.toml": '[book]\ntitle = "The mdBook"\nauthors = ["Someone"]\nlanguage = "en"\n\n[output.html]\n',
            "src/SUMMARY.md": "# Summary\n\n[Preface](preface.md)\n\n- [One](one.md)\n",
            "src/preface.md": "# Preface\n\nHello, see [one](one.html).\n",
            "src/one.md": "# One\n\nBody.\n",
        }
    )
    epub, _ = build_book(book)
    assert epub.metadata("title") == ["The mdBook"] and epub.metadata("creator") == ["Someone"]
    assert [label for label, _ in epub.toc()] == ["Preface", "One"]


def test_file_names_with_spaces_and_accents_become_safe_names(write_book, build_book) -> None:
    from .test_book import png

    book = write_book(
        {
            "Chapitre un (brouillon).md": "# Un\n\n![Caf\u00e9](images/caf\u00e9 cr\u00e8me.png) ![b](<images/my pic.png>)\n",
            "images/caf\u00e9 cr\u00e8me.png": png(),
            "images/my pic.png": png(30, 30),
        }
    )
    epub, warnings = build_book(book)
    assert warnings == []
    names = [name for name in epub.files if name.startswith(epub.base + "images/") and "cover" not in name]
    assert len(names) == 2
    assert all(re.fullmatch(r"[A-Za-z0-9._/-]+", name) for name in epub.files)


def test_book_toml_cannot_pull_files_from_outside_the_book(write_book, tmp_path) -> None:
    from .test_book import png

    (tmp_path / "elsewhere.png").write_bytes(png(700, 1000))
    for setting in ('cover = "../elsewhere.png"', 'stylesheet = "/etc/hostname"'):
        book = write_book({"book.toml": setting + "\n", "a.md": "# A\n\nx\n"}, folder="outside")
        result = CliRunner().invoke(cli, ["build", str(book), "-o", str(tmp_path / "x.epub")])
        assert result.exit_code == 1 and "outside the book" in result.stderr
    # The same image given on the command line is the user's explicit choice.
    book = write_book({"a.md": "# A\n\nx\n"}, folder="plain")
    output = tmp_path / "cover.epub"
    result = CliRunner().invoke(
        cli, ["build", str(book), "-o", str(output), "--cover", str(tmp_path / "elsewhere.png")]
    )
    assert result.exit_code == 0, result.stderr
    register(output)


def test_deeply_nested_brackets_read_the_same(write_book, build_book) -> None:
    """Python-Markdown's link parsing is slow on thousands of nested brackets; the deep ones are
    escaped, so the reader sees exactly the brackets that were written."""
    text = "before " + "[" * 3000 + "middle" + "]" * 3000 + " [a real link](https://example.org) after\n"
    epub, warnings = build_book(write_book({"a.md": text}))
    seen = reader_text(epub.document(epub.body_documents()[0]).find("{*}body"))
    assert seen == "before " + "[" * 3000 + "middle" + "]" * 3000 + " a real link after"
    assert any("brackets nested deeper" in warning for warning in warnings)


def test_markdown_that_would_take_minutes_is_refused_with_a_clear_error(write_book, monkeypatch) -> None:
    from handbill.render import markdown as render

    monkeypatch.setattr(render, "RENDER_SECONDS", 0.3)
    book = write_book({"a.md": "# Fine\n\ntext\n", "b.md": "[a](" * 20000})
    result = CliRunner().invoke(cli, ["build", str(book), "-o", str(book / "x.epub")])
    assert result.exit_code == 1
    assert "b.md: Markdown too slow to render" in result.stderr and not (book / "x.epub").exists()

"""User stylesheets: parsed with a real CSS parser and written back with only what EPUB allows.

Each hostile stylesheet builds a book (validated by the EPUBCheck batch: CSS-001 forbidden
properties, CSS-004 charset, CSS-008 syntax, CSS-019 empty @font-face), the bad part gone with
a warning naming the file and line, the good rules around it kept.
"""

from __future__ import annotations

import logging
import random
from pathlib import Path

import pytest
import tinycss2
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from handbill.cli import cli
from handbill.styles import FORBIDDEN_PROPERTIES, _Sheet

from .test_book import png

KEPT = "q {\n  text-indent: 2em;\n}"
"""A good rule every case ends with: dropping something bad must not take it along."""

# name: (stylesheet, text that must be gone, what the warning says)
HOSTILE = {
    "direction": ("p { direction: rtl; color: red }", "direction", "'direction' is not allowed"),
    "unicode-bidi": ("p { unicode-bidi: bidi-override; color: red }", "unicode-bidi", "'unicode-bidi' is not allowed"),
    "direction in @media": ("@media screen { p { DIRECTION: rtl } }", "DIRECTION", "'DIRECTION' is not allowed"),
    "direction in @page": ("@page { direction: rtl; margin: 1em }", "direction", "'direction' is not allowed"),
    "@charset other than UTF-8": ('@charset "iso-8859-1";\np { color: red }', "@charset", '@charset "iso-8859-1"'),
    "@charset not first": ('p { color: red }\n@charset "windows-1252";', "@charset", '@charset "windows-1252"'),
    "value missing": ("p { color: ; margin: 0 }", "color", "'color' has no value"),
    "name missing": ("p { : red; margin: 0 }", ": red", "CSS syntax error"),
    "two names": ("p { col or: red; margin: 0 }", "col or", "CSS syntax error"),
    "block in a value": ("p { --x: { a: b }; margin: 0 }", "--x", "CSS syntax error in the value of '--x'"),
    "at-keyword in a value": ("p { color: @red; margin: 0 }", "@red", "CSS syntax error in the value"),
    "unclosed string": ("p { content: 'a\n; margin: 0 }", "content", "CSS syntax error in the value of 'content'"),
    "bad url": ("p { background: url(a b); margin: 0 }", "background", "CSS syntax error in the value"),
    "url() empty": ("p { background: url(); margin: 0 }", "background", "url() is not inside the book"),
    "stray closing brace": ("} p { color: red }", "} p", "invalid selector '} p'"),
    "double combinator": ("p >> em { color: red }", "p >> em", "invalid selector 'p >> em'"),
    "number as selector": ("12 { color: red }", "12 {", "invalid selector '12'"),
    "string as selector": ('"p" { color: red }', '"p" {', "invalid selector"),
    "trailing comma": ("p, { color: red }", "p,", "invalid selector 'p,'"),
    "nested rule": ("p { margin: 0; em { color: red } }", "em {", "a rule nested inside another"),
    "nested @media": ("p { margin: 0; @media print { color: red } }", "print", "a rule nested inside another"),
    "margin box in @page": ("@page { margin: 1em; @top-center { content: 'x' } }", "top-center", "nested"),
    "unknown at-rule": ("@font-feature-values Serif { @swash { x: 1 } }", "font-feature-values", "not supported"),
    "@media without a block": ("@media screen;", "@media", "has no { } block"),
    "@namespace with a block": (
        "@namespace s url(http://www.w3.org/2000/svg) { p { color: red } }",
        "@namespace",
        "takes no { } block",
    ),
    "empty @font-face": ("@font-face { }", "@font-face", "@font-face without a font"),
    "@font-face without src": ("@font-face { font-family: X }", "@font-face", "@font-face without a font"),
    "@font-face with a remote font only": (
        "@font-face { font-family: X; src: url(https://example.org/x.woff) }",
        "@font-face",
        "not inside the book",
    ),
    "@import": ("@import url(other.css);", "@import", "@import is not followed"),
    "lone backslash": ("p { margin: 0 \\\n}", "\\", "CSS syntax error in the value"),
    "keyframe that is no keyframe": ("@keyframes k { p { color: red } 50% { color: red } }", "p {", "invalid keyframe"),
    "deep nesting": ("p { x: " + "(" * 5000 + ")" * 5000 + " }", "x:", "CSS syntax error in the value of 'x'"),
    "deep @media": ("@media a {" * 60 + "p { x: y }" + "}" * 60, "x: y", "nested too deeply"),
}


def stylesheet_book(write_book, css: str | bytes, extra: dict | None = None) -> Path:
    sheet = css if isinstance(css, bytes) else (css + "\n" + KEPT + "\n").encode()
    return write_book(
        {"book.toml": 'stylesheet = "css/a.css"\n', "css/a.css": sheet, "a.md": "# A\n\ntext\n", **(extra or {})}
    )


def built_css(epub) -> str:
    return next(data for name, data in epub.files.items() if name.endswith("01-a.css")).decode("utf-8")


@pytest.mark.parametrize("name", HOSTILE)
def test_what_epub_forbids_is_dropped_with_a_warning_naming_the_file(name: str, write_book, build_book) -> None:
    css, gone, warning = HOSTILE[name]
    epub, warnings = build_book(stylesheet_book(write_book, css))
    built = built_css(epub)
    assert gone not in built
    assert built.rstrip().endswith(KEPT)  # the good rule after the bad one survives
    assert any(warning in line and "css/a.css:" in line for line in warnings), warnings


def test_good_css_is_kept_whole(write_book, build_book) -> None:
    css = (
        '@charset "UTF-8";\n@namespace epub "http://www.idpf.org/2007/ops";\n'
        "/* a comment */\n@media screen and (min-width: 30em) { p:not(.a) > em + b ~ i { margin: 0 1em } }\n"
        "@supports (display: grid) { .g { display: grid } }\n@page :first { margin-top: 3em }\n"
        "@keyframes k { from { opacity: 0 } 50%, to { opacity: 1 } }\n"
        'a[href^="http"]::after, *|p, #id.c[d] { content: "\\2197"; color: red !important }\n'
        "p:nth-child(2n+1) { font: 12px/1.5 serif; width: calc(100% - 2em); --gap: 1em; margin: var(--gap) }\n"
    )
    epub, warnings = build_book(stylesheet_book(write_book, css))
    assert warnings == []
    built = built_css(epub)
    for kept in (
        '@namespace epub "http://www.idpf.org/2007/ops";',
        "@media screen and (min-width: 30em)",
        "p:not(.a) > em + b ~ i {\n    margin: 0 1em;",
        "@supports (display: grid)",
        "@page :first {\n  margin-top: 3em;",
        "50%, to {",
        'a[href^="http"]::after, *|p, #id.c[d] {',
        "color: red !important;",
        "width: calc(100% - 2em);",
        "--gap: 1em;",
    ):
        assert kept in built
    assert "comment" not in built and "@charset" not in built  # UTF-8 is the default


def test_stylesheet_in_another_encoding_named_by_charset_is_converted(write_book, build_book) -> None:
    css = '@charset "iso-8859-1";\np::before { content: "caf\u00e9" }\n'.encode("latin-1")
    epub, warnings = build_book(stylesheet_book(write_book, css))
    assert 'content: "caf\u00e9"' in built_css(epub)
    assert any('@charset "iso-8859-1" is dropped' in line and "converted to UTF-8" in line for line in warnings)


def test_utf16_stylesheet_is_written_as_utf8(write_book, build_book) -> None:
    css = 'p::before { content: "\u00e9\u4e2d" }\n'.encode("utf-16")
    epub, warnings = build_book(stylesheet_book(write_book, css))
    assert 'content: "\u00e9\u4e2d"' in built_css(epub) and warnings == []


def test_stylesheet_in_an_unknown_encoding_is_one_clear_error(write_book, tmp_path: Path) -> None:
    book = stylesheet_book(write_book, b'@charset "no-such-thing";\np { content: "caf\xe9" }\n')
    output = tmp_path / "out" / "a.epub"
    result = CliRunner().invoke(cli, ["build", str(book), "-o", str(output)])
    assert result.exit_code == 1 and not output.exists()
    assert result.stderr.count("\n") == 1 and "a.css: is not UTF-8 text" in result.stderr


def test_fonts_and_images_inside_the_book_are_embedded_and_a_damaged_image_is_not(write_book, build_book) -> None:
    font = Path(__file__).resolve().parent.parent / "src" / "handbill" / "data" / "fonts" / "DejaVuSans.ttf"
    css = (
        "@font-face { font-family: D; src: url('../f/d.ttf') format('truetype'), url(https://x.org/d.woff) }\n"
        'h1 { background: url("../good.png") }\nh2 { background: url(../bad.png) }\n'
        "h3 { background: image-set(url(../good.png) 1x) }\n"
    )
    book = stylesheet_book(
        write_book, css, {"f/d.ttf": font.read_bytes(), "good.png": png(), "bad.png": png()[:40] + b"junk"}
    )
    epub, warnings = build_book(book)
    built = built_css(epub)
    images = [item.get("href") for item in epub.manifest.values() if item.get("href").startswith("images/css-")]
    fonts = [item.get("href") for item in epub.manifest.values() if item.get("media-type") == "font/ttf"]
    assert len(images) == 1 and len(fonts) == 1
    assert f'url("../{images[0]}")' in built and f'image-set(url("../{images[0]}") 1x)' in built
    # Of the font's sources, the remote one goes and the one inside the book stays.
    assert f'src: url("../{fonts[0]}") format("truetype");' in built and "x.org" not in built
    assert "bad.png" not in built and "h2" in built
    assert any("bad.png" in line and "css/a.css:3" in line for line in warnings)


CSS_ALPHABET = st.sampled_from(
    list("{}();:,.#@!*>+~[]=\"'\\/ \n") + ["p", "a", "url(", "color", "red", "@media", "@font-face", "direction", "1"]
)


@settings(max_examples=150, deadline=None)
@given(st.lists(CSS_ALPHABET, max_size=60).map("".join))
def test_any_text_rewrites_to_a_stylesheet_that_needs_no_more_rewriting(tmp_path_factory, text: str) -> None:
    """Whatever goes in, what comes out is parsed again without a single warning and unchanged:
    nothing EPUB forbids or EPUBCheck's parser rejects survives a first pass."""
    folder = tmp_path_factory.mktemp("css")
    logger = logging.getLogger("handbill")
    first = _Sheet(folder / "a.css", "utf-8", [folder], {}, []).rewrite(text)
    records: list[logging.LogRecord] = []
    handler = logging.Handler()
    handler.emit = records.append  # type: ignore[method-assign]
    logger.addHandler(handler)
    try:
        second = _Sheet(folder / "a.css", "utf-8", [folder], {}, []).rewrite(first)
    finally:
        logger.removeHandler(handler)
    assert second == first
    assert [record.getMessage() for record in records] == []
    for rule in tinycss2.parse_stylesheet(first, skip_comments=True, skip_whitespace=True):
        assert rule.type != "error"
        assert not any(
            node.type == "declaration" and node.lower_name in FORBIDDEN_PROPERTIES
            for node in tinycss2.parse_blocks_contents(rule.content or [], skip_whitespace=True)
        )


def test_random_stylesheets_rewritten_pass_epubcheck(write_book, build_book) -> None:
    """Thirty stylesheets of random CSS-ish text (a fixed sample) in one book: whatever survives
    the rewriting must be what EPUBCheck's CSS parser accepts (the batch validates the book)."""
    pieces = [*"{}();:,.#@!*>+~[]=\"'\\/ \n%-|&^$", "p", "a", "url(", "color", "red", "@media", "@font-face"]
    pieces += ["src", "@page", "@keyframes", "@namespace", "@layer", "1", "2n", "from", "!important", "--x", "\u00e9"]
    pieces += ["\\31 ", "p { color: red }", "@media screen {", "a:hover", "[x=", "::before", "direction: rtl;"]
    chooser = random.Random(20261127)
    sheets = {f"css/{number:02d}.css": "".join(chooser.choices(pieces, k=40)) for number in range(30)}
    names = ", ".join(f'"{name}"' for name in sheets)
    book = write_book({"book.toml": f"stylesheet = [{names}]\n", "a.md": "# A\n\ntext\n", **sheets})
    epub, _ = build_book(book)
    assert sum(name.startswith("EPUB/styles/") for name in epub.files) == 31

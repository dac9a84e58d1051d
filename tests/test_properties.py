"""Generated Markdown and raw HTML: every build is a clean book or one clean error.

Each generated book is registered for the session's EPUBCheck batch (test_zz_epubcheck.py),
so "clean" means 0 fatal, 0 errors, 0 warnings, not merely "no exception".
"""

from __future__ import annotations

import tempfile
import zipfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lxml import etree

from handbill.build import build
from handbill.config import load_config
from handbill.errors import HandbillError

from .conftest import register

TAGS = [
    "p",
    "div",
    "span",
    "b",
    "i",
    "em",
    "strong",
    "a",
    "ul",
    "ol",
    "li",
    "dl",
    "dt",
    "dd",
    "table",
    "tr",
    "td",
    "th",
    "tbody",
    "thead",
    "caption",
    "h1",
    "h2",
    "h3",
    "blockquote",
    "pre",
    "code",
    "br",
    "hr",
    "img",
    "sup",
    "sub",
    "section",
    "aside",
    "figure",
    "figcaption",
    "details",
    "summary",
    "script",
    "style",
    "iframe",
    "object",
    "video",
    "form",
    "input",
    "button",
    "font",
    "center",
    "svg",
    "circle",
    "math",
    "mi",
    "custom-tag",
    "T",
    "Listing",
    "ruby",
    "rt",
    "q",
    "wbr",
    "main",
    "header",
    "footer",
    "nav",
    "label",
    "select",
    "option",
    "textarea",
    "noscript",
]
ATTRIBUTES = [
    'id="x"',
    'id="x y"',
    'class="c"',
    'style="color:red"',
    'onclick="evil()"',
    'href="#x"',
    'href="javascript:evil()"',
    'href="other.md#h"',
    'href="https://example.org/?a=1&b=2"',
    'src="missing.png"',
    'src="https://example.org/i.png"',
    'alt="alt text"',
    'lang="fr"',
    'lang="bad lang"',
    'dir="rtl"',
    'colspan="2"',
    'colspan="-1"',
    'width="10"',
    "hidden",
    'epub:type="note"',
    'xml:lang="de"',
    'data-x="1"',
    'aria-label="l"',
    'viewBox="0 0 1 1"',
    'title="a &amp; b"',
    'x=""',
    'start="3"',
    'value="x"',
]
TEXT = st.lists(
    st.sampled_from(
        list("abc xyz  .,;:!?'\"-*_`#[]()<>&\\|~\n")
        + [
            "&nbsp;",
            "&amp;",
            "&bogus;",
            "&#0;",
            "&#12;",
            "&#xFFFE;",
            "&#x000000000c;",
            "&#x1F600;",
            "\x0c",
            "\x00",
            "\u200f",
            "\u0301",
            "é",
            "中",
            "ع",
            "😀",
            "\ufeff",
            "\r\n",
            "\t",
            "--",
            "-->",
            "<!--",
            "]]>",
            "<![CDATA[",
        ]
    ),
    max_size=30,
).map("".join)


@st.composite
def raw_html(draw: st.DrawFn, depth: int = 0) -> str:
    tag = draw(st.sampled_from(TAGS))
    attributes = " ".join(draw(st.lists(st.sampled_from(ATTRIBUTES), max_size=3)))
    opening = f"<{tag} {attributes}>" if attributes else f"<{tag}>"
    inner = draw(TEXT)
    if depth < 3 and draw(st.booleans()):
        inner += "".join(draw(st.lists(raw_html(depth + 1), max_size=3)))
    closing = draw(st.sampled_from([f"</{tag}>", "", f"</{tag.upper()}>", "</p>", "</div>"]))
    return opening + inner + closing + draw(TEXT)


BLOCKS = st.one_of(
    TEXT,
    TEXT.map(lambda text: "# " + text),
    TEXT.map(lambda text: "## " + text),
    TEXT.map(lambda text: "### " + text),
    TEXT.map(lambda text: "- " + text + "\n- item"),
    TEXT.map(lambda text: "1. " + text),
    TEXT.map(lambda text: "> " + text),
    TEXT.map(lambda text: "```\n" + text + "\n```"),
    TEXT.map(lambda text: "| a | b |\n|---|---|\n| " + text + " | x |"),
    TEXT.map(lambda text: text + "[^n]\n\n[^n]: note " + text),
    TEXT.map(lambda text: "[link " + text + "](#" + text.strip()[:5] + ")"),
    TEXT.map(lambda text: "![" + text + "](img.png)"),
    raw_html(),
)
DOCUMENTS = st.lists(BLOCKS, min_size=1, max_size=8).map("\n\n".join)


def _build(files: dict[str, str]) -> None:
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder) / "book"
        root.mkdir()
        for name, text in files.items():
            (root / name).write_text(text, encoding="utf-8", errors="surrogatepass")
        output = Path(folder) / "book.epub"
        try:
            result = build(load_config(root), output)
        except HandbillError as error:
            assert "\n" not in error.format_message()
            assert not output.exists()
            return
        with zipfile.ZipFile(result.path) as archive:
            for document in result.book.documents:
                etree.fromstring(archive.read(f"EPUB/{document.file_name}"))  # well-formed, whatever went in
        register(result.path, files)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(DOCUMENTS)
def test_any_single_document_builds_cleanly_or_fails_cleanly(text: str) -> None:
    _build({"chapter.md": text})


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(DOCUMENTS, min_size=2, max_size=4))
def test_any_multi_file_book_builds_cleanly_or_fails_cleanly(texts: list[str]) -> None:
    files = {f"{number:02d}-part.md": text for number, text in enumerate(texts)}
    files["00-part.md"] = "# Start\n\n[jump](01-part.md#h) [other](other.md#h)\n"
    _build(files)

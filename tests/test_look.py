"""What readers see (issue 11): the torture book (tests/data/torture/) laid out by Chromium at a
phone's page width, as the reading engines built on it lay it out.

One Chromium run loads every content document of the built book into a 390 px wide frame and
measures every element (tests/look_measure.js): its box, its text's extent and its computed
style. The tests find elements with lxml in the same document order and check the rules behind
each fix: nothing wider than the page (long URLs and words, code, a nine-column table, images),
right-to-left text aligned right with its list numbers on the page, links underlined, headings
told apart, no indent where none belongs, a light backing behind transparent images. Skipped
when Chromium is not installed (set HANDBILL_CHROMIUM to its path if it is not on PATH).
"""

from __future__ import annotations

import functools
import html
import io
import json
import os
import re
import shutil
import subprocess
import threading
import zipfile
from collections.abc import Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from lxml import etree

from handbill.assemble.documents import count_words, counts_characters
from handbill.build import build
from handbill.cli import cli
from handbill.config import load_config
from handbill.images import check_image

from .conftest import NS, REPO, Epub, reader_text, register
from .test_accessibility import ACE, ace_report

TORTURE = REPO / "tests" / "data" / "torture"
STYLESHEET = REPO / "src" / "handbill" / "data" / "handbill.css"
MEASURE_SCRIPT = Path(__file__).with_name("look_measure.js")
CHROMIUM = (
    os.environ.get("HANDBILL_CHROMIUM")
    or shutil.which("chromium")
    or shutil.which("chromium-browser")
    or shutil.which("google-chrome")
)
PHONE = (390, 844)
"""The page of a phone held upright, in CSS pixels (the size the reading engines were tried at)."""
SLACK = 0.5
"""Sub-pixel rounding allowed in a comparison of edges."""
XHTML = "{http://www.w3.org/1999/xhtml}"


@pytest.fixture(scope="module")
def torture(tmp_path_factory: pytest.TempPathFactory) -> Epub:
    output = tmp_path_factory.mktemp("torture") / "torture.epub"
    result = build(load_config(TORTURE), output)
    register(result.path, "the torture book, tests/data/torture")
    return Epub(result.path)


class Layout:
    """One document as Chromium laid it out: lxml elements mapped to their measurements."""

    def __init__(self, epub: Epub, name: str, measured: dict[str, Any]):
        self.name = name
        self.root = epub.document(name)
        self.body = self.root.find(f"{XHTML}body")
        self.width: int = measured["width"]
        self.scroll_width: int = measured["scrollWidth"]
        elements = list(self.body.iter(etree.Element))[1:]  # querySelectorAll("*") order, body left out
        assert [etree.QName(e).localname for e in elements] == [m["tag"] for m in measured["elements"]]
        self.measured = dict(zip(elements, measured["elements"], strict=True))

    def find(self, path: str) -> etree._Element:
        found = self.body.find(path, {"x": NS["x"]})
        assert found is not None, f"{path} not in {self.name}"
        return found

    def findall(self, path: str) -> list[etree._Element]:
        return self.body.findall(path, {"x": NS["x"]})

    def __getitem__(self, element: etree._Element) -> dict[str, Any]:
        return self.measured[element]

    def style(self, element: etree._Element, name: str) -> str:
        return self.measured[element]["style"][name]

    def right(self, element: etree._Element) -> float:
        return self.measured[element]["box"][1]

    def left(self, element: etree._Element) -> float:
        return self.measured[element]["box"][0]


@pytest.fixture(scope="module")
def phone(torture: Epub, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Layout]:
    """Every spine document of the torture book laid out at 390 px, by one Chromium run."""
    if not CHROMIUM:
        pytest.skip("Chromium is not installed (set HANDBILL_CHROMIUM to run these tests)")
    folder = tmp_path_factory.mktemp("torture-unzipped")
    with zipfile.ZipFile(torture.path) as archive:
        archive.extractall(folder)
    package = folder / torture.base
    documents = [name.removeprefix(torture.base) for name in torture.spine]
    width, height = PHONE
    (package / "look_measure.js").write_bytes(MEASURE_SCRIPT.read_bytes())
    (package / "look.html").write_text(
        '<!DOCTYPE html><html><head><meta charset="utf-8"><script src="look_measure.js"></script></head>'
        f"<body style='margin:0'><script>run({json.dumps(documents)}, {width}, {height});</script></body></html>",
        encoding="utf-8",
    )
    with _serve(package) as address:
        measured = _measure_in_chromium(f"{address}/look.html", tmp_path_factory.mktemp("chromium-profile"))
    missing = [name for name in documents if name not in measured or "error" in measured[name]]
    assert not missing, f"not measured: {missing} {measured}"
    return {name: Layout(torture, torture.base + name, measured[name]) for name in documents}


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 (the base class's name)
        pass


class _serve:
    """A folder served on 127.0.0.1 (frames of one origin can be measured by the page)."""

    def __init__(self, folder: Path):
        handler = functools.partial(_QuietHandler, directory=str(folder))
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), handler)

    def __enter__(self) -> str:
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


def _measure_in_chromium(url: str, profile: Path) -> dict[str, Any]:
    assert CHROMIUM is not None
    completed = subprocess.run(
        [
            CHROMIUM,
            "--headless=new",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            "--hide-scrollbars",
            f"--user-data-dir={profile}",
            "--virtual-time-budget=15000",
            "--window-size=800,900",
            "--dump-dom",
            url,
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    found = re.search(r'<pre id="measurements">(.*?)</pre>', completed.stdout, re.DOTALL)
    assert found, f"Chromium gave no measurements (exit {completed.returncode}): {completed.stderr[-1500:]}"
    return json.loads(html.unescape(found.group(1)))


def _document_with(phone: dict[str, Layout], path: str) -> Layout:
    return next(layout for layout in phone.values() if layout.body.find(path, {"x": NS["x"]}) is not None)


# Nothing wider than the page


def test_no_document_is_wider_than_a_phone_page(phone: dict[str, Layout]) -> None:
    for layout in phone.values():
        assert layout.scroll_width <= layout.width, layout.name
        wide = [
            (etree.QName(element).localname, measured["box"])
            for element, measured in layout.measured.items()
            if measured["box"][1] > layout.width + SLACK or measured["box"][0] < -SLACK
        ]
        assert wide == [], f"{layout.name}: elements past the page's edge"


def test_long_urls_and_words_wrap(phone: dict[str, Layout]) -> None:
    layout = _document_with(phone, ".//x:p[@id='long-url']")
    bare_url = next(p for p in layout.findall(".//x:p") if (p.text or "").startswith("https://"))
    for paragraph in (layout.find(".//x:p[@id='long-url']"), layout.find(".//x:p[@id='long-word']"), bare_url):
        measured = layout[paragraph]
        assert measured["scrollWidth"] <= PHONE[0]
        assert measured["scrollWidth"] <= measured["clientWidth"]
        assert measured["text"][1] <= layout.right(paragraph) + SLACK


def test_code_wraps_inside_the_page(phone: dict[str, Layout]) -> None:
    layout = _document_with(phone, ".//x:pre")
    block = layout.find(".//x:pre")
    assert layout.style(block, "whiteSpace") == "pre-wrap"
    assert layout[block]["scrollWidth"] <= layout[block]["clientWidth"]
    inline = next(code for code in layout.findall(".//x:p/x:code"))
    assert layout[inline]["text"][1] <= layout.width


def test_a_nine_column_table_fits_the_page(phone: dict[str, Layout]) -> None:
    layout = _document_with(phone, ".//x:table")
    narrow, wide = layout.findall(".//x:table")
    assert len(wide.find(".//x:tr", {"x": NS["x"]})) == 9
    assert layout.right(wide) <= layout.width
    for cell in wide.iter(f"{XHTML}td", f"{XHTML}th"):
        assert layout[cell]["scrollWidth"] <= layout[cell]["clientWidth"] + 1, reader_text(cell)
        assert layout[cell]["text"][1] <= layout.right(cell)
    # The narrow table keeps its natural width: it is not stretched across the page.
    assert layout.right(narrow) - layout.left(narrow) < layout.width / 2


# Images


def test_an_image_paragraph_is_not_indented_and_the_image_stays_in_the_column(phone: dict[str, Layout]) -> None:
    layout = _document_with(phone, ".//x:figure/x:img")  # an image alone in its paragraph is a figure
    images = layout.findall(".//x:img")
    assert len(images) == 3
    for image in images:
        paragraph = image.getparent()
        assert paragraph.tag == f"{XHTML}figure"
        assert paragraph.getprevious().tag == f"{XHTML}p"  # it would inherit the `p + p` indent
        assert layout.style(paragraph, "textIndent") == "0px"
        assert layout.left(image) >= layout.left(paragraph) - SLACK
        assert layout.right(image) <= layout.right(paragraph) + SLACK
        assert layout.right(image) - layout.left(image) > 100  # it was drawn, not left out
    after_image = layout.findall(".//x:p")[-1]  # the last paragraph follows one that holds an image
    assert layout.style(after_image, "textIndent") == "0px"


def test_a_transparent_image_gets_a_light_backing_an_opaque_one_none(phone: dict[str, Layout]) -> None:
    layout = _document_with(phone, ".//x:figure/x:img")
    backings = {image.get("src"): layout.style(image, "backgroundColor") for image in layout.findall(".//x:img")}
    classes = {image.get("src"): image.get("class") for image in layout.findall(".//x:img")}
    assert backings == {
        "images/001-chart.png": "rgba(0, 0, 0, 0)",  # an opaque PNG
        "images/002-photo.jpg": "rgba(0, 0, 0, 0)",
        "images/003-formula.png": "rgb(255, 255, 255)",  # black drawn on transparency
    }
    assert classes == {
        "images/001-chart.png": None,
        "images/002-photo.jpg": None,
        "images/003-formula.png": "transparent",
    }


# Right to left


def test_right_to_left_text_is_aligned_right(phone: dict[str, Layout]) -> None:
    layout = _document_with(phone, ".//x:section[@dir='rtl']")
    for path in (".//x:h1", ".//x:p", ".//x:blockquote/x:p"):
        block = layout.find(path)
        assert layout.style(block, "direction") == "rtl"
        assert layout.style(block, "textAlign") in ("start", "right")
        text = layout[block]["text"]
        assert abs(text[1] - layout.right(block)) <= 1, path  # the text ends at the right edge
    short = layout.find(".//x:blockquote/x:p")
    assert layout[short]["text"][0] > layout.left(short) + 100  # a short line leaves the left side free


def test_right_to_left_lists_have_their_numbers_on_the_page(phone: dict[str, Layout]) -> None:
    layout = _document_with(phone, ".//x:section[@dir='rtl']")
    room = 16  # a list number ("2." or "•") is drawn in the space on the item's start side
    for item in layout.findall(".//x:li"):
        list_holder = item.getparent()
        assert layout.style(list_holder, "paddingLeft") == "0px"
        assert layout.style(list_holder, "paddingRight") == "24px"  # 1.5em on the start side
        assert layout.right(item) <= layout.right(list_holder.getparent()) - room
    term = layout.find(".//x:dd")
    assert layout.style(term, "marginRight") == "24px" and layout.style(term, "marginLeft") == "0px"


def test_left_to_right_lists_keep_their_indent(phone: dict[str, Layout]) -> None:
    layout = _document_with(phone, ".//x:dl")
    for item in layout.findall(".//x:ol") + layout.findall(".//x:ul"):
        assert layout.style(item, "paddingLeft") == "24px" and layout.style(item, "paddingRight") == "0px"


# Links, headings, indents


def test_links_in_text_are_underlined_and_note_references_are_compact(phone: dict[str, Layout]) -> None:
    layout = _document_with(phone, ".//x:a[@class='noteref']")
    link = layout.find(".//x:p/x:a[@href='https://example.org/handbill']")
    assert layout.style(link, "textDecorationLine") == "underline"
    for reference in layout.findall(".//x:a[@class='noteref']"):
        assert layout.style(reference, "textDecorationLine") == "none"
        superscript = reference.getparent()
        assert superscript.tag == f"{XHTML}sup" and layout.style(superscript, "verticalAlign") == "super"
    arabic = _document_with(phone, ".//x:section[@dir='rtl']")
    assert arabic.style(arabic.find(".//x:a"), "textDecorationLine") == "underline"


def test_every_heading_level_looks_different(phone: dict[str, Layout]) -> None:
    layout = _document_with(phone, ".//x:h6")
    looks = {}
    for level in ("h1", "h2", "h3", "h4", "h5", "h6", "p"):
        element = layout.find(f".//x:{level}")
        looks[level] = tuple(layout.style(element, name) for name in ("fontSize", "fontWeight", "fontStyle"))
    assert len(set(looks.values())) == len(looks), looks


def test_paragraphs_after_lists_and_definitions_are_not_indented(phone: dict[str, Layout]) -> None:
    layout = _document_with(phone, ".//x:dl")
    after_list = layout.find(".//x:dl").getnext()
    assert after_list.tag == f"{XHTML}p"
    assert layout.style(after_list, "textIndent") == "0px"
    assert layout[after_list]["text"][0] == pytest.approx(layout.left(after_list), abs=1)
    # while a paragraph after a paragraph is indented (the test can tell the two apart)
    text_layout = _document_with(phone, ".//x:p[@id='long-url']")
    following = text_layout.find(".//x:p[@id='long-url']")
    assert text_layout.style(following, "textIndent") != "0px"


# Footnotes (markup: the engines show the aside as it is)


def test_a_footnote_number_opens_its_first_paragraph(torture: Epub) -> None:
    name = next(name for name in torture.body_documents() if b"doc-footnote" in torture.files[name])
    asides = torture.document(name).findall(".//x:aside", NS)
    assert len(asides) == 2
    for number, aside in enumerate(asides, 1):
        paragraphs = aside.findall("x:p", NS)
        first = reader_text(paragraphs[0])
        assert first.startswith(f"{number}. The "), first
        assert paragraphs[0][0].get("role") == "doc-backlink"
        assert paragraphs[0][0].get("href") == f"#fnref-{('first', 'second')[number - 1]}"
    assert [reader_text(p) for p in asides[1].findall("x:p", NS)] == [
        "2. The second note has two paragraphs.",
        "Here is its second paragraph.",
    ]


# Counting words


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Three plain words", (3, 0)),
        ("吾輩は猫である。名前はまだ無い。", (0, 14)),
        ("EPUB の本です", (1, 4)),
        ("나는 학교에 간다", (0, 7)),
        ("「ニャー」", (0, 3)),
        ("", (0, 0)),
    ],
)
def test_count_words(text: str, expected: tuple[int, int]) -> None:
    assert count_words(text) == expected
    assert count_words(text, by_character=False) == (len(text.split()), 0)


def test_only_chinese_japanese_and_korean_are_counted_by_character() -> None:
    assert [counts_characters(tag) for tag in ("ja", "zh-Hant-TW", "ko-KR", "yue", "en", "ar", "ru")] == [
        True,
        True,
        True,
        True,
        False,
        False,
        False,
    ]


def test_the_summary_counts_a_japanese_book_by_characters(write_book, tmp_path: Path) -> None:
    japanese = "---\nlanguage: ja\n---\n# 日本語の章\n\n吾輩は猫である。名前はまだ無い。\n"
    book = write_book({"01.md": japanese})
    result = CliRunner().invoke(cli, ["build", str(book), "-o", str(tmp_path / "ja.epub")], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    register(tmp_path / "ja.epub")
    assert "1 chapter, 19 CJK characters," in result.output  # 5 in the heading, 14 in the text
    # In an English book, the Japanese chapter (its front matter says so) is counted by character.
    mixed = write_book({"01.md": "# One\n\nThree English words.\n", "02.md": japanese}, "mixed")
    result = CliRunner().invoke(cli, ["build", str(mixed), "-o", str(tmp_path / "mixed.epub")], catch_exceptions=False)
    register(tmp_path / "mixed.epub")
    assert "2 chapters, 4 words, 19 CJK characters,"  # "One" and three words in result.output


def test_the_summary_says_one_chapter_not_one_chapters(write_book, tmp_path: Path) -> None:
    book = write_book({"01.md": "# One\n\nA single word count.\n"})
    result = CliRunner().invoke(cli, ["build", str(book), "-o", str(tmp_path / "one.epub")], catch_exceptions=False)
    register(tmp_path / "one.epub")
    assert "1 chapter, 5 words," in result.output


# The stylesheet, read as text: rules every engine depends on, checked without a browser


def _rules(css: str) -> Iterator[tuple[str, list[tuple[str, str]]]]:
    css = re.sub(r"/\*.*?\*/", "", css, flags=re.DOTALL)
    for selector, body in re.findall(r"([^{}]+)\{([^{}]*)\}", css):
        declarations = [tuple(part.strip() for part in item.split(":", 1)) for item in body.split(";") if ":" in item]
        yield " ".join(selector.split()), declarations  # type: ignore[misc]


def test_the_stylesheet_has_no_left_or_right_that_a_logical_property_does_not_override() -> None:
    """A physical left/right indent or alignment overrides `dir="rtl"`. An indent may be given
    as `margin-left` for engines without logical properties only when the same rule then sets
    both inline sides; a different value on the two sides through a shorthand, or a physical
    right-hand value, is refused (Calibre sorts properties by name: `margin-right` would come
    after `margin-inline-start` and win in right-to-left text)."""
    for selector, declarations in _rules(STYLESHEET.read_text(encoding="utf-8")):
        names = [name for name, _ in declarations]
        values = dict(declarations)
        assert values.get("text-align") not in ("left", "right"), selector
        assert values.get("float") not in ("left", "right"), selector
        for index, name in enumerate(names):
            physical = re.fullmatch(r"(margin|padding)(-left|-right)?", name)
            if not physical:
                continue
            kind, side = physical.groups()
            if side is None:
                parts = values[name].split()
                assert len(parts) < 4 or parts[1] == parts[3], (selector, name)
                continue
            assert side == "-left", (selector, name)
            later = names[index + 1 :]
            assert f"{kind}-inline-start" in later and f"{kind}-inline-end" in later, (selector, name)


def test_the_stylesheet_breaks_long_words_and_keeps_links_visible() -> None:
    rules = dict(_rules(STYLESHEET.read_text(encoding="utf-8")))
    assert ("overflow-wrap", "break-word") in rules["body"]
    assert ("text-decoration", "underline") in rules["a"]
    assert all(value != "none" for name, value in rules["a"] if name == "text-decoration")


# DAISY Ace on the torture book


@pytest.mark.skipif(not (ACE.exists() and CHROMIUM), reason="DAISY Ace or Chromium not installed")
def test_the_torture_book_has_no_accessibility_violations(torture: Epub, tmp_path: Path) -> None:
    _, violations = ace_report(torture.path, tmp_path)
    assert violations == []


# Which images are marked (markup, no browser)


def _image(mode: str, kind: str = "PNG", **options: Any) -> bytes:
    from PIL import Image

    picture = Image.new(mode, (24, 16))
    buffer = io.BytesIO()
    picture.save(buffer, kind, **options)
    return buffer.getvalue()


@pytest.mark.parametrize(
    ("mode", "kind", "options", "transparent"),
    [
        ("RGB", "PNG", {}, False),
        ("L", "PNG", {}, False),
        ("RGBA", "PNG", {}, True),  # an alpha channel, checked without Pillow
        ("LA", "PNG", {}, True),
        ("P", "PNG", {"transparency": 0}, True),  # a tRNS chunk
        ("RGBA", "PNG", {"interlace": 1}, True),  # interlaced: Pillow decodes it
        ("RGB", "PNG", {"interlace": 1}, False),
        ("RGB", "JPEG", {}, False),
        ("P", "GIF", {"transparency": 0}, True),
        ("P", "GIF", {}, False),
        ("RGBA", "WEBP", {}, True),
        ("RGB", "WEBP", {}, False),
    ],
)
def test_images_with_transparency_are_known(mode: str, kind: str, options: dict[str, Any], transparent: bool) -> None:
    assert check_image(_image(mode, kind, **options)).transparent is transparent


def test_only_paragraphs_of_images_are_image_paragraphs(write_book, build_book) -> None:
    book = write_book(
        {
            "01.md": "# Images\n\nText.\n\n![alone](a.png)\n\n[![linked](a.png)](https://example.org)\n\n"
            "![one](a.png) ![two](b.png)\n\nText beside ![an inline image](a.png) in a sentence.\n\n"
            "[A link with ![an icon](a.png) inside](https://example.org)\n",
            "a.png": _image("RGB"),
            "b.png": _image("RGBA"),
        }
    )
    epub, warnings = build_book(book)
    assert warnings == []
    paragraphs = epub.document(epub.body_documents()[0]).findall(".//x:p", NS)
    # An image alone (maybe linked) is a figure with a caption (tests/test_figures.py).
    assert len(epub.document(epub.body_documents()[0]).findall(".//x:figure", NS)) == 2
    assert [(p.get("class"), [img.get("class") for img in p.iter(f"{XHTML}img")]) for p in paragraphs] == [
        (None, []),
        ("image", [None, "transparent"]),
        (None, [None]),
        (None, [None]),
    ]

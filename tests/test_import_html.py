"""Web pages made into books: the article only, its text verbatim and its marks kept, the page's
metadata, its images; hostile pages refused in one line; addresses fetched within limits from a
server on 127.0.0.1."""

from __future__ import annotations

import gzip
import io
import json
import re
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from lxml import html as lxml_html
from PIL import Image as PILImage

from handbill.errors import HandbillError
from handbill.importers import Repairs, fetch
from handbill.importers import html as reader
from handbill.importers.html import block_markdown, iso_date

from .conftest import Epub, reader_text, register
from .test_statement import SEED, TITLE, normalise, source_blocks

DATA = Path(__file__).parent / "data" / "import_html"
NEWS = DATA / "statement-news.html"
PANDOC = DATA / "statement-pandoc.html"
needs_seed = pytest.mark.skipif(not SEED.exists(), reason="the source statement (../shared/seeds) is not here")

# What a news page puts around the article (statement-news.html): none of it may reach the book.
FURNITURE = [
    "Skip to main content",
    "cookies",
    "Accept all",
    "Perspectives",
    "Donate",
    "Search the WSWS",
    "Home /",
    "Share on",
    "Email this article",
    "Print this article",
    "newsletter",
    "Subscribe",
    "Related articles",
    "Minneapolis workers debate",
    "Comments are closed",
    "Copyright",
    "Privacy policy",
    "pageview",
    "dataLayer",
    "position: fixed",
]


def read(page: Path | bytes, source: str = "page.html") -> tuple[reader.Document, Repairs]:
    repairs = Repairs()
    data = page.read_bytes() if isinstance(page, Path) else page
    document = reader.read(data, str(page) if isinstance(page, Path) else source, repairs)
    return document, repairs


def markdown_of(document: reader.Document) -> str:
    return "\n\n".join(
        ("#" * block.level + " " + block.text) if block.kind == "heading" else block_markdown(block)
        for block in document.blocks
    )


def rendered(document: reader.Document):  # type: ignore[no-untyped-def]
    """The blocks as Python-Markdown (with handbill's extensions) shows them: an lxml tree."""
    from handbill.render.markdown import render_markdown

    return lxml_html.fragment_fromstring(render_markdown(markdown_of(document)) or "<p></p>", create_parent="div")


def shown_blocks(document: reader.Document) -> list[str]:
    """Each block's text as a reader sees it, page-break splits joined as the shared repair does."""
    blocks: list[str] = []
    for element in rendered(document).iter("p", "h1", "h2", "h3", "h4", "li", "pre", "td", "th"):
        copy = lxml_html.fromstring(lxml_html.tostring(element))
        for line_break in copy.iter("br"):
            line_break.tail = " " + (line_break.tail or "")
        text = normalise(copy.text_content())
        if text:
            blocks.append(text)
    return blocks


def joined(blocks: list[str]) -> list[str]:
    out: list[str] = []
    for block in blocks:
        if out and out[-1][-1] not in ".!?:*)" and block[0].islower():
            out[-1] += " " + block
        else:
            out.append(block)
    return out


# --- the statement, as other programs write it --------------------------------------------------


@needs_seed
@pytest.mark.parametrize("page", [PANDOC, NEWS], ids=["pandoc", "news-page"])
def test_statement_page_gives_every_paragraph_verbatim_in_order_and_nothing_else(page: Path) -> None:
    document, _ = read(page)
    shown = shown_blocks(document)
    # The reader joins nothing and drops nothing: the two page-break splits of the seed are still there
    # (the shared repair joins them), and with them joined the text is the statement's, block for block.
    assert len(shown) == len(source_blocks()) + 2
    assert joined(shown) == source_blocks()


@needs_seed
def test_statement_page_keeps_its_marks_and_structure() -> None:
    document, _ = read(NEWS)
    kinds = [(block.kind, block.level) for block in document.blocks]
    assert kinds[0] == ("heading", 1) and normalise(shown_blocks(document)[0]) == TITLE
    assert kinds.count(("heading", 1)) == 1
    tree = rendered(document)
    assert normalise(tree.find(".//p/em").text_content()).startswith("The following statement")
    assert tree.find(".//p/br") is not None, "the byline's line break is kept"
    link = tree.find(".//p/strong/a")
    assert link.get("href") == "https://wsws.org/contact" and link.text == "wsws.org/contact"
    title = [block for block in document.blocks if "occupation of Minneapolis!" in block.text]
    assert len(title) == 1 and title[0].bold, "the bold section title is marked for the shared repair"
    assert sum(block.bold for block in document.blocks) == 2  # the section title and the contact link
    text = normalise(tree.text_content())
    assert "\\$" not in text and "$1.5 trillion" in text  # a dollar sign, never math or a backslash


def test_news_page_drops_everything_around_the_article_and_says_so() -> None:
    document, repairs = read(NEWS)
    text = markdown_of(document)
    for furniture in FURNITURE:
        assert furniture.lower() not in text.lower(), furniture
    [line] = [line for line in repairs.lines() if "around the article" in line]
    count = int(line.split(": ")[1].split(",")[0])
    assert count >= 8 and ", first at line " in line


def test_statement_metadata_from_the_page() -> None:
    news, _ = read(NEWS)
    meta = news.metadata
    assert meta.title == TITLE
    assert meta.authors == ["Socialist Equality Party (US)"]
    assert meta.date == "2026-01-22"  # 09:00 in New York: the day written, not converted to UTC
    assert meta.language == "en"
    assert meta.publisher == "World Socialist Web Site"
    assert meta.description.startswith("Statement of the Socialist Equality Party (US)")
    assert meta.source_url == "https://www.wsws.org/en/articles/2026/01/22/pers-j22.html"
    pandoc, _ = read(PANDOC)
    assert (pandoc.metadata.title, pandoc.metadata.authors, pandoc.metadata.date, pandoc.metadata.language) == (
        TITLE,
        ["Socialist Equality Party (US)"],
        "2026-01-22",
        "en",
    )


# --- real pages (Mozilla Readability's test data) -----------------------------------------------


@pytest.mark.parametrize("name", ["ars-1", "daringfireball-1"])
def test_real_page_gives_the_article_readability_finds(name: str) -> None:
    document, _ = read(DATA / f"{name}-source.html")
    expected_tree = lxml_html.fromstring((DATA / f"{name}-expected.html").read_text(encoding="utf-8"))
    expected = [normalise(e.text_content()) for e in expected_tree.iter("p", "h2", "h3", "h4", "li", "pre")]
    expected = [text for text in expected if text]
    shown = shown_blocks(document)
    position = 0
    for paragraph in expected:  # every paragraph Readability keeps, in the same order
        assert paragraph in shown[position:], paragraph
        position = shown.index(paragraph, position) + 1
    extra = [text for text in shown if text not in expected]
    assert len(extra) <= 3, extra  # the title, a byline, a module heading at most
    metadata = json.loads((DATA / f"{name}-expected-metadata.json").read_text(encoding="utf-8"))
    assert document.metadata.title in metadata["title"]
    assert document.metadata.language.lower() == metadata["lang"].lower()
    if metadata["siteName"]:
        assert document.metadata.publisher == metadata["siteName"]


def test_real_page_code_in_a_quote_and_inline_marks() -> None:
    document, repairs = read(DATA / "ars-1-source.html")
    tree = rendered(document)
    quote = tree.find(".//blockquote")
    assert quote is not None and quote.find(".//pre/code") is not None
    assert "rekt: {" in quote.find(".//pre/code").text_content()
    assert [code.text for code in quote.iter("code")][1:] == ["rekt", "10^5 * 300 = 30,000,000", "2^15 - 1", "2^28"]
    link = tree.find(".//p/a[@href='https://github.com/ammaraskar/pyCraft']")
    assert link is not None and link.find("em").text == "Minecraft"
    assert "Previous story" not in markdown_of(document) and "Security Editor" not in markdown_of(document)
    assert any("images on the web, not saved with the page, left out" in line for line in repairs.lines())


# --- Markdown written from HTML -----------------------------------------------------------------

MARKS = """<html lang="de-AT"><head><title>Marks</title></head><body><article>
<h1>A <em>title</em> with # and *stars*</h1>
<h2>Learning C#</h2>
<p>Plain *not emphasis* and _under_ [brackets] `ticks` \\backslash &lt;T&gt; &amp;amp; AT&amp;T text, with commas.</p>
<p>1934. The year a strike began, written at the start of a line.</p>
<p># not a heading, - not a list, &gt; not a quote</p>
<p><b>Bold</b>, <strong> spaced strong </strong>, <i>italic</i>, <em><strong>both</strong></em>,
<span style="font-weight: bold">styled bold</span>, <code>a `tick` code</code>.</p>
<p>Links: <a href="https://example.org/a b(c)">absolute</a>, <a href="mailto:x@example.org">mail</a>,
<a href="/relative">relative</a>, <a href="javascript:alert(1)">script</a>, <a href="#note">anchor</a>,
<a href="https://example.org/empty"> </a>.</p>
<p>Line one<br>line two<br><br>line three</p>
<ul><li>one<ul><li>one.one</li><li>one.two<ol start="3"><li>three</li><li>four</li></ol></li></ul></li>
<li>two <b>bold</b></li><li>2026. a year</li></ul>
<blockquote><p>Quoted <em>text</em>.</p><p>Second quoted paragraph.</p></blockquote>
<pre><code>def f():
    return "*not* markup"  # ```
</code></pre>
<table><tr><th>Name</th><th>Value | pipe</th></tr><tr><td>a</td><td><em>1</em></td></tr><tr><td>b</td><td></td></tr></table>
<table><tr><td colspan="2">Merged cell text</td></tr><tr><td>left cell</td><td>right cell</td></tr></table>
<hr>
<p><strong>A whole bold paragraph</strong></p>
<p><strong>Half bold</strong> and half not.</p>
</article></body></html>"""


@pytest.fixture(scope="module")
def marks() -> reader.Document:
    return read(MARKS.encode("utf-8"))[0]


def test_literal_text_prints_literally(marks: reader.Document) -> None:
    tree = rendered(marks)
    paragraphs = [normalise(p.text_content()) for p in tree.findall("p")]
    assert (
        paragraphs[0]
        == "Plain *not emphasis* and _under_ [brackets] `ticks` \\backslash <T> &amp; AT&T text, with commas."
    )
    assert (
        paragraphs[1].startswith("1934. The year")
        and tree.find("ol") is None
        or tree.find("ol").getparent().tag == "ul"
    )
    assert paragraphs[2] == "# not a heading, - not a list, > not a quote"
    assert tree.find("p/em") is None or "not emphasis" not in tree.find("p/em").text_content()
    heading = tree.find("h1")
    assert normalise(heading.text_content()) == "A title with # and *stars*" and heading.find("em").text == "title"
    assert normalise(tree.find("h2").text_content()) == "Learning C#"
    assert marks.metadata.language == "de-AT"


def test_inline_marks_become_markdown(marks: reader.Document) -> None:
    tree = rendered(marks)
    marked = tree.findall("p")[3]
    assert ["".join(s.itertext()) for s in marked.iter("strong")] == ["Bold", "spaced strong", "both", "styled bold"]
    assert [e.text_content() for e in marked.iter("em")] == ["italic", "both"]
    assert marked.find("code").text == "a `tick` code"
    links = tree.findall("p")[4]
    assert [(a.get("href"), a.text) for a in links.iter("a")] == [
        ("https://example.org/a%20b%28c%29", "absolute"),
        ("mailto:x@example.org", "mail"),
    ]
    assert normalise(links.text_content()) == "Links: absolute, mail, relative, script, anchor, ."
    lines = tree.findall("p")[5]
    assert len(lines.findall("br")) == 2 and normalise(lines.text_content()) == "Line one line two line three"


def test_lists_quotes_code_tables_rules(marks: reader.Document) -> None:
    tree = rendered(marks)
    outer = tree.find("ul")
    items = outer.findall("li")
    assert [normalise(li.text_content()) for li in items][1:] == ["two bold", "2026. a year"]
    inner = items[0].find("ul")
    assert [normalise(li.text_content()) for li in inner.findall("li")][0] == "one.one"
    ordered = inner.findall("li")[1].find("ol")
    assert [li.text for li in ordered.findall("li")] == ["three", "four"]
    assert "\n        3. three\n        4. four" in markdown_of(marks)  # the page's numbers (Python-Markdown renumbers)
    quote = tree.find("blockquote")
    assert [normalise(p.text_content()) for p in quote.findall("p")] == ["Quoted text.", "Second quoted paragraph."]
    code = tree.find("pre/code").text
    assert code == 'def f():\n    return "*not* markup"  # ```\n'
    table = tree.find("table")
    assert [normalise(th.text_content()) for th in table.iter("th")] == ["Name", "Value | pipe"]
    assert [[normalise(td.text_content()) for td in tr.findall("td")] for tr in table.iter("tr")][1:] == [
        ["a", "1"],
        ["b", ""],
    ]
    assert len(tree.findall(".//table")) == 1, "a table with merged cells is not a Markdown table"
    texts = [normalise(p.text_content()) for p in tree.findall("p")]
    assert ["Merged cell text", "left cell", "right cell"] == [t for t in texts if "cell" in t]
    assert tree.find("hr") is not None


def test_whole_bold_paragraph_is_marked(marks: reader.Document) -> None:
    bold = {block.text: block.bold for block in marks.blocks if block.kind == "paragraph"}
    assert bold["**A whole bold paragraph**"] is True
    assert bold["**Half bold** and half not."] is False
    assert sum(bold.values()) == 1


# --- images -------------------------------------------------------------------------------------


def png(color: str, size: tuple[int, int] = (8, 6)) -> bytes:
    buffer = io.BytesIO()
    PILImage.new("RGB", size, color).save(buffer, "PNG")
    return buffer.getvalue()


def test_images_embedded_and_saved_beside_the_page(tmp_path: Path) -> None:
    import base64

    folder = tmp_path / "saved"
    (folder / "Page_files").mkdir(parents=True)
    (folder / "Page_files" / "photo 1.png").write_bytes(png("red"))
    (folder / "Page_files" / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\nnot really")
    (folder / "Page_files" / "pixel.gif").write_bytes(
        base64.b64decode("R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7")
    )
    (tmp_path / "secret.png").write_bytes(png("blue"))
    (folder / "Page_files" / "link.png").symlink_to(tmp_path / "secret.png")
    embedded = base64.b64encode(png("green")).decode("ascii")
    page = folder / "Page.html"
    page.write_text(
        f"""<html><body><article><h1>Pictures of the strike</h1>
<p>The march, as the photographer saw it, from the bridge over the river in the morning.</p>
<figure><img src="Page_files/photo%201.png" alt="The [march]"><figcaption>The march at noon.</figcaption></figure>
<p>Inline <img src="data:image/png;base64,{embedded}" alt="green"> and again <img src="Page_files/photo%201.png" alt="same"></p>
<p><img src="../secret.png" alt="outside"><img src="Page_files/link.png" alt="linked out"><img src="/etc/hosts" alt="absolute">
<img src="Page_files/missing.png" alt="missing"><img src="Page_files/broken.png" alt="broken"><img src="Page_files/pixel.gif" alt="">
<img src="https://example.org/remote.png" alt="remote"><img src="data:image/svg+xml;base64,PHN2Zy8+" alt="svg">
<img src="data:image/gif;base64,R0lGODlhAQABAAAAACw=" data-src="Page_files/photo%201.png" alt="lazy"></p>
</article></body></html>""",
        encoding="utf-8",
    )
    document, repairs = read(page)
    assert [(image.name, image.data) for image in document.images] == [
        ("001.png", png("red")),
        ("002.png", png("green")),
    ]
    image_blocks = [block for block in document.blocks if block.kind == "image"]
    assert [block.text for block in image_blocks] == ["![The \\[march\\]](images/001.png)", "![lazy](images/001.png)"]
    tree = rendered(document)
    sources = [(img.get("src"), img.get("alt")) for img in tree.iter("img")]
    assert sources == [
        ("images/001.png", "The [march]"),
        ("images/002.png", "green"),
        ("images/001.png", "same"),
        ("images/001.png", "lazy"),
    ]
    lines = "\n".join(repairs.lines())
    assert "images outside the page's folder left out: 3" in lines  # ../, a symlink out, an absolute path
    assert "images missing beside the page left out: 1" in lines
    assert "damaged images left out: 1" in lines
    assert "images on the web, not saved with the page, left out: 1" in lines
    assert "images in a form an e-book cannot hold (not PNG, JPEG, GIF or WebP) left out: 1, first at line 7" in lines
    assert "The march at noon." in shown_blocks(document)


# --- encodings ----------------------------------------------------------------------------------

ARTICLE = "<p>Renée Nicole Good, named in full, with commas. “Quoted” — {}</p>"


@pytest.mark.parametrize(
    "data",
    [
        ('<html><head><meta charset="windows-1252"></head><body>' + ARTICLE + "</body></html>").encode(
            "cp1252", "replace"
        ),
        (
            '<meta http-equiv="Content-Type" content="text/html; charset=ISO-8859-1"><p>Renée Nicole Good, named in full, with commas.</p>'
        ).encode("latin-1"),
        b"\xef\xbb\xbf"
        + ('<meta charset="latin-1"><p>' + "Renée Nicole Good, named in full, with commas." + "</p>").encode("utf-8"),
        "\ufeff<p>Renée Nicole Good, named in full, with commas.</p>".encode("utf-16-le"),
        "\ufeff<p>Renée Nicole Good, named in full, with commas.</p>".encode("utf-16-be"),
        "<p>Renée Nicole Good, named in full, with commas.</p>".encode("cp1252"),  # no declaration, not UTF-8
        '<?xml version="1.0" encoding="utf-8"?><html xmlns="http://www.w3.org/1999/xhtml"><body><p>Renée Nicole Good, named in full, with commas.</p></body></html>'.encode(),
    ],
    ids=["meta-charset", "http-equiv", "bom-wins", "utf16le", "utf16be", "undeclared", "xhtml"],
)
def test_encodings(data: bytes) -> None:
    document, _ = read(data.replace(b"{}", b"Enough words to be an article, with commas, and more."))
    assert "Renée Nicole Good, named in full, with commas." in document.blocks[0].text


# --- hostile and empty pages --------------------------------------------------------------------


def one_line_error(data: bytes, source: str = "page.html") -> str:
    with pytest.raises(HandbillError) as caught:
        reader.read(data, source, Repairs())
    message = caught.value.format_message()
    assert "\n" not in message and source in message
    return message


def test_page_with_no_article_is_one_clear_error() -> None:
    links = "".join(f'<li><a href="/{n}">Section {n}</a></li>' for n in range(40))
    page = f"<html><body><nav><ul>{links}</ul></nav><footer>Copyright</footer></body></html>".encode()
    assert one_line_error(page, "index.html").startswith("no article text found in index.html: ")
    assert one_line_error(b"", "empty.html").startswith("no article text found in empty.html")
    assert one_line_error(b"<html><script>document.write('text')</script></html>").startswith("no article text")


def test_binary_junk_named_html_is_refused() -> None:
    junk = bytes(range(256)) * 400
    assert "not an HTML page" in one_line_error(junk, "junk.html")
    assert "not an HTML page" in one_line_error(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + b"\x00" * 2000, "p.html")


def test_too_large_page_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(reader, "MAX_BYTES", 1000)
    assert "larger than" in one_line_error(b"<p>" + b"x" * 2000 + b"</p>")


def nested(tag: str, depth: int, text: str) -> str:
    closing = "</" + "></".join(reversed(tag.split("><"))) + ">"
    return f"<{tag}>" * depth + text + closing * depth


@pytest.mark.parametrize("tag", ["div", "b", "span", "blockquote", "ul><li", "table><tr><td", "font"])
def test_html_bomb_of_nested_elements_is_one_clear_error(tag: str) -> None:
    page = "<html><body>" + nested(tag, 100_000, "Deep text, with commas, that is long enough.")
    message = one_line_error(page.encode(), "bomb.html")
    assert message.startswith("no article text found in bomb.html: its elements are nested more than 255 levels deep")
    document, repairs = read(("<p>The article before the bomb, with commas, long enough.</p>" + page).encode())
    assert "The article before the bomb" in markdown_of(document)
    assert "page parts nested more than 255 levels deep left out: 1, first at line 1" in repairs.lines()


def test_text_run_beyond_the_parser_limit_is_one_clear_error() -> None:
    page = b"<html><body><p>" + b"Words, with commas. " * 600_000 + b"</p></body></html>"
    message = one_line_error(page, "long.html")
    assert message.startswith("no article text found in long.html: it holds a run of text longer than 10 MB")


@pytest.mark.parametrize("tag", ["div", "b", "blockquote", "ul><li", "table><tr><td", "em><strong"])
def test_deep_but_parsed_nesting_keeps_its_text_without_recursing(tag: str) -> None:
    closing_tag = tag.split(" ")[0]
    levels = len(closing_tag.split("><")) + closing_tag.count("table")  # <tbody> comes with each table
    page = "<html><body>" + nested(closing_tag, 240 // levels, "Deep text, with commas, that is long enough.")
    document, _ = read(page.encode())
    assert "Deep text, with commas, that is long enough." in normalise(" ".join(shown_blocks(document)))


def test_hostile_json_ld_and_metadata_are_ignored_not_fatal() -> None:
    deep = "[" * 100_000 + "]" * 100_000
    page = f"""<html lang="not a language!"><head>
<script type="application/ld+json">{deep}</script>
<script type="application/ld+json">{{broken json</script>
<script type="application/ld+json">{{"@graph": [{{"@type": "WebSite", "name": "Site"}},
 {{"@type": ["Article"], "headline": "Graph headline", "author": ["Ann", {{"name": "Bob"}}, "https://x.org/c"],
   "datePublished": "2026-13-45", "keywords": "one, two", "inLanguage": "fr"}}]}}</script>
<meta name="date" content="22 January 2026"></head>
<body><p>The article text is here, long enough to count as one, with commas.</p></body></html>"""
    document, _ = read(page.encode())
    meta = document.metadata
    assert (meta.title, meta.authors, meta.date, meta.language, meta.subjects) == (
        "Graph headline",
        ["Ann", "Bob"],
        "2026-01-22",  # JSON-LD's 2026-13-45 is no date: the <meta> one is taken
        "fr",
        ["one", "two"],
    )


@pytest.mark.parametrize(
    ("text", "iso"),
    [
        ("2026-01-22", "2026-01-22"),
        ("2026-01-22T23:30:00-05:00", "2026-01-22"),
        ("2026-1-2", "2026-01-02"),
        ("2026/01/22", "2026-01-22"),
        ("20260122", "2026-01-22"),
        ("2026-01", "2026-01"),
        ("2026", "2026"),
        ("Thu, 22 Jan 2026 10:00:00 GMT", "2026-01-22"),
        ("2026-13-01", ""),
        ("yesterday", ""),
        ("22 January 2026", "2026-01-22"),
        ("January 22, 2026", "2026-01-22"),
        ("22. Januar 2026", "2026-01-22"),
        ("12345", ""),
    ],
)
def test_dates_normalised_to_iso(text: str, iso: str) -> None:
    assert iso_date(text) == iso


# --- fetching from 127.0.0.1 --------------------------------------------------------------------

ROUTES: dict[str, tuple[int, dict[str, str], bytes]] = {}


class Handler(BaseHTTPRequestHandler):
    def log_message(self, *args: object) -> None:
        pass

    def do_GET(self) -> None:  # noqa: N802
        path = self.path if self.path in ROUTES else self.path.split("?")[0]
        if path == "/slow":
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.end_headers()
            for _ in range(30):
                self.wfile.write(b"<p>drip</p>")
                self.wfile.flush()
                time.sleep(0.2)
            return
        if path == "/endless":
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.end_headers()
            try:
                while True:
                    self.wfile.write(b"<p>more</p>" * 1000)
            except OSError:
                return
        if path.startswith("/hop/"):
            left = int(path.rsplit("/", 1)[1])
            self.send_response(302)
            self.send_header("Location", f"/hop/{left - 1}" if left else "/statement.html")
            self.end_headers()
            return
        status, headers, body = ROUTES.get(path, (404, {"Content-Type": "text/plain"}, b"not here"))
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        if "Content-Length" not in headers:
            self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


class QuietServer(ThreadingHTTPServer):
    def handle_error(self, request, client_address) -> None:  # type: ignore[no-untyped-def]
        pass  # a client that stops reading (the size and time limits) is expected here


@contextmanager
def serve() -> Iterator[str]:
    server = QuietServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture(scope="module")
def site() -> Iterator[str]:
    gzipped_bomb = gzip.compress(b"<p>" + b"a" * (30 * 1024 * 1024))
    ROUTES.update(
        {
            "/statement.html": (200, {"Content-Type": "text/html; charset=utf-8"}, NEWS.read_bytes()),
            "/gzip.html": (
                200,
                {"Content-Type": "text/html", "Content-Encoding": "gzip"},
                gzip.compress(NEWS.read_bytes()),
            ),
            "/bomb.html": (200, {"Content-Type": "text/html", "Content-Encoding": "gzip"}, gzipped_bomb),
            "/big.html": (200, {"Content-Type": "text/html", "Content-Length": str(25 * 1024 * 1024)}, b""),
            "/picture.png": (200, {"Content-Type": "image/png"}, png("red")),
            "/gr%C3%A8ve.html?ville=Montr%C3%A9al": (200, {"Content-Type": "text/html"}, NEWS.read_bytes()),
            "/file.bin": (200, {"Content-Type": "application/octet-stream"}, b"\x00\x01"),
            "/saved.pdf": (200, {"Content-Type": "application/octet-stream"}, b"%PDF-1.4"),
            "/ftp": (301, {"Location": "ftp://127.0.0.1/file.html"}, b""),
            "/gone": (410, {"Content-Type": "text/plain"}, b"gone"),
            "/with-images.html": (
                200,
                {"Content-Type": "text/html"},
                b"""<html><body><article><h1>Pictures</h1><p>The march, as the photographer saw it from the bridge,
                with commas.</p><p><img src="picture.png" alt="red"><img src="/missing.png" alt="gone">
                <img src="/statement.html" alt="not an image"></p><p><a href="/about">About us</a></p>
                </article></body></html>""",
            ),
        }
    )
    with serve() as address:
        yield address


def fetch_error(url: str, **limits: float) -> str:
    with pytest.raises(fetch.FetchError) as caught:
        fetch.get(url, **limits)  # type: ignore[arg-type]
    message = caught.value.format_message()
    assert "\n" not in message and message.startswith(url + ": ")
    return message[len(url) + 2 :]


def test_fetch_gets_a_page_through_redirects(site: str) -> None:
    body, media_type, final = fetch.get(site + "/hop/4")  # five redirects
    assert body == NEWS.read_bytes() and media_type == "text/html" and final == site + "/statement.html"
    assert fetch.get(site + "/gzip.html")[0] == NEWS.read_bytes()
    assert fetch.get(site + "/saved.pdf")[1] == "application/pdf"  # octet-stream: the extension decides
    # A non-ASCII address is sent percent-encoded, as a browser sends it; the fragment stays home.
    assert fetch.get(site + "/grève.html?ville=Montréal#top")[0] == NEWS.read_bytes()


def test_fetch_refuses_with_one_line_naming_the_address(site: str) -> None:
    assert fetch_error(site + "/hop/5") == "redirects more than 5 times"
    assert "ftp://127.0.0.1/file.html, which is not an http(s) address" in fetch_error(site + "/ftp")
    assert fetch_error(site + "/nowhere.html").startswith("HTTP 404")
    assert fetch_error(site + "/gone").startswith("HTTP 410")
    assert fetch_error(site + "/big.html").startswith("is too large (over 20 MB)")
    assert fetch_error(site + "/bomb.html").startswith("is too large")
    assert fetch_error(site + "/endless", max_bytes=1024 * 1024).startswith("is too large (over 1 MB)")
    assert "is not HTML, PDF, DOCX, ODT or plain text (its content type is image/png)" in fetch_error(
        site + "/picture.png"
    )
    assert "content type is application/octet-stream" in fetch_error(site + "/file.bin")
    assert fetch_error("ftp://127.0.0.1/x") == "is not an http:// or https:// address"
    assert fetch_error("http:///nohost") == "is not an http:// or https:// address"


def test_fetch_keeps_to_its_time_limit(site: str) -> None:
    started = time.monotonic()
    message = fetch_error(site + "/slow", timeout=1.0)
    assert "took more than 1 s" in message
    assert time.monotonic() - started < 4


def test_fetch_of_an_address_that_does_not_answer() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    message = fetch_error(f"http://127.0.0.1:{port}/page.html")
    assert message.startswith("does not answer (connection refused)")


def test_fetched_page_images_are_fetched_and_links_made_absolute(site: str) -> None:
    body, _, final = fetch.get(site + "/with-images.html")
    repairs = Repairs()
    document = reader.read(body, final, repairs)
    assert [(image.name, image.data) for image in document.images] == [("001.png", png("red"))]
    assert "[About us](" + site + "/about)" in markdown_of(document)
    lines = "\n".join(repairs.lines())
    assert "images that could not be fetched left out: 2" in lines  # a 404, and a page that is not an image
    assert document.metadata.source_url == final


def test_fetched_statement_is_the_statement(site: str) -> None:
    body, _, final = fetch.get(site + "/statement.html")
    document = reader.read(body, final, Repairs())
    if SEED.exists():
        assert joined(shown_blocks(document)) == source_blocks()
    assert document.metadata.date == "2026-01-22" and document.metadata.title == TITLE
    assert re.search(r"\]\(https://wsws\.org/contact\)", markdown_of(document))


# --- end to end: `handbill build page.html`, `handbill build http://...`, `handbill import` ------


def run_cli(*args: str):  # type: ignore[no-untyped-def]
    from click.testing import CliRunner

    from handbill.cli import cli

    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def built_statement(path: Path) -> Epub:
    register(path)
    book = Epub(path)
    assert book.metadata("title") == [TITLE]
    assert book.metadata("creator") == ["Socialist Equality Party (US)"]
    assert book.metadata("language") == ["en"]
    assert book.metadata("date")[0].startswith("2026-01-22")
    return book


def body_text_blocks(book: Epub) -> list[str]:
    return [normalise(block) for name in book.body_documents() for block in book.text_blocks(name)]


@needs_seed
@pytest.mark.parametrize("page", [PANDOC, NEWS], ids=["pandoc", "news-page"])
def test_build_of_a_saved_page_is_the_statement(page: Path, tmp_path: Path) -> None:
    output = tmp_path / "page.epub"
    result = run_cli("build", str(page), "-o", str(output))
    assert result.exit_code == 0, result.output
    book = built_statement(output)
    assert body_text_blocks(book) == source_blocks()
    headings = [normalise(reader_text(h)) for name in book.body_documents() for h in book.document(name).iter("{*}h1")]
    assert headings[-1] == normalise("For a general strike to stop Trump’s occupation of Minneapolis!")
    text = " ".join(body_text_blocks(book)).lower()
    for furniture in FURNITURE:
        assert furniture.lower() not in text, furniture


@needs_seed
def test_build_of_an_address_is_the_statement(site: str, tmp_path: Path) -> None:
    output = tmp_path / "fetched.epub"
    result = run_cli("build", site + "/hop/2", "-o", str(output))
    assert result.exit_code == 0, result.output
    book = built_statement(output)
    assert body_text_blocks(book) == source_blocks()


def test_build_of_a_fetched_page_with_images(site: str, tmp_path: Path) -> None:
    output = tmp_path / "images.epub"
    result = run_cli("build", site + "/with-images.html", "-o", str(output))
    assert result.exit_code == 0, result.output
    register(output)
    book = Epub(output)
    images = [name for name in book.files if name.endswith(".png") and "cover" not in name]
    assert [book.files[name] for name in images] == [png("red")]
    links = [a.get("href") for name in book.body_documents() for a in book.document(name).iter("{*}a")]
    assert site + "/about" in links


def test_import_writes_a_book_folder_with_images_and_a_report(tmp_path: Path) -> None:
    import base64

    page = tmp_path / "saved" / "Page.html"
    (page.parent / "Page_files").mkdir(parents=True)
    (page.parent / "Page_files" / "photo.png").write_bytes(png("red"))
    page.write_text(
        f"""<html lang="en"><head><title>Pictures</title><meta name="author" content="A. Photographer"></head>
<body><nav><a href="/">Home</a> <a href="/news">News</a></nav><article><h1>Pictures of the strike</h1>
<p>The march, as the photographer saw it, from the bridge over the river in the morning.</p>
<figure><img src="Page_files/photo.png" alt="The march"><figcaption>The march at noon.</figcaption></figure>
<p>And a second picture, embedded in the page: <img src="data:image/png;base64,{base64.b64encode(png("green")).decode()}" alt="green"></p>
<p><img src="https://example.org/remote.png" alt="remote"></p>
</article></body></html>""",
        encoding="utf-8",
    )
    folder = tmp_path / "book"
    result = run_cli("import", str(page), "-o", str(folder))
    assert result.exit_code == 0, result.output
    assert "images on the web, not saved with the page, left out: 1" in result.output
    assert "page parts around the article left out" in result.output
    assert (folder / "images" / "001.png").read_bytes() == png("red")
    assert (folder / "images" / "002.png").read_bytes() == png("green")
    output = tmp_path / "pictures.epub"
    result = run_cli("build", str(folder), "-o", str(output))
    assert result.exit_code == 0, result.output
    register(output)
    book = Epub(output)
    shown = [img.get("alt") for name in book.body_documents() for img in book.document(name).iter("{*}img")]
    assert shown == ["The march", "green"]
    assert book.metadata("creator") == ["A. Photographer"]


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (b"<html><body><nav><a href='/'>Home</a></nav></body></html>", "no article text found in "),
        (bytes(range(256)) * 100, "this is not an HTML page"),
    ],
    ids=["no-article", "binary"],
)
def test_bad_page_is_one_error_line_and_nothing_written(data: bytes, expected: str, tmp_path: Path) -> None:
    page = tmp_path / "bad.html"
    page.write_bytes(data)
    for args in (
        ["build", str(page), "-o", str(tmp_path / "bad.epub")],
        ["import", str(page), "-o", str(tmp_path / "bad")],
    ):
        result = run_cli(*args)
        assert result.exit_code == 1
        lines = result.output.strip().splitlines()
        assert len(lines) == 1 and expected in lines[0] and str(page) in lines[0], result.output
        assert "Traceback" not in result.output
    assert sorted(path.name for path in tmp_path.iterdir()) == ["bad.html"]


def test_address_that_does_not_answer_is_one_error_line(tmp_path: Path) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    address = f"http://127.0.0.1:{port}/statement.html"
    result = run_cli("build", address, "-o", str(tmp_path / "x.epub"))
    assert result.exit_code == 1
    assert (
        result.output.strip()
        == f"Error: {address}: does not answer (connection refused); check the address and your connection"
    )
    assert not list(tmp_path.iterdir())


def test_hidden_parts_dropped_but_not_a_page_hidden_behind_a_dialog() -> None:
    page = """<html><body><div id="page" aria-hidden="true"><article><h1>The article title here</h1>
<p>The first paragraph of the article, long enough to count, with commas.</p>
<p hidden>A hidden paragraph that no reader sees.</p>
<p>Visible text<span style="display: none"> and a hidden span</span> goes on, with commas.</p>
<p aria-hidden="true">An icon label.</p></article></div>
<div role="dialog" class="consent"><p>We value your privacy. Accept the cookies to continue reading.</p></div>
</body></html>"""
    document, repairs = read(page.encode())
    text = markdown_of(document)
    assert "The first paragraph of the article" in text and "Visible text goes on, with commas." in text
    for hidden in ("hidden paragraph", "hidden span", "icon label", "privacy"):
        assert hidden not in text
    assert repairs.lines() == [
        "page parts around the article left out (navigation, banners, share buttons, comments): 1, first at line 6"
    ]


FOOTNOTES = DATA / "footnotes-pandoc.html"


def test_footnotes_become_markdown_notes_beside_their_first_reference() -> None:
    document, _ = read(FOOTNOTES)
    texts = [block.text for block in document.blocks]
    assert texts[1] == "The strike of 1934 began in May.[^1] Its leaders were Trotskyists.[^2]"
    assert texts[2].startswith("[^1]: The first strike began on 16 May 1934")
    assert texts[3].startswith("[^2]: The Dunne brothers") and "A second paragraph of the same note" in texts[3]
    assert texts[4] == "The second part"
    assert [text[:4] for text in texts[5:]] == ["The ", "[^3]", "[^4]"]
    assert "↩" not in "".join(texts) and "footnotes" not in "".join(texts)
    assert not any(block.kind in ("rule", "list") for block in document.blocks), "the page's own list of notes is gone"


def test_footnotes_in_the_built_book_are_popup_notes_in_the_chapter_that_refers_to_them(tmp_path: Path) -> None:
    output = tmp_path / "notes.epub"
    result = run_cli("build", str(FOOTNOTES), "-o", str(output))
    assert result.exit_code == 0, result.output
    register(output)
    book = Epub(output)
    seen = []
    for name in book.body_documents():
        root = book.document(name)
        refs = [a.get("href")[1:] for a in root.iter("{*}a") if a.get("role") == "doc-noteref"]
        notes = {aside.get("id"): normalise(reader_text(aside)) for aside in root.iter("{*}aside")}
        assert set(refs) == set(notes), name
        seen += [notes[ref] for ref in refs]
        assert "[^" not in normalise(reader_text(root))
    assert len(seen) == 4
    assert "21 August" in seen[0] and "Carl Skoglund" in seen[1] and "A second paragraph" in seen[1]
    assert "employers" in seen[2] and "21 August" in seen[3]


def test_article_in_many_blocks_deep_under_article_and_sections_named_like_furniture() -> None:
    prose = "This paragraph of the article is long enough to be prose, with commas, clauses, and a full stop."
    blocks = "".join(
        f'<div class="o-article_block"><div class="grid"><div class="cell"><div class="article-text">'
        f"<p>Part {n}. {prose}</p></div></div></div></div>"
        for n in range(6)
    )
    page = f"""<html><body><article><div id="page_body"><div class="container"><div class="wrap">
<h1>A review in many blocks</h1>{blocks}
<div class="share-buttons"><a href="https://x.org/share">Share</a> <a href="https://y.org/share">Post</a></div>
<div class="section" id="sharing-with-a-single-developer"><h2>Sharing with a single developer</h2><p>{prose}</p></div>
<table><tr><th>Film</th><th>Year</th></tr><tr><td><a href="https://x.org/a">Groundhog Day</a></td>
<td><a href="https://x.org/1993">1993</a></td></tr></table>
</div></div></div></article></body></html>"""
    document, _ = read(page.encode())
    shown = shown_blocks(document)
    assert [text[:7] for text in shown if text.startswith("Part ")] == [f"Part {n}." for n in range(6)]
    assert "Sharing with a single developer" in shown and "Groundhog Day" in shown
    assert "Share" not in shown and "Post" not in shown


def test_embedded_media_in_the_article_are_reported_not_silently_lost() -> None:
    page = """<html><body><iframe class="ad" src="https://ads.example/1"></iframe>
<article><h1>The march in pictures and sound</h1>
<p>The first paragraph of the article, long enough to count, with commas.</p>
<div class="video-wrapper"><iframe src="https://www.youtube.com/embed/x"></iframe></div>
<p>Between the embeds, the article goes on, with commas, as articles do.</p>
<video src="march.mp4">Your browser cannot play this video.</video>
</article></body></html>"""
    document, repairs = read(page.encode())
    assert "browser" not in markdown_of(document)
    assert "embedded media (video, audio, frames) left out: 2, first at line 4" in repairs.lines()


# --- any text survives as it was written -------------------------------------------------------

from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

LITERAL = st.text(alphabet="ab 19.,;:!?()[]{}<>&#*_`\\|~-+=>\"'/@$%^é", min_size=1, max_size=40)


@st.composite
def inline_html(draw, depth: int = 0):  # type: ignore[no-untyped-def]
    """(HTML, the text a browser shows) of a run of text with random inline marks."""
    from html import escape as html_escape

    parts = []
    shown = []
    for _ in range(draw(st.integers(1, 4))):
        kind = draw(st.sampled_from(["text", "text", "em", "strong", "a", "code", "span"] if depth < 3 else ["text"]))
        if kind == "text":
            text = draw(LITERAL)
            parts.append(html_escape(text))
            shown.append(text)
        elif kind == "code":
            text = draw(LITERAL)
            parts.append(f"<code>{html_escape(text)}</code>")
            shown.append(text)
        else:
            inner, inner_shown = draw(inline_html(depth + 1))
            tag = {"em": "em", "strong": "strong", "a": 'a href="https://example.org/x"', "span": "span"}[kind]
            parts.append(f"<{tag}>{inner}</{tag.split()[0]}>")
            shown.append(inner_shown)
    return "".join(parts), "".join(shown)


@settings(max_examples=150, deadline=None)
@given(inline_html())
def test_any_inline_text_prints_as_written(run: tuple[str, str]) -> None:
    html_text, shown = run
    page = f"<html><body><article><p>Lead paragraph of the article, long enough, with commas.</p><p>{html_text}</p></article></body></html>"
    document, _ = read(page.encode())
    paragraphs = rendered(document).findall("p")
    got = normalise(" ".join(p.text_content() for p in paragraphs[1:]))
    assert got == normalise(shown)


def test_lazy_loaded_image_in_noscript_is_taken_and_a_tracking_pixel_is_not(tmp_path: Path) -> None:
    (tmp_path / "Page_files").mkdir()
    (tmp_path / "Page_files" / "real.png").write_bytes(png("red"))
    page = tmp_path / "Page.html"
    page.write_text(
        """<html><body><article><h1>A page that loads its images lazily</h1>
<p>The first paragraph of the article, long enough to count, with commas.</p>
<figure><img class="lazy" src="data:image/gif;base64,R0lGODlhAQABAAAAACw=">
  <noscript><img src="Page_files/real.png" alt="The real picture"></noscript></figure>
<noscript><img height="1" width="1" src="https://www.facebook.com/tr?id=1&amp;ev=PageView"></noscript>
</article></body></html>""",
        encoding="utf-8",
    )
    document, repairs = read(page)
    assert [(image.name, image.data) for image in document.images] == [("001.png", png("red"))]
    assert [block.text for block in document.blocks if block.kind == "image"] == ["![The real picture](images/001.png)"]
    assert not [line for line in repairs.lines() if "image" in line]

"""Figures for images alone in a paragraph, and SVG image files made safe."""

from __future__ import annotations

import io

import pytest
from lxml import etree
from PIL import Image

from handbill.images import BadImage
from handbill.svgimage import clean_svg

X = "{http://www.w3.org/1999/xhtml}"
SVG = "{http://www.w3.org/2000/svg}"


def _png() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (40, 30), (200, 50, 50)).save(buffer, "PNG")
    return buffer.getvalue()


FIGURES = """# Figures

![A red box](red.png "Figure 1: a red box")

![A red box alone](red.png)

[![Linked box](red.png)](https://example.org/)

![](red.png)

Text with ![inline](red.png) in it.

![one](red.png) ![two](red.png)
"""


def test_an_image_alone_in_its_paragraph_becomes_a_captioned_figure(write_book, build_book):
    epub, warnings = build_book(write_book({"a.md": FIGURES, "red.png": _png()}))
    doc = epub.document(epub.body_documents()[0])
    figures = list(doc.iter(f"{X}figure"))
    described = [
        (
            figure.find(f".//{X}img").get("alt"),
            figure.find(f".//{X}img").get("title"),
            figure.find(f"{X}figcaption").text,
            figure.find(f"{X}figcaption").get("aria-hidden"),
        )
        for figure in figures
    ]
    assert described == [
        ("A red box", None, "Figure 1: a red box", None),  # the title is the caption, read as well
        ("A red box alone", None, "A red box alone", "true"),  # the caption repeats the alt: read once
        ("Linked box", None, "Linked box", "true"),
    ]
    assert figures[2].find(f"{X}a/{X}img") is not None  # the link is kept
    assert all(figure[-1].tag == f"{X}figcaption" for figure in figures)
    assert all(figure.getparent().tag == f"{X}section" for figure in figures)
    # No alt and no title: nothing to caption. Several images, or text beside one: a paragraph.
    paragraphs = [p for p in doc.iter(f"{X}p") if p.find(f".//{X}img") is not None]
    assert [p.get("class") for p in paragraphs] == ["image", None, "image"]
    assert not warnings


CHART = b"""<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE svg [ <!ENTITY lol "lol"> <!ENTITY xxe SYSTEM "file:///etc/passwd"> ]>
<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink"
     xmlns:inkscape="http://www.inkscape.org/namespaces/inkscape"
     width="200" height="100" viewBox="0 0 200 100" onload="alert(1)" inkscape:version="1.0">
  <title>Bars</title>
  <script>alert(2)</script>
  <style>@import url(http://evil.example/x.css); rect { fill: red }</style>
  <style>rect.safe { fill: url(#g) }</style>
  <inkscape:namedview/>
  <defs><linearGradient id="g"><stop offset="0" stop-color="#00f"/></linearGradient></defs>
  <rect id="bar" x="10" y="10" width="50" height="80" fill="url(#g)" onclick="x()"/>
  <rect x="70" y="30" width="50" height="60" style="fill: url(http://evil.example/p.png)"/>
  <image href="http://evil.example/track.png" width="10" height="10"/>
  <image xlink:href="data:image/svg+xml;base64,PHN2Zz48L3N2Zz4=" width="10" height="10"/>
  <image href="data:image/png;base64,iVBORw0KGgo=" width="1" height="1"/>
  <use xlink:href="#g"/>
  <use xlink:href="#bar"/>
  <use href="other.svg#x"/>
  <a href="javascript:alert(3)"><text x="10" y="95">&lol;&xxe;kept</text></a>
  <foreignObject><div xmlns="http://www.w3.org/1999/xhtml">html</div></foreignObject>
  <set attributeName="href" to="javascript:alert(4)"/>
  <animate attributeName="xlink:href" values="javascript:alert(5)"/>
</svg>
"""


def test_svg_file_is_embedded_sanitised(write_book, build_book):
    epub, warnings = build_book(write_book({"a.md": "# A\n\n![Bar chart of pay](chart.svg)\n", "chart.svg": CHART}))
    svg_items = [item for item in epub.manifest.values() if item.get("media-type") == "image/svg+xml"]
    assert len(svg_items) == 1
    href = svg_items[0].get("href")
    data = epub.files[epub.base + href]
    # The page that shows it as an <img> needs no svg property (only inline SVG does).
    page = epub.body_documents()[0]
    page_item = next(i for i in epub.manifest.values() if epub.base + i.get("href") == page)
    assert "svg" not in (page_item.get("properties") or "").split()
    img = epub.document(page).find(f".//{X}img")
    assert img.get("src") == href and img.get("alt") == "Bar chart of pay"
    _assert_safe(data)
    root = etree.fromstring(data)
    assert root.find(f"{SVG}title").text == "Bars"
    assert [rect.get("fill") for rect in root.iter(f"{SVG}rect")] == ["url(#g)", None]
    hrefs = [
        (use.get("href"), use.get("{http://www.w3.org/1999/xlink}href"))
        for use in root.iter(f"{SVG}use", f"{SVG}image")
    ]
    assert hrefs == [
        (None, None),
        (None, None),
        ("data:image/png;base64,iVBORw0KGgo=", None),
        (None, None),  # a <use> of a gradient names the wrong kind of thing
        (None, "#bar"),
        (None, None),
    ]
    assert "".join(root.find(f".//{SVG}text").itertext()) == "kept"
    assert [style.text for style in root.iter(f"{SVG}style")] == ["rect.safe { fill: url(#g) }"]
    assert not warnings


def _assert_safe(data: bytes) -> None:
    text = data.decode("utf-8")
    for forbidden in (
        "<!DOCTYPE",
        "<!ENTITY",
        "script",
        "onload",
        "onclick",
        "foreignObject",
        "evil.example",
        "javascript",
        "root:",
        "<set",
        "<animate",
        "inkscape",
        "other.svg",
        "svg+xml",
        "@import",
    ):
        assert forbidden not in text, forbidden


def _laughs() -> bytes:
    entities = ['<!ENTITY lol0 "lol">'] + [f'<!ENTITY lol{n} "{f"&lol{n - 1};" * 10}">' for n in range(1, 10)]
    return (
        f'<?xml version="1.0"?>\n<!DOCTYPE svg [{"".join(entities)}]>\n'
        '<svg xmlns="http://www.w3.org/2000/svg"><text>&lol9;</text></svg>'
    ).encode()


@pytest.mark.parametrize(
    "data",
    [
        b'<?xml version="1.0"?><!DOCTYPE svg [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
        b'<svg xmlns="http://www.w3.org/2000/svg"><text>&x;</text></svg>',
        b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"><g onmouseover="x()"><script>x()</script></g></svg>',
        b'<svg xmlns="http://www.w3.org/2000/svg"><foreignObject><body xmlns="http://www.w3.org/1999/xhtml">'
        b"<script>x()</script></body></foreignObject></svg>",
        b'<svg><rect width="1" height="1" onclick="x()"/><script>x()</script></svg>',  # no namespace
    ],
    ids=["external-entity", "script-and-events", "foreign-object", "no-namespace"],
)
def test_hostile_svg_comes_out_inert(data):
    cleaned = clean_svg(data)
    assert len(cleaned) < 1000
    _assert_safe(cleaned)
    assert etree.fromstring(cleaned).tag == f"{SVG}svg"


@pytest.mark.parametrize(
    "data",
    [
        _laughs(),
        b"<svg xmlns='http://www.w3.org/2000/svg'>" + b"<g>" * 10_000 + b"</g>" * 10_000 + b"</svg>",
        b"<html><body>not svg</body></html>",
        b"<svg xmlns='http://www.w3.org/2000/svg'><rect></svg>",
        b"\x1f\x8b\x08\x00 compressed",
        b"",
    ],
    ids=["billion-laughs", "nested-10k", "not-svg", "broken", "svgz", "empty"],
)
def test_unusable_svg_is_refused_with_a_reason(data):
    with pytest.raises(BadImage):
        clean_svg(data)


def test_unusable_svg_file_leaves_its_alt_text_and_a_warning(write_book, build_book):
    nested = b"<svg xmlns='http://www.w3.org/2000/svg'>" + b"<g>" * 10_000 + b"</g>" * 10_000 + b"</svg>"
    epub, warnings = build_book(write_book({"a.md": "# A\n\n![Deep drawing](deep.svg)\n", "deep.svg": nested}))
    assert [w for w in warnings if "deep.svg" in w and "left out" in w]
    assert "Deep drawing" in epub.files[epub.body_documents()[0]].decode()
    assert not [item for item in epub.manifest.values() if item.get("media-type") == "image/svg+xml"]

"""The Kobo edition (KEPUB): the same book, marked up the way Kobo's own engine wants it.

A file named `*.kepub.epub` opens in Kobo's engine rather than the older Adobe one, which
gives reading statistics and better page turns, provided every sentence is wrapped in
`<span class="koboSpan" id="kobo.P.S">` (P counts blocks, S sentences in a block) and the
body's content sits in `div#book-columns > div#book-inner`. The words stay exactly the same.

Those ids are Kobo's: a heading called "Book inner" (id `book-inner`) or an id such as
`kobo.2.1` would be a second element with the same id. Such ids are renamed by one rule
(`kobo_id`: an underscore in front) in every document, link and table-of-contents entry alike,
so every link still arrives where it did in the EPUB.
"""

from __future__ import annotations

import re
from urllib.parse import unquote, urlsplit

from lxml import etree

from ..model import Book, ContentDocument, TocEntry

XHTML = "http://www.w3.org/1999/xhtml"
_X = f"{{{XHTML}}}"
_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=True)
# Blocks whose text is counted as one paragraph (P) of Kobo's numbering.
_BLOCKS = frozenset(
    _X + name
    for name in "p h1 h2 h3 h4 h5 h6 li dt dd td th caption figcaption pre blockquote div aside section "
    "header footer figure address summary details".split()
)
_LEAVE_ALONE = frozenset(f"{_X}{name}" for name in ("script", "style", "nav"))
# A sentence ends at . ! ? or an ellipsis, with any closing quotes or brackets, before whitespace.
_SENTENCE_END = re.compile(r"""[.!?\u2026]+["'\u2019\u201d)\]]*\s+""")
_KOBO_IDS = frozenset({"book-columns", "book-inner"})
_ESCAPE = "_"
_XLINK_HREF = "{http://www.w3.org/1999/xlink}href"
_ID_LISTS = ("headers", "for", "aria-labelledby", "aria-describedby", "aria-controls", "aria-owns", "aria-flowto")
_SVG_URL = re.compile(r"url\(\s*#([^)\s]+)\s*\)")


def kepub_document(document: ContentDocument) -> ContentDocument:
    """A content document with Kobo's sentence spans (the cover page needs none)."""
    if document.kind == "cover":
        return document
    root = etree.fromstring(document.data, _PARSER)
    body = root.find(f"{_X}body")
    if body is None:
        return document
    _rename_kobo_ids(root)
    _Spanner().wrap(body)
    columns = etree.Element(f"{_X}div", id="book-columns")
    inner = etree.SubElement(columns, f"{_X}div", id="book-inner")
    inner.text, body.text = body.text, None
    for child in list(body):
        inner.append(child)
    body.append(columns)
    data = etree.tostring(root, xml_declaration=True, encoding="utf-8", doctype="<!DOCTYPE html>")
    return document._replace(
        data=data.replace(b"<?xml version='1.0' encoding='utf-8'?>", b'<?xml version="1.0" encoding="utf-8"?>', 1),
    )


def kepub_book(book: Book) -> Book:
    """The book's description for the Kobo edition: contents entries follow the renamed ids."""
    return book._replace(toc=tuple(_kobo_toc_entry(entry) for entry in book.toc))


def kobo_id(value: str) -> str:
    """An id that is never one of Kobo's own, and never the same for two different ids.

    Kobo's ids (`book-columns`, `book-inner`, `kobo.*`) and ids that already start with the
    escape get it put in front; all others stay as they are."""
    if value in _KOBO_IDS or value.lower().startswith("kobo.") or value.startswith(_ESCAPE):
        return _ESCAPE + value
    return value


def _kobo_href(href: str) -> str:
    """A link into the book, pointed at its target's id as renamed (other links unchanged)."""
    path, hash_mark, fragment = href.partition("#")
    if not hash_mark or not fragment:
        return href
    parts = urlsplit(path)
    if parts.scheme or parts.netloc or (path and not path.endswith(".xhtml")):
        return href
    renamed = kobo_id(unquote(fragment))
    return href if renamed == unquote(fragment) else f"{path}#{_ESCAPE}{fragment}"


def _kobo_toc_entry(entry: TocEntry) -> TocEntry:
    children = tuple(_kobo_toc_entry(child) for child in entry.children)
    return entry._replace(href=_kobo_href(entry.href), children=children)


def _rename_kobo_ids(root: etree._Element) -> None:
    """Rename ids that would collide with Kobo's, and every reference to an id to match."""
    for element in root.iter():
        if not isinstance(element.tag, str):
            continue
        for name, value in element.attrib.items():
            if name == "id":
                renamed = kobo_id(value)
            elif name in ("href", _XLINK_HREF):
                renamed = _kobo_href(value)
            elif name in _ID_LISTS:
                renamed = " ".join(kobo_id(token) for token in value.split())
            elif "url(" in value and not element.tag.startswith(_X):
                renamed = _SVG_URL.sub(lambda match: f"url(#{kobo_id(match.group(1))})", value)
            else:
                continue
            if renamed != value:
                element.set(name, renamed)


class _Spanner:
    """Numbers blocks and sentences in reading order, wrapping each sentence's text in place."""

    def __init__(self) -> None:
        self.paragraph = 0
        self.sentence = 0

    def wrap(self, element: etree._Element) -> None:
        if element.tag in _LEAVE_ALONE or not element.tag.startswith(_X):
            return  # scripts, the nav, inline SVG and MathML
        if element.tag in _BLOCKS:
            self.paragraph += 1
            self.sentence = 0
        if element.tag == f"{_X}img":
            self._wrap_element(element)
            return
        children = list(element)
        if element.text and element.text.strip():
            spans = self._spans(element.text)
            element.text = None
            for index, span in enumerate(spans):
                element.insert(index, span)
        for child in children:
            self.wrap(child)
            if child.tail and child.tail.strip():
                spans = self._spans(child.tail)
                child.tail = None
                for span in reversed(spans):
                    child.addnext(span)
        if element.tag in _BLOCKS:
            self.paragraph += 1  # text after a nested block belongs to a new paragraph
            self.sentence = 0

    def _spans(self, text: str) -> list[etree._Element]:
        spans = []
        start = 0
        for match in _SENTENCE_END.finditer(text):
            spans.append(self._span(text[start : match.end()]))
            start = match.end()
        if start < len(text):
            if text[start:].strip() or not spans:
                spans.append(self._span(text[start:]))
            else:
                spans[-1].text += text[start:]
        return spans

    def _span(self, text: str) -> etree._Element:
        self.sentence += 1
        span = etree.Element(f"{_X}span", {"class": "koboSpan", "id": f"kobo.{self.paragraph}.{self.sentence}"})
        span.text = text
        return span

    def _wrap_element(self, element: etree._Element) -> None:
        parent = element.getparent()
        self.sentence += 1
        span = etree.Element(f"{_X}span", {"class": "koboSpan", "id": f"kobo.{self.paragraph}.{self.sentence}"})
        span.tail, element.tail = element.tail, None
        parent.replace(element, span)
        span.append(element)

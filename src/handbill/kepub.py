"""The Kobo edition (KEPUB): the same book, marked up the way Kobo's own engine wants it.

A file named `*.kepub.epub` opens in Kobo's engine rather than the older Adobe one, which
gives reading statistics and better page turns, provided every sentence is wrapped in
`<span class="koboSpan" id="kobo.P.S">` (P counts blocks, S sentences in a block) and the
body's content sits in `div#book-columns > div#book-inner`. The words stay exactly the same.
"""

from __future__ import annotations

import re

from lxml import etree

from .book import ContentDocument

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


def kepub_document(document: ContentDocument) -> ContentDocument:
    """A content document with Kobo's sentence spans (the cover page needs none)."""
    if document.kind == "cover":
        return document
    root = etree.fromstring(document.data, _PARSER)
    body = root.find(f"{_X}body")
    if body is None:
        return document
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

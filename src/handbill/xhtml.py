"""The small XHTML-writing helpers every stage uses: escaping, ids, pages, serialising, text.

In: strings and lxml elements. Out: escaped text, safe ids, whole XHTML pages and serialised
markup. Cleaning what Markdown made is handbill.render's job (sanitize, repair, foreign).
"""

from __future__ import annotations

import re

from lxml import etree, html

from .languages import is_right_to_left

SVG_NS = "http://www.w3.org/2000/svg"
MATHML_NS = "http://www.w3.org/1998/Math/MathML"
XLINK_NS = "http://www.w3.org/1999/xlink"

PHRASING = frozenset(
    "a abbr b bdi bdo br cite code data del dfn em i img ins kbd mark q rp rt ruby s samp "
    "small span strong sub sup time u var wbr svg math".split()
)

# Characters an id may not hold: a link to it (in the text, the contents, the NCX) would need
# them escaped, and readers differ in how they unescape a fragment.
_ID_UNSAFE = re.compile(r'[\s#%"<>\\^`{|}\[\]\x00-\x1f\x7f]+')


def safe_id(value: str) -> str:
    """An id as written, with what a URL fragment cannot carry plainly replaced by '-'."""
    return _ID_UNSAFE.sub("-", value.strip())


def unwrap(element: html.HtmlElement) -> None:
    """Replace an element by its children and text."""
    parent = element.getparent()
    if parent is None:
        return
    element.drop_tag()


def drop_keep_tail(element: html.HtmlElement, keep_text: str = "") -> None:
    """Remove an element and everything inside it, keeping the text that follows it."""
    parent = element.getparent()
    if parent is None:
        return
    following = keep_text + (element.tail or "")
    previous = element.getprevious()
    if previous is not None:
        previous.tail = (previous.tail or "") + following
    else:
        parent.text = (parent.text or "") + following
    parent.remove(element)


def text_of(element: html.HtmlElement) -> str:
    """The text a reader sees in an element, whitespace collapsed."""
    return " ".join(etree.tostring(element, method="text", encoding="unicode", with_tail=False).split())


def escape(text: str) -> str:
    """Text for XML content (xml.sax.saxutils would import urllib: 15 ms of start-up)."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def quoteattr(value: str) -> str:
    """A double-quoted XML attribute value."""
    return '"' + escape(value).replace('"', "&quot;") + '"'


def language_attributes(language: str, direction: str | None = None, around: str = "ltr") -> str:
    """lang, xml:lang (both: readers differ in which they read) and dir when the text's direction
    (`direction`, else the language's: see handbill.languages) is not that of what is `around` it."""
    attributes = f" lang={quoteattr(language)} xml:lang={quoteattr(language)}"
    if direction is None:
        direction = "rtl" if is_right_to_left(language) else "ltr"
    if direction != around:
        attributes += f" dir={quoteattr(direction)}"
    return attributes


def page(
    title: str,
    language: str,
    stylesheets: list[str],
    body_type: str,
    body: str,
    body_class: str | None = None,
    direction: str | None = None,
) -> bytes:
    """A complete XHTML content document around an already serialised body (`direction`: the
    book's, when book.toml chose it; else the language's)."""
    links = "".join(f'<link rel="stylesheet" type="text/css" href={quoteattr(href)}/>' for href in stylesheets)
    css_class = f" class={quoteattr(body_class)}" if body_class else ""
    return (
        '<?xml version="1.0" encoding="utf-8"?>\n<!DOCTYPE html>\n'
        '<html xmlns="http://www.w3.org/1999/xhtml" xmlns:epub="http://www.idpf.org/2007/ops"'
        f"{language_attributes(language, direction)}>\n"
        f'<head>\n<meta charset="utf-8"/>\n<title>{escape(title)}</title>\n{links}\n</head>\n'
        f'<body epub:type="{body_type}"{css_class}>\n{body}\n</body>\n</html>\n'
    ).encode()


def serialize(element: etree._Element) -> str:
    """One element as XML text (the caller places it inside an XHTML document)."""
    return etree.tostring(element, encoding="unicode", method="xml", with_tail=False)

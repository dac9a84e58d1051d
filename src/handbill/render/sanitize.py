"""Turn whatever HTML Markdown produced (raw HTML included) into XHTML an EPUB accepts.

Python-Markdown passes raw HTML through unchecked, so the rendered text is parsed
with libxml2's forgiving HTML parser (no DTDs, no entities, no network), then
cleaned: active content removed, unknown elements unwrapped with their text kept,
attributes limited to what EPUB's XHTML allows, and content models repaired
(no block inside a paragraph, lists hold items, tables hold rows), so every
document serialises as well-formed, valid XHTML.

In: the HTML Python-Markdown made. Out: a `<div>` element holding the cleaned blocks, and a
Report of what was changed (warned once per kind). SVG and MathML go to foreign, the content
model to repair.
"""

from __future__ import annotations

import logging
import re

from lxml import etree, html

from ..config import XML_FORBIDDEN
from ..xhtml import PHRASING, drop_keep_tail, unwrap
from .attributes import ALLOWED_ATTRIBUTES, GLOBAL_ATTRIBUTES, attribute_value
from .foreign import clean_foreign
from .repair import repair_tree

log = logging.getLogger(__name__)

_PARSER = html.HTMLParser(
    remove_comments=True, remove_pis=True, no_network=True, remove_blank_text=False, huge_tree=True
)
# Every element an HtmlElement, chosen in C: lxml.html's own lookup is a Python call for each
# element Python touches (200,000 calls, 0.1 s, in a 5 MB book), to find form-field classes
# this code never uses.
_PARSER.set_element_class_lookup(
    etree.ElementDefaultClassLookup(
        element=html.HtmlElement, comment=html.HtmlComment, pi=html.HtmlProcessingInstruction, entity=html.HtmlEntity
    )
)
MAX_DEPTH = 200
"""Deeper nesting than this is refused: no reader lays it out, and it is a classic attack."""
# Declarations in raw HTML (never in code: Markdown has escaped those): a content document may
# not carry a DOCTYPE with an internal subset, and entities are never expanded.
_DECLARATION = re.compile(r"<!(?:ENTITY|ELEMENT|ATTLIST|NOTATION)\b(?:\"[^\"]*\"|'[^']*'|[^>\"'])*>", re.I)
_DOCTYPE = re.compile(r"<!DOCTYPE\b[^>\[]*(?:>|(\[))", re.I)
_SUBSET_END = re.compile(r"\]\s*(?:>|&gt;)")

FLOW_ONLY = frozenset(
    "address article aside blockquote details div dl dd dt figcaption figure footer h1 h2 h3 "
    "h4 h5 h6 header hgroup hr li main nav ol p pre section summary table caption colgroup col "
    "thead tbody tfoot tr td th ul".split()
)
ALLOWED = PHRASING | FLOW_ONLY
# Removed with everything inside them: they run code or show nothing a reader can read.
DROP_WITH_CONTENT = frozenset(
    "script style iframe frame frameset embed applet template head title meta link base "
    "input select option optgroup datalist keygen param source track map area dialog".split()
)
# Unwrapped: the element goes, the fallback text inside it (meant for readers without it) stays.
FALLBACK_ONLY = frozenset("object audio video canvas picture".split())
VOID = frozenset("br wbr img hr col".split())
_VOID_DROPPED = frozenset("embed input source track param area base link meta keygen".split())


class TooDeep(ValueError):
    """Raised for HTML nested deeper than MAX_DEPTH."""


class Report:
    """Collects what cleaning changed, to warn once per kind rather than once per element."""

    def __init__(self) -> None:
        self.dropped: dict[str, int] = {}

    def note(self, what: str) -> None:
        self.dropped[what] = self.dropped.get(what, 0) + 1

    def warn(self, where: str) -> None:
        for what, count in sorted(self.dropped.items()):
            times = f" ({count} times)" if count > 1 else ""
            log.warning("%s: %s%s", where, what, times)


def parse_fragment(markup: str) -> html.HtmlElement:
    """Parse rendered HTML into a `<div>` holding its top-level blocks."""
    markup = _CHARACTER_REFERENCE.sub(_allowed_reference, _strip_declarations(markup))
    markup = XML_FORBIDDEN.sub("", markup)
    if len(markup) > _LONG_TAG:
        markup = _START_TAG.sub(_uncrowded, markup)
    document = html.document_fromstring(f"<html><body><div>{markup}</div></body></html>", _PARSER)
    body = document.body
    container = body[0] if len(body) and body[0].tag == "div" else body
    # Anything raw HTML pushed out of our wrapper (a stray </div>) comes back in, in order.
    if container is not body:
        for sibling in list(container.itersiblings()):
            container.append(sibling)
        if body.text and body.text.strip():
            container.text = body.text + (container.text or "")
    container.tail = None
    return container


MAX_ATTRIBUTES = 1000
"""A start tag with more attributes loses them all: lxml's parser takes time in proportion to the
square of their number (50,000 take minutes), and no real tag comes near."""
_LONG_TAG = 8 * MAX_ATTRIBUTES  # shorter tags cannot hold that many attributes
_START_TAG = re.compile(r"<([A-Za-z][^\s/<>]*)(\s[^<>]{" + str(_LONG_TAG) + ",})>")


# One attribute, `name`, `name=value`, `name="value"` or `name='value'`: each match takes what it
# reads for good, so counting them is linear.
_ATTRIBUTE = re.compile(r"""[^\s/>"'=]+(?:\s*=\s*(?:"[^"]*"|'[^']*'|[^\s"'>]*))?""")


def _uncrowded(match: re.Match[str]) -> str:
    if len(_ATTRIBUTE.findall(match.group(2))) <= MAX_ATTRIBUTES:
        return match.group()
    log.warning("a <%s> tag with over %d attributes: they are removed", match.group(1)[:40], MAX_ATTRIBUTES)
    return f"<{match.group(1)}>"


_CHARACTER_REFERENCE = re.compile(r"&#(?:[xX]([0-9A-Fa-f]+)|([0-9]+));?")
# Raw control characters: Python-Markdown's own placeholders (\x02, \x03) can leak from odd
# raw HTML, and XML allows none of them.


def _allowed_reference(match: re.Match[str]) -> str:
    """Character references to what XML forbids (&#0;, &#12;, &#xFFFE;, surrogates) go."""
    code = int(match.group(1), 16) if match.group(1) else int(match.group(2))
    if code in (0x9, 0xA, 0xD) or 0x20 <= code <= 0xD7FF or 0xE000 <= code <= 0xFFFD or 0x10000 <= code <= 0x10FFFF:
        return match.group(0)
    return ""


def _strip_declarations(markup: str) -> str:
    if "<!" not in markup:
        return markup
    subsets = 0

    def doctype(match: re.Match[str]) -> str:
        nonlocal subsets
        subsets += bool(match.group(1))
        return ""

    markup = _DECLARATION.sub("", _DOCTYPE.sub(doctype, markup))
    if subsets:
        markup = _SUBSET_END.sub("", markup, count=subsets)
    return markup


def clean(container: html.HtmlElement, report: Report) -> None:
    """Make the tree safe and valid for an EPUB content document, in place."""
    _clean_children(container, report, 0)
    repair_tree(container, report, phrasing_only=False)


_QUIETLY_UNWRAPPED = frozenset("html body font center big tt strike nobr noscript".split())


def _clean_children(parent: html.HtmlElement, report: Report, depth: int) -> None:
    if depth > MAX_DEPTH:
        raise TooDeep(f"HTML nested more than {MAX_DEPTH} levels deep")
    for element in list(parent):
        if not isinstance(element.tag, str):  # comments and processing instructions
            drop_keep_tail(element)
            continue
        tag = element.tag.lower()
        if tag in ("svg", "math"):
            clean_foreign(element, report)
            continue
        if tag in DROP_WITH_CONTENT:
            report.note(f"removed <{tag}> and its content")
            if tag in _VOID_DROPPED:
                _clean_children(element, report, depth + 1)
                unwrap(element)  # void: anything "inside" was put there by the parser
            else:
                drop_keep_tail(element)
            continue
        _clean_children(element, report, depth + 1)
        if tag in FALLBACK_ONLY:
            report.note(f"removed <{tag}>, kept its fallback text")
            unwrap(element)
            continue
        if tag not in ALLOWED:
            if tag not in _QUIETLY_UNWRAPPED:
                report.note(f"unknown element <{tag}> unwrapped, its text kept")
            unwrap(element)
            continue
        _clean_attributes(element, tag, report)
        if tag in VOID and (element.text or len(element)):
            _empty_void(element)


def _empty_void(element: html.HtmlElement) -> None:
    """The parser may put content inside <wbr> or <br>; it belongs after them."""
    empty = html.Element(element.tag, dict(element.attrib))
    element.addprevious(empty)
    element.drop_tag()


def _clean_attributes(element: html.HtmlElement, tag: str, report: Report) -> None:
    allowed = ALLOWED_ATTRIBUTES.get(tag, GLOBAL_ATTRIBUTES)
    attributes = element.attrib.items()
    kept: list[tuple[str, str]] = []
    for name, value in attributes:
        keep = attribute_value(name, value, allowed)
        if keep is not None:
            kept.append((name, keep))
        if keep is None:
            if name.startswith("on"):
                report.note("removed event-handler attributes")
            elif name == "style":
                report.note("removed inline style attributes")
            elif name in allowed and allowed[name] not in ("text", "drop"):
                report.note(f"removed {name}={value!r} from <{tag}>: not a valid {allowed[name]}")
        elif keep != value and name == "id" and keep != value.strip():
            report.note(f"changed id {value!r} to {keep!r}: a link could not name it")
        elif keep != value.strip() and allowed.get(name) == "language":
            report.note(f"changed {name}={value!r} to {keep!r}: BCP 47 writes de-DE, not de_DE")
    if kept != attributes:  # all at once: deleting one by one takes time in proportion to all of them
        element.attrib.clear()
        element.attrib.update(kept)
    if tag == "a" and not _safe_href(element.get("href")):
        report.note("removed a link with an unsafe address (javascript:, data:, ...)")
        del element.attrib["href"]
    if tag == "img":
        if not element.get("src"):
            report.note("removed an image with no src")
            drop_keep_tail(element, keep_text=element.get("alt", ""))
            return
        if element.get("alt") is None:
            element.set("alt", "")
    if element.get("lang"):
        element.set("{http://www.w3.org/XML/1998/namespace}lang", element.get("lang"))


_SAFE_SCHEMES = ("http:", "https:", "mailto:", "tel:", "ftp:")


def _safe_href(href: str | None) -> bool:
    if href is None:
        return True
    scheme = re.match(r"^\s*([A-Za-z][A-Za-z0-9+.-]*):", href)
    return scheme is None or (scheme.group(1).lower() + ":") in _SAFE_SCHEMES

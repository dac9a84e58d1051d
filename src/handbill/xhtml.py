"""Turn whatever HTML Markdown produced (raw HTML included) into XHTML an EPUB accepts.

Python-Markdown passes raw HTML through unchecked, so the rendered text is parsed
with libxml2's forgiving HTML parser (no DTDs, no entities, no network), then
cleaned: active content removed, unknown elements unwrapped with their text kept,
attributes limited to what EPUB's XHTML allows, and content models repaired
(no block inside a paragraph, lists hold items, tables hold rows), so every
document serialises as well-formed, valid XHTML.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable

from lxml import etree, html

log = logging.getLogger("handbill")

SVG_NS = "http://www.w3.org/2000/svg"
MATHML_NS = "http://www.w3.org/1998/Math/MathML"
XLINK_NS = "http://www.w3.org/1999/xlink"

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

PHRASING = frozenset(
    "a abbr b bdi bdo br cite code data del dfn em i img ins kbd mark q rp rt ruby s samp "
    "small span strong sub sup time u var wbr svg math".split()
)
FLOW_ONLY = frozenset(
    "address article aside blockquote details div dl dd dt figcaption figure footer h1 h2 h3 "
    "h4 h5 h6 header hgroup hr li main nav ol p pre section summary table caption colgroup col "
    "thead tbody tfoot tr td th ul".split()
)
ALLOWED = PHRASING | FLOW_ONLY
# Elements whose children may only be phrasing content.
PHRASING_PARENTS = frozenset("p h1 h2 h3 h4 h5 h6 pre dt summary caption ".split()) | (PHRASING - {"ins", "del"})
# Removed with everything inside them: they run code or show nothing a reader can read.
DROP_WITH_CONTENT = frozenset(
    "script style iframe frame frameset embed applet template head title meta link base "
    "input select option optgroup datalist keygen param source track map area dialog".split()
)
# Unwrapped: the element goes, the fallback text inside it (meant for readers without it) stays.
FALLBACK_ONLY = frozenset("object audio video canvas picture".split())
VOID = frozenset("br wbr img hr col".split())
_VOID_DROPPED = frozenset("embed input source track param area base link meta keygen".split())

GLOBAL_ATTRIBUTES = frozenset("id class title lang dir hidden epub:type aria-label".split())
ELEMENT_ATTRIBUTES = {
    "a": {"href", "hreflang", "rel", "type"},
    "img": {"src", "alt", "width", "height"},
    "ol": {"start", "reversed", "type"},
    "li": {"value"},
    "td": {"colspan", "rowspan", "headers"},
    "th": {"colspan", "rowspan", "headers", "scope", "abbr"},
    "col": {"span"},
    "colgroup": {"span"},
    "del": {"datetime"},
    "ins": {"datetime"},
    "time": {"datetime"},
    "data": {"value"},
    "details": {"open"},
}
_WHOLE_NUMBER = re.compile(r"^\d{1,6}$")
_NUMERIC_ATTRIBUTES = {"width", "height", "colspan", "rowspan", "span", "start", "value"}
_DATA_ATTRIBUTE = re.compile(r"^data-[a-z0-9_.-]+$")
_LANGUAGE = re.compile(r"^[A-Za-z]{2,3}(?:-[A-Za-z0-9]{1,8})*$")
_ENUMERATED = {
    "dir": {"ltr", "rtl", "auto"},
    "scope": {"row", "col", "rowgroup", "colgroup"},
    "type": {"1", "a", "A", "i", "I"},
}


def _names(words: str) -> dict[str, str]:
    """Lower-case name -> proper name: the HTML parser lower-cases SVG's camelCase."""
    return {name.lower(): name for name in words.split()}


_FOREIGN_ACTIVE = frozenset("script style foreignobject annotation-xml maction iframe".split())
_SVG_ELEMENTS = _names(
    "svg g defs symbol use path rect circle ellipse line polyline polygon text tspan textPath "
    "title desc linearGradient radialGradient stop clipPath mask pattern marker"
)
_SVG_ATTRIBUTES = _names(
    "id class x y x1 y1 x2 y2 cx cy r rx ry fx fy width height d points transform viewBox "
    "preserveAspectRatio fill fill-opacity fill-rule stroke stroke-width stroke-linecap "
    "stroke-linejoin stroke-dasharray stroke-opacity opacity font-family font-size font-weight "
    "font-style text-anchor dominant-baseline offset stop-color stop-opacity gradientUnits "
    "gradientTransform spreadMethod clip-path clip-rule clipPathUnits mask maskUnits "
    "marker-start marker-mid marker-end markerWidth markerHeight refX refY orient patternUnits "
    "patternTransform dx dy rotate textLength lengthAdjust startOffset visibility version"
)
_SVG_TEXT = frozenset("text tspan textPath title desc".split())
_MATHML_ELEMENTS = _names(
    "math mi mn mo ms mtext mspace mrow mfrac msqrt mroot mstyle merror mpadded mphantom "
    "mfenced menclose msub msup msubsup munder mover munderover mmultiscripts mprescripts none "
    "mtable mtr mtd semantics annotation"
)
_MATHML_ATTRIBUTES = _names(
    "id class display dir mathvariant mathsize displaystyle scriptlevel fence separator "
    "stretchy symmetric largeop movablelimits accent accentunder form lspace rspace "
    "linethickness notation columnalign rowalign columnspan rowspan open close separators "
    "width height depth encoding alttext"
)
_MATHML_TEXT = frozenset("mi mn mo ms mtext annotation".split())


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
    markup = _CONTROL.sub("", markup)
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


_CHARACTER_REFERENCE = re.compile(r"&#(?:[xX]([0-9A-Fa-f]+)|([0-9]+));?")
# Raw control characters: Python-Markdown's own placeholders (\x02, \x03) can leak from odd
# raw HTML, and XML allows none of them.
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


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
    _repair(container, report, phrasing_only=False)


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
            _clean_foreign(element, report)
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
    allowed = _ALLOWED_ATTRIBUTES.get(tag, GLOBAL_ATTRIBUTES)
    for name, value in element.attrib.items():  # lxml gives a list: the loop may change attributes
        keep = _attribute_value(name, value, allowed, tag)
        if keep is None:
            del element.attrib[name]
            if name.startswith("on"):
                report.note("removed event-handler attributes")
            elif name == "style":
                report.note("removed inline style attributes")
        elif keep != value:
            element.set(name, keep)
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


_ALLOWED_ATTRIBUTES = {tag: GLOBAL_ATTRIBUTES | names for tag, names in ELEMENT_ATTRIBUTES.items()}


def _attribute_value(name: str, value: str, allowed: set[str] | frozenset[str], tag: str) -> str | None:
    """The value to keep for an attribute, or None to drop it."""
    if not (name in allowed or _DATA_ATTRIBUTE.match(name)):
        return None
    value = value.strip() if name != "alt" and name != "title" else value
    if name == "id":
        value = re.sub(r"\s+", "-", value)
        return value or None
    if name in _NUMERIC_ATTRIBUTES:
        if not _WHOLE_NUMBER.match(value) or (name in ("colspan", "span") and int(value) < 1):
            return None
        return str(min(int(value), 1000 if name in ("colspan", "span") else 65534))
    if name in _ENUMERATED and not (tag != "ol" and name == "type"):
        return value if value in _ENUMERATED[name] else None
    if name in ("lang", "hreflang"):
        return value if _LANGUAGE.match(value) else None
    if name in ("hidden", "reversed", "open"):
        return name
    if name == "headers":
        return None  # IDREFS that rarely survive splitting
    return value


_SAFE_SCHEMES = ("http:", "https:", "mailto:", "tel:", "ftp:")


def _safe_href(href: str | None) -> bool:
    if href is None:
        return True
    scheme = re.match(r"^\s*([A-Za-z][A-Za-z0-9+.-]*):", href)
    return scheme is None or (scheme.group(1).lower() + ":") in _SAFE_SCHEMES


def _clean_foreign(root: html.HtmlElement, report: Report) -> None:
    """Inline SVG and MathML: into their namespaces, active parts removed, attributes limited.

    Markup that a reading system's SVG or MathML schema would still reject (unknown elements,
    text where none may stand) is replaced by its text, so the reader keeps the words.
    """
    is_svg = root.tag.lower() == "svg"
    namespace, elements, attributes, text_holders = (
        (SVG_NS, _SVG_ELEMENTS, _SVG_ATTRIBUTES, _SVG_TEXT)
        if is_svg
        else (MATHML_NS, _MATHML_ELEMENTS, _MATHML_ATTRIBUTES, _MATHML_TEXT)
    )
    language = "inline SVG" if is_svg else "MathML"
    valid = True
    for element in list(root.iter()):
        if element.getparent() is None and element is not root:
            continue  # inside something already removed
        if not isinstance(element.tag, str):
            drop_keep_tail(element)
            continue
        local = element.tag.rsplit("}", 1)[-1].lower()
        if local in _FOREIGN_ACTIVE:
            report.note(f"removed <{local}> from {language}")
            drop_keep_tail(element)
            continue
        if local not in elements:
            valid = False
            break
        element.tag = f"{{{namespace}}}{elements[local]}"
        for name, value in list(element.attrib.items()):
            del element.attrib[name]
            lowered = name.lower()
            if lowered in ("href", "xlink:href"):
                if is_svg and value.startswith("#"):
                    element.set(f"{{{XLINK_NS}}}href", value)
            elif lowered in attributes:
                if lowered == "id":
                    value = re.sub(r"\s+", "-", value.strip())
                if value:
                    element.set(attributes[lowered], value)
    if valid:
        valid = all(
            element.tag.rsplit("}", 1)[-1] in text_holders
            or (not (element.text or "").strip() and all(not (child.tail or "").strip() for child in element))
            for element in root.iter()
        )
    if not valid:
        report.note(f"{language} that EPUB would reject was replaced by its text")
        span = html.Element("span")
        span.text = text_of(root)
        span.tail = root.tail
        root.getparent().replace(root, span)
        return
    nsmap = {None: namespace, "xlink": XLINK_NS} if is_svg else {None: namespace}
    copy = etree.Element(root.tag, dict(root.attrib), nsmap=nsmap)
    _copy_into(root, copy)
    copy.tail = root.tail
    root.getparent().replace(root, copy)


def _copy_into(source: etree._Element, target: etree._Element) -> None:
    """Copy children under a parent that declares the namespace, so it serialises as <svg>,
    not <ns0:svg>."""
    target.text = source.text
    for child in source:
        copy = etree.SubElement(target, child.tag, dict(child.attrib))
        _copy_into(child, copy)
        copy.tail = child.tail


def _repair(parent: html.HtmlElement, report: Report, phrasing_only: bool) -> None:
    """Fix content models top-down, so that repaired children are checked again in place."""
    if isinstance(parent.tag, str) and parent.tag.startswith("{"):
        return  # SVG or MathML, cleaned on its own terms
    tag = parent.tag
    if tag in ("ul", "ol"):
        _wrap_loose(parent, "li")
    elif tag == "dl":
        _wrap_loose(parent, "dd", keep=("dt", "dd"))
        if len(parent) and parent[0].tag != "dt":  # a description before any term: not a list
            _rename(parent, "div")
            for child in parent:
                _rename(child, "div")
            tag = "div"
    elif tag in ("thead", "tbody", "tfoot"):
        _wrap_loose(parent, "tr", inner="td")
    elif tag == "tr":
        _wrap_loose(parent, "td", keep=("td", "th"))
    for table in [child for child in parent if child.tag == "table"]:
        _repair_table(table)  # before the loop below, which then sees what moved out
    for child in list(parent):
        child_tag = child.tag
        if isinstance(child_tag, str) and child_tag.startswith("{"):
            continue
        if phrasing_only and child_tag not in PHRASING:
            _to_span(child)
        elif child_tag == "a" and _inside(child, "a"):
            _to_span(child)
        elif child_tag in ("li",) and tag not in ("ul", "ol"):
            _rename(child, "div")
        elif child_tag in ("dt", "dd") and tag != "dl":
            _rename(child, "div")
        elif child_tag in ("thead", "tbody", "tfoot", "tr", "td", "th", "caption", "colgroup") and not _fits_table(
            child_tag, tag
        ):
            _rename(child, "div")
        elif child_tag == "col" and tag != "colgroup":
            drop_keep_tail(child)
            continue
        elif child_tag in ("figcaption",) and tag != "figure":
            _rename(child, "div")
        elif child_tag == "summary" and tag != "details":
            _rename(child, "div")
        elif child_tag in ("rt", "rp") and tag != "ruby":
            _rename(child, "span")
        elif child_tag == "ruby" and child.find("rt") is None:
            _rename(child, "span")
        elif child_tag == "details" and (len(child) == 0 or child[0].tag != "summary" or (child.text or "").strip()):
            _rename(child, "div")
        elif child_tag in ("main", "hgroup"):
            _rename(child, "div")
        elif child_tag in ("header", "footer") and _inside(child, "header", "footer"):
            _rename(child, "div")
        elif child_tag == "address" and _inside(child, "address"):
            _rename(child, "div")
        _repair(child, report, phrasing_only or child.tag in PHRASING_PARENTS)


def _fits_table(child: str, parent: str) -> bool:
    if child in ("thead", "tbody", "tfoot", "caption", "colgroup"):
        return parent == "table"
    if child == "tr":
        return parent in ("table", "thead", "tbody", "tfoot")
    return parent == "tr"


def _repair_table(table: html.HtmlElement) -> None:
    """A table holds only its own parts; stray content moves before it, loose rows get a tbody."""
    if table.text and table.text.strip():
        table.addprevious(_paragraph(table.text))
    table.text = None
    for child in list(table):
        if child.tag not in ("caption", "colgroup", "thead", "tbody", "tfoot", "tr"):
            table.addprevious(child)  # its tail text moves with it
        elif child.tail and child.tail.strip():
            table.addprevious(_paragraph(child.tail))
            child.tail = None
    kinds = {child.tag for child in table}
    if "tr" in kinds and kinds & {"tbody", "thead", "tfoot"}:
        body = None
        for child in list(table):
            if child.tag == "tr":
                if body is None:
                    body = html.Element("tbody")
                    child.addprevious(body)
                body.append(child)
            else:
                body = None
    # caption first, thead before bodies, tfoot last: reorder without losing anything.
    order = {"caption": 0, "colgroup": 1, "thead": 2, "tbody": 3, "tr": 3, "tfoot": 4}
    children = sorted(list(table), key=lambda child: order[child.tag])
    seen_caption = seen_head = seen_foot = False
    for child in children:
        if child.tag == "caption":
            if seen_caption:
                _rename(child, "tbody")
                _wrap_children(child, "tr", "td")
            seen_caption = True
        elif child.tag == "thead":
            if seen_head:
                child.tag = "tbody"
            seen_head = True
        elif child.tag == "tfoot":
            if seen_foot:
                child.tag = "tbody"
            seen_foot = True
    for child in children:
        table.append(child)


def _paragraph(text: str) -> html.HtmlElement:
    paragraph = html.Element("p")
    paragraph.text = text
    return paragraph


def _wrap_children(element: html.HtmlElement, *tags: str) -> None:
    inner = html.Element(tags[-1])
    inner.text = element.text
    element.text = None
    for child in list(element):
        inner.append(child)
    for tag in reversed(tags[:-1]):
        outer = html.Element(tag)
        outer.append(inner)
        inner = outer
    element.append(inner)


def _wrap_loose(parent: html.HtmlElement, wrapper: str, keep: Iterable[str] = (), inner: str | None = None) -> None:
    """Children a list, table row or table section may not hold directly go into `wrapper`."""
    allowed = set(keep) or {wrapper}

    def holder(text: str | None = None) -> tuple[html.HtmlElement, html.HtmlElement]:
        """A new `wrapper` (around an `inner` cell, for table sections) and where content goes."""
        outer = target = html.Element(wrapper)
        if inner is not None:
            target = html.Element(inner)
            outer.append(target)
        target.text = text
        return outer, target

    if parent.text and parent.text.strip():
        parent.insert(0, holder(parent.text)[0])
    parent.text = None
    for child in list(parent):
        tail, child.tail = child.tail, None
        if child.tag not in allowed:
            outer, target = holder()
            child.addprevious(outer)
            target.append(child)
            child = outer
        if tail and tail.strip():
            child.addnext(holder(tail)[0])


def _inside(element: html.HtmlElement, *tags: str) -> bool:
    return any(ancestor.tag in tags for ancestor in element.iterancestors())


def _to_span(element: html.HtmlElement) -> None:
    if element.tag in ("br", "img", "wbr"):
        return
    if element.tag == "hr":
        drop_keep_tail(element)
        return
    _rename(element, "span")


def _rename(element: html.HtmlElement, tag: str) -> None:
    element.tag = tag
    allowed = GLOBAL_ATTRIBUTES | ELEMENT_ATTRIBUTES.get(tag, set())
    for name in list(element.attrib):
        if name not in allowed and not _DATA_ATTRIBUTE.match(name) and not name.startswith("{"):
            del element.attrib[name]


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


RIGHT_TO_LEFT = frozenset("ar arc dv fa he ks ku-arab ps sd ug ur yi".split())


def language_attributes(language: str) -> str:
    """lang, xml:lang (both: readers differ in which they read) and dir for right-to-left scripts."""
    attributes = f" lang={quoteattr(language)} xml:lang={quoteattr(language)}"
    if is_right_to_left(language):
        attributes += ' dir="rtl"'
    return attributes


def is_right_to_left(language: str) -> bool:
    lowered = language.lower()
    return lowered.split("-")[0] in RIGHT_TO_LEFT or lowered.startswith("ku-arab") or "-arab" in lowered


def page(
    title: str,
    language: str,
    stylesheets: list[str],
    body_type: str,
    body: str,
    body_class: str | None = None,
) -> bytes:
    """A complete XHTML content document around an already serialised body."""
    links = "".join(f'<link rel="stylesheet" type="text/css" href={quoteattr(href)}/>' for href in stylesheets)
    css_class = f" class={quoteattr(body_class)}" if body_class else ""
    return (
        '<?xml version="1.0" encoding="utf-8"?>\n<!DOCTYPE html>\n'
        '<html xmlns="http://www.w3.org/1999/xhtml" xmlns:epub="http://www.idpf.org/2007/ops"'
        f"{language_attributes(language)}>\n"
        f'<head>\n<meta charset="utf-8"/>\n<title>{escape(title)}</title>\n{links}\n</head>\n'
        f'<body epub:type="{body_type}"{css_class}>\n{body}\n</body>\n</html>\n'
    ).encode()


def serialize(element: etree._Element) -> str:
    """One element as XML text (the caller places it inside an XHTML document)."""
    return etree.tostring(element, encoding="unicode", method="xml", with_tail=False)

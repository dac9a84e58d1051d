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
from collections.abc import Callable, Iterable
from typing import NamedTuple

from lxml import etree, html

from .config import XML_FORBIDDEN
from .languages import is_language_tag

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
# Removed with everything inside them: they run code or show nothing a reader can read.
DROP_WITH_CONTENT = frozenset(
    "script style iframe frame frameset embed applet template head title meta link base "
    "input select option optgroup datalist keygen param source track map area dialog".split()
)
# Unwrapped: the element goes, the fallback text inside it (meant for readers without it) stays.
FALLBACK_ONLY = frozenset("object audio video canvas picture".split())
VOID = frozenset("br wbr img hr col".split())
_VOID_DROPPED = frozenset("embed input source track param area base link meta keygen".split())

# -- attributes: which each element may carry, and the form each value must take -------------

_WHOLE_NUMBER = re.compile(r"^\d{1,6}$")
# Patterns for rarer values stay strings: `re` compiles each on first use (and caches it), so a
# book that never has one pays nothing at start-up.
_INTEGER = r"-?\d{1,6}"
_DATA_ATTRIBUTE = re.compile(r"^data-[a-z0-9_.-]+$")
_NAME_TOKEN = r"[\w.:\-\u00b7\u0300-\u036f\u203f\u2040]+"  # XML's NMTOKEN
_MIME_TYPE = r"[a-zA-Z0-9!#$&+\-^_]+/[a-zA-Z0-9!#$&+\-^_]+(?:\s*;.*)?"
# Characters an id may not hold: a link to it (in the text, the contents, the NCX) would need
# them escaped, and readers differ in how they unescape a fragment.
_ID_UNSAFE = re.compile(r'[\s#%"<>\\^`{|}\[\]\x00-\x1f\x7f]+')


Check = Callable[[str], "str | None"]
"""A check of one attribute value: the value to keep (normalised), or None to drop it."""


def _whole(value: str, low: int, high: int) -> str | None:
    """A whole number in [low, high] (larger ones are clamped), or None."""
    if not _WHOLE_NUMBER.match(value) or int(value) < low:
        return None
    return str(min(int(value), high))


def _integer(value: str) -> str | None:
    return str(max(-65534, min(int(value), 65534))) if re.fullmatch(_INTEGER, value) else None


def safe_id(value: str) -> str:
    """An id as written, with what a URL fragment cannot carry plainly replaced by '-'."""
    return _ID_UNSAFE.sub("-", value.strip())


def _one_of(*words: str, fold: bool = True) -> Check:
    """One of `words`; HTML's keywords match whatever their case (fold=False: the case counts)."""
    allowed = frozenset(words)
    if not fold:
        return lambda value: value if value in allowed else None
    return lambda value: value.lower() if value.lower() in allowed else None


VALUE_KINDS: dict[str, Check] = {
    "text": lambda value: value,
    "id": lambda value: safe_id(value) or None,
    "tokens": lambda value: " ".join(token for token in value.split() if re.fullmatch(_NAME_TOKEN, token)) or None,
    "language": lambda value: value if is_language_tag(value) else None,
    "MIME type": lambda value: value if re.fullmatch(_MIME_TYPE, value, re.S) else None,
    "integer": _integer,
    "count": lambda value: _whole(value, 0, 65534),
    "span": lambda value: _whole(value, 1, 1000),
    "direction": _one_of("ltr", "rtl", "auto"),
    "explicit direction": _one_of("ltr", "rtl"),
    "scope": _one_of("row", "col", "rowgroup", "colgroup"),
    "list style": _one_of("1", "a", "A", "i", "I", fold=False),
    "date or time": lambda value: value if is_datetime(value) else None,
    "date with optional time": lambda value: value if is_datetime(value, ("date", "global")) else None,
    "drop": lambda value: None,  # headers: IDREFS that rarely survive splitting
}
"""The kinds of attribute value, each with its check. A "boolean" attribute is not checked but
written as its own name (`hidden="hidden"`), as XML requires."""

GLOBAL_ATTRIBUTES = {
    "id": "id",
    "class": "text",
    "title": "text",
    "lang": "language",
    "dir": "direction",
    "hidden": "boolean",
    "epub:type": "tokens",
    "aria-label": "text",
}
ELEMENT_ATTRIBUTES = {
    "a": {"href": "text", "hreflang": "language", "rel": "text", "type": "MIME type"},
    "img": {"src": "text", "alt": "text", "width": "count", "height": "count"},
    "ol": {"start": "integer", "reversed": "boolean", "type": "list style"},
    "li": {"value": "integer"},
    "td": {"colspan": "span", "rowspan": "count", "headers": "drop"},
    "th": {"colspan": "span", "rowspan": "count", "headers": "drop", "scope": "scope"},
    "col": {"span": "span"},
    "colgroup": {"span": "span"},
    "del": {"datetime": "date with optional time"},
    "ins": {"datetime": "date with optional time"},
    "time": {"datetime": "date or time"},
    "data": {"value": "text"},
    "details": {"open": "boolean"},
    "bdo": {"dir": "explicit direction"},
}
"""Attributes beyond the global ones, by element, each with the kind of value it takes."""
_UNTRIMMED = frozenset({"alt", "title"})

# The date and time forms of HTML's <time> that EPUBCheck accepts: a year (four digits), a month,
# a date, a yearless date, a time, a date and time (with or without a zone), a week, a duration.
_DATE = r"(?P<year>\d{4,})-(?P<month>\d\d)-(?P<day>\d\d)"
_TIME = r"(?P<hour>\d\d):(?P<minute>\d\d)(?::(?P<second>\d\d)(?:\.\d{1,3})?)?"
_ZONE = r"(?:Z|[+-](?P<zone_hour>\d\d):?(?P<zone_minute>\d\d))"
_SECONDS = r"\d+(?:\.\d{1,3})?S"
_DATETIME_FORMS = {
    "year": r"(?P<year>\d{4})",
    "month": r"(?P<year>\d{4,})-(?P<month>\d\d)",
    "date": _DATE,
    "yearless": r"(?:--)?(?P<month>\d\d)-(?P<day>\d\d)",
    "time": _TIME,
    "local": _DATE + "[T ]" + _TIME,
    "global": _DATE + "[T ]" + _TIME + _ZONE,
    "week": r"(?P<year>\d{4,})-W(?P<week>\d\d)",
    "duration": (
        rf"P(?:\d+D|(?:\d+D)?T(?:\d+H(?:\d+M)?(?:{_SECONDS})?|\d+M(?:{_SECONDS})?|{_SECONDS}))"
        r"|(?: *(?:\d+ *[WDHM]|\d+(?:\.\d{1,3})? *S) *)+"
    ),
}
_DAYS_IN_MONTH = (31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)


def is_datetime(value: str, forms: Iterable[str] = _DATETIME_FORMS) -> bool:
    """Whether `value` is one of HTML's date and time forms, with every field in range."""
    for form in forms:
        match = re.fullmatch(_DATETIME_FORMS[form], value)
        if match is None:
            continue
        fields = {name: int(number) for name, number in match.groupdict().items() if number is not None}
        year, month, day = fields.get("year", 2000), fields.get("month", 1), fields.get("day", 1)
        leap = year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)
        if (
            year > 0
            and 1 <= month <= 12
            and 1 <= day <= (_DAYS_IN_MONTH[month - 1] if month != 2 or leap or "year" not in fields else 28)
            and fields.get("hour", 0) <= 23
            and fields.get("minute", 0) <= 59
            and fields.get("second", 0) <= 59
            and fields.get("zone_hour", 0) <= 23
            and fields.get("zone_minute", 0) <= 59
            and 1 <= fields.get("week", 1) <= 53
        ):
            return True
    return False


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
_MATHML_LENGTH = (
    r"\s*(?:-?[0-9]*(?:[0-9]\.?|\.[0-9])[0-9]*(?:e[mx]|in|cm|mm|p[xtc]|%)?"
    r"|(?:negative)?(?:(?:very){0,2}thi(?:n|ck)|medium)mathspace)\s*"
)
_TRUE_OR_FALSE = _one_of("true", "false")


def _mathml_length(*keywords: str) -> Check:
    words = _one_of(*keywords) if keywords else VALUE_KINDS["drop"]
    return lambda value: value if re.fullmatch(_MATHML_LENGTH, value) else words(value)


def _keywords(*words: str) -> Check:
    """A list of one or more keywords (columnalign="left right")."""
    allowed = frozenset(words)
    return lambda value: " ".join(value.split()) if value.split() and set(value.split()) <= allowed else None


_MATHML_VALUES = {
    "id": VALUE_KINDS["id"],
    "class": VALUE_KINDS["tokens"],
    "dir": VALUE_KINDS["explicit direction"],
    "display": _one_of("block", "inline"),
    "mathvariant": _one_of(
        *"normal bold italic bold-italic double-struck bold-fraktur script bold-script fraktur sans-serif "
        "bold-sans-serif sans-serif-italic sans-serif-bold-italic monospace initial tailed looped stretched".split()
    ),
    "mathsize": _mathml_length("small", "normal", "big"),
    "form": _one_of("prefix", "infix", "postfix"),
    "scriptlevel": lambda value: value if re.fullmatch(r"[+-]?\d{1,6}", value) else None,
    "columnspan": VALUE_KINDS["span"],
    "rowspan": VALUE_KINDS["span"],
    "linethickness": _mathml_length("thin", "medium", "thick"),
    "columnalign": _keywords("left", "center", "right"),
    "rowalign": _keywords("top", "bottom", "center", "baseline", "axis"),
    **dict.fromkeys("lspace rspace width height depth".split(), _mathml_length()),
    **dict.fromkeys(
        "displaystyle fence separator stretchy symmetric largeop movablelimits accent accentunder".split(),
        _TRUE_OR_FALSE,
    ),
}
"""The MathML attributes whose values EPUBCheck checks, each with its check (others are text)."""
_MATHML_SINGLE = frozenset({("mtd", "columnalign"), ("mtd", "rowalign"), ("mtr", "rowalign")})
"""Where columnalign or rowalign takes one keyword, not a list."""
_MATHML_TOKEN = "mathvariant mathsize dir"
_MATHML_STYLE = (
    "scriptlevel displaystyle accent accentunder close columnalign columnspan depth dir fence form height largeop "
    "linethickness lspace mathsize mathvariant movablelimits notation open rowalign rowspan rspace separator "
    "separators stretchy symmetric width"
)
_MATHML_ELEMENT_ATTRIBUTES = {
    tag: frozenset(f"id class {names}".split())
    for tag, names in {
        "math": _MATHML_STYLE + " display alttext",
        "mstyle": _MATHML_STYLE,
        "mi": _MATHML_TOKEN,
        "mn": _MATHML_TOKEN,
        "mtext": _MATHML_TOKEN,
        "ms": _MATHML_TOKEN,
        "mo": _MATHML_TOKEN + " form fence separator lspace rspace stretchy symmetric largeop movablelimits accent",
        "mspace": _MATHML_TOKEN + " width height depth",
        "mrow": "dir",
        "mfrac": "linethickness",
        "mpadded": "height depth width lspace",
        "mfenced": "open close separators",
        "menclose": "notation",
        "munder": "accentunder",
        "mover": "accent",
        "munderover": "accent accentunder",
        "mtable": "rowalign columnalign width displaystyle",
        "mtr": "rowalign columnalign",
        "mtd": "rowspan columnspan rowalign columnalign",
        "semantics": "encoding",
        "annotation": "encoding",
    }.items()
}
"""Which of the MathML attributes each element may carry (MathML 3, as EPUBCheck checks it);
elements not named here carry only id and class."""
_MATHML_ARITY = {"mfrac": 2, "mroot": 2, "msub": 2, "msup": 2, "munder": 2, "mover": 2, "msubsup": 3, "munderover": 3}
"""Elements that take exactly this many children (a fraction: numerator and denominator)."""
_MATHML_PARENTS = {"mtr": "mtable", "mtd": "mtr", "annotation": "semantics", "mprescripts": "mmultiscripts"}
"""Elements that stand only directly inside one other."""
_MATHML_ONLY_CHILDREN = {"mtable": frozenset({"mtr"}), "mtr": frozenset({"mtd"})}


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


# -- the content model: where each element may stand and what it must hold -----------------


class Model(NamedTuple):
    """The rules for one element (HTML, as EPUBCheck 5.3 checks it). An element that breaks
    one becomes its fallback, its content kept."""

    parents: frozenset[str] | None = None
    """It stands only directly inside one of these (None: anywhere; empty: nowhere)."""
    not_inside: frozenset[str] = frozenset()
    """It never stands inside one of these, at any depth."""
    requires: tuple[str, ...] = ()
    """Attributes it cannot stand without (after their values were checked)."""
    or_text_alone: bool = False
    """Without them, it still stands while it holds text alone (a <time> that is a date)."""
    must_hold: str | None = None
    """A child it cannot stand without."""
    first: str | None = None
    """A child it must start with, before any text."""
    fallback: str | None = "div"
    """What it becomes where it cannot stand (None: it goes with its content)."""
    phrasing: bool = False
    """It holds phrasing content only: any other child becomes a <span>."""
    children: frozenset[str] = frozenset()
    """The only children it holds (empty: any of its category)."""
    wrap: tuple[str, ...] = ()
    """Other children and loose text go into these (outermost first)."""
    groups: tuple[str, str] | None = None
    """Its children come as runs of the first, each followed by a run of the second."""
    once: frozenset[str] = frozenset()
    """Children it holds at most once."""
    at_edge: frozenset[str] = frozenset()
    """Children that stand first or last, nowhere else."""
    order: tuple[str, ...] = ()
    """The order its children come in."""
    childless_only: tuple[str, ...] = ()
    """Attributes it keeps only while it has no children."""
    attributes_inside: dict[str, frozenset[str]] = {}
    """Attributes it keeps only directly inside one of these (an <li>'s value: in an <ol>)."""
    attributes_beside: dict[str, str] = {}
    """Attributes it keeps only beside another (an <a>'s rel and type: with an href)."""


def _set(words: str) -> frozenset[str]:
    return frozenset(words.split())


_ANYWHERE = Model()
_TABLE_PARTS = "caption colgroup thead tbody tr tfoot"
_SECTION = Model(parents=_set("table"), children=_set("tr"), wrap=("tr", "td"))
CONTENT_MODEL: dict[str, Model] = {
    **{tag: Model(phrasing=True) for tag in PHRASING - {"ins", "del"}},
    **{tag: Model(phrasing=True) for tag in "p h1 h2 h3 h4 h5 h6 pre".split()},
    "ul": Model(children=_set("li"), wrap=("li",)),
    "ol": Model(children=_set("li"), wrap=("li",)),
    "li": Model(parents=_set("ul ol"), attributes_inside={"value": _set("ol")}),
    "dl": Model(children=_set("dt dd"), wrap=("dd",), groups=("dt", "dd")),
    "dt": Model(parents=_set("dl"), phrasing=True),
    "dd": Model(parents=_set("dl")),
    "table": Model(children=_set(_TABLE_PARTS), once=_set("caption thead tfoot"), order=tuple(_TABLE_PARTS.split())),
    "caption": Model(parents=_set("table"), phrasing=True),
    "colgroup": Model(parents=_set("table"), children=_set("col"), childless_only=("span",)),
    "col": Model(parents=_set("colgroup"), fallback=None),
    "thead": _SECTION,
    "tbody": _SECTION,
    "tfoot": _SECTION,
    "tr": Model(parents=_set("table thead tbody tfoot"), children=_set("td th"), wrap=("td",)),
    "td": Model(parents=_set("tr")),
    "th": Model(parents=_set("tr")),
    "figure": Model(once=_set("figcaption"), at_edge=_set("figcaption")),
    "figcaption": Model(parents=_set("figure")),
    "details": Model(first="summary", once=_set("summary")),
    "summary": Model(parents=_set("details"), phrasing=True),
    "ruby": Model(must_hold="rt", fallback="span", phrasing=True),
    "rt": Model(parents=_set("ruby"), fallback="span", phrasing=True),
    "rp": Model(parents=_set("ruby"), fallback="span", phrasing=True),
    "a": Model(
        not_inside=_set("a"),
        fallback="span",
        phrasing=True,
        attributes_beside=dict.fromkeys(("rel", "type", "hreflang"), "href"),
    ),
    "dfn": Model(not_inside=_set("dfn"), fallback="span", phrasing=True),
    "bdo": Model(requires=("dir",), fallback="span", phrasing=True),
    "data": Model(requires=("value",), fallback="span", phrasing=True),
    "time": Model(requires=("datetime",), or_text_alone=True, fallback="span", phrasing=True),
    # main may stand once in a document, and a split chapter is several; hgroup has changed meaning.
    "main": Model(parents=frozenset()),
    "hgroup": Model(parents=frozenset()),
    "header": Model(not_inside=_set("header footer address")),
    "footer": Model(not_inside=_set("header footer address")),
    "address": Model(not_inside=_set("address")),
}
"""Element -> its rules. Elements not named here stand anywhere their category allows."""
PHRASING_PARENTS = frozenset(tag for tag, model in CONTENT_MODEL.items() if model.phrasing)
"""Elements whose children may only be phrasing content."""


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
    attributes = element.attrib.items()
    kept: list[tuple[str, str]] = []
    for name, value in attributes:
        keep = _attribute_value(name, value, allowed)
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


_ALLOWED_ATTRIBUTES = {tag: GLOBAL_ATTRIBUTES | kinds for tag, kinds in ELEMENT_ATTRIBUTES.items()}


def _attribute_value(name: str, value: str, allowed: dict[str, str]) -> str | None:
    """The value to keep for an attribute, or None to drop it."""
    kind = allowed.get(name)
    if kind is None:
        return value.strip() if _DATA_ATTRIBUTE.match(name) else None
    if kind == "boolean":
        return name
    return VALUE_KINDS[kind](value if name in _UNTRIMMED else value.strip())


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
                if is_svg and value.strip().startswith("#"):
                    element.set(f"{{{XLINK_NS}}}href", "#" + safe_id(value.strip()[1:]))
            elif lowered in attributes and (
                is_svg or lowered in _MATHML_ELEMENT_ATTRIBUTES.get(local, ("id", "class"))
            ):
                kept = _foreign_value(lowered, value, is_svg, local)
                if kept:
                    element.set(attributes[lowered], kept)
                elif value.strip():
                    report.note(f"removed {lowered}={value!r} from {language} <{local}>: not a valid value")
    if valid:
        valid = all(
            element.tag.rsplit("}", 1)[-1] in text_holders
            or (not (element.text or "").strip() and all(not (child.tail or "").strip() for child in element))
            for element in root.iter()
        )
    if valid and not is_svg:
        valid = all(_mathml_fits(element) for element in root.iter())
    if not valid:
        report.note(f"{language} that EPUB would reject was replaced by its text")
        span = html.Element("span")
        span.text = text_of(root)
        span.tail = root.tail
        root.getparent().replace(root, span)
        return
    if is_svg:
        _svg_references(root, report)
    nsmap = {None: namespace, "xlink": XLINK_NS} if is_svg else {None: namespace}
    copy = etree.Element(root.tag, dict(root.attrib), nsmap=nsmap)
    _copy_into(root, copy)
    copy.tail = root.tail
    root.getparent().replace(root, copy)


_SVG_URL = re.compile(r"url\(\s*['\"]?([^)'\"]*)['\"]?\s*\)", re.I)


_SVG_SHAPES = frozenset("svg g symbol use path rect circle ellipse line polyline polygon text".split())
_SVG_PAINT = frozenset("linearGradient radialGradient pattern".split())
_SVG_TARGETS = {
    "use": _SVG_SHAPES,
    "textPath": frozenset({"path"}),
    "fill": _SVG_PAINT,
    "stroke": _SVG_PAINT,
    "clip-path": frozenset({"clipPath"}),
    "mask": frozenset({"mask"}),
    "marker-start": frozenset({"marker"}),
    "marker-mid": frozenset({"marker"}),
    "marker-end": frozenset({"marker"}),
}
"""What an SVG reference may name: a <use> a shape, a fill a gradient or pattern, and so on."""


def _svg_references(root: html.HtmlElement, report: Report) -> None:
    """An SVG may point only at its own parts (`#id`, `url(#id)`) of the right kind: a reference
    to anything else would load a remote resource, or name an id that is not there (split off,
    or never written), or name the wrong kind of thing."""
    kinds = {element.get("id"): element.tag.rsplit("}", 1)[-1] for element in root.iter() if element.get("id")}

    def fits(target: str, referrer: str) -> bool:
        return target.startswith("#") and kinds.get(safe_id(target[1:])) in _SVG_TARGETS.get(referrer, _SVG_SHAPES)

    href = f"{{{XLINK_NS}}}href"
    for element in root.iter():
        target = element.get(href)
        if target is not None and not fits(target, element.tag.rsplit("}", 1)[-1]):
            report.note(f"removed a link in inline SVG to {target!r}: it names nothing of the right kind there")
            del element.attrib[href]
        for name, value in element.attrib.items():
            urls = _SVG_URL.findall(value)
            if any(not fits(url, name) for url in urls):
                report.note(f"removed {name}={value!r} from inline SVG: it names nothing of the right kind there")
                del element.attrib[name]
            elif urls:  # the ids were made safe: so are the references to them
                element.set(name, _SVG_URL.sub(lambda match: f"url(#{safe_id(match.group(1)[1:])})", value))


def _mathml_fits(element: etree._Element) -> bool:
    """Whether a MathML element has the children it needs, where it may stand."""
    local = element.tag.rsplit("}", 1)[-1]
    parent = element.getparent()
    if local in _MATHML_PARENTS and (parent is None or parent.tag.rsplit("}", 1)[-1] != _MATHML_PARENTS[local]):
        return False
    children = [child.tag.rsplit("}", 1)[-1] for child in element]
    if local in _MATHML_ONLY_CHILDREN and not set(children) <= _MATHML_ONLY_CHILDREN[local]:
        return False
    if local == "semantics" and (not children or "annotation" in children[:1] or set(children[1:]) - {"annotation"}):
        return False  # what the annotations describe, then the annotations
    return local not in _MATHML_ARITY or len(children) == _MATHML_ARITY[local]


def _foreign_value(name: str, value: str, is_svg: bool, local: str) -> str | None:
    """An SVG or MathML attribute's value to keep, or None."""
    if name == "id":
        return safe_id(value) or None
    check = None if is_svg else _MATHML_VALUES.get(name)
    if check is None:
        return value
    kept = check(value.strip())
    if kept and (local, name) in _MATHML_SINGLE and " " in kept:
        return None
    return kept


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
    model = CONTENT_MODEL.get(parent.tag, _ANYWHERE)
    if model.wrap:
        _wrap_loose(parent, model.wrap[0], keep=model.children, inner=model.wrap[1] if len(model.wrap) > 1 else None)
    if model.groups:
        model = _group(parent, model, report)
    for name in model.childless_only:
        if len(parent) and parent.get(name) is not None:
            report.note(f"removed {name} from <{parent.tag}>: its children give the columns")
            del parent.attrib[name]
    _limit_children(parent, model, report)
    for table in [child for child in parent if child.tag == "table"]:
        _repair_table(table, report)  # before the loop below, which then sees what moved out
    for child in list(parent):
        if isinstance(child.tag, str) and child.tag.startswith("{"):
            continue
        if phrasing_only and child.tag not in PHRASING:
            _to_span(child)
        else:
            problem = _misplaced(child, parent.tag)
            if problem is not None and not _fall_back(child, problem, report):
                continue
            _attributes_in_context(child, parent.tag, report)
        _repair(child, report, phrasing_only or child.tag in PHRASING_PARENTS)


def _misplaced(element: html.HtmlElement, parent: str) -> str | None:
    """Why `element` cannot stand where it is under the content model, or None if it can."""
    model = CONTENT_MODEL.get(element.tag)
    if model is None:
        return None
    if model.parents is not None and parent not in model.parents:
        return "outside " + ", ".join(f"<{tag}>" for tag in sorted(model.parents)) if model.parents else "in a chapter"
    if model.not_inside:
        ancestor = next((a.tag for a in element.iterancestors() if a.tag in model.not_inside), None)
        if ancestor is not None:
            return f"inside <{ancestor}>"
    missing = [name for name in model.requires if element.get(name) is None]
    if missing and not (model.or_text_alone and len(element) == 0):
        return f"without a valid {missing[0]}"
    if model.must_hold and element.find(model.must_hold) is None:
        return f"without <{model.must_hold}>"
    if model.first and (not len(element) or element[0].tag != model.first or (element.text or "").strip()):
        return f"not starting with <{model.first}>"
    return None


def _attributes_in_context(element: html.HtmlElement, parent: str, report: Report) -> None:
    """Drop the attributes that mean nothing where the element stands or beside what it has."""
    model = CONTENT_MODEL.get(element.tag)
    if model is None:
        return
    for name, parents in model.attributes_inside.items():
        if name in element.attrib and parent not in parents:
            report.note(f"removed {name} from <{element.tag}> outside " + ", ".join(f"<{p}>" for p in sorted(parents)))
            del element.attrib[name]
    for name, needed in model.attributes_beside.items():
        if name in element.attrib and needed not in element.attrib:
            report.note(f"removed {name} from <{element.tag}> without {needed}")
            del element.attrib[name]


def _fall_back(element: html.HtmlElement, problem: str, report: Report) -> bool:
    """Replace a misplaced element by its fallback; False if it is gone altogether."""
    fallback = CONTENT_MODEL[element.tag].fallback
    if fallback is None:
        report.note(f"removed <{element.tag}> {problem}")
        drop_keep_tail(element)
        return False
    report.note(f"<{element.tag}> {problem} became <{fallback}>")
    _rename(element, fallback)
    return True


def _limit_children(parent: html.HtmlElement, model: Model, report: Report) -> None:
    """Children allowed once (a second <summary>) or only first or last (<figcaption>) fall back."""
    for tag in model.once | model.at_edge:
        found = [child for child in parent if child.tag == tag]
        if not found:
            continue
        keep: html.HtmlElement | None = found[0]
        if tag in model.at_edge:
            elements = [child for child in parent if isinstance(child.tag, str)]
            keep = next((child for child in found if child is elements[0] or child is elements[-1]), None)
        where = f"a second time in <{parent.tag}>" if keep is not None else f"in the middle of <{parent.tag}>"
        for extra in found:
            if extra is not keep:
                _fall_back(extra, where, report)


def _group(parent: html.HtmlElement, model: Model, report: Report) -> Model:
    """Children in groups (a <dl>: terms, then their descriptions). A list that starts with a
    description is no such list; a term left without one gets an empty description."""
    leader, follower = model.groups or ("", "")
    if len(parent) and parent[0].tag != leader:
        report.note(f"<{parent.tag}> not starting with <{leader}> became <div>")
        _rename(parent, "div")
        for child in parent:
            _rename(child, "div")
        return _ANYWHERE
    for child in list(parent):
        following = child.getnext()
        if child.tag == leader and (following is None or following.tag not in (leader, follower)):
            report.note(f"<{leader}> without <{follower}> got an empty one")
            child.addnext(html.Element(follower))
    return model


def _repair_table(table: html.HtmlElement, report: Report) -> None:
    """A table holds only its own parts; stray content moves before it, loose rows get a tbody."""
    model = CONTENT_MODEL["table"]
    if table.text and table.text.strip():
        table.addprevious(_paragraph(table.text))
    table.text = None
    for child in list(table):
        if child.tag not in model.children:
            table.addprevious(child)  # its tail text moves with it
            if child.tag == "table":
                _repair_table(child, report)
            continue
        _move_text_before(child, table)
        if child.tag == "colgroup":  # columns only: no text, no other element
            if child.text and child.text.strip():
                table.addprevious(_paragraph(child.text))
                child.text = None
            columns = CONTENT_MODEL["colgroup"].children
            for inner in list(child):
                if inner.tag in columns:
                    _move_text_before(inner, table)
                else:
                    table.addprevious(inner)
    # A second caption, head or foot is one more body; then loose rows go into bodies of their own.
    for tag in model.once:
        for extra in [child for child in table if child.tag == tag][1:]:
            report.note(f"<{tag}> a second time in <table> became <tbody>")
            _rename(extra, "tbody")
            if tag == "caption":
                _wrap_children(extra, "tr", "td")
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
    for child in sorted(list(table), key=lambda child: model.order.index(child.tag)):
        table.append(child)


def _move_text_before(element: html.HtmlElement, table: html.HtmlElement) -> None:
    """Text after a table's part (where a table holds none) goes before the table."""
    if element.tail and element.tail.strip():
        table.addprevious(_paragraph(element.tail))
        element.tail = None


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
    allowed = _ALLOWED_ATTRIBUTES.get(tag, GLOBAL_ATTRIBUTES)
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

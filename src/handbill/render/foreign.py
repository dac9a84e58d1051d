"""Inline SVG and MathML: into their namespaces, active parts removed, attributes limited.

In: an `<svg>` or `<math>` element the HTML parser made, and the Report. Out: the element
replaced in place by a namespaced copy a reading system accepts, or by its text.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from lxml import etree, html

from ..xhtml import MATHML_NS, SVG_NS, XLINK_NS, drop_keep_tail, safe_id, text_of
from .attributes import VALUE_KINDS, Check, one_of

if TYPE_CHECKING:
    from .sanitize import Report


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
_TRUE_OR_FALSE = one_of("true", "false")


def _mathml_length(*keywords: str) -> Check:
    words = one_of(*keywords) if keywords else VALUE_KINDS["drop"]
    return lambda value: value if re.fullmatch(_MATHML_LENGTH, value) else words(value)


def _keywords(*words: str) -> Check:
    """A list of one or more keywords (columnalign="left right")."""
    allowed = frozenset(words)
    return lambda value: " ".join(value.split()) if value.split() and set(value.split()) <= allowed else None


_MATHML_VALUES = {
    "id": VALUE_KINDS["id"],
    "class": VALUE_KINDS["tokens"],
    "dir": VALUE_KINDS["explicit direction"],
    "display": one_of("block", "inline"),
    "mathvariant": one_of(
        *"normal bold italic bold-italic double-struck bold-fraktur script bold-script fraktur sans-serif "
        "bold-sans-serif sans-serif-italic sans-serif-bold-italic monospace initial tailed looped stretched".split()
    ),
    "mathsize": _mathml_length("small", "normal", "big"),
    "form": one_of("prefix", "infix", "postfix"),
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


def clean_foreign(root: html.HtmlElement, report: Report) -> None:
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

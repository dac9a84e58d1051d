"""SVG image files (`![chart](chart.svg)`), made safe to embed.

An SVG is a program as much as a picture: it may run scripts, react to events, load other
files, embed HTML, or expand entities into gigabytes. It is parsed with libxml2 without DTDs,
entity expansion, network or huge-tree allowances (so nesting is bounded), and written out again
without any of that: no DOCTYPE, no scripts or animation, no `on*` attributes, no foreign
objects or foreign-namespace elements, no reference that is not to a part of itself (`#id`) or a
raster `data:` image, no `<style>` or `style` that imports or loads anything.

In: the file's bytes. Out: the cleaned SVG's bytes, or BadImage saying why it cannot be used.
"""

from __future__ import annotations

import re

from lxml import etree

from .images import BadImage
from .xhtml import SVG_NS, XLINK_NS

MAX_SVG_ELEMENTS = 200_000
"""An SVG with more elements than this is left out (a chart has a few thousand)."""

_DROPPED = frozenset(
    "script foreignObject handler listener animate animateColor animateMotion animateTransform set discard "
    "iframe embed object audio video canvas".split()
)
"""Elements that run code, animate (an animation may set an attribute to a script address) or
hold other kinds of content: removed with everything inside them."""
_RASTER_DATA = re.compile(r"^\s*data:image/(?:png|jpeg|gif|webp)[;,]", re.I)
_URL = re.compile(r"url\(\s*(['\"]?)\s*([^)'\"]*)", re.I)
_LOADS = re.compile(r"@import|expression\s*\(|javascript:", re.I)


def looks_like_svg(data: bytes, name: str) -> bool:
    if name.lower().endswith((".svg", ".svgz")):
        return True
    head = data[:512].lstrip(b"\xef\xbb\xbf \t\r\n")
    return head.startswith((b"<svg", b"<?xml")) and b"<svg" in data[:4096]


def clean_svg(data: bytes) -> bytes:
    """The SVG with nothing active or external left; BadImage when it is not a readable SVG."""
    if data[:2] == b"\x1f\x8b":
        raise BadImage("a compressed SVG (.svgz): save it as plain .svg")
    parser = etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        dtd_validation=False,
        huge_tree=False,
        remove_comments=True,
        remove_pis=True,
        strip_cdata=True,
    )
    try:
        root = etree.fromstring(data, parser)
    except (etree.XMLSyntaxError, ValueError) as error:
        raise BadImage(f"not a readable SVG ({str(error)[:80]})") from None
    if root.tag == "svg":  # written without its namespace: everything unprefixed is SVG
        for element in root.iter():
            if isinstance(element.tag, str) and not element.tag.startswith("{"):
                element.tag = f"{{{SVG_NS}}}{element.tag}"
    if root.tag != f"{{{SVG_NS}}}svg":
        raise BadImage("not an SVG image (its root is not <svg>)")
    if sum(1 for _ in root.iter()) > MAX_SVG_ELEMENTS:
        raise BadImage(f"an SVG with more than {MAX_SVG_ELEMENTS:,} elements")
    _clean_attributes(root)
    _clean_children(root)
    _check_references(root)
    # A fresh document: no DOCTYPE or internal subset is carried over.
    clean = etree.fromstring(etree.tostring(root))
    etree.cleanup_namespaces(clean)  # an editor's namespaces, now unused
    return etree.tostring(clean, xml_declaration=True, encoding="utf-8")


def _clean_children(parent: etree._Element) -> None:
    """(Nesting is bounded: libxml2 refuses documents deeper than 256 without huge_tree.)"""
    for element in list(parent):
        if not isinstance(element.tag, str) or not element.tag.startswith(f"{{{SVG_NS}}}"):
            _remove(element)  # entity references, and elements of other vocabularies (HTML, editors' metadata)
            continue
        local = element.tag[len(SVG_NS) + 2 :]
        if local in _DROPPED or (local == "style" and _LOADS.search(_external_css(element.text or ""))):
            _remove(element)
            continue
        _clean_attributes(element)
        _clean_children(element)


def _check_references(root: etree._Element) -> None:
    """A reference must name a part of the right kind (a <use> a shape, a fill a gradient...):
    a reading system (and EPUBCheck) rejects one that names nothing, or the wrong thing."""
    from .render.foreign import _SVG_SHAPES, _SVG_TARGETS

    kinds = {element.get("id"): element.tag.rsplit("}", 1)[-1] for element in root.iter() if element.get("id")}
    for element in root.iter():
        local = element.tag.rsplit("}", 1)[-1]
        for name, value in list(element.attrib.items()):
            attribute = name.rsplit("}", 1)[-1]
            if attribute == "href" and value.strip().startswith("#"):
                wanted = _SVG_TARGETS.get(local) if local in ("use", "textPath") else None
                if wanted is not None and kinds.get(value.strip()[1:]) not in wanted:
                    del element.attrib[name]
                continue
            for match in _URL.finditer(value):
                target = kinds.get(match.group(2).strip()[1:])
                if target is None or target not in _SVG_TARGETS.get(attribute, _SVG_SHAPES | _PAINT_AND_CLIP):
                    del element.attrib[name]
                    break


_PAINT_AND_CLIP = frozenset("linearGradient radialGradient pattern clipPath mask marker filter".split())


def _remove(element: etree._Element) -> None:
    parent = element.getparent()
    if parent is None:
        return
    tail = element.tail
    if tail:
        previous = element.getprevious()
        if previous is not None:
            previous.tail = (previous.tail or "") + tail
        else:
            parent.text = (parent.text or "") + tail
    parent.remove(element)


def _external_css(text: str) -> str:
    """CSS with `url(#id)` taken out: what is left loads something if it has `url(` or `@import`."""
    return _URL.sub(lambda match: "" if match.group(2).strip().startswith("#") else "url(javascript:", text)


def _clean_attributes(element: etree._Element) -> None:
    for name, value in list(element.attrib.items()):
        local = name.rsplit("}", 1)[-1].lower()
        namespace = name[1:].split("}", 1)[0] if name.startswith("{") else ""
        keep = namespace in ("", XLINK_NS, "http://www.w3.org/XML/1998/namespace")
        if local.startswith("on"):
            keep = False
        elif local == "href":
            keep = value.strip().startswith("#") or (element.tag.endswith("}image") and bool(_RASTER_DATA.match(value)))
        elif "url(" in value.lower() or "@import" in value.lower() or "javascript:" in value.lower():
            keep = not _LOADS.search(_external_css(value))
        elif namespace == XLINK_NS:
            keep = local == "title"
        if not keep:
            del element.attrib[name]

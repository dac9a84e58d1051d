"""The content model: where each element may stand and what it must hold, as a table of rules.

In: a cleaned tree (known elements, checked attributes) and the Report. Out: the same tree,
repaired in place (no block inside a paragraph, lists hold items, tables hold rows), so it
serialises as valid XHTML.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, NamedTuple

from lxml import html

from ..xhtml import PHRASING, drop_keep_tail
from .attributes import ALLOWED_ATTRIBUTES, DATA_ATTRIBUTE, GLOBAL_ATTRIBUTES

if TYPE_CHECKING:
    from .sanitize import Report


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


def repair_tree(parent: html.HtmlElement, report: Report, phrasing_only: bool) -> None:
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
        repair_tree(child, report, phrasing_only or child.tag in PHRASING_PARENTS)


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
    allowed = ALLOWED_ATTRIBUTES.get(tag, GLOBAL_ATTRIBUTES)
    for name in list(element.attrib):
        if name not in allowed and not DATA_ATTRIBUTE.match(name) and not name.startswith("{"):
            del element.attrib[name]

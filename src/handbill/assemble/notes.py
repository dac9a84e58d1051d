"""Footnotes into EPUB 3 popup notes.

In: a source's container (Python-Markdown's trailing footnote div) and each `Part` of it.
Out: the notes taken out by id, then each placed as an `<aside epub:type="footnote">` at the end of
the part that first refers to it, its back-link first and its reference marked as a noteref.
"""

from __future__ import annotations

from lxml import html

from .. import xhtml
from .split import Part


def extract_notes(container: html.HtmlElement) -> dict[str, html.HtmlElement]:
    """Python-Markdown puts footnotes in a trailing div; take them out to place per chapter."""
    notes: dict[str, html.HtmlElement] = {}
    for holder in container.findall("div"):
        if holder.get("class") != "footnote":
            continue
        for item in holder.iter("li"):
            if item.get("id"):
                notes[item.get("id")] = item
        xhtml.drop_keep_tail(holder)
        # Each note its own tree: lxml frees a detached element by searching the whole tree it
        # belongs to for other live elements, which over one list of 20,000 notes is quadratic.
        for item in holder.findall("ol/li"):
            item.getparent().remove(item)
    return notes


def place_notes(
    part: Part, notes: dict[str, html.HtmlElement], backlink: str = "Back to note {number} in the text"
) -> None:
    """Popup notes: a noteref in the text, an aside at the end of the same document (`backlink`:
    what a screen reader says for the link back, in the book's language)."""
    placed: list[html.HtmlElement] = []
    for block in part.blocks:
        for ref in block.iter("a"):
            if ref.get("class") != "footnote-ref":
                continue
            ref.set("epub:type", "noteref")
            ref.set("role", "doc-noteref")
            ref.set("class", "noteref")
            holder = ref.getparent()
            if holder is not None and holder.tag == "sup" and holder.get("id"):
                ref.set("id", holder.attrib.pop("id"))
            note = notes.pop(ref.get("href", "")[1:], None)
            if note is None:
                continue
            aside = _aside(note, ref)
            for back in aside.iter("a"):
                if back.get("role") == "doc-backlink":
                    back.set("aria-label", backlink.replace("{number}", xhtml.text_of(ref)))
            placed.append(aside)
    part.blocks.extend(placed)


def _aside(note: html.HtmlElement, ref: html.HtmlElement) -> html.HtmlElement:
    """A footnote's list item as an EPUB 3 popup note, its back-link first (Kindle misgroups
    notes whose back-link comes last)."""
    aside = html.Element("aside")
    aside.set("id", note.get("id"))
    aside.set("epub:type", "footnote")
    aside.set("role", "doc-footnote")
    aside.set("class", "footnote")
    aside.text = note.text
    for child in list(note):
        aside.append(child)
    for backref in list(aside.iter("a")):
        if backref.get("class") == "footnote-backref":
            previous = backref.getprevious()
            parent = backref.getparent()
            if previous is not None and previous.tail:
                previous.tail = previous.tail.rstrip("\u00a0 ")
            elif previous is None and parent.text:
                parent.text = parent.text.rstrip("\u00a0 ")
            xhtml.drop_keep_tail(backref)
    back = html.Element("a")
    back.set("href", "#" + (ref.get("id") or ""))
    back.set("role", "doc-backlink")
    back.text = xhtml.text_of(ref)
    back.tail = ". "
    # The number opens the note's first paragraph (not a line of its own), unless the note
    # starts with text or another block; Python-Markdown's item text is a bare newline.
    first = aside[0] if len(aside) and aside[0].tag == "p" and not (aside.text or "").strip() else None
    if first is not None:
        back.tail += first.text or ""
        first.text = None
        first.insert(0, back)
    else:
        wrapper = html.Element("p")
        wrapper.append(back)
        aside.insert(0, wrapper)
    return aside

"""Markdown people expect from other tools: admonitions, GitHub alerts and task lists.

In: Python-Markdown's tree of one document. Out: the same tree with notes as
`<div class="admonition KIND" role="note">` led by a visible `<p class="admonition-title">`, and task
list items led by a ☐/☑ glyph that screen readers announce as "not done"/"done". Each extension is
loaded only for a text that has its mark (see `markdown._OPTIONAL_EXTENSIONS`).

A `<div>` and not an `<aside>`: readers show `<aside epub:type="footnote">` as a popup only, and
some hide plain asides. A glyph and not `<input type="checkbox">`: the sanitiser drops form fields,
and readers draw disabled checkboxes differently or not at all.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as etree

from markdown import Markdown
from markdown.extensions import Extension
from markdown.treeprocessors import Treeprocessor

WORDS = {
    "note": "Note",
    "tip": "Tip",
    "important": "Important",
    "warning": "Warning",
    "caution": "Caution",
    "danger": "Danger",
    "attention": "Attention",
    "hint": "Hint",
    "error": "Error",
    "info": "Info",
    "done": "done",
    "not done": "not done",
    "references": "References",
    "and": "and",
    "et al.": "et al.",
    "n.d.": "n.d.",
}
"""English labels handbill writes into the text (the default title of a note, ...)."""


def label(key: str, language: str = "en") -> str:
    """The word for `key` in the book's language (English for now: the place to look it up in a
    table of labels by language). An unknown kind of note is titled by its own name."""
    return WORDS.get(key.lower(), key.replace("-", " ").replace("_", " ").strip().capitalize() or key)


def _mark_as_note(element: etree.Element, kind: str, title: str | None) -> None:
    """Make `element` a note of `kind`: a div with a note role, led by its title (none when the
    title is empty)."""
    element.tag = "div"
    element.attrib.clear()
    element.set("class", f"admonition {kind}")
    element.set("role", "note")
    if title:
        heading = etree.Element("p", {"class": "admonition-title"})
        heading.text = title
        element.insert(0, heading)


class AdmonitionExtension(Extension):
    """Python-Markdown's `!!! kind "Title"` blocks, with a note role and the title in the book's
    language when none is given."""

    def extendMarkdown(self, md: Markdown) -> None:
        from markdown.extensions.admonition import AdmonitionProcessor

        class Processor(AdmonitionProcessor):
            def get_class_and_title(self, match: re.Match[str]) -> tuple[str, str | None]:
                klass, title = match.group(1).lower(), match.group(2)
                klass = self.RE_SPACES.sub(" ", klass)
                if title is None:
                    title = label(klass.split(" ")[0])
                return klass, title or None

            def run(self, parent: etree.Element, blocks: list[str]) -> None:
                super().run(parent, blocks)
                for child in parent:
                    if child.tag == "div" and "admonition" in (child.get("class") or "").split():
                        child.set("role", "note")

        md.parser.blockprocessors.register(Processor(md.parser), "admonition", 105)
        md.registerExtension(self)


_ALERT = re.compile(r"[ \t]*\[!(NOTE|TIP|IMPORTANT|WARNING|CAUTION)\][ \t]*(?:\n|$)", re.IGNORECASE)


class _Alerts(Treeprocessor):
    """Each paragraph of a quote that starts with `[!KIND]` on a line of its own starts a note that
    runs to the next one: Python-Markdown joins quotes that only a blank line parts, where GitHub
    shows one alert each."""

    def run(self, root: etree.Element) -> None:
        parents: dict[etree.Element, etree.Element] | None = None
        for quote in list(root.iter("blockquote")):
            starts = [index for index, child in enumerate(quote) if child.tag == "p" and _ALERT.match(child.text or "")]
            if not starts:
                continue
            if parents is None:
                parents = {child: parent for parent in root.iter() for child in parent}
            parent = parents[quote]
            place = list(parent).index(quote)
            children = list(quote)
            bounds = ([0] if starts[0] else []) + starts
            blocks = []
            for start, end in zip(bounds, [*bounds[1:], len(children)], strict=True):
                block = etree.Element("blockquote")
                block.extend(children[start:end])
                if start in starts:
                    first = block[0]
                    match = _ALERT.match(first.text or "")
                    assert match is not None
                    first.text = (first.text or "")[match.end() :].lstrip() or None
                    if first.text is None and not len(first):
                        block.remove(first)
                    kind = match.group(1).lower()
                    _mark_as_note(block, kind, label(kind))
                blocks.append(block)
            blocks[-1].tail = quote.tail
            parent.remove(quote)
            for offset, block in enumerate(blocks):
                parent.insert(place + offset, block)
                parents.update({child: block for child in block})
                parents[block] = parent


class AlertExtension(Extension):
    """GitHub's alerts, `> [!NOTE]` ... `> [!CAUTION]`, as notes."""

    def extendMarkdown(self, md: Markdown) -> None:
        md.treeprocessors.register(_Alerts(md), "handbill_alerts", 15)  # after the inline patterns (20)


_TASK = re.compile(r"\[([ xX])\][ \t]+")
EMPTY_BOX, CHECKED_BOX = "\u2610", "\u2611"


class _Tasks(Treeprocessor):
    def run(self, root: etree.Element) -> None:
        for listing in root.iter():
            if listing.tag not in ("ul", "ol"):
                continue
            tasks = 0
            for item in listing:
                if item.tag != "li":
                    continue
                holder = item[0] if len(item) and item[0].tag == "p" and not (item.text or "").strip() else item
                text = holder.text or ""
                match = _TASK.match(text)
                if match is None:
                    continue
                done = match.group(1) != " "
                box = etree.Element("span", {"class": "task-box", "role": "img"})
                box.set("aria-label", label("done" if done else "not done"))
                box.text = CHECKED_BOX if done else EMPTY_BOX
                box.tail = " " + text[match.end() :]
                holder.text = None
                holder.insert(0, box)
                item.set("class", "task-list-item")
                tasks += 1
            if tasks:
                listing.set("class", "task-list")


class TaskListExtension(Extension):
    """`- [ ]` and `- [x]` items led by ☐ and ☑."""

    def extendMarkdown(self, md: Markdown) -> None:
        md.treeprocessors.register(_Tasks(md), "handbill_tasks", 15)


def emoji_extension() -> Extension:
    """`:shortcode:` as the Unicode character (GitHub's names), never an image."""
    from pymdownx import emoji

    return emoji.EmojiExtension(emoji_index=emoji.gemoji, emoji_generator=emoji.to_alt)

"""Smart punctuation on the rendered tree: curly quotes, dashes and ellipses.

Python-Markdown's `smarty` extension does this inside the Markdown parser at about
half of all rendering time; one pass over the finished tree's text does the same
for a fraction of it, and reaches text in raw HTML too. Code is never touched.

In: a cleaned tree. Out: the same tree, its text with typographic punctuation.
"""

from __future__ import annotations

import re

from lxml import etree, html

from ..xhtml import PHRASING

_SKIP = frozenset("code pre kbd samp var script style".split())
_DASHES = re.compile(r"---|--|\.\.\.")
_DASH_CHARACTERS = {"---": "\u2014", "--": "\u2013", "...": "\u2026"}
_OPENING_CONTEXT = frozenset(" \t\n\u00a0([{\u2014\u2013-/\u201c\u2018")


def smarten(container: html.HtmlElement) -> None:
    """Replace straight quotes, `--`, `---` and `...` in every text outside code, in place."""
    previous = " "
    walker = etree.iterwalk(container, events=("start", "end"))
    for event, element in walker:
        tag = element.tag if isinstance(element.tag, str) else ""
        if tag not in PHRASING:
            previous = " "  # a block begins or ends: nothing before it counts
        if event == "start":
            if tag in _SKIP or tag.startswith("{"):  # code, and foreign markup
                walker.skip_subtree()
                continue
            text = element.text
        else:
            text = element.tail
        if not text:
            continue
        if '"' in text or "'" in text or "-" in text or "." in text:
            text = _smarten_text(text, previous)
            if event == "start":
                element.text = text
            else:
                element.tail = text
        previous = text[-1]


def _smarten_text(text: str, previous: str) -> str:
    text = _DASHES.sub(lambda match: _DASH_CHARACTERS[match.group()], text)
    if '"' not in text and "'" not in text:
        return text
    characters = list(text)
    for index, character in enumerate(characters):
        if character not in "\"'":
            continue
        before = characters[index - 1] if index else previous
        after = characters[index + 1] if index + 1 < len(characters) else " "
        opening = before in _OPENING_CONTEXT
        if character == '"':
            characters[index] = "\u201c" if opening else "\u201d"
        elif opening and not (after.isdigit() and index + 2 < len(characters) and characters[index + 2].isdigit()):
            characters[index] = "\u2018"  # an opening quote, not the apostrophe of '80s
        else:
            characters[index] = "\u2019"
    return "".join(characters)

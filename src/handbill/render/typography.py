"""Smart punctuation on the rendered tree: quotation marks in the text's language, dashes, ellipses.

Python-Markdown's `smarty` extension does this inside the Markdown parser at about
half of all rendering time; one pass over the finished tree's text does the same
for a fraction of it, and reaches text in raw HTML too. Code is never touched.

Quotation marks follow the language of the text (the document's, or a `lang` attribute on the
way down): the CLDR's marks (render/quotation_marks.py), German „…“, French « … » with narrow
no-break spaces inside and before ; : ! ?, Russian «…», Chinese “…”. Japanese is left exactly
as written, and a language the CLDR gives no marks keeps its straight quotes. English keeps the
rules handbill always had.

In: a cleaned tree and its language. Out: the same tree, its text with typographic punctuation.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from typing import NamedTuple

from lxml import etree, html

from ..xhtml import PHRASING

_SKIP = frozenset("code pre kbd samp var script style".split())
_DASHES = re.compile(r"---|--|\.\.\.")
_DASH_CHARACTERS = {"---": "\u2014", "--": "\u2013", "...": "\u2026"}
_OPENING_CONTEXT = frozenset(" \t\n\u00a0([{\u2014\u2013-/\u201c\u2018")
_NARROW = "\u202f"
"""The narrow no-break space French sets inside « » and before ; : ! ?"""
_SPACES = frozenset(" \u00a0\u202f")


class _Marks(NamedTuple):
    """How one language sets quotation marks (None: leave quotes as written)."""

    double: tuple[str, str] | None
    single: tuple[str, str] | None
    apostrophe: bool
    """Whether a `'` between letters becomes ’ (Latin, Greek, Cyrillic)."""
    french: str
    """French spacing: "" none, ":" before colons only (Canada), ";:!?" before all four."""


class _Open:
    """Which quotations are open in the current block."""

    def __init__(self) -> None:
        self.double = False
        self.single = False


@functools.lru_cache(maxsize=64)
def _marks(language: str) -> _Marks | None:
    """The marks for a language tag; None for English (its own rules) and for Japanese (no change)."""
    from .quotation_marks import QUOTATION_MARKS

    tag = language.lower()
    primary = tag.split("-")[0]
    if primary in ("en", ""):
        return None
    found = None
    pieces = language.split("-")
    for index in range(len(pieces), 0, -1):
        found = QUOTATION_MARKS.get("-".join(pieces[:index]))
        if found is not None:
            break
    french = ""
    if primary == "fr":
        region = {piece.upper() for piece in pieces[1:]}
        french = "" if "CH" in region else ":" if "CA" in region else ";:!?"
    if found is None:
        return _Marks(None, None, False, french)
    return _Marks((found[0], found[1]), (found[2], found[3]), True, french)


def smarten(container: html.HtmlElement, language: str = "en") -> None:
    """Replace straight quotes, `--`, `---` and `...` in every text outside code, in place."""
    previous = " "
    languages = [language]
    state = _Open()
    walker = etree.iterwalk(container, events=("start", "end"))
    for event, element in walker:
        tag = element.tag if isinstance(element.tag, str) else ""
        if tag not in PHRASING:
            previous = " "  # a block begins or ends: nothing before it counts
            state = _Open()
        if event == "start":
            languages.append(element.get("lang") or languages[-1])
            if tag in _SKIP or tag.startswith("{"):  # code, and foreign markup
                walker.skip_subtree()
                continue
            text = element.text
        else:
            languages.pop()
            text = element.tail
        if not text:
            continue
        current = languages[-1]
        if current == "en" or current.lower().startswith("en-"):
            if '"' not in text and "'" not in text and "-" not in text and "." not in text:
                previous = text[-1]
                continue
            smart = _smarten_text(text, previous)
        elif current.lower().startswith("ja"):  # Japanese is left as written
            previous = text[-1]
            continue
        else:
            smart = _localised(text, previous, _marks(current), state)
        if smart != text:
            if event == "start":
                element.text = smart
            else:
                element.tail = smart
        previous = smart[-1] if smart else previous


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


def _opens(before: str) -> bool:
    """Whether a quote after this character would open (space, an opening bracket, a dash)."""
    return before.isspace() or unicodedata.category(before) in ("Ps", "Pi", "Pd")


def _closes(after: str) -> bool:
    """Whether a quote before this character would close (space, closing punctuation)."""
    return after.isspace() or unicodedata.category(after) in ("Pe", "Pf", "Po")


def _is_small_script(character: str) -> bool:
    """Latin, Greek or Cyrillic: the scripts whose apostrophe is ’."""
    return character.isalpha() and ord(character) < 0x0530


def _localised(text: str, previous: str, marks: _Marks | None, state: _Open) -> str:
    """Dashes, ellipses and the language's quotation marks (straight quotes kept where it has none).

    Where the context does not say (a quote between two letters, as in Chinese, which puts no
    spaces around quotations), a quote opens if none is open, else closes."""
    if "-" in text or "." in text:
        text = _DASHES.sub(lambda match: _DASH_CHARACTERS[match.group()], text)
    if marks is None:
        return text
    if marks.double is not None and marks.single is not None and ('"' in text or "'" in text):
        text = _quoted(text, previous, marks, state)
    if marks.french:
        text = _french_spacing(text, previous, marks.french)
    return text


def _quoted(text: str, previous: str, marks: _Marks, state: _Open) -> str:
    assert marks.double is not None and marks.single is not None
    characters = list(text)
    for index, character in enumerate(characters):
        if character not in "\"'":
            continue
        before = characters[index - 1] if index else previous
        after = characters[index + 1] if index + 1 < len(characters) else " "
        if character == "'" and before.isalpha() and after.isalpha():
            if marks.apostrophe and _is_small_script(before):
                characters[index] = "\u2019"  # l'homme, м'ята, inside a word
            continue
        opens, closes = _opens(before), _closes(after)
        if opens == closes:  # both or neither: what is open decides
            opens = not (state.double if character == '"' else state.single)
        if character == '"':
            characters[index] = marks.double[0 if opens else 1]
            state.double = opens
        elif not opens and not state.single and _is_small_script(before) and marks.apostrophe:
            characters[index] = "\u2019"  # the students' books: an apostrophe, not a quotation
        else:
            characters[index] = marks.single[0 if opens else 1]
            state.single = opens
    return "".join(characters)


def _french_spacing(text: str, previous: str, before: str) -> str:
    """A narrow no-break space inside « » and before the given high punctuation (; : ! ?)."""
    if "«" in text or "»" in text:
        text = _GUILLEMETS.sub(lambda match: "«" + _NARROW if "«" in match.group() else _NARROW + "»", text)
    if not any(mark in text for mark in before):
        return text
    space, glued = _french_patterns(before)
    text = glued.sub(_NARROW, space.sub(_NARROW, text))
    if text[0] in before and (previous.isalnum() or previous in _CLOSERS) and not text[1:2].isalnum():
        if text[0] != ":" or not previous.isdigit():
            text = _NARROW + text  # the word before it ended the text before (<em>mot</em>!)
    return text


_GUILLEMETS = re.compile("«[ \u00a0\u202f]*|[ \u00a0\u202f]*»")
_CLOSERS = "»)]\u2019\u201d\u2026"


@functools.lru_cache(maxsize=4)
def _french_patterns(before: str) -> tuple[re.Pattern[str], re.Pattern[str]]:
    """A space before the marks (made narrow), and the place between a word and a mark written
    against it (given a narrow space); a colon between digits (12:30) or before `/` is left alone."""
    space = re.compile(f"[ \u00a0](?=[{re.escape(before)}])")
    after_word = f"(?:(?<=\\w)|(?<=[{re.escape(_CLOSERS)}]))"
    glued = []
    others = before.replace(":", "")
    if others:
        glued.append(f"{after_word}(?=[{re.escape(others)}](?!\\w))")
    if ":" in before:
        glued.append(f"(?:(?<=[^\\W\\d])|(?<=[{re.escape(_CLOSERS)}]))(?=:(?![\\w/]))")
    return space, re.compile("|".join(glued))

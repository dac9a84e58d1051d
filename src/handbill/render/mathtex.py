"""TeX math in Markdown as MathML: `$...$`, `\\(...\\)` inline, `$$...$$` and `\\[...\\]` display.

In: Markdown text (Python-Markdown extension). Out: `<math>` elements (latex2mathml) with the TeX
in `alttext`, `display="block"` for display math; TeX latex2mathml cannot read stays as
`<code class="tex">` and render_document warns of it with the file and line.

A dollar sign in prose stays one, by pandoc's rule: an opening `$` has a non-space right after
it, a closing `$` a non-space right before it and no digit right after it ("$5 and $10").
`\\[...\\]` is display math only as a paragraph of its own: inside a sentence `\\[` is the
escaped bracket writers have always used.
"""

from __future__ import annotations

import logging
import re
import xml.etree.ElementTree as etree
from collections.abc import Iterator
from functools import lru_cache
from html import escape
from typing import Any

from markdown import Markdown
from markdown.blockprocessors import BlockProcessor
from markdown.extensions import Extension
from markdown.inlinepatterns import InlineProcessor

log = logging.getLogger(__name__)

_INLINE_DOLLAR = r"(?<![\\$])\$(?![\s$])((?:[^\\$]|\\.)+?)(?<![\s\\])\$(?![\d$])"
_DISPLAY_DOLLAR = r"(?<!\\)\$\$((?:[^\\$]|\\.)+?)\$\$"
_INLINE_PAREN = r"\\\(((?:[^\\]|\\(?![()]).)+?)\\\)"
_MARK_AT = re.compile(
    rf"{_DISPLAY_DOLLAR}|{_INLINE_DOLLAR}|{_INLINE_PAREN}|(?:(?<=^)|(?<=^ )|(?<=^  )|(?<=^   ))\\\[", re.S | re.M
)
_CANDIDATE = re.compile(r"[$\\]")


def math_marks(text: str) -> Iterator[re.Match[str]]:
    """Every formula the extension would find in `text` (and a display opener `\\[`): the
    optional-extension test and the time budget count these. Tried only where a `$` or `\\`
    stands, so prose with dollar amounts costs one scan for those two characters."""
    end = 0
    for candidate in _CANDIDATE.finditer(text):
        if candidate.start() < end:
            continue
        found = _MARK_AT.match(text, candidate.start())
        if found is not None:
            end = found.end()
            yield found


def has_math(text: str) -> bool:
    """Whether `text` holds anything the math extension would change."""
    return next(math_marks(text), None) is not None


_BLOCK = re.compile(r"^[ ]{0,3}(?:\$\$(.+?)\$\$|\\\[(.+?)\\\])[ ]*$", re.S)

FAILED_CLASS = "tex"
"""The class of `<code>` holding TeX that could not be converted (render_document warns of it)."""


@lru_cache(maxsize=4096)
def to_mathml(tex: str, display: bool) -> str | None:
    """MathML for TeX, or None when latex2mathml cannot read it (each formula converted once: a
    text repeats its `$x$` and `$n$`; a conversion takes a quarter of a millisecond)."""
    from latex2mathml.converter import convert

    try:
        mathml = convert(tex, display="block" if display else "inline")
    except Exception:  # noqa: BLE001 - latex2mathml raises many kinds (and IndexError, KeyError) on bad TeX
        return None
    if not _well_formed(mathml):
        return None
    return mathml.replace("<math ", f'<math alttext="{escape(tex.strip(), quote=True)}" ', 1)


def _well_formed(mathml: str) -> bool:
    """Whether each fraction, root, script... has its operands (`\\frac{1}` gives an mfrac of one)."""
    from .foreign import _MATHML_ARITY

    try:
        root = etree.fromstring(mathml)
    except etree.ParseError:
        return False
    return all(
        len(element) == _MATHML_ARITY.get(element.tag.rsplit("}", 1)[-1], len(element)) for element in root.iter()
    )


def _stash(md: Markdown, tex: str, display: bool) -> str:
    mathml = to_mathml(tex, display)
    if mathml is None:
        mathml = f'<code class="{FAILED_CLASS}">{escape(tex)}</code>'
    return md.htmlStash.store(mathml)


class _Inline(InlineProcessor):
    def __init__(self, pattern: str, md: Markdown, display: bool):
        super().__init__(pattern, md)
        self.display = display

    def handleMatch(self, m: re.Match[str], data: str) -> tuple[Any, int, int]:  # type: ignore[override]
        return _stash(self.md, m.group(1), self.display), m.start(0), m.end(0)


class _Display(BlockProcessor):
    """A paragraph that is nothing but `$$...$$` or `\\[...\\]`."""

    def test(self, parent: etree.Element, block: str) -> bool:
        return _BLOCK.match(block) is not None

    def run(self, parent: etree.Element, blocks: list[str]) -> None:
        match = _BLOCK.match(blocks.pop(0))
        assert match is not None
        paragraph = etree.SubElement(parent, "p")
        paragraph.set("class", "math")
        paragraph.text = _stash(self.parser.md, match.group(1) or match.group(2), True)


class MathExtension(Extension):
    def extendMarkdown(self, md: Markdown) -> None:
        md.parser.blockprocessors.register(_Display(md.parser), "math-display", 95)
        # Above backslash escapes (180), below code spans (190): `$x$` in code stays code.
        md.inlinePatterns.register(_Inline(_DISPLAY_DOLLAR, md, True), "math-display-inline", 187)
        md.inlinePatterns.register(_Inline(_INLINE_DOLLAR, md, False), "math-inline", 186)
        md.inlinePatterns.register(_Inline(_INLINE_PAREN, md, False), "math-paren", 185)


def warn_failed(container: Any, text: str, path: object) -> None:
    """Warn, with the line, of each piece of TeX kept as code text."""
    for code in container.iter("code"):
        if code.get("class") != FAILED_CLASS:
            continue
        tex = code.text or ""
        index = next((found for mark in ("$$", "$", "\\(", "\\[") if (found := text.find(mark + tex)) >= 0), -1)
        index = index if index >= 0 else text.find(tex)
        line = text.count("\n", 0, index) + 1 if index >= 0 else 0
        where = f"{path}:{line}" if line else str(path)
        log.warning("%s: TeX math that could not be read is kept as text: %s", where, tex.strip()[:80])

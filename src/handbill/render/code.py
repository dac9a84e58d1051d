"""Fenced code: mdBook info strings read, and code in a known language highlighted.

In: Markdown text (the fence extension), then the cleaned tree. Out: `<pre><code
class="language-x">` whose text is split into `<span class="k">`-style tokens by Pygments (short
CSS classes, no inline style), styled by CODE_CSS, which the book carries only when it has
highlighted code. A language Pygments does not know stays plain code, without a warning.
"""

from __future__ import annotations

import re
from typing import Any

from lxml import html
from markdown import Markdown
from markdown.extensions.fenced_code import FencedCodeExtension
from markdown.preprocessors import Preprocessor

HIGHLIGHTED_CLASS = "highlight"
"""The class of a `<pre>` whose code was highlighted: documents with one link CODE_CSS."""

# mdBook's (and rustdoc's) info strings: a language, then attributes after commas.
_INFO_STRING = re.compile(r"^(`{3,}|~{3,})[ ]*([\w#.+-]+)[ ]*,[^\n`]*$", re.M)


class _InfoStrings(Preprocessor):
    """```` ```rust,ignore ```` and ```` ```python,editable ```` name the language, as in mdBook."""

    def run(self, lines: list[str]) -> list[str]:
        text = "\n".join(lines)
        if "," not in text:
            return lines
        return _INFO_STRING.sub(r"\1\2", text).split("\n")


class FencedCode(FencedCodeExtension):
    def extendMarkdown(self, md: Markdown) -> None:
        super().extendMarkdown(md)
        md.preprocessors.register(_InfoStrings(md), "info_strings", 26)  # before fenced_code_block (25)


def highlight(container: html.HtmlElement) -> bool:
    """Highlight, in place, every `<pre><code class="language-x">` whose language Pygments knows;
    True if one was."""
    highlighted = False
    for code in container.iter("code"):
        pre = code.getparent()
        if pre is None or pre.tag != "pre" or len(code) or not code.text:
            continue
        language = next((name[9:] for name in (code.get("class") or "").split() if name.startswith("language-")), "")
        lexer = _lexer(language)
        if lexer is None:
            continue
        _tokens_into(code, lexer)
        pre.set("class", " ".join([*(pre.get("class") or "").split(), HIGHLIGHTED_CLASS]))
        highlighted = True
    return highlighted


_LEXERS: dict[str, Any] = {}


def _lexer(language: str) -> Any:
    if not language or len(language) > 40:
        return None
    if language not in _LEXERS:
        from pygments.lexers import get_lexer_by_name
        from pygments.util import ClassNotFound

        try:
            lexer = get_lexer_by_name(language.lower(), stripnl=False, ensurenl=False)
        except ClassNotFound:
            lexer = None
        if lexer is not None and lexer.name == "Text only":
            lexer = None
        _LEXERS[language] = lexer
    return _LEXERS[language]


def _tokens_into(code: html.HtmlElement, lexer: Any) -> None:
    from pygments.token import STANDARD_TYPES

    text = code.text or ""
    code.text = ""
    last: html.HtmlElement | None = None
    last_class = None
    for kind, value in lexer.get_tokens(text):
        if not value:
            continue
        while kind not in STANDARD_TYPES:
            kind = kind.parent
        css_class = _CLASSES.get(STANDARD_TYPES[kind])
        if css_class is None:
            if last is None:
                code.text += value
            else:
                last.tail = (last.tail or "") + value
            continue
        if last is not None and last_class == css_class and not last.tail:
            last.text += value
            continue
        last = html.Element("span", {"class": css_class})
        last.text = value
        last_class = css_class
        code.append(last)


# Pygments' short classes, folded into the few kinds the stylesheet tells apart.
_CLASSES = {
    **dict.fromkeys("k kc kd kn kp kr ow".split(), "k"),  # keywords
    "kt": "kt",  # types
    **dict.fromkeys("s sa sb sc dl sd s2 se sh si sx sr s1 ss".split(), "s"),  # strings
    **dict.fromkeys("c ch cm cpf c1 cs".split(), "c"),  # comments
    **dict.fromkeys("cp".split(), "cp"),  # preprocessor
    **dict.fromkeys("m mb mf mh mi il mo".split(), "m"),  # numbers
    **dict.fromkeys("nf fm".split(), "nf"),  # function names
    **dict.fromkeys("nc nn".split(), "nc"),  # class and module names
    **dict.fromkeys("nb bp".split(), "nb"),  # builtins
    **dict.fromkeys("nd na nt".split(), "nd"),  # decorators, attributes, tags
    "err": None,
}

CODE_CSS = """\
/* Highlighted code (handbill): no background, so night modes invert it cleanly; moderate
   colours that read at 4.5:1 or better on white and on black, with weight and italics for
   e-ink, where colours are grey. */
pre.highlight { background: none; }
pre.highlight .k { font-weight: bold; color: #8165c7; }
pre.highlight .kt { color: #2d7f99; font-weight: bold; }
pre.highlight .s { color: #3b853b; }
pre.highlight .c { font-style: italic; color: #767676; }
pre.highlight .cp { color: #a3691e; }
pre.highlight .m { color: #c1552a; }
pre.highlight .nf { color: #3276cc; font-weight: bold; }
pre.highlight .nc { color: #3276cc; font-weight: bold; text-decoration: underline; }
pre.highlight .nb { color: #2d7f99; }
pre.highlight .nd { color: #a3691e; font-style: italic; }
"""

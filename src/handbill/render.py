"""Markdown to a cleaned element tree, one source document at a time."""

from __future__ import annotations

from dataclasses import dataclass

import markdown
from lxml import html
from markdown.extensions.toc import slugify_unicode

from . import xhtml
from .errors import SourceError
from .sources import SourceDocument

# Smart punctuation as characters: XML does not know HTML's named entities (&rsquo;).
_SMART_CHARACTERS = {
    "left-single-quote": "\u2018",
    "right-single-quote": "\u2019",
    "left-double-quote": "\u201c",
    "right-double-quote": "\u201d",
    "left-angle-quote": "\u00ab",
    "right-angle-quote": "\u00bb",
    "ellipsis": "\u2026",
    "ndash": "\u2013",
    "mdash": "\u2014",
}

EXTENSIONS = [
    "abbr",
    "attr_list",
    "def_list",
    "fenced_code",
    "footnotes",
    "md_in_html",
    "sane_lists",
    "smarty",
    "tables",
    "toc",
]
EXTENSION_CONFIGS = {
    "smarty": {"substitutions": _SMART_CHARACTERS},
    "toc": {"slugify": slugify_unicode},
    "footnotes": {"SEPARATOR": "-", "BACKLINK_TEXT": ""},
}


@dataclass
class RenderedDocument:
    """A source document as a cleaned tree: a `<div>` holding its top-level blocks."""

    source: SourceDocument
    container: html.HtmlElement
    report: xhtml.Report


_markdown: markdown.Markdown | None = None


def _converter() -> markdown.Markdown:
    global _markdown
    if _markdown is None:
        _markdown = markdown.Markdown(
            extensions=EXTENSIONS, extension_configs=EXTENSION_CONFIGS, output_format="xhtml"
        )
    return _markdown


def render_markdown(text: str) -> str:
    """Markdown to an HTML string with our extensions (one converter, reset between uses)."""
    converter = _converter()
    try:
        return converter.reset().convert(text)
    finally:
        converter.reset()


def render_document(document: SourceDocument) -> RenderedDocument:
    report = xhtml.Report()
    try:
        container = xhtml.parse_fragment(render_markdown(document.text))
        xhtml.clean(container, report)
    except (xhtml.TooDeep, RecursionError) as error:
        message = str(error) if isinstance(error, xhtml.TooDeep) else "nested too deeply to render"
        raise SourceError(message, document.path) from error
    return RenderedDocument(source=document, container=container, report=report)


def inline_text(text: str) -> str:
    """A plain label (a front-matter title) with the same smart punctuation as the body."""
    container = xhtml.parse_fragment(render_markdown(text))
    return xhtml.text_of(container) or text.strip()

"""One `Part` as an XHTML content document, and the cover page.

In: a finished `Part` (ids settled, notes placed, links and images pointed), the book's language
and stylesheets. Out: a `ContentDocument` holding its serialised page and what the package
needs to know of it (kind, properties, words).
"""

from __future__ import annotations

import re

from .. import xhtml
from ..languages import format_label
from ..model import ContentDocument, Resource
from ..xhtml import quoteattr
from .resources import stylesheet_hrefs
from .split import DOCUMENT_TYPES, HEADINGS, Part

# Chinese, Japanese and Korean are counted by character, as their writers count (Chinese and
# Japanese put no spaces between words); their punctuation counts for nothing.
_CJK_LANGUAGES = frozenset("ja zh ko yue cmn wuu hak nan gan hsn lzh".split())
_CJK = re.compile(
    "[\u1100-\u11ff\u3040-\u30ff\u3130-\u318f\u31f0-\u31ff\u3400-\u4dbf\u4e00-\u9fff"
    "\ua960-\ua97f\uac00-\ud7ff\uf900-\ufaff\uff66-\uffdc\U00020000-\U0003ffff]"
)
_CJK_PUNCTUATION = re.compile("[\u3000-\u303f\u30fb\uff01-\uff65]")


def counts_characters(language: str) -> bool:
    """Whether text in this language is counted by character (only these pay for the search)."""
    return language.split("-")[0].lower() in _CJK_LANGUAGES


def count_words(text: str, by_character: bool = True) -> tuple[int, int]:
    """(words, CJK characters) of a text: words split at spaces; with `by_character`, each Han,
    Kana or Hangul character counted on its own instead (a Japanese text has no spaces to split at)."""
    if not by_character or text.isascii():
        return len(text.split()), 0
    text = _CJK_PUNCTUATION.sub(" ", text)
    characters = len(_CJK.findall(text))
    return len(_CJK.sub(" ", text).split()), characters


def content_document(part: Part, language: str, stylesheets: list[Resource], direction: str = "ltr") -> ContentDocument:
    piece = part.piece
    role, matter = DOCUMENT_TYPES[piece.kind]
    heading = next((block for block in part.blocks if block.tag in HEADINGS), None)
    attributes = f' epub:type="{piece.kind}" class="{piece.kind}"'
    if role:
        attributes += f' role="{role}"'
    if heading is not None and heading.get("id") and part.first:
        attributes += f" aria-labelledby={quoteattr(heading.get('id'))}"
    else:
        attributes += f" aria-label={quoteattr(part.chapter_title)}"
    inner = "\n".join(xhtml.serialize(block) for block in part.blocks)
    section_language = ""
    if piece.language and piece.language != language:
        section_language = xhtml.language_attributes(piece.language, around=direction)
    body = f"<section{attributes}{section_language}>\n{inner}\n</section>"
    properties = []
    if "<svg" in inner:
        properties.append("svg")
    if "<math" in inner:
        properties.append("mathml")
    words = characters = 0
    by_character = counts_characters(piece.language or language)
    for block in part.blocks:
        block_words, block_characters = count_words(xhtml.text_of(block), by_character)
        words += block_words
        characters += block_characters
    return ContentDocument(
        file_name=part.file_name,
        item_id=part.file_name.removesuffix(".xhtml"),
        title=part.chapter_title,
        data=xhtml.page(part.chapter_title, language, stylesheet_hrefs(stylesheets), matter, body, direction=direction),
        kind=piece.kind,
        properties=tuple(properties),
        words=words,
        characters=characters,
    )


def cover_document(
    language: str,
    title: str,
    authors: tuple[str, ...],
    image: str,
    stylesheets: list[Resource],
    words: dict[str, str],
    direction: str = "ltr",
) -> ContentDocument:
    if authors:
        alt = format_label(words, "cover_alt_by", title=title, authors=", ".join(authors))
    else:
        alt = format_label(words, "cover_alt", title=title)
    body = (
        '<section epub:type="cover" class="cover">\n'
        f'<img src={quoteattr(image)} alt={quoteattr(alt)} role="doc-cover"/>\n</section>'
    )
    return ContentDocument(
        file_name="cover.xhtml",
        item_id="cover",
        title=words["cover"],
        data=xhtml.page(
            words["cover"],
            language,
            stylesheet_hrefs(stylesheets),
            "cover",
            body,
            body_class="cover",
            direction=direction,
        ),
        kind="cover",
    )

"""One `Part` as an XHTML content document, and the cover page.

In: a finished `Part` (ids settled, notes placed, links and images pointed), the book's language
and stylesheets. Out: a `ContentDocument` holding its serialised page and what the package
needs to know of it (kind, properties, words).
"""

from __future__ import annotations

from .. import xhtml
from ..languages import format_label
from ..model import ContentDocument, Resource
from ..xhtml import quoteattr
from .resources import stylesheet_hrefs
from .split import DOCUMENT_TYPES, HEADINGS, Part


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
    words = sum(len(xhtml.text_of(block).split()) for block in part.blocks)
    return ContentDocument(
        file_name=part.file_name,
        item_id=part.file_name.removesuffix(".xhtml"),
        title=part.chapter_title,
        data=xhtml.page(part.chapter_title, language, stylesheet_hrefs(stylesheets), matter, body, direction=direction),
        kind=piece.kind,
        properties=tuple(properties),
        words=words,
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

"""Cut one rendered source into pieces (chapters at headings) and parts (output documents).

In: a `RenderedDocument` and the book's `BookConfig`. Out: `Piece`s, one per chapter the source
makes, then `Part`s of at most MAX_DOCUMENT_BYTES each (with their notes), splitting between
blocks and, where one block is too large, inside it (tables by rows, lists by items, paragraphs
by text, preformatted text by lines). Also the facts every later step shares: the headings, the
document types a source may declare, and the size limits.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from copy import deepcopy
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lxml import etree, html

from .. import xhtml
from ..config import BookConfig, check_language
from ..model import READER_LIMIT_BYTES
from ..render import RenderedDocument, inline_text

log = logging.getLogger(__name__)

MAX_DOCUMENT_BYTES = 200_000
"""The most text handbill puts in one content document, leaving room below READER_LIMIT_BYTES."""

HEADINGS = ("h1", "h2", "h3", "h4", "h5", "h6")
# epub:type of a document -> (its ARIA role, the part of the book it belongs to)
DOCUMENT_TYPES = {
    "chapter": ("doc-chapter", "bodymatter"),
    "part": ("doc-part", "bodymatter"),
    "titlepage": (None, "frontmatter"),
    "halftitlepage": (None, "frontmatter"),
    "copyright-page": (None, "frontmatter"),
    "dedication": ("doc-dedication", "frontmatter"),
    "epigraph": ("doc-epigraph", "frontmatter"),
    "foreword": ("doc-foreword", "frontmatter"),
    "preface": ("doc-preface", "frontmatter"),
    "introduction": ("doc-introduction", "frontmatter"),
    "prologue": ("doc-prologue", "bodymatter"),
    "epilogue": ("doc-epilogue", "bodymatter"),
    "conclusion": ("doc-conclusion", "bodymatter"),
    "afterword": ("doc-afterword", "backmatter"),
    "appendix": ("doc-appendix", "backmatter"),
    "acknowledgments": ("doc-acknowledgments", "backmatter"),
    "colophon": ("doc-colophon", "backmatter"),
    "frontmatter": (None, "frontmatter"),
    "backmatter": (None, "backmatter"),
}


@dataclass
class Piece:
    """Part of a source document that becomes one chapter (before size splitting)."""

    rendered: RenderedDocument
    blocks: list[html.HtmlElement]
    title: str | None
    level: int | None
    kind: str
    language: str | None
    in_toc: bool


@dataclass
class Part:
    """One output document: a chapter, or a continuation of a long one."""

    piece: Piece
    blocks: list[html.HtmlElement]
    file_name: str = ""
    chapter_title: str = ""
    first: bool = True


def split_into_pieces(document: RenderedDocument, config: BookConfig) -> Iterator[Piece]:
    meta = document.source.meta
    blocks = _top_level_blocks(document.container)
    if not any(_has_content(block) for block in blocks):
        log.warning("%s: no text; left out of the book", document.source.path)
        return
    level = config.split_level or _default_split_level(blocks, config.files is None and config.source.is_file())
    kind = str(meta.get("type") or "chapter").strip().lower()
    if kind not in DOCUMENT_TYPES:
        log.warning("%s: unknown document type %r; using 'chapter'", document.source.path, kind)
        kind = "chapter"
    language = _front_matter_language(meta, document.source.path)
    in_toc = meta.get("toc", True) is not False
    groups: list[list[html.HtmlElement]] = [[]]
    for block in blocks:
        if level and block.tag in HEADINGS[:level] and _starts_chapter(groups):
            groups.append([])
        groups[-1].append(block)
    for index, group in enumerate(groups):
        if not any(_has_content(block) for block in group):
            continue
        heading = next((block for block in group if block.tag in HEADINGS), None)
        title = xhtml.text_of(heading) if heading is not None else None
        if index == 0 and meta.get("title"):
            title = inline_text(str(meta["title"]))
        yield Piece(
            rendered=document,
            blocks=group,
            title=title or None,
            level=int(heading.tag[1]) if heading is not None else None,
            kind=kind,
            language=str(language) if language else None,
            in_toc=in_toc,
        )


def _front_matter_language(meta: dict[str, Any], path: Path) -> str | None:
    """A chapter's `language`, checked as book.toml's is: repaired (`de_DE`) or left out, with a warning."""
    value = meta.get("language") or meta.get("lang")
    if value is None or value == "":
        return None
    problems: list[str] = []
    tag = check_language(str(value).strip(), problems, path)
    if problems:
        log.warning("%s: front matter: %s; the book's language is used", path, problems[0])
        return None
    return tag


def _top_level_blocks(container: html.HtmlElement) -> list[html.HtmlElement]:
    """The container's children as blocks: loose text and inline elements go into paragraphs."""
    blocks: list[html.HtmlElement] = []
    loose: html.HtmlElement | None = None

    def paragraph() -> html.HtmlElement:
        nonlocal loose
        if loose is None:
            loose = html.Element("p")
            blocks.append(loose)
        return loose

    if container.text and container.text.strip():
        paragraph().text = container.text
    for child in list(container):
        if isinstance(child.tag, str) and (child.tag in xhtml.PHRASING or child.tag.startswith("{")):
            paragraph().append(child)  # its tail text comes along
            continue
        tail, child.tail = child.tail, None
        loose = None
        blocks.append(child)
        if tail and tail.strip():
            holder = paragraph()
            if len(holder):
                holder[-1].tail = (holder[-1].tail or "") + tail
            else:
                holder.text = (holder.text or "") + tail
    return blocks


def _starts_chapter(groups: list[list[html.HtmlElement]]) -> bool:
    """A heading starts a new chapter, except after a preamble without headings (badges, a logo
    before a README's title), which stays with the first heading's chapter."""
    current = groups[-1]
    if not any(_has_content(block) for block in current):
        return False
    return len(groups) > 1 or any(block.tag in HEADINGS for block in current)


def _default_split_level(blocks: list[html.HtmlElement], single_file: bool) -> int | None:
    """A single file is split at its sections: under one title heading, at the next level down;
    with several headings at the top level, at that level."""
    if not single_file:
        return None
    levels = [int(block.tag[1]) for block in blocks if block.tag in HEADINGS]
    if not levels:
        return None
    top = min(levels)
    if levels.count(top) > 1:
        return top
    below = [level for level in levels if level > top]
    return min(below) if below else None


def _has_content(block: html.HtmlElement) -> bool:
    if block.tag in ("img", "hr", "table") or block.find(".//img") is not None:
        return True
    return bool("".join(block.itertext()).strip())


_MAX_EXPANSION = 4
"""A character of the HTML Python-Markdown makes becomes at most this many bytes of XHTML (UTF-8
takes up to four, and what cleaning and notes add is no longer than what they replace): a source
whose HTML is shorter than MAX_DOCUMENT_BYTES / this cannot make an oversized document, so its
blocks are not measured. The source's own length is no bound: one reference definition can be
used thousands of times."""


def split_by_size(pieces: list[Piece], notes: dict[str, html.HtmlElement]) -> Iterator[Part]:
    """Each piece as parts of at most MAX_DOCUMENT_BYTES (with their notes), split between blocks
    and, where one block is too large, inside it (`_split_block`)."""
    sizes = _Sizes(notes)
    for piece in pieces:
        markup_size = piece.rendered.markup_size
        if markup_size is not None and markup_size * _MAX_EXPANSION < MAX_DOCUMENT_BYTES:
            yield Part(piece=piece, blocks=piece.blocks)
            continue
        current: list[html.HtmlElement] = []
        size = 0
        first = True
        for block in piece.blocks:
            for unit, unit_size in _fitting(block, sizes, piece.rendered.source.path):
                if current and size + unit_size > MAX_DOCUMENT_BYTES and not _only_headings(current):
                    yield Part(piece=piece, blocks=current, first=first)
                    current, size, first = [], 0, False
                current.append(unit)
                size += unit_size
        yield Part(piece=piece, blocks=current, first=first)


def _only_headings(blocks: list[html.HtmlElement]) -> bool:
    """A heading is not left at the end of a document, apart from what it heads."""
    return all(block.tag in HEADINGS for block in blocks)


class _Sizes:
    """Serialised sizes of blocks, each with the notes placed after it (a note goes with the first
    block that refers to it)."""

    def __init__(self, notes: dict[str, html.HtmlElement]):
        self.notes = notes
        self.counted: set[str] = set()

    def __call__(self, element: html.HtmlElement) -> int:
        return self.measure(element)[0]

    def measure(self, element: html.HtmlElement) -> tuple[int, set[str]]:
        """Its size and the notes that size counts."""
        size = len(etree.tostring(element, encoding="utf-8", method="xml"))  # a block inside another has a tail
        refs: set[str] = set()
        if self.notes:
            for ref in element.iter("a"):
                key = ref.get("href", "")[1:]
                if (
                    ref.get("class") == "footnote-ref"
                    and key in self.notes
                    and key not in self.counted
                    and key not in refs
                ):
                    refs.add(key)
                    size += _NOTE_OVERHEAD + len(etree.tostring(self.notes[key], encoding="utf-8", with_tail=False))
        return size, refs


_NOTE_OVERHEAD = 100
"""Bytes a popup note's aside and back-link add to its list item, at most."""


def _fitting(block: html.HtmlElement, sizes: _Sizes, path: Path) -> Iterator[tuple[html.HtmlElement, int]]:
    """The block, or the blocks it is split into, each small enough, with its size."""
    size, notes = sizes.measure(block)
    if size > MAX_DOCUMENT_BYTES:
        pieces = _split_block(block, sizes)
        if len(pieces) > 1:
            if block.tag in ("p", "pre"):
                log.warning(
                    "%s: a %s of %d KB is split in %d, at most %d KB each (Adobe-engine readers stop at 260 KB)",
                    path,
                    "paragraph" if block.tag == "p" else "preformatted block",
                    size // 1000,
                    len(pieces),
                    MAX_DOCUMENT_BYTES // 1000,
                )
            for piece in pieces:
                yield from _fitting(piece, sizes, path)
            return
        if size > READER_LIMIT_BYTES:
            log.warning(
                "%s: one <%s> of %d KB cannot be split; its document is over the %d KB Adobe-engine readers open",
                path,
                block.tag,
                size // 1000,
                READER_LIMIT_BYTES // 1024,
            )
    sizes.counted.update(notes)  # placed: its notes are not counted again
    yield block, size


_BLOCK_CONTAINERS = frozenset(("div", "blockquote", "section", "article"))


def _split_block(block: html.HtmlElement, sizes: _Sizes) -> list[html.HtmlElement]:
    """A block too large for one document as several of the same kind, each filling at most
    MAX_DOCUMENT_BYTES (one block when it cannot be split): a table's rows into tables that each
    repeat its header, a list's items into lists that continue its numbering, a container's
    blocks into containers like it, a paragraph's text and inline elements into paragraphs, a
    code block's lines into code blocks. Only the first piece keeps the block's id."""
    if block.tag == "table":
        return _split_table(block, sizes)
    if block.tag in ("ol", "ul"):
        return _split_list(block, sizes)
    if block.tag == "dl":
        groups: list[list[html.HtmlElement]] = []
        for child in block:
            if not groups or (child.tag == "dt" and groups[-1][-1].tag != "dt"):
                groups.append([])
            groups[-1].append(child)
        return _rebuild(block, groups, sizes)
    if block.tag in _BLOCK_CONTAINERS:
        return _rebuild(block, [[child] for child in block], sizes)
    if block.tag == "p":
        return _split_paragraph(block, sizes)
    if block.tag == "pre":
        return _split_preformatted(block)
    return [block]


_MARGIN = 1000
"""Bytes a block's pieces leave spare of MAX_DOCUMENT_BYTES, for the text between children."""


def _shell(block: html.HtmlElement, first: bool) -> html.HtmlElement:
    """An empty element like `block`: its attributes, but its id only on the first."""
    shell = block.makeelement(block.tag, dict(block.attrib))
    if not first:
        shell.attrib.pop("id", None)
    return shell


def _packed(units: list[list[html.HtmlElement]], sizes: _Sizes, budget: int) -> list[list[html.HtmlElement]]:
    """Consecutive units (each a run of elements that must stay together) in chunks of at most
    `budget` bytes, or one unit alone when it is larger."""
    chunks: list[list[html.HtmlElement]] = []
    size = budget + 1
    for unit in units:
        unit_size = sum(sizes(element) for element in unit)
        if size + unit_size > budget:
            chunks.append([])
            size = 0
        chunks[-1] += unit
        size += unit_size
    return chunks


def _rebuild(block: html.HtmlElement, units: list[list[html.HtmlElement]], sizes: _Sizes) -> list[html.HtmlElement]:
    """The block's children, grouped in units, packed into copies of the block."""
    chunks = _packed(units, sizes, MAX_DOCUMENT_BYTES - _MARGIN - sizes(_shell(block, True)))
    if len(chunks) < 2:
        return [block]
    pieces = []
    for index, chunk in enumerate(chunks):
        shell = _shell(block, index == 0)
        if index == 0:
            shell.text = block.text
        shell.extend(chunk)  # each child's tail comes along
        pieces.append(shell)
    return pieces


def _split_table(table: html.HtmlElement, sizes: _Sizes) -> list[html.HtmlElement]:
    """Tables of consecutive rows, each with the caption (the first only), columns and header
    of the original; rows a `rowspan` joins stay together, and the footer closes the last."""
    head = [child for child in table if child.tag in ("caption", "colgroup", "col", "thead")]
    foot = [child for child in table if child.tag == "tfoot"]
    rows = [
        (child if child.tag == "tbody" else None, row)
        for child in table
        if child.tag in ("tbody", "tr")
        for row in (child.iterchildren("tr") if child.tag == "tbody" else [child])
    ]
    units: list[list[tuple[html.HtmlElement | None, html.HtmlElement]]] = []
    reach = -1  # the last row a rowspan seen so far extends to
    for index, entry in enumerate(rows):
        if index > reach or not units:
            units.append([])
        units[-1].append(entry)
        for cell in entry[1]:
            span = cell.get("rowspan", "1")
            reach = max(reach, index + (int(span) if span.isdigit() else 1) - 1)
    overhead = sum(sizes(child) for child in head + foot) + _MARGIN
    body_of = {id(row): body for body, row in rows}
    chunks = _packed([[row for _, row in unit] for unit in units], sizes, MAX_DOCUMENT_BYTES - overhead)
    if len(chunks) < 2:
        return [table]
    pieces = []
    started: set[int] = set()  # the row groups that have a piece already (only the first keeps an id)
    for index, chunk in enumerate(chunks):
        piece = _shell(table, index == 0)
        for child in head:
            if index == 0:
                piece.append(child)
            elif child.tag != "caption":
                piece.append(_without_ids(deepcopy(child)))
        holder: html.HtmlElement | None = None
        holder_of: html.HtmlElement | None = None
        for row in chunk:
            body = body_of[id(row)]
            if body is None:
                piece.append(row)
                holder_of = None
                continue
            if body is not holder_of:
                holder, holder_of = _shell(body, id(body) not in started), body
                started.add(id(body))
                piece.append(holder)
            assert holder is not None  # set with holder_of, which is `body` here
            holder.append(row)
        if index == len(chunks) - 1:
            piece.extend(foot)
        pieces.append(piece)
    return pieces


def _without_ids(element: html.HtmlElement) -> html.HtmlElement:
    for marked in WITH_ID(element):
        del marked.attrib["id"]
    return element


def _split_list(block: html.HtmlElement, sizes: _Sizes) -> list[html.HtmlElement]:
    """Lists of consecutive items; an ordered list's continuations start at the number their
    first item had."""
    pieces = _rebuild(block, [[child] for child in block], sizes)
    if block.tag != "ol" or len(pieces) < 2:
        return pieces
    items = [item for piece in pieces for item in piece if item.tag == "li"]
    step = -1 if block.get("reversed") is not None else 1
    start = block.get("start", "")
    number = int(start) if re.fullmatch(r"-?\d{1,9}", start) else (len(items) if step < 0 else 1)
    numbers: dict[int, int] = {}
    number -= step
    for item in items:
        value = item.get("value", "")
        number = int(value) if re.fullmatch(r"-?\d{1,9}", value) else number + step
        numbers[id(item)] = number
    for piece in pieces[1:]:
        first = next((item for item in piece if item.tag == "li"), None)
        if first is not None:
            piece.set("start", str(numbers[id(first)]))
    return pieces


def _split_paragraph(paragraph: html.HtmlElement, sizes: _Sizes) -> list[html.HtmlElement]:
    """Paragraphs of the text and inline elements of one, split only between words."""
    budget = MAX_DOCUMENT_BYTES - _MARGIN
    segments: list[str | html.HtmlElement] = []
    for text in (paragraph.text, *(item for child in paragraph for item in (child, child.tail))):
        if isinstance(text, str) or text is None:
            segments += _text_runs(text or "", budget // 4)
        else:
            text.tail = None
            segments.append(text)
    units: list[list[str | html.HtmlElement]] = []
    unit_sizes: list[int] = []
    for index, segment in enumerate(segments):
        before = segments[index - 1] if index else None
        if (
            not units
            or (isinstance(before, str) and before[-1:].isspace())
            or (isinstance(segment, str) and segment[:1].isspace())
            or (before is not None and not isinstance(before, str) and before.tag == "br")
        ):
            units.append([])
            unit_sizes.append(0)
        units[-1].append(segment)
        unit_sizes[-1] += _escaped_size(segment) if isinstance(segment, str) else sizes(segment)
    pieces: list[html.HtmlElement] = []
    size = budget + 1
    for unit, unit_size in zip(units, unit_sizes, strict=True):
        if size + unit_size > budget:
            pieces.append(_shell(paragraph, not pieces))
            size = 0
        for segment in unit:
            if isinstance(segment, str):
                _append_text(pieces[-1], segment)
            else:
                pieces[-1].append(segment)
        size += unit_size
    return pieces


def _text_runs(text: str, length: int) -> list[str]:
    """Text in runs of at most about `length` characters, each ending at a space where there is one."""
    runs = []
    while len(text) > length:
        cut = text.rfind(" ", 0, length)
        cut = length if cut <= 0 else cut + 1
        runs.append(text[:cut])
        text = text[cut:]
    return [*runs, text] if text else runs


def _escaped_size(text: str) -> int:
    """Bytes of text as serialised XML (`<`, `>` and `&` escaped)."""
    return len(text.encode("utf-8")) + (text.count("<") + text.count(">")) * 3 + text.count("&") * 4


def _append_text(element: html.HtmlElement, text: str) -> None:
    if len(element):
        element[-1].tail = (element[-1].tail or "") + text
    else:
        element.text = (element.text or "") + text


def _split_preformatted(block: html.HtmlElement) -> list[html.HtmlElement]:
    """A code block of plain text (`<pre>` or `<pre><code>`) as several, split between lines."""
    inner = block[0] if len(block) == 1 and block[0].tag == "code" and not (block.text or "").strip() else block
    if len(inner) or (inner is not block and block[0].tail and block[0].tail.strip()):
        return [block]
    lines = (inner.text or "").splitlines(keepends=True)
    budget = MAX_DOCUMENT_BYTES - _MARGIN
    chunks: list[str] = []
    size = budget + 1
    for line in lines:
        line_size = _escaped_size(line)
        if size + line_size > budget:
            chunks.append("")
            size = 0
        chunks[-1] += line
        size += line_size
    if len(chunks) < 2:
        return [block]
    pieces = []
    for index, text in enumerate(chunks):
        piece = _shell(block, index == 0)
        if inner is block:
            piece.text = text
        else:
            code = _shell(inner, index == 0)
            code.text = text
            piece.append(code)
        pieces.append(piece)
    return pieces


WITH_ID = etree.XPath("descendant-or-self::*[@id]")


def iter_tag(blocks: list[html.HtmlElement], tag: str) -> Iterator[html.HtmlElement]:
    """Every element of the kind in the blocks, in document order."""
    for block in blocks:
        yield from block.iter(tag)

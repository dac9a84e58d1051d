"""Assemble rendered documents into a `Book`: chapters, notes, links, images, contents.

This is where the book stops being a set of files and becomes a sequence of
chapter documents: sources are split at headings (and again where a chapter
would be too large for Adobe-engine readers), footnotes become EPUB 3 popup
notes, links are pointed at the chapter document that now holds their target,
and images are read into the book.
"""

from __future__ import annotations

import functools
import logging
import posixpath
import re
import uuid
from collections.abc import Iterable, Iterator
from copy import deepcopy
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple
from urllib.parse import SplitResult, unquote, urlsplit

from lxml import etree, html

from . import xhtml
from .config import BookConfig, check_language
from .errors import ConfigError, SourceError
from .images import BadImage, check_image
from .model import Book, ContentDocument, CoverImage, Resource, Sink, TocEntry
from .names import slugify
from .render import RenderedDocument, inline_text
from .sources import MARKDOWN_SUFFIXES, Manuscript, read_limited
from .styles import stylesheet_files
from .xhtml import quoteattr

log = logging.getLogger("handbill")

READER_LIMIT_BYTES = 260_000
"""Adobe-engine readers struggle above roughly 260 KB of XHTML in one file."""
MAX_DOCUMENT_BYTES = 200_000
"""The most text handbill puts in one content document, leaving room below READER_LIMIT_BYTES."""

HEADINGS = ("h1", "h2", "h3", "h4", "h5", "h6")
_LINKABLE_SUFFIXES = (*MARKDOWN_SUFFIXES, ".html", ".htm", ".xhtml")
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
class _Piece:
    """Part of a source document that becomes one chapter (before size splitting)."""

    rendered: RenderedDocument
    blocks: list[html.HtmlElement]
    title: str | None
    level: int | None
    kind: str
    language: str | None
    in_toc: bool


@dataclass
class _Part:
    """One output document: a chapter, or a continuation of a long one."""

    piece: _Piece
    blocks: list[html.HtmlElement]
    file_name: str = ""
    chapter_title: str = ""
    first: bool = True


def assemble(manuscript: Manuscript, rendered: Iterable[RenderedDocument], sink: Sink | None = None) -> Book:
    """Turn rendered sources, one at a time, into the book's documents, contents and resources.

    Each source's tree is finished and serialised before the next is taken, so a book is never
    held as trees all at once. A link to a source not yet seen is serialised as a placeholder
    element and made a link once every target is known (`_Assembly.finish`). With a `sink`,
    each content document goes there the moment it is final, and the book keeps only what the
    package needs to know of it (its data is left empty).
    """
    config = manuscript.config
    by_key = {_source_key(name): name for name in manuscript.names}
    assembly = _Assembly(config, by_key, sink)
    for document in rendered:
        assembly.add(document)
    if not assembly.documents:
        raise ConfigError("the book has no text: its Markdown files are empty", config.source)
    documents = assembly.finish()
    title = assembly.title
    if not assembly.toc:
        # A reading system needs at least one entry in the contents; the first chapter is it.
        first = documents[0]
        log.warning("%s: every chapter is marked 'toc: false'; the first one is listed in the contents", config.source)
        assembly.toc.append(TocEntry(first.title or title, first.file_name))
    authors = config.authors

    cover = _cover(config, title, authors)
    cover_resource = Resource(f"images/cover.{cover.extension}", cover.media_type, cover.data, "cover-image")
    cover_page = assembly.deliver(
        _cover_page(config.language, title, authors, cover_resource.file_name, assembly.stylesheets)
    )
    landmarks = [("cover", cover_page.file_name, "Cover")]
    if assembly.titlepage is not None:
        landmarks.append(("titlepage", assembly.titlepage, "Title Page"))
    landmarks.append(("toc", "nav.xhtml", "Table of Contents"))
    landmarks.append(("bodymatter", assembly.bodymatter or documents[0].file_name, "Start of Content"))

    _warn_of_large_contents(assembly.toc, config.source)
    images = assembly.images.resources
    return Book(
        title=title,
        subtitle=config.subtitle,
        authors=authors,
        language=config.language,
        identifier=config.identifier or _stable_identifier(title, authors),
        date=config.date,
        description=config.description,
        publisher=config.publisher,
        rights=config.rights,
        subjects=config.subjects,
        accessibility_summary=config.accessibility_summary or _accessibility_summary(bool(images)),
        cover=cover,
        documents=(cover_page, *documents),
        resources=(cover_resource, *images, *assembly.stylesheets),
        toc=tuple(assembly.toc),
        landmarks=tuple(landmarks),
        slug=slugify(title),
        text_images=bool(images),
    )


class _Assembly:
    """The book as it is put together, one rendered source at a time."""

    def __init__(self, config: BookConfig, by_key: dict[str, str], sink: Sink | None):
        self.config = config
        self.sink = sink
        self.by_key = by_key
        """Every source of the book, by the key links name it with."""
        self.stylesheets = _stylesheets(config)
        self.images = _ImageStore(config)
        self.title = config.title or ""
        self.pieces = 0
        self.documents: list[ContentDocument] = []
        self.toc: list[TocEntry] = []
        self.titlepage: str | None = None
        self.bodymatter: str | None = None
        self.targets: dict[tuple[str, str], str] = {}
        self.starts: dict[str, str] = {}
        self.pending: list[_Waiting] = []
        """Links to sources not yet seen, numbered by their place here."""
        self.waiting: list[int] = []
        """The documents (by index) that hold such links."""

    def add(self, rendered: RenderedDocument) -> None:
        """Finish one source's chapters; its tree is not needed afterwards."""
        notes = _extract_notes(rendered.container)
        pieces = list(_split_into_pieces(rendered, self.config))
        if not pieces:
            return
        if not self.documents:
            self.title = self.title or _first_heading(pieces[0]) or self._fallback_title()
        for piece in pieces:
            # Untitled pieces get an honest label for the contents, never text in the body.
            self.pieces += 1
            if not piece.title:
                stem = piece.rendered.source.path.stem
                piece.title = self.title if self.pieces == 1 else _humanise(stem) or f"Section {self.pieces}"

        parts = list(_split_by_size(pieces, notes))
        chapter_title = ""
        for number, part in enumerate(parts, start=len(self.documents) + 1):
            part.file_name = f"text-{number:03d}.xhtml"
            if part.first:
                chapter_title = part.piece.title or ""
            part.chapter_title = chapter_title
            _place_notes(part, notes)
            _settle_ids(part, self.targets, self.starts)
        for part in parts:
            waits = self._rewrite_links(part)
            self.images.embed(part)
            document = _content_document(part, self.config.language, self.stylesheets)
            if waits:
                self.waiting.append(len(self.documents))
            self.documents.append(document if waits else self.deliver(document))
            if part.piece.kind == "titlepage" and self.titlepage is None:
                self.titlepage = part.file_name
            if DOCUMENT_TYPES[part.piece.kind][1] == "bodymatter" and self.bodymatter is None:
                self.bodymatter = part.file_name
        self.toc += _toc(parts, self.config.toc_depth)
        rendered.report.warn(str(rendered.source.path))

    def _fallback_title(self) -> str:
        """A book with no title in book.toml and no `#` heading is named after its folder or file."""
        stem = self.config.source.resolve().stem
        title = _humanise(stem) or stem.strip() or "Untitled"
        log.warning("%s: no title in book.toml and no '#' heading; the book is called %r", self.config.source, title)
        return title

    def _rewrite_links(self, part: _Part) -> bool:
        """Point the part's links at their targets; True if some wait for a later source."""
        source = part.piece.rendered.source
        waits = False
        for link in list(_iter_tag(part.blocks, "a")):
            href = link.get("href")
            if href is None:
                if not link.get("id"):
                    xhtml.unwrap(link)
                continue
            target = _target_source(href, source.name, self.by_key)
            if target is None or target in self.starts:
                _point(link, self._resolve(href, source.name, source.path), part.file_name)
                continue
            moved = {name: link.attrib.pop(name) for name in ("href", *_LINK_ONLY) if name in link.attrib}
            link.tag = f"{_PENDING}{len(self.pending)}"
            self.pending.append(_Waiting(moved, bool(link.attrib), source.name, source.path))
            waits = True
        return waits

    def _resolve(self, href: str, source_name: str, source_path: Path) -> str | None:
        resolved = _resolve_link(href, source_name, self.targets, self.starts, self.by_key)
        if resolved is None:
            log.warning("%s: link to %r %s; kept as plain text", source_path, href, _unresolved(href))
        return resolved

    def finish(self) -> list[ContentDocument]:
        """The documents, each placeholder made the link it stands for (or plain text)."""
        resolved = [self._resolve(link.attributes["href"], link.source, link.path) for link in self.pending]

        def replace(match: re.Match[bytes], file_name: str) -> bytes:
            closing, number, rest = match.group(1), int(match.group(2)), match.group(3)
            link, href = self.pending[number], resolved[number]
            if href is None and not link.other_attributes:
                return b""  # nothing left to carry: only the link's content stays
            if href is None:
                tag, attributes = b"span", ""
            else:
                tag = b"a"
                moved = dict(link.attributes, href=_relative(href, file_name))
                attributes = "".join(f" {name}={quoteattr(value)}" for name, value in moved.items())
            return b"</" + tag + b">" if closing else b"<" + tag + attributes.encode() + rest + b">"

        for index in self.waiting:
            document = self.documents[index]
            data = _PENDING_TAG.sub(functools.partial(replace, file_name=document.file_name), document.data)
            self.documents[index] = self.deliver(document._replace(data=data))
        return self.documents

    def deliver(self, document: ContentDocument) -> ContentDocument:
        """Hand a final document to the sink; what stays in the book is its description."""
        if self.sink is None:
            return document
        self.sink(document)
        return document._replace(data=b"")


class _Waiting(NamedTuple):
    """A link to a source not yet assembled, serialised as a placeholder element."""

    attributes: dict[str, str]
    """Its href and the attributes that go with it when it cannot be resolved."""
    other_attributes: bool
    """Whether it keeps attributes as plain text (an id, a class): a span, else unwrapped."""
    source: str
    path: Path


_PENDING = "handbill-pending-"
_PENDING_TAG = re.compile(rb"<(/?)handbill-pending-(\d+)([^>]*)>")
"""A waiting link as serialised: an element name no source can produce, since serialised XML
escapes every `<` in text and attribute values."""
_LINK_ONLY = ("rel", "type", "hreflang", "epub:type", "role")
"""Attributes that mean something only on a link: they go when a link becomes plain text."""


def _point(link: html.HtmlElement, resolved: str | None, file_name: str) -> None:
    """Set a link's target, or make it plain text when it has none."""
    if resolved is not None:
        link.set("href", _relative(resolved, file_name))
        return
    link.tag = "span"
    del link.attrib["href"]
    for name in _LINK_ONLY:
        link.attrib.pop(name, None)
    if not link.attrib:
        xhtml.unwrap(link)


def _relative(href: str, file_name: str) -> str:
    """A target in the linking document itself is named by its fragment alone."""
    return href[len(file_name) :] if href.startswith(file_name + "#") else href


# -- splitting -----------------------------------------------------------------------------


def _split_into_pieces(document: RenderedDocument, config: BookConfig) -> Iterator[_Piece]:
    meta = document.source.meta
    blocks = _top_level_blocks(document.container)
    if not any(_has_content(block) for block in blocks):
        log.warning("%s: no text; left out of the book", document.source.path)
        return
    level = config.split_level or _default_split_level(blocks, config.source.is_file())
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
        yield _Piece(
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


def _first_heading(piece: _Piece) -> str | None:
    for block in piece.blocks:
        if block.tag == "h1":
            return xhtml.text_of(block) or None
    return None


def _humanise(stem: str) -> str:
    words = re.sub(r"^[\d\s._-]+", "", stem).replace("_", " ").replace("-", " ").strip()
    return words[:1].upper() + words[1:]


_MAX_EXPANSION = 4
"""A character of the HTML Python-Markdown makes becomes at most this many bytes of XHTML (UTF-8
takes up to four, and what cleaning and notes add is no longer than what they replace): a source
whose HTML is shorter than MAX_DOCUMENT_BYTES / this cannot make an oversized document, so its
blocks are not measured. The source's own length is no bound: one reference definition can be
used thousands of times."""


def _split_by_size(pieces: list[_Piece], notes: dict[str, html.HtmlElement]) -> Iterator[_Part]:
    """Each piece as parts of at most MAX_DOCUMENT_BYTES (with their notes), split between blocks
    and, where one block is too large, inside it (`_split_block`)."""
    sizes = _Sizes(notes)
    for piece in pieces:
        markup_size = piece.rendered.markup_size
        if markup_size is not None and markup_size * _MAX_EXPANSION < MAX_DOCUMENT_BYTES:
            yield _Part(piece=piece, blocks=piece.blocks)
            continue
        current: list[html.HtmlElement] = []
        size = 0
        first = True
        for block in piece.blocks:
            for unit, unit_size in _fitting(block, sizes, piece.rendered.source.path):
                if current and size + unit_size > MAX_DOCUMENT_BYTES and not _only_headings(current):
                    yield _Part(piece=piece, blocks=current, first=first)
                    current, size, first = [], 0, False
                current.append(unit)
                size += unit_size
        yield _Part(piece=piece, blocks=current, first=first)


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
                READER_LIMIT_BYTES // 1000,
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
    for marked in _WITH_ID(element):
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


# -- notes, ids, links ----------------------------------------------------------------------


def _extract_notes(container: html.HtmlElement) -> dict[str, html.HtmlElement]:
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


def _place_notes(part: _Part, notes: dict[str, html.HtmlElement]) -> None:
    """Popup notes: a noteref in the text, an aside at the end of the same document."""
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
    first = aside[0] if len(aside) and aside[0].tag == "p" and not aside.text else None
    if first is not None:
        back.tail += first.text or ""
        first.text = None
        first.insert(0, back)
    else:
        wrapper = html.Element("p")
        wrapper.append(back)
        aside.insert(0, wrapper)
    return aside


def _settle_ids(part: _Part, targets: dict[tuple[str, str], str], starts: dict[str, str]) -> None:
    """Make the part's ids unique within it, and record where each (source, id) and each
    source's start ended up."""
    source = part.piece.rendered.source.name
    starts.setdefault(source, part.file_name)
    seen: set[str] = set()
    for block in part.blocks:
        for element in _WITH_ID(block):
            value = element.get("id")
            if value in seen:
                number = 2
                while f"{value}-{number}" in seen:
                    number += 1
                value = f"{value}-{number}"
                element.set("id", value)
            seen.add(value)
            targets.setdefault((source, value), f"{part.file_name}#{value}")


_WITH_ID = etree.XPath("descendant-or-self::*[@id]")


def _source_key(name: str) -> str:
    lowered = name.lower()
    for suffix in _LINKABLE_SUFFIXES:
        if lowered.endswith(suffix):
            name = name[: -len(suffix)]
            break
    if name.lower().endswith(("/readme", "/index")) or name.lower() in ("readme", "index"):
        name = name.rsplit("/", 1)[0] if "/" in name else ""
    return name


def _resolve_link(
    href: str,
    source_name: str,
    targets: dict[tuple[str, str], str],
    starts: dict[str, str],
    by_key: dict[str, str],
) -> str | None:
    parts = _split_url(href)
    if parts is None:
        return None
    if parts.scheme or parts.netloc:
        return _web_address(href.strip() if parts.scheme else "https:" + href.strip())
    target = _target_source(href, source_name, by_key)
    if target is None:
        return None
    fragment = xhtml.safe_id(unquote(parts.fragment))  # ids were made safe the same way
    return targets.get((target, fragment)) if fragment else starts.get(target)


def _target_source(href: str, source_name: str, by_key: dict[str, str]) -> str | None:
    """The source a link inside the book points to (None: a web address, or no such source)."""
    parts = _split_url(href)
    if parts is None or parts.scheme or parts.netloc:
        return None
    if not parts.path:
        return source_name
    joined = posixpath.normpath(posixpath.join(posixpath.dirname(source_name), unquote(parts.path)))
    return by_key.get(_source_key(joined.rstrip("/")))


def _split_url(href: str) -> SplitResult | None:
    try:
        return urlsplit(href.strip())
    except ValueError:
        return None


_URL_UNSAFE = re.compile(r'[\x00-\x20"<>\\^`{|}\x7f]')
_LONE_PERCENT = re.compile(r"%(?![0-9A-Fa-f]{2})")
_TAB_OR_NEWLINE = re.compile(r"[\t\n\r]")
_NEEDS_ADDRESSEE = ("mailto", "tel", "sms")


def _web_address(href: str) -> str | None:
    """A link out of the book, made a valid URL (what cannot stand plainly escaped), or None when
    it cannot be one: no host or a bad one, a port out of range, a mailto: with no one to write to."""
    href = _TAB_OR_NEWLINE.sub("", href)  # as urlsplit and every browser do: the host checked is the host kept
    parts = urlsplit(href)
    scheme = parts.scheme.lower()
    if scheme in ("http", "https", "ftp"):
        if not _valid_host(parts.netloc):
            return None
        try:
            parts.port  # noqa: B018 - raises for a port out of range
        except ValueError:
            return None
    if scheme in _NEEDS_ADDRESSEE and not (parts.path.strip() or parts.query.strip()):
        return None
    href = _URL_UNSAFE.sub(lambda match: f"%{ord(match.group()):02X}", href)
    href = _LONE_PERCENT.sub("%25", href)  # a % that starts no escape stands for itself
    # Brackets belong only around an IPv6 host, '#' only once: escape them anywhere else.
    after_host = len(scheme) + 1 if scheme else 0
    if parts.netloc:
        authority = href.find("//", after_host) + 2
        ends = [found for found in (href.find(mark, authority) for mark in "/?#") if found != -1]
        after_host = min(ends, default=len(href))
    head, rest = href[:after_host], href[after_host:].replace("[", "%5B").replace("]", "%5D")
    if "#" in rest:
        path, fragment = rest.split("#", 1)
        rest = path + "#" + fragment.replace("#", "%23")
    return head + rest


def _unresolved(href: str) -> str:
    """Why a link that leads nowhere was not kept, for the warning."""
    parts = _split_url(href)
    if parts is None or parts.scheme or parts.netloc:
        return "is not a valid address"
    return "leads nowhere in the book"


def _valid_host(netloc: str) -> bool:
    """A host name whose labels are letters, digits and inner hyphens (IDNs allowed), or [IPv6]."""
    host = netloc.rsplit("@", 1)[-1]
    if host.startswith("["):
        return bool(re.fullmatch(r"\[[0-9A-Fa-f:.]+\](?::\d{1,5})?", host))
    host = re.sub(r":\d{1,5}$", "", host).removesuffix(".")
    labels = host.split(".")
    return all(
        label and label.replace("-", "").isalnum() and not label.startswith("-") and not label.endswith("-")
        for label in labels
    )


def _iter_tag(blocks: list[html.HtmlElement], tag: str) -> Iterator[html.HtmlElement]:
    for block in blocks:
        yield from block.iter(tag)


# -- images and stylesheets ----------------------------------------------------------------


class _ImageStore:
    """Reads each referenced image once, from inside the book only, under a safe name."""

    def __init__(self, config: BookConfig):
        self.config = config
        self.by_path: dict[Path, Resource | None] = {}
        self.resources: list[Resource] = []

    def embed(self, part: _Part) -> None:
        source = part.piece.rendered.source
        for image in list(_iter_tag(part.blocks, "img")):
            resource = self._resource(image.get("src", ""), source.path)
            if resource is None:
                xhtml.drop_keep_tail(image, keep_text=image.get("alt", ""))
                continue
            image.set("src", resource.file_name)

    def _resource(self, src: str, source_path: Path) -> Resource | None:
        parts = urlsplit(src.strip())
        if parts.scheme or parts.netloc:
            log.warning(
                "%s: image %r is not inside the book; remote images are not fetched, its alt text is kept",
                source_path,
                src[:80],
            )
            return None
        relative = unquote(parts.path)
        if not relative or relative.startswith("/") or re.match(r"^[A-Za-z]:", relative):
            log.warning("%s: image %r has an absolute path; left out", source_path, src[:80])
            return None
        path = (source_path.parent / relative).resolve()
        if path in self.by_path:
            return self.by_path[path]
        resource = self._read(path, src, source_path)
        self.by_path[path] = resource
        return resource

    def _read(self, path: Path, src: str, source_path: Path) -> Resource | None:
        if not self.config.may_embed(path):
            log.warning("%s: image %r is outside the book folder; left out", source_path, src[:80])
            return None
        if not path.is_file():
            log.warning("%s: image %r does not exist; its alt text is kept", source_path, src[:80])
            return None
        try:
            data = read_limited(path, what="an image may be")
        except SourceError as error:
            log.warning("%s: image %r is left out, its alt text kept: it %s", source_path, src[:80], error.detail)
            return None
        try:
            kind = check_image(data)
        except BadImage as error:
            log.warning("%s: image %r is left out, its alt text kept: %s", source_path, src[:80], error)
            return None
        number = len(self.resources) + 1
        stem = slugify(path.stem, limit=40) or "image"
        resource = Resource(
            f"images/{number:03d}-{stem}.{kind.extension}", kind.media_type, data, f"image-{number:03d}"
        )
        self.resources.append(resource)
        return resource


def _stylesheets(config: BookConfig) -> list[Resource]:
    return [Resource(*entry) for entry in stylesheet_files(config)]


def _cover(config: BookConfig, title: str, authors: tuple[str, ...]) -> CoverImage:
    from .cover import draw_cover, load_cover  # Pillow is loaded once the text is done with

    if config.cover is not None:
        return load_cover(config.cover)
    return draw_cover(title, authors, _display_date(config.date), config.subtitle)


def _display_date(date: str | None) -> str | None:
    if not date:
        return None
    months = ("January February March April May June July August September October November December").split()
    pieces = date.split("-")
    if len(pieces) == 3:
        return f"{int(pieces[2])} {months[int(pieces[1]) - 1]} {pieces[0]}"
    if len(pieces) == 2:
        return f"{months[int(pieces[1]) - 1]} {pieces[0]}"
    return pieces[0]


# -- documents and contents ----------------------------------------------------------------


def _content_document(part: _Part, language: str, stylesheets: list[Resource]) -> ContentDocument:
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
        section_language = xhtml.language_attributes(piece.language)
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
        data=xhtml.page(part.chapter_title, language, _hrefs(stylesheets), matter, body),
        kind=piece.kind,
        properties=tuple(properties),
        words=words,
    )


def _cover_page(
    language: str, title: str, authors: tuple[str, ...], image: str, stylesheets: list[Resource]
) -> ContentDocument:
    alt = f"Cover of {title}" + (f" by {', '.join(authors)}" if authors else "")
    body = (
        '<section epub:type="cover" class="cover">\n'
        f'<img src={quoteattr(image)} alt={quoteattr(alt)} role="doc-cover"/>\n</section>'
    )
    return ContentDocument(
        file_name="cover.xhtml",
        item_id="cover",
        title="Cover",
        data=xhtml.page("Cover", language, _hrefs(stylesheets), "cover", body, body_class="cover"),
        kind="cover",
    )


def _warn_of_large_contents(toc: list[TocEntry], source: Path) -> None:
    """The navigation document cannot be split (a book has one): past what Adobe-engine readers
    open, say so and how to make it smaller."""
    size = sum(60 + len(entry.title.encode("utf-8")) + len(entry.href) for entry in _flattened(toc))
    if size <= READER_LIMIT_BYTES:
        return
    advice = "set toc_depth = 1 in book.toml" if any(entry.children for entry in toc) else "use fewer, longer chapters"
    log.warning(
        "%s: the table of contents (nav.xhtml) is about %d KB, over the %d KB Adobe-engine readers open; %s",
        source,
        size // 1000,
        READER_LIMIT_BYTES // 1000,
        advice,
    )


def _flattened(entries: Iterable[TocEntry]) -> Iterator[TocEntry]:
    for entry in entries:
        yield entry
        yield from _flattened(entry.children)


def _toc(parts: list[_Part], depth: int) -> Iterator[TocEntry]:
    for index, part in enumerate(parts):
        piece = part.piece
        if not part.first or not piece.in_toc:
            continue
        children: list[TocEntry] = []
        if depth > 1 and piece.level is not None:
            for sibling in parts[index:]:
                if sibling.piece is not piece:
                    break
                for block in sibling.blocks:
                    if block.tag == f"h{piece.level + 1}" and block.get("id") and xhtml.text_of(block):
                        children.append(TocEntry(xhtml.text_of(block), f"{sibling.file_name}#{block.get('id')}"))
        yield TocEntry(part.chapter_title, part.file_name, tuple(children))


# -- small helpers -------------------------------------------------------------------------


def _hrefs(stylesheets: list[Resource]) -> list[str]:
    return [sheet.file_name for sheet in stylesheets if sheet.media_type == "text/css"]


def _stable_identifier(title: str, authors: tuple[str, ...]) -> str:
    """The same book always gets the same identifier; a random one would change every build."""
    name = "\x1f".join((title, *authors))
    return f"urn:uuid:{uuid.uuid5(uuid.NAMESPACE_URL, 'handbill:' + name)}"


def _accessibility_summary(images: bool) -> str:
    summary = (
        "This publication is text with a table of contents, structural headings and a logical "
        "reading order; it does not depend on colour or sound."
    )
    if images:
        summary += " Its images carry text alternatives."
    return summary

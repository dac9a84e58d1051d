"""Assemble rendered documents into a `Book`: chapters, notes, links, images, contents.

This is where the book stops being a set of files and becomes a sequence of
chapter documents: sources are split at headings (and again where a chapter
would be too large for Adobe-engine readers), footnotes become EPUB 3 popup
notes, links are pointed at the chapter document that now holds their target,
and images are read into the book.

In: the `Manuscript` and its `RenderedDocument`s, one at a time. Out: the `Book` (and, with a
sink, each `ContentDocument` the moment it is final). `_Assembly` drives one source at a time
through split, notes, links, resources and documents; toc gathers the contents.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterable
from pathlib import Path

from .. import xhtml
from ..config import BookConfig
from ..errors import ConfigError
from ..languages import format_label, labels_for, primary_language, text_direction
from ..model import Book, ContentDocument, Resource, Sink, TocEntry
from ..names import book_slug
from ..render import RenderedDocument
from ..sources import Manuscript
from .documents import content_document, cover_document
from .links import (
    Waiting,
    fill_placeholders,
    make_placeholder,
    point,
    resolve_link,
    settle_ids,
    source_key,
    target_source,
    unresolved,
)
from .notes import extract_notes, place_notes
from .resources import FeatureStyles, FontEmbedding, ImageStore, book_cover, stylesheet_resources
from .split import DOCUMENT_TYPES, Part, iter_tag, split_by_size, split_into_pieces
from .toc import first_heading, humanise, outline_toc, toc_entries, warn_of_large_contents

__all__ = ["assemble"]

log = logging.getLogger(__name__)


def assemble(manuscript: Manuscript, rendered: Iterable[RenderedDocument], sink: Sink | None = None) -> Book:
    """Turn rendered sources, one at a time, into the book's documents, contents and resources.

    Each source's tree is finished and serialised before the next is taken, so a book is never
    held as trees all at once. A link to a source not yet seen is serialised as a placeholder
    element and made a link once every target is known (`_Assembly.finish`). With a `sink`,
    each content document goes there the moment it is final, and the book keeps only what the
    package needs to know of it (its data is left empty).
    """
    config = manuscript.config
    by_key = {source_key(name): name for name in manuscript.names}
    assembly = _Assembly(config, by_key, sink)
    for document in rendered:
        assembly.add(document)
    if not assembly.documents:
        raise ConfigError("the book has no text: its Markdown files are empty", config.source)
    documents = assembly.finish()
    title = assembly.title
    if manuscript.outline and assembly.toc:
        assembly.toc = outline_toc(manuscript.outline, assembly.toc_by_source) or assembly.toc
    if not assembly.toc:
        # A reading system needs at least one entry in the contents; the first chapter is it.
        first = documents[0]
        log.warning("%s: every chapter is marked 'toc: false'; the first one is listed in the contents", config.source)
        assembly.toc.append(TocEntry(first.title or title, first.file_name))
    authors = config.authors

    words = assembly.words
    cover = book_cover(config, title, authors)
    cover_resource = Resource(f"images/cover.{cover.extension}", cover.media_type, cover.data, "cover-image")
    cover_page = assembly.deliver(
        cover_document(
            config.language, title, authors, cover_resource.file_name, assembly.stylesheets, words, assembly.direction
        )
    )
    landmarks = [("cover", cover_page.file_name, words["cover"])]
    if assembly.titlepage is not None:
        landmarks.append(("titlepage", assembly.titlepage, words["title_page"]))
    landmarks.append(("toc", "nav.xhtml", words["table_of_contents"]))
    landmarks.append(("bodymatter", assembly.bodymatter or documents[0].file_name, words["start_of_content"]))

    warn_of_large_contents(assembly.toc, config.source)
    images = assembly.images.resources
    summary, summary_language = config.accessibility_summary, None
    if summary is None:
        # handbill's own summary is English, and says so, rather than a machine translation.
        summary = _accessibility_summary(bool(images))
        summary_language = None if primary_language(config.language) == "en" else "en"
    return Book(
        title=title,
        subtitle=config.subtitle,
        author_sorts=config.author_sorts,
        contributors=config.credited,
        series=config.series,
        series_index=config.series_index,
        authors=authors,
        language=config.language,
        identifier=config.identifier or _stable_identifier(title, authors, config.language if config.work else None),
        date=config.date,
        description=config.description,
        publisher=config.publisher,
        rights=config.rights,
        subjects=config.subjects,
        accessibility_summary=summary,
        summary_language=summary_language,
        cover=cover,
        documents=(cover_page, *documents),
        resources=(
            cover_resource,
            *images,
            *assembly.features.resources(),
            *assembly.fonts.resources(assembly.stylesheets, landmarks),
        ),
        toc=tuple(assembly.toc),
        landmarks=tuple(landmarks),
        slug=book_slug(title),
        text_images=bool(images),
        direction=assembly.direction,
        writing_mode=config.writing_mode,
        labels=tuple(words.items()),
    )


class _Assembly:
    """The book as it is put together, one rendered source at a time."""

    def __init__(self, config: BookConfig, by_key: dict[str, str], sink: Sink | None):
        self.config = config
        self.sink = sink
        self.by_key = by_key
        """Every source of the book, by the key links name it with."""
        self.stylesheets = stylesheet_resources(config)
        self.fonts = FontEmbedding(config, self.stylesheets)
        self.words = labels_for(config.language, dict(config.labels))
        """The words handbill writes itself, in the book's language."""
        self.direction = config.direction or text_direction(config.language)
        self.images = ImageStore(config)
        self.features = FeatureStyles()
        self.title = config.title or ""
        self.pieces = 0
        self.documents: list[ContentDocument] = []
        self.toc: list[TocEntry] = []
        self.toc_by_source: dict[Path, list[TocEntry]] = {}
        self.titlepage: str | None = None
        self.bodymatter: str | None = None
        self.targets: dict[tuple[str, str], str] = {}
        self.starts: dict[str, str] = {}
        self.pending: list[Waiting] = []
        """Links to sources not yet seen, numbered by their place here."""
        self.waiting: list[int] = []
        """The documents (by index) that hold such links."""

    def add(self, rendered: RenderedDocument) -> None:
        """Finish one source's chapters; its tree is not needed afterwards."""
        notes = extract_notes(rendered.container)
        pieces = list(split_into_pieces(rendered, self.config))
        if not pieces:
            return
        if not self.documents:
            self.title = self.title or first_heading(pieces[0]) or self._fallback_title()
        for piece in pieces:
            # Untitled pieces get an honest label for the contents, never text in the body.
            self.pieces += 1
            if not piece.title:
                stem = piece.rendered.source.path.stem
                piece.title = (
                    self.title
                    if self.pieces == 1
                    else humanise(stem) or format_label(self.words, "section", number=self.pieces)
                )

        parts = list(split_by_size(pieces, notes))
        chapter_title = ""
        for number, part in enumerate(parts, start=len(self.documents) + 1):
            part.file_name = f"text-{number:03d}.xhtml"
            if part.first:
                chapter_title = part.piece.title or ""
            part.chapter_title = chapter_title
            place_notes(part, notes, self.words["note_backlink"])
            settle_ids(part, self.targets, self.starts)
        for part in parts:
            waits = self._rewrite_links(part)
            self.images.embed(part)
            stylesheets = self.features.stylesheets(part, self.stylesheets)
            document = content_document(part, self.config.language, stylesheets, self.direction)
            if waits:
                self.waiting.append(len(self.documents))
            self.documents.append(document if waits else self.deliver(document))
            if part.piece.kind == "titlepage" and self.titlepage is None:
                self.titlepage = part.file_name
            if DOCUMENT_TYPES[part.piece.kind][1] == "bodymatter" and self.bodymatter is None:
                self.bodymatter = part.file_name
        entries = list(toc_entries(parts, self.config.toc_depth))
        self.toc += entries
        self.toc_by_source.setdefault(rendered.source.path.resolve(), []).extend(entries)
        rendered.report.warn(str(rendered.source.path))

    def _fallback_title(self) -> str:
        """A book with no title in book.toml and no `#` heading is named after its folder or file."""
        stem = self.config.source.resolve().stem
        title = humanise(stem) or stem.strip() or self.words["untitled"]
        log.warning("%s: no title in book.toml and no '#' heading; the book is called %r", self.config.source, title)
        return title

    def _rewrite_links(self, part: Part) -> bool:
        """Point the part's links at their targets; True if some wait for a later source."""
        source = part.piece.rendered.source
        waits = False
        for link in list(iter_tag(part.blocks, "a")):
            href = link.get("href")
            if href is None:
                if not link.get("id"):
                    xhtml.unwrap(link)
                continue
            target = target_source(href, source.name, self.by_key)
            if target is None or target in self.starts:
                point(link, self._resolve(href, source.name, source.path), part.file_name)
                continue
            make_placeholder(link, self.pending, source.name, source.path)
            waits = True
        return waits

    def _resolve(self, href: str, source_name: str, source_path: Path) -> str | None:
        resolved = resolve_link(href, source_name, self.targets, self.starts, self.by_key)
        if resolved is None:
            log.warning("%s: link to %r %s; kept as plain text", source_path, href, unresolved(href))
        return resolved

    def finish(self) -> list[ContentDocument]:
        """The documents, each placeholder made the link it stands for (or plain text)."""
        resolved = [self._resolve(link.attributes["href"], link.source, link.path) for link in self.pending]
        for index in self.waiting:
            document = self.documents[index]
            data = fill_placeholders(document.data, document.file_name, self.pending, resolved)
            self.documents[index] = self.deliver(document._replace(data=data))
        return self.documents

    def deliver(self, document: ContentDocument) -> ContentDocument:
        """Hand a final document to the sink; what stays in the book is its description."""
        self.fonts.read(document)
        if self.sink is None:
            return document
        self.sink(document)
        return document._replace(data=b"")


def _stable_identifier(title: str, authors: tuple[str, ...], edition: str | None = None) -> str:
    """The same book always gets the same identifier; a random one would change every build.
    An edition of a work (`work` in book.toml) adds its language: the German "Manifest" is not
    the English one, and a reader that takes two books for one keeps only one of them."""
    name = "\x1f".join((title, *authors, *((edition,) if edition else ())))
    return f"urn:uuid:{uuid.uuid5(uuid.NAMESPACE_URL, 'handbill:' + name)}"


def _accessibility_summary(images: bool) -> str:
    summary = (
        "This publication is text with a table of contents, structural headings and a logical "
        "reading order; it does not depend on colour or sound."
    )
    if images:
        summary += " Its images carry text alternatives."
    return summary

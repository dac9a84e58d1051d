"""Run the stages in order: gather and check everything first, then write once."""

from __future__ import annotations

from collections.abc import Iterator
from copy import deepcopy
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from .book import Book, assemble
from .config import BookConfig
from .render import Progress, RenderedDocument, render_each
from .sources import SourceDocument, read_manuscript

FORMATS = ("epub", "kepub")
"""What `--format` accepts (and `all`): the EPUB, and the Kobo edition named *.kepub.epub."""


@dataclass(frozen=True)
class BuildResult:
    book: Book
    paths: tuple[Path, ...]

    @property
    def path(self) -> Path:
        return self.paths[0]

    @property
    def size(self) -> int:
        return self.path.stat().st_size


class Builder:
    """Builds a book, and keeps each source's rendered tree when asked to build it again.

    Watch mode keeps one Builder: an edit then re-renders only the files whose text
    changed, and the rest of the book is assembled from copies of the kept trees.
    """

    def __init__(self, keep: bool = False, progress: Progress | None = None):
        self.keep = keep
        self.progress = progress
        self._kept: dict[Path, tuple[str, RenderedDocument]] = {}

    def make_book(self, config: BookConfig) -> Book:
        """Read, render and assemble: every problem surfaces here, before anything is written."""
        manuscript = read_manuscript(config)
        if not self.keep:
            return assemble(manuscript, render_each(manuscript.documents, self.progress))
        return assemble(manuscript, self._kept_or_fresh(manuscript.documents))

    def _kept_or_fresh(self, documents: tuple[SourceDocument, ...]) -> Iterator[RenderedDocument]:
        """Each document's tree: rendered again where its text changed, else a copy of the kept one
        (assemble() rearranges the trees it is given; the kept ones stay whole)."""
        stale = [doc for doc in documents if self._kept.get(doc.path, ("",))[0] != doc.text]
        fresh = render_each(stale, self.progress)
        stale_paths = {doc.path for doc in stale}
        for doc in documents:
            if doc.path in stale_paths:
                self._kept[doc.path] = (doc.text, next(fresh))
            kept = self._kept[doc.path][1]
            yield RenderedDocument(doc, deepcopy(kept.container), kept.report)


def make_book(config: BookConfig) -> Book:
    """Read, render and assemble a book once."""
    return Builder().make_book(config)


def default_output(book: Book) -> Path:
    return Path("dist") / f"{book.slug or 'book'}.epub"


def kepub_path(output: Path) -> Path:
    """`book.epub` -> `book.kepub.epub`: the name that makes a Kobo open it in its own engine."""
    stem = output.name.removesuffix(".epub").removesuffix(".kepub")
    return output.with_name(f"{stem}.kepub.epub")


def edition(book: Book, kind: str) -> Book:
    if kind == "kepub":
        from .kepub import to_kepub

        return to_kepub(book)
    return book


def build(
    config: BookConfig,
    output: Path | None = None,
    formats: tuple[str, ...] = ("epub",),
    builder: Builder | None = None,
) -> BuildResult:
    """Build the book and write each format (default: the EPUB at `dist/<slug>.epub`)."""
    book = (builder or Builder()).make_book(config)
    from .epub import modified_time, write_epub  # ebooklib is loaded once the text is done with

    path = output or default_output(book)
    modified = modified_time(config.modified, config.date)
    editions = [(edition(book, kind), path if kind == "epub" else kepub_path(path)) for kind in formats]
    for finished, target in editions:  # all converted before anything is written
        write_epub(finished, target, modified)
    return BuildResult(book=book, paths=tuple(target for _, target in editions))


def edition_bytes(config: BookConfig) -> tuple[Book, datetime, dict[str, bytes]]:
    """The book and every edition in memory, for serving."""
    from .epub import epub_bytes, modified_time

    book = make_book(config)
    modified = modified_time(config.modified, config.date)
    return book, modified, {kind: epub_bytes(edition(book, kind), modified) for kind in FORMATS}

"""Run the stages in order: gather and check everything first, then write once."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from .book import Book, assemble
from .config import BookConfig
from .epub import modified_time, write_epub
from .render import render_document
from .sources import read_manuscript


@dataclass(frozen=True)
class BuildResult:
    book: Book
    path: Path

    @property
    def size(self) -> int:
        return self.path.stat().st_size


def make_book(config: BookConfig) -> Book:
    """Read, render and assemble: every problem surfaces here, before anything is written."""
    manuscript = read_manuscript(config)
    rendered = [render_document(document) for document in manuscript.documents]
    return assemble(manuscript, rendered)


def default_output(book: Book) -> Path:
    return Path("dist") / f"{book.slug or 'book'}.epub"


def build(config: BookConfig, output: Path | None = None) -> BuildResult:
    """Build the book and write it to `output` (default `dist/<slug>.epub`)."""
    book = make_book(config)
    path = output or default_output(book)
    write_epub(book, path, modified_time(config.modified, config.date))
    return BuildResult(book=book, path=path)

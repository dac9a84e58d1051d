"""Run the stages in order: gather and check everything first, then write once."""

from __future__ import annotations

import io
from collections.abc import Callable, Iterator
from copy import deepcopy
from datetime import datetime
from pathlib import Path
from typing import NamedTuple

from .book import Book, ContentDocument, Sink, assemble
from .config import BookConfig
from .render import Progress, RenderedDocument, render_each
from .sources import SourceDocument, read_manuscript

FORMATS = ("epub", "kepub")
"""What `--format` accepts (and `all`): the EPUB, and the Kobo edition named *.kepub.epub."""


class BuildResult(NamedTuple):
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

    def make_book(self, config: BookConfig, sink: Sink | None = None) -> Book:
        """Read, render and assemble; with a `sink`, each document goes there once final."""
        manuscript = read_manuscript(config)
        if not self.keep:
            rendered = render_each(manuscript.documents(), len(manuscript.paths), manuscript.size, self.progress)
            return assemble(manuscript, rendered, sink)
        return assemble(manuscript, self._kept_or_fresh(list(manuscript.documents())), sink)

    def _kept_or_fresh(self, documents: list[SourceDocument]) -> Iterator[RenderedDocument]:
        """Each document's tree: rendered again where its text changed, else a copy of the kept one
        (assemble() rearranges the trees it is given; the kept ones stay whole)."""
        stale = [doc for doc in documents if self._kept.get(doc.path, ("",))[0] != doc.text]
        # All rendered before the first document is written (watch mode keeps every tree anyway):
        # worker processes are then never forked beside the EPUB stream's writer thread.
        fresh = iter(list(render_each(stale, len(stale), sum(len(doc.text) for doc in stale), self.progress)))
        stale_paths = {doc.path for doc in stale}
        for doc in documents:
            if doc.path in stale_paths:
                self._kept[doc.path] = (doc.text, next(fresh))
            kept = self._kept[doc.path][1]
            yield RenderedDocument(doc, deepcopy(kept.container), kept.report, kept.markup_size)


def make_book(config: BookConfig) -> Book:
    """Read, render and assemble a book once, its documents held in memory."""
    return Builder().make_book(config)


def default_output(book: Book) -> Path:
    return Path("dist") / f"{book.slug or 'book'}.epub"


def kepub_path(output: Path) -> Path:
    """`book.epub` -> `book.kepub.epub`: the name that makes a Kobo open it in its own engine."""
    stem = output.name.removesuffix(".epub").removesuffix(".kepub")
    return output.with_name(f"{stem}.kepub.epub")


def _write_editions(
    config: BookConfig,
    builder: Builder,
    targets: dict[str, str | io.BytesIO],
    modified: datetime,
    shown: Path | None = None,
) -> Book:
    """Build the book into one EPUB per format (`epub`, `kepub`), each written as it is assembled."""
    from .epub import EpubStream  # ebooklib is loaded when the first document is final

    streams: list[tuple[EpubStream, Callable[[ContentDocument], ContentDocument] | None]] = []
    try:
        for kind, target in targets.items():
            convert: Callable[[ContentDocument], ContentDocument] | None = None
            if kind == "kepub":
                from .kepub import kepub_document as convert
            streams.append((EpubStream(target, modified, shown), convert))

        def sink(document: ContentDocument) -> None:
            for stream, convert in streams:
                stream.add(convert(document) if convert else document)

        book = builder.make_book(config, sink)
        for stream, _ in streams:
            stream.finish(book)
        return book
    finally:
        for stream, _ in streams:
            stream.close()


def build(
    config: BookConfig,
    output: Path | None = None,
    formats: tuple[str, ...] = ("epub",),
    builder: Builder | None = None,
) -> BuildResult:
    """Build the book and write each format (default: the EPUB at `dist/<slug>.epub`).

    Each format is written to a temporary file beside its final name, which it takes only once
    the whole book is written: a failed build leaves any earlier output untouched, and no
    folder it made. Only an earlier EPUB (or an empty file) is ever replaced.
    """
    from .epub import OutputFile, OutputFolder, check_target, modified_time

    modified = modified_time(config.modified, config.date)
    if output is not None:
        _check_targets(output, formats, check_target)
    folder = OutputFolder(output.parent if output else Path("dist"), output)
    files: dict[str, OutputFile] = {}
    try:
        for kind in formats:
            files[kind] = OutputFile(folder)
        targets: dict[str, str | io.BytesIO] = {kind: file.path for kind, file in files.items()}
        book = _write_editions(config, builder or Builder(), targets, modified, output or folder.path)
        path = output or default_output(book)
        final = {kind: path if kind == "epub" else kepub_path(path) for kind in files}
        if output is None:
            _check_targets(path, formats, check_target)
        paths = tuple(file.commit(final[kind]) for kind, file in files.items())
    except BaseException:
        for file in files.values():
            file.discard()
        folder.discard()
        raise
    return BuildResult(book=book, paths=paths)


def _check_targets(output: Path, formats: tuple[str, ...], check: Callable[[Path], None]) -> None:
    """Every edition gets a file of its own, and each may replace only an earlier EPUB."""
    paths = [output if kind == "epub" else kepub_path(output) for kind in formats]
    if len(set(paths)) < len(paths):
        from .errors import OutputError

        raise OutputError(
            "would hold both the EPUB and the Kobo edition; name the EPUB (book.epub) and the Kobo"
            " edition is written beside it as book.kepub.epub",
            output,
        )
    for path in paths:
        check(path)


def edition_bytes(config: BookConfig) -> tuple[Book, datetime, dict[str, bytes]]:
    """The book and every edition in memory, for serving."""
    from .epub import modified_time

    modified = modified_time(config.modified, config.date)
    buffers = {kind: io.BytesIO() for kind in FORMATS}
    book = _write_editions(config, Builder(), dict(buffers), modified)
    return book, modified, {kind: buffer.getvalue() for kind, buffer in buffers.items()}

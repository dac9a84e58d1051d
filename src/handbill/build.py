"""Run the stages in order: gather and check everything first, then write once."""

from __future__ import annotations

import contextlib
import io
import itertools
import logging
import threading
import time
from collections.abc import Callable, Collection, Iterator
from copy import deepcopy
from datetime import datetime
from pathlib import Path
from typing import BinaryIO, NamedTuple

from .assemble import assemble
from .config import BookConfig
from .model import Book, ContentDocument, Sink
from .render import Progress, RenderedDocument, render_each
from .sources import SourceDocument, read_manuscript

log = logging.getLogger(__name__)

FORMATS = ("epub", "kepub")
"""What `--format` accepts (and `all`): the EPUB, and the Kobo edition named *.kepub.epub."""


class BuildResult(NamedTuple):
    """What a build made: the book, the files written (in the order of the formats asked for; none
    when the EPUB went to a stream), their sizes, and the warnings logged while building it."""

    book: Book
    paths: tuple[Path, ...]
    sizes: tuple[int, ...] = ()
    warnings: tuple[str, ...] = ()

    @property
    def path(self) -> Path:
        """The EPUB's path (the first format's)."""
        return self.paths[0]

    @property
    def size(self) -> int:
        """The EPUB's size in bytes (the first format's)."""
        return self.sizes[0] if self.sizes else self.path.stat().st_size


class Builder:
    """Builds a book, and keeps each source's rendered tree when asked to build it again.

    Watch mode keeps one Builder: an edit then re-renders only the files whose text
    changed, and the rest of the book is assembled from copies of the kept trees.
    """

    def __init__(self, keep: bool = False, progress: Progress | None = None):
        self.keep = keep
        self.progress = progress
        self._kept: dict[Path, tuple[tuple[str, str], RenderedDocument]] = {}

    def make_book(self, config: BookConfig, sink: Sink | None = None) -> Book:
        """Read, render and assemble; with a `sink`, each document goes there once final."""
        manuscript = read_manuscript(config)
        if not self.keep:
            rendered = render_each(manuscript.documents(), len(manuscript.paths), manuscript.size, self.progress)
        else:
            rendered = self._kept_or_fresh(list(manuscript.documents()))
        if config.bibliography is not None:
            from .citations import cite_each  # citeproc-py only for a book with references

            rendered = cite_each(config, rendered)
        return assemble(manuscript, rendered, sink)

    def _kept_or_fresh(self, documents: list[SourceDocument]) -> Iterator[RenderedDocument]:
        """Each document's tree: rendered again where its text changed, else a copy of the kept one
        (assemble() rearranges the trees it is given; the kept ones stay whole)."""
        stale = [doc for doc in documents if self._kept.get(doc.path, ("",))[0] != (doc.text, doc.language)]
        # All rendered before the first document is written (watch mode keeps every tree anyway):
        # worker processes are then never forked beside the EPUB stream's writer thread.
        fresh = iter(list(render_each(stale, len(stale), sum(len(doc.text) for doc in stale), self.progress)))
        stale_paths = {doc.path for doc in stale}
        for doc in documents:
            if doc.path in stale_paths:
                self._kept[doc.path] = ((doc.text, doc.language), next(fresh))
            kept = self._kept[doc.path][1]
            yield RenderedDocument(doc, deepcopy(kept.container), kept.report, kept.markup_size)


def make_book(config: BookConfig) -> Book:
    """Read, render and assemble a book once, its documents held in memory."""
    return Builder().make_book(config)


def default_output(book: Book, folder: Path = Path("dist")) -> Path:
    return folder / f"{book.slug or 'book'}.epub"


def _unclaimed(path: Path, book: Book, formats: tuple[str, ...], claimed: Collection[Path]) -> Path:
    """`path`, or when an edition built earlier in the same run took it (two editions of one
    title), the name with the book's language added (`title-de.epub`), then a number."""
    candidates = itertools.chain(
        (path, path.with_name(f"{path.stem}-{book.language.lower()}.epub")),
        (path.with_name(f"{path.stem}-{book.language.lower()}-{number}.epub") for number in itertools.count(2)),
    )
    for candidate in candidates:
        if not set(_edition_paths(candidate, formats).values()) & set(claimed):
            return candidate
    raise AssertionError("unreachable")


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
    from .write.epub import EpubStream  # ebooklib is loaded when the first document is final

    streams: list[tuple[EpubStream, Callable[[ContentDocument], ContentDocument] | None]] = []
    try:
        for kind, target in targets.items():
            convert: Callable[[ContentDocument], ContentDocument] | None = None
            if kind == "kepub":
                from .write.kepub import kepub_document

                convert = kepub_document
            streams.append((EpubStream(target, modified, shown), convert))

        def sink(document: ContentDocument) -> None:
            for stream, convert in streams:
                stream.add(convert(document) if convert else document)

        book = builder.make_book(config, sink)
        for stream, convert in streams:
            if convert is not None:
                from .write.kepub import kepub_book  # its contents follow the ids the Kobo edition renames

                stream.finish(kepub_book(book))
            else:
                stream.finish(book)
        return book
    finally:
        for stream, _ in streams:
            stream.close()


def build(
    config: BookConfig,
    output: Path | BinaryIO | None = None,
    formats: tuple[str, ...] = ("epub",),
    builder: Builder | None = None,
    strict: bool = False,
    into: Path | None = None,
    claimed: Collection[Path] = (),
) -> BuildResult:
    """Build the book and write each format (default: the EPUB at `dist/<slug>.epub`).

    Without `output`, the book goes into the folder `into` (default `dist`) under its slug; a name in
    `claimed` (written earlier in the same run) is not taken again (see `_unclaimed`).

    Each format is written to a temporary file beside its final name, which it takes only once
    the whole book is written: a failed build leaves any earlier output untouched, and no
    folder it made. Only an earlier EPUB (or an empty file) is ever replaced.

    `output` may also be a binary stream (one format only): the EPUB is made in memory and
    written to it in one piece once whole. With `strict`, a build that logs a warning on the
    "handbill" logger writes nothing and raises StrictError.
    """
    if output is not None and hasattr(output, "write"):
        return _build_to_stream(config, output, formats, builder or Builder(), strict)  # type: ignore[arg-type]
    from .write.epub import OutputFile, OutputFolder, modified_time

    output = Path(output) if output is not None else None  # type: ignore[arg-type]
    modified = modified_time(config.modified, config.date)
    if output is not None:
        _check_targets(_edition_paths(output, formats))
    folder = OutputFolder(output.parent if output else (into or Path("dist")), output)
    files: dict[str, OutputFile] = {}
    try:
        with _warnings_logged() as warnings:
            for kind in formats:
                files[kind] = OutputFile(folder)
            targets: dict[str, str | io.BytesIO] = {kind: file.path for kind, file in files.items()}
            started = time.perf_counter()
            book = _write_editions(config, builder or Builder(), targets, modified, output or folder.path)
            log.info("%s: %d chapters in %.2f s", config.source, book.chapters, time.perf_counter() - started)
        path = output or _unclaimed(default_output(book, folder.path), book, formats, claimed)
        _refuse_warnings(strict, warnings, path)
        final = _edition_paths(path, formats)
        if output is None:
            _check_targets(final)  # every edition, before the first takes its place
        paths = tuple(file.commit(final[kind]) for kind, file in files.items())
    except BaseException:
        for file in files.values():
            file.discard()
        folder.discard()
        raise
    return BuildResult(book, paths, tuple(path.stat().st_size for path in paths), tuple(warnings))


def _build_to_stream(
    config: BookConfig, stream: BinaryIO, formats: tuple[str, ...], builder: Builder, strict: bool
) -> BuildResult:
    from .write.epub import modified_time

    if len(formats) != 1:
        raise ValueError("a stream holds one format; give a path to write several")
    buffer = io.BytesIO()
    with _warnings_logged() as warnings:
        book = _write_editions(config, builder, {formats[0]: buffer}, modified_time(config.modified, config.date))
    _refuse_warnings(strict, warnings, None)
    data = buffer.getvalue()
    stream.write(data)
    return BuildResult(book, (), (len(data),), tuple(warnings))


@contextlib.contextmanager
def _warnings_logged() -> Iterator[list[str]]:
    """The warnings this thread logs on the "handbill" logger meanwhile (those that reach it: a
    program that silences the logger below WARNING silences them here too)."""
    messages: list[str] = []
    thread = threading.get_ident()

    class Collect(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            if record.thread == thread:
                messages.append(record.getMessage())

    collect = Collect(logging.WARNING)
    logger = logging.getLogger("handbill")
    logger.addHandler(collect)
    try:
        yield messages
    finally:
        logger.removeHandler(collect)


def _refuse_warnings(strict: bool, warnings: list[str], output: Path | None) -> None:
    if strict and warnings:
        from .errors import StrictError

        count = f"{len(warnings)} warning{'s' if len(warnings) > 1 else ''}"
        raise StrictError(f"{count} in strict mode; nothing was written", output)


def _edition_paths(output: Path, formats: tuple[str, ...]) -> dict[str, Path]:
    """Where each format goes: the EPUB at `output`, the Kobo edition beside it."""
    return {kind: output if kind == "epub" else kepub_path(output) for kind in formats}


def _check_targets(paths: dict[str, Path]) -> None:
    """Every edition gets a file of its own, and each may replace only an earlier EPUB."""
    from .write.epub import check_target

    if len(set(paths.values())) < len(paths):
        from .errors import OutputError

        raise OutputError(
            "would hold both the EPUB and the Kobo edition; name the EPUB (book.epub) and the Kobo"
            " edition is written beside it as book.kepub.epub",
            next(iter(paths.values())),
        )
    for path in paths.values():
        check_target(path)


def edition_bytes(config: BookConfig) -> tuple[Book, datetime, dict[str, bytes]]:
    """The book and every edition in memory, for serving."""
    from .write.epub import modified_time

    modified = modified_time(config.modified, config.date)
    buffers = {kind: io.BytesIO() for kind in FORMATS}
    book = _write_editions(config, Builder(), dict(buffers), modified)
    return book, modified, {kind: buffer.getvalue() for kind, buffer in buffers.items()}

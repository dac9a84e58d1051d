"""Edition sets: several books built in one run, such as the translations of one statement.

In: the sources named on the command line, where a folder of book folders stands for every
edition in it. Out: one outcome per book, in order: what it wrote, or the one error that
stopped it. A failing book never stops the others, and never leaves a file behind (each book
is written as `build` writes one: to a `.part` file that takes its name only when whole).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any, NamedTuple

from .config import CONFIG_NAME, BookConfig
from .errors import HandbillError
from .sources import MARKDOWN_SUFFIXES

log = logging.getLogger(__name__)


def _holds_a_book(folder: Path) -> bool:
    """A book.toml or a Markdown file of its own (not in a subfolder)."""
    try:
        return (folder / CONFIG_NAME).is_file() or any(
            path.suffix.lower() in MARKDOWN_SUFFIXES and path.is_file() for path in folder.iterdir()
        )
    except OSError:
        return False


def edition_folders(folder: Path) -> list[Path] | None:
    """The book folders a folder of editions holds, in name order; None when `folder` is a book.

    A folder of editions has no `book.toml` and no Markdown of its own, and at least one
    subfolder with a `book.toml`: a book whose chapters sit in part folders (`part-1/*.md`,
    no book.toml in them) stays one book. Every visible subfolder that holds a `book.toml` or
    Markdown is an edition; others (`images/`, `assets/`) are not books and are passed over.
    """
    try:
        if not folder.is_dir() or _holds_a_book(folder):
            return None
        subfolders = sorted(
            (path for path in folder.iterdir() if path.is_dir() and not path.name.startswith(".")),
            key=lambda path: path.name,
        )
    except OSError:
        return None
    if not any((path / CONFIG_NAME).is_file() for path in subfolders):
        return None
    return [path for path in subfolders if _holds_a_book(path)]


def edition_sources(sources: Sequence[Path]) -> list[Path] | None:
    """Every book the sources name, folders of editions opened, each book once; None when they
    name one plain book (built as always: `-o` is then a file)."""
    books: list[Path] = []
    several = len(sources) > 1
    for source in sources:
        editions = edition_folders(Path(source))
        several = several or editions is not None
        for book in editions if editions is not None else [source]:
            if not any(_same(book, seen) for seen in books):
                books.append(book)
    return books if several else None


def _same(one: Path, other: Path) -> bool:
    try:
        return one.resolve() == other.resolve()
    except (OSError, RuntimeError, ValueError):
        return one == other


class Outcome(NamedTuple):
    """One book of a set: what its build returned, or the error that stopped it."""

    source: Path
    result: Any = None
    """The `BuildResult`, when the book was written."""
    error: HandbillError | None = None
    renamed_from: Path | None = None
    """The default name another edition of the run had taken, when this one got another."""


def build_editions(
    sources: Iterable[Path],
    into: Path | None = None,
    formats: tuple[str, ...] = ("epub",),
    strict: bool = False,
    allow_outside: tuple[Path, ...] = (),
    load: Callable[..., BookConfig] | None = None,
    **overrides: Any,
) -> Iterator[Outcome]:
    """Build each book into the folder `into` (default `dist`) under its own name, one after
    another, and yield each outcome as it is known. Two editions of one title (the English and
    the German "Manifest") never overwrite each other: the later gets its language in its name.
    `load` reads a source's settings (default `load_config`; the command line also imports documents)."""
    from .build import Builder, build, default_output
    from .config import load_config

    load = load or load_config

    claimed: list[Path] = []
    identifiers: dict[str, Path] = {}
    for source in sources:
        try:
            config = load(source, allow_outside, **overrides)
            result = build(config, None, formats, Builder(), strict=strict, into=into, claimed=claimed)
        except HandbillError as error:
            yield Outcome(source, error=error)
            continue
        wanted = default_output(result.book, result.path.parent)
        claimed.extend(result.paths)
        if result.book.identifier in identifiers:
            log.warning(
                "%s: has the identifier of %s (%s); reading apps will take them for one book: give each"
                " 'work' (editions of one work) or its own 'identifier' in book.toml",
                config.config_file or source,
                identifiers[result.book.identifier],
                result.book.identifier,
            )
        identifiers.setdefault(result.book.identifier, source)
        yield Outcome(source, result, renamed_from=wanted if wanted != result.path else None)

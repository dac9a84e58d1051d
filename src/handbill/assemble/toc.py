"""Contents entries and titles.

In: a source's `Part`s and the book's `toc_depth`. Out: `TocEntry`s (a chapter, with its next
heading level as children), the titles given to untitled pieces and books, and a warning when the
navigation document would be too large for Adobe-engine readers.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Iterator
from pathlib import Path

from .. import xhtml
from ..model import TocEntry
from . import split  # split.READER_LIMIT_BYTES: the limit is stated once, there
from .split import Part, Piece

log = logging.getLogger(__name__)


def first_heading(piece: Piece) -> str | None:
    for block in piece.blocks:
        if block.tag == "h1":
            return xhtml.text_of(block) or None
    return None


def humanise(stem: str) -> str:
    words = re.sub(r"^[\d\s._-]+", "", stem).replace("_", " ").replace("-", " ").strip()
    return words[:1].upper() + words[1:]


def warn_of_large_contents(toc: list[TocEntry], source: Path) -> None:
    """The navigation document cannot be split (a book has one): past what Adobe-engine readers
    open, say so and how to make it smaller."""
    size = sum(60 + len(entry.title.encode("utf-8")) + len(entry.href) for entry in _flattened(toc))
    if size <= split.READER_LIMIT_BYTES:
        return
    advice = "set toc_depth = 1 in book.toml" if any(entry.children for entry in toc) else "use fewer, longer chapters"
    log.warning(
        "%s: the table of contents (nav.xhtml) is about %d KB, over the %d KB Adobe-engine readers open; %s",
        source,
        size // 1000,
        split.READER_LIMIT_BYTES // 1024,
        advice,
    )


def _flattened(entries: Iterable[TocEntry]) -> Iterator[TocEntry]:
    for entry in entries:
        yield entry
        yield from _flattened(entry.children)


def toc_entries(parts: list[Part], depth: int) -> Iterator[TocEntry]:
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

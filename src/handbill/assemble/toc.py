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
    """Each chapter's entry, with its headings down to `depth` levels below and including the
    chapter's own nested under it: an `h4` under the `h3` before it, and under the `h2` when a
    level is skipped."""
    for index, part in enumerate(parts):
        piece = part.piece
        if not part.first or not piece.in_toc:
            continue
        headings: list[tuple[int, str, str]] = []
        if depth > 1 and piece.level is not None:
            deepest = min(piece.level + depth - 1, 6)
            wanted = {f"h{level}" for level in range(piece.level + 1, deepest + 1)}
            for sibling in parts[index:]:
                if sibling.piece is not piece:
                    break
                for block in _headings(sibling.blocks, wanted):
                    if block.get("id") and (text := xhtml.text_of(block)):
                        headings.append((int(block.tag[1]), text, f"{sibling.file_name}#{block.get('id')}"))
        yield TocEntry(part.chapter_title, part.file_name, _nested(headings))


def _headings(blocks: Iterable, wanted: set[str]) -> Iterator:
    """The headings among a part's blocks (sections and other wrappers are looked into)."""
    for block in blocks:
        if block.tag in wanted:
            yield block
        elif block.tag in ("section", "div", "article", "aside", "header"):
            yield from _headings(block, wanted)


def _nested(headings: list[tuple[int, str, str]]) -> tuple[TocEntry, ...]:
    """(level, title, href) in reading order as a tree: each heading holds the deeper ones after it."""
    root: list[TocEntry] = []
    # Each open entry: its level and the list its children go into (entries are tuples, so the
    # children are gathered in lists and frozen when the entry is closed).
    stack: list[tuple[int, str, str, list]] = []

    def close() -> None:
        level, title, href, children = stack.pop()
        entry = TocEntry(title, href, tuple(children))
        (stack[-1][3] if stack else root).append(entry)

    for level, title, href in headings:
        while stack and stack[-1][0] >= level:
            close()
        stack.append((level, title, href, []))
    while stack:
        close()
    return tuple(root)


def outline_toc(outline: tuple, by_source: dict[Path, list[TocEntry]]) -> list[TocEntry]:
    """The contents nested as SUMMARY.md nests the chapters (`mdbook.OutlineEntry`).

    A part title links to its first chapter and holds its chapters; a draft (no file), or a
    chapter kept out of the contents, gives its place to its sub-chapters. Each chapter keeps its
    own headings first, then any further chapters its file was split into, then its sub-chapters.
    """
    used: set[Path] = set()

    def entries(nodes: tuple) -> list[TocEntry]:
        result: list[TocEntry] = []
        for node in nodes:
            children = entries(node.children)
            if node.part:
                if children:
                    result.append(TocEntry(node.title, children[0].href, tuple(children)))
                continue
            key = node.path.resolve() if node.path is not None else None
            own = by_source.get(key, []) if key is not None and key not in used else []
            if key is None or not own:
                result += children
                continue
            used.add(key)
            first, *more = own
            result.append(first._replace(children=(*first.children, *more, *children)))
        return result

    return entries(outline)

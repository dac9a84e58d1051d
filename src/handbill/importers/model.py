"""What every importer hands on: a document as Markdown blocks, the metadata it states, its images,
and the record of every repair made on the way.

Format readers (text, html, docx, odt, pdf) turn their input into a `Document`; the shared
repairs (`importers.repair`) and the book writer (`importers.writer`) take it from there, so a
repair rule or the layout of an imported book is written once for every format."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from ..errors import SourceError

BlockKind = Literal["heading", "paragraph", "quote", "list", "code", "rule", "image", "table", "break"]


class DocumentError(SourceError):
    """A document to import cannot be read: damaged, encrypted, too large, of an unknown kind, or
    not answering. Raised with the source (file or address) so that the one line names it."""

    def __init__(self, message: str, path: Path | str | None = None, line: int | None = None):
        self.source = str(path) if path is not None else None  # an address keeps its `//`
        super().__init__(message, path, line)

    def _format(self) -> str:
        if self.source is None or "://" not in self.source:
            return super()._format()
        where = self.source if self.source.isprintable() else repr(self.source)
        return f"{where}: {self.detail}"


@dataclass
class Block:
    """One block of the document, in reading order.

    `text` is Markdown: inline markup (emphasis, links, images) already written as Markdown and
    literal text escaped with `escape()`. For "list", "table", "code" and "quote" it is the whole
    Markdown block. "break" marks a visible section break (a large gap, a scene break) with no
    text; "rule" is a drawn horizontal rule."""

    kind: BlockKind
    text: str = ""
    level: int = 0  # a heading's level, 1-6
    bold: bool = False  # the whole paragraph is set in bold (a candidate section title); its text
    # carries the `**` too, so that it stays bold when the repairs do not make it a title
    place: str = ""  # where it came from, for the report: "line 34", "page 3", "paragraph 12"
    role: str = ""  # set by the repairs: "title", "byline" or "standfirst" (the title page's blocks)
    page_start: bool = False  # the first block of a new page or column (readers that know pages
    # set it): a paragraph the break cut is then joined to it, whatever the case of its first letter


@dataclass
class Metadata:
    """What the document states about itself. Empty fields are unknown, never guessed."""

    title: str = ""
    subtitle: str = ""
    authors: list[str] = field(default_factory=list)
    date: str = ""  # ISO 8601: 2026-01-22, 2026-01 or 2026
    language: str = ""  # BCP 47
    description: str = ""
    publisher: str = ""
    rights: str = ""
    subjects: list[str] = field(default_factory=list)
    source_url: str = ""


@dataclass
class Image:
    name: str  # a plain file name, unique in the document: it is written under images/
    data: bytes


@dataclass
class Repairs:
    """Every kind of repair made, with how often and where it was first made."""

    counts: dict[str, int] = field(default_factory=dict)
    first: dict[str, str] = field(default_factory=dict)

    def add(self, kind: str, place: str = "", count: int = 1) -> None:
        """`kind` is a short phrase that reads after a count: "paragraphs split by a page break joined"."""
        if count <= 0:
            return
        self.counts[kind] = self.counts.get(kind, 0) + count
        self.first.setdefault(kind, place)

    def lines(self) -> list[str]:
        """One line per kind of repair, in the order first made."""
        return [
            f"{kind}: {count}" + (f", first at {self.first[kind]}" if self.first[kind] else "")
            for kind, count in self.counts.items()
        ]


@dataclass
class Document:
    source: str  # the file or address it came from, as the user named it
    blocks: list[Block] = field(default_factory=list)
    metadata: Metadata = field(default_factory=Metadata)
    images: list[Image] = field(default_factory=list)
    repairs: Repairs = field(default_factory=Repairs)


# Characters that Python-Markdown would read as markup anywhere in a line.
_INLINE = re.compile(r"([\\`*_\[\]])")
# What would make the start of a paragraph a heading, quote, list item, rule or code block.
_LINE_START = re.compile(r"^[ \t]*(?:(#|>|[-+*](?=\s)|[-*_](?:[ \t]*[-*_]){2,}[ \t]*$)|\d+([.)])(?=\s))")


_INLINE_ESCAPES = str.maketrans({character: "\\" + character for character in "\\`*_[]{}~^|$"})
# `==mark==` and `:emoji:` (their extensions load for a text holding `\=` or `\:`, and make
# those escapes). Every `=`, and every `:` before a word, since a mark may be put together from
# pieces of text escaped one by one (`=` `=1=` `=`, `:a` `:`); a `:` before a space stays.
_PAIRED_MARKS = re.compile(r"=|:(?=[+\-\w])")
_ENTITY = re.compile(r"&(?=#|[A-Za-z])")  # &#65 and &copy are read as characters even without a ";"
_LINE_STARTS = re.compile(_LINE_START.pattern, re.MULTILINE)
_INDENT = re.compile(r"^[ \t]+", re.MULTILINE)


def escape_inline(text: str) -> str:
    """Literal text inside a line as Markdown (its spaces and line starts left as they are)."""
    text = _PAIRED_MARKS.sub(r"\\\g<0>", text.translate(_INLINE_ESCAPES))
    return _ENTITY.sub("&amp;", text).replace("<", "&lt;")


def escape(text: str) -> str:
    """Literal text as Markdown that prints exactly that text (one paragraph, one line)."""
    text = escape_inline(text)
    text = text.lstrip(" \t")
    return _LINE_START.sub(_escape_start, text)


def escape_lines(text: str) -> str:
    """Literal text of several lines (a hard-wrapped paragraph) as Markdown that prints exactly
    that text: each line as `escape()` makes it, its indent dropped."""
    text = escape_inline(text)
    return _LINE_STARTS.sub(_escape_start, _INDENT.sub("", text))


def escape_start(line: str) -> str:
    """A line of Markdown whose start would read as a heading, quote, list item or rule, made text
    (a hard-wrapped line that happens to begin with `1934.`, `- `, `#` or `>`)."""
    return _LINE_START.sub(_escape_start, line)


def _escape_start(match: re.Match[str]) -> str:
    if match.group(1):
        return "\\" + match.group(0)
    return match.group(0)[:-1] + "\\" + match.group(2)  # "1934. The strike": a year, not item 1934

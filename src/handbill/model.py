"""The data every stage shares: what the assembler hands the writers, the checker and the site.

Types only, no behaviour beyond small derived properties: a module that needs a Book to write
or show imports it from here, not from the stage that makes it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

from . import __version__

GENERATOR = f"handbill {__version__}"
"""What the package document names as the tool that made the book."""

READER_LIMIT_BYTES = 260 * 1024
"""Adobe-engine readers (older Kobo, many apps) struggle with a content document larger than
this: the assembler keeps below it and `check` flags what is above it."""


class CoverImage(NamedTuple):
    """The cover as it goes into the book: JPEG or PNG bytes and their size in pixels."""

    data: bytes
    media_type: str
    extension: str
    width: int
    height: int


class Resource(NamedTuple):
    """A file inside the EPUB's package folder that is not a content document."""

    file_name: str
    media_type: str
    data: bytes
    item_id: str


class Contributor(NamedTuple):
    """A person or body credited in the package metadata, with a MARC relator role."""

    name: str
    role: str
    """A MARC relator code: `aut`, `trl`, `edt`, `ill`, ..."""
    file_as: str | None = None
    """How the name sorts (`Marx, Karl`)."""


class TocEntry(NamedTuple):
    title: str
    href: str
    children: tuple[TocEntry, ...] = ()


class ContentDocument(NamedTuple):
    """One XHTML file of the spine."""

    file_name: str
    item_id: str
    title: str
    data: bytes
    kind: str
    """Its epub:type: chapter, titlepage, cover, appendix, ..."""
    properties: tuple[str, ...] = ()
    words: int = 0
    """Words split at spaces, not counting Chinese, Japanese and Korean text."""
    characters: int = 0
    """Han, Kana and Hangul characters: such text is counted by character."""


Sink = Callable[[ContentDocument], None]
"""Takes each content document of a book as soon as it is final (an EPUB being written)."""


class Book(NamedTuple):
    """Everything the EPUB writer needs, checked and ready."""

    title: str
    authors: tuple[str, ...]
    language: str
    identifier: str
    date: str | None
    description: str | None
    publisher: str | None
    rights: str | None
    subjects: tuple[str, ...]
    accessibility_summary: str
    cover: CoverImage
    documents: tuple[ContentDocument, ...]
    """The spine, in reading order, cover page first."""
    resources: tuple[Resource, ...]
    toc: tuple[TocEntry, ...]
    landmarks: tuple[tuple[str, str, str], ...]
    """(epub:type, href, label) for the nav's landmarks."""
    slug: str
    subtitle: str | None = None
    author_sorts: tuple[str | None, ...] = ()
    """Each author's `file-as` name, where given (in the order of `authors`)."""
    contributors: tuple[Contributor, ...] = ()
    """Translators, editors, illustrators and others, in the order book.toml names them."""
    series: str | None = None
    series_index: str | None = None
    """The book's place in its series, a number such as `2` or `2.5`."""
    text_images: bool = False
    """Whether the text shows images (each with its text alternative), not only the cover and
    what stylesheets draw."""
    direction: str = "ltr"
    """`rtl` or `ltr`: the text's direction, on every document and the package."""
    writing_mode: str | None = None
    """`vertical-rl` for a book set top to bottom; None for horizontal text."""
    labels: tuple[tuple[str, str], ...] = ()
    """The words handbill writes itself, in the book's language (see handbill.languages)."""
    summary_language: str | None = None
    """The language of `accessibility_summary` when it is not the book's (handbill's own English one)."""

    @property
    def page_progression(self) -> str | None:
        """`rtl` when pages turn right to left: right-to-left scripts and vertical text."""
        return "rtl" if self.direction == "rtl" or self.writing_mode == "vertical-rl" else None

    def label(self, key: str) -> str:
        """One of the words handbill writes itself, in the book's language."""
        words = dict(self.labels)
        if key not in words:
            from .languages import ENGLISH

            return ENGLISH[key]
        return words[key]

    @property
    def words(self) -> int:
        return sum(document.words for document in self.documents)

    @property
    def characters(self) -> int:
        return sum(document.characters for document in self.documents)

    @property
    def chapters(self) -> int:
        return len(self.toc)

    def summary(self) -> str:
        """The build's count, such as `1 chapter, 12 words, 340 CJK characters`: Chinese, Japanese
        and Korean text is counted by character (it has no spaces to split at)."""
        words, characters = self.words, self.characters
        parts = [_counted(self.chapters, "chapter")]
        if words or not characters:
            parts.append(_counted(words, "word"))
        if characters:
            parts.append(_counted(characters, "CJK character"))
        return ", ".join(parts)


def _counted(number: int, noun: str) -> str:
    return f"{number:,} {noun}{'' if number == 1 else 's'}"

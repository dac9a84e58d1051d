"""A `Document` laid out as a book folder: `book.toml`, one Markdown file per section, `images/`.

The sections are the document's own: a new one starts at each of its section titles (its
highest heading level below the title) and at each section break. The title, byline and
standfirst make the title page (`type: titlepage`, left out of the contents); the text before
the first section title is the opening section, listed under the book's title as `content/` does.
A section without a title of its own (after a section break) is listed under its first words:
its own text, never a label made up for it.

`book_files()` gives the files in memory (for `handbill build statement.docx`, which writes
nothing but the EPUB); `write_book()` writes them into a folder, all or nothing.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
from dataclasses import dataclass, field
from pathlib import Path

from ..config import EARLIEST_YEAR, LATEST_YEAR
from ..errors import OutputError
from ..languages import is_language_tag
from ..names import slugify
from .model import Block, Document, Metadata
from .repair import plain_text

LABEL_CHARACTERS = 60
"""An untitled section is listed under its first words, cut at a word to about this length."""
UNWRITTEN_DATE = "dates outside 1980-2107 left out of book.toml (an EPUB's zip cannot record them)"
UNSAFE_IMAGES = "images with unusable names left out"
_SAFE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,100}$")


@dataclass
class Section:
    blocks: list[Block] = field(default_factory=list)
    level: int = 1  # the heading level that starts a section: written as `#`
    meta: dict[str, object] = field(default_factory=dict)
    slug: str = ""


def sections(document: Document) -> list[Section]:
    """The document's blocks as the book's chapters, in order."""
    blocks = [block for block in document.blocks]
    titlepage = Section(meta={"type": "titlepage", "toc": False}, slug="title-page")
    while blocks and blocks[0].role in ("title", "byline", "standfirst"):
        titlepage.blocks.append(blocks.pop(0))
    levels = [block.level for block in blocks if block.kind == "heading"]
    level = min(levels) if levels else 1
    result = [titlepage] if titlepage.blocks else []
    current = Section(level=level)
    opening = current
    result.append(current)
    for block in blocks:
        if block.kind == "break" or (block.kind == "heading" and block.level == level):
            current = Section(level=level)
            result.append(current)
            if block.kind == "break":
                continue
        current.blocks.append(block)
    for section in result:
        if section is titlepage:
            continue
        starts_titled = (
            bool(section.blocks) and section.blocks[0].kind == "heading" and section.blocks[0].level == level
        )
        if starts_titled:
            section.slug = _slug(plain_text(section.blocks[0].text))
            continue
        if section is opening and titlepage.blocks:
            label = plain_text(titlepage.blocks[0].text) or document.metadata.title
        else:
            label = first_words(section.blocks)
        if label:
            section.meta["title"] = label
        section.slug = _slug(label)
    return [section for section in result if any(block.kind != "break" for block in section.blocks)]


def _slug(text: str, limit: int = 40) -> str:
    """A file name's stem from a title, cut at a word."""
    slug = slugify(text)
    return slug if len(slug) <= limit else slug[: limit + 1].rsplit("-", 1)[0]


def first_words(blocks: list[Block]) -> str:
    """The first sentence of a section's first text, whole when short, else cut at a word (with …)."""
    for block in blocks:
        if block.kind in ("paragraph", "quote", "list", "heading"):
            text = plain_text(re.sub(r"(?m)^\s*(?:>|[-+*]|\d+[.)])\s+", "", block.text))
            if not text:
                continue
            if len(text) <= LABEL_CHARACTERS:
                return text
            cut = text[:LABEL_CHARACTERS].rsplit(" ", 1)[0].rstrip(",;:")
            return cut + "\u2026"
    return ""


def section_markdown(section: Section) -> str:
    lines: list[str] = []
    if section.meta:
        lines.append("---")
        for key, value in section.meta.items():
            lines.append(f"{key}: {json.dumps(value, ensure_ascii=False)}")
        lines += ["---", ""]
    shift = section.level - 1
    for block in section.blocks:
        lines += [_block_markdown(block, shift), ""]
    return "\n".join(lines)


def _block_markdown(block: Block, shift: int) -> str:
    if block.kind == "heading":
        level = min(max(block.level - shift, 1), 6)
        return f"{'#' * level} {block.text.strip()}"
    if block.kind == "rule":
        return "* * *"
    return block.text.strip("\n")


def book_toml(metadata: Metadata, chapters: list[str], source: str, notes: list[str]) -> str:
    """The settings the document states, and the chapters in order; nothing it does not state."""
    lines = [f"# Imported by handbill from {json.dumps(source, ensure_ascii=False)[1:-1]}"]

    def text(key: str, value: str) -> None:
        if value.strip():
            lines.append(f"{key} = {json.dumps(value.strip(), ensure_ascii=False)}")

    text("title", metadata.title)
    text("subtitle", metadata.subtitle)
    if metadata.authors:
        lines.append(f"authors = {json.dumps(metadata.authors, ensure_ascii=False)}")
    if metadata.language and is_language_tag(metadata.language):
        text("language", metadata.language)
    if metadata.date:
        if EARLIEST_YEAR <= int(metadata.date[:4]) <= LATEST_YEAR:
            text("date", metadata.date)
        else:
            notes.append(UNWRITTEN_DATE)
    text("description", metadata.description)
    text("publisher", metadata.publisher)
    text("rights", metadata.rights)
    if metadata.subjects:
        lines.append(f"subjects = {json.dumps(metadata.subjects, ensure_ascii=False)}")
    if metadata.source_url:
        text("identifier", metadata.source_url)
    lines.append("chapters = [")
    lines += [f"    {json.dumps(name)}," for name in chapters]
    lines.append("]")
    return "\n".join(lines) + "\n"


def book_files(document: Document) -> dict[str, bytes]:
    """The book folder's files by their relative path: `book.toml`, `NN-slug.md`, `images/...`."""
    files: dict[str, bytes] = {}
    chapters: list[str] = []
    for number, section in enumerate(sections(document), start=1):
        name = f"{number:02d}-{section.slug or 'section'}.md"
        chapters.append(name)
        files[name] = section_markdown(section).encode("utf-8")
    notes: list[str] = []
    for image in document.images:
        if _SAFE_NAME.match(image.name) and image.name not in (".", ".."):
            files[f"images/{image.name}"] = image.data
        else:
            notes.append(UNSAFE_IMAGES)
    files["book.toml"] = book_toml(document.metadata, chapters, document.source, notes).encode("utf-8")
    for note in notes:
        document.repairs.add(note)
    return files


def write_book(document: Document, folder: Path, force: bool = False) -> dict[str, bytes]:
    """Write the book folder, all or nothing: into a new or empty `folder` by a rename; into a
    folder that holds files (only with `force`) file by file, each replaced whole. Files there
    that the import does not write are left as they are. Returns what was written."""
    folder = Path(folder)
    try:
        existing = folder.exists()
        if existing and not folder.is_dir():
            raise OutputError("is a file, not a folder; name a folder to write the book into", folder)
        occupied = existing and any(folder.iterdir())
    except OSError as error:
        raise OutputError(f"cannot be used ({error.strerror})", folder) from error
    if occupied and not force:
        raise OutputError("is not empty; pass --force to write the book into it anyway", folder)
    files = book_files(document)
    if occupied:
        for name in files:
            inside = folder / name
            if inside.is_symlink() and inside.is_dir() or inside.parent != folder and inside.parent.is_symlink():
                link = name.split("/")[0]
                raise OutputError(f"{link!r} in it is a symbolic link; nothing is written through it", folder)
    parent = folder.absolute().parent
    staging = parent / f".{folder.name}.handbill-{secrets.token_hex(4)}"
    try:
        parent.mkdir(parents=True, exist_ok=True)
        staging.mkdir()
        for name, data in files.items():
            path = staging / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
        if not occupied:
            if existing:
                folder.rmdir()
            os.rename(staging, folder)
        else:
            for name in files:
                target = folder / name
                target.parent.mkdir(parents=True, exist_ok=True)
                os.replace(staging / name, target)
    except OSError as error:
        raise OutputError(f"cannot be written ({error.strerror or error})", folder) from error
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return files

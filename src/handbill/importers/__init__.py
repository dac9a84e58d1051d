"""Documents in other forms made into books: plain text, Markdown, HTML, Word, OpenDocument, PDF
and web addresses.

`read(source)` picks the format's reader by the file's extension (or the address's scheme),
which gives a `Document`; `repair.apply()` makes the repairs every format shares; `writer` lays
the result out as a book folder, on disk (`handbill import`) or in memory (`handbill build
statement.docx`). Each format's reader is imported only when a document of that format comes."""

from __future__ import annotations

from importlib import import_module
from pathlib import Path

from ..errors import HandbillError
from .model import Block, Document, Image, Metadata, Repairs, escape

__all__ = ["READERS", "Block", "Document", "Image", "Metadata", "Repairs", "escape", "is_importable", "read"]

# Extension -> the module whose `read(data: bytes, source: str, repairs: Repairs) -> Document`
# turns that format's bytes into a Document.
READERS = {
    ".txt": "text",
    ".text": "text",
    ".md": "text",
    ".markdown": "text",
    ".html": "html",
    ".htm": "html",
    ".xhtml": "html",
    ".docx": "docx",
    ".odt": "odt",
    ".pdf": "pdf",
}


def is_importable(source: str | Path) -> bool:
    """Whether `source` names a document to import rather than a book folder."""
    text = str(source)
    if text.startswith(("http://", "https://")):
        return True
    return Path(text).suffix.lower() in READERS and Path(text).suffix.lower() not in (".md", ".markdown")


def read(source: str | Path) -> Document:
    """The document at `source` (a path or an http(s) address), read and repaired."""
    raise HandbillError(f"{source}: importing is not written yet")


def reader(name: str):  # type: ignore[no-untyped-def]
    """The format module `name` (a value of READERS), imported on first use."""
    return import_module(f"{__name__}.{name}")

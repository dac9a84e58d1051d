"""Documents in other forms made into books: plain text, Markdown, HTML, Word, OpenDocument, PDF
and web addresses.

`read(source)` picks the format's reader by the file's extension (or the address's scheme),
which gives a `Document`; `repair.apply()` makes the repairs every format shares; `writer` lays
the result out as a book folder, on disk (`handbill import`) or in memory (`handbill build
statement.docx`). Each format's reader is imported only when a document of that format comes."""

from __future__ import annotations

import os
import time
from importlib import import_module
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import HandbillError

if TYPE_CHECKING:
    from ..config import BookConfig
    from .model import Block, Document, DocumentError, Image, Metadata, Repairs, escape

_MODEL_NAMES = frozenset(("Block", "Document", "DocumentError", "Image", "Metadata", "Repairs", "escape"))


def __getattr__(name: str) -> Any:
    """The model's names, imported on first use: `handbill build content` asks only is_importable()."""
    if name in _MODEL_NAMES:
        from . import model

        return getattr(model, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "READERS",
    "Block",
    "Document",
    "DocumentError",
    "Image",
    "Metadata",
    "Repairs",
    "book_config",
    "escape",
    "is_importable",
    "read",
]

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

# A fetched document's media type -> its reader (parameters such as `; charset=utf-8` dropped).
CONTENT_TYPES = {
    "text/plain": "text",
    "text/markdown": "text",
    "text/x-markdown": "text",
    "text/html": "html",
    "application/xhtml+xml": "html",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": "docx",
    "application/vnd.oasis.opendocument.text": "odt",
    "application/pdf": "pdf",
}

FORMAT_NAMES = {
    "text": "text",
    "html": "a web page",
    "docx": "a Word document",
    "odt": "an OpenDocument text",
    "pdf": "a PDF",
}

MAX_DOCUMENT_BYTES = 50 * 1024 * 1024
"""The largest document handbill imports (50 MB, the most Send to Kindle takes for a whole book);
a larger file is refused by name before it is read."""

MAX_IMPORT_SECONDS = 60.0
"""Reading and repairing one document may take this long; past it the import is refused by name
instead of hanging (a normal document takes well under a second)."""


def is_importable(source: str | Path) -> bool:
    """Whether `source` names a document to import rather than a book folder or a Markdown file
    (`handbill build file.md` builds the Markdown as it is; `handbill import file.md` imports it)."""
    text = str(source)
    if is_address(text):
        return True
    return Path(text).suffix.lower() in READERS and Path(text).suffix.lower() not in (".md", ".markdown")


def is_address(source: str) -> bool:
    return source[:8].lower().startswith(("http://", "https://"))


def read(source: str | Path) -> Document:
    """The document at `source` (a path or an http(s) address), read and repaired."""
    from . import repair
    from .model import Repairs

    deadline = Deadline(str(source))
    text = str(source)
    if is_address(text):
        data, name, text = _fetched(text)  # the reader resolves links and images against the final address
    else:
        name = READERS.get(Path(text).suffix.lower()) or _unknown(text)
        data = _file_bytes(Path(text))
    repairs = Repairs()
    module = _reader(name, text)
    try:
        document = module.read(data, text, repairs)
    except (HandbillError, MemoryError, KeyboardInterrupt):
        raise
    except Exception as error:  # a library's own error on a damaged file: one line, not a traceback
        if os.environ.get("HANDBILL_DEBUG"):
            raise
        raise _error(
            f"cannot be read as {FORMAT_NAMES.get(name, name)} ({type(error).__name__}: {str(error)[:200]}); "
            "is it damaged? Open it and save it again, or export it to another format",
            text,
        ) from error
    if document.repairs is not repairs:  # a reader that kept its own record: one record, in order
        for kind, count in document.repairs.counts.items():
            repairs.add(kind, document.repairs.first[kind], count)
        document.repairs = repairs
    deadline.check()
    repair.apply(document, deadline)
    if not any(block.text.strip() for block in document.blocks if block.kind != "break") and not document.images:
        raise _error("holds no text; there is nothing to import", text)
    return document


def book_config(
    source: str | Path, allow_outside: tuple[Path, ...] = (), **overrides: Any
) -> tuple[BookConfig, Document]:
    """An imported document as a book held in memory (`handbill build statement.docx`): its
    settings, with the book's files in `config.files`; nothing is written anywhere."""
    from ..config import load_config
    from .writer import book_files

    document = read(source)
    root = Path(_virtual_root(str(source)))
    if not document.metadata.language and not overrides.get("language"):
        warn_of_language(document)
    return load_config(root, allow_outside, files=book_files(document), **overrides), document


def warn_of_language(document: Document) -> None:
    """A book must say its language; the document did not, so the book will say handbill's default."""
    import logging

    logging.getLogger(__name__).warning(
        "%s: the document does not say what language it is in; the book says 'en' "
        "(set language in book.toml, or pass --language)",
        document.source,
    )


def _virtual_root(source: str) -> str:
    """Where the imported book's files seem to be: under the document's own name, so that any
    message about them names the document (`statement.docx/02-statement.md`)."""
    if not is_address(source):
        return source
    from ..names import slugify

    return slugify(source.split("://", 1)[1]) or "document"


class Deadline:
    """The time one import may take (MAX_IMPORT_SECONDS); `check()` refuses by name once past it."""

    def __init__(self, source: str, seconds: float | None = None):
        self.source = source
        self.seconds = MAX_IMPORT_SECONDS if seconds is None else seconds
        self.ends = time.monotonic() + self.seconds

    def check(self) -> None:
        if time.monotonic() > self.ends:
            raise _error(f"took longer than {self.seconds:g} s to import; it is refused", self.source)


def _unknown(source: str) -> str:
    suffix = Path(source).suffix
    known = ", ".join(sorted(READERS))
    what = f"{suffix!r} files" if suffix else "files without an extension"
    raise _error(f"handbill cannot import {what}; it imports {known} and http(s):// addresses", source)


def _file_bytes(path: Path) -> bytes:
    from ..errors import SourceError
    from ..sources import read_limited

    try:
        folder, exists = path.is_dir(), path.exists()
    except (OSError, ValueError) as error:
        raise _error(f"is not a usable path ({error})", path) from error
    if folder:
        raise _error("is a folder, not a document", path)
    if not exists:
        raise _error("no such file", path)
    try:
        return read_limited(path, MAX_DOCUMENT_BYTES, "a document to import may be")
    except SourceError as error:  # the same line, as the import's own error
        raise _error(error.detail, path) from error


def _error(message: str, source: str | Path) -> Exception:
    """A DocumentError (the model is imported only once a document is read)."""
    from .model import DocumentError

    return DocumentError(message, source)


def _fetched(address: str) -> tuple[bytes, str, str]:
    """Fetch an address (importers.fetch, with its own time and size limits) and choose the reader
    by the media type the server gives, else by the address's extension."""
    try:
        from .fetch import get
    except ModuleNotFoundError as error:
        raise _error("this version of handbill cannot fetch addresses yet", address) from error

    data, content_type, final_url = get(address)
    media_type = (content_type or "").split(";")[0].strip().lower()
    name = CONTENT_TYPES.get(media_type)
    if name is None:
        path = final_url.split("?")[0].split("#")[0]
        name = READERS.get(Path(path).suffix.lower()) if "/" in path.split("://", 1)[-1] else None
    if name is None:
        raise _error(
            f"the server sent {media_type or 'no media type'}, which handbill cannot import "
            "(it imports web pages, text, Word, OpenDocument and PDF)",
            address,
        )
    if len(data) > MAX_DOCUMENT_BYTES:
        raise _error(
            f"is larger than {MAX_DOCUMENT_BYTES // (1024 * 1024)} MB, the most a document to import may be", address
        )
    return data, name, final_url


def _reader(name: str, source: str) -> Any:
    """The format module, imported on first use; a missing library is one line saying what to install."""
    try:
        return reader(name)
    except ModuleNotFoundError as error:
        missing = error.name or "a library"
        if missing.startswith(__name__):
            raise _error(f"this version of handbill has no {name} reader yet", source) from error
        raise _error(
            f"reading this document needs the Python package {missing!r}, which is not installed; "
            f"install it (pip install {missing}) and try again",
            source,
        ) from error


def reader(name: str) -> Any:
    """The format module `name` (a value of READERS), imported on first use."""
    return import_module(f"{__name__}.{name}")

"""Documents in other forms made into books: plain text, Markdown, HTML, Word, OpenDocument, PDF
and web addresses.

`read(source)` picks the format's reader by the file's extension (or the address's scheme),
which gives a `Document`; `repair.apply()` makes the repairs every format shares; `writer` lays
the result out as a book folder, on disk (`handbill import`) or in memory (`handbill build
statement.docx`). Each format's reader is imported only when a document of that format comes."""

from __future__ import annotations

import time
from importlib import import_module
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .model import Block, Document, DocumentError, Image, Metadata, Repairs, escape

if TYPE_CHECKING:
    from ..config import BookConfig

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

    deadline = Deadline(str(source))
    text = str(source)
    if is_address(text):
        data, name, text = _fetched(text)  # the reader resolves links and images against the final address
    else:
        name = READERS.get(Path(text).suffix.lower()) or _unknown(text)
        data = _file_bytes(Path(text))
    repairs = Repairs()
    document = _reader(name, text).read(data, text, repairs)
    if document.repairs is not repairs:  # a reader that kept its own record: one record, in order
        for kind, count in document.repairs.counts.items():
            repairs.add(kind, document.repairs.first[kind], count)
        document.repairs = repairs
    deadline.check()
    repair.apply(document, deadline)
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
    return load_config(root, allow_outside, files=book_files(document), **overrides), document


def _virtual_root(source: str) -> str:
    """Where the imported book's files seem to be: under the document's own name, so that any
    message about them names the document (`statement.docx/02-statement.md`)."""
    if not is_address(source):
        return source
    from ..names import slugify

    return slugify(source.split("://", 1)[1]) or "document"


class Deadline:
    """The time one import may take (MAX_IMPORT_SECONDS); `check()` refuses by name once past it."""

    def __init__(self, source: str, seconds: float = MAX_IMPORT_SECONDS):
        self.source = source
        self.seconds = seconds
        self.ends = time.monotonic() + seconds

    def check(self) -> None:
        if time.monotonic() > self.ends:
            raise DocumentError(f"took longer than {self.seconds:.0f} s to import; it is refused", self.source)


def _unknown(source: str) -> str:
    suffix = Path(source).suffix
    known = ", ".join(sorted(READERS))
    what = f"{suffix!r} files" if suffix else "files without an extension"
    raise DocumentError(f"handbill cannot import {what}; it imports {known} and http(s):// addresses", source)


def _file_bytes(path: Path) -> bytes:
    from ..sources import read_limited

    try:
        if path.is_dir():
            raise DocumentError("is a folder, not a document", path)
        if not path.exists():
            raise DocumentError("no such file", path)
    except (OSError, ValueError) as error:
        raise DocumentError(f"is not a usable path ({error})", path) from error
    try:
        return read_limited(path, MAX_DOCUMENT_BYTES, "a document to import may be")
    except DocumentError:
        raise
    except Exception as error:  # SourceError from read_limited: same line, the import's class
        detail = getattr(error, "detail", str(error))
        raise DocumentError(detail, path) from error


def _fetched(address: str) -> tuple[bytes, str, str]:
    """Fetch an address (importers.fetch, with its own time and size limits) and choose the reader
    by the media type the server gives, else by the address's extension."""
    try:
        from .fetch import get
    except ModuleNotFoundError as error:
        raise DocumentError("this version of handbill cannot fetch addresses yet", address) from error

    data, content_type, final_url = get(address)
    media_type = (content_type or "").split(";")[0].strip().lower()
    name = CONTENT_TYPES.get(media_type)
    if name is None:
        path = final_url.split("?")[0].split("#")[0]
        name = READERS.get(Path(path).suffix.lower()) if "/" in path.split("://", 1)[-1] else None
    if name is None:
        raise DocumentError(
            f"the server sent {media_type or 'no media type'}, which handbill cannot import "
            "(it imports web pages, text, Word, OpenDocument and PDF)",
            address,
        )
    if len(data) > MAX_DOCUMENT_BYTES:
        raise DocumentError(
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
            raise DocumentError(f"this version of handbill has no {name} reader yet", source) from error
        raise DocumentError(
            f"reading this document needs the Python package {missing!r}, which is not installed; "
            f"install it (pip install {missing}) and try again",
            source,
        ) from error


def reader(name: str) -> Any:
    """The format module `name` (a value of READERS), imported on first use."""
    return import_module(f"{__name__}.{name}")

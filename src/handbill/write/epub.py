"""Write a `Book` as an EPUB 3 file: the only module that writes the zip.

Each content document goes into the zip the moment it is final, so the book is never held
whole. ebooklib, through its public API only, writes the package document and the NCX from
its `EpubBook` model once the book is complete (see `_package_files`); handbill supplies the
finished XHTML, its own navigation document (`nav`) and container, and a zip writer whose bytes
depend only on the book: `mimetype` first and stored, every timestamp pinned.

In: the `Book` and its `ContentDocument` stream. Out: the EPUB, written to an `OutputFile` in its
`OutputFolder` (a part file moved into place when whole: a failed build leaves nothing behind),
after `check_target` has made sure the output path may be replaced; `modified_time` is the one
timestamp the book carries.
"""

from __future__ import annotations

import io
import itertools
import os
import queue
import re
import stat
import threading
import zipfile
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from ebooklib import epub

from ..config import LATEST_YEAR
from ..errors import OutputError
from ..model import GENERATOR, Book, ContentDocument, Contributor, TocEntry
from ..xhtml import quoteattr
from .nav import nav_document

DEFAULT_TIME = datetime(1980, 1, 1, tzinfo=UTC)
"""The earliest time a zip can record: used when neither the book nor the environment names one."""


def modified_time(book_modified: str | None, book_date: str | None) -> datetime:
    """`SOURCE_DATE_EPOCH` when set, else the book's own `modified` or date: never the clock."""
    epoch = os.environ.get("SOURCE_DATE_EPOCH", "").strip()
    if epoch:
        try:
            moment = max(datetime.fromtimestamp(int(epoch), UTC), DEFAULT_TIME)
        except (ValueError, OverflowError, OSError) as error:
            raise OutputError(f"SOURCE_DATE_EPOCH must be a whole number of seconds, not {epoch!r}") from error
        if moment.year > LATEST_YEAR:
            raise OutputError(f"SOURCE_DATE_EPOCH {epoch!r} is after {LATEST_YEAR}, the last year a zip can record")
        return moment
    if book_modified:
        return datetime.strptime(book_modified, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
    if book_date:
        parts = [int(part) for part in book_date.split("-")] + [1, 1]
        return max(datetime(parts[0], parts[1], parts[2], tzinfo=UTC), DEFAULT_TIME)
    return DEFAULT_TIME


_APPLE_DISPLAY_OPTIONS = (
    b'<?xml version="1.0" encoding="utf-8"?>\n<display_options>\n<platform name="*">\n'
    b'<option name="specified-fonts">true</option>\n</platform>\n</display_options>\n'
)


_FOLDER = "EPUB"
"""The package folder inside the zip."""

_CONTAINER = (
    '<?xml version="1.0" encoding="utf-8"?>\n'
    '<container xmlns="urn:oasis:names:tc:opendocument:xmlns:container" version="1.0">\n'
    "  <rootfiles>\n"
    f'    <rootfile media-type="application/oebps-package+xml" full-path="{_FOLDER}/content.opf"/>\n'
    "  </rootfiles>\n"
    "</container>\n"
)
"""`META-INF/container.xml`: where the package document is."""


_COMPRESSED = (".png", ".jpg", ".jpeg", ".gif", ".webp", ".woff", ".woff2")
"""Files that deflate would only spend time on: they are stored as they are."""


class _PinnedZip(zipfile.ZipFile):
    """A zip whose entries all carry one timestamp and fixed permissions."""

    def __init__(self, file: str | io.BytesIO, date_time: tuple[int, int, int, int, int, int]):
        super().__init__(file, "w", zipfile.ZIP_DEFLATED, compresslevel=9)
        self.pinned_time = date_time

    def writestr(self, name, data, compress_type=None, compresslevel=None):  # type: ignore[override]
        name = name if isinstance(name, str) else name.filename
        info = zipfile.ZipInfo(name, self.pinned_time)
        stored = compress_type == zipfile.ZIP_STORED or name.lower().endswith(_COMPRESSED)
        info.compress_type = zipfile.ZIP_STORED if stored else zipfile.ZIP_DEFLATED
        info.external_attr = 0o644 << 16
        info.create_system = 3
        super().writestr(info, data, compresslevel=compresslevel)


class EpubStream:
    """An EPUB written while its book is assembled, so the book is never held whole.

    `mimetype` (first, stored) and the container go in at once, each content document when
    it is final, and the package document, navigation and resources at `finish`. Documents
    are compressed on a thread of their own (zlib lets go of the interpreter while it works),
    in the order they came, while the caller assembles the next ones.
    """

    def __init__(self, file: str | io.BytesIO, modified: datetime, shown: Path | None = None):
        """`shown`: what an error names (the output asked for)."""
        self.modified = modified.astimezone(UTC)
        self.shown = shown
        self.zip = _PinnedZip(file, self.modified.timetuple()[:6])
        self.zip.writestr("mimetype", "application/epub+zip", compress_type=zipfile.ZIP_STORED)
        self.zip.writestr("META-INF/container.xml", _CONTAINER)
        self._queue: queue.Queue[tuple[str, bytes] | None] = queue.Queue(maxsize=16)
        self._failure: BaseException | None = None
        # Started with the first document: by then any worker processes have been forked, and a
        # process should not fork while another of its threads may hold a lock.
        self._writer = threading.Thread(target=self._write_queued, name="epub-writer", daemon=True)

    def _write_queued(self) -> None:
        while (entry := self._queue.get()) is not None:
            if self._failure is None:
                try:
                    self.zip.writestr(*entry)
                except BaseException as error:  # handed to the caller at its next call
                    self._failure = error

    def _check(self) -> None:
        if self._failure is not None:
            raise self._failed(self._failure)

    def _failed(self, error: BaseException) -> BaseException:
        if isinstance(error, OSError):
            return OutputError(f"cannot write the e-book ({error.strerror or error})", self.shown)
        return error

    def add(self, document: ContentDocument) -> None:
        self._check()
        if self._writer.ident is None:  # not started yet
            self._writer.start()
        self._queue.put((f"{_FOLDER}/{document.file_name}", document.data))

    def _drain(self) -> None:
        if self._writer.is_alive():
            self._queue.put(None)
            self._writer.join()

    def finish(self, book: Book) -> None:
        self._drain()
        self._check()
        try:
            package_document, ncx = _package_files(book, self.modified)
            self.zip.writestr(f"{_FOLDER}/content.opf", package_document)
            for resource in book.resources:
                self.zip.writestr(f"{_FOLDER}/{resource.file_name}", resource.data)
            if any(resource.media_type.startswith("font/") for resource in book.resources):
                # Apple Books ignores embedded fonts unless the book asks for them here.
                self.zip.writestr("META-INF/com.apple.ibooks.display-options.xml", _APPLE_DISPLAY_OPTIONS)
            self.zip.writestr(f"{_FOLDER}/nav.xhtml", nav_document(book))
            self.zip.writestr(f"{_FOLDER}/toc.ncx", ncx)
            self.zip.close()
        except OSError as error:
            raise self._failed(error) from error

    def close(self) -> None:
        """Stop writing (after a failure: the caller throws the file away)."""
        self._drain()
        try:
            self.zip.close()
        except OSError:
            pass


def epub_bytes(book: Book, modified: datetime) -> bytes:
    """A book whose documents still hold their bytes, as an EPUB in memory."""
    buffer = io.BytesIO()
    stream = EpubStream(buffer, modified)
    for document in book.documents:
        stream.add(document)
    stream.finish(book)
    return buffer.getvalue()


class OutputFolder:
    """The folder an e-book is written into: made when missing (and removed again, with every
    parent it had to make, when the build fails), and swept of `.part` files that a killed
    handbill process left behind."""

    def __init__(self, folder: Path, shown: Path | None = None):
        """`shown`: what an error names (the output asked for), else the folder."""
        self.path = Path(folder)
        self.shown = shown or self.path
        self.made: list[Path] = []
        try:
            missing = [self.path, *self.path.parents]
            self.made = [folder for folder in missing if not os.path.lexists(folder)][::-1]
            self.path.mkdir(parents=True, exist_ok=True)
        except (OSError, ValueError) as error:
            self.discard()
            raise OutputError(f"cannot write here ({_reason(error)})", self.shown) from error
        self._sweep()

    def _sweep(self) -> None:
        try:
            names = os.listdir(self.path)
        except OSError:
            return
        for name in names:
            found = _PART.fullmatch(name)
            if found is None or _alive(int(found.group(1))):
                continue
            try:
                os.unlink(self.path / name)
            except OSError:
                pass

    def discard(self) -> None:
        for folder in reversed(self.made):
            try:
                folder.rmdir()
            except OSError:
                break  # not empty: something else was written there meanwhile


_PART = re.compile(r"\.handbill-(\d+)-\d+\.part")


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True  # someone else's process
    return True


def _reason(error: BaseException) -> str:
    return getattr(error, "strerror", None) or str(error)


def check_target(target: Path) -> None:
    """handbill replaces only an earlier EPUB (a zip) or an empty file, never a book's source,
    a symbolic link, a device or a folder."""
    check_replaceable(target, "e-book", 38, _is_epub)


def _is_epub(header: bytes) -> bool:
    # An EPUB's first entry is its `mimetype` (OCF): any other zip (.docx, .jar, a backup) is the user's.
    return header[:4] == b"PK\x03\x04" and header[26:28] == b"\x08\x00" and header[30:38] == b"mimetype"


def check_replaceable(target: Path, what: str, header_size: int, is_ours: Callable[[bytes], bool]) -> None:
    """`target` may be written: it does not exist, or it is an empty file, or a regular file
    whose first `header_size` bytes `is_ours` takes for an earlier `what` (an e-book, a leaflet);
    never a symbolic link, a folder, a device or someone's other file."""
    try:
        status = os.lstat(target)
    except FileNotFoundError:
        return
    except (OSError, ValueError) as error:
        raise OutputError(f"cannot write the {what} here ({_reason(error)})", target) from error
    if stat.S_ISLNK(status.st_mode):
        raise OutputError(f"is a symbolic link; handbill replaces only an earlier {what} file", target)
    if stat.S_ISDIR(status.st_mode):
        raise OutputError(f"is a folder; name the {what} file to write", target)
    if not stat.S_ISREG(status.st_mode):
        raise OutputError("is not a regular file (a device or a pipe); handbill will not replace it", target)
    if status.st_size == 0:
        return
    try:
        with open(target, "rb") as existing:
            header = existing.read(header_size)
    except OSError as error:
        raise OutputError(f"cannot be replaced ({_reason(error)})", target) from error
    if not is_ours(header):
        article = "an" if what[0] in "aeiou" else "a"
        raise OutputError(f"exists and is not {article} {what} (a source file?); handbill will not replace it", target)


class OutputFile:
    """A file written beside its final name and moved there only when whole: an earlier file
    stays untouched until then, and a failed build leaves nothing behind."""

    def __init__(self, folder: OutputFolder):
        try:
            self.path = self._create(folder.path)
        except OSError as error:
            raise OutputError(f"cannot write here ({error.strerror})", folder.shown) from error

    @staticmethod
    def _create(folder: Path) -> str:
        """A new, empty file of our own (the tempfile module would cost 4 ms of start-up)."""
        for number in itertools.count(1):
            path = str(folder / f".handbill-{os.getpid()}-{number}.part")
            try:
                os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
                return path
            except FileExistsError:
                continue
        raise AssertionError("unreachable")

    def commit(self, target: Path) -> Path:
        """Take the final name (checked again: it may have changed while the book was built).
        On failure the caller discards the file."""
        check_target(target)
        try:
            os.chmod(self.path, 0o644)
            os.replace(self.path, target)
        except OSError as error:
            raise OutputError(f"cannot write the e-book ({error.strerror})", target) from error
        return target

    def discard(self) -> None:
        try:
            os.unlink(self.path)
        except OSError:
            pass


def _package_files(book: Book, modified: datetime) -> tuple[bytes, bytes]:
    """The package document and the NCX, written by ebooklib's public `write_epub`.

    `write_epub` writes a whole book in one call, from items held in memory, with the clock's
    time on every zip entry, so it cannot write handbill's streamed, reproducible file. It is
    given a skeleton instead, every item in the manifest but without content, and writes it into
    memory; the two files handbill wants are taken from there.
    """
    skeleton = io.BytesIO()
    options = {"epub3_pages": False, "epub3_landmark": False, "mtime": modified}
    options["package_direction"] = book.direction == "rtl"  # dir="rtl" on <package>; vertical text is not
    epub.write_epub(skeleton, _package(book), options)
    with zipfile.ZipFile(skeleton) as written:
        package_document = written.read(f"{_FOLDER}/content.opf")
        ncx = written.read(f"{_FOLDER}/toc.ncx")
    return _with_language(package_document, book.language), ncx


def _with_language(package_document: bytes, language: str) -> bytes:
    """Accessibility checkers want the package's language on `<package>` itself.

    Added to the bytes rather than by re-parsing, which would change how the rest is written
    (`<meta ...></meta>` would become `<meta .../>`). The start tag ends at its first `>`:
    inside attribute values lxml writes `&gt;`.
    """
    before, package, after = package_document.partition(b"<package ")
    end = after.index(b">")
    return before + package + after[:end] + f" xml:lang={quoteattr(language)}".encode() + after[end:]


def _item(item_id: str, file_name: str, media_type: str, properties: tuple[str, ...] = ()) -> epub.EpubItem:
    """A manifest entry without content (the content is handbill's to write)."""
    item = epub.EpubItem(uid=item_id, file_name=file_name, media_type=media_type)
    item.properties = list(properties)  # read by ebooklib's manifest writer, as for its own pages
    return item


def _package(book: Book) -> epub.EpubBook:
    package = epub.EpubBook()
    package.FOLDER_NAME = _FOLDER
    package.set_identifier(book.identifier)
    _titles(package, book)
    package.set_language(book.language)
    package.set_unique_metadata("OPF", "generator", "", {"name": "generator", "content": GENERATOR})
    if book.page_progression:
        package.set_direction(book.page_progression)  # the spine's page-progression-direction
    _people(package, book)
    if book.date:
        package.add_metadata("DC", "date", book.date)
    for name, value in (
        ("description", book.description),
        ("publisher", book.publisher),
        ("rights", book.rights),
    ):
        if value:
            package.add_metadata("DC", name, value)
    for subject in book.subjects:
        package.add_metadata("DC", "subject", subject)
    _accessibility(package, book)
    package.add_metadata(None, "meta", "", {"name": "cover", "content": "cover-image"})
    if book.writing_mode:  # Kindle reads vertical text from this (its publishing guidelines)
        package.add_metadata(None, "meta", "", {"name": "primary-writing-mode", "content": book.writing_mode})
    _series(package, book)

    for resource in book.resources:
        if resource.item_id == "cover-image":
            item = epub.EpubCover(uid=resource.item_id, file_name=resource.file_name)
            item.media_type = resource.media_type
        else:
            item = _item(resource.item_id, resource.file_name, resource.media_type)
        package.add_item(item)

    xhtml_type = "application/xhtml+xml"
    documents = [_item(doc.item_id, doc.file_name, xhtml_type, doc.properties) for doc in book.documents]
    nav = _item("nav", "nav.xhtml", xhtml_type, ("nav",))
    for document in documents:
        package.add_item(document)
    package.add_item(nav)
    package.add_item(epub.EpubNcx())

    # The cover opens the book; the contents page follows any front matter.
    front = [document for document in book.documents[1:] if document.kind in ("titlepage", "halftitlepage")]
    spine: list[epub.EpubItem] = [documents[0]]
    spine += [item for item, document in zip(documents[1:], book.documents[1:], strict=True) if document in front]
    spine.append(nav)
    spine += [item for item, document in zip(documents[1:], book.documents[1:], strict=True) if document not in front]
    package.spine = spine
    package.toc = [_ncx_entry(entry, number) for number, entry in enumerate(book.toc, start=1)]
    guide_types = {"cover": "cover", "titlepage": "title-page", "toc": "toc", "bodymatter": "text"}
    package.guide = [{"type": guide_types[kind], "href": href, "title": label} for kind, href, label in book.landmarks]
    return package


def _titles(package: epub.EpubBook, book: Book) -> None:
    """The title; with a subtitle, each `dc:title` says which it is (EPUB 3.3 `title-type`)."""
    if not book.subtitle:
        package.set_title(book.title)
        return
    package.title = book.title  # the NCX's docTitle
    for name, value in (("main", book.title), ("subtitle", book.subtitle)):
        package.add_metadata("DC", "title", value, {"id": f"title-{name}"})
        package.add_metadata(None, "meta", name, {"refines": f"#title-{name}", "property": "title-type"})


def _people(package: epub.EpubBook, book: Book) -> None:
    """Authors (`dc:creator`, role `aut`), then everyone else credited (`dc:contributor`, or
    `dc:creator` for the creator roles `aut` and `cre`), each with its MARC relator role and, where
    given, the name it sorts by."""
    sorts = book.author_sorts or (None,) * len(book.authors)
    people = [Contributor(author, "aut", file_as) for author, file_as in zip(book.authors, sorts, strict=False)]
    people += book.contributors
    numbers = {"creator": 0, "contributor": 0}
    for name, role, file_as in people:
        element = "creator" if role in ("aut", "cre") else "contributor"
        numbers[element] += 1
        uid = f"{element}{numbers[element]}"
        package.add_metadata("DC", element, name, {"id": uid})
        package.add_metadata(None, "meta", role, {"refines": f"#{uid}", "property": "role", "scheme": "marc:relators"})
        if file_as:
            package.add_metadata(None, "meta", file_as, {"refines": f"#{uid}", "property": "file-as"})


def _series(package: epub.EpubBook, book: Book) -> None:
    """EPUB 3's collection, and Calibre's own two `meta` elements, which Calibre, Kobo and the
    readers fed by Calibre group series by."""
    if not book.series:
        return
    package.add_metadata(None, "meta", book.series, {"property": "belongs-to-collection", "id": "series"})
    package.add_metadata(None, "meta", "series", {"refines": "#series", "property": "collection-type"})
    if book.series_index:
        package.add_metadata(None, "meta", book.series_index, {"refines": "#series", "property": "group-position"})
    package.add_metadata(None, "meta", "", {"name": "calibre:series", "content": book.series})
    if book.series_index:
        package.add_metadata(None, "meta", "", {"name": "calibre:series_index", "content": book.series_index})


def _ncx_entry(entry: TocEntry, number: int | str) -> epub.Link | tuple[epub.Section, list]:
    """An NCX navPoint, nested as deep as the contents are (`navpoint-2-1-3`)."""
    if not entry.children:
        return epub.Link(entry.href, entry.title, f"navpoint-{number}")
    children = [_ncx_entry(child, f"{number}-{index}") for index, child in enumerate(entry.children, start=1)]
    return (epub.Section(entry.title, entry.href), children)


def _accessibility(package: epub.EpubBook, book: Book) -> None:
    """EPUB Accessibility 1.1 discovery metadata."""
    # Any image but the cover makes the book visual; only images in the text have alternatives
    # (a stylesheet's background images have none).
    visual = any(resource.media_type.startswith("image/") for resource in book.resources[1:])
    modes = ["textual"] + (["visual"] if visual else [])
    features = ["tableOfContents", "readingOrder", "structuralNavigation"]
    if book.text_images:
        features.append("alternativeText")
    if any("mathml" in document.properties for document in book.documents):
        features.append("MathML")
    entries = [("schema:accessMode", mode) for mode in modes]
    entries.append(("schema:accessModeSufficient", "textual"))
    entries += [("schema:accessibilityFeature", feature) for feature in features]
    entries.append(("schema:accessibilityHazard", "none"))
    for name, value in entries:
        package.add_metadata(None, "meta", value, {"property": name})
    summary = {"property": "schema:accessibilitySummary"}
    if book.summary_language:
        summary["{http://www.w3.org/XML/1998/namespace}lang"] = book.summary_language
    package.add_metadata(None, "meta", book.accessibility_summary, summary)

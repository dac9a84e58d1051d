"""Check any EPUB the way stores and reading apps will treat it (`handbill check`).

EPUBCheck, when Java and the `epubcheck` package are installed, finds what the EPUB
specification forbids. The reader checks here find what Send to Kindle, Google Play Books,
Apple Books and Adobe-engine readers reject or mangle in books that EPUBCheck passes (see
the Readers and Accessibility notes). Every finding names the file inside the EPUB it is
about. Nothing here prints: the command line decides how to show a `CheckReport`.
"""

from __future__ import annotations

import io
import os
import posixpath
import re
import stat
import warnings
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO
from urllib.parse import unquote, urlsplit

from lxml import etree
from PIL import Image

from . import epubcheck
from .languages import is_language_tag

MB = 1024 * 1024
MAX_ENTRY_BYTES = 50 * MB  # a larger entry is refused (an error), never read: a likely zip bomb
MAX_TOTAL_BYTES = 1024 * MB  # more uncompressed data than this is a zip bomb...
MAX_RATIO = 100  # ...and so is more than 100 MB unpacking to over 100 times the file size
MAX_PACKAGE_BYTES = 16 * MB  # container, package document and NCX are parsed whole, so kept smaller
MAX_ENTRIES = 20_000
READ_CHUNK_BYTES = MB  # entries are unpacked a chunk at a time, whatever their header claims
WHOLE_TREE_BYTES = 4 * MB  # larger documents are summarized streaming, in bounded memory
KINDLE_MAX_BYTES = 50_000_000  # Send to Kindle by e-mail
LARGE_DOCUMENT_BYTES = 260 * 1024  # Adobe-engine readers struggle above this
COVER_MIN_SIDE, COVER_MAX_SIDE = 640, 7200  # Google Play Books
COVER_APPLE_WIDTH = 1400  # Apple Books' recommendation
COVER_MAX_BYTES = 2 * 1024 * 1024

NS = {
    "c": "urn:oasis:names:tc:opendocument:xmlns:container",
    "opf": "http://www.idpf.org/2007/opf",
    "ncx": "http://www.daisy.org/z3986/2005/ncx/",
    "dc": "http://purl.org/dc/elements/1.1/",
}
XHTML = "application/xhtml+xml"
_WEBKIT_HYPHENS = re.compile(rb"-webkit-hyphens\s*:", re.IGNORECASE)
_NO_LANGUAGE = frozenset({"und", "mul", "zxx", "mis"})


@dataclass(frozen=True)
class Finding:
    """One problem: `severity` is "error" or "warning"; `code` is stable for scripts."""

    severity: str
    code: str
    message: str


@dataclass(frozen=True)
class CheckReport:
    """Everything found about one EPUB; `ok` means no errors (warnings are allowed)."""

    path: Path
    findings: tuple[Finding, ...]
    epubcheck_ran: bool
    epubcheck_note: str | None = None

    @property
    def errors(self) -> int:
        return sum(finding.severity == "error" for finding in self.findings)

    @property
    def warnings(self) -> int:
        return sum(finding.severity == "warning" for finding in self.findings)

    @property
    def ok(self) -> bool:
        return self.errors == 0


def check_epub(path: Path, run_epubcheck: bool = True, epubcheck_timeout: float | None = None) -> CheckReport:
    """Check the EPUB at `path`; a file that is not an EPUB is one error, never an exception.

    With `run_epubcheck`, EPUBCheck failing to run (no Java, a crash, a time-out, no memory)
    is an error finding too: a check that did not happen never passes. EPUBCheck is stopped
    after `epubcheck_timeout` seconds (default: `epubcheck.timeout_for` the file's size)."""
    path = Path(path)
    try:
        book = _open(path)
    except _Unreadable as problem:
        return CheckReport(path, (Finding("error", "EPUB-UNREADABLE", str(problem)),), False)
    findings = list(book.problems)
    for rule in _RULES:
        findings.extend(rule(book))
    ran, note = False, None
    if run_epubcheck:
        timeout = epubcheck_timeout or epubcheck.timeout_for(book.size)
        ran, note, found = _epubcheck(path, timeout)
        findings.extend(found)
    return CheckReport(path, tuple(findings), ran, note)


class _Unreadable(Exception):
    """The file cannot be opened as an EPUB at all."""


@dataclass
class _Document:
    """What the reader rules need from one XHTML content document (not the whole tree)."""

    name: str
    size: int
    declared: bool = True
    well_formed: bool = True
    body_id: str | None = None
    links: list[tuple[str, str]] = field(default_factory=list)  # (document, fragment)
    images_without_src: int = 0
    images_without_alt: int = 0
    webkit_hyphens: bool = False


@dataclass
class _Book:
    """The parts of an EPUB the rules read, gathered in one pass over the zip."""

    path: Path
    size: int
    opf_name: str
    opf: etree._Element
    manifest: dict[str, etree._Element]
    spine: list[str]
    documents: list[_Document]
    stylesheets_with_webkit_hyphens: list[str]
    ncx_name: str | None
    ncx: etree._Element | None
    cover_name: str | None
    cover: bytes | None
    problems: list[Finding]

    def href(self, item: etree._Element) -> str:
        return _resolve(self.opf_name, item.get("href") or "")

    def metadata(self, name: str) -> list[str]:
        """Values of an EPUB 3 `<meta property>` or an EPUB 2 `<meta name content>`."""
        metadata = self.opf.find("opf:metadata", NS)
        if metadata is None:
            return []
        epub3 = metadata.iterfind(f"opf:meta[@property='{name}']", NS)
        epub2 = metadata.iterfind(f"opf:meta[@name='{name}']", NS)
        values = [meta.text or "" for meta in epub3] + [meta.get("content") or "" for meta in epub2]
        return [value.strip() for value in values if value.strip()]


def _parse(data: bytes) -> etree._Element:
    """Parse untrusted XML: no entity expansion, no DTD or network access, no huge trees."""
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False)
    return etree.fromstring(data, parser)


def _resolve(base_name: str, href: str) -> str:
    """The zip entry an href (relative to the file `base_name`) points at."""
    return posixpath.normpath(posixpath.join(posixpath.dirname(base_name), unquote(href)))


class _Zip:
    """Reads entries with size caps, turning damaged or oversized entries into findings."""

    def __init__(self, archive: zipfile.ZipFile, name: Path, problems: list[Finding]):
        self.archive = archive
        self.name = name
        self.problems = problems
        self.entries = {info.filename: info for info in archive.infolist()}
        self.budget = MAX_TOTAL_BYTES  # bytes left to unpack in all, whatever the headers claim

    def size(self, name: str) -> int:
        return self.entries[name].file_size

    def read(self, name: str, required: bool = False, limit: int | None = None) -> bytes | None:
        """The entry's bytes, or None (noting why) when it is missing, too large or damaged."""
        limit = MAX_ENTRY_BYTES if limit is None else limit
        info = self.entries.get(name)
        if info is None:
            if required:
                raise _Unreadable(f"{name} is missing from the EPUB")
            return None
        if info.file_size > limit:
            problem = _too_large(name, info.file_size, limit)
        else:
            try:
                return self._unpack(info)
            except _Unreadable:
                raise
            except Exception as error:  # zipfile and zlib raise many types for damaged data
                problem = Finding("error", "EPUB-ENTRY-DAMAGED", f"{name} cannot be unpacked: {error}")
        if required:
            raise _Unreadable(problem.message)
        self.problems.append(problem)
        return None

    def _unpack(self, info: zipfile.ZipInfo) -> bytes:
        """Unpack a chunk at a time. zipfile stops at the size the header gives, but asked for
        everything at once it first inflates the whole stream, however large, into memory."""
        if info.file_size > self.budget:
            raise _Unreadable(
                f"{self.name} unpacks to more than {MAX_TOTAL_BYTES // MB:,} MB: refusing it as a likely zip bomb"
            )
        self.budget -= info.file_size
        chunks = []
        with self.archive.open(info) as stream:
            while chunk := stream.read(READ_CHUNK_BYTES):
                chunks.append(chunk)
        return b"".join(chunks)

    def xml(self, name: str) -> etree._Element:
        data = self.read(name, required=True, limit=MAX_PACKAGE_BYTES)
        try:
            return _parse(data or b"")
        except etree.XMLSyntaxError as error:
            raise _Unreadable(f"{name} is not well-formed XML: {error}") from error


def _too_large(name: str, size: int, limit: int) -> Finding:
    return Finding(
        "error",
        "EPUB-ENTRY-TOO-LARGE",
        f"{name} unpacks to {size / MB:,.1f} MB, over the {limit // MB} MB that handbill check reads "
        "of such a file: refused as a likely zip bomb",
    )


def _open_regular_file(path: Path) -> tuple[BinaryIO, int]:
    """Open `path` only if it is a non-empty regular file: a FIFO, a device such as /dev/zero or
    a folder would make zipfile wait or read forever. Opening does not block (O_NONBLOCK), and
    the opened file itself is examined, so it cannot be swapped after the look."""
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0) | getattr(os, "O_BINARY", 0)
    try:
        descriptor = os.open(path, flags)
    except FileNotFoundError as error:
        raise _Unreadable(f"{path} does not exist") from error
    except OSError as error:
        raise _Unreadable(f"{path} cannot be read: {error.strerror or error}") from error
    except ValueError as error:  # a NUL byte or an unencodable character in the name
        raise _Unreadable(f"{path!r} is not a usable file name: {error}") from error
    try:
        status = os.fstat(descriptor)
        if stat.S_ISDIR(status.st_mode):
            raise _Unreadable(f"{path} is a folder, not an EPUB file")
        if not stat.S_ISREG(status.st_mode):
            raise _Unreadable(f"{path} is not a regular file (it is a device, pipe or socket), so not an EPUB")
        if status.st_size == 0:
            raise _Unreadable(f"{path} is empty, so not an EPUB")
        return os.fdopen(descriptor, "rb"), status.st_size
    except BaseException:
        os.close(descriptor)
        raise


def _open(path: Path) -> _Book:
    file, size = _open_regular_file(path)
    with file:
        _refuse_huge_directory(path, file)
        try:
            archive = zipfile.ZipFile(file)
        except OSError as error:
            raise _Unreadable(f"{path} cannot be read: {error.strerror or error}") from error
        except Exception as error:  # BadZipFile, or what a damaged directory makes zipfile raise
            raise _Unreadable(f"{path} is not a zip file, so not an EPUB ({error})") from error
        with archive:
            return _open_archive(path, size, archive)


# Fields of the end record _EndRecData returns (zipfile's private _ECD_ENTRIES_TOTAL and _ECD_SIZE).
_END_ENTRIES_TOTAL, _END_DIRECTORY_SIZE = 4, 5


def _refuse_huge_directory(path: Path, file: BinaryIO) -> None:
    """zipfile turns the whole central directory into objects before anything can be looked at
    (300,000 empty entries: 4 s and 190 MB), so read its size and count from the end record first.
    That reader is private to zipfile; without it, the checks after opening still apply."""
    end_record = getattr(zipfile, "_EndRecData", None)
    if end_record is None:
        return
    try:
        end = end_record(file)
    except Exception:  # a damaged end record: zipfile's own error says so next
        return
    if not end:
        return
    count, directory = end[_END_ENTRIES_TOTAL], end[_END_DIRECTORY_SIZE]
    if count > MAX_ENTRIES or directory > MAX_ENTRIES * 1024:
        raise _Unreadable(
            f"{path} has {count:,} entries in a {directory / MB:,.1f} MB directory, over the {MAX_ENTRIES:,} "
            "entries handbill check reads: refusing it as a likely zip bomb"
        )


def _open_archive(path: Path, size: int, archive: zipfile.ZipFile) -> _Book:
    infos = archive.infolist()
    total = sum(info.file_size for info in infos)
    if len(infos) > MAX_ENTRIES or total > MAX_TOTAL_BYTES or (total > 100 * MB and total > MAX_RATIO * size):
        raise _Unreadable(
            f"{path} unpacks to {total // MB:,} MB in {len(infos):,} entries: refusing it as a likely zip bomb"
        )
    problems: list[Finding] = [
        Finding("error", "EPUB-UNSAFE-NAME", f"entry {info.filename[:200]!r} would unpack outside the book's folder")
        for info in infos
        if _escapes(info.filename)
    ]
    entries = _Zip(archive, path, problems)
    container = entries.xml("META-INF/container.xml")
    rootfile = container.find("c:rootfiles/c:rootfile", NS)
    opf_name = rootfile.get("full-path") if rootfile is not None else None
    if not opf_name:
        raise _Unreadable("META-INF/container.xml names no package document (rootfile)")
    opf = entries.xml(opf_name)
    if etree.QName(opf).localname != "package":
        raise _Unreadable(f"{opf_name} is not an EPUB package document")
    return _gather(path, size, entries, opf_name, opf, problems)


def _escapes(name: str) -> bool:
    """A zip entry name that a reader unpacking the book would write outside its folder ("zip slip")."""
    parts = name.replace("\\", "/").split("/")
    return name.startswith(("/", "\\")) or bool(re.match(r"^[A-Za-z]:", name)) or ".." in parts


def _gather(path: Path, size: int, entries: _Zip, opf_name: str, opf: etree._Element, problems: list[Finding]) -> _Book:
    """Read what the rules need, each entry at most once, keeping only summaries."""
    manifest = {item.get("id") or "": item for item in opf.iterfind("opf:manifest/opf:item", NS)}
    book = _Book(path, size, opf_name, opf, manifest, [], [], [], None, None, None, None, problems)
    book.spine = [
        book.href(manifest[ref.get("idref") or ""])
        for ref in opf.iterfind("opf:spine/opf:itemref", NS)
        if (ref.get("idref") or "") in manifest
    ]
    seen = set()
    for item in manifest.values():
        name, media_type = book.href(item), item.get("media-type")
        if name in seen or name not in entries.entries or media_type not in (XHTML, "text/css"):
            continue
        seen.add(name)
        data = entries.read(name)
        if media_type == XHTML:
            # A document too large to read is still measured, so the size rule flags it.
            book.documents.append(_summarize(name, data) if data is not None else _Document(name, entries.size(name)))
        elif data is not None and _WEBKIT_HYPHENS.search(data):
            book.stylesheets_with_webkit_hyphens.append(name)
    spine = opf.find("opf:spine", NS)
    ncx_item = manifest.get(spine.get("toc") or "") if spine is not None else None
    if ncx_item is None:
        ncx_media = "application/x-dtbncx+xml"
        ncx_item = next((i for i in manifest.values() if i.get("media-type") == ncx_media), None)
    if ncx_item is not None:
        book.ncx_name = book.href(ncx_item)
        data = entries.read(book.ncx_name, limit=MAX_PACKAGE_BYTES)
        try:
            book.ncx = _parse(data) if data is not None else None
        except etree.XMLSyntaxError:
            problems.append(Finding("error", "NCX-MALFORMED", f"{book.ncx_name} is not well-formed XML"))
    cover = _cover_item(book)
    if cover is not None:
        book.cover_name = book.href(cover)
        book.cover = entries.read(book.cover_name)
    return book


def _summarize(name: str, data: bytes) -> _Document:
    document = _Document(name, len(data), declared=_has_xml_declaration(data))
    try:
        if len(data) <= WHOLE_TREE_BYTES:
            for element in _parse(data).iter(etree.Element):
                _note_element(document, element, complete=True)
        else:
            _summarize_streaming(document, data)
    except etree.LxmlError:
        document.well_formed = False
    return document


def _summarize_streaming(document: _Document, data: bytes) -> None:
    """One pass that drops each element once read: the tree of a 50 MB document would take
    over a gigabyte. (Twice as slow as a whole tree, so only for large documents.)"""
    events = etree.iterparse(
        io.BytesIO(data), events=("start", "end"), resolve_entities=False, no_network=True, load_dtd=False
    )
    for event, element in events:
        if event == "start":
            _note_element(document, element, complete=False)
            continue
        if etree.QName(element).localname == "style":
            _note_element(document, element, complete=True)
        element.clear(keep_tail=False)
        parent = element.getparent()
        while parent is not None and element.getprevious() is not None:
            del parent[0]


def _note_element(document: _Document, element: etree._Element, complete: bool) -> None:
    """What the rules need from one element: its name and attributes, and once `complete`
    (parsed to its end), a style element's text."""
    local = etree.QName(element).localname
    if local == "body":
        document.body_id = element.get("id")
    elif local == "img":
        document.images_without_src += not (element.get("src") or "").strip()
        document.images_without_alt += element.get("alt") is None
    elif local == "a" and element.get("href"):
        target = _link_target(document.name, element.get("href") or "")
        if target is not None:
            document.links.append(target)
    elif local == "style" and complete and _WEBKIT_HYPHENS.search((element.text or "").encode()):
        document.webkit_hyphens = True
    if "-webkit-hyphens" in (element.get("style") or "").lower():
        document.webkit_hyphens = True


def _has_xml_declaration(data: bytes) -> bool:
    for bom, encoding in ((b"\xef\xbb\xbf", "utf-8"), (b"\xff\xfe", "utf-16-le"), (b"\xfe\xff", "utf-16-be")):
        if data.startswith(bom):
            return data[len(bom) : len(bom) + 20].decode(encoding, "replace").startswith("<?xml")
    return data.startswith(b"<?xml")


def _link_target(source: str, href: str) -> tuple[str, str] | None:
    """(document, fragment) of a link inside the book that has a fragment, else None."""
    parts = urlsplit(href)
    if parts.scheme or parts.netloc or not parts.fragment or parts.path.startswith("/"):
        return None
    target = _resolve(source, parts.path) if parts.path else source
    return target, unquote(parts.fragment)


def _cover_item(book: _Book) -> etree._Element | None:
    marked = [item for item in book.manifest.values() if "cover-image" in (item.get("properties") or "").split()]
    if marked:
        return marked[0]
    legacy = _legacy_cover_id(book)
    return book.manifest.get(legacy) if legacy else None


def _legacy_cover_id(book: _Book) -> str | None:
    meta = book.opf.find("opf:metadata//opf:meta[@name='cover']", NS)
    return meta.get("content") if meta is not None else None


# Reader rules: each takes the gathered book and yields findings.


def _kindle_language(book: _Book) -> Iterator[Finding]:
    """A missing or malformed dc:language is the most reported cause of Kindle's E999."""
    languages = [tag.text or "" for tag in book.opf.iterfind("opf:metadata/dc:language", NS)]
    if not languages:
        yield Finding(
            "error", "KINDLE-LANGUAGE", f"{book.opf_name} has no dc:language; Send to Kindle rejects the book"
        )
    for language in (text.strip() for text in languages):
        if not is_language_tag(language):
            yield Finding(
                "error",
                "KINDLE-LANGUAGE",
                f"{book.opf_name}: dc:language {language!r} is not a BCP 47 tag such as 'en' or 'en-US'",
            )
        elif language.split("-")[0].lower() in _NO_LANGUAGE | {"x"}:
            yield Finding(
                "warning",
                "KINDLE-LANGUAGE",
                f"{book.opf_name}: dc:language {language!r} names no language Kindle knows",
            )


def _kindle_documents(book: _Book) -> Iterator[Finding]:
    """Per-document Kindle rejections: no XML declaration, links to a body id, img without src."""
    body_ids = {document.name: document.body_id for document in book.documents if document.body_id}
    for document in book.documents:
        if not document.declared:
            yield Finding(
                "error",
                "KINDLE-XML-DECLARATION",
                f"{document.name} does not start with an XML declaration (Kindle reads it as Latin-1)",
            )
        if not document.well_formed:
            yield Finding("error", "XHTML-MALFORMED", f"{document.name} is not well-formed XML")
        if document.images_without_src:
            yield Finding(
                "error", "KINDLE-IMG-SRC", f"{document.name} has {document.images_without_src} <img> without src"
            )
        for target, fragment in sorted(set(document.links)):
            if body_ids.get(target) == fragment:
                yield Finding(
                    "error",
                    "KINDLE-BODY-LINK",
                    f"{document.name} links to {target}#{fragment}, the id of its <body>; Send to Kindle rejects this",
                )
    if book.ncx is not None:
        for content in book.ncx.iterfind(".//ncx:content", NS):
            link = _link_target(book.ncx_name or "", content.get("src") or "")
            if link is not None and body_ids.get(link[0]) == link[1]:
                yield Finding(
                    "error",
                    "KINDLE-BODY-LINK",
                    f"{book.ncx_name} links to {link[0]}#{link[1]}, the id of its <body>; Send to Kindle rejects this",
                )


def _kindle_ncx_order(book: _Book) -> Iterator[Finding]:
    """Kindle builds its table of contents from the NCX; out of spine order it misplaces it."""
    if book.ncx is None:
        return
    order = {name: index for index, name in enumerate(book.spine)}
    previous: tuple[int, str] | None = None
    for content in book.ncx.iterfind("ncx:navMap//ncx:navPoint/ncx:content", NS):
        target = _resolve(book.ncx_name or "", (content.get("src") or "").split("#")[0])
        if target not in order:
            continue
        if previous is not None and order[target] < previous[0]:
            yield Finding(
                "warning",
                "KINDLE-NCX-ORDER",
                f"{book.ncx_name} lists {target} after {previous[1]}, unlike the spine's reading order",
            )
            return
        previous = (order[target], target)


def _kindle_cover_marking(book: _Book) -> Iterator[Finding]:
    """Kindle finds the cover by properties="cover-image" and the EPUB 2 <meta name="cover">."""
    marked = [
        item_id for item_id, item in book.manifest.items() if "cover-image" in (item.get("properties") or "").split()
    ]
    legacy = _legacy_cover_id(book)
    legacy_ok = legacy is not None and legacy in book.manifest
    if not marked and not legacy_ok:
        yield Finding(
            "error",
            "KINDLE-COVER",
            f'{book.opf_name} marks no cover image (properties="cover-image" and <meta name="cover">)',
        )
    elif not marked:
        yield Finding(
            "warning",
            "KINDLE-COVER",
            f'{book.opf_name} marks the cover only with the EPUB 2 <meta name="cover">; add properties="cover-image"',
        )
    elif not legacy_ok:
        yield Finding(
            "warning",
            "KINDLE-COVER",
            f'{book.opf_name} has no EPUB 2 <meta name="cover" content="{marked[0]}"> (Kindle looks for it)',
        )
    elif legacy not in marked:
        yield Finding(
            "warning",
            "KINDLE-COVER",
            f'{book.opf_name}: <meta name="cover"> points at {legacy!r}, not the cover-image item {marked[0]!r}',
        )


def _kindle_guide(book: _Book) -> Iterator[Finding]:
    """Kindle location tracking has needed an EPUB 2 <guide> entry."""
    if book.opf.find("opf:guide/opf:reference", NS) is None:
        yield Finding(
            "warning", "KINDLE-GUIDE", f"{book.opf_name} has no EPUB 2 <guide> entry (Kindle uses it for locations)"
        )


def _kindle_webkit_hyphens(book: _Book) -> Iterator[Finding]:
    """-webkit-hyphens was reported to crash Kindle for Mac."""
    names = book.stylesheets_with_webkit_hyphens + [
        document.name for document in book.documents if document.webkit_hyphens
    ]
    for name in names:
        yield Finding(
            "warning", "KINDLE-WEBKIT-HYPHENS", f"{name} uses -webkit-hyphens (reported to crash Kindle for Mac)"
        )


def _kindle_size(book: _Book) -> Iterator[Finding]:
    size = book.size
    if size > KINDLE_MAX_BYTES:
        yield Finding(
            "error",
            "KINDLE-SIZE",
            f"{book.path.name} is {size / 1e6:.1f} MB; Send to Kindle by e-mail takes at most 50 MB",
        )


def _cover_size(book: _Book) -> Iterator[Finding]:
    """Stores show the cover in the listing: Google Play takes 640 to 7,200 px."""
    if book.cover_name is None:
        yield Finding("error", "COVER-MISSING", f"{book.opf_name} names no cover image; store listings would show none")
        return
    if book.cover is None:
        yield Finding("error", "COVER-MISSING", f"the cover image {book.cover_name} cannot be read")
        return
    name = book.cover_name
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(book.cover)) as image:
                width, height = image.size
    except Image.DecompressionBombError:
        yield Finding("error", "COVER-SIZE", f"{name} has far too many pixels for any store")
        return
    except Exception:  # Pillow raises many types for a damaged image
        yield Finding("error", "COVER-UNREADABLE", f"{name} is not an image stores can decode")
        return
    if min(width, height) < COVER_MIN_SIDE or max(width, height) > COVER_MAX_SIDE:
        yield Finding(
            "error", "COVER-SIZE", f"{name} is {width}x{height} px; Google Play Books takes 640 to 7,200 px per side"
        )
    elif width < COVER_APPLE_WIDTH:
        yield Finding("warning", "COVER-SIZE", f"{name} is {width} px wide; Apple Books recommends at least 1,400 px")
    if len(book.cover) > COVER_MAX_BYTES:
        yield Finding(
            "warning", "COVER-BYTES", f"{name} is {len(book.cover) / 1024 / 1024:.1f} MB; keep the cover under 2 MB"
        )


def _document_size(book: _Book) -> Iterator[Finding]:
    """Adobe-engine readers (older Kobo, many apps) struggle above LARGE_DOCUMENT_BYTES per document."""
    for document in book.documents:
        if document.size > LARGE_DOCUMENT_BYTES:
            yield Finding(
                "warning",
                "DOC-SIZE",
                f"{document.name} is {document.size / 1024:,.0f} KB; Adobe-engine readers struggle above "
                f"{LARGE_DOCUMENT_BYTES // 1024} KB: split it",
            )


def _accessibility(book: _Book) -> Iterator[Finding]:
    """EPUB Accessibility 1.1 discovery metadata (the European Accessibility Act asks for it)."""
    for name, severity in (
        ("schema:accessMode", "error"),
        ("schema:accessibilityFeature", "error"),
        ("schema:accessibilityHazard", "error"),
        ("schema:accessibilitySummary", "warning"),
        ("schema:accessModeSufficient", "warning"),
    ):
        if not book.metadata(name):
            yield Finding(severity, "A11Y-METADATA", f"{book.opf_name} has no {name}")
    for document in book.documents:
        if document.images_without_alt:
            yield Finding("warning", "A11Y-ALT", f"{document.name} has {document.images_without_alt} <img> without alt")


_RULES: tuple[Callable[[_Book], Iterator[Finding]], ...] = (
    _kindle_language,
    _kindle_documents,
    _kindle_ncx_order,
    _kindle_cover_marking,
    _kindle_guide,
    _kindle_webkit_hyphens,
    _kindle_size,
    _cover_size,
    _document_size,
    _accessibility,
)

_EPUBCHECK_SEVERITY = {"FATAL": "error", "ERROR": "error", "WARNING": "warning"}


def _epubcheck(path: Path, timeout: float) -> tuple[bool, str | None, list[Finding]]:
    """(ran, why not, findings): EPUBCheck that could not run is an error finding, never a pass."""
    try:
        result = epubcheck.validate(path, timeout=timeout)
    except (epubcheck.EpubCheckError, OSError) as error:
        reason = str(error)
        return False, reason, [Finding("error", "EPUBCHECK-NOT-RUN", f"EPUBCheck could not check {path}: {reason}")]
    findings = []
    for message in result.messages:
        severity = _EPUBCHECK_SEVERITY.get(message.severity)
        if severity is not None:
            where = f"{message.location}: " if message.location else ""
            code = f"EPUBCHECK-{message.id}" if message.id else "EPUBCHECK"
            findings.append(Finding(severity, code, f"{where}{message.text}"))
    if result.fatal + result.errors and not any(finding.severity == "error" for finding in findings):
        counted = result.fatal + result.errors
        findings.append(Finding("error", "EPUBCHECK", f"EPUBCheck counted {counted} errors in {path} but listed none"))
    return True, None, findings

"""Open any EPUB safely and gather, in one pass over its zip, what the reader rules read.

In: a path to a file that may be anything (not a zip, a zip bomb, hostile names, broken XML).
Out: a `GatheredEpub` (package document, manifest, spine, summaries of the content documents,
the NCX, the cover), with the problems met while reading as `Finding`s; or `Unreadable` when
the file cannot be opened as an EPUB at all. Every entry is read in bounded chunks and memory.
"""

from __future__ import annotations

import io
import os
import posixpath
import re
import stat
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO
from urllib.parse import unquote, urlsplit

from lxml import etree

from .report import Finding

MB = 1024 * 1024
MAX_ENTRY_BYTES = 50 * MB  # a larger entry is refused (an error), never read: a likely zip bomb
MAX_TOTAL_BYTES = 1024 * MB  # more uncompressed data than this is a zip bomb...
MAX_RATIO = 100  # ...and so is more than 100 MB unpacking to over 100 times the file size
MAX_PACKAGE_BYTES = 16 * MB  # container, package document and NCX are parsed whole, so kept smaller
MAX_ENTRIES = 20_000
READ_CHUNK_BYTES = MB  # entries are unpacked a chunk at a time, whatever their header claims
WHOLE_TREE_BYTES = 4 * MB  # larger documents are summarized streaming, in bounded memory

NS = {
    "c": "urn:oasis:names:tc:opendocument:xmlns:container",
    "opf": "http://www.idpf.org/2007/opf",
    "ncx": "http://www.daisy.org/z3986/2005/ncx/",
    "dc": "http://purl.org/dc/elements/1.1/",
}
XHTML = "application/xhtml+xml"
_WEBKIT_HYPHENS = re.compile(rb"-webkit-hyphens\s*:", re.IGNORECASE)


class Unreadable(Exception):
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
class GatheredEpub:
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
    private_images: list[tuple[str, list[str]]] = field(default_factory=list)
    """(name, what it gives away) of each image whose metadata holds a GPS position, device or owner."""

    def href(self, item: etree._Element) -> str:
        return resolve(self.opf_name, item.get("href") or "")

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


def resolve(base_name: str, href: str) -> str:
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
                raise Unreadable(f"{name} is missing from the EPUB")
            return None
        if info.file_size > limit:
            problem = _too_large(name, info.file_size, limit)
        else:
            try:
                return self._unpack(info)
            except Unreadable:
                raise
            except Exception as error:  # zipfile and zlib raise many types for damaged data
                problem = Finding("error", "EPUB-ENTRY-DAMAGED", f"{name} cannot be unpacked: {error}")
        if required:
            raise Unreadable(problem.message)
        self.problems.append(problem)
        return None

    def _unpack(self, info: zipfile.ZipInfo) -> bytes:
        """Unpack a chunk at a time. zipfile stops at the size the header gives, but asked for
        everything at once it first inflates the whole stream, however large, into memory."""
        if info.file_size > self.budget:
            raise Unreadable(
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
            raise Unreadable(f"{name} is not well-formed XML: {error}") from error


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
        raise Unreadable(f"{path} does not exist") from error
    except OSError as error:
        raise Unreadable(f"{path} cannot be read: {error.strerror or error}") from error
    except ValueError as error:  # a NUL byte or an unencodable character in the name
        raise Unreadable(f"{path!r} is not a usable file name: {error}") from error
    try:
        status = os.fstat(descriptor)
        if stat.S_ISDIR(status.st_mode):
            raise Unreadable(f"{path} is a folder, not an EPUB file")
        if not stat.S_ISREG(status.st_mode):
            raise Unreadable(f"{path} is not a regular file (it is a device, pipe or socket), so not an EPUB")
        if status.st_size == 0:
            raise Unreadable(f"{path} is empty, so not an EPUB")
        return os.fdopen(descriptor, "rb"), status.st_size
    except BaseException:
        os.close(descriptor)
        raise


def open_epub(path: Path) -> GatheredEpub:
    file, size = _open_regular_file(path)
    with file:
        _refuse_huge_directory(path, file)
        try:
            archive = zipfile.ZipFile(file)
        except OSError as error:
            raise Unreadable(f"{path} cannot be read: {error.strerror or error}") from error
        except Exception as error:  # BadZipFile, or what a damaged directory makes zipfile raise
            raise Unreadable(f"{path} is not a zip file, so not an EPUB ({error})") from error
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
        raise Unreadable(
            f"{path} has {count:,} entries in a {directory / MB:,.1f} MB directory, over the {MAX_ENTRIES:,} "
            "entries handbill check reads: refusing it as a likely zip bomb"
        )


def _open_archive(path: Path, size: int, archive: zipfile.ZipFile) -> GatheredEpub:
    infos = archive.infolist()
    total = sum(info.file_size for info in infos)
    if len(infos) > MAX_ENTRIES or total > MAX_TOTAL_BYTES or (total > 100 * MB and total > MAX_RATIO * size):
        raise Unreadable(
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
        raise Unreadable("META-INF/container.xml names no package document (rootfile)")
    opf = entries.xml(opf_name)
    if etree.QName(opf).localname != "package":
        raise Unreadable(f"{opf_name} is not an EPUB package document")
    return _gather(path, size, entries, opf_name, opf, problems)


def _escapes(name: str) -> bool:
    """A zip entry name that a reader unpacking the book would write outside its folder ("zip slip")."""
    parts = name.replace("\\", "/").split("/")
    return name.startswith(("/", "\\")) or bool(re.match(r"^[A-Za-z]:", name)) or ".." in parts


def _gather(
    path: Path, size: int, entries: _Zip, opf_name: str, opf: etree._Element, problems: list[Finding]
) -> GatheredEpub:
    """Read what the rules need, each entry at most once, keeping only summaries."""
    manifest = {item.get("id") or "": item for item in opf.iterfind("opf:manifest/opf:item", NS)}
    book = GatheredEpub(path, size, opf_name, opf, manifest, [], [], [], None, None, None, None, problems)
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
    _gather_private_images(book, entries)
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


def _gather_private_images(book: GatheredEpub, entries: _Zip) -> None:
    """Images whose metadata gives away where a photo was taken, on what device, by whom."""
    from ..photos import image_private_data

    seen = set()
    for item in book.manifest.values():
        name = book.href(item)
        if name in seen or name not in entries.entries or item.get("media-type") not in _PHOTO_TYPES:
            continue
        seen.add(name)
        data = entries.read(name)
        if data is not None:
            carried = image_private_data(data)
            if carried:
                book.private_images.append((name, carried))


_PHOTO_TYPES = ("image/jpeg", "image/png", "image/webp")


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
        target = link_target(document.name, element.get("href") or "")
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


def link_target(source: str, href: str) -> tuple[str, str] | None:
    """(document, fragment) of a link inside the book that has a fragment, else None."""
    parts = urlsplit(href)
    if parts.scheme or parts.netloc or not parts.fragment or parts.path.startswith("/"):
        return None
    target = resolve(source, parts.path) if parts.path else source
    return target, unquote(parts.fragment)


def _cover_item(book: GatheredEpub) -> etree._Element | None:
    marked = [item for item in book.manifest.values() if "cover-image" in (item.get("properties") or "").split()]
    if marked:
        return marked[0]
    legacy = legacy_cover_id(book)
    return book.manifest.get(legacy) if legacy else None


def legacy_cover_id(book: GatheredEpub) -> str | None:
    meta = book.opf.find("opf:metadata//opf:meta[@name='cover']", NS)
    return meta.get("content") if meta is not None else None

"""Check any EPUB: EPUBCheck when it is installed, and the reader rules EPUBCheck does not know.

Send to Kindle, Google Play Books, Apple Books and Adobe-engine readers reject or mangle
books for reasons a valid EPUB can still have (see shared EPUB notes): these checks name
each one, with the file inside the EPUB it concerns.
"""

from __future__ import annotations

import io
import posixpath
import re
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from lxml import etree

from . import epubcheck

MAX_ENTRY_BYTES = 50 * 1024 * 1024
KINDLE_MAX_BYTES = 50 * 1024 * 1024
LARGE_DOCUMENT_BYTES = 260 * 1024
_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False)
_LANGUAGE = re.compile(r"^[A-Za-z]{2,3}(?:-[A-Za-z0-9]{1,8})*$")
NS = {
    "c": "urn:oasis:names:tc:opendocument:xmlns:container",
    "opf": "http://www.idpf.org/2007/opf",
    "dc": "http://purl.org/dc/elements/1.1/",
    "x": "http://www.w3.org/1999/xhtml",
    "ncx": "http://www.daisy.org/z3986/2005/ncx/",
}


@dataclass(frozen=True)
class Finding:
    severity: str
    """"error" or "warning"."""
    code: str
    message: str


@dataclass(frozen=True)
class CheckReport:
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


class _Unreadable(Exception):
    """The file is not an EPUB this checker can open: reported as one error finding."""


def check_epub(path: Path, run_epubcheck: bool = True) -> CheckReport:
    """Every finding about the EPUB at `path`; never raises for a bad file."""
    path = Path(path)
    try:
        package = _Package(path)
        findings = list(_reader_findings(package, path))
    except _Unreadable as problem:
        return CheckReport(path, (Finding("error", "EPUB-UNREADABLE", str(problem)),), False)
    ran, note = False, None
    if run_epubcheck:
        if epubcheck.jar_path() is None:
            note = epubcheck.INSTALL_HINT
        else:
            result = epubcheck.validate(path)
            ran = True
            for message in result.messages:
                severity = {"FATAL": "error", "ERROR": "error", "WARNING": "warning"}.get(message.severity)
                if severity:
                    where = f" ({message.location})" if message.location else ""
                    findings.append(Finding(severity, f"EPUBCHECK-{message.id}", f"{message.text}{where}"))
    return CheckReport(path, tuple(findings), ran, note)


class _Package:
    """The parts of an EPUB the checks read, opened defensively."""

    def __init__(self, path: Path):
        try:
            self.archive = zipfile.ZipFile(path)
        except (zipfile.BadZipFile, OSError) as error:
            raise _Unreadable(f"not a zip file: {error}") from error
        self.names = {info.filename: info for info in self.archive.infolist()}
        container = self.xml("META-INF/container.xml")
        rootfile = container.find(".//c:rootfile", NS)
        if rootfile is None or not rootfile.get("full-path"):
            raise _Unreadable("META-INF/container.xml names no package document")
        self.opf_path = rootfile.get("full-path")
        self.opf = self.xml(self.opf_path)
        self.base = posixpath.dirname(self.opf_path)
        self.manifest = {
            item.get("id"): item for item in self.opf.findall("opf:manifest/opf:item", NS) if item.get("id")
        }
        self.spine = [
            self.manifest[ref.get("idref")]
            for ref in self.opf.findall("opf:spine/opf:itemref", NS)
            if ref.get("idref") in self.manifest
        ]

    def href(self, item: etree._Element) -> str:
        return posixpath.normpath(posixpath.join(self.base, item.get("href", "")))

    def read(self, name: str) -> bytes:
        info = self.names.get(name)
        if info is None:
            raise _Unreadable(f"{name} is missing from the EPUB")
        if info.file_size > MAX_ENTRY_BYTES or (info.compress_size and info.file_size / info.compress_size > 1000):
            raise _Unreadable(f"{name} is too large to check ({info.file_size} bytes uncompressed)")
        return self.archive.read(info)

    def xml(self, name: str) -> etree._Element:
        try:
            return etree.fromstring(self.read(name), _PARSER)
        except etree.XMLSyntaxError as error:
            raise _Unreadable(f"{name} is not well-formed XML: {error}") from error

    def documents(self) -> Iterator[tuple[str, bytes]]:
        for item in self.manifest.values():
            if item.get("media-type") == "application/xhtml+xml" and self.href(item) in self.names:
                yield self.href(item), self.read(self.href(item))


def _reader_findings(package: _Package, path: Path) -> Iterator[Finding]:
    yield from _kindle(package, path)
    yield from _cover(package)
    yield from _documents(package)
    yield from _accessibility(package)


def _kindle(package: _Package, path: Path) -> Iterator[Finding]:
    """What Send to Kindle rejects (E999) although EPUBCheck may pass it."""
    languages = [element.text or "" for element in package.opf.findall("opf:metadata/dc:language", NS)]
    if not languages:
        yield Finding("error", "KINDLE-LANGUAGE", "no dc:language: Send to Kindle rejects the book")
    for language in languages:
        if not _LANGUAGE.match(language.strip()):
            yield Finding("error", "KINDLE-LANGUAGE", f"dc:language {language!r} is not a BCP 47 tag")
    body_ids: dict[str, str] = {}
    links: list[tuple[str, str, str]] = []
    for name, data in package.documents():
        if not data.lstrip(b"\xef\xbb\xbf").startswith(b"<?xml"):
            yield Finding(
                "error", "KINDLE-XML-DECLARATION", f"{name} has no XML declaration (Kindle reads it as Latin-1)"
            )
        try:
            root = etree.fromstring(data, _PARSER)
        except etree.XMLSyntaxError:
            yield Finding("error", "XHTML-MALFORMED", f"{name} is not well-formed XML")
            continue
        body = root.find("x:body", NS)
        if body is not None and body.get("id"):
            body_ids[name] = body.get("id")
        for image in root.iter(f"{{{NS['x']}}}img"):
            if not (image.get("src") or "").strip():
                yield Finding("error", "KINDLE-IMG-SRC", f"{name} has an <img> without src")
            if image.get("alt") is None:
                yield Finding("warning", "A11Y-ALT", f"{name} has an <img> without alt text")
        for link in root.iter(f"{{{NS['x']}}}a"):
            href = link.get("href") or ""
            if "#" in href and not re.match(r"^[a-z][a-z0-9+.-]*:", href, re.I):
                file_part, fragment = href.split("#", 1)
                target = posixpath.normpath(posixpath.join(posixpath.dirname(name), file_part)) if file_part else name
                links.append((name, target, fragment))
    for source, target, fragment in links:
        if body_ids.get(target) == fragment:
            yield Finding(
                "error",
                "KINDLE-BODY-LINK",
                f"{source} links to {target}#{fragment}, the id of its <body> (Kindle rejects it)",
            )

    yield from _ncx_order(package)
    cover_items = [
        item for item in package.manifest.values() if "cover-image" in (item.get("properties") or "").split()
    ]
    legacy = package.opf.find("opf:metadata/opf:meta[@name='cover']", NS)
    legacy_ok = legacy is not None and legacy.get("content") in package.manifest
    if not cover_items and not legacy_ok:
        yield Finding(
            "error", "KINDLE-COVER", 'no cover image marked (properties="cover-image" or <meta name="cover">)'
        )
    elif not cover_items:
        yield Finding("warning", "KINDLE-COVER", 'cover marked only with the EPUB 2 <meta name="cover">')
    elif not legacy_ok:
        yield Finding("warning", "KINDLE-COVER", 'cover lacks the EPUB 2 <meta name="cover"> some readers need')
    if package.opf.find("opf:guide", NS) is None:
        yield Finding("warning", "KINDLE-GUIDE", "no EPUB 2 <guide>: Kindle uses it for location tracking")
    for item in package.manifest.values():
        if item.get("media-type") == "text/css" and package.href(item) in package.names:
            if b"-webkit-hyphens" in package.read(package.href(item)):
                yield Finding(
                    "warning",
                    "KINDLE-WEBKIT-HYPHENS",
                    f"{package.href(item)} uses -webkit-hyphens (reported to crash Kindle for Mac)",
                )
    size = path.stat().st_size
    if size > KINDLE_MAX_BYTES:
        yield Finding(
            "error", "KINDLE-SIZE", f"the file is {size // 1024 // 1024} MB; Send to Kindle by e-mail takes 50 MB"
        )


def _ncx_order(package: _Package) -> Iterator[Finding]:
    ncx_items = [item for item in package.manifest.values() if item.get("media-type") == "application/x-dtbncx+xml"]
    if not ncx_items or package.href(ncx_items[0]) not in package.names:
        return
    ncx_name = package.href(ncx_items[0])
    try:
        ncx = package.xml(ncx_name)
    except _Unreadable:
        yield Finding("warning", "KINDLE-NCX", f"{ncx_name} is not well-formed XML")
        return
    order = {package.href(item): index for index, item in enumerate(package.spine)}
    positions = []
    for content in ncx.iter(f"{{{NS['ncx']}}}content"):
        source = (content.get("src") or "").split("#")[0]
        target = posixpath.normpath(posixpath.join(posixpath.dirname(ncx_name), source))
        if target in order:
            positions.append(order[target])
    if positions != sorted(positions):
        yield Finding("warning", "KINDLE-NCX-ORDER", "the NCX lists documents in another order than the spine")


def _cover(package: _Package) -> Iterator[Finding]:
    """Cover sized for every store: Google Play takes 640 to 7,200 px; Apple wants 1,400 wide."""
    items = [item for item in package.manifest.values() if "cover-image" in (item.get("properties") or "").split()]
    if not items:
        legacy = package.opf.find("opf:metadata/opf:meta[@name='cover']", NS)
        items = (
            [package.manifest[legacy.get("content")]]
            if legacy is not None and legacy.get("content") in package.manifest
            else []
        )
    if not items:
        yield Finding("error", "COVER-MISSING", "the book has no cover image; store listings show a blank")
        return
    name = package.href(items[0])
    try:
        data = package.read(name)
    except _Unreadable as problem:
        yield Finding("error", "COVER-MISSING", str(problem))
        return
    from PIL import Image

    try:
        width, height = Image.open(io.BytesIO(data)).size
    except Exception:  # noqa: BLE001 - any undecodable image is the same finding
        yield Finding("error", "COVER-UNREADABLE", f"{name} is not an image readers can decode")
        return
    if min(width, height) < 640 or max(width, height) > 7200:
        yield Finding("error", "COVER-SIZE", f"{name} is {width}x{height} px; Google Play takes 640 to 7,200 px")
    elif width < 1400:
        yield Finding("warning", "COVER-SIZE", f"{name} is {width} px wide; Apple Books recommends at least 1,400")
    if len(data) > 2 * 1024 * 1024:
        yield Finding("warning", "COVER-BYTES", f"{name} is {len(data) // 1024} KB; keep covers under 2 MB")


def _documents(package: _Package) -> Iterator[Finding]:
    for item in package.spine:
        name = package.href(item)
        info = package.names.get(name)
        if info is not None and info.file_size > LARGE_DOCUMENT_BYTES:
            yield Finding(
                "warning",
                "DOC-SIZE",
                f"{name} is {info.file_size // 1024} KB; Adobe-engine readers struggle above 260 KB",
            )


def _accessibility(package: _Package) -> Iterator[Finding]:
    """EPUB Accessibility 1.1 discovery metadata."""
    present = {meta.get("property") for meta in package.opf.findall("opf:metadata/opf:meta", NS)}
    for name, severity in (
        ("schema:accessMode", "error"),
        ("schema:accessibilityFeature", "error"),
        ("schema:accessibilityHazard", "error"),
        ("schema:accessibilitySummary", "warning"),
        ("schema:accessModeSufficient", "warning"),
    ):
        if name not in present:
            yield Finding(severity, "A11Y-METADATA", f"no {name} in the package metadata")

"""The reader rules: what Send to Kindle, Google Play Books, Apple Books and Adobe-engine readers
reject or mangle in books that EPUBCheck passes (see the Readers and Accessibility notes).

In: a `GatheredEpub` from the reader. Out: `Finding`s, each naming the file inside the EPUB it is
about. `RULES` lists them in the order they run.
"""

from __future__ import annotations

import io
import warnings
from collections.abc import Callable, Iterator

from PIL import Image

from ..languages import is_language_tag, repaired_language_tag
from ..model import READER_LIMIT_BYTES as LARGE_DOCUMENT_BYTES
from .reader import NS, GatheredEpub, legacy_cover_id, link_target, resolve
from .report import Finding

KINDLE_MAX_BYTES = 50_000_000  # Send to Kindle by e-mail
COVER_MIN_SIDE, COVER_MAX_SIDE = 640, 7200  # Google Play Books
COVER_APPLE_WIDTH = 1400  # Apple Books' recommendation
COVER_MAX_BYTES = 2 * 1024 * 1024
_NO_LANGUAGE = frozenset({"und", "mul", "zxx", "mis"})


# Reader rules: each takes the gathered book and yields findings.


def _kindle_language(book: GatheredEpub) -> Iterator[Finding]:
    """A missing or malformed dc:language is the most reported cause of Kindle's E999."""
    languages = [tag.text or "" for tag in book.opf.iterfind("opf:metadata/dc:language", NS)]
    if not languages:
        yield Finding(
            "error", "KINDLE-LANGUAGE", f"{book.opf_name} has no dc:language; Send to Kindle rejects the book"
        )
    for language in (text.strip() for text in languages):
        if not is_language_tag(language):
            repaired = repaired_language_tag(language)
            hint = f" (write {repaired!r})" if repaired else ""
            yield Finding(
                "error",
                "KINDLE-LANGUAGE",
                f"{book.opf_name}: dc:language {language!r} is not a BCP 47 tag such as 'en' or 'en-US'{hint}",
            )
        elif language.split("-")[0].lower() in _NO_LANGUAGE | {"x"}:
            yield Finding(
                "warning",
                "KINDLE-LANGUAGE",
                f"{book.opf_name}: dc:language {language!r} names no language Kindle knows",
            )


def _kindle_documents(book: GatheredEpub) -> Iterator[Finding]:
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
            link = link_target(book.ncx_name or "", content.get("src") or "")
            if link is not None and body_ids.get(link[0]) == link[1]:
                yield Finding(
                    "error",
                    "KINDLE-BODY-LINK",
                    f"{book.ncx_name} links to {link[0]}#{link[1]}, the id of its <body>; Send to Kindle rejects this",
                )


def _kindle_ncx_order(book: GatheredEpub) -> Iterator[Finding]:
    """Kindle builds its table of contents from the NCX; out of spine order it misplaces it."""
    if book.ncx is None:
        return
    order = {name: index for index, name in enumerate(book.spine)}
    previous: tuple[int, str] | None = None
    for content in book.ncx.iterfind("ncx:navMap//ncx:navPoint/ncx:content", NS):
        target = resolve(book.ncx_name or "", (content.get("src") or "").split("#")[0])
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


def _kindle_cover_marking(book: GatheredEpub) -> Iterator[Finding]:
    """Kindle finds the cover by properties="cover-image" and the EPUB 2 <meta name="cover">."""
    marked = [
        item_id for item_id, item in book.manifest.items() if "cover-image" in (item.get("properties") or "").split()
    ]
    legacy = legacy_cover_id(book)
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


def _kindle_guide(book: GatheredEpub) -> Iterator[Finding]:
    """Kindle location tracking has needed an EPUB 2 <guide> entry."""
    if book.opf.find("opf:guide/opf:reference", NS) is None:
        yield Finding(
            "warning", "KINDLE-GUIDE", f"{book.opf_name} has no EPUB 2 <guide> entry (Kindle uses it for locations)"
        )


def _kindle_webkit_hyphens(book: GatheredEpub) -> Iterator[Finding]:
    """-webkit-hyphens was reported to crash Kindle for Mac."""
    names = book.stylesheets_with_webkit_hyphens + [
        document.name for document in book.documents if document.webkit_hyphens
    ]
    for name in names:
        yield Finding(
            "warning", "KINDLE-WEBKIT-HYPHENS", f"{name} uses -webkit-hyphens (reported to crash Kindle for Mac)"
        )


def _kindle_size(book: GatheredEpub) -> Iterator[Finding]:
    size = book.size
    if size > KINDLE_MAX_BYTES:
        yield Finding(
            "error",
            "KINDLE-SIZE",
            f"{book.path.name} is {size / 1e6:.1f} MB; Send to Kindle by e-mail takes at most 50 MB",
        )


def _cover_size(book: GatheredEpub) -> Iterator[Finding]:
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


def _document_size(book: GatheredEpub) -> Iterator[Finding]:
    """Adobe-engine readers (older Kobo, many apps) struggle above LARGE_DOCUMENT_BYTES per document."""
    for document in book.documents:
        if document.size > LARGE_DOCUMENT_BYTES:
            yield Finding(
                "warning",
                "DOC-SIZE",
                f"{document.name} is {document.size / 1024:,.0f} KB; Adobe-engine readers struggle above "
                f"{LARGE_DOCUMENT_BYTES // 1024} KB: split it",
            )


def _accessibility(book: GatheredEpub) -> Iterator[Finding]:
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


def _private_images(book: GatheredEpub) -> Iterator[Finding]:
    """A phone photo's EXIF tells where it was taken and on which phone: a book passes it on."""
    for name, carried in book.private_images:
        yield Finding(
            "warning",
            "IMAGE-PRIVATE-DATA",
            f"{name} carries {', '.join(carried)} in its metadata; anyone with the book can read it"
            " (handbill build removes it)",
        )


RULES: tuple[Callable[[GatheredEpub], Iterator[Finding]], ...] = (
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
    _private_images,
)

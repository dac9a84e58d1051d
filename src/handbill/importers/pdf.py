"""PDF with a text layer -> Document, through PDFium (pypdfium2).

A PDF has no paragraphs, only glyphs at positions, so the structure is read back from the layout:
each page's lines with their boxes, font sizes and font names; the running lines every page repeats
(page numbers, a browser's print header and footer, a journal's running head) dropped and counted;
paragraphs found from vertical gaps and first-line indents; headings from a font larger than the
body's (levels by size rank); whole paragraphs in a bold face marked `bold`, for the shared repair
that makes short ones section titles; images extracted (JPEG as stored, else PNG) and placed
among the lines where the page shows them. Lines of a paragraph are kept as lines ("\\n"), so the
shared repairs rejoin hard-wrapped lines and line-end hyphens the same way for every format.

PDFium (pypdfium2) rather than pdfminer.six: it gives the same per-character positions and font
names, but this reader lays out a 100-page PDF in about a second where pdfminer.six alone needs
six to parse it; it
survives damaged files (it rebuilds a broken cross-reference table) and it opens a PDF that has only
an owner password, as a viewer does. It is not thread-safe, hence the lock."""

from __future__ import annotations

import ctypes
import math
import re
import threading
import time
import zlib
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from statistics import median
from typing import Any

from .model import Block, Document, DocumentError, Image, Metadata, Repairs, escape
from .repair import PAGE_NUMBERS, RUNNING_LINES

MAX_BYTES = 50 * 1024 * 1024  # the file itself
MAX_PAGES = 2000
MAX_SECONDS = 60.0  # reading all pages
MAX_PAGE_CHARS = 200_000  # characters on one page (a dense page of small print has ~10,000)
MAX_INFLATED = 256 * 1024 * 1024  # all content streams (not images) once decompressed
MAX_IMAGE_PIXELS = 40_000_000  # one image, decoded (a 40-megapixel photo)
MAX_IMAGE_BYTES = 100 * 1024 * 1024  # all images, as written to images/
MAX_IMAGES = 2000  # image objects read in all (a picture repeated counts each time)

_LOCK = threading.Lock()  # PDFium is not thread-safe, and `handbill serve` has threads


class PDFError(DocumentError):
    """The PDF cannot be imported (no text layer, encrypted, damaged, too large)."""


def read(data: bytes, source: str, repairs: Repairs) -> Document:
    """The Document a PDF states: its text as Markdown blocks, and the metadata of its info
    dictionary and XMP packet (never its creation date, which is when it was printed)."""
    ends = time.monotonic() + MAX_SECONDS
    _check_container(data, source)
    pdfium = _pdfium(source)
    with _LOCK:
        document = _open(pdfium, data, source)
        try:
            pages, images, skipped = _read_pages(pdfium, document, source, ends)
            metadata = _metadata(document, data)
        finally:
            document.close()
    if not any(line.plain.strip() for page in pages for line in page):
        raise PDFError("has no text layer (a scan?): run OCR first, e.g. `ocrmypdf in.pdf out.pdf`", source)
    empty = [number for number, page in enumerate(pages, 1) if not any(line.words for line in page)]
    if empty:
        repairs.add(
            "pages with no text layer (scanned?): their images kept, run OCR for text", f"page {empty[0]}", len(empty)
        )
    pages = drop_running_lines(pages, repairs, title=metadata.title)
    blocks = _blocks(pages, repairs, lambda: _in_time(ends, source, "laying out its paragraphs"))
    shown = {line.image for page in pages for line in page if line.image}
    images = [image for image in images if image.name in shown]  # a logo on every page is a running line
    if skipped:
        repairs.add("images not imported (too large, too many, or unreadable)", f"page {skipped[0]}", len(skipped))
    return Document(source=source, blocks=blocks, metadata=metadata, images=images, repairs=repairs)


# -- opening -------------------------------------------------------------------------------------

_STREAM = re.compile(rb"stream\r?\n")
_ENDSTREAM = b"endstream"


def _check_container(data: bytes, source: str) -> None:
    """Refuse what is not a PDF, is truncated, or is too large (also once decompressed)."""
    if len(data) > MAX_BYTES:
        raise PDFError(f"is larger than {MAX_BYTES // 2**20} MB: split it, or import a smaller PDF", source)
    if b"%PDF-" not in data[:1024]:
        raise PDFError("is not a PDF (it has no %PDF header): check the file", source)
    if b"%%EOF" not in data:  # junk after the last one is common (downloads, padding); none at all is a cut file
        raise PDFError("is damaged: it ends early (no %%EOF marker); download or export it again", source)
    inflated = 0
    for match in _STREAM.finditer(data):
        dictionary = data[max(0, match.start() - 512) : match.start()]
        dictionary = dictionary[dictionary.rfind(b"<<") :]
        if b"/FlateDecode" not in dictionary or b"/Image" in dictionary:
            continue
        end = data.find(_ENDSTREAM, match.end())
        if end < 0:
            end = len(data)
        inflater = zlib.decompressobj()
        try:
            chunk = inflater.decompress(data[match.end() : end], MAX_INFLATED - inflated + 1)
        except zlib.error:
            continue  # PDFium decides what a broken stream means
        inflated += len(chunk)
        if inflated > MAX_INFLATED:
            raise PDFError(
                f"expands to more than {MAX_INFLATED // 2**20} MB of page content (a PDF bomb?): not imported", source
            )


def _pdfium(source: str) -> Any:
    try:
        import pypdfium2
    except ImportError:  # pragma: no cover - a dependency, missing only in a broken install
        raise PDFError("needs pypdfium2 to import PDF: pip install pypdfium2", source) from None
    return pypdfium2


def _open(pdfium: Any, data: bytes, source: str) -> Any:
    raw = pdfium.raw
    try:
        document = pdfium.PdfDocument(data)
    except pdfium.PdfiumError as error:
        code = getattr(error, "err_code", None)
        if code == raw.FPDF_ERR_PASSWORD:
            raise PDFError("is encrypted with a password: save a copy without one, then import that", source) from None
        if code == raw.FPDF_ERR_SECURITY:
            raise PDFError("uses an unsupported encryption: save a copy without it, then import that", source) from None
        raise PDFError("is damaged and cannot be read: export or download it again", source) from None
    count = len(document)
    if count > MAX_PAGES:
        document.close()
        raise PDFError(f"has {count} pages, more than {MAX_PAGES}: split it, or import a part", source)
    return document


# -- lines ---------------------------------------------------------------------------------------


@dataclass
class Word:
    text: str
    bold: bool
    italic: bool
    x: float = 0.0  # the middle of its first letter, on the page
    y: float = 0.0
    link: str = ""  # the address a link on the page over it leads to


@dataclass
class Line:
    """One line of text as the page shows it. PDF coordinates: y grows upwards."""

    page: int  # 1-based
    words: list[Word]
    x0: float
    x1: float
    top: float
    bottom: float
    size: float  # font size of its first character, as the page shows it
    image: str = ""  # an image's file name: a line with no words that shows it

    @property
    def plain(self) -> str:
        return " ".join(word.text for word in self.words)

    @property
    def bold(self) -> bool:
        return bool(self.words) and all(word.bold for word in self.words)


@dataclass
class _Fonts:
    """Bold and italic per font name, asked of PDFium once per font."""

    buffer: Any = field(default_factory=lambda: ctypes.create_string_buffer(256))
    flags: Any = field(default_factory=ctypes.c_int)
    styles: dict[tuple[bytes, int], tuple[bool, bool]] = field(default_factory=dict)

    def style(self, raw: Any, textpage: Any, index: int) -> tuple[bool, bool]:
        raw.FPDFText_GetFontInfo(textpage, index, self.buffer, 256, self.flags)
        key = (self.buffer.value, self.flags.value)
        style = self.styles.get(key)
        if style is None:
            name = key[0].split(b"+")[-1].lower()
            weight = raw.FPDFText_GetFontWeight(textpage, index)
            bold = any(w in name for w in (b"bold", b"black", b"heavy", b"semibold", b"demi")) or bool(
                key[1] & 0x40000  # ForceBold
            )
            bold = bold or weight >= 600
            italic = any(w in name for w in (b"italic", b"oblique")) or bool(key[1] & 0x40)
            style = self.styles[key] = (bold, italic)
        return style


_HYPHEN_MARK = "\x02"  # PDFium's mark for a hyphen it saw at the end of a line (U+FFFE in GetText)


def _in_time(ends: float, source: str, doing: str) -> None:
    if time.monotonic() > ends:
        raise PDFError(f"took longer than {MAX_SECONDS:.0f} s to read ({doing}): not imported", source)


def _read_pages(
    pdfium: Any, document: Any, source: str, ends: float
) -> tuple[list[list[Line]], list[Image], list[int]]:
    """Every page's lines in reading order (its images among them, as lines of their own), the
    images, and the page of each image that was not imported."""
    raw = pdfium.raw
    fonts = _Fonts()
    pages: list[list[Line]] = []
    images: dict[bytes, Image] = {}  # by content: a picture repeated is one file
    skipped: list[int] = []
    images_read = [0]  # image objects met so far, against MAX_IMAGES
    boxes = [ctypes.c_double() for _ in range(4)]
    for number in range(1, len(document) + 1):
        _in_time(ends, source, f"page {number}")
        page = document[number - 1]
        try:
            textpage = page.get_textpage()
            try:
                lines, turn = _page_lines(raw, textpage, number, fonts, boxes, source)
            finally:
                textpage.close()
            links = [(*_turn_box(turn, *box), address) for *box, address in _page_links(raw, document.raw, page.raw)]
            _link_words(lines, links)
            for image_line in _page_images(pdfium, page, number, turn, images, skipped, images_read):
                _place(lines, image_line)
            pages.append(lines)
        finally:
            page.close()
    return pages, list(images.values()), skipped


_LINK_SCHEMES = ("http://", "https://", "mailto:")


def _page_links(raw: Any, document: Any, page: Any) -> list[tuple[float, float, float, float, str]]:
    """The page's links to web addresses: (left, bottom, right, top, address)."""
    links: list[tuple[float, float, float, float, str]] = []
    position, link = ctypes.c_int(0), raw.FPDF_LINK()
    rect = raw.FS_RECTF()
    buffer = ctypes.create_string_buffer(2048)
    while len(links) < 10_000 and raw.FPDFLink_Enumerate(page, ctypes.byref(position), ctypes.byref(link)):
        action = raw.FPDFLink_GetAction(link)
        if not action or raw.FPDFAction_GetType(action) != raw.PDFACTION_URI:
            continue
        length = raw.FPDFAction_GetURIPath(document, action, buffer, len(buffer))
        address = buffer.value.decode("ascii", "replace").strip() if 0 < length <= len(buffer) else ""
        if address.lower().startswith(_LINK_SCHEMES) and raw.FPDFLink_GetAnnotRect(link, rect):
            safe = "".join(c if c.isprintable() and c not in " ()<>" else f"%{ord(c):02X}" for c in address)
            links.append((rect.left, rect.bottom, rect.right, rect.top, safe))
    return links


def _link_words(lines: list[Line], links: list[tuple[float, float, float, float, str]]) -> None:
    for line in lines:
        for word in line.words:
            for left, bottom, right, top, address in links:
                if left <= word.x <= right and bottom <= word.y <= top:
                    word.link = address
                    break


def _page_images(
    pdfium: Any,
    page: Any,
    number: int,
    turn: Turn,
    images: dict[bytes, Image],
    skipped: list[int],
    read: list[int],
) -> list[Line]:
    """The page's images as lines that show them, each image extracted once (JPEG as it is
    stored, anything else as PNG); one too large or that cannot be read, or past MAX_IMAGES, is
    only counted."""
    import hashlib
    import io

    found: list[Line] = []
    try:
        pictures = list(page.get_objects(filter=(pdfium.raw.FPDF_PAGEOBJ_IMAGE,), max_depth=2))
    except Exception:  # a broken page's objects: its text is still read
        return found
    for picture in pictures:
        read[0] += 1
        if read[0] > MAX_IMAGES:
            skipped.append(number)
            continue
        try:
            width, height = picture.get_px_size()
            if width * height > MAX_IMAGE_PIXELS or width * height == 0:
                raise ValueError("not imported")
            buffer = io.BytesIO()
            picture.extract(buffer, fb_format="png")
            data = buffer.getvalue()
            if sum(len(image.data) for image in images.values()) + len(data) > MAX_IMAGE_BYTES:
                raise ValueError("not imported")
            left, bottom, right, top = _turn_box(turn, *picture.get_bounds())
        except Exception:  # PdfiumError, a filter PIL cannot decode, a limit: counted, not fatal
            skipped.append(number)
            continue
        key = hashlib.sha256(data).digest()
        if key not in images:
            suffix = "jpg" if data[:3] == b"\xff\xd8\xff" else "png"
            images[key] = Image(f"page-{number}-{len(images) + 1}.{suffix}", data)
        found.append(Line(number, [], left, right, top, bottom, 0.0, image=images[key].name))
    return found


def _place(lines: list[Line], image: Line) -> None:
    """Put an image among the page's lines: before the first line below it in the same column."""
    for index, line in enumerate(lines):
        if line.top <= image.top and line.x0 < image.x1 and image.x0 < line.x1:
            lines.insert(index, image)
            return
    lines.append(image)


_TOKEN = re.compile(r"\n|[^\s\x00\x01\x03-\x1f\x7f-\x9f\u00ad\u200b-\u200f\u2028-\u202e\u2060-\u206f\ufeff]+")

# A piece of text on one line: (text, index of its first character, left, right, bottom, top,
# whether it goes on from the piece before it without a space). "\n" alone is PDFium's line end.
Piece = tuple[str, int, float, float, float, float, bool]
# How a page's coordinates are turned so that its text runs left to right (None: as they are).
Turn = Callable[[float, float], tuple[float, float]] | None


_RIGHT_TO_LEFT = re.compile("[\u0590-\u08ff\ufb1d-\ufdff\ufe70-\ufefc]")  # Hebrew, Arabic, Syriac, Thaana...
_DIGIT = re.compile(r"\d")


def _right_to_left_word(text: str, start: int, box: Callable[[int], tuple[float, float, float, float]]) -> Piece:
    """A word of Hebrew or Arabic, its letters in reading order: from right to left on the page
    (PDFium gives some short words in the order they were drawn, left to right)."""
    boxes = [box(index) for index in range(start, start + len(text))]
    order = sorted(range(len(text)), key=lambda i: -(boxes[i][0] + boxes[i][1]))  # stable: a ligature's letters
    return (
        "".join(text[i] for i in order),
        start,
        min(b[0] for b in boxes),
        max(b[1] for b in boxes),
        min(b[2] for b in boxes),
        max(b[3] for b in boxes),
        False,
    )


def _page_text(raw: Any, handle: Any, count: int) -> str:
    """The page's characters, one per PDFium character index: in one call where that holds
    (PDFium may leave out or add characters, or need two UTF-16 units), else one by one."""
    buffer = (ctypes.c_ushort * (count + 1))()
    written = raw.FPDFText_GetText(handle, 0, count, buffer) if count else 0
    text = bytes(memoryview(buffer).cast("B")[: max(written - 1, 0) * 2]).decode("utf-16-le", "replace")
    if len(text) == count and "\ufffd" not in text:
        return text
    get_unicode = raw.FPDFText_GetUnicode
    return "".join([chr(get_unicode(handle, index)) for index in range(count)])


def _page_lines(
    raw: Any, textpage: Any, number: int, fonts: _Fonts, boxes: list[Any], source: str
) -> tuple[list[Line], Turn]:
    """The page's lines. A line ends where PDFium says so or where the next word no longer
    shares the line's height (PDFium runs a line that ends in a hyphen into the next one).
    Text set sideways or in vertical columns (Japanese, Chinese) is turned to run left to right
    first, so that lines, columns and paragraphs are found the same way for every direction.
    Boxes are asked for the first and last letter of each word only (a word that turns a line
    is asked letter by letter): PDFium's calls cost more than the layout."""
    handle = textpage.raw
    count = raw.FPDFText_CountChars(handle)
    if count > MAX_PAGE_CHARS:
        raise PDFError(f"has {count} characters on page {number} (a PDF bomb?): not imported", source)
    text = _page_text(raw, handle, count).replace(_HYPHEN_MARK, "-").replace("\ufffe", "-")
    left, right, bottom, top = boxes
    refs = [ctypes.byref(box) for box in boxes]
    get_box = raw.FPDFText_GetCharBox

    def box(index: int) -> tuple[float, float, float, float]:
        get_box(handle, index, *refs)
        return left.value, right.value, bottom.value, top.value

    pieces: list[Piece] = []
    for match in _TOKEN.finditer(text):
        start, end = match.span()
        if text[start] == "\n":
            pieces.append(("\n", start, 0.0, 0.0, 0.0, 0.0, False))
            continue
        if end - start > 1 and _RIGHT_TO_LEFT.search(match.group()) and not _DIGIT.search(match.group()):
            pieces.append(_right_to_left_word(match.group(), start, box))
            continue
        l1, r1, b1, t1 = box(start)
        l2, r2, b2, t2 = box(end - 1) if end - start > 1 else (l1, r1, b1, t1)
        if b2 <= t1 and b1 <= t2 and l2 >= l1 - 1:  # on one line
            pieces.append((match.group(), start, min(l1, l2), max(r1, r2), min(b1, b2), max(t1, t2), False))
            continue
        joined = False
        for index in range(start, end):  # letter by letter, joined again where they share a line
            cl, cr, cb, ct = box(index)
            if joined:
                _, first, pl, pr, pb, pt, was_joined = pieces[-1]
                if cb <= pt and pb <= ct and cl >= pl - 1:
                    pieces[-1] = (
                        pieces[-1][0] + text[index],
                        first,
                        pl,
                        max(pr, cr),
                        min(pb, cb),
                        max(pt, ct),
                        was_joined,
                    )
                    continue
            pieces.append((text[index], index, cl, cr, cb, ct, joined))
            joined = True
    pieces, turn = _upright(pieces)

    lines: list[Line] = []
    words: list[Word] = []
    word: list[str] = []
    first = first_of_line = -1
    word_x = word_y = 0.0
    matrix = raw.FS_MATRIX()
    x0 = y0 = math.inf
    x1 = y1 = -math.inf

    def end_word() -> None:
        nonlocal word
        if word:
            bold, italic = fonts.style(raw, handle, first)
            words.append(Word("".join(word), bold, italic, word_x, word_y))
            word = []

    def end_line() -> None:
        nonlocal words, x0, x1, y0, y1
        end_word()
        if words:
            size = raw.FPDFText_GetFontSize(handle, first_of_line)
            if raw.FPDFText_GetMatrix(handle, first_of_line, matrix):  # the size as the page shows it
                size *= math.sqrt(abs(matrix.a * matrix.d - matrix.b * matrix.c)) or 1.0
            lines.append(Line(number, words, x0, x1, y1, y0, size))
        words = []
        x0 = y0 = math.inf
        x1 = y1 = -math.inf

    for piece, index, piece_left, piece_right, piece_bottom, piece_top, joined in pieces:
        if piece == "\n":
            end_line()
            continue
        if (words or word) and (piece_top < y0 or piece_bottom > y1 or piece_left < x0 - 1):
            end_line()  # the piece is on a new line or in a new column
        elif not joined:
            end_word()
        if not word:
            first = index
            word_x, word_y = (piece_left + piece_right) / 2, (piece_bottom + piece_top) / 2
        if not words and not word:
            first_of_line = index
        word.append(piece)
        if piece_left < x0:
            x0 = piece_left
        if piece_right > x1:
            x1 = piece_right
        if piece_bottom < y0:
            y0 = piece_bottom
        if piece_top > y1:
            y1 = piece_top
    end_line()
    return _reading_order(lines), turn


def _reading_order(lines: list[Line]) -> list[Line]:
    """The lines in reading order. PDFium gives them in the order they were drawn, which is the
    reading order almost always; where most lines come above the one drawn before them, the page
    was drawn backwards, and its lines are put in order by column, then from the top down."""
    upward = sum(
        1
        for a, b in zip(lines, lines[1:], strict=False)
        if b.bottom > a.top and b.x0 < a.x1 and a.x0 < b.x1  # b is above a, in the same column
    )
    if upward * 2 <= len(lines):
        return lines
    columns: list[list[Line]] = []
    right = -math.inf  # the right edge of the column being gathered
    for line in sorted(lines, key=lambda line: line.x0):
        if columns and line.x0 < right:
            columns[-1].append(line)
        else:
            columns.append([line])
        right = max(right, line.x1) if len(columns[-1]) > 1 else line.x1
    return [line for column in columns for line in sorted(column, key=lambda line: -line.top)]


def _turn_box(turn: Turn, left: float, bottom: float, right: float, top: float) -> tuple[float, float, float, float]:
    """A box on the page in the frame the page's text was turned into (left, bottom, right, top)."""
    if turn is None:
        return left, bottom, right, top
    (ax, ay), (bx, by) = turn(left, bottom), turn(right, top)
    return min(ax, bx), min(ay, by), max(ax, bx), max(ay, by)


def _upright(pieces: list[Piece]) -> tuple[list[Piece], Turn]:
    """The pieces' boxes in a frame where the text runs along +x and lines follow each other down
    (-y): the page's own frame for ordinary text; turned for text set sideways or in columns."""
    placed = [p for p in pieces[:400] if p[0] != "\n"]  # the start of the page tells its direction
    runs: Counter[tuple[int, int]] = Counter()  # the direction from one piece to the next on its line
    for (_, _, l1, r1, b1, t1, _), (_, _, l2, r2, b2, t2, _) in zip(placed, placed[1:], strict=False):
        dx, dy = (l2 + r2 - l1 - r1) / 2, (b2 + t2 - b1 - t1) / 2
        reach = max(r1 - l1, t1 - b1, r2 - l2, t2 - b2, 1.0)
        if abs(dx) + abs(dy) < reach * 3:
            runs[(1 if dx > 0 else -1, 0) if abs(dx) >= abs(dy) else (0, 1 if dy > 0 else -1)] += 1
    along = runs.most_common(1)[0][0] if runs else (1, 0)
    if along == (1, 0):
        return pieces, None
    # the direction from one line to the next: the sideways step at each jump back along the text
    steps: Counter[int] = Counter()
    for (_, _, l1, r1, b1, t1, _), (_, _, l2, r2, b2, t2, _) in zip(placed, placed[1:], strict=False):
        dx, dy = (l2 + r2 - l1 - r1) / 2, (b2 + t2 - b1 - t1) / 2
        back = -(dx * along[0] + dy * along[1])
        side = dx if along[0] == 0 else dy
        if back > max(r1 - l1, t1 - b1, 1.0) * 3 and side:
            steps[1 if side > 0 else -1] += 1
    sign = steps.most_common(1)[0][0] if steps else -1
    if along == (0, -1):
        sign = -1  # columns of Chinese or Japanese: read from right to left, whatever the drawing order
    across = (sign, 0) if along[0] == 0 else (0, sign)

    def turn(x: float, y: float) -> tuple[float, float]:
        return x * along[0] + y * along[1], -(x * across[0] + y * across[1])

    turned: list[Piece] = []
    for text, index, piece_left, piece_right, piece_bottom, piece_top, joined in pieces:
        (ax, ay), (bx, by) = turn(piece_left, piece_bottom), turn(piece_right, piece_top)
        turned.append((text, index, min(ax, bx), max(ax, bx), min(ay, by), max(ay, by), joined))
    return turned, turn


# -- running headers and footers -------------------------------------------------------------------

_DIGITS = re.compile(r"\d+")
_PAGE_NUMBER = re.compile(r"^[^\w]{0,3}(\d{1,5}|[ivxlcdm]{1,7})(?:\s*/\s*(\d{1,5}))?[^\w]{0,3}$", re.IGNORECASE)
_ROMAN = {"i": 1, "v": 5, "x": 10, "l": 50, "c": 100, "d": 500, "m": 1000}
_ADDRESS = re.compile(r"\b(?:[a-z][a-z0-9+.-]*://|about:blank|www\.)\S*", re.IGNORECASE)
_DATE_TIME = re.compile(
    r"\d{1,4}[./-]\d{1,2}[./-]\d{1,4}.{0,4}\b\d{1,2}:\d{2}\b|\b\d{1,2}:\d{2}\b.{0,6}\b\d{1,4}[./-]\d{1,2}[./-]\d{1,4}"
)
BROWSER_LINES = "browser print headers and footers removed (date, title, address, page n/m)"
_EDGE = 3  # lines at the top and at the bottom of a page that may be running lines


def drop_running_lines(pages: list[list[Line]], repairs: Repairs, title: str = "") -> list[list[Line]]:
    """The pages without their page numbers, browser print headers and footers (date, title,
    address, "1/4") and lines repeated at the same place on most pages; each kind counted."""
    total = len(pages)
    pages_with_text = sum(1 for page in pages if page)
    quorum = max(2, math.ceil(pages_with_text / 2))

    def key(line: Line) -> tuple[int, str]:
        """Where a line is and what it says, but for the numbers in it (unless it is only one)."""
        text = line.plain.casefold()
        return round(line.top / 6), text if _PAGE_NUMBER.match(text) else _DIGITS.sub("#", text)

    def skeleton(line: Line) -> str:
        return _DIGITS.sub("#", " ".join(w.text for w in line.words if not w.text.isdigit()).casefold())

    seen: Counter[tuple[int, str]] = Counter()
    skeletons: Counter[str] = Counter()
    offsets: Counter[tuple[str, int]] = Counter()
    for page in pages:
        edge = _edge_lines(page)
        seen.update({key(line) for line in edge})
        skeletons.update({skeleton(line) for line in edge if _DIGITS.search(line.plain)})
        offsets.update({offset for line in edge if (offset := _page_offset(line))})
    # where the numbers that run with the pages stand: a number there is one too ("1" restarting)
    numbered: Counter[int] = Counter(
        round(line.top / 6)
        for page in pages
        for line in _edge_lines(page)
        if (offset := _page_offset(line)) and offsets[offset] >= 2
    )
    title_key = " ".join(title.casefold().split())

    def kind_of(line: Line, page: list[Line]) -> str:
        text = line.plain
        offset = _page_offset(line)
        if offset and (offsets[offset] >= 2 or pages_with_text == 1 and offset[1] == 0):
            return PAGE_NUMBERS  # "7", "- 7 -", "vii", "7/12": numbers that run with the pages
        if offset and numbered[round(line.top / 6)] >= 2:
            return PAGE_NUMBERS
        if (match := _PAGE_NUMBER.match(text)) and match.group(2) and int(match.group(2)) == total:
            return PAGE_NUMBERS
        if (_ADDRESS.search(text) or _DATE_TIME.search(text)) and _small(line, page):
            return BROWSER_LINES
        if title_key and " ".join(text.casefold().split()) == title_key and total > 1 and _small(line, page):
            return BROWSER_LINES
        if line.page in map(int, _DIGITS.findall(text)) and skeletons[skeleton(line)] >= quorum:
            return PAGE_NUMBERS
        if seen[key(line)] >= quorum:
            return RUNNING_LINES
        return ""

    kept: list[list[Line]] = []
    for page in pages:
        dropped: set[int] = set()
        by_height = sorted(page, key=lambda line: -line.top)
        # from the top edge down and from the bottom edge up, while each line is a running one
        for edge in (by_height[:_EDGE], by_height[::-1][:_EDGE]):
            for line in edge:
                kind = "" if id(line) in dropped else kind_of(line, page)
                if not kind:
                    break
                dropped.add(id(line))
                repairs.add(kind, f"page {line.page}")
        kept.append([line for line in page if id(line) not in dropped])
    return kept


def _page_offset(line: Line) -> tuple[str, int] | None:
    """For a line that is only a number (arabic or roman, maybe "n/m"): its numbering and how far
    the number is from the page's place in the file. Page numbers keep one offset from page to page."""
    match = _PAGE_NUMBER.match(line.plain)
    if not match:
        return None
    number = match.group(1)
    if number.isdigit():
        return "arabic", int(number) - line.page
    values = [_ROMAN[c] for c in number.casefold()]
    value = sum(-v if v < w else v for v, w in zip(values, [*values[1:], 0], strict=False))
    return "roman", value - line.page


def _edge_lines(page: list[Line]) -> list[Line]:
    """The top and bottom lines of a page, by position (PDFium often reads the header last)."""
    by_height = sorted(page, key=lambda line: -line.top)
    return by_height[:_EDGE] + by_height[_EDGE:][-_EDGE:]


def _small(line: Line, page: list[Line]) -> bool:
    """A line set smaller than most of its page, as a print header is."""
    sizes = sorted(other.size for other in page)
    return line.size < sizes[len(sizes) // 2] * 0.95 if len(sizes) > 2 else True


# -- paragraphs ----------------------------------------------------------------------------------


def _blocks(pages: list[list[Line]], repairs: Repairs, in_time: Callable[[], None]) -> list[Block]:
    lines = [line for page in pages for line in page]
    if not any(line.words for line in lines):
        return []
    sizes: Counter[float] = Counter()
    for line in lines:
        if line.words:
            sizes[round(line.size * 2) / 2] += len(line.plain)
    body = sizes.most_common(1)[0][0]
    heading_sizes = sorted({size for size in sizes if size > body * 1.15}, reverse=True)
    levels = {size: min(rank, 6) for rank, size in enumerate(heading_sizes, 1)}
    pitches = [
        previous.bottom - line.bottom
        for previous, line in zip(lines, lines[1:], strict=False)
        if previous.page == line.page
        and abs(previous.size - body) < 0.5
        and abs(line.size - body) < 0.5
        and 0 < previous.bottom - line.bottom
    ]
    # the distance from one line to the next in running text (a few lines tell nothing: a gap)
    pitch = min(median(pitches) if len(pitches) >= 3 else body * 1.25, body * 2.0)

    groups: list[list[Line]] = []
    for segment in _segments(lines):
        body_lines = [line for line in segment if abs(line.size - body) < 0.5] or segment
        left = min(line.x0 for line in body_lines)
        right = max(line.x1 for line in body_lines)
        for index, line in enumerate(segment):
            previous = segment[index - 1] if index else None
            if (
                previous is None
                or line.image
                or previous.image
                or _starts_paragraph(previous, line, pitch, body, left, right)
            ):
                groups.append([line])
            else:
                groups[-1].append(line)

    blocks: list[Block] = []
    last: Line | None = None  # the last line of the last block
    for number, group in enumerate(groups):
        if number % 1000 == 999:
            in_time()
        size = round(group[0].size * 2) / 2
        place = f"page {group[0].page}"
        # the first block of a page or column: the shared repair joins a paragraph to the last one
        # when a sentence runs on over the break, whatever the case of its first letter
        starts = last is None or group[0].page != last.page or group[0].top > last.top + 1
        last = group[-1]
        if group[0].image:
            blocks.append(Block("image", f"![](images/{group[0].image})", place=place))
            continue
        if size in levels and len(group) <= 4:
            blocks.append(Block("heading", _markdown(group, plain=True), level=levels[size], place=place))
            continue
        bold = all(line.bold for line in group)
        blocks.append(Block("paragraph", _markdown(group, plain=False), bold=bold, place=place, page_start=starts))
    _rejoin_bold_lines(blocks, repairs)
    return blocks


def _rejoin_bold_lines(blocks: list[Block], repairs: Repairs) -> None:
    """A bold paragraph's lines made one line here, by the shared rule (a line-end hyphen kept
    unless the document has the word without it): the shared bold-title repair joins a wrapped
    title's lines with a space, which would leave `occupat- ion` in a title."""
    if not any(block.bold and "\n" in block.text for block in blocks):
        return
    from .repair import known_words, rejoin_lines

    words = known_words(block.text for block in blocks if block.kind in ("paragraph", "heading"))
    for block in blocks:
        if block.bold and "\n" in block.text:
            block.text = rejoin_lines(block.text, lambda: words, repairs, block.place)


def _segments(lines: list[Line]) -> list[list[Line]]:
    """The lines cut into pages and columns: a column ends where the next line is higher up."""
    segments: list[list[Line]] = []
    for line in lines:
        last = segments[-1][-1] if segments else None
        if last is None or line.page != last.page or line.top > last.top + 1:
            segments.append([line])
        else:
            segments[-1].append(line)
    return segments


def _starts_paragraph(previous: Line, line: Line, pitch: float, body: float, left: float, right: float) -> bool:
    if abs(line.size - previous.size) > 0.5 or line.bold != previous.bold:
        return True
    if previous.bottom - line.bottom > pitch * 1.35 * max(1.0, line.size / body):
        return True
    indented = line.x0 - left > line.size * 0.8
    if not indented:
        return False
    previous_indented = previous.x0 - left > line.size * 0.8
    previous_short = right - previous.x1 > line.size * 2
    return not previous_indented or abs(previous.x0 - line.x0) > 1 or previous_short


def _markdown(group: list[Line], plain: bool) -> str:
    """The lines of a paragraph as Markdown, line for line, with its bold and italic runs and its
    links marked (a run may go on over lines: `*The following ... organized in\nMinneapolis ...*`).
    `plain` (a heading): no emphasis, no links."""
    # (bold, italic, link), the run's lines of words, whether it begins a line
    runs: list[tuple[tuple[bool, bool, str], list[list[str]], bool]] = []
    for line in group:
        for position, word in enumerate(line.words):
            style = (False, False, "") if plain else (word.bold, word.italic, word.link)
            if not runs or runs[-1][0] != style:
                runs.append((style, [[]], position == 0))
            elif position == 0:
                runs[-1][1].append([])  # the run goes on over a line break
            runs[-1][1][-1].append(word.text)
    out: list[str] = []  # joined once: linear however many runs
    for (bold, italic, link), lines, begins_line in runs:
        marker = ("**" if bold else "") + ("*" if italic else "")
        text = "\n".join(escape(" ".join(words)) for words in lines)
        if link:
            text = f"[{text}]({link})"
        if out:
            out.append("\n" if begins_line else " ")
        out.append(marker + text + marker[::-1])
    return "".join(out)


# -- metadata ------------------------------------------------------------------------------------

_XMP = re.compile(rb"<x:xmpmeta\b.*?</x:xmpmeta>", re.DOTALL)
_SOFTWARE_TITLE = re.compile(r"^(?:Microsoft Word - .*|.*\.(?:docx?|odt|rtf|txt|html?|pdf|indd|tex))$", re.IGNORECASE)


def _metadata(document: Any, data: bytes) -> Metadata:
    """Title, authors, subject and keywords from the info dictionary, overridden by the XMP
    packet's Dublin Core; the language from the catalog. CreationDate and ModDate are the
    moments the file was made, not the publication date, and are never read."""
    metadata = Metadata()
    try:
        info = document.get_metadata_dict(skip_empty=True)
    except Exception:  # an info dictionary PDFium cannot decode states nothing
        info = {}
    title = info.get("Title", "").strip()
    if title and not _SOFTWARE_TITLE.match(title):
        metadata.title = title
    if info.get("Author", "").strip():
        metadata.authors = [name.strip() for name in info["Author"].split(";") if name.strip()]
    metadata.description = info.get("Subject", "").strip()
    metadata.subjects = [word.strip() for word in re.split(r"[;,]", info.get("Keywords", "")) if word.strip()]
    metadata.language = _catalog_language(document)
    _xmp(data, metadata)
    return metadata


def _catalog_language(document: Any) -> str:
    import pypdfium2.raw as raw

    length = raw.FPDFCatalog_GetLanguage(document.raw, None, 0)
    if length <= 2:
        return ""
    buffer = ctypes.create_string_buffer(length)
    raw.FPDFCatalog_GetLanguage(document.raw, ctypes.cast(buffer, ctypes.POINTER(ctypes.c_ushort)), length)
    return _language(buffer.raw[: length - 2].decode("utf-16-le", "replace"))


def _language(tag: str) -> str:
    tag = tag.strip().replace("_", "-")
    return tag if re.fullmatch(r"[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8})*", tag) else ""


def _xmp(data: bytes, metadata: Metadata) -> None:
    """Dublin Core from the first XMP packet stored uncompressed (as the XMP spec asks)."""
    match = _XMP.search(data, 0, len(data))
    if not match or len(match.group(0)) > 1_000_000:
        return
    from lxml import etree

    parser = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False, recover=True)
    try:
        root = etree.fromstring(match.group(0), parser)
    except etree.XMLSyntaxError:
        return
    if root is None:
        return
    dc = "http://purl.org/dc/elements/1.1/"

    def values(name: str) -> list[str]:
        found = []
        for element in root.iter(f"{{{dc}}}{name}"):
            items = [li for li in element.iter() if isinstance(li.tag, str) and li.tag.endswith("}li")]
            for item in items or [element]:
                text = " ".join("".join(item.itertext()).split())
                if text and text not in found:
                    found.append(text)
        return found

    if titles := values("title"):
        if not _SOFTWARE_TITLE.match(titles[0]):
            metadata.title = titles[0]
    if creators := values("creator"):
        metadata.authors = creators
    if languages := [tag for tag in map(_language, values("language")) if tag]:
        metadata.language = languages[0]
    if descriptions := values("description"):
        metadata.description = descriptions[0]
    if rights := values("rights"):
        metadata.rights = rights[0]
    if publishers := values("publisher"):
        metadata.publisher = publishers[0]
    if subjects := values("subject"):
        metadata.subjects = subjects

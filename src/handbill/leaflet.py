"""A printable leaflet for a book (`handbill leaflet`): what to hand out at a demonstration.

Each copy holds the title, authors, date, description and a cover thumbnail, and a large QR
code of the address where the book can be downloaded, with the address also printed as text.
One, two or four copies go on a sheet, with cut marks between them.

fpdf2 writes the PDF: pure Python, small, it embeds a subset of a TrueType font (DejaVu, which
handbill ships for its covers), so the text is real text in any script the font covers, and
the QR code is drawn as vector squares (sharp at any printer's resolution). The bytes depend
only on the book and the options: the PDF's dates come from the book's own date (or
SOURCE_DATE_EPOCH), and its /ID is a digest of its content.

In: a `Book` (made by the build's stages), the address, paper and copies per sheet. Out: PDF
bytes (`leaflet_pdf`), or a file replaced only when whole (`write_leaflet`).
"""

from __future__ import annotations

import io
import logging
import os
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple
from urllib.parse import urlsplit

from . import DATA
from .errors import HandbillError, OutputError

if TYPE_CHECKING:
    from fpdf import FPDF

    from .model import Book

log = logging.getLogger(__name__)

PAPERS = {"a4": (210.0, 297.0), "letter": (215.9, 279.4), "a5": (148.0, 210.0)}
"""Sheet sizes in millimetres, portrait."""
PER_SHEET = (1, 2, 4)
MAX_URL_LENGTH = 200
"""A longer address makes a denser QR code (version 10 and up) that a phone reads badly from a
small printed copy, and nobody types it from paper: use a short link."""

_REGULAR, _BOLD = "DejaVuSans.ttf", "DejaVuSansCondensed-Bold.ttf"
_INK = (0, 0, 0)
_GREY = (90, 90, 90)
_CUT_MARK = 5.0  # mm: how far a cut mark reaches into the sheet from its edge


class LeafletError(HandbillError):
    """The leaflet cannot be made as asked (a bad address, an unusable output path)."""


def check_url(url: str) -> str:
    """An http(s) address short enough for a QR code a phone reads from a small printed copy."""
    url = url.strip()
    if any(not character.isprintable() or character.isspace() for character in url):
        raise LeafletError(f"--url {url!r} holds spaces or control characters; give a plain web address")
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018  (a bad port raises here)
    except ValueError as error:
        raise LeafletError(f"--url {url!r} is not a web address ({error})") from error
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        raise LeafletError(f"--url {url!r} must be a web address starting with https:// (or http://)")
    if len(url) > MAX_URL_LENGTH:
        raise LeafletError(
            f"--url is {len(url)} characters long; at most {MAX_URL_LENGTH} fit a QR code that reads well from paper"
            " (use a shorter link)"
        )
    return url


class _Cell(NamedTuple):
    x: float
    y: float
    width: float
    height: float


def _cells(paper: tuple[float, float], per_sheet: int) -> tuple[tuple[float, float], list[_Cell]]:
    """The sheet's size and its copies: 1 fills a portrait sheet, 2 are stacked halves of it
    (each a landscape half sheet), 4 are its quarters."""
    width, height = paper
    if per_sheet == 1:
        return paper, [_Cell(0, 0, width, height)]
    if per_sheet == 2:
        return paper, [_Cell(0, 0, width, height / 2), _Cell(0, height / 2, width, height / 2)]
    half_w, half_h = width / 2, height / 2
    return paper, [_Cell(x, y, half_w, half_h) for y in (0, half_h) for x in (0, half_w)]


def leaflet_pdf(book: Book, url: str, paper: str = "a4", per_sheet: int = 4, created: datetime | None = None) -> bytes:
    """The leaflet as PDF bytes: one sheet holding `per_sheet` copies."""
    from fpdf import FPDF

    url = check_url(url)
    if paper not in PAPERS:
        raise LeafletError(f"--paper {paper!r} is not one of {', '.join(PAPERS)}")
    if per_sheet not in PER_SHEET:
        raise LeafletError(f"--per-sheet {per_sheet} is not one of 1, 2, 4")
    _warn_missing_glyphs(book)
    (width, height), cells = _cells(PAPERS[paper], per_sheet)
    pdf = FPDF(unit="mm", format=(width, height))
    pdf.set_auto_page_break(False)
    pdf.set_margins(0, 0, 0)
    pdf.add_font("DejaVu", "", str(DATA / "fonts" / _REGULAR))
    pdf.add_font("DejaVu", "B", str(DATA / "fonts" / _BOLD))
    _shape_text(pdf, book)
    pdf.set_title(book.title)
    if book.authors:
        pdf.set_author(", ".join(book.authors))
    pdf.set_lang(book.language)
    pdf.set_creator("handbill")
    pdf.set_producer("handbill")
    if created is not None:
        pdf.set_creation_date(created)
    pdf.add_page()
    cover = _thumbnail(book.cover.data)
    for cell in cells:
        _draw_copy(pdf, cell, book, url, cover)
    _cut_marks(pdf, width, height, cells)
    return bytes(pdf.output())


def _shape_text(pdf: FPDF, book: Book) -> None:
    """HarfBuzz (uharfbuzz) shapes the text: Arabic letters join, right-to-left lines run right to
    left. Without it, such text would print reversed and unjoined: that is said, not hidden."""
    from fpdf.errors import FPDFException

    try:
        pdf.set_text_shaping(True)
    except FPDFException:
        if any(_needs_shaping(character) for character in book.title + " ".join(book.authors)):
            log.warning("leaflet: uharfbuzz is not installed; right-to-left and joined scripts print unshaped")


def _needs_shaping(character: str) -> bool:
    import unicodedata

    return unicodedata.bidirectional(character) in ("R", "AL") or unicodedata.category(character) == "Mn"


def _thumbnail(data: bytes) -> bytes:
    """The cover at a size that prints sharp at a few centimetres (about 300 dpi), as PNG."""
    from PIL import Image

    with Image.open(io.BytesIO(data)) as opened:
        small = opened.convert("RGB")
    small.thumbnail((400, 600), Image.Resampling.LANCZOS)
    buffer = io.BytesIO()
    small.save(buffer, "PNG", optimize=False)
    return buffer.getvalue()


def _draw_copy(pdf: FPDF, cell: _Cell, book: Book, url: str, cover: bytes) -> None:
    """One copy: text above (or left of) a large QR code, the address under the code."""
    margin = max(6.0, min(cell.width, cell.height) * 0.07)
    inner = _Cell(cell.x + margin, cell.y + margin, cell.width - 2 * margin, cell.height - 2 * margin)
    scale = min(inner.width, inner.height) / 130  # 1 on an A6 copy's shorter side
    url_size = max(6.5, min(11.0, 9 * scale))
    url_height = url_size * 0.3528 * 1.3 * 2  # room for two lines of the address
    if inner.height >= inner.width:  # portrait copy: the code below the text
        side = min(inner.width * 0.8, inner.height * 0.5 - url_height)
        text = _Cell(inner.x, inner.y, inner.width, inner.height - side - url_height - 3 * scale)
        code = _Cell(inner.x + (inner.width - side) / 2, inner.y + inner.height - side - url_height, side, side)
    else:  # landscape copy: the code on the right
        side = min(inner.height - url_height, inner.width * 0.45)
        text = _Cell(inner.x, inner.y, inner.width - side - 6 * scale, inner.height)
        code = _Cell(inner.x + inner.width - side, inner.y + (inner.height - side - url_height) / 2, side, side)
    _draw_text(pdf, text, book, cover, scale)
    _draw_qr(pdf, url, code)
    pdf.set_font("DejaVu", "", url_size)
    pdf.set_text_color(*_INK)
    url_width = max(code.width, min(inner.width, pdf.get_string_width(url) + 2))
    pdf.set_xy(code.x + code.width / 2 - url_width / 2, code.y + code.height + 1)
    from fpdf.enums import WrapMode

    pdf.multi_cell(url_width, url_size * 0.3528 * 1.25, url, align="C", wrapmode=WrapMode.CHAR)


def _draw_text(pdf: FPDF, box: _Cell, book: Book, cover: bytes, scale: float) -> None:
    """Title, authors and date across the box; then the cover with the description beside it."""
    from .languages import display_date

    y = box.y
    title_size = 20 * scale
    pdf.set_text_color(*_INK)
    while True:  # the largest size at which the title takes at most three lines
        pdf.set_font("DejaVu", "B", title_size)
        lines = _lines(pdf, box.width, title_size * 0.3528 * 1.15, book.title)
        if len(lines) <= 3 or title_size <= 9:
            break
        title_size *= 0.9
    align = "R" if book.direction == "rtl" else "L"
    y = _text_block(pdf, box.x, y, box.width, book.title, "B", title_size, max_lines=3, align=align)
    byline = ", ".join(book.authors)
    if byline:
        y = _text_block(pdf, box.x, y + 1.5 * scale, box.width, byline, "", 11 * scale, max_lines=2, align=align)
    shown_date = display_date(book.date, book.language)
    if shown_date:
        y = _text_block(pdf, box.x, y + 0.5 * scale, box.width, shown_date, "", 9.5 * scale, _GREY, max_lines=1)
    y += 3 * scale
    room = box.y + box.height - y
    if room < 12:
        return
    thumb_height = min(room, box.width * 0.45 * 1.5)
    thumb_width = thumb_height / 1.5
    pdf.image(io.BytesIO(cover), x=box.x, y=y, h=thumb_height, keep_aspect_ratio=True, w=thumb_width)
    if book.description:
        size = 9.5 * scale
        line = size * 0.3528 * 1.25
        _text_block(
            pdf,
            box.x + thumb_width + 4 * scale,
            y,
            box.width - thumb_width - 4 * scale,
            book.description,
            "",
            size,
            max_lines=max(1, int(thumb_height / line)),
            align=align,
        )


def _text_block(
    pdf: FPDF,
    x: float,
    y: float,
    width: float,
    text: str,
    style: str,
    size: float,
    colour: tuple[int, int, int] = _INK,
    max_lines: int = 3,
    align: str = "L",
) -> float:
    """Wrapped text, cut to `max_lines` with an ellipsis; returns the y below it."""
    if width < 10:
        return y
    size = max(size, 6.0)
    line_height = size * 0.3528 * 1.25  # points to millimetres, with leading
    pdf.set_font("DejaVu", style, size)
    pdf.set_text_color(*colour)
    text = " ".join(text.split())
    lines = _lines(pdf, width, line_height, text)
    if len(lines) > max_lines:
        kept = lines[:max_lines]
        last = kept[-1].rstrip()
        while last and pdf.get_string_width(last + "\u2026") > width:
            last = last[:-1].rstrip()
        kept[-1] = last + "\u2026"
        text = "\n".join(kept)
        lines = kept
    pdf.set_xy(x, y)
    pdf.multi_cell(width, line_height, text, align=align)
    return y + line_height * len(lines)


def _lines(pdf: FPDF, width: float, line_height: float, text: str) -> list[str]:
    """How the text wraps at the current font, without drawing it."""
    lines = pdf.multi_cell(width, line_height, text, dry_run=True, output="LINES")
    return [str(line) for line in lines] if isinstance(lines, list) else [text]


def _draw_qr(pdf: FPDF, url: str, box: _Cell) -> None:
    """The QR code as filled squares, one rectangle per run of dark modules in a row, with the
    quiet zone of four modules the standard asks for inside the box."""
    import segno

    code = segno.make_qr(url, error="m", boost_error=False)
    matrix = code.matrix
    modules = len(matrix) + 8
    module = box.width / modules
    pdf.set_fill_color(*_INK)
    for row_number, row in enumerate(matrix):
        y = box.y + (row_number + 4) * module
        column = 0
        while column < len(row):
            if not row[column]:
                column += 1
                continue
            start = column
            while column < len(row) and row[column]:
                column += 1
            # A hair wider than the run, so no white seams show between neighbouring rows.
            pdf.rect(box.x + (start + 4) * module, y, (column - start) * module, module + 0.01, style="F")


def _cut_marks(pdf: FPDF, width: float, height: float, cells: list[_Cell]) -> None:
    """Short lines in from the sheet's edges where the copies are to be cut apart, and a small
    cross where cuts meet inside the sheet."""
    pdf.set_draw_color(*_GREY)
    pdf.set_line_width(0.2)
    xs = sorted({cell.x for cell in cells if cell.x > 0})
    ys = sorted({cell.y for cell in cells if cell.y > 0})
    for x in xs:
        pdf.line(x, 0, x, _CUT_MARK)
        pdf.line(x, height - _CUT_MARK, x, height)
    for y in ys:
        pdf.line(0, y, _CUT_MARK, y)
        pdf.line(width - _CUT_MARK, y, width, y)
    for x in xs:
        for y in ys:
            pdf.line(x - _CUT_MARK / 2, y, x + _CUT_MARK / 2, y)
            pdf.line(x, y - _CUT_MARK / 2, x, y + _CUT_MARK / 2)


def _warn_missing_glyphs(book: Book) -> None:
    """DejaVu covers Latin, Greek, Cyrillic, Arabic, Hebrew and more, but no Indic or CJK script:
    such text would print as nothing, so say which characters are missing."""
    from fontTools.ttLib import TTFont

    covered: set[int] = set()
    for name in (_REGULAR, _BOLD):
        with TTFont(str(DATA / "fonts" / name), lazy=True) as font:
            cmap = font.getBestCmap()
            covered = set(cmap) if not covered else covered & set(cmap)
    text = " ".join([book.title, *book.authors, book.description or ""])
    missing = sorted({character for character in text if ord(character) not in covered and character.isprintable()})
    if missing:
        shown = "".join(missing[:12]) + ("..." if len(missing) > 12 else "")
        log.warning(
            "leaflet: the font (DejaVu) has no letters for %d character(s) of the title, authors or description"
            " (%s); they will be missing from the printed leaflet",
            len(missing),
            shown,
        )


def check_pdf_target(target: Path) -> None:
    """The leaflet replaces only an earlier PDF or an empty file, never a folder, a link or
    another file; and it is written into a folder that exists."""
    from .write.epub import check_replaceable

    if not target.parent.is_dir():
        raise OutputError("cannot write the leaflet: its folder does not exist", target.parent)
    check_replaceable(target, "PDF", 5, lambda header: header == b"%PDF-")


def write_leaflet(data: bytes, target: Path) -> Path:
    """Write the PDF beside its final name and move it there once whole."""
    target = Path(target)
    check_pdf_target(target)
    part = target.with_name(f".handbill-{os.getpid()}-leaflet.part")
    try:
        with open(part, "wb") as file:
            file.write(data)
        os.chmod(part, 0o644)
        check_pdf_target(target)
        os.replace(part, target)
    except OSError as error:
        raise OutputError(f"cannot write the leaflet ({error.strerror or error})", target) from error
    finally:
        if part.exists():
            part.unlink()
    return target

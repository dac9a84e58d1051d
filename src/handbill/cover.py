"""The cover image: the book's own, checked and sized for every store, or one drawn from its metadata."""

from __future__ import annotations

import functools
import io
import struct
import zlib
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple

from . import DATA
from .errors import CoverError

if TYPE_CHECKING:  # Pillow is imported where a cover is made: a build needs it only at the end
    from PIL import ImageDraw, ImageFont

WIDTH, HEIGHT = 1600, 2400
MAX_PIXELS = 4_000_000
MAX_BYTES = 2_000_000
BACKGROUND = (179, 18, 27)
INK = (255, 255, 255)
SHADE = (120, 8, 14)
_MARGIN = 130

# The cover is drawn in one 8-bit channel whose values index a palette of two ramps, background
# to ink (0-127) and shade to ink (128-255). Anti-aliased text then blends along a ramp, and the
# image takes a quarter of an RGB one's memory and stores as a small, sharp indexed PNG.
_ON_BACKGROUND, _SHADE_LEVEL, _ON_SHADE = 127, 128, 255
_PALETTE = [
    round(start + (INK[channel] - start) * step / 127)
    for base in (BACKGROUND, SHADE)
    for step in range(128)
    for channel, start in enumerate(base)
]


class CoverImage(NamedTuple):
    data: bytes
    media_type: str
    extension: str
    width: int
    height: int


def _font(name: str, size: int) -> ImageFont.FreeTypeFont:
    from PIL import ImageFont

    return ImageFont.truetype(str(DATA / "fonts" / name), size)


def draw_cover(title: str, authors: Sequence[str], date: str | None = None, subtitle: str | None = None) -> CoverImage:
    """A pamphlet-like cover: a bold title on a strong colour, legible as a phone thumbnail.

    Deterministic: the same metadata always gives the same bytes.
    """
    return _drawn(title, tuple(authors), date, subtitle)


@functools.lru_cache(maxsize=4)  # watch mode rebuilds the same book again and again
def _drawn(title: str, authors: tuple[str, ...], date: str | None, subtitle: str | None) -> CoverImage:
    from PIL import Image, ImageDraw

    image = Image.new("L", (WIDTH, HEIGHT), 0)
    draw = ImageDraw.Draw(image)
    width = WIDTH - 2 * _MARGIN

    # A band at the top carrying the authors, like a party's masthead.
    band = 330
    draw.rectangle((0, 0, WIDTH, band), fill=_SHADE_LEVEL)
    byline = ", ".join(author for author in authors if author.strip())
    if byline:
        font, lines = _fit(draw, byline, "DejaVuSansCondensed-Bold.ttf", width, 200, 2, start=96)
        _draw_lines(draw, lines, font, top=(band - _block_height(draw, lines, font)) // 2, ink=_ON_SHADE)

    # The title, as large as fits the middle of the page, with typographic apostrophes.
    title = title.replace("'", "\u2019")
    title_top, title_bottom = band + 130, HEIGHT - 500
    font, lines = _fit(draw, title, "DejaVuSansCondensed-Bold.ttf", width, title_bottom - title_top, 9, start=290)
    _draw_lines(draw, lines, font, top=title_top, spacing=1.08)
    bottom = title_top + _block_height(draw, lines, font, 1.08)

    if subtitle:
        sub_font, sub_lines = _fit(draw, subtitle, "DejaVuSans.ttf", width, 260, 3, start=80)
        _draw_lines(draw, sub_lines, sub_font, top=bottom + 70)

    # A thick rule and the date at the foot.
    draw.rectangle((_MARGIN, HEIGHT - 420, WIDTH - _MARGIN, HEIGHT - 400), fill=_ON_BACKGROUND)
    if date:
        date_font, date_lines = _fit(draw, date, "DejaVuSans.ttf", width, 200, 2, start=110)
        _draw_lines(draw, date_lines, date_font, top=HEIGHT - 330)

    image.putpalette(_PALETTE)
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return CoverImage(buffer.getvalue(), "image/png", "png", WIDTH, HEIGHT)


def _fit(
    draw: ImageDraw.ImageDraw, text: str, font_name: str, width: int, height: int, max_lines: int, start: int
) -> tuple[ImageFont.FreeTypeFont, list[str]]:
    """The largest font size (from `start` down) at which the text wraps into the box."""
    text = " ".join(text.split())
    size = start
    while True:
        font = _font(font_name, size)
        lines = _wrap(draw, text, font, width)
        if (len(lines) <= max_lines and _block_height(draw, lines, font) <= height) or size <= 24:
            return font, lines[:max_lines] if size > 24 else lines[: max(max_lines, 1)]
        size = int(size * 0.92)


def _wrap(draw: ImageDraw.ImageDraw, text: str, font: ImageFont.FreeTypeFont, width: int) -> list[str]:
    lines: list[str] = []
    current = ""
    for word in text.split(" "):
        while draw.textlength(word, font=font) > width and len(word) > 1:
            # A word longer than the line: break it where it overflows.
            cut = len(word)
            while cut > 1 and draw.textlength(word[:cut], font=font) > width:
                cut -= 1
            if current:
                lines.append(current)
                current = ""
            lines.append(word[:cut])
            word = word[cut:]
        candidate = f"{current} {word}".strip()
        if draw.textlength(candidate, font=font) <= width:
            current = candidate
        else:
            lines.append(current)
            current = word
    if current:
        lines.append(current)
    return lines or [""]


def _block_height(
    draw: ImageDraw.ImageDraw, lines: list[str], font: ImageFont.FreeTypeFont, spacing: float = 1.15
) -> int:
    return int(font.size * spacing * len(lines))


def _draw_lines(
    draw: ImageDraw.ImageDraw,
    lines: list[str],
    font: ImageFont.FreeTypeFont,
    top: int,
    spacing: float = 1.15,
    ink: int = _ON_BACKGROUND,
) -> None:
    for number, line in enumerate(lines):
        draw.text((_MARGIN, top + int(number * font.size * spacing)), line, font=font, fill=ink)


def load_cover(path: Path) -> CoverImage:
    """The book's own cover: any image Pillow reads, as JPEG or PNG no larger than stores accept."""
    path = Path(path)
    if not path.is_file():
        raise CoverError("cover image does not exist", path)
    data = path.read_bytes()
    ready = _ready_as_it_is(data)
    if ready is not None:
        return ready
    from PIL import Image, ImageOps, UnidentifiedImageError

    Image.MAX_IMAGE_PIXELS = 60_000_000
    try:
        with Image.open(io.BytesIO(data)) as probe:
            kind = probe.format
            probe.verify()
        image: Image.Image = Image.open(io.BytesIO(data))
        image.load()
    except (UnidentifiedImageError, Image.DecompressionBombError, OSError, SyntaxError, ValueError) as error:
        raise CoverError(f"not an image handbill can read ({type(error).__name__})", path) from error

    pixels = image.width * image.height
    has_alpha = image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info
    if kind in ("JPEG", "PNG") and pixels <= MAX_PIXELS and len(data) <= MAX_BYTES and not has_alpha:
        if image.mode in ("RGB", "L", "P"):
            return CoverImage(data, f"image/{kind.lower()}", "jpg" if kind == "JPEG" else "png", *image.size)

    image = ImageOps.exif_transpose(image)
    if has_alpha:
        # Apple Books turns transparent areas black in night mode: flatten onto white.
        rgba = image.convert("RGBA")
        flat = Image.new("RGB", rgba.size, (255, 255, 255))
        flat.paste(rgba, mask=rgba.getchannel("A"))
        image = flat
    else:
        image = image.convert("RGB")
    if image.width * image.height > MAX_PIXELS:
        scale = (MAX_PIXELS / (image.width * image.height)) ** 0.5
        image = image.resize(
            (max(1, int(image.width * scale)), max(1, int(image.height * scale))), Image.Resampling.LANCZOS
        )
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=88)
    return CoverImage(buffer.getvalue(), "image/jpeg", "jpg", image.width, image.height)


def _ready_as_it_is(data: bytes) -> CoverImage | None:
    """A cover that is whole and can go into the book unchanged, read from its own structure
    (Pillow takes 40 ms to load and decode one); None when Pillow must look at it."""
    if len(data) > MAX_BYTES:
        return None
    if data.startswith(_PNG_SIGNATURE):
        size = _plain_png_size(data)
        kind = ("image/png", "png")
    elif data.startswith(b"\xff\xd8"):
        size = _plain_jpeg_size(data)
        kind = ("image/jpeg", "jpg")
    else:
        return None
    if size is None or not 0 < size[0] * size[1] <= MAX_PIXELS:
        return None
    return CoverImage(data, *kind, *size)


_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def _plain_png_size(data: bytes) -> tuple[int, int] | None:
    """Width and height of a PNG whose every chunk is intact (CRC), with 8-bit grey, RGB or
    palette pixels and no transparency; else None."""
    position, size, chunks = len(_PNG_SIGNATURE), None, []
    while position + 12 <= len(data):
        (length,) = struct.unpack(">I", data[position : position + 4])
        end = position + 12 + length
        kind, body = data[position + 4 : position + 8], data[position + 8 : end - 4]
        if end > len(data) or struct.unpack(">I", data[end - 4 : end])[0] != zlib.crc32(kind + body):
            return None
        chunks.append(kind)
        if kind == b"IHDR" and length == 13:
            width, height, depth, colour = struct.unpack(">IIBB", body[:10])
            if (depth, colour) in ((8, 0), (8, 2), (8, 3), (4, 3), (2, 3), (1, 3)):
                size = (width, height)
        if kind == b"IEND":
            return size if chunks[0] == b"IHDR" and b"tRNS" not in chunks and end == len(data) else None
        position = end
    return None


_JPEG_FRAMES = {0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF}


def _plain_jpeg_size(data: bytes) -> tuple[int, int] | None:
    """Width and height of a JPEG with grey or colour (not CMYK) pixels that ends where a JPEG
    ends; else None."""
    if not data.rstrip(b"\x00").endswith(b"\xff\xd9"):
        return None  # cut short
    position = 2
    while position + 4 <= len(data) and data[position] == 0xFF:
        marker = data[position + 1]
        (length,) = struct.unpack(">H", data[position + 2 : position + 4])
        if marker in _JPEG_FRAMES and position + 10 <= len(data):
            height, width, components = struct.unpack(">HHB", data[position + 5 : position + 10])
            return (width, height) if components in (1, 3) else None
        position += 2 + length
    return None

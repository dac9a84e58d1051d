"""The cover image: the book's own, checked and sized for every store, or one drawn from its metadata."""

from __future__ import annotations

import functools
import io
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from . import DATA
from .errors import CoverError
from .images import BadImage, plain_png
from .model import CoverImage
from .names import PNG_SIGNATURE
from .sources import read_limited

if TYPE_CHECKING:  # Pillow is imported where a cover is made: a build needs it only at the end
    from PIL import ImageDraw, ImageFont

WIDTH, HEIGHT = 1600, 2400
MAX_PIXELS = 4_000_000
MAX_BYTES = 2_000_000
BACKGROUND = (179, 18, 27)
INK = (255, 255, 255)
SHADE = (120, 8, 14)
_MARGIN = 130
_SMALLEST = 24
"""The smallest font size a cover text is drawn in; what does not fit then is cut short."""

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
    """The largest font size (from `start` down) at which the text wraps into the box; at the
    smallest size, as much of the text as fits, ending in an ellipsis."""
    text = " ".join(text.split())
    size = start
    while True:
        font = _font(font_name, size)
        lines, complete = _wrap(draw, text, font, width, max_lines)
        if complete and _block_height(draw, lines, font) <= height:
            return font, lines
        if size <= _SMALLEST:
            if not complete:
                lines[-1] = lines[-1][: _fitting_prefix(draw, "", lines[-1], font, width, after="\u2026")] + "\u2026"
            return font, lines
        size = max(_SMALLEST, int(size * 0.92))


def _wrap(
    draw: ImageDraw.ImageDraw, text: str, font: ImageFont.FreeTypeFont, width: int, max_lines: int
) -> tuple[list[str], bool]:
    """Up to `max_lines` lines of at most `width`, and whether they hold all of the text.

    Words longer than a line are broken where they overflow. Each measurement is of one line
    at most, and wrapping stops at `max_lines`: the cost stays linear in what is drawn, however
    long the text (a 1,000-letter word took 54 s when every prefix of it was measured)."""
    lines: list[str] = []
    current = ""
    for word in text.split(" "):
        while word:
            before = f"{current} " if current else ""
            fits = _fitting_prefix(draw, before, word, font, width)
            if fits == len(word):
                current = before + word
                break
            if len(lines) + 1 >= max_lines:
                lines.append(current or word[: max(fits, 1)])
                return lines, False
            if current:
                lines.append(current)  # the word goes on the next line, broken there if need be
                current = ""
                continue
            fits = max(fits, 1)
            lines.append(word[:fits])
            word = word[fits:]
    if current or not lines:
        lines.append(current)
    return lines, True


def _fitting_prefix(
    draw: ImageDraw.ImageDraw, before: str, word: str, font: ImageFont.FreeTypeFont, width: int, after: str = ""
) -> int:
    """How many characters of `word` fit on a line after `before` (and before `after`).

    Galloping, then halving: the longest text measured is about twice what fits."""

    def fits(count: int) -> bool:
        return draw.textlength(before + word[:count] + after, font=font) <= width

    if len(word) <= 64 and fits(len(word)):
        return len(word)
    low, high = 0, 1
    while high < len(word) and fits(high):
        low, high = high, high * 2
    high = min(high, len(word))
    if high == len(word) and fits(high):
        return high
    while high - low > 1:  # fits(low), not fits(high)
        middle = (low + high) // 2
        if fits(middle):
            low = middle
        else:
            high = middle
    return low


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
    """The book's own cover: any image Pillow reads whole, as JPEG or PNG no larger than stores accept."""
    path = Path(path)
    if not path.is_file():
        raise CoverError("cover image does not exist", path)
    data = read_limited(path, what="a cover image may be")
    try:
        ready = _ready_as_it_is(data)
        if ready is not None:
            return ready
        from PIL import Image, ImageOps

        from .images import decoded_image

        image = decoded_image(data)
    except BadImage as error:
        raise CoverError(f"not an image handbill can use: {error}", path) from error

    kind = image.format
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
    """A PNG cover that is whole and can go into the book unchanged, checked without Pillow
    (which takes 40 ms to load); None when Pillow must look at it, BadImage when it is damaged."""
    if not data.startswith(PNG_SIGNATURE):
        return None
    png = plain_png(data)
    if png is None or len(data) > MAX_BYTES or png.width * png.height > MAX_PIXELS or png.transparency:
        return None
    if png.colour not in (0, 2, 3) or (png.depth != 8 and png.colour != 3):
        return None  # 16-bit, or with an alpha channel: converted
    return CoverImage(data, "image/png", "png", png.width, png.height)

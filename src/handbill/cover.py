"""The cover image: the book's own, checked and sized for every store, or one drawn from its metadata."""

from __future__ import annotations

import functools
import io
import logging
import unicodedata
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
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

    from .fonts import Face

log = logging.getLogger(__name__)

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
    from .fonts import Face  # font coverage and script data are loaded only when a cover is drawn

    return _face_font(Face(DATA / "fonts" / name), size)


@functools.lru_cache(maxsize=64)
def _face_font(face: Face, size: int) -> ImageFont.FreeTypeFont:
    from PIL import ImageFont

    font = ImageFont.truetype(str(face.path), size, index=face.index)
    if face.weight is not None:
        font.set_variation_by_axes([face.weight])
    return font


@functools.cache
def _has_complex_layout() -> bool:
    """Whether Pillow shapes text (libraqm with FriBiDi): Arabic letters join, Indic clusters form,
    right-to-left runs are ordered. Pillow's wheels carry raqm but load FriBiDi from the system."""
    from PIL import features

    return bool(features.check("raqm"))


@dataclass(frozen=True)
class _Plan:
    """Which face draws each character of one block of cover text (title, byline, subtitle, date)."""

    text: str
    """The text as drawn: the characters no font has are left out."""
    faces: dict[str, Face]
    primary: Face
    right_to_left: bool
    missing: tuple[tuple[str, str], ...]
    """(script name, characters) that no font here has."""

    @property
    def plain(self) -> bool:
        """One DejaVu face draws it all: drawn exactly as covers always were."""
        return self.primary.path.parent == DATA / "fonts" and set(self.faces.values()) <= {self.primary}


@functools.lru_cache(maxsize=32)
def _plan(text: str, style: str, language: str | None) -> _Plan:
    from .fonts import (
        COMMON_SCRIPTS,
        DEJAVU,
        Face,
        coverage,
        is_ignorable,
        is_right_to_left,
        last_resort_faces,
        packaged_faces,
        script,
        script_name,
        scripts_of,
        system_face,
    )

    found = scripts_of(text)
    chain: list[Face] = []
    for code, _ in found.most_common():
        chain += packaged_faces(code, style, language, text)
    chain += packaged_faces("Latn", style) + last_resort_faces(style)
    chain = list(dict.fromkeys(chain))

    faces: dict[str, Face] = {}
    missing: dict[str, list[str]] = {}
    asked = 0
    for character in dict.fromkeys(text):
        code = script(character)
        own = packaged_faces(code, style, language, text) if code not in COMMON_SCRIPTS else []
        face = next((face for face in own + chain if ord(character) in coverage(face)), None)
        if face is None and not is_ignorable(character) and asked < _SYSTEM_LOOKUPS:
            asked += 1  # each look-up runs fc-list: a long title in a script without a font stays fast
            face = system_face(character)
            if face is not None:
                chain.append(face)  # the next characters of its script are found in it first
        if face is not None:
            faces[character] = face
        elif not is_ignorable(character):
            missing.setdefault(script_name(code) if code != "Zzzz" else "unassigned", []).append(character)

    first_strong = next((code for code in map(script, text) if code not in COMMON_SCRIPTS), "Latn")
    counted = Counter(faces[character] for character in text if character in faces and script(character) in found)
    primary = counted.most_common(1)[0][0] if counted else (chain[0] if chain else Face(DATA / "fonts" / DEJAVU[style]))
    drawn = "".join(character for character in text if character in faces or is_ignorable(character))
    return _Plan(
        drawn,
        faces,
        primary,
        is_right_to_left(first_strong),
        tuple((name, "".join(characters)) for name, characters in sorted(missing.items())),
    )


_SYSTEM_LOOKUPS = 8
"""How many characters of one block may be looked up among the system's fonts."""


class _Lettering:
    """A block of cover text at one size: each character in a face that has it, runs of one face
    laid side by side on one baseline, right-aligned for a right-to-left script."""

    def __init__(self, plan: _Plan, size: int):
        self.plan = plan
        self.size = size
        self.font = _face_font(plan.primary, size)

    def leading(self, spacing: float) -> float:
        """Scripts with tall marks above and below (Indic, Arabic, CJK) need more room between lines."""
        return spacing if self.plan.plain else max(spacing, 1.4)

    def runs(self, line: str) -> list[tuple[str, Face]]:
        """The line cut where the face changes; digits, punctuation and marks stay with the run they
        are in. In a right-to-left line each space is a run of its own, so that the runs, laid
        from the right, keep the spaces between them."""
        from .fonts import COMMON_SCRIPTS, coverage, is_ignorable, script

        runs: list[tuple[str, Face]] = []
        for character in line:
            current = runs[-1][1] if runs else None
            face = self.plan.faces.get(character)
            if current is not None and (
                is_ignorable(character) or (script(character) in COMMON_SCRIPTS and ord(character) in coverage(current))
            ):
                face = current
            face = face or current or self.plan.primary
            alone = self.plan.right_to_left and (character == " " or runs[-1][0] == " " if runs else False)
            if runs and face == current and not alone:
                runs[-1] = (runs[-1][0] + character, face)
            else:
                runs.append((character, face))
        return runs

    def length(self, draw: ImageDraw.ImageDraw, line: str) -> float:
        if self.plan.plain:
            return draw.textlength(line, font=self.font)
        return sum(
            draw.textlength(self._shown(text), font=_face_font(face, self.size), direction=self._direction)
            for text, face in self.runs(line)
        )

    def draw(self, draw: ImageDraw.ImageDraw, top: int, line: str, ink: int) -> None:
        if self.plan.plain:
            draw.text((_MARGIN, top), line, font=self.font, fill=ink)
            return
        runs = [(self._shown(text), _face_font(face, self.size)) for text, face in self.runs(line)]
        widths = [draw.textlength(text, font=font, direction=self._direction) for text, font in runs]
        if self.plan.right_to_left:
            x = WIDTH - _MARGIN - sum(widths)
            runs, widths = runs[::-1], widths[::-1]
        else:
            x = _MARGIN
        baseline = top + self.font.getmetrics()[0]
        for (text, font), width in zip(runs, widths, strict=True):
            draw.text((x, baseline), text, font=font, fill=ink, anchor="ls", direction=self._direction)
            x += width

    @property
    def _direction(self) -> str | None:
        """The paragraph's direction, for the runs that raqm lays out (digits in an RTL run stay LTR)."""
        if not _has_complex_layout():
            return None
        return "rtl" if self.plan.right_to_left else "ltr"

    def _shown(self, text: str) -> str:
        """Without complex layout, a right-to-left run is at least put in reading order."""
        from .fonts import is_right_to_left, script

        if _has_complex_layout() or not any(is_right_to_left(script(character)) for character in text):
            return text
        return text[::-1]


def draw_cover(
    title: str,
    authors: Sequence[str],
    date: str | None = None,
    subtitle: str | None = None,
    language: str | None = None,
) -> CoverImage:
    """A pamphlet-like cover: a bold title on a strong colour, legible as a phone thumbnail.

    Each character is drawn in a font that has it, chosen by its script (and, for Han, by the
    book's language). Deterministic: the same metadata always gives the same bytes.
    """
    blocks = {
        "title": (_title_text(title), "bold"),
        "authors": (_byline(authors), "bold"),
        "subtitle": (subtitle or "", "regular"),
        "date": (date or "", "regular"),
    }
    _warn_of_what_cannot_be_drawn(
        {what: _plan(" ".join(text.split()), style, language) for what, (text, style) in blocks.items() if text}
    )
    return _drawn(title, tuple(authors), date, subtitle, language)


def _title_text(title: str) -> str:
    return title.replace("'", "\u2019")  # typographic apostrophes


def _byline(authors: Sequence[str]) -> str:
    return ", ".join(author for author in authors if author.strip())


def _warn_of_what_cannot_be_drawn(plans: dict[str, _Plan]) -> None:
    from .fonts import CJK_SCRIPTS, cjk_collection, scripts_of

    for what, plan in plans.items():
        for name, characters in plan.missing:
            hint = "install a font that has them, or give the book a cover image"
            if cjk_collection() is None and set(scripts_of(characters)) & CJK_SCRIPTS:
                hint = "install handbill[cjk] (Noto Sans CJK) or a system CJK font, or give the book a cover image"
            log.warning(
                "the drawn cover has no font for the %s letters of the %s (%s), so it leaves them out: %s",
                name,
                what,
                characters[:20],
                hint,
            )
    if not _has_complex_layout():
        present = {code for plan in plans.values() for code in scripts_of(plan.text)}
        if present & _SHAPED_SCRIPTS:
            log.warning(
                "Pillow here has no complex text layout (libraqm with FriBiDi), so the drawn cover's %s letters are "
                "not joined or shaped: install FriBiDi (Debian: libfribidi0), or give the book a cover image",
                "/".join(sorted(present & _SHAPED_SCRIPTS)),
            )


_SHAPED_SCRIPTS = frozenset(
    "Arab Hebr Syrc Thaa Nkoo Deva Beng Guru Gujr Orya Taml Telu Knda Mlym Sinh Tibt Mymr Khmr Thai Laoo".split()
)
"""Scripts whose letters join, reorder or stack: without shaping they are drawn wrong."""


@functools.lru_cache(maxsize=4)  # watch mode rebuilds the same book again and again
def _drawn(
    title: str, authors: tuple[str, ...], date: str | None, subtitle: str | None, language: str | None
) -> CoverImage:
    from PIL import Image, ImageDraw

    image = Image.new("L", (WIDTH, HEIGHT), 0)
    draw = ImageDraw.Draw(image)
    width = WIDTH - 2 * _MARGIN

    # A band at the top carrying the authors, like a party's masthead.
    band = 330
    draw.rectangle((0, 0, WIDTH, band), fill=_SHADE_LEVEL)
    byline = _byline(authors)
    if byline:
        font, lines = _fit(draw, byline, "bold", width, 200, 2, start=96, language=language)
        _draw_lines(draw, lines, font, top=(band - _block_height(draw, lines, font)) // 2, ink=_ON_SHADE)

    # The title, as large as fits the middle of the page.
    title_top, title_bottom = band + 130, HEIGHT - 500
    font, lines = _fit(
        draw, _title_text(title), "bold", width, title_bottom - title_top, 9, start=290, language=language
    )
    _draw_lines(draw, lines, font, top=title_top, spacing=1.08)
    bottom = title_top + _block_height(draw, lines, font, 1.08)

    if subtitle:
        sub_font, sub_lines = _fit(draw, subtitle, "regular", width, 260, 3, start=80, language=language)
        _draw_lines(draw, sub_lines, sub_font, top=bottom + 70)

    # A thick rule and the date at the foot.
    draw.rectangle((_MARGIN, HEIGHT - 420, WIDTH - _MARGIN, HEIGHT - 400), fill=_ON_BACKGROUND)
    if date:
        date_font, date_lines = _fit(draw, date, "regular", width, 200, 2, start=110, language=language)
        _draw_lines(draw, date_lines, date_font, top=HEIGHT - 330)

    image.putpalette(_PALETTE)
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return CoverImage(buffer.getvalue(), "image/png", "png", WIDTH, HEIGHT)


def _fit(
    draw: ImageDraw.ImageDraw,
    text: str,
    style: str,
    width: int,
    height: int,
    max_lines: int,
    start: int,
    language: str | None = None,
) -> tuple[_Lettering, list[str]]:
    """The largest font size (from `start` down) at which the text wraps into the box; at the
    smallest size, as much of the text as fits, ending in an ellipsis."""
    plan = _plan(" ".join(text.split()), style, language)
    text = " ".join(plan.text.split())
    # First without breaking a word (down to a third of the starting size), then breaking the
    # words too long for a line, down to the smallest size.
    size = start
    while size >= max(_SMALLEST, start // 3):
        font = _Lettering(plan, size)
        lines, complete, broken = _wrap(draw, text, font, width, max_lines)
        if complete and not broken and _block_height(draw, lines, font) <= height:
            return font, lines
        size = int(size * 0.92)
    size = start
    while True:
        font = _Lettering(plan, size)
        lines, complete, _ = _wrap(draw, text, font, width, max_lines)
        if complete and _block_height(draw, lines, font) <= height:
            return font, lines
        if size <= _SMALLEST:
            if not complete:
                cut = _fitting_prefix(draw, "", lines[-1], font, width, after="\u2026")
                lines[-1] = lines[-1][: _cluster_boundary(lines[-1], cut, forward=False)] + "\u2026"
            return font, lines
        size = max(_SMALLEST, int(size * 0.92))


def _wrap(
    draw: ImageDraw.ImageDraw, text: str, font: _Lettering, width: int, max_lines: int
) -> tuple[list[str], bool, bool]:
    """Up to `max_lines` lines of at most `width`, whether they hold all of the text, and whether
    a word of a script that spaces its words had to be broken.

    Words longer than a line are broken where they overflow, between clusters (a letter stays
    with its marks, a conjunct whole); Chinese and Japanese break between any two characters.
    Each measurement is of one line at most, and wrapping stops at `max_lines`: the cost stays
    linear in what is drawn, however long the text (a 1,000-letter word took 54 s when every
    prefix of it was measured)."""
    lines: list[str] = []
    current = ""
    broken = False
    for word in text.split(" "):
        while word:
            before = f"{current} " if current else ""
            fits = _fitting_prefix(draw, before, word, font, width)
            if fits == len(word):
                current = before + word
                break
            if len(lines) + 1 >= max_lines:
                lines.append(current or word[: _cluster_boundary(word, max(fits, 1))])
                return lines, False, broken
            if current:
                lines.append(current)  # the word goes on the next line, broken there if need be
                current = ""
                continue
            fits = _cluster_boundary(word, max(fits, 1))
            broken = broken or not _breaks_anywhere(word)
            lines.append(word[:fits])
            word = word[fits:]
    if current or not lines:
        lines.append(current)
    return lines, True, broken


def _joins(text: str, index: int) -> bool:
    """Whether text[index] must stay on the line of text[index - 1]: a mark, a joiner, or the
    letter after a virama (a Devanagari or Sinhala conjunct)."""
    character, previous = text[index], text[index - 1]
    return (
        unicodedata.category(character) in ("Mn", "Mc", "Me")
        or character in "\u200c\u200d"
        or previous == "\u200d"
        or unicodedata.combining(previous) == 9
    )


def _cluster_boundary(text: str, index: int, forward: bool = True) -> int:
    """The nearest break at or before `index` that splits no cluster; after it if none is before."""
    place = index
    while 0 < place < len(text) and _joins(text, place):
        place -= 1
    if place == 0 and forward:
        place = index
        while place < len(text) and _joins(text, place):
            place += 1
    return place


def _breaks_anywhere(word: str) -> bool:
    """Scripts written without spaces between words break a line between any two characters."""
    from .fonts import script

    return any(script(character) in _UNSPACED_SCRIPTS for character in word)


_UNSPACED_SCRIPTS = frozenset({"Hani", "Hira", "Kana", "Bopo", "Thai", "Laoo", "Khmr", "Mymr"})


def _fitting_prefix(
    draw: ImageDraw.ImageDraw, before: str, word: str, font: _Lettering, width: int, after: str = ""
) -> int:
    """How many characters of `word` fit on a line after `before` (and before `after`).

    Galloping, then halving: the longest text measured is about twice what fits."""

    def fits(count: int) -> bool:
        return font.length(draw, before + word[:count] + after) <= width

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


def _block_height(draw: ImageDraw.ImageDraw, lines: list[str], font: _Lettering, spacing: float = 1.15) -> int:
    return int(font.size * font.leading(spacing) * len(lines))


def _draw_lines(
    draw: ImageDraw.ImageDraw,
    lines: list[str],
    font: _Lettering,
    top: int,
    spacing: float = 1.15,
    ink: int = _ON_BACKGROUND,
) -> None:
    for number, line in enumerate(lines):
        font.draw(draw, top + int(number * font.size * font.leading(spacing)), line, ink)


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

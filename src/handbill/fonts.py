"""Fonts that have the letters: which face draws each script, for the drawn cover and for the
fonts a book may embed.

Faces come from handbill's own DejaVu (Latin, Greek, Cyrillic: the cover's look), then the Noto
fonts of the `manimgx-fonts` package (every other script of the languages handbill is published
in), then Noto Sans CJK (`manimgx-fonts-cjk`, the `cjk` extra: 20 MB, so optional), and last any
font fontconfig finds on this machine. Coverage is read from each font's cmap with fontTools, and
a character's script from Unicode's Scripts.txt (fontTools.unicodedata); both load lazily.
"""

from __future__ import annotations

import functools
import importlib.util
import logging
import unicodedata
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from . import DATA

log = logging.getLogger(__name__)

COMMON_SCRIPTS = frozenset({"Zyyy", "Zinh", "Zzzz"})
"""Common (spaces, digits, punctuation), Inherited (combining marks), Unknown: no script of their own."""

CJK_SCRIPTS = frozenset({"Hani", "Hira", "Kana", "Hang", "Bopo"})


@dataclass(frozen=True)
class Face:
    """One font face: a file, its index in a collection, and the weight a variable font is set to."""

    path: Path
    index: int = 0
    weight: int | None = None
    """The `wght` axis value for a variable font; None for a static one."""

    @property
    def name(self) -> str:
        return self.path.name if not self.index else f"{self.path.name}#{self.index}"


def script(character: str) -> str:
    """The ISO 15924 code of a character's Unicode script ("Latn", "Taml", "Zyyy" for common)."""
    from fontTools import unicodedata as unicode_scripts

    return unicode_scripts.script(character)


def script_name(code: str) -> str:
    from fontTools import unicodedata as unicode_scripts

    return unicode_scripts.script_name(code, default=code)


def is_right_to_left(code: str) -> bool:
    from fontTools import unicodedata as unicode_scripts

    return unicode_scripts.script_horizontal_direction(code, default="LTR") == "RTL"


def scripts_of(text: str) -> Counter[str]:
    """How many letters of each script the text has (common characters not counted)."""
    return Counter(code for code in map(script, text) if code not in COMMON_SCRIPTS)


def is_ignorable(character: str) -> bool:
    """Characters that draw nothing by themselves (joiners, marks, format characters, spaces):
    they go with the run around them and are never reported missing."""
    return unicodedata.category(character) in ("Mn", "Me", "Cf", "Zs", "Zl", "Zp", "Cc")


@functools.lru_cache(maxsize=64)
def coverage(face: Face) -> frozenset[int]:
    """The code points a face has glyphs for."""
    from fontTools.ttLib import TTFont

    with TTFont(face.path, fontNumber=face.index, lazy=True) as font:
        return frozenset(font.getBestCmap() or ())


# Where each script's face is: the file in the Noto package, or the CJK collection.
_NOTO_FILES = {
    "Arab": "NotoSansArabic[wght].ttf",
    "Armn": "NotoSansArmenian[wght].ttf",
    "Beng": "NotoSansBengali[wght].ttf",
    "Deva": "NotoSansDevanagari[wght].ttf",
    "Ethi": "NotoSansEthiopic[wght].ttf",
    "Geor": "NotoSansGeorgian[wght].ttf",
    "Gujr": "NotoSansGujarati[wght].ttf",
    "Guru": "NotoSansGurmukhi[wght].ttf",
    "Hebr": "NotoSansHebrew[wght].ttf",
    "Khmr": "NotoSansKhmer[wght].ttf",
    "Knda": "NotoSansKannada[wght].ttf",
    "Laoo": "NotoSansLao[wght].ttf",
    "Mlym": "NotoSansMalayalam[wght].ttf",
    "Mymr": "NotoSansMyanmar[wght].ttf",
    "Orya": "NotoSansOriya[wght].ttf",
    "Sinh": "NotoSansSinhala[wght].ttf",
    "Taml": "NotoSansTamil[wght].ttf",
    "Telu": "NotoSansTelugu[wght].ttf",
    "Thai": "NotoSansThai[wght].ttf",
}
_NOTO_LATIN = "NotoSans[wght].ttf"
_NOTO_LAST = ("NotoSansSymbols[wght].ttf", "NotoEmoji[wght].ttf")
_CJK_FILE = "NotoSansCJK-VF.otf.ttc"
_CJK_INDEX = {"ja": 0, "ko": 1, "zh-hans": 2, "zh-hant": 3, "zh-hk": 4}
"""The faces of the Noto Sans CJK collection: Japanese, Korean, Simplified, Traditional, Hong Kong."""

DEJAVU = {"bold": "DejaVuSansCondensed-Bold.ttf", "regular": "DejaVuSans.ttf"}
_WEIGHTS = {"bold": 700, "regular": 400}


def _package_folder(name: str) -> Path | None:
    spec = importlib.util.find_spec(name)
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations)))


@functools.cache
def noto_folder() -> Path | None:
    """Where `manimgx-fonts` installed the Noto fonts (a dependency of handbill), or None."""
    return _package_folder("manimgx_fonts")


@functools.cache
def cjk_collection() -> Path | None:
    """Noto Sans CJK, from the optional `manimgx-fonts-cjk` package, or None."""
    folder = _package_folder("manimgx_fonts_cjk")
    return folder / _CJK_FILE if folder is not None and (folder / _CJK_FILE).is_file() else None


def cjk_index(language: str | None, text: str) -> int:
    """Which face of the CJK collection suits the book: its language, else its kana or hangul."""
    tag = (language or "").lower().replace("_", "-")
    primary = tag.split("-")[0]
    if primary in ("ja", "ko"):
        return _CJK_INDEX[primary]
    if primary in ("zh", "yue"):
        if any(part in ("hk", "mo") for part in tag.split("-")[1:]) or primary == "yue":
            return _CJK_INDEX["zh-hk"]
        if any(part in ("hant", "tw") for part in tag.split("-")[1:]):
            return _CJK_INDEX["zh-hant"]
        return _CJK_INDEX["zh-hans"]
    found = scripts_of(text)
    if found["Hira"] or found["Kana"]:
        return _CJK_INDEX["ja"]
    if found["Hang"]:
        return _CJK_INDEX["ko"]
    return _CJK_INDEX["zh-hans"]


def packaged_faces(code: str, style: str, language: str | None = None, text: str = "") -> list[Face]:
    """The faces handbill brings for a script, best first (none for a script it has no font for)."""
    weight = _WEIGHTS[style]
    noto = noto_folder()
    faces: list[Face] = []
    if code in ("Latn", "Grek", "Cyrl", "Zyyy", "Zinh"):
        faces.append(Face(DATA / "fonts" / DEJAVU[style]))
        if noto is not None:
            faces.append(Face(noto / _NOTO_LATIN, weight=weight))
    elif code in CJK_SCRIPTS:
        collection = cjk_collection()
        if collection is not None:
            faces.append(Face(collection, cjk_index(language, text), weight=weight))
    elif code in _NOTO_FILES and noto is not None:
        faces.append(Face(noto / _NOTO_FILES[code], weight=weight))
    return [face for face in faces if face.path.is_file()]


def last_resort_faces(style: str) -> list[Face]:
    """Faces tried for characters no script face has: symbols and emoji."""
    noto = noto_folder()
    if noto is None:
        return []
    return [Face(noto / name, weight=_WEIGHTS[style]) for name in _NOTO_LAST if (noto / name).is_file()]


@functools.lru_cache(maxsize=256)
def system_face(character: str) -> Face | None:
    """A font on this machine that has the character, as fontconfig lists it (the first by path,
    so that the same machine always draws with the same one); None without fontconfig."""
    import shutil
    import subprocess

    fc_list = shutil.which("fc-list")
    if fc_list is None:
        return None
    try:
        listed = subprocess.run(
            [fc_list, "--format", "%{file}\t%{index}\n", f":charset={ord(character):x}"],
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    candidates: list[tuple[str, int]] = []
    for line in listed.splitlines():
        file, _, number = line.partition("\t")
        if file.lower().endswith((".ttf", ".otf", ".ttc", ".otc")) and number.isdigit():
            candidates.append((file, int(number)))
    from PIL import ImageFont

    for file, index in sorted(candidates):
        face = Face(Path(file), index)
        try:
            if ord(character) in coverage(face):
                ImageFont.truetype(file, 12, index=index)  # and FreeType opens it too
                return face
        except Exception:  # a font fontTools or FreeType cannot read is skipped, whatever is wrong with it
            continue
    return None


# Fonts in the book (`fonts` in book.toml).

FONT_MODES = ("auto", "embed", "none")

READERS_LACK = frozenset(
    "Sinh Taml Beng Deva Gujr Guru Knda Mlym Orya Telu Ethi Khmr Mymr Laoo Armn Geor Thaa Syrc Tibt".split()
)
"""Scripts `fonts = "auto"` embeds: e-ink readers (Kobo, older Kindles, Adobe RMSDK devices) ship
no font for them and show boxes. Latin, Greek, Cyrillic, Arabic, Hebrew, Thai and CJK are left
to the reader's own fonts: every current reading system has them."""

_LANGUAGE_SCRIPTS = {
    **dict.fromkeys(("si",), "Sinh"),
    **dict.fromkeys(("ta",), "Taml"),
    **dict.fromkeys(("bn", "as", "mni"), "Beng"),
    **dict.fromkeys(("hi", "mr", "ne", "sa", "mai", "bho", "kok", "doi"), "Deva"),
    **dict.fromkeys(("gu",), "Gujr"),
    **dict.fromkeys(("pa",), "Guru"),
    **dict.fromkeys(("kn",), "Knda"),
    **dict.fromkeys(("ml",), "Mlym"),
    **dict.fromkeys(("or",), "Orya"),
    **dict.fromkeys(("te",), "Telu"),
    **dict.fromkeys(("am", "ti"), "Ethi"),
    **dict.fromkeys(("km",), "Khmr"),
    **dict.fromkeys(("my",), "Mymr"),
    **dict.fromkeys(("lo",), "Laoo"),
    **dict.fromkeys(("hy",), "Armn"),
    **dict.fromkeys(("ka",), "Geor"),
    **dict.fromkeys(("dv",), "Thaa"),
    **dict.fromkeys(("syr",), "Syrc"),
    **dict.fromkeys(("bo", "dz"), "Tibt"),
}
"""The usual script of the languages written in a script of READERS_LACK (CLDR's likely
subtags); a tag's own script subtag (`pa-Arab`) wins."""


def language_script(language: str | None) -> str | None:
    subtags = (language or "").replace("_", "-").split("-")
    for subtag in subtags[1:]:
        if len(subtag) == 4 and subtag.isalpha():
            return subtag.title()
    return _LANGUAGE_SCRIPTS.get(subtags[0].lower())


def embeds_fonts(mode: str, language: str | None) -> bool:
    """Whether the book gets an embedded font stylesheet: decided before its text is read,
    since every document links it."""
    if mode == "embed":
        return True
    return mode == "auto" and language_script(language) in READERS_LACK


@dataclass(frozen=True)
class EmbeddedFont:
    family: str
    file_name: str
    media_type: str
    data: bytes
    scripts: tuple[str, ...]


_READERS_HAVE = frozenset({"Latn", "Grek", "Cyrl"})


def fonts_to_embed(characters: set[str], mode: str, language: str | None) -> list[EmbeddedFont]:
    """A subset of a font for each script of the book's text that needs one: only the characters
    the book uses. Scripts every reader has (Latin, Greek, Cyrillic) get none."""
    found = scripts_of("".join(sorted(characters)))
    wanted = [code for code, _ in sorted(found.items()) if code not in _READERS_HAVE]
    if mode == "auto":
        wanted = [code for code in wanted if code in READERS_LACK]
    by_face: dict[Face, list[str]] = {}
    text = "".join(sorted(characters))
    for code in wanted:
        faces = packaged_faces(code, "regular", language, text)
        sample = next((character for character in text if script(character) == code), "")
        face = next((face for face in faces if ord(sample) in coverage(face)), None)
        if face is None or face.path.name == _CJK_FILE:
            # Noto Sans CJK comes as a variable CFF2 collection, which fontTools cannot make
            # static: a static system font (fonts-noto-cjk) can be embedded instead.
            face = system_face(sample) if sample else None
        if face is None:
            log.warning(
                "fonts: no font here that can be embedded has the %s letters of the book; readers use their own",
                script_name(code),
            )
            continue
        by_face.setdefault(face, []).append(code)
    embedded = []
    for face, codes in by_face.items():
        used = _characters_for(characters, set(codes), coverage(face))
        try:
            data, extension, media_type, family = subset_font(face, used)
        except Exception as error:  # fontTools raises many kinds; the book is still valid without the font
            log.warning(
                "fonts: %s could not be embedded (%s: %s); reading systems use their own",
                face.name,
                type(error).__name__,
                str(error)[:120],
            )
            continue
        from .names import slugify

        name = slugify(family, limit=40) or "font"
        embedded.append(
            EmbeddedFont(f"{family} (handbill)", f"fonts/{name}.{extension}", media_type, data, tuple(codes))
        )
    return embedded


_DOTTED_CIRCLE = "\u25cc"
"""Shaping engines draw a mark with nothing to sit on on a dotted circle: keep it in Indic subsets."""


def _characters_for(characters: set[str], codes: set[str], covered: frozenset[int]) -> str:
    """The book's characters a face for these scripts draws: the scripts' letters, combining
    marks, joiners, and the script-specific punctuation Unicode files as Common (danda, Arabic
    comma, CJK brackets); not ASCII or Latin-1, which the reader's own font keeps drawing."""
    chosen = {_DOTTED_CIRCLE}
    for character in characters:
        code = script(character)
        if code in codes or code == "Zinh" or (code == "Zyyy" and ord(character) > 0xFF):
            chosen.add(character)
    return "".join(sorted(character for character in chosen if ord(character) in covered))


def subset_font(face: Face, text: str) -> tuple[bytes, str, str, str]:
    """(bytes, extension, media type, family name) of a static font holding only `text`'s glyphs
    (and what shaping them needs: ligatures, conjuncts, marks), at regular weight.

    TrueType outlines stay TrueType (.ttf), CFF ones become OpenType CFF (.otf): the two font
    formats every EPUB reading system reads (WOFF2 would be smaller, but older readers and
    Kindle do not read it, and it needs brotli). The same text always gives the same bytes."""
    import io

    from fontTools import subset
    from fontTools.ttLib import TTFont

    font = TTFont(face.path, fontNumber=face.index, recalcTimestamp=False)
    options = subset.Options()
    options.layout_features = ["*"]  # every feature: Indic and Arabic shaping need many
    options.name_IDs = [0, 1, 2, 3, 4, 5, 6, 13, 14]  # copyright and the OFL notice stay with the font
    options.notdef_outline = True
    options.hinting = False  # reading systems do not use TrueType hints on high-resolution screens
    subsetter = subset.Subsetter(options)
    subsetter.populate(text=text)
    subsetter.subset(font)
    if "fvar" in font:
        from fontTools.varLib import instancer

        location = {axis.axisTag: 400 if axis.axisTag == "wght" else axis.defaultValue for axis in font["fvar"].axes}
        font = instancer.instantiateVariableFont(font, location, static=True)
    family = font["name"].getBestFamilyName() or face.path.stem
    buffer = io.BytesIO()
    font.recalcTimestamp = False
    font.save(buffer)
    if "glyf" in font:
        return buffer.getvalue(), "ttf", "font/ttf", family
    return buffer.getvalue(), "otf", "font/otf", family


def font_face_css(fonts: list[EmbeddedFont]) -> str:
    """The stylesheet that puts the embedded fonts to use: an @font-face for each and the body's
    font list. No generic family follows: letters the subsets lack (Latin, digits) fall back to
    the reader's own font, as if nothing were embedded."""
    lines = ["/* Fonts embedded by handbill: subsets holding only the characters this book uses. */"]
    for font in fonts:
        lines.append(f'@font-face {{ font-family: "{font.family}"; src: url(../{font.file_name}); }}')
    if fonts:
        families = ", ".join(f'"{font.family}"' for font in fonts)
        lines.append(f"body {{ font-family: {families}; }}")
    return "\n".join(lines) + "\n"

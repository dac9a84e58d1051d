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
import shutil
import subprocess
import unicodedata
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from . import DATA

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
    candidates = []
    for line in listed.splitlines():
        path, _, index = line.partition("\t")
        if path.lower().endswith((".ttf", ".otf", ".ttc", ".otc")) and index.isdigit():
            candidates.append((path, int(index)))
    for path, index in sorted(candidates):
        face = Face(Path(path), index)
        try:
            if ord(character) in coverage(face):
                return face
        except Exception:  # a font fontTools cannot read is skipped, whatever is wrong with it
            continue
    return None

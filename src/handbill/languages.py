"""Language tags, the direction a language is written in, and the words handbill writes itself.

One module for every place a tag is written (book.toml, front matter, `--language`, raw HTML's
`lang`, `handbill check`): a tag is checked against the grammar of BCP 47 (RFC 5646, section
2.1) and its two rules that a grammar cannot say: no variant and no extension singleton may
appear twice. That is what EPUBCheck and Send to Kindle hold `dc:language` and `xml:lang` to.
A tag written the POSIX way (`de_DE`, `pt_BR.UTF-8`) is repaired to `de-DE` with a warning.

Direction and labels come from data, not a hand-written list: the Unicode CLDR through Babel
(loaded lazily, and never for an English book), and `data/labels.toml` for the words.
"""

from __future__ import annotations

import functools
import logging
import re
from pathlib import Path
from typing import Any

from . import DATA
from .errors import ConfigError

log = logging.getLogger(__name__)

_ALNUM = "[A-Za-z0-9]"
_LANGTAG = re.compile(
    rf"""^
    (?P<language>[A-Za-z]{{2,3}}(?:-[A-Za-z]{{3}}){{0,3}}|[A-Za-z]{{4,8}})
    (?:-(?P<script>[A-Za-z]{{4}}))?
    (?:-(?P<region>[A-Za-z]{{2}}|[0-9]{{3}}))?
    (?P<variants>(?:-(?:{_ALNUM}{{5,8}}|[0-9]{_ALNUM}{{3}}))*)
    (?P<extensions>(?:-[0-9A-WY-Za-wy-z](?:-{_ALNUM}{{2,8}})+)*)
    (?:-[xX](?:-{_ALNUM}{{1,8}})+)?
    $""",
    re.VERBOSE,
)
_PRIVATE_USE = re.compile(rf"^[xX](?:-{_ALNUM}{{1,8}})+$")
# The tags RFC 5646 keeps whole because they do not fit its grammar (section 2.2.8).
_IRREGULAR = frozenset(
    "en-gb-oed i-ami i-bnn i-default i-enochian i-hak i-klingon i-lux i-mingo i-navajo i-pwn i-tao "
    "i-tay i-tsu sgn-be-fr sgn-be-nl sgn-ch-de".split()
)

EXAMPLE = "such as 'en' or 'pt-BR'"

# Scripts written right to left (Unicode's Bidi_Class R/AL scripts, by ISO 15924 code): what a
# tag's script subtag (`ku-Arab`, `pa-Arab`, `ff-Adlm`) says, and the fallback for a language
# Babel does not know.
RIGHT_TO_LEFT_SCRIPTS = frozenset(
    "Adlm Arab Aran Armi Avst Chrs Cprt Elym Gara Hebr Hung Khar Lydi Mand Mani Mend Merc Mero Narb Nbat Nkoo "
    "Orkh Ougr Palm Phli Phlp Phnx Prti Rohg Samr Sarb Sogd Sogo Syrc Syre Syrj Syrn Thaa Yezi".split()
)
VERTICAL_LANGUAGES = frozenset({"ja", "zh", "ko"})
"""The languages `writing_mode = "vertical-rl"` is offered for (CJK, set top to bottom)."""
DIRECTIONS = ("ltr", "rtl")
WRITING_MODES = ("horizontal-tb", "vertical-rl")


def is_language_tag(tag: str) -> bool:
    """Whether `tag` is a well-formed BCP 47 language tag (`en`, `pt-BR`, `zh-Hant-TW`, `x-klingon`)."""
    if not isinstance(tag, str) or not tag.isascii():
        return False
    if tag.lower() in _IRREGULAR or _PRIVATE_USE.match(tag):
        return True
    match = _LANGTAG.match(tag)
    if match is None:
        return False
    variants = match.group("variants").lower().split("-")[1:]
    singletons = re.findall(r"-([0-9a-wy-z])(?=-)", match.group("extensions").lower())
    return len(set(variants)) == len(variants) and len(set(singletons)) == len(singletons)


def repaired_language_tag(tag: str) -> str | None:
    """A tag written the POSIX way (`en_US`, `pt_BR.UTF-8`) as BCP 47 (`en-US`); None when it is
    no language tag either way."""
    if is_language_tag(tag):
        return tag
    repaired = tag.strip().split(".")[0].split("@")[0].replace("_", "-")
    return repaired if is_language_tag(repaired) else None


def language_tag(value: object, where: Path | str | None, line: int | None = None, what: str = "language") -> str:
    """The one check every place a tag is written goes through: the tag as given when it is
    well formed, repaired (`de_DE` -> `de-DE`) with a warning naming `where`, or a ConfigError
    naming `where` (and `line`) when it is no language tag at all."""
    tag = str(value).strip() if isinstance(value, (str, int, float)) else ""
    repaired = repaired_language_tag(tag) if tag else None
    if repaired is None:
        shown = repr(value if isinstance(value, str) else str(value))
        raise ConfigError(f"'{what}' {shown} is not a BCP 47 language tag {EXAMPLE}", where, line)
    if repaired != tag:
        place = f"{where}:{line}" if where is not None and line is not None else where
        log.warning("%slanguage %r is not a BCP 47 tag; using %r", f"{place}: " if place else "", tag, repaired)
    return repaired


def primary_language(tag: str) -> str:
    """`pt-BR` -> `pt`; `zh-Hant-TW` -> `zh`."""
    return tag.split("-")[0].lower()


def _script_subtag(tag: str) -> str | None:
    match = _LANGTAG.match(tag)
    if match is None or not match.group("script"):
        return None
    return match.group("script").title()


@functools.lru_cache(maxsize=64)
def text_direction(tag: str) -> str:
    """`rtl` or `ltr` for a language tag, from its script subtag when it has one, else from the
    CLDR (Babel's `character_order`), else from the script CLDR's likely subtags give the
    language. English never loads Babel."""
    script = _script_subtag(tag)
    if script is not None:
        return "rtl" if script in RIGHT_TO_LEFT_SCRIPTS else "ltr"
    if primary_language(tag) in ("en", "x", "i") or not is_language_tag(tag):
        return "ltr"
    locale = _babel_locale(tag)
    if locale is not None and locale.character_order:
        return "rtl" if locale.character_order == "right-to-left" else "ltr"
    likely = _likely_script(tag)
    return "rtl" if likely in RIGHT_TO_LEFT_SCRIPTS else "ltr"


def is_right_to_left(tag: str) -> bool:
    return text_direction(tag) == "rtl"


def _babel_locale(tag: str) -> Any:
    """Babel's locale for the tag, or for its language and script, or its language; None when
    Babel knows none of them."""
    from babel import Locale, UnknownLocaleError

    pieces = tag.split("-")
    candidates = ["_".join(pieces[:index]) for index in range(len(pieces), 0, -1)]
    for candidate in candidates:
        try:
            return Locale.parse(candidate)
        except (UnknownLocaleError, ValueError, TypeError):
            continue
    return None


def _likely_script(tag: str) -> str | None:
    from babel.core import get_global

    likely = get_global("likely_subtags").get(primary_language(tag))
    if not likely:
        return None
    for piece in likely.split("_")[1:]:
        if len(piece) == 4 and piece.isalpha():
            return piece.title()
    return None


# The words handbill writes itself -----------------------------------------------------------

LABEL_KEYS = {
    "contents": "the contents page's title (and its title in the browser)",
    "landmarks": "the hidden landmarks list's heading",
    "cover": "the cover page's title and landmark",
    "title_page": "the title page's landmark",
    "table_of_contents": "the contents page's landmark",
    "start_of_content": "the landmark where reading starts",
    "cover_alt": "the cover image's text alternative: {title}",
    "cover_alt_by": "the cover image's text alternative with authors: {title}, {authors}",
    "note_backlink": "a footnote's link back to the text, as a screen reader says it: {number}",
    "section": "a chapter with no heading of its own: {number}",
    "untitled": "the title of a book with none",
    "books": "the landing page's title in `serve`",
    "read_in_browser": "the `serve` button that opens a book online",
    "all_books": "the `serve` link back to the landing page",
    "previous": "the `serve` link to the previous chapter",
    "next": "the `serve` link to the next chapter",
    "unknown_author": "the `serve` byline of a book without authors",
}
"""Every word a `[labels]` table in book.toml may replace, and where it shows."""

ENGLISH = {
    "contents": "Contents",
    "landmarks": "Landmarks",
    "cover": "Cover",
    "title_page": "Title Page",
    "table_of_contents": "Table of Contents",
    "start_of_content": "Start of Content",
    "cover_alt": "Cover of {title}",
    "cover_alt_by": "Cover of {title} by {authors}",
    "note_backlink": "Back to note {number} in the text",
    "section": "Section {number}",
    "untitled": "Untitled",
    "books": "Books",
    "read_in_browser": "Read in the browser",
    "all_books": "All books",
    "previous": "Previous",
    "next": "Next",
    "unknown_author": "Unknown",
}
"""The English words, kept here so an English book never reads the labels file."""

_PLACEHOLDERS = {key: frozenset(re.findall(r"\{(\w+)\}", text)) for key, text in ENGLISH.items()}


_SAME_WORDS = {"no": "nb", "iw": "he", "in": "id", "ji": "yi"}
"""Tags whose words are another tag's: Norwegian is written as Bokmål; old ISO 639 codes."""


@functools.cache
def _label_table() -> dict[str, dict[str, str]]:
    import tomllib

    with (DATA / "labels.toml").open("rb") as file:
        return tomllib.load(file)


def label_languages() -> list[str]:
    """The languages handbill has its own words for (English included)."""
    return sorted({"en", *_label_table()})


def labels_for(tag: str, overrides: dict[str, str] | None = None) -> dict[str, str]:
    """Every label in the language of `tag`: the tag's own words, then its language's (`pt-BR`,
    then `pt`), then English; `overrides` (book.toml's `[labels]`) win over all of them."""
    words = dict(ENGLISH)
    if primary_language(tag) != "en":
        table = {key.lower(): words for key, words in _label_table().items()}
        pieces = tag.lower().split("-")
        pieces[0] = _SAME_WORDS.get(pieces[0], pieces[0])
        chain = ["-".join(pieces[:index]) for index in range(1, len(pieces) + 1)]
        if pieces[0] == "zh" and "hant" not in pieces and set(pieces) & {"tw", "hk", "mo"}:
            chain.insert(1, "zh-hant")  # Chinese as written in Taiwan, Hong Kong and Macao
        for candidate in chain:  # the more particular tag last, so it wins
            words.update(table.get(candidate, {}))
    if overrides:
        words.update(overrides)
    return words


def check_labels(value: object, where: Path | str) -> dict[str, str]:
    """book.toml's `[labels]` table: known keys with text values (an unknown key is a warning
    naming book.toml, as is a placeholder the label does not take)."""
    if not isinstance(value, dict):
        raise ConfigError("'labels' must be a table of words, such as [labels] contents = \"Índice\"", where)
    labels: dict[str, str] = {}
    for key, text in value.items():
        if key not in LABEL_KEYS:
            log.warning(
                "%s: [labels] %r is not a label handbill writes; ignored (known: %s)", where, key, ", ".join(LABEL_KEYS)
            )
            continue
        if not isinstance(text, str) or not text.strip():
            raise ConfigError(f"[labels] {key!r} must be non-empty text", where)
        used = set(re.findall(r"\{(\w*)\}", text))
        if used - _PLACEHOLDERS[key] or "{" in re.sub(r"\{\w+\}", "", text) or "}" in re.sub(r"\{\w+\}", "", text):
            allowed = ", ".join("{" + name + "}" for name in sorted(_PLACEHOLDERS[key])) or "none"
            raise ConfigError(f"[labels] {key!r} may only use the placeholders {allowed}", where)
        labels[key] = text.strip()
    return labels


def format_label(words: dict[str, str], key: str, **values: object) -> str:
    """A label with its placeholders filled (`{title}`, `{number}`)."""
    text = words[key]
    for name, value in values.items():
        text = text.replace("{" + name + "}", str(value))
    return text


def display_date(date: str | None, tag: str) -> str | None:
    """A `YYYY`, `YYYY-MM` or `YYYY-MM-DD` date as the language writes it, month names from
    the CLDR (`22. Januar 2026`, `2026年1月22日`); English as handbill always wrote it
    (`22 January 2026`), without loading Babel."""
    if not date:
        return None
    pieces = [int(piece) for piece in date.split("-")]
    if primary_language(tag) == "en":
        months = "January February March April May June July August September October November December".split()
        if len(pieces) == 3:
            return f"{pieces[2]} {months[pieces[1] - 1]} {pieces[0]}"
        if len(pieces) == 2:
            return f"{months[pieces[1] - 1]} {pieces[0]}"
        return str(pieces[0])
    import datetime

    from babel.dates import format_date, format_skeleton

    locale = _babel_locale(tag) or "en"
    when = datetime.date(*(pieces + [1, 1])[:3])
    if len(pieces) == 3:
        return format_date(when, format="long", locale=locale)
    return format_skeleton("yMMMM" if len(pieces) == 2 else "y", when, locale=locale)

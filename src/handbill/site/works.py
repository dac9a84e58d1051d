"""Editions of one work: grouping served books by their `work` key, naming each edition's
language in that language, and choosing the edition a reader's `Accept-Language` asks for.

In: `ServedBook` records, a language tag, an `Accept-Language` header. Out: `Work` groups,
autonyms ("Deutsch", "العربية") and a text direction from CLDR (through Babel, loaded on
first use), editions in the order to offer them. No HTTP and no HTML here.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Sequence
from typing import NamedTuple

from .books import ServedBook


class Work(NamedTuple):
    """One entry of the site: a work and its editions, in the order they were given. A book
    without a `work` key is a work of its own."""

    key: str | None
    editions: tuple[ServedBook, ...]


def works(books: Iterable[ServedBook]) -> list[Work]:
    """The books grouped by `work` key, each group where its first edition was given."""
    groups: dict[str, list[ServedBook]] = {}
    order: list[tuple[str | None, list[ServedBook]]] = []
    for served in books:
        if served.work is None:
            order.append((None, [served]))
        elif served.work in groups:
            groups[served.work].append(served)
        else:
            groups[served.work] = [served]
            order.append((served.work, groups[served.work]))
    return [Work(key, tuple(editions)) for key, editions in order]


@functools.lru_cache(maxsize=256)
def _locale(tag: str):  # type: ignore[no-untyped-def]
    """Babel's locale for `tag`, or for its longest prefix CLDR knows (`de-DE-1996` -> `de-DE`);
    None when CLDR knows no prefix of it (`x-klingon`)."""
    from babel import Locale, UnknownLocaleError

    subtags = tag.split("-")
    while subtags:
        try:
            return Locale.parse("-".join(subtags), sep="-")
        except (UnknownLocaleError, ValueError, TypeError):
            subtags.pop()
    return None


def autonym(tag: str) -> str:
    """The language's own name for itself, from CLDR: "Deutsch", "العربية", "Português (Brasil)".

    Capitalised as language menus write it (CLDR has "français"); a tag CLDR does not know is
    shown as written."""
    locale = _locale(tag)
    name = locale.get_display_name(locale) if locale is not None else None
    if not name:
        return tag
    return name[:1].upper() + name[1:]


_QUALITY = re.compile(r"^q=(0(?:\.\d{0,3})?|1(?:\.0{0,3})?)$", re.IGNORECASE)
_RANGE = re.compile(r"^(?:\*|[A-Za-z]{1,8}(?:-[A-Za-z0-9]{1,8})*)$")


def accepted_languages(header: str | None) -> list[tuple[str, float]]:
    """The language ranges of an `Accept-Language` header (RFC 9110 12.5.4) with their weights,
    most wanted first (ties in the order written). A range with a malformed weight is dropped,
    as are ranges weighted 0 (not wanted); so is anything that is not a language range."""
    ranges: list[tuple[str, float, int]] = []
    for position, item in enumerate((header or "")[:4096].split(",")):
        language, *parameters = (part.strip() for part in item.split(";"))
        if not _RANGE.match(language):
            continue
        quality = 1.0
        for parameter in parameters:
            found = _QUALITY.match(parameter.replace(" ", ""))
            if found is None:
                quality = -1.0  # q=abc or q=2: a weight that means nothing
                break
            quality = float(found.group(1))
        if quality > 0:
            ranges.append((language.lower(), quality, position))
    ranges.sort(key=lambda entry: (-entry[1], entry[2]))
    return [(language, quality) for language, quality, _ in ranges]


def _match(tag: str, wanted: str) -> int:
    """How well an edition's language answers one range: 3 the same tag, 2 the range is a prefix
    (`de` for `de-AT`), 1 they share the language (`de-AT` asked, `de-DE` or `de` offered: better
    than a language the reader did not ask for), 0 not at all. `*` matches anything, weakly."""
    tag = tag.lower()
    if wanted == "*":
        return 1
    if tag == wanted:
        return 3
    if tag.startswith(wanted + "-"):
        return 2
    return 1 if tag.split("-")[0] == wanted.split("-")[0] else 0


def in_preferred_order(editions: Sequence[ServedBook], header: str | None) -> tuple[ServedBook, ...]:
    """The editions with the one the reader's languages ask for first; the rest keep their
    order. When no edition matches, the first given stays first."""
    ranges = accepted_languages(header)

    def score(served: ServedBook) -> tuple[float, int]:
        scores = [(quality, match) for wanted, quality in ranges if (match := _match(served.book.language, wanted))]
        return max(scores, default=(0.0, 0))

    if not ranges or len(editions) < 2:
        return tuple(editions)
    best = max(range(len(editions)), key=lambda index: (score(editions[index]), -index))
    if score(editions[best]) == (0.0, 0):
        return tuple(editions)
    return (editions[best], *editions[:best], *editions[best + 1 :])

"""Dates as bylines write them, in any common form and in many languages.

Month and weekday names come from CLDR through Babel. Loading Babel's data for the 75 languages
below takes 1.5 s (15 MB of locale files), so their names are kept in `data/cldr-dates.json`,
made by `write_table()` from Babel; a test checks the table against Babel as installed. A
document in another language has its own names loaded from Babel when it says its language.
"""

from __future__ import annotations

import json
import re
from datetime import date
from functools import cache
from pathlib import Path

DATE_LANGUAGES = (
    "en de fr es it pt nl sv da nb nn fi et pl cs sk sl hr sr bs ro hu tr el ru uk be bg mk ar fa ur he "
    "hi bn ta te ml kn mr gu pa si th vi id ms fil sw am ja zh ko ca eu gl ga cy is lv lt sq hy ka az kk "
    "uz mn ne km lo my"
).split()
"""The languages whose month names a byline's date may use without the document naming its language."""

TABLE = Path(__file__).resolve().parent.parent / "data" / "cldr-dates.json"

_ISO = re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})(?:[T ][\d:.]+Z?)?$")
_NUMERIC = re.compile(r"^(\d{1,2})([./])(\d{1,2})\2(\d{4})$")
_YEAR_FIRST = re.compile(r"^(\d{4})[./](\d{1,2})[./](\d{1,2})\.?$")
_EAST_ASIAN = re.compile(r"^(\d{4})\s*[年년]\s*(\d{1,2})\s*[月월]\s*(\d{1,2})\s*[日일]?$")
_TOKEN = re.compile(r"\d+|[^\W\d_]+")


def parse_date(line: str, language: str = "") -> tuple[str, str] | None:
    """A line that is wholly a date, in any common form, as (ISO date, the language its month name
    belongs to when only one language has that name, else ""); None when it is no date.

    `2026-01-22`, `22.01.2026`, `2026/01/22`, `2026年1月22日`, `22 January 2026`, `January 22, 2026`,
    `22. Januar 2026`, `22 января 2026 г.`, `22 de enero de 2026`, `Thursday, 22 January 2026`, and
    `22/01/2026` when the day is over 12 (else it could be either order and is not taken). Digits
    of any script count (`١٢ يناير ٢٠٢٦`)."""
    text = line.strip().strip(".,")
    for pattern in (_ISO, _YEAR_FIRST, _EAST_ASIAN):
        match = pattern.match(text)
        if match:
            return _checked(int(match.group(1)), int(match.group(2)), int(match.group(3)))
    match = _NUMERIC.match(text)
    if match:
        first, separator, second, year = int(match.group(1)), match.group(2), int(match.group(3)), int(match.group(4))
        if separator == "." or first > 12:
            return _checked(year, second, first)
        if second > 12:
            return _checked(year, first, second)
        return None
    return _worded_date(text, language)


def _checked(year: int, month: int, day: int, language: str = "") -> tuple[str, str] | None:
    try:
        return date(year, month, day).isoformat(), language
    except ValueError:
        return None


def _worded_date(text: str, language: str) -> tuple[str, str] | None:
    """A day, a month's name and a year in any order; besides them only a weekday's name and short
    joining words (`de`, `г`, `r`, `of`) may stand in the line."""
    tokens = _TOKEN.findall(text)
    if not 3 <= len(tokens) <= 8 or len(text) > 60:
        return None
    numbers = [token for token in tokens if token.isdigit()]
    words = [token for token in tokens if not token.isdigit()]
    years = [token for token in numbers if len(token) == 4]
    days = [token for token in numbers if len(token) <= 2]
    if len(years) != 1 or len(days) != 1 or len(numbers) != 2:
        return None
    base = language.split("-")[0].lower()
    months, weekdays = names(base)
    found = [(word, months[word.casefold()]) for word in words if word.casefold() in months]
    if len(found) != 1:
        return None
    word, by_language = found[0]
    others = [other for other in words if other is not word]
    if len(others) > 3 or any(len(other) > 3 and other.casefold() not in weekdays for other in others):
        return None
    if base in by_language:
        month = by_language[base]
    elif len(set(by_language.values())) == 1:
        month = next(iter(by_language.values()))
    else:
        return None  # `lis` is November in Polish and October in Croatian: the language must say
    only = next(iter(by_language)) if len(by_language) == 1 else ""
    return _checked(int(years[0]), month, int(days[0]), only)


@cache
def names(language: str = "") -> tuple[dict[str, dict[str, int]], frozenset[str]]:
    """Month names (case-folded) -> {language: month}, and weekday names, of DATE_LANGUAGES and
    of `language` (loaded from Babel when it is not one of them)."""
    table = json.loads(TABLE.read_text(encoding="utf-8"))
    months: dict[str, dict[str, int]] = table["months"]
    weekdays = set(table["weekdays"])
    if language and language not in DATE_LANGUAGES:
        extra_months, extra_weekdays = cldr_names([language])
        for name, by_language in extra_months.items():
            months.setdefault(name, {}).update(by_language)
        weekdays |= extra_weekdays
    return months, frozenset(weekdays)


def cldr_names(languages: list[str]) -> tuple[dict[str, dict[str, int]], set[str]]:
    """Month and weekday names from Babel (CLDR): wide and abbreviated, in both grammatical
    contexts (Russian `января` as well as `январь`). A language Babel does not know has none."""
    from babel import Locale, UnknownLocaleError

    months: dict[str, dict[str, int]] = {}
    weekdays: set[str] = set()
    for code in languages:
        try:
            locale = Locale.parse(code)
        except (UnknownLocaleError, ValueError, TypeError):
            continue
        for context in ("format", "stand-alone"):
            for width in ("wide", "abbreviated"):
                for month, name in locale.months[context][width].items():
                    key = name.casefold().rstrip(".")
                    if key and not key.isdigit():
                        months.setdefault(key, {})[code] = month
                weekdays.update(name.casefold().rstrip(".") for name in locale.days[context][width].values())
    return months, weekdays


def table_text() -> str:
    """`data/cldr-dates.json` as Babel, installed here, gives it."""
    import babel

    months, weekdays = cldr_names(DATE_LANGUAGES)
    table = {"babel": babel.__version__, "languages": DATE_LANGUAGES, "months": months, "weekdays": sorted(weekdays)}
    return json.dumps(table, ensure_ascii=False, sort_keys=True, indent=0) + "\n"


def write_table() -> None:
    """Regenerate the table (after a Babel upgrade, or a change of DATE_LANGUAGES)."""
    TABLE.write_text(table_text(), encoding="utf-8")


if __name__ == "__main__":
    write_table()

"""Attributes: which each HTML element may carry, and the form each value must take.

In: an attribute's name and value (and the element's tag). Out: the value to keep, normalised,
or None to drop it. Data only, with the checks; sanitize, repair and foreign apply it.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable

from ..languages import repaired_language_tag
from ..xhtml import safe_id

_WHOLE_NUMBER = re.compile(r"^\d{1,6}$")
# Patterns for rarer values stay strings: `re` compiles each on first use (and caches it), so a
# book that never has one pays nothing at start-up.
_INTEGER = r"-?\d{1,6}"
DATA_ATTRIBUTE = re.compile(r"^data-[a-z0-9_.-]+$")
_NAME_TOKEN = r"[\w.:\-\u00b7\u0300-\u036f\u203f\u2040]+"  # XML's NMTOKEN
_MIME_TYPE = r"[a-zA-Z0-9!#$&+\-^_]+/[a-zA-Z0-9!#$&+\-^_]+(?:\s*;.*)?"

Check = Callable[[str], "str | None"]
"""A check of one attribute value: the value to keep (normalised), or None to drop it."""


def _whole(value: str, low: int, high: int) -> str | None:
    """A whole number in [low, high] (larger ones are clamped), or None."""
    if not _WHOLE_NUMBER.match(value) or int(value) < low:
        return None
    return str(min(int(value), high))


def _integer(value: str) -> str | None:
    return str(max(-65534, min(int(value), 65534))) if re.fullmatch(_INTEGER, value) else None


def one_of(*words: str, fold: bool = True) -> Check:
    """One of `words`; HTML's keywords match whatever their case (fold=False: the case counts)."""
    allowed = frozenset(words)
    if not fold:
        return lambda value: value if value in allowed else None
    return lambda value: value.lower() if value.lower() in allowed else None


VALUE_KINDS: dict[str, Check] = {
    "text": lambda value: value,
    "id": lambda value: safe_id(value) or None,
    "tokens": lambda value: " ".join(token for token in value.split() if re.fullmatch(_NAME_TOKEN, token)) or None,
    "language": repaired_language_tag,  # de_DE -> de-DE (noted); no tag at all: dropped
    "MIME type": lambda value: value if re.fullmatch(_MIME_TYPE, value, re.S) else None,
    "integer": _integer,
    "count": lambda value: _whole(value, 0, 65534),
    "span": lambda value: _whole(value, 1, 1000),
    "direction": one_of("ltr", "rtl", "auto"),
    "explicit direction": one_of("ltr", "rtl"),
    "scope": one_of("row", "col", "rowgroup", "colgroup"),
    "list style": one_of("1", "a", "A", "i", "I", fold=False),
    "date or time": lambda value: value if is_datetime(value) else None,
    "date with optional time": lambda value: value if is_datetime(value, ("date", "global")) else None,
    "role": one_of("note", "img", fold=False),  # the roles handbill's own notes and task boxes carry
    "drop": lambda value: None,  # headers: IDREFS that rarely survive splitting
}
"""The kinds of attribute value, each with its check. A "boolean" attribute is not checked but
written as its own name (`hidden="hidden"`), as XML requires."""

GLOBAL_ATTRIBUTES = {
    "id": "id",
    "class": "text",
    "title": "text",
    "lang": "language",
    "dir": "direction",
    "hidden": "boolean",
    "epub:type": "tokens",
    "aria-label": "text",
    "role": "role",
}
ELEMENT_ATTRIBUTES = {
    "a": {"href": "text", "hreflang": "language", "rel": "text", "type": "MIME type"},
    "img": {"src": "text", "alt": "text", "width": "count", "height": "count"},
    "ol": {"start": "integer", "reversed": "boolean", "type": "list style"},
    "li": {"value": "integer"},
    "td": {"colspan": "span", "rowspan": "count", "headers": "drop"},
    "th": {"colspan": "span", "rowspan": "count", "headers": "drop", "scope": "scope"},
    "col": {"span": "span"},
    "colgroup": {"span": "span"},
    "del": {"datetime": "date with optional time"},
    "ins": {"datetime": "date with optional time"},
    "time": {"datetime": "date or time"},
    "data": {"value": "text"},
    "details": {"open": "boolean"},
    "bdo": {"dir": "explicit direction"},
}
"""Attributes beyond the global ones, by element, each with the kind of value it takes."""
_UNTRIMMED = frozenset({"alt", "title"})

# The date and time forms of HTML's <time> that EPUBCheck accepts: a year (four digits), a month,
# a date, a yearless date, a time, a date and time (with or without a zone), a week, a duration.
_DATE = r"(?P<year>\d{4,})-(?P<month>\d\d)-(?P<day>\d\d)"
_TIME = r"(?P<hour>\d\d):(?P<minute>\d\d)(?::(?P<second>\d\d)(?:\.\d{1,3})?)?"
_ZONE = r"(?:Z|[+-](?P<zone_hour>\d\d):?(?P<zone_minute>\d\d))"
_SECONDS = r"\d+(?:\.\d{1,3})?S"
_DATETIME_FORMS = {
    "year": r"(?P<year>\d{4})",
    "month": r"(?P<year>\d{4,})-(?P<month>\d\d)",
    "date": _DATE,
    "yearless": r"(?:--)?(?P<month>\d\d)-(?P<day>\d\d)",
    "time": _TIME,
    "local": _DATE + "[T ]" + _TIME,
    "global": _DATE + "[T ]" + _TIME + _ZONE,
    "week": r"(?P<year>\d{4,})-W(?P<week>\d\d)",
    "duration": (
        rf"P(?:\d+D|(?:\d+D)?T(?:\d+H(?:\d+M)?(?:{_SECONDS})?|\d+M(?:{_SECONDS})?|{_SECONDS}))"
        r"|(?: *(?:\d+ *[WDHM]|\d+(?:\.\d{1,3})? *S) *)+"
    ),
}
_DAYS_IN_MONTH = (31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)


def is_datetime(value: str, forms: Iterable[str] = _DATETIME_FORMS) -> bool:
    """Whether `value` is one of HTML's date and time forms, with every field in range."""
    for form in forms:
        match = re.fullmatch(_DATETIME_FORMS[form], value)
        if match is None:
            continue
        fields = {name: int(number) for name, number in match.groupdict().items() if number is not None}
        year, month, day = fields.get("year", 2000), fields.get("month", 1), fields.get("day", 1)
        leap = year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)
        if (
            year > 0
            and 1 <= month <= 12
            and 1 <= day <= (_DAYS_IN_MONTH[month - 1] if month != 2 or leap or "year" not in fields else 28)
            and fields.get("hour", 0) <= 23
            and fields.get("minute", 0) <= 59
            and fields.get("second", 0) <= 59
            and fields.get("zone_hour", 0) <= 23
            and fields.get("zone_minute", 0) <= 59
            and 1 <= fields.get("week", 1) <= 53
        ):
            return True
    return False


ALLOWED_ATTRIBUTES = {tag: GLOBAL_ATTRIBUTES | kinds for tag, kinds in ELEMENT_ATTRIBUTES.items()}


def attribute_value(name: str, value: str, allowed: dict[str, str]) -> str | None:
    """The value to keep for an attribute, or None to drop it."""
    kind = allowed.get(name)
    if kind is None:
        return value.strip() if DATA_ATTRIBUTE.match(name) else None
    if kind == "boolean":
        return name
    return VALUE_KINDS[kind](value if name in _UNTRIMMED else value.strip())

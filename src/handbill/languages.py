"""Language tags: the one validator that book.toml, front matter, `--language` and `check` share.

A tag is checked against the grammar of BCP 47 (RFC 5646, section 2.1) and its two rules
that a grammar cannot say: no variant and no extension singleton may appear twice. That is
what EPUBCheck and Send to Kindle hold a book's `dc:language` and `xml:lang` to.
"""

from __future__ import annotations

import re

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

"""The repairs every format needs, made once on the `Document` a format reader gives.

Conversion leaves the same marks whatever the format: lines wrapped by hand or by a page's width,
paragraphs cut in two by a page or column break, a section title set as a bold line, ligature
characters, soft hyphens, the double spaces of justified text, and page numbers and running
headers on every page. Each rule reads the text's own signals (Unicode character classes, what
the document says elsewhere), never a list of words of one language, and each repair is counted
in `document.repairs` with the first place it was made. Nothing is dropped without a count.

Every pass is linear in the document's size (a dictionary of its words is built once).
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from collections.abc import Iterable
from typing import Protocol

from .model import Block, Document, Repairs

# -- the kinds of repair, as the report names them ------------------------------------------------
LIGATURES = "ligatures expanded (ﬁ -> fi)"
SOFT_HYPHENS = "soft hyphens removed"
DOUBLE_SPACES = "runs of spaces collapsed to one"
WRAPPED = "hard-wrapped lines rejoined"
HYPHENS_DROPPED = "line-end hyphens dropped (the word appears unhyphenated elsewhere)"
SPLIT_PARAGRAPHS = "paragraphs split mid-sentence by a page or column break joined"
BOLD_TITLES = "bold lines made section titles"
RUNNING_LINES = "running headers and footers removed"
PAGE_NUMBERS = "page numbers removed"
TITLE = "title taken from the first heading"
AUTHORS = "author taken from the byline"
DATE = "date taken from the byline"
LANGUAGE = "language taken from the byline's month name"

MAX_TITLE_CHARACTERS = 150
"""A bold paragraph longer than this is emphasis, not a section title."""
MAX_BYLINE_CHARACTERS = 100


class _Deadline(Protocol):
    def check(self) -> None: ...


def apply(document: Document, deadline: _Deadline | None = None) -> None:
    """Make every shared repair on `document`, in place, recording each in `document.repairs`."""
    repairs = document.repairs
    steps = (_normalise_characters, _rejoin_wrapped_lines, _bold_lines_to_titles, _join_split_paragraphs, _byline)
    for step in steps:
        step(document, repairs)
        if deadline is not None:
            deadline.check()


# -- characters ------------------------------------------------------------------------------------
_LIGATURE = re.compile("[\ufb00-\ufb06]")
_SPACE_RUN = re.compile(r"(?<=\S) {2,}(?=\S)")
_PROSE = ("paragraph", "heading", "quote", "list")


def normalise_text(text: str, repairs: Repairs, place: str) -> str:
    """Ligatures expanded (NFKC for U+FB00-FB06 only: the rest of the text keeps its own forms),
    soft hyphens removed and runs of spaces inside a line collapsed; each counted."""
    if _LIGATURE.search(text):
        repairs.add(LIGATURES, place, len(_LIGATURE.findall(text)))
        text = _LIGATURE.sub(lambda match: unicodedata.normalize("NFKC", match.group()), text)
    if "\u00ad" in text:
        # A soft hyphen at a line's end joins the two halves of its word.
        repairs.add(SOFT_HYPHENS, place, text.count("\u00ad"))
        text = re.sub("\u00ad[ \t]*\n[ \t]*", "", text).replace("\u00ad", "")
    if "  " in text:
        runs = len(_SPACE_RUN.findall(text))
        if runs:
            repairs.add(DOUBLE_SPACES, place, runs)
            text = _SPACE_RUN.sub(" ", text)
    return text


def _normalise_characters(document: Document, repairs: Repairs) -> None:
    for block in document.blocks:
        if block.kind in _PROSE:
            block.text = normalise_text(block.text, repairs, block.place)


# -- hard-wrapped lines ------------------------------------------------------------------------------
_WORD = re.compile(r"\w+(?:-\w+)*")
_HARD_BREAK = re.compile(r"(?: {2,}|\\)$")
_LINE_END_HYPHEN = re.compile(r"([^\W\d_]+)-$")
_LINE_START_WORD = re.compile(r"[^\W\d_]+")


def known_words(texts: Iterable[str]) -> set[str]:
    """Every word (hyphenated compounds whole) the texts hold within a line, case-folded; the
    halves of a word broken at a line's end are left out, so a break does not vouch for itself."""
    words: set[str] = set()
    for text in texts:
        broken = False
        for line in text.split("\n"):
            found = _WORD.findall(line)
            if broken and found:
                found = found[1:]
            broken = line.rstrip().endswith("-")
            if broken and found:
                found = found[:-1]
            words.update(word.casefold() for word in found)
    return words


def join_hyphenated(left: str, right: str, words: set[str]) -> tuple[str, bool]:
    """`left` ends in a hyphen at a line's (or page's) end and `right` goes on: the two joined.
    The hyphen stays (`military-` + `presidential`), unless the word is known from elsewhere in the
    document without it and never with it: then it was only a break. Returns (text, dropped)."""
    before = _LINE_END_HYPHEN.search(left)
    after = _LINE_START_WORD.match(right)
    if before and after:
        whole = (before.group(1) + after.group()).casefold()
        compound = f"{before.group(1)}-{after.group()}".casefold()
        if whole in words and compound not in words:
            return left[:-1] + right, True
    return left + right, False


def _continues_word(line: str, following: str) -> bool:
    """A line ending `letter-` before a line starting with a letter: one word broken at the end."""
    return bool(_LINE_END_HYPHEN.search(line)) and bool(_LINE_START_WORD.match(following))


def rejoin_lines(text: str, words: set[str], repairs: Repairs, place: str) -> str:
    """The lines of one paragraph as one line; a Markdown hard break (two spaces or a backslash at
    a line's end) is kept, since the author wrote it."""
    lines = text.split("\n")
    if len(lines) == 1:
        return text
    out = lines[0]
    for line in lines[1:]:
        if _HARD_BREAK.search(out.split("\n")[-1]):
            out += "\n" + line.lstrip(" \t")
            continue
        line = line.lstrip(" \t")
        repairs.add(WRAPPED, place)
        if _continues_word(out, line):
            out, dropped = join_hyphenated(out, line, words)
            if dropped:
                repairs.add(HYPHENS_DROPPED, place)
        else:
            out = out.rstrip(" \t") + " " + line
    return out


def _rejoin_wrapped_lines(document: Document, repairs: Repairs) -> None:
    blocks = [block for block in document.blocks if block.kind in ("paragraph", "heading")]
    if not any("\n" in block.text for block in blocks):
        return
    words = known_words(block.text for block in document.blocks if block.kind in _PROSE)
    for block in blocks:
        block.text = rejoin_lines(block.text, words, repairs, block.place)


# -- paragraphs split by a page or column break ---------------------------------------------------
# Punctuation (category Po) that does not end a sentence: commas, semicolons and enumeration marks
# of every script, and marks that are not sentence punctuation at all.
_NON_FINAL = frozenset(
    ",;\u060c\u061b\u3001\uff0c\uff1b\ufe50\ufe51\ufe54\u055d\u1363\u1364\u00b7'\"#%&*@\\/\u2020\u2021\u00a7\u00b6"
)
_CONTINUING = frozenset(",;\u060c\u061b\u3001\uff0c\uff1b\ufe50\ufe51\ufe54\u055d\u1363\u1364")
_MARKUP = "*_`~ \t\n"


def _last_character(text: str) -> str:
    """The last character that is text: Markdown emphasis, closing quotes and brackets passed over."""
    for character in reversed(text):
        if character in _MARKUP or character in "\"'" or unicodedata.category(character) in ("Pe", "Pf"):
            continue
        return character
    return ""


def _first_character(text: str) -> str:
    for character in text:
        if character in _MARKUP or character in "\"'\\" or unicodedata.category(character) in ("Ps", "Pi"):
            continue
        return character
    return ""


def ends_sentence(text: str) -> bool:
    """Whether `text` ends with sentence-final punctuation (. ! ? : … 。 ！ ？ ؟ ۔ । and every other
    Unicode Po mark but commas, semicolons and the like), closing quotes and emphasis aside."""
    last = _last_character(text)
    return bool(last) and unicodedata.category(last) == "Po" and last not in _NON_FINAL


def continues_sentence(previous: str, following: str) -> bool:
    """Whether paragraph `following` goes on with the sentence `previous` left unfinished: the
    previous ends without sentence-final punctuation, and the next starts with a lowercase letter,
    or the previous ends with a comma or a dash, or (in scripts without case) the previous is
    running text (it has finished sentences) ending in a letter or digit."""
    last, first = _last_character(previous), _first_character(following)
    if not last or not first or ends_sentence(previous):
        return False
    if unicodedata.category(first) == "Ll":
        return True
    if last in _CONTINUING or unicodedata.category(last) == "Pd":
        return first.isalnum()
    if unicodedata.category(first) == "Lo" and (last.isalpha() or last.isdigit()):
        return any(unicodedata.category(c) == "Po" and c not in _NON_FINAL for c in previous[:-1])
    return False


def _joinable(block: Block) -> bool:
    return block.kind == "paragraph" and not block.bold and not block.role


def _join_split_paragraphs(document: Document, repairs: Repairs) -> None:
    words: set[str] | None = None  # made when a paragraph ends in a hyphen
    kept: list[Block] = []
    for block in document.blocks:
        previous = kept[-1] if kept else None
        if (
            previous is not None
            and _joinable(previous)
            and _joinable(block)
            and "\n" not in previous.text.rstrip()
            and continues_sentence(previous.text, block.text)
        ):
            left, right = previous.text.rstrip(), block.text.lstrip()
            if _continues_word(left, right):
                if words is None:
                    words = known_words(b.text for b in document.blocks if b.kind in _PROSE)
                previous.text, dropped = join_hyphenated(left, right, words)
                if dropped:
                    repairs.add(HYPHENS_DROPPED, block.place)
            else:
                previous.text = f"{left} {right}"
            repairs.add(SPLIT_PARAGRAPHS, block.place)
            continue
        kept.append(block)
    document.blocks = kept


# -- a bold line as a section title --------------------------------------------------------------
_BOLD = re.compile(r"^(\*\*|__)(?!\s)((?:(?!\1).)+?)(?<!\s)\1$")
_WHOLE_LINK = re.compile(r"^!?\[[^\]]*\]\([^)]*\)$")


def _bold_text(block: Block) -> str | None:
    """The text of a paragraph set wholly in bold (without its `**`), else None."""
    text = block.text.strip()
    match = _BOLD.match(text)
    if match:
        return match.group(2).strip()
    if block.bold:
        return text
    return None


def _bold_lines_to_titles(document: Document, repairs: Repairs) -> None:
    """A short paragraph wholly in bold, followed by text, is a section title. Not when it is only
    a link (an address set in bold), runs over lines, or ends the document or a section."""
    blocks = document.blocks
    body_levels = [block.level for block in blocks[1:] if block.kind == "heading"]
    level = max(body_levels) + 1 if body_levels else 2
    for index, block in enumerate(blocks):
        if block.kind != "paragraph":
            continue
        text = _bold_text(block)
        if text is None or "\n" in text or len(plain_text(text)) > MAX_TITLE_CHARACTERS or _WHOLE_LINK.match(text):
            continue
        following = blocks[index + 1] if index + 1 < len(blocks) else None
        if following is None or following.kind in ("heading", "break", "rule") or _bold_text(following) is not None:
            continue
        block.kind, block.text, block.level, block.bold = "heading", text, min(level, 6), False
        repairs.add(BOLD_TITLES, block.place)


# -- title, byline and standfirst ------------------------------------------------------------------
def _byline(document: Document, repairs: Repairs) -> None:
    """The first heading is the title; short lines under it holding a date are the byline (the
    other lines its authors); a paragraph wholly in italics right under them is the standfirst.
    They stay in the text (the title page shows them); the metadata the document does not state in
    its properties is taken from them."""
    blocks = [block for block in document.blocks if block.kind not in ("break", "rule")]
    if not blocks or blocks[0].kind != "heading":
        return
    title = blocks[0]
    title.role = "title"
    metadata = document.metadata
    if not metadata.title and plain_text(title.text):
        metadata.title = plain_text(title.text)
        repairs.add(TITLE, title.place)
    index = 1
    authors: list[str] = []
    found_date = ""
    month_language = ""
    byline: list[Block] = []
    while index < len(blocks) and len(byline) < 3 and blocks[index].kind == "paragraph":
        lines = [plain_text(line) for line in re.split(r"(?: {2,}|\\)?\n", blocks[index].text)]
        if not all(_byline_like(line) for line in lines):
            break
        for line in lines:
            parsed = parse_date(line, metadata.language)
            if parsed and not found_date:
                found_date, month_language = parsed
            elif not parsed:
                authors.append(line)
        byline.append(blocks[index])
        index += 1
    if not found_date or len(authors) > 3:
        byline, authors = [], []
        index = 1
    for block in byline:
        block.role = "byline"
    if found_date and not metadata.date:
        metadata.date = found_date
        repairs.add(DATE, byline[0].place)
    if authors and not metadata.authors:
        metadata.authors = authors
        repairs.add(AUTHORS, byline[0].place)
    if month_language and not metadata.language:
        metadata.language = month_language
        repairs.add(LANGUAGE, byline[0].place)
    if index < len(blocks) and blocks[index].kind == "paragraph" and _wholly_italic(blocks[index].text):
        blocks[index].role = "standfirst"


def _byline_like(line: str) -> bool:
    return 0 < len(line) <= MAX_BYLINE_CHARACTERS and _last_character(line) not in ("!", "?", ",", ";", ":")


_ITALIC = re.compile(r"^(\*|_)(?![\s*_])(.+?)(?<![\s*_])\1$", re.DOTALL)


def _wholly_italic(text: str) -> bool:
    match = _ITALIC.match(text.strip())
    return bool(match) and match.group(1) not in match.group(2).replace("\\" + match.group(1), "")


_LINK = re.compile(r"!?\[([^\]]*)\]\([^)]*\)")
_ESCAPED = re.compile(r"\\([\\`*_{}\[\]()>#+\-.!|])")
_EMPHASIS = re.compile(r"(?<!\\)(\*\*|__|\*|_)(?=\S)(.+?)(?<=\S)\1")


def plain_text(markdown: str) -> str:
    """The text of one line of Markdown as a reader sees it: links and emphasis unwrapped, escapes
    undone, entities for `&` and `<` read back."""
    text = _LINK.sub(r"\1", markdown)
    previous = None
    while previous != text:
        previous, text = text, _EMPHASIS.sub(r"\2", text)
    text = _ESCAPED.sub(r"\1", text).replace("&lt;", "<").replace("&amp;", "&")
    return " ".join(text.split())


# -- dates in any common form ----------------------------------------------------------------------
DATE_LANGUAGES = (
    "en de fr es it pt nl sv da nb nn fi et pl cs sk sl hr sr bs ro hu tr el ru uk be bg mk ar fa ur he "
    "hi bn ta te ml kn mr gu pa si th vi id ms fil sw am ja zh ko ca eu gl ga cy is lv lt sq hy ka az kk "
    "uz mn ne km lo my"
).split()
"""The languages whose month names (from CLDR, through Babel) a byline's date may use."""

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
    `22/01/2026` when the day is over 12 (else it could be either order and is not taken)."""
    text = line.strip().strip(".,")
    for pattern, order in ((_ISO, "ymd"), (_YEAR_FIRST, "ymd"), (_EAST_ASIAN, "ymd")):
        match = pattern.match(text)
        if match:
            return _checked(*(int(match.group(1 + order.index(part))) for part in "ymd"))
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
    from datetime import date

    try:
        return date(year, month, day).isoformat(), language
    except ValueError:
        return None


def _worded_date(text: str, language: str) -> tuple[str, str] | None:
    tokens = _TOKEN.findall(text)
    if not 3 <= len(tokens) <= 8 or len(text) > 60:
        return None
    numbers = [token for token in tokens if token.isdigit()]
    words = [token for token in tokens if not token.isdigit()]
    years = [token for token in numbers if len(token) == 4]
    days = [token for token in numbers if len(token) <= 2]
    if len(years) != 1 or len(days) != 1 or len(numbers) != 2:
        return None
    names = _month_names()
    months = [(word, names[word.casefold()]) for word in words if word.casefold() in names]
    if len(months) != 1:
        return None
    word, by_language = months[0]
    others = [w for w in words if w is not word]
    weekdays = _weekday_names()
    # Besides the month, only short joining words (de, del, г, r, of) and a weekday may stand there.
    if any(len(other) > 3 and other.casefold() not in weekdays for other in others) or len(others) > 3:
        return None
    month_numbers = set(by_language.values())
    if language and language.split("-")[0] in by_language:
        month = by_language[language.split("-")[0]]
    elif len(month_numbers) == 1:
        month = month_numbers.pop()
    else:
        return None
    only = next(iter(by_language)) if len(by_language) == 1 else ""
    return _checked(int(years[0]), month, int(days[0]), only)


_MONTHS: dict[str, dict[str, int]] | None = None
_WEEKDAYS: set[str] | None = None


def _month_names() -> dict[str, dict[str, int]]:
    """Month name (case-folded, wide and abbreviated, both grammatical contexts) -> {language: month}."""
    global _MONTHS
    if _MONTHS is None:
        from babel import Locale

        names: dict[str, dict[str, int]] = {}
        for code in DATE_LANGUAGES:
            locale = Locale.parse(code)
            for context in ("format", "stand-alone"):
                for width in ("wide", "abbreviated"):
                    for month, name in locale.months[context][width].items():
                        key = name.casefold().rstrip(".")
                        if key and not key.isdigit():
                            names.setdefault(key, {})[code] = month
        _MONTHS = names
    return _MONTHS


def _weekday_names() -> set[str]:
    global _WEEKDAYS
    if _WEEKDAYS is None:
        from babel import Locale

        names: set[str] = set()
        for code in DATE_LANGUAGES:
            for context in ("format", "stand-alone"):
                for width in ("wide", "abbreviated"):
                    names.update(
                        name.casefold().rstrip(".") for name in Locale.parse(code).days[context][width].values()
                    )
        _WEEKDAYS = names
    return _WEEKDAYS


# -- running headers, footers and page numbers -----------------------------------------------------
EDGE_LINES = 3
"""How many lines at the top and at the bottom of a page may be a running header or footer."""
_DIGITS = re.compile(r"\d+")


def drop_running_lines(pages: list[list[str]], repairs: Repairs) -> list[list[str]]:
    """Pages of lines without their running headers and footers: a line repeated at the same place
    (among the first or last EDGE_LINES lines) on most pages, its numbers aside (so `Page 3 of 7`,
    `3/7`, a browser's print header with its date and title, and the address in its footer), and a
    bare page number that counts up with the pages. Needs two pages at least; counted in `repairs`.

    For readers that know pages (PDF, and text with form feeds)."""
    if len(pages) < 2:
        return [list(page) for page in pages]
    seen: Counter[tuple[str, int, str]] = Counter()
    for page in pages:
        for key in set(_edge_keys(page)):
            seen[key[:3]] += 1
    running = {key for key, count in seen.items() if count >= 2 and count * 2 > len(pages)}
    numbered = _counting_page_numbers(pages)
    result: list[list[str]] = []
    for number, page in enumerate(pages, start=1):
        drop: set[int] = set()
        for edge, position, shape, index in _edge_keys(page):
            if (edge, position, shape) in running:
                drop.add(index)
        for index in numbered.get(number - 1, ()):
            if index not in drop:
                repairs.add(PAGE_NUMBERS, f"page {number}")
                drop.add(index)
        if drop - set(numbered.get(number - 1, ())):
            repairs.add(RUNNING_LINES, f"page {number}", len(drop - set(numbered.get(number - 1, ()))))
        result.append([line for index, line in enumerate(page) if index not in drop])
    return result


def _edge_keys(page: list[str]) -> list[tuple[str, int, str, int]]:
    """(edge, position from that edge, the line with its numbers as #, its index) for the first
    and last EDGE_LINES lines with text."""
    indexes = [index for index, line in enumerate(page) if line.strip()]
    keys = []
    for position, index in enumerate(indexes[:EDGE_LINES]):
        keys.append(("top", position, _shape(page[index]), index))
    for position, index in enumerate(reversed(indexes[-EDGE_LINES:])):
        keys.append(("bottom", position, _shape(page[index]), index))
    return keys


def _shape(line: str) -> str:
    return _DIGITS.sub("#", " ".join(line.split())).casefold()


_BARE_NUMBER = re.compile(r"^\W{0,3}(\d{1,4})\W{0,3}$")


def _counting_page_numbers(pages: list[list[str]]) -> dict[int, list[int]]:
    """Lines that are only a number, at a page's top or bottom, where the number minus the page's
    index is the same on most pages (printed page numbers need not start at 1)."""
    offsets: Counter[int] = Counter()
    candidates: dict[int, list[tuple[int, int]]] = {}
    for page_index, page in enumerate(pages):
        for *_, index in _edge_keys(page):
            match = _BARE_NUMBER.match(page[index].strip())
            if match:
                offset = int(match.group(1)) - page_index
                candidates.setdefault(page_index, []).append((offset, index))
        for offset in {offset for offset, _ in candidates.get(page_index, [])}:
            offsets[offset] += 1
    if not offsets:
        return {}
    offset, count = offsets.most_common(1)[0]
    if count < 2 or count * 2 <= len(pages):
        return {}
    return {
        page_index: sorted({index for found, index in found_lines if found == offset})
        for page_index, found_lines in candidates.items()
    }

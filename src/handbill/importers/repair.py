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
from collections.abc import Callable, Iterable
from typing import Protocol

from .dates import parse_date
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
    # Titles first (a bold line may be the title), then the byline while its lines are lines, then
    # the wrapped lines and the paragraphs split by breaks.
    steps = (_normalise_characters, _bold_lines_to_titles, _byline, _rejoin_wrapped_lines, _join_split_paragraphs)
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


_BROKEN_WORD = re.compile(r"\w+-[ \t]*\n[ \t]*\w+")


def known_words(texts: Iterable[str]) -> set[str]:
    """Every word (hyphenated compounds whole) the texts hold within a line, case-folded; the
    halves of a word broken at a line's end are left out, so a break does not vouch for itself."""
    words: set[str] = set()
    for text in texts:
        words.update(_WORD.findall(_BROKEN_WORD.sub(" ", text).casefold()))
    return words


WORD_TAIL = 200
"""How far back from a line's end a broken word is looked for (no word is longer)."""


def join_hyphenated(left: str, right: str, words: set[str]) -> tuple[str, bool]:
    """`left` ends in a hyphen at a line's (or page's) end and `right` goes on: the two joined.
    The hyphen stays (`military-` + `presidential`), unless the word is known from elsewhere in the
    document without it and never with it: then it was only a break. Returns (text, dropped)."""
    if hyphen_is_a_break(left, right, words):
        return left[:-1] + right, True
    return left + right, False


def hyphen_is_a_break(left: str, right: str, words: set[str]) -> bool:
    """Whether the hyphen ending `left` only broke the word that `right` goes on with."""
    before = _LINE_END_HYPHEN.search(left[-WORD_TAIL:])
    after = _LINE_START_WORD.match(right[:WORD_TAIL])
    if not (before and after):
        return False
    whole = (before.group(1) + after.group()).casefold()
    compound = f"{before.group(1)}-{after.group()}".casefold()
    return whole in words and compound not in words


def _continues_word(line: str, following: str) -> bool:
    """A line ending `letter-` before a line starting with a letter: one word broken at the end."""
    return (
        line.endswith("-")
        and bool(_LINE_END_HYPHEN.search(line[-WORD_TAIL:]))
        and bool(_LINE_START_WORD.match(following[:WORD_TAIL]))
    )


def rejoin_lines(text: str, words: Callable[[], set[str]], repairs: Repairs, place: str) -> str:
    """The lines of one paragraph as one line; a Markdown hard break (two spaces or a backslash at
    a line's end) is kept, since the author wrote it."""
    lines = text.split("\n")
    if len(lines) == 1:
        return text
    pieces = [lines[0]]  # one per line, joined once at the end: linear time however many lines
    joined = dropped = 0
    for line in lines[1:]:
        line = line.lstrip(" \t")
        tail = pieces[-1]
        if tail.endswith((" ", "\\")) and _HARD_BREAK.search(tail[-WORD_TAIL:]):
            pieces.append("\n" + line)
            continue
        joined += 1
        if tail.endswith("-") and _continues_word(tail, line):
            if hyphen_is_a_break(tail, line, words()):
                pieces[-1] = tail[:-1]
                dropped += 1
            pieces.append(line)
        else:
            pieces[-1] = tail.rstrip(" \t")
            pieces.append(" " + line)
    repairs.add(WRAPPED, place, joined)
    repairs.add(HYPHENS_DROPPED, place, dropped)
    return "".join(pieces)


def _rejoin_wrapped_lines(document: Document, repairs: Repairs) -> None:
    blocks = [block for block in document.blocks if block.kind in ("paragraph", "heading")]
    if not any("\n" in block.text for block in blocks):
        return
    known: list[set[str]] = []

    def words() -> set[str]:  # made when a line ends in a hyphen
        if not known:
            known.append(known_words(block.text for block in document.blocks if block.kind in _PROSE))
        return known[0]

    for block in blocks:
        if block.role == "byline":  # its lines are lines: an author, a date
            lines = block.text.split("\n")
            ended = [line if _HARD_BREAK.search(line) else line.rstrip() + "  " for line in lines[:-1]]
            block.text = "\n".join(ended + lines[-1:])
        else:
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


def continues_sentence(
    previous: str, following: str, finished_sentence: Callable[[], bool] | None = None, page_start: bool = False
) -> bool:
    """Whether paragraph `following` goes on with the sentence `previous` left unfinished: the
    previous ends without sentence-final punctuation, and the next starts a new page (`page_start`)
    or starts with a lowercase letter,
    or the previous ends with a comma or a dash, or (in scripts without case) the previous is
    running text (it has a finished sentence: `finished_sentence`, found when not given) ending in
    a letter or digit; so is long running text (MIN_RUNNING_CHARACTERS) ending in a word before a
    capital (`... the International Youth and` / `Students for Social Equality ...`)."""
    last, first = _last_character(previous), _first_character(following)
    if not last or not first or ends_sentence(previous):
        return False
    if unicodedata.category(first) == "Ll" or (page_start and first.isalnum()):
        return True
    if last in _CONTINUING or unicodedata.category(last) == "Pd":
        return first.isalnum()
    if unicodedata.category(first) in ("Lo", "Lu", "Lt") and (last.isalpha() or last.isdigit()):
        if unicodedata.category(first) != "Lo" and len(previous) < MIN_RUNNING_CHARACTERS:
            return False  # a short line ending in a word, before a capital: a title or a name
        return has_finished_sentence(previous) if finished_sentence is None else finished_sentence()
    return False


_COMMON_FINAL = re.compile("[.!?\u2026\u3002\uff01\uff1f\u061f\u06d4\u0964](?=.)", re.DOTALL)


def has_finished_sentence(text: str) -> bool:
    """Whether sentence-final punctuation stands anywhere in `text` but at its end."""
    text = text.rstrip()
    if _COMMON_FINAL.search(text):
        return True
    return any(unicodedata.category(c) == "Po" and c not in _NON_FINAL for c in text[:-1])


MIN_RUNNING_CHARACTERS = 100
"""Running text this long that ends in a word, not a sentence, was cut (two lines of a column)."""
MIN_FRAGMENT_CHARACTERS = 30
"""A page break cuts a paragraph at the foot of a full page or column: a shorter first part
(`Dear friends,` above `we meet at noon.`) is a line of its own, not a fragment."""


def _joinable(block: Block) -> bool:
    return block.kind == "paragraph" and not block.role and _bold_text(block) is None


class _Joined:
    """A paragraph being joined from the pieces a page or column break left; its text is put
    together once at the end, so a long run of joins stays linear."""

    def __init__(self, block: Block):
        self.block = block
        self.pieces = [block.text.strip()]
        self.joinable = _joinable(block) and "\n" not in self.pieces[0]
        self.length = len(self.pieces[0])
        self.finished = False
        self.checked = 0  # the pieces looked through for a finished sentence, each once

    def finished_sentence(self) -> bool:
        while not self.finished and self.checked < len(self.pieces):
            self.finished = has_finished_sentence(self.pieces[self.checked])
            self.checked += 1
        return self.finished

    def takes(self, block: Block) -> bool:
        if not (self.joinable and self.length >= MIN_FRAGMENT_CHARACTERS and _joinable(block)):
            return False
        return continues_sentence(self.pieces[-1], block.text, self.finished_sentence, block.page_start)

    def add(self, block: Block, words: set[str] | None) -> bool:
        """Join `block` on; whether a line-end hyphen was dropped (`words` given when one may be)."""
        tail, text = self.pieces[-1], block.text.strip()
        dropped = words is not None and hyphen_is_a_break(tail, text, words)
        if dropped:
            self.pieces[-1] = tail[:-1]
        self.pieces.append(text if _continues_word(tail, text) else " " + text)
        self.length += len(text)
        self.joinable = "\n" not in text
        return dropped

    def finish(self) -> Block:
        if len(self.pieces) > 1:
            self.block.text = "".join(self.pieces)
        return self.block


def _join_split_paragraphs(document: Document, repairs: Repairs) -> None:
    words: set[str] | None = None  # made when a paragraph ends in a hyphen
    kept: list[_Joined] = []
    for block in document.blocks:
        if kept and kept[-1].takes(block):
            if words is None and _continues_word(kept[-1].pieces[-1], block.text.strip()):
                words = known_words(b.text for b in document.blocks if b.kind in _PROSE)
            if kept[-1].add(block, words):
                repairs.add(HYPHENS_DROPPED, block.place)
            repairs.add(SPLIT_PARAGRAPHS, block.place)
            continue
        kept.append(_Joined(block))
    document.blocks = [joined.finish() for joined in kept]


# -- a bold line as a section title --------------------------------------------------------------
_HARD_BREAK_ANYWHERE = re.compile(r"(?: {2,}|\\)\n")
_BOLD = re.compile(r"^(\*\*|__)(?!\s)((?:(?!\1).)+?)(?<!\s)\1$")
_WHOLE_LINK = re.compile(r"^!?\[[^\]]*\]\([^)]*\)$")


def _bold_text(block: Block) -> str | None:
    """The text of a paragraph set wholly in bold (without its `**`), else None. A bold line
    wrapped over lines counts, its lines joined; one with a hard line break does not."""
    text = block.text.strip()
    if "\n" in text:
        if _HARD_BREAK_ANYWHERE.search(text):
            return None
        text = " ".join(line.strip() for line in text.split("\n"))
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
    bold = [block.kind == "paragraph" and _bold_text(block) is not None for block in blocks]
    for index, block in enumerate(blocks):
        if not bold[index]:
            continue
        text = _bold_text(block) or ""
        if len(plain_text(text)) > MAX_TITLE_CHARACTERS or _WHOLE_LINK.match(text):
            continue
        following = blocks[index + 1] if index + 1 < len(blocks) else None
        if following is None or following.kind in ("heading", "break", "rule") or bold[index + 1]:
            continue
        if index and bold[index - 1]:
            continue  # one of several bold paragraphs in a row: a bold passage, not a title
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
        if found_date:
            break  # the date closes the byline
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
    if match is None:
        return False
    return match.group(1) not in match.group(2).replace("\\" + match.group(1), "")


_LINK = re.compile(r"!?\[([^\]]*)\]\([^)]*\)")
_ESCAPED = re.compile(r"\\([\\`*_{}\[\]()>#+\-.!|])")
_EMPHASIS = re.compile(r"(?<!\\)(\*\*|__|\*|_)(?=\S)(.+?)(?<=\S)\1")


MAX_PLAIN_CHARACTERS = 2000
"""plain_text() reads titles, bylines and labels: only this much of a text is looked at."""


def plain_text(markdown: str) -> str:
    """The text of one line of Markdown as a reader sees it: links and emphasis unwrapped, escapes
    undone, entities for `&` and `<` read back (of its first MAX_PLAIN_CHARACTERS)."""
    text = _LINK.sub(r"\1", markdown[:MAX_PLAIN_CHARACTERS])
    previous = None
    while previous != text:
        previous, text = text, _EMPHASIS.sub(r"\2", text)
    text = _ESCAPED.sub(r"\1", text).replace("&lt;", "<").replace("&amp;", "&")
    return " ".join(text.split())


# -- running headers, footers and page numbers -----------------------------------------------------
EDGE_LINES = 3
"""How many lines at the top and at the bottom of a page may be a running header or footer."""
_DIGITS = re.compile(r"\d+")


def drop_running_lines(pages: list[list[str]], repairs: Repairs) -> list[list[str]]:
    """Pages of lines without their running headers and footers: a line found at the same place
    (among the first or last EDGE_LINES lines) on most pages, the same there but for numbers that
    count up with the pages (`Page 3 of 7`, `3/7`, a browser's print header with its date and
    title, the address in its footer); and a bare page number anywhere at a page's top or bottom
    that counts up with the pages. Needs two pages at least; each line dropped is counted.

    For readers that know pages (PDF, and text with form feeds)."""
    dropped = running_line_indexes(pages, repairs)
    return [
        [line for index, line in enumerate(page) if index not in gone]
        for page, gone in zip(pages, dropped, strict=True)
    ]


def running_line_indexes(pages: list[list[str]], repairs: Repairs) -> list[set[int]]:
    """The indexes, page by page, of the lines drop_running_lines() drops (counted in `repairs`)."""
    if len(pages) < 2:
        return [set() for _ in pages]
    numbered = _counting_page_numbers(pages)
    groups: dict[tuple[str, int, str], list[tuple[int, int]]] = {}
    for page_index, page in enumerate(pages):
        for edge, position, shape, index in _edge_keys(page):
            if index not in numbered.get(page_index, ()):
                groups.setdefault((edge, position, shape), []).append((page_index, index))
    running: dict[int, set[int]] = {}
    for found in groups.values():
        if len(found) >= 2 and len(found) * 2 > len(pages) and _same_or_counting(pages, found):
            for page_index, index in found:
                running.setdefault(page_index, set()).add(index)
    result: list[set[int]] = []
    for page_index in range(len(pages)):
        numbers = set(numbered.get(page_index, ()))
        others = running.get(page_index, set()) - numbers
        repairs.add(PAGE_NUMBERS, f"page {page_index + 1}", len(numbers))
        repairs.add(RUNNING_LINES, f"page {page_index + 1}", len(others))
        result.append(numbers | others)
    return result


def _edge_keys(page: list[str]) -> list[tuple[str, int, str, int]]:
    """(edge, position from that edge, the line with its numbers as #, its index) for the first
    and last EDGE_LINES lines with text (on a short page, the top and bottom do not overlap)."""
    indexes = [index for index, line in enumerate(page) if line.strip()]
    top = min(EDGE_LINES, len(indexes) // 2)
    bottom = min(EDGE_LINES, len(indexes) - top)
    keys = [("top", position, _shape(page[index]), index) for position, index in enumerate(indexes[:top])]
    tail = indexes[len(indexes) - bottom :]
    keys += [("bottom", position, _shape(page[index]), index) for position, index in enumerate(reversed(tail))]
    return keys


def _shape(line: str) -> str:
    return _DIGITS.sub("#", " ".join(line.split())).casefold()


def _same_or_counting(pages: list[list[str]], found: list[tuple[int, int]]) -> bool:
    """Lines of one shape are one running line when each of their numbers is the same on every
    page or counts up with the pages (a page number); a paragraph that merely looks alike is not."""
    values = [[int(number) for number in _DIGITS.findall(pages[page][index])] for page, index in found]
    for column in zip(*values, strict=True):
        if len(set(column)) == 1:
            continue
        if len({number - page for number, (page, _) in zip(column, found, strict=True)}) != 1:
            return False
    return True


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
                candidates.setdefault(page_index, []).append((int(match.group(1)) - page_index, index))
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

"""Plain text and Markdown (`.txt`, `.md`): blocks at blank lines, as the author wrote them.

A `.txt` file that is Markdown in all but name (headings, bold, links, backslash escapes: two
kinds of these at least) is read as Markdown; other text is literal, escaped so that nothing in
it reads as markup. In both, a wrapped line that begins like Markdown syntax (`1934.`, `- `,
`#`, `>`) is a continuation of its paragraph and stays text. A gap of blank lines larger than
the document's usual one between paragraphs is a section break. Form feeds are page breaks:
running headers and footers around them are dropped, and the pages' text flows on.
"""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path
from typing import Any

from ..config import XML_FORBIDDEN
from ..sources import UndecodableText, decode_text, split_front_matter
from .model import Block, Document, DocumentError, Metadata, Repairs, escape, escape_lines, escape_start
from .repair import running_line_indexes

MAX_LINES = 2_000_000
"""No text document has more lines than this (a 50 MB file of empty lines would); more is refused."""

FORM_FEEDS = "page breaks (form feeds) made paragraph breaks"
CONTROL = "control characters XML cannot hold removed"
ESCAPES = "backslash escapes that would print literally removed"

_MARKDOWN_SIGNS = (
    re.compile(r"^#{1,6}[ \t]+\S", re.MULTILINE),  # an ATX heading
    re.compile(r"(\*\*|__)\S[^\n]{0,300}?\S\1"),  # bold
    re.compile(r"\[[^\[\]\n]{1,300}\]\([^()\s]{1,2000}\)"),  # a link
    re.compile(r"^(```|~~~)", re.MULTILINE),  # a fenced code block
    re.compile(r"\\[$*_#\[\]().!`-]"),  # a backslash escape
)
_FENCE = re.compile(r"^[ \t]{0,3}(`{3,}|~{3,})")
_ATX = re.compile(r"^[ \t]{0,3}(#{1,6})(?:[ \t]+(.*?))?(?:[ \t]+#+)?[ \t]*$")
_SETEXT = re.compile(r"^[ \t]{0,3}(=+|-+)[ \t]*$")
_RULE = re.compile(r"^[ \t]{0,3}([-*_])(?:[ \t]*\1){2,}[ \t]*$")
_LIST_ITEM = re.compile(r"^[ \t]{0,3}(?:[-+*]|\d{1,9}[.)])[ \t]+\S")
_PLAIN_ITEM = re.compile(r"^[ \t]{0,3}(?:([-*+\u2022\u2023\u25e6\u2013])|(\d{1,9})[.)])[ \t]+(.*)$")
_TABLE_RULE = re.compile(r"^[ \t]*\|?[ \t]*:?-+:?[ \t]*(?:\|[ \t]*:?-+:?[ \t]*)*\|?[ \t]*$")
# A backslash before a character Python-Markdown does not escape prints as a backslash.
_ESCAPE = re.compile(r"\\(.)")
_ESCAPABLE = frozenset("\\`*_{}[]()>#+-.!|")
_CODE_SPAN = re.compile(r"(`+).+?\1", re.DOTALL)


def read(data: bytes, source: str, repairs: Repairs) -> Document:
    text = _decode(data, source)
    if text.count("\n") > MAX_LINES:
        raise DocumentError(f"has more than {MAX_LINES:,} lines; it cannot be a document", source)
    markdown = source.lower().endswith((".md", ".markdown")) or looks_like_markdown(text)
    metadata = Metadata()
    offset = 0
    if markdown and text.startswith("---"):
        meta, rest = split_front_matter(text, Path(source))
        if meta:
            offset = text.count("\n", 0, len(text) - len(rest))
            text = rest
            _front_matter_metadata(meta, metadata)
    lines, numbers, page_starts = _pages_flowed(text, repairs, offset)
    if any(XML_FORBIDDEN.search(line) for line in lines):
        found = [
            (number, len(XML_FORBIDDEN.findall(line)))
            for number, line in zip(numbers, lines, strict=True)
            if XML_FORBIDDEN.search(line)
        ]
        repairs.add(CONTROL, f"line {found[0][0]}", sum(count for _, count in found))
        lines = [XML_FORBIDDEN.sub("", line) for line in lines]
    blocks = _blocks(lines, numbers, markdown, repairs)
    for block in blocks:
        block.page_start = int(block.place.split()[-1]) in page_starts if block.place else False
    return Document(source=source, blocks=blocks, metadata=metadata, repairs=repairs)


def _front_matter_metadata(meta: dict[str, Any], metadata: Metadata) -> None:
    """What a Markdown file's front matter states: title, authors, date, language and the like."""

    def text(*keys: str) -> str:
        for key in keys:
            value: Any = meta.get(key)
            if hasattr(value, "isoformat"):  # YAML reads 2026-01-22 as a date
                value = value.isoformat()
            if isinstance(value, (str, int, float)) and str(value).strip():
                return str(value).strip()
        return ""

    metadata.title = text("title")
    metadata.subtitle = text("subtitle")
    authors = meta.get("authors", meta.get("author"))
    if isinstance(authors, str):
        authors = [authors]
    if isinstance(authors, list):
        metadata.authors = [str(author).strip() for author in authors if str(author).strip()]
    date = text("date")
    if re.fullmatch(r"\d{4}(?:-\d\d(?:-\d\d)?)?", date[:10]):
        metadata.date = date[:10]
    metadata.language = text("language", "lang")
    metadata.description = text("description")
    metadata.publisher = text("publisher")
    metadata.rights = text("rights")


def looks_like_markdown(text: str) -> bool:
    """Two different kinds of Markdown syntax at least (a heading, bold, a link, a fence, a backslash
    escape): one alone is as likely a plain text's own `#` or `**`."""
    sample = text[:200_000]
    return sum(1 for sign in _MARKDOWN_SIGNS if sign.search(sample)) >= 2


def _decode(data: bytes, source: str) -> str:
    try:
        return decode_text(data)
    except UndecodableText as error:
        raise DocumentError(
            f"line {error.line} is not UTF-8 text; save the file as UTF-8 and import it again", source
        ) from error


def _pages_flowed(text: str, repairs: Repairs, offset: int) -> tuple[list[str], list[int], set[int]]:
    """The text's lines, and each one's number in the file. Form feeds are page breaks: the
    running lines of the pages go, and the pages flow on, one blank line between them (a paragraph
    the break cut in two is joined again by the shared repairs; a page's own blank margins do not
    make a section break). Third, the numbers of the lines that start a page after the first."""
    if "\f" not in text:
        whole = text.split("\n")
        return whole, list(range(1 + offset, 1 + offset + len(whole))), set()
    pages = [page.split("\n") for page in text.split("\f")]
    first = text.count("\n", 0, text.index("\f")) + 1 + offset
    repairs.add(FORM_FEEDS, f"line {first}", len(pages) - 1)
    dropped = running_line_indexes(pages, repairs)
    lines: list[str] = []
    numbers: list[int] = []
    page_starts: set[int] = set()
    number = 1 + offset
    for page, gone in zip(pages, dropped, strict=True):
        kept = [(number + index, line) for index, line in enumerate(page) if index not in gone]
        while kept and not kept[0][1].strip():
            kept.pop(0)
        while kept and not kept[-1][1].strip():
            kept.pop()
        if kept:
            if lines:
                lines.append("")
                numbers.append(kept[0][0])
                page_starts.add(kept[0][0])
            numbers += [line_number for line_number, _ in kept]
            lines += [line for _, line in kept]
        number += len(page) - 1  # a form feed ends a page, not a line
    return lines, numbers, page_starts


class _Raw:
    """Lines of one block before they are read, with the blank lines before it."""

    def __init__(self, first_line: int, gap: int):
        self.first_line = first_line
        self.gap = gap
        self.lines: list[str] = []
        self.fenced = False


def _blocks(lines: list[str], numbers: list[int], markdown: bool, repairs: Repairs) -> list[Block]:
    raws: list[_Raw] = []
    current: _Raw | None = None
    fence = ""
    gap = 0
    for number, line in zip(numbers, lines, strict=True):
        if fence:
            current.lines.append(line)  # type: ignore[union-attr]
            if line.strip().startswith(fence) and not line.strip().strip(fence[0]):
                fence, current = "", None
            continue
        if not line.strip():
            current = None
            gap += 1
            continue
        opening = _FENCE.match(line) if markdown else None
        if opening and current is None:
            current = _Raw(number, gap)
            current.fenced = True
            current.lines.append(line)
            raws.append(current)
            fence, gap = opening.group(1), 0
            continue
        if current is None:
            current = _Raw(number, gap)
            raws.append(current)
            gap = 0
        current.lines.append(line)
    usual = Counter(raw.gap for raw in raws[1:]).most_common(1)
    threshold = max(2, usual[0][0] + 1) if usual else 2
    blocks: list[Block] = []
    for index, raw in enumerate(raws):
        if index and raw.gap >= threshold:
            blocks.append(Block("break", place=f"line {raw.first_line - 1}"))
        blocks.extend(_read_markdown(raw, repairs) if markdown else _read_plain(raw))
    return blocks


def _read_markdown(raw: _Raw, repairs: Repairs) -> list[Block]:
    place = f"line {raw.first_line}"
    lines = raw.lines
    if raw.fenced:
        return [Block("code", "\n".join(lines), place=place)]
    lines = [_without_literal_escapes(line, repairs, f"line {raw.first_line + n}") for n, line in enumerate(lines)]
    first = lines[0]
    heading = _ATX.match(first)
    if heading:
        blocks = [Block("heading", (heading.group(2) or "").strip(), level=len(heading.group(1)), place=place)]
        if len(lines) > 1:
            rest = _Raw(raw.first_line + 1, 0)
            rest.lines = raw.lines[1:]
            blocks += _read_markdown(rest, repairs)
        return [block for block in blocks if block.text or block.kind != "heading"]
    if len(lines) == 2 and _SETEXT.match(lines[1]) and not _LIST_ITEM.match(first):
        level = 1 if lines[1].strip().startswith("=") else 2
        return [Block("heading", first.strip(), level=level, place=place)]
    if len(lines) == 1 and _RULE.match(first):
        return [Block("rule", place=place)]
    if first.lstrip().startswith(">"):
        return [Block("quote", "\n".join(lines), place=place)]
    if _LIST_ITEM.match(first):
        return [Block("list", "\n".join(lines), place=place)]
    if all(line.startswith(("    ", "\t")) for line in lines):
        return [Block("code", "\n".join(raw.lines), place=place)]
    if len(lines) >= 2 and "|" in first and _TABLE_RULE.match(lines[1]) and "-" in lines[1]:
        return [Block("table", "\n".join(lines), place=place)]
    # A paragraph: its wrapped lines stay text, whatever they begin with.
    text = "\n".join([first] + [escape_start(line) for line in lines[1:]])
    return [Block("paragraph", text, place=place)]


def _without_literal_escapes(line: str, repairs: Repairs, place: str) -> str:
    """`\\$` and the like print their backslash in Markdown: the backslash goes (code spans aside)."""
    if "\\" not in line:
        return line
    pieces: list[str] = []
    position = 0
    removed = 0
    for span in [*_CODE_SPAN.finditer(line), None]:
        end = span.start() if span is not None else len(line)
        outside = line[position:end]

        def unescape(match: re.Match[str]) -> str:
            nonlocal removed
            if match.group(1) in _ESCAPABLE or match.group(1).isspace():
                return match.group(0)
            removed += 1
            return match.group(1)

        pieces.append(_ESCAPE.sub(unescape, outside))
        if span is not None:
            pieces.append(span.group())
            position = span.end()
    repairs.add(ESCAPES, place, removed)
    return "".join(pieces)


def _read_plain(raw: _Raw) -> list[Block]:
    """Literal text: a paragraph whose every line is escaped, or a list when every line (but
    indented continuations) begins with a bullet or a number."""
    place = f"line {raw.first_line}"
    items: list[str] = []
    for line in raw.lines:
        item = _PLAIN_ITEM.match(line)
        if item:
            marker = "-" if item.group(1) else f"{item.group(2)}."
            items.append(f"{marker} {escape(item.group(3))}")
        elif items and line[:1] in (" ", "\t"):
            items[-1] += " " + escape(line.strip())
        else:
            items = []
            break
    if len(items) >= 2:
        return [Block("list", "\n".join(items), place=place)]
    return [Block("paragraph", escape_lines("\n".join(line.rstrip() for line in raw.lines)), place=place)]

"""mdBook projects: `{{#include}}` and its kin in chapter text, and SUMMARY.md's outline.

In: a chapter's text (or SUMMARY.md) and the book's `BookConfig`. Out: the text with every
directive replaced by what it names (or removed, with a warning naming the file and line), and
the outline of chapters, nesting and part titles that becomes the table of contents.
"""

from __future__ import annotations

import logging
import re
from pathlib import Path
from typing import NamedTuple

from .config import BookConfig
from .errors import HandbillError
from .sources import MAX_SOURCE_BYTES, decode, read_source_bytes

log = logging.getLogger(__name__)

MAX_INCLUDE_DEPTH = 10
"""mdBook's own limit: an include inside an included file, and so on, ten deep."""
MAX_EXPANDED_BYTES = MAX_SOURCE_BYTES
"""A chapter with its includes is held to the size of the largest Markdown file handbill reads."""

# `\{{#include x}}` is the escaped, literal form; mdBook writes it without the backslash.
# Neither form holds a brace between its own, so each scan ends at the next `{` or `}`: linear
# time on a line of thousands of unclosed `{{#`.
_DIRECTIVE = re.compile(r"\\\{\{#[^{}\n]*\}\}|\{\{[ \t]*#([A-Za-z_][\w-]*)([^{}\n]*)\}\}")
_ANCHOR_LINE = re.compile(r"\bANCHOR(?:_END)?\s*:\s*[\w-]+")
_ANCHOR_START = r"\bANCHOR\s*:\s*{}\b"
_ANCHOR_END = r"\bANCHOR_END\s*:\s*{}\b"
_INCLUDING = ("include", "rustdoc_include", "playground")


def expand_includes(text: str, path: Path, config: BookConfig) -> str:
    """The chapter's text with mdBook's directives done, as mdBook's `links` preprocessor does."""
    budget = [MAX_EXPANDED_BYTES - len(text)]
    return _expand(text, path, config, (path.resolve(),), budget)


def _expand(text: str, path: Path, config: BookConfig, stack: tuple[Path, ...], budget: list[int]) -> str:
    if "{{" not in text:
        return text

    def replace(found: re.Match[str]) -> str:
        whole = found.group(0)
        if whole.startswith("\\"):
            return whole[1:]
        # counted on from the last directive: matches come in order, and a recount from the
        # start for each would be quadratic in a file of many directives
        position[1] += text.count("\n", position[0], found.start())
        position[0] = found.start()
        line = position[1]
        name, argument = found.group(1), found.group(2).strip()
        if name == "title":
            return ""  # the HTML page's title: an EPUB chapter takes its heading
        if name not in _INCLUDING:
            unknown.append((line, name))
            return ""
        included = _include(name, argument, path, line, config, stack, budget)
        return "" if included is None else included

    unknown: list[tuple[int, str]] = []
    position = [0, 1]  # offset and line number of the last directive seen
    expanded = _DIRECTIVE.sub(replace, text)
    if unknown:
        line, name = unknown[0]
        more = f" (and {len(unknown) - 1} more)" if len(unknown) > 1 else ""
        log.warning("%s:%d: unknown mdBook directive {{#%s}}%s; removed", path, line, name, more)
    return expanded


def _include(
    name: str, argument: str, path: Path, line: int, config: BookConfig, stack: tuple[Path, ...], budget: list[int]
) -> str | None:
    where = f"{path}:{line}"
    target_text, _, selection = argument.partition(":")
    target_text = target_text.strip()
    if name == "playground":
        target_text = target_text.split()[0] if target_text.split() else ""
    if not target_text:
        log.warning("%s: {{#%s}} names no file; removed", where, name)
        return None
    target = path.parent / target_text
    if not config.may_read(target):
        log.warning("%s: {{#%s %s}} is outside the book's project folder; removed", where, name, target_text)
        return None
    if not target.is_file():
        log.warning("%s: {{#%s %s}}: no such file; removed", where, name, target_text)
        return None
    resolved = target.resolve()
    if resolved in stack:
        log.warning("%s: {{#%s %s}} includes itself (a cycle); removed", where, name, target_text)
        return None
    if len(stack) > MAX_INCLUDE_DEPTH:
        log.warning(
            "%s: {{#%s %s}} is nested more than %d includes deep; removed", where, name, target_text, MAX_INCLUDE_DEPTH
        )
        return None
    try:
        if target.stat().st_size > 4 * budget[0]:  # four bytes a character at most
            limit = MAX_EXPANDED_BYTES >> 20
            log.warning("%s: {{#%s %s}} makes the chapter larger than %d MB; removed", where, name, target_text, limit)
            return None
        content = decode(read_source_bytes(target), target)
    except (HandbillError, OSError) as error:
        reason = error.format_message() if isinstance(error, HandbillError) else error.strerror or str(error)
        log.warning("%s: {{#%s %s}}: %s; removed", where, name, target_text, reason)
        return None
    selected = _select(content, selection.strip(), where, name, target_text)
    if selected is None:
        return None
    budget[0] -= len(selected)
    if budget[0] < 0:
        log.warning(
            "%s: {{#%s %s}} makes the chapter larger than %d MB; removed",
            where,
            name,
            target_text,
            MAX_EXPANDED_BYTES >> 20,
        )
        return None
    return _expand(selected, target, config, (*stack, resolved), budget)


def _select(content: str, selection: str, where: str, name: str, target: str) -> str | None:
    """The lines a range (`2`, `:10`, `2:`, `2:10`) or an anchor names, without any anchor lines.

    `rustdoc_include` shows only the selected lines too: mdBook hides the rest of the file
    behind `#` in the HTML book, and an e-book has no button to show them.
    """
    lines = content.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    if not selection:
        chosen = lines
    elif re.fullmatch(r"\d*(?::\d*)?", selection):
        start_text, colon, end_text = selection.partition(":")
        start = max(int(start_text) - 1, 0) if start_text else 0
        if not colon:
            end = start + 1  # `file:2` is line 2 alone
        else:
            end = int(end_text) if end_text else len(lines)
        chosen = lines[start:end]
    else:
        anchor = re.escape(selection)
        begin = next((n for n, text in enumerate(lines) if re.search(_ANCHOR_START.format(anchor), text)), None)
        if begin is None:
            log.warning(
                "%s: {{#%s %s:%s}}: no 'ANCHOR: %s' in %s; removed", where, name, target, selection, selection, target
            )
            return None
        end = next(
            (n for n in range(begin + 1, len(lines)) if re.search(_ANCHOR_END.format(anchor), lines[n])), len(lines)
        )
        chosen = lines[begin + 1 : end]
    return "\n".join(text for text in chosen if not _ANCHOR_LINE.search(text))


_HIDDEN_FENCE = re.compile(r"^(\s*)(```+|~~~+)\s*rust\b[^\n]*$")


def hide_rust_lines(text: str) -> str:
    """Lines mdBook hides in Rust code blocks (`# ` at the start, or a lone `#`) are left out:
    they are there for the compiler, and an e-book has no button to show them."""
    if "```" not in text and "~~~" not in text:
        return text
    out: list[str] = []
    fence: str | None = None
    for line in text.split("\n"):
        if fence is None:
            opened = _HIDDEN_FENCE.match(line)
            if opened:
                fence = opened.group(2)
            out.append(line)
            continue
        stripped = line.strip()
        if stripped.startswith(fence[0] * len(fence)) and set(stripped) <= {fence[0]}:
            fence = None
            out.append(line)
        elif stripped == "#" or stripped.startswith("# "):
            continue
        elif stripped.startswith("##"):
            out.append(line.replace("##", "#", 1))  # mdBook's escape for a line that starts with `#`
        else:
            out.append(line)
    return "\n".join(out)


class OutlineEntry(NamedTuple):
    """One line of SUMMARY.md: a chapter (with its file), a draft (no file) or a part title."""

    title: str
    path: Path | None
    children: tuple[OutlineEntry, ...] = ()
    part: bool = False


_LIST_ITEM = re.compile(r"^(?P<indent>[ \t]*)(?:[-*+]|\d+[.)])[ \t]+(?P<rest>.*)$")
_HEADING = re.compile(r"^#{1,6}[ \t]+(?P<title>.*\S)")
_LINK = re.compile(r"^\[(?P<title>(?:[^\[\]\\]|\\.)*)\]\((?P<target>[^()\s]*)\)")


def summary_outline(text: str, summary: Path) -> tuple[OutlineEntry, ...]:
    """SUMMARY.md as mdBook reads it: prefix chapters, numbered chapters nested by indentation,
    `# Part` titles between the lists, suffix chapters; separators, the title line and other
    headings skipped."""

    class Node:
        def __init__(self, title: str, path: Path | None, part: bool = False):
            self.title, self.path, self.part = title, path, part
            self.children: list[Node] = []

    root: list[Node] = []
    container = root
    stack: list[tuple[int, Node]] = []
    seen_entry = False
    for line in text.split("\n"):
        heading = _HEADING.match(line)
        if heading:
            # mdBook: the heading before any link is the summary's title; after that, only a
            # level-1 heading is a part title (GitBook's `### Section` lines are not)
            if seen_entry and line.startswith("# "):
                title = _unescape(heading.group("title").rstrip(" \t#")) or heading.group("title")
                part = Node(title, None, part=True)
                root.append(part)
                container = part.children
            stack = []
            continue
        item = _LIST_ITEM.match(line)
        rest = item.group("rest") if item else line.strip()
        link = _LINK.match(rest.strip())
        if link is None:
            continue
        seen_entry = True
        target = link.group("target").split("#")[0]
        web = re.match(r"^[A-Za-z][A-Za-z0-9+.-]*:", target)
        node = Node(_unescape(link.group("title")), summary.parent / target if target and not web else None)
        if item is None:
            # a prefix or suffix chapter: outside any part
            root.append(node)
            stack = []
            if root and any(entry.part for entry in root):
                container = root
            continue
        indent = len(item.group("indent").expandtabs(4))
        while stack and stack[-1][0] >= indent:
            stack.pop()
        (stack[-1][1].children if stack else container).append(node)
        stack.append((indent, node))

    def frozen(nodes: list[Node]) -> tuple[OutlineEntry, ...]:
        return tuple(OutlineEntry(node.title, node.path, frozen(node.children), node.part) for node in nodes)

    return frozen(root)


def _unescape(title: str) -> str:
    return re.sub(r"\\(.)", r"\1", title).strip()

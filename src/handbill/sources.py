"""Find a book's Markdown files, put them in reading order, and read them as clean text."""

from __future__ import annotations

import functools
import logging
import os
import re
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import Any, NamedTuple

from .config import XML_FORBIDDEN as _XML_FORBIDDEN
from .config import BookConfig, is_inside
from .errors import SourceError
from .languages import language_tag

log = logging.getLogger(__name__)

MARKDOWN_SUFFIXES = (".md", ".markdown", ".mdown", ".mkd")
SUMMARY_NAME = "SUMMARY.md"

# Neither a title nor a target holds a `[` (an escaped one included), so the scan from each `[`
# ends at the next one: linear time on any line (a line of 50,000 `[` took minutes with a pattern
# that allowed them). A title with `\[` in it is matched from that bracket on: only the target counts.
_SUMMARY_LINK = re.compile(r"\[(?P<title>(?:[^\[\]\\]|\\[^\[])*)\]\((?P<target>[^()\s\[\]]*)\)")
_FRONT_MATTER_END = re.compile(r"^(?:---|\.\.\.)[ \t]*$", re.MULTILINE)


class SourceDocument(NamedTuple):
    """One Markdown file, decoded, with its front matter split off."""

    path: Path
    name: str
    """The path relative to the book folder, with forward slashes: how links name it."""
    text: str
    meta: dict[str, Any]
    language: str = "en"
    """The language its text is in: its front matter's `language`, else the book's."""


class Manuscript(NamedTuple):
    """The book's source files in reading order, each read only when it is wanted."""

    config: BookConfig
    paths: tuple[Path, ...]
    outline: tuple[Any, ...] | None = None
    """SUMMARY.md's chapters, nesting and part titles (`mdbook.OutlineEntry`), when it decides the order."""

    @property
    def names(self) -> list[str]:
        return [_name(path, self.config.root) for path in self.paths]

    @property
    def size(self) -> int:
        """Bytes of Markdown in all."""
        if self.config.files is not None:
            return sum(len(self.config.files[path.resolve()]) for path in self.paths)
        return sum(path.stat().st_size for path in self.paths)

    def documents(self) -> Iterator[SourceDocument]:
        mdbook = self.outline is not None or self.config.mdbook
        for path in self.paths:
            data = None
            if self.config.files is not None:
                data = book_file_bytes(self.config, path, MAX_SOURCE_BYTES, "a Markdown file may be; split it")
            document = read_document(path, self.config.root, self.config.language, data)
            if mdbook and "{{" in document.text:
                from .mdbook import expand_includes

                document = document._replace(text=expand_includes(document.text, path, self.config))
            if mdbook:
                from .mdbook import hide_rust_lines

                document = document._replace(text=hide_rust_lines(document.text))
            yield document


def read_manuscript(config: BookConfig) -> Manuscript:
    """Find every source document of the book and put them in reading order."""
    paths = tuple(_chapter_paths(config))
    summary = config.root / SUMMARY_NAME
    outline = None
    if not config.source.is_file() and config.chapters is None and summary.is_file():
        from .mdbook import summary_outline

        outline = summary_outline(decode(read_source_bytes(summary), summary), summary)
    return Manuscript(config=config, paths=paths, outline=outline)


def _chapter_paths(config: BookConfig) -> list[Path]:
    if config.files is None and config.source.is_file():
        return [config.source]
    if config.chapters is not None:
        where = config.config_file or config.root
        for path in config.chapters:
            if not is_book_file(config, path):
                raise SourceError(f"chapter file {path.name!r} does not exist", where)
            _check_inside(path, config, where)
        if not config.chapters:
            raise SourceError("'chapters' lists no files", where)
        return list(config.chapters)
    if config.files is not None:
        raise SourceError("lists no chapters", config.source)  # an imported book always lists them
    summary = config.root / SUMMARY_NAME
    if summary.is_file():
        return _summary_paths(summary, config)
    paths = sorted(
        (
            path
            for path in config.root.rglob("*")
            if path.suffix.lower() in MARKDOWN_SUFFIXES
            and path.is_file()
            and path.name != SUMMARY_NAME
            and not any(part.startswith(".") for part in path.relative_to(config.root).parts)
            and _stays_inside(path, config.root)
        ),
        key=lambda path: _natural_key(path.relative_to(config.root).as_posix()),
    )
    if not paths:
        raise SourceError("no Markdown files (*.md) found", config.root)
    return paths


def _summary_paths(summary: Path, config: BookConfig) -> list[Path]:
    """Chapter files in the order an mdBook SUMMARY.md lists them (drafts without a path skipped)."""
    text = decode(read_source_bytes(summary), summary)
    paths: list[Path] = []
    for number, line in enumerate(text.splitlines(), start=1):
        for link in _SUMMARY_LINK.finditer(line):
            target = link.group("target").split("#")[0]
            if not target or re.match(r"^[A-Za-z][A-Za-z0-9+.-]*:", target):
                continue  # a draft without a file, or a web page: not part of the book
            path = summary.parent / target
            if not path.is_file():
                raise SourceError(f"lists {target!r}, which does not exist", summary, number)
            _check_inside(path, config, summary, number)
            if path not in paths:
                paths.append(path)
    if not paths:
        raise SourceError("lists no chapter files", summary)
    return paths


def _check_inside(path: Path, config: BookConfig, where: Path, line: int | None = None) -> None:
    if not config.may_read(path):
        raise SourceError(f"{str(path)!r} is outside the book's project folder", where, line)


def _stays_inside(path: Path, root: Path) -> bool:
    """A symlink that leads out of the book folder (or into a hidden folder) is not part of the book."""
    if is_inside(path, (root,)):
        return True
    log.warning("%s: leads outside the book folder; left out", path)
    return False


def _natural_key(name: str) -> list[Any]:
    return [int(part) if part.isdigit() else part.lower() for part in re.split(r"(\d+)", name)]


def read_document(path: Path, root: Path, language: str = "en", data: bytes | None = None) -> SourceDocument:
    """Read one Markdown file (or its bytes, when held in memory): decode, normalise line endings,
    split front matter."""
    whole = decode(read_source_bytes(path) if data is None else data, path)
    meta, text = split_front_matter(whole, path)
    return SourceDocument(
        path=path, name=_name(path, root), text=text, meta=meta, language=_text_language(meta, whole, path, language)
    )


def _text_language(meta: dict[str, Any], whole: str, path: Path, book_language: str) -> str:
    """Front matter's `language` (or `lang`), checked as every tag is: `de_DE` repaired with a
    warning, an impossible tag an error naming the file and line; else the book's language."""
    key = "language" if meta.get("language") not in (None, "") else "lang"
    value = meta.get(key)
    if value is None or value == "":
        return book_language
    found = re.search(rf"^{key}[ \t]*:", whole[: whole.find("\n---", 3) + 1], re.MULTILINE | re.IGNORECASE)
    line = whole.count("\n", 0, found.start()) + 1 if found else None
    return language_tag(value, path, line, what=key)


MAX_SOURCE_BYTES = 20 * 1024 * 1024
"""The largest Markdown file handbill reads (20 MB): rendering takes about ten times a file's size
in memory, and a book's chapters are seldom over 1 MB."""

MAX_RESOURCE_BYTES = 50 * 1024 * 1024
"""The largest image, font, stylesheet or cover handbill reads (50 MB): Send to Kindle takes no
larger book, and no reader wants one."""


def read_source_bytes(path: Path) -> bytes:
    """A source file's bytes; one over MAX_SOURCE_BYTES is refused by name before it is read."""
    return read_limited(path, MAX_SOURCE_BYTES, "a Markdown file may be; split it")


def read_limited(path: Path, limit: int = MAX_RESOURCE_BYTES, what: str = "a file of a book may be") -> bytes:
    """A regular file's bytes, refused by name (SourceError) when over `limit`, before it is read."""
    try:
        with path.open("rb") as file:
            info = os.fstat(file.fileno())
            if not stat.S_ISREG(info.st_mode):
                raise SourceError("is not a regular file", path)
            # a file that grows while it is read is cut short all the same
            if info.st_size > limit or len(data := file.read(limit + 1)) > limit:
                raise SourceError(f"is larger than {limit // (1024 * 1024)} MB, the most {what}", path)
            return data
    except OSError as error:
        raise SourceError(f"cannot be read ({error.strerror})", path) from error


def is_book_file(config: BookConfig, path: Path) -> bool:
    """Whether the book has this file: in memory for an imported document, else on disk."""
    if config.files is not None:
        return path.resolve() in config.files
    return path.is_file()


def book_file_bytes(
    config: BookConfig, path: Path, limit: int = MAX_RESOURCE_BYTES, what: str = "a file of a book may be"
) -> bytes:
    """A file of the book: from memory for an imported document, else read_limited()."""
    if config.files is None:
        return read_limited(path, limit, what)
    data = config.files.get(path.resolve())
    if data is None:
        raise SourceError("does not exist", path)
    if len(data) > limit:
        raise SourceError(f"is larger than {limit // (1024 * 1024)} MB, the most {what}", path)
    return data


def _name(path: Path, root: Path) -> str:
    return path.relative_to(root).as_posix() if path.is_relative_to(root) else path.name


def decode(data: bytes, path: Path) -> str:
    """UTF-8 (with or without BOM) or BOM-marked UTF-16; anything else is refused by name."""
    try:
        text = decode_text(data)
    except UndecodableText as error:
        raise SourceError("is not UTF-8 text; save it as UTF-8 and build again", path, error.line) from error
    return _drop_forbidden(text, path)


class UndecodableText(ValueError):
    """Bytes that are neither UTF-8 nor BOM-marked UTF-16, from `line` (counted from 1) on."""

    def __init__(self, line: int):
        super().__init__(f"not UTF-8 text from line {line}")
        self.line = line


def decode_text(data: bytes) -> str:
    """UTF-8 (with or without BOM) or BOM-marked UTF-16, its line ends made `\\n`: the one reading
    of text files, Markdown sources and imported documents alike."""
    encoding = "utf-16" if data.startswith((b"\xff\xfe", b"\xfe\xff")) else "utf-8-sig"
    try:
        text = data.decode(encoding)
    except UnicodeDecodeError as error:
        raise UndecodableText(data[: error.start].count(b"\n") + 1) from error
    return text.replace("\r\n", "\n").replace("\r", "\n")


def _drop_forbidden(text: str, path: Path) -> str:
    found = _XML_FORBIDDEN.search(text)
    if found is None:
        return text
    line = text.count("\n", 0, found.start()) + 1
    count = len(_XML_FORBIDDEN.findall(text))
    log.warning(
        "%s:%d: removed %d control character(s) that XML does not allow (first: U+%04X)",
        path,
        line,
        count,
        ord(found.group()),
    )
    return _XML_FORBIDDEN.sub("", text)


_SIMPLE_LINE = re.compile(
    r"""^([A-Za-z_][\w-]*):[ \t]*(?:"((?:[^"\\]|\\["\\])*)"|'((?:[^']|'')*)'|([^\s"'#&*!|>%@`{\[,-][^#:]*?|))[ \t]*$"""
)


_YAML_WORDS = {
    "true": True,
    "yes": True,
    "on": True,
    "false": False,
    "no": False,
    "off": False,
    "null": None,
    "~": None,
    "": None,
}


def _simple_front_matter(block: str) -> dict[str, Any] | None:
    """Flat `key: value` lines, read without YAML (whose import costs start-up); None otherwise."""
    meta: dict[str, Any] = {}
    for line in block.splitlines():
        if not line.strip():
            continue
        match = _SIMPLE_LINE.match(line)
        if match is None:
            return None
        key, double, single, plain = match.groups()
        if double is not None:
            value: Any = double.replace('\\"', '"').replace("\\\\", "\\")
        elif single is not None:
            value = single.replace("''", "'")
        else:
            plain = plain.strip()
            if re.fullmatch(r"-?\d{1,18}", plain):
                value = int(plain)
            elif plain.lower() in _YAML_WORDS:
                value = _YAML_WORDS[plain.lower()]
            elif re.match(r"^[-+.\d]", plain):
                return None  # numbers, dates: YAML's rules
            else:
                value = plain
        meta[key.lower()] = value
    return meta


def split_front_matter(text: str, path: Path) -> tuple[dict[str, Any], str]:
    """YAML between `---` lines at the very top is the document's metadata, not its text."""
    if not re.match(r"---[ \t]*\n", text):
        return {}, text
    start = text.index("\n") + 1
    end = _FRONT_MATTER_END.search(text, start)
    if end is None:
        return {}, text  # a lone thematic break, not front matter
    block = text[start : end.start()]
    if not re.search(r"^[A-Za-z_][\w-]*[ \t]*:", block, re.MULTILINE):
        return {}, text  # a thematic break and a setext heading, not metadata
    rest_start = text.find("\n", end.end())
    rest = "" if rest_start == -1 else text[rest_start + 1 :]
    if len(block) > MAX_FRONT_MATTER_BYTES or len(block.encode("utf-8")) > MAX_FRONT_MATTER_BYTES:
        raise SourceError(f"front matter is larger than {MAX_FRONT_MATTER_BYTES // 1024} KB", path, 2)
    simple = _simple_front_matter(block)
    if simple is not None:
        return simple, rest
    import yaml  # only front matter beyond flat `key: value` lines pays for it

    try:
        meta = yaml.load(block, Loader=_front_matter_loader()) if block.strip() else {}
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        line = mark.line + 2 if mark is not None else 1
        problem = getattr(error, "problem", None) or "invalid YAML"
        raise SourceError(f"front matter: {problem}", path, line) from error
    if not isinstance(meta, dict):
        return {}, text  # not metadata after all: the lines are Markdown
    return {str(key).lower(): value for key, value in meta.items()}, rest


MAX_FRONT_MATTER_BYTES = 64 * 1024
"""Front matter is a few lines of metadata; more than this is refused, unread."""
MAX_FRONT_MATTER_DEPTH = 20
"""Lists and mappings nested deeper than this in front matter are refused."""


@functools.cache
def _front_matter_loader() -> type:
    """YAML's safe loader without aliases (`*name`: 345 bytes of them expand to gigabytes, the
    "billion laughs") and with nesting bounded; a value YAML cannot make (`2026-02-30`, an
    integer of 5,000 digits) is an error at its line."""
    import yaml

    class Loader(yaml.SafeLoader):
        depth = 0

        def compose_node(self, parent: Any, index: Any) -> Any:
            if self.check_event(yaml.AliasEvent):
                event = self.peek_event()
                raise yaml.composer.ComposerError(
                    None, None, f"aliases (*{event.anchor}) are not allowed", event.start_mark
                )
            self.depth += 1
            try:
                if self.depth > MAX_FRONT_MATTER_DEPTH:
                    raise yaml.composer.ComposerError(
                        None,
                        None,
                        f"nested more than {MAX_FRONT_MATTER_DEPTH} levels deep",
                        self.peek_event().start_mark,
                    )
                return super().compose_node(parent, index)
            finally:
                self.depth -= 1

        def construct_object(self, node: Any, deep: bool = False) -> Any:
            try:
                return super().construct_object(node, deep)
            except (ValueError, OverflowError) as error:
                value = str(node.value)
                shown = value if len(value) <= 30 else value[:30] + "..."
                problem = f"{shown!r} is not valid here ({str(error).split(';')[0]})"
                raise yaml.constructor.ConstructorError(None, None, problem, node.start_mark) from error

    return Loader

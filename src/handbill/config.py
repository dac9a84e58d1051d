"""Read a book's settings: `book.toml` beside the Markdown, then command-line overrides.

Every problem found is reported at once, in one error that names the file.
"""

from __future__ import annotations

import logging
import re
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from pathlib import Path
from typing import Any, NamedTuple

from .errors import ConfigError
from .languages import repaired_language_tag

log = logging.getLogger(__name__)

CONFIG_NAME = "book.toml"
MAX_CONFIG_BYTES = 1024 * 1024
"""No book's settings come near this; a larger book.toml is refused unread."""

PROJECT_MARKERS = (".git", "pyproject.toml", ".handbill")
"""What marks a project folder: a book inside it may use files anywhere in it (see `project_root`)."""

XML_FORBIDDEN = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
"""Characters no XML document may hold, whatever the encoding (a form feed is enough to break a
book), and lone surrogates, which no encoding can write."""

_DATE = re.compile(r"^\d{4}(?:-\d{2}(?:-\d{2})?)?$")
_TIMESTAMP = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$")
EARLIEST_YEAR, LATEST_YEAR = 1980, 2107
"""The years a zip entry can record."""
_TOML_LINE = re.compile(r"at line (\d+)")


@dataclass(frozen=True)
class BookConfig:
    """Everything the build needs to know about a book besides its text."""

    source: Path
    """The book folder, or the single Markdown file, given on the command line."""
    root: Path
    """The folder that holds the book: images and links may not leave it (or `assets`)."""
    title: str | None = None
    """The book's title; when unset, the first heading of the Markdown is used."""
    subtitle: str | None = None
    authors: tuple[str, ...] = ()
    """Creators, in order (`author` in book.toml may be one string or a list)."""
    language: str = "en"
    """BCP 47 language tag of the book, such as `en` or `pt-BR`."""
    date: str | None = None
    """Publication date, `YYYY`, `YYYY-MM` or `YYYY-MM-DD`."""
    modified: str | None = None
    """Fixed `dcterms:modified` (`YYYY-MM-DDThh:mm:ssZ`); SOURCE_DATE_EPOCH wins over it."""
    identifier: str | None = None
    """Stable identifier (URN, ISBN, URL); when unset, one is derived from title and authors."""
    description: str | None = None
    publisher: str | None = None
    rights: str | None = None
    subjects: tuple[str, ...] = ()
    chapters: tuple[Path, ...] | None = None
    """Chapter files in reading order; when unset, SUMMARY.md or the file names decide."""
    cover: Path | None = None
    """Cover image; when unset, handbill draws one from the metadata."""
    stylesheets: tuple[Path, ...] = ()
    """Extra CSS files, added after handbill's own stylesheet."""
    assets: Path | None = None
    """A second folder images may come from (the repository's `assets/` for the default book)."""
    split_level: int | None = None
    """Start a new chapter at every heading of this level or above (1-6)."""
    toc_depth: int = 2
    """How many heading levels the table of contents shows."""
    accessibility_summary: str | None = None
    config_file: Path | None = None
    project: Path | None = None
    """The project folder (resolved) the book's settings may name files in; see `project_root`."""
    allow_outside: tuple[Path, ...] = ()
    """Files and folders outside the project the user named on the command line (`--allow-outside`)."""
    files: Mapping[Path, bytes] | None = field(default=None, compare=False, repr=False)
    """A book held in memory (an imported document): its files by resolved path. When set, the
    book's chapters and images are read from here only, never from the disk."""

    def may_embed(self, path: Path) -> bool:
        """Whether an image, font or stylesheet file may go into the book: inside the book folder or
        `assets` (symlinks followed, no hidden folder such as `.git`), or named with `--allow-outside`."""
        return is_inside(path, (self.root,) if self.assets is None else (self.root, self.assets), self.allow_outside)

    def may_read(self, path: Path) -> bool:
        """Whether the book may read `path` (a chapter, SUMMARY.md's links): inside the project
        folder after symlinks are followed, and not in a hidden folder there (`.git`, `.ssh`, ...),
        or inside something the user named with `--allow-outside`."""
        return is_inside(path, (self.project or self.root,), self.allow_outside)


def is_inside(path: Path, roots: tuple[Path, ...], allowed: tuple[Path, ...] = ()) -> bool:
    """`path`, symlinks followed, is inside a root and no hidden file or folder there, or is
    inside one of `allowed` (named by the user, so hidden names are fine)."""
    try:
        resolved = Path(path).resolve()
    except (OSError, RuntimeError, ValueError):
        return False
    for root in roots:
        root = root.resolve()
        if resolved.is_relative_to(root):
            if not any(part.startswith(".") for part in resolved.relative_to(root).parts):
                return True
    return any(resolved.is_relative_to(Path(extra).resolve()) for extra in allowed)


def project_root(book_root: Path) -> Path:
    """The folder a book may reach up to: the nearest folder at or above the book that holds a
    project marker (`.git`, `pyproject.toml` or an empty `.handbill` file), else the book folder
    itself. The home folder and the file system's root never count, even with a marker, so a
    book downloaded into `~/Downloads` cannot reach `~/.ssh`."""
    book_root = book_root.resolve()
    stops = {Path(book_root.anchor)}
    try:
        stops.add(Path.home().resolve())
    except (RuntimeError, KeyError, OSError):
        pass
    for folder in (book_root, *book_root.parents):
        if folder in stops:
            break
        if any((folder / marker).exists() for marker in PROJECT_MARKERS):
            return folder
    return book_root


def load_config(
    book: Path, allow_outside: tuple[Path, ...] = (), files: Mapping[str, bytes] | None = None, **overrides: Any
) -> BookConfig:
    """Read `book.toml` (when there is one) and apply overrides that are not None.

    `allow_outside`: files or folders outside the project that the book's settings may name
    (the user's own choice on the command line; a book folder cannot grant it to itself).
    `files`: the book folder's files by relative path, held in memory (an imported document);
    `book` is then only the name they are shown under, and nothing under it is read from disk."""
    book = Path(book)
    if files is not None:
        return _in_memory(book, files, tuple(allow_outside), overrides)
    try:
        exists = book.exists()
    except (OSError, ValueError) as error:  # a NUL byte or an over-long name
        raise ConfigError(f"is not a usable path ({error})", book) from error
    if not exists:
        raise ConfigError("no such book folder or Markdown file", book)
    root = book if book.is_dir() else book.parent
    project = project_root(root)
    config_file = root / CONFIG_NAME
    settings: dict[str, Any] = {}
    if config_file.is_file():
        settings = _read_toml(config_file)
        if isinstance(settings.get("book"), dict):
            settings, root = _from_mdbook(settings, root, config_file, project)
    else:
        config_file = None  # type: ignore[assignment]
    given = {key: value for key, value in overrides.items() if value not in (None, ())}
    settings.update(given)
    return _to_config(settings, book, root, config_file, frozenset(given), project, tuple(allow_outside))


def _in_memory(
    book: Path, files: Mapping[str, bytes], allow_outside: tuple[Path, ...], overrides: dict[str, Any]
) -> BookConfig:
    """A book folder held in memory: its settings from its `book.toml`, its files kept for the build."""
    resolved = book.resolve()
    memory = {resolved / name: data for name, data in files.items()}
    settings: dict[str, Any] = {}
    config_file = None
    if CONFIG_NAME in files:
        config_file = book / CONFIG_NAME
        settings = _parse_toml(files[CONFIG_NAME], config_file)
    given = {key: value for key, value in overrides.items() if value not in (None, ())}
    settings.update(given)
    config = _to_config(settings, book, book, config_file, frozenset(given), resolved, allow_outside)
    return replace(config, files=memory)


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        if path.stat().st_size > MAX_CONFIG_BYTES:
            raise ConfigError(f"is larger than {MAX_CONFIG_BYTES // 1024} KB; it cannot be a book's settings", path)
        data = path.read_bytes()
    except OSError as error:
        raise ConfigError(f"cannot be read ({error.strerror})", path) from error
    return _parse_toml(data, path)


def _parse_toml(data: bytes, path: Path) -> dict[str, Any]:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise ConfigError("is not valid UTF-8", path) from error
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        message = str(error)
        found = _TOML_LINE.search(message)
        line = int(found.group(1)) if found else None
        message = _TOML_LINE.sub("", message).replace("(, column", "(column").strip(" ()")
        message = re.sub(r"\s*\(\s*column \d+\)|\s*\(\)", "", message)
        raise ConfigError(f"invalid TOML: {message}", path, line) from error
    except RecursionError as error:
        raise ConfigError("invalid TOML: nested too deeply", path) from error


def _from_mdbook(settings: dict[str, Any], root: Path, config_file: Path, project: Path) -> tuple[dict[str, Any], Path]:
    """An mdBook project: its [book] table holds the metadata, its sources are in `src/`
    (a `src` that leads out of the project folder is refused)."""
    book = settings["book"]
    mapped = {key: book[key] for key in ("title", "authors", "language", "description") if key in book}
    source_folder = book.get("src", "src")
    if isinstance(source_folder, str) and source_folder.strip():
        folder = root / source_folder
        if not is_inside(folder, (project,)):
            raise ConfigError(f"[book] src {source_folder!r} leads outside the book's project folder", config_file)
        if folder.is_dir():
            root = folder
    if "multilingual" in book:
        log.debug("mdBook's 'multilingual' setting is not used")
    return mapped, root


class _Invalid(Exception):
    """A setting's value is not what its key needs; the message says what is."""


class _Reading(NamedTuple):
    """What a setting's validator may need to know besides the value."""

    key: str
    where: Path
    base: Path
    """The folder paths in book.toml are relative to."""


def _text(value: Any, reading: _Reading) -> str | None:
    if not isinstance(value, str):
        raise _Invalid("must be a string")
    return _printable(value.strip(), reading) or None


def _texts(value: Any, reading: _Reading) -> tuple[str, ...]:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, (list, tuple)) or not all(isinstance(item, str) for item in value):
        raise _Invalid("must be a string or a list of strings")
    return tuple(_printable(item.strip(), reading) for item in value if item.strip())


def _language(value: Any, reading: _Reading) -> str | None:
    tag = _text(value, reading)
    if tag is None:
        return None
    problems: list[str] = []
    tag = check_language(tag, problems, reading.where)
    if problems:
        raise _Invalid(f"{_shown(tag)} is not a BCP 47 language tag such as 'en' or 'pt-BR'")
    return tag


def _date(value: Any, reading: _Reading) -> str | None:
    """`YYYY`, `YYYY-MM` or `YYYY-MM-DD`, a day that exists, in the years a zip can record."""
    text = _text(value if isinstance(value, str) else str(value), reading)  # TOML reads 2026-01-22 as a date
    if text is None:
        return None
    if _DATE.match(text):
        pieces = [int(piece) for piece in text.split("-")] + [1, 1]
        try:
            date(*pieces[:3])
            if EARLIEST_YEAR <= pieces[0] <= LATEST_YEAR:
                return text
        except ValueError:
            pass
    raise _Invalid(f"must be a real date from {EARLIEST_YEAR} to {LATEST_YEAR} like 2026-01-22, not {_shown(text)}")


def _timestamp(value: Any, reading: _Reading) -> str | None:
    text = _text(value, reading)
    if text is None:
        return None
    if _TIMESTAMP.match(text):
        try:
            if EARLIEST_YEAR <= datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").year <= LATEST_YEAR:
                return text
        except ValueError:
            pass
    raise _Invalid(
        f"must be a real UTC time from {EARLIEST_YEAR} to {LATEST_YEAR} like 2026-01-22T12:00:00Z, not {_shown(text)}"
    )


def _level(value: Any, reading: _Reading) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 6:
        raise _Invalid("must be a whole number from 1 to 6")
    return value


def _path(value: Any, reading: _Reading) -> Path:
    if isinstance(value, Path):
        return value
    if not isinstance(value, str) or not value.strip():
        raise _Invalid("must be a path")
    return reading.base / value


def _paths(value: Any, reading: _Reading) -> tuple[Path, ...]:
    return tuple(reading.base / name for name in _texts(value, reading))


class Setting(NamedTuple):
    """One key of book.toml: how its value is read and checked, and what it means."""

    read: Callable[[Any, _Reading], Any]
    help: str
    field: str | None = None
    """The BookConfig field it sets, when that is not the key itself (`author` sets `authors`)."""


SETTINGS: dict[str, Setting] = {
    "title": Setting(_text, "The book's title; default: the first `#` heading."),
    "subtitle": Setting(_text, "A subtitle, shown on the cover and title page."),
    "authors": Setting(_texts, "One name or a list, in order."),
    "author": Setting(_texts, "The same as `authors`.", "authors"),
    "language": Setting(_language, "BCP 47 tag such as `en` or `pt-BR`; `en_US` is corrected with a warning."),
    "date": Setting(_date, "Publication date: `2026-01-22`, `2026-01` or `2026`, from 1980 to 2107."),
    "modified": Setting(_timestamp, "A fixed `dcterms:modified`, `2026-01-22T12:00:00Z`."),
    "identifier": Setting(_text, "A stable identifier (URN, ISBN, URL); default: derived from title and authors."),
    "description": Setting(_text, "Library metadata: what the book is about."),
    "publisher": Setting(_text, "Library metadata."),
    "rights": Setting(_text, "Library metadata: the licence or copyright."),
    "subjects": Setting(_texts, "Library metadata: one subject or a list."),
    "accessibility_summary": Setting(_text, "Replaces handbill's generated EPUB Accessibility summary."),
    "chapters": Setting(_paths, "Chapter files in reading order, relative to book.toml."),
    "cover": Setting(_path, "Cover image (JPEG or PNG; others are converted); default: one drawn from the metadata."),
    "stylesheets": Setting(_paths, "Extra CSS (one file or a list), added after handbill's own."),
    "stylesheet": Setting(_paths, "The same as `stylesheets`.", "stylesheets"),
    "assets": Setting(_path, "A second folder images may come from."),
    "split_level": Setting(_level, "Start a chapter at every heading of this level or above (1-6)."),
    "toc_depth": Setting(_level, "Heading levels shown in the table of contents (1-6; default 2)."),
}
"""Every key book.toml may hold, declared once: the reader, the check and the help are here."""

_NAMED_FILES = ("cover", "assets", "stylesheets", "chapters")
"""Settings that name files: each must stay inside the book's project (see `project_root`)."""


def _to_config(
    settings: dict[str, Any],
    source: Path,
    root: Path,
    config_file: Path | None,
    overrides: frozenset[str],
    project: Path,
    allow_outside: tuple[Path, ...],
) -> BookConfig:
    """Read every setting through its declaration; every problem is reported at once."""
    problems: list[str] = []
    where = config_file or source
    base = config_file.parent if config_file else root

    unknown = sorted(set(settings) - SETTINGS.keys())
    if unknown:
        problems.append(
            f"unknown setting(s): {', '.join(key if key.isprintable() else _shown(key) for key in unknown)}"
        )
    values: dict[str, Any] = {}
    for key, value in settings.items():
        if key not in SETTINGS:
            continue
        setting = SETTINGS[key]
        field = setting.field or key
        if field in values and field != key:
            continue  # `authors` wins over `author`, `stylesheets` over `stylesheet`
        try:
            read = setting.read(value, _Reading(key, where, base))
        except _Invalid as problem:
            problems.append(f"'{key}' {problem}")
            continue
        if read is not None:
            values[field] = read

    # Every file the settings name stays inside the project; what the command line names may not.
    for key in _NAMED_FILES:
        named = values.get(key)
        if named is None or key in overrides:
            continue
        for path in named if isinstance(named, tuple) else (named,):
            if not is_inside(path, (project,), allow_outside):
                problems.append(
                    f"'{key}' {_shown(str(path))} is outside the book's project folder {_shown(str(project))}"
                    " (pass --allow-outside PATH to allow it)"
                )
    if problems:
        raise ConfigError("; ".join(problems), where)
    return BookConfig(
        source=source, root=root, config_file=config_file, project=project, allow_outside=allow_outside, **values
    )


def _shown(text: str) -> str:
    """A name or value as one printable line: quoted, with control characters escaped."""
    return repr(text)


def _printable(value: str, reading: _Reading) -> str:
    """Metadata without the characters XML cannot hold (they would empty the field or break the book)."""
    if XML_FORBIDDEN.search(value) is None:
        return value
    log.warning("%s: '%s' holds control characters XML does not allow; removed", reading.where, reading.key)
    return XML_FORBIDDEN.sub("", value)


def check_language(tag: str, problems: list[str], where: Path | None = None) -> str:
    """The tag, repaired from `en_US` to `en-US` with a warning; a problem when it is no tag."""
    repaired = repaired_language_tag(tag)
    if repaired is None:
        problems.append(f"'language' {_shown(tag)} is not a BCP 47 language tag such as 'en' or 'pt-BR'")
        return tag
    if repaired != tag:
        log.warning("%slanguage %s is not a BCP 47 tag; using %r", f"{where}: " if where else "", _shown(tag), repaired)
    return repaired

"""Read a book's settings: `book.toml` beside the Markdown, then command-line overrides.

Every problem found is reported at once, in one error that names the file.
"""

from __future__ import annotations

import logging
import re
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .errors import ConfigError

log = logging.getLogger("handbill")

CONFIG_NAME = "book.toml"

# A well-formed BCP 47 tag, simplified: primary language, then subtags of 1-8 letters or digits.
_LANGUAGE_TAG = re.compile(r"^[A-Za-z]{2,3}(?:-[A-Za-z0-9]{1,8})*$|^[xXiI](?:-[A-Za-z0-9]{1,8})+$")
_DATE = re.compile(r"^\d{4}(?:-\d{2}(?:-\d{2})?)?$")
_TIMESTAMP = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$")
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

    @property
    def allowed_roots(self) -> tuple[Path, ...]:
        """Folders whose files may be read into the book."""
        roots = [self.root]
        if self.assets is not None:
            roots.append(self.assets)
        return tuple(roots)


_STRING_KEYS = {
    "title",
    "subtitle",
    "language",
    "date",
    "modified",
    "identifier",
    "description",
    "publisher",
    "rights",
    "accessibility_summary",
}
_LIST_KEYS = {"authors", "subjects"}
_PATH_KEYS = {"cover", "assets"}
_KNOWN_KEYS = (
    _STRING_KEYS
    | _LIST_KEYS
    | _PATH_KEYS
    | {
        "author",
        "chapters",
        "stylesheet",
        "stylesheets",
        "split_level",
        "toc_depth",
    }
)


def load_config(book: Path, **overrides: Any) -> BookConfig:
    """Read `book.toml` (when there is one) and apply overrides that are not None."""
    book = Path(book)
    if not book.exists():
        raise ConfigError("no such book folder or Markdown file", book)
    root = book if book.is_dir() else book.parent
    config_file = root / CONFIG_NAME
    settings: dict[str, Any] = {}
    if config_file.is_file():
        settings = _read_toml(config_file)
        if isinstance(settings.get("book"), dict):
            settings, root = _from_mdbook(settings, root)
    else:
        config_file = None  # type: ignore[assignment]
    given = {key: value for key, value in overrides.items() if value not in (None, ())}
    settings.update(given)
    return _to_config(settings, book, root, config_file, frozenset(given))


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise ConfigError("is not valid UTF-8", path) from error
    except OSError as error:
        raise ConfigError(f"cannot be read ({error.strerror})", path) from error
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        message = str(error)
        found = _TOML_LINE.search(message)
        line = int(found.group(1)) if found else None
        message = _TOML_LINE.sub("", message).replace("(, column", "(column").strip(" ()")
        message = re.sub(r"\s*\(\s*column \d+\)|\s*\(\)", "", message)
        raise ConfigError(f"invalid TOML: {message}", path, line) from error


def _from_mdbook(settings: dict[str, Any], root: Path) -> tuple[dict[str, Any], Path]:
    """An mdBook project: its [book] table holds the metadata, its sources are in `src/`."""
    book = settings["book"]
    mapped = {key: book[key] for key in ("title", "authors", "language", "description") if key in book}
    source_folder = book.get("src", "src")
    if isinstance(source_folder, str) and (root / source_folder).is_dir():
        root = root / source_folder
    if "multilingual" in book:
        log.debug("mdBook's 'multilingual' setting is not used")
    return mapped, root


def _to_config(
    settings: dict[str, Any],
    source: Path,
    root: Path,
    config_file: Path | None,
    overrides: frozenset[str] = frozenset(),
) -> BookConfig:
    problems: list[str] = []
    where = config_file or source

    unknown = sorted(set(settings) - _KNOWN_KEYS)
    if unknown:
        problems.append(f"unknown setting(s): {', '.join(unknown)}")

    values: dict[str, Any] = {}
    for key in _STRING_KEYS & settings.keys():
        value = settings[key]
        if key == "date" and not isinstance(value, str):
            value = str(value)  # TOML reads 2026-01-22 as a date
        if not isinstance(value, str):
            problems.append(f"'{key}' must be a string")
        elif value.strip():
            values[key] = value.strip()

    authors = settings.get("authors", settings.get("author"))
    if authors is not None:
        values["authors"] = _string_list(authors, "authors", problems)
    if "subjects" in settings:
        values["subjects"] = _string_list(settings["subjects"], "subjects", problems)

    if "language" in values:
        values["language"] = _check_language(values["language"], problems)
    if "date" in values and not _DATE.match(values["date"]):
        problems.append(f"'date' must look like 2026-01-22, not {values['date']!r}")
    if "modified" in values and not _TIMESTAMP.match(values["modified"]):
        problems.append("'modified' must look like 2026-01-22T12:00:00Z")

    for key in ("split_level", "toc_depth"):
        if key in settings:
            number = settings[key]
            if isinstance(number, bool) or not isinstance(number, int) or not 1 <= number <= 6:
                problems.append(f"'{key}' must be a whole number from 1 to 6")
            else:
                values[key] = number

    base = config_file.parent if config_file else root
    for key in _PATH_KEYS & settings.keys():
        value = settings[key]
        if isinstance(value, Path):
            values[key] = value
        elif isinstance(value, str) and value.strip():
            values[key] = base / value
        else:
            problems.append(f"'{key}' must be a path")
    if "chapters" in settings:
        names = _string_list(settings["chapters"], "chapters", problems)
        values["chapters"] = tuple(base / name for name in names)
    sheets = settings.get("stylesheets", settings.get("stylesheet"))
    if sheets is not None:
        values["stylesheets"] = tuple(base / name for name in _string_list(sheets, "stylesheets", problems))

    config_paths = [values[key] for key in ("cover",) if key in values and key not in overrides]
    config_paths += list(values.get("stylesheets", ()))
    roots = [root.resolve()] + ([values["assets"].resolve()] if "assets" in values else [])
    for path in config_paths:
        if not any(path.resolve().is_relative_to(allowed) for allowed in roots):
            problems.append(f"{str(path)!r} is outside the book folder (and its 'assets' folder)")
    if problems:
        raise ConfigError("; ".join(problems), where)
    return BookConfig(source=source, root=root, config_file=config_file, **values)


def _string_list(value: Any, key: str, problems: list[str]) -> tuple[str, ...]:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, (list, tuple)) or not all(isinstance(item, str) for item in value):
        problems.append(f"'{key}' must be a string or a list of strings")
        return ()
    return tuple(item.strip() for item in value if item.strip())


def _check_language(tag: str, problems: list[str]) -> str:
    if _LANGUAGE_TAG.match(tag):
        return tag
    repaired = tag.replace("_", "-").split(".")[0]
    if _LANGUAGE_TAG.match(repaired):
        log.warning("language %r is not a BCP 47 tag; using %r", tag, repaired)
        return repaired
    problems.append(f"'language' {tag!r} is not a BCP 47 language tag such as 'en' or 'pt-BR'")
    return tag

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

from .errors import ConfigError, HandbillError
from .languages import DIRECTIONS, EXAMPLE, VERTICAL_LANGUAGES, WRITING_MODES, check_labels, primary_language
from .languages import language_tag as _language_tag
from .model import Contributor

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
    author_sorts: tuple[str | None, ...] = ()
    """Each author's `file-as` name (`{name = "Karl Marx", file_as = "Marx, Karl"}`), where given."""
    translators: tuple[Contributor, ...] = ()
    editors: tuple[Contributor, ...] = ()
    illustrators: tuple[Contributor, ...] = ()
    contributors: tuple[Contributor, ...] = ()
    """Anyone else credited, each with a MARC relator role."""
    series: str | None = None
    series_index: str | None = None
    """The book's number in its series, such as `2` or `2.5`."""
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
    fonts: str = "auto"
    """Embed font subsets: `auto` (for scripts readers lack), `embed` (every non-Latin script), `none`."""
    """How many heading levels the table of contents shows."""
    direction: str | None = None
    """`rtl` or `ltr` when book.toml says so; otherwise the language's script decides."""
    writing_mode: str | None = None
    """`vertical-rl` for Japanese, Chinese or Korean set top to bottom; None: horizontal."""
    labels: tuple[tuple[str, str], ...] = ()
    """book.toml's `[labels]`: words handbill writes itself, replaced (key, text)."""
    accessibility_summary: str | None = None
    bibliography: Path | None = None
    """BibTeX (`.bib`) or CSL-JSON (`.json`) references that `[@key]` citations name."""
    csl: Path | None = None
    """A CSL style for citations and the references; default: an author-date style (Harvard)."""
    work: str | None = None
    """Marks editions of one work (translations): books with the same key are listed together."""
    mdbook: bool = False
    """An mdBook project (book.toml with a [book] table): `{{#include}}` and its kin are done."""
    keep_image_metadata: bool = False
    """Keep images' EXIF, XMP, IPTC and PNG text (GPS position, camera, owner); default: removed."""
    config_file: Path | None = None
    project: Path | None = None
    """The project folder (resolved) the book's settings may name files in; see `project_root`."""
    allow_outside: tuple[Path, ...] = ()
    """Files and folders outside the project the user named on the command line (`--allow-outside`)."""
    files: Mapping[Path, bytes] | None = field(default=None, compare=False, repr=False)
    """A book held in memory (an imported document): its files by resolved path. When set, the
    book's chapters and images are read from here only, never from the disk."""

    @property
    def credited(self) -> tuple[Contributor, ...]:
        """Everyone credited besides the authors: translators, editors, illustrators, then the rest."""
        return self.translators + self.editors + self.illustrators + self.contributors

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
    mdbook = False
    if config_file.is_file():
        settings = _read_toml(config_file)
        if isinstance(settings.get("book"), dict):
            settings, root = _from_mdbook(settings, root, config_file, project)
            mdbook = True
    else:
        config_file = None  # type: ignore[assignment]
    if book.is_file():
        # A single file's own metadata fills what book.toml leaves unset: book.toml is the
        # settings file the author keeps beside it, and the command line wins over both.
        present = {SETTINGS[key].field or key for key in settings if key in SETTINGS}
        for key, value in _front_matter_settings(book, root).items():
            if key not in present:
                settings[key] = value
    given = {key: value for key, value in overrides.items() if value not in (None, ())}
    settings.update(given)
    config = _to_config(settings, book, root, config_file, frozenset(given), project, tuple(allow_outside))
    return replace(config, mdbook=True) if mdbook else config


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
    (a `src` that leads out of the project folder is refused); `[output.epub]` (mdbook-epub's
    table) gives the cover image (relative to `src`, as there) and extra stylesheets."""
    book = settings["book"]
    mapped = {key: book[key] for key in ("title", "authors", "language", "description") if key in book}
    source_folder = book.get("src", "src")
    sources = root
    if isinstance(source_folder, str) and source_folder.strip():
        folder = root / source_folder
        if not is_inside(folder, (project,)):
            raise ConfigError(f"[book] src {source_folder!r} leads outside the book's project folder", config_file)
        if folder.is_dir():
            sources = folder
    output = settings.get("output")
    epub = output.get("epub") if isinstance(output, dict) else None
    if isinstance(epub, dict):
        cover = epub.get("cover-image")
        if isinstance(cover, str) and cover.strip():
            mapped["cover"] = str(sources / cover)
        css = epub.get("additional-css")
        if isinstance(css, str):
            css = [css]
        if isinstance(css, list) and all(isinstance(name, str) for name in css) and css:
            mapped["stylesheets"] = css  # relative to book.toml, as mdBook's own
        ignored = sorted(set(epub) - {"cover-image", "additional-css", "use-default-css", "command", "optional"})
        if ignored:
            log.debug("[output.epub] %s not used", ", ".join(ignored))
    if "multilingual" in book:
        log.debug("mdBook's 'multilingual' setting is not used")
    return mapped, sources


FRONT_MATTER_KEYS = {
    "title": "title",
    "subtitle": "subtitle",
    "author": "authors",
    "authors": "authors",
    "lang": "language",
    "language": "language",
    "date": "date",
    "description": "description",
    "abstract": "description",
    "rights": "rights",
    "copyright": "rights",
    "publisher": "publisher",
    "subject": "subjects",
    "subjects": "subjects",
    "keywords": "subjects",
    "identifier": "identifier",
    "cover-image": "cover",
    "cover_image": "cover",
    "cover": "cover",
    "series": "series",
    "series_index": "series_index",
    "series-index": "series_index",
    "translator": "translators",
    "translators": "translators",
    "editor": "editors",
    "editors": "editors",
    "illustrator": "illustrators",
    "illustrators": "illustrators",
    "contributors": "contributors",
    "toc-depth": "toc_depth",
    "toc_depth": "toc_depth",
}
"""A single Markdown file's front matter keys (pandoc's names, and book.toml's) and the setting each sets."""
CHAPTER_KEYS = frozenset({"type", "toc"})
"""Front matter keys a chapter reads for itself (`title` and `language` too, for a chapter of a folder)."""
_FRONT_MATTER_HEAD = 96 * 1024
"""Front matter is at most 64 KB (sources.MAX_FRONT_MATTER_BYTES); only the file's head is read for it."""


def _front_matter_settings(path: Path, root: Path) -> dict[str, Any]:
    """The book settings a single Markdown file's front matter holds; a value that is not valid
    for its setting, and a key that is no setting, each get a warning naming the file."""
    from .sources import decode, split_front_matter  # sources reads a BookConfig: imported here

    if path.suffix.lower() not in (".md", ".markdown", ".mdown", ".mkd", ".txt"):
        return {}
    try:
        with path.open("rb") as file:
            head = file.read(_FRONT_MATTER_HEAD)
    except OSError:
        return {}  # reading the text reports it
    if not head.lstrip(b"\xef\xbb\xbf").startswith(b"---"):
        return {}
    try:
        meta, _ = split_front_matter(decode(head, path), path)
    except HandbillError:
        return {}  # reading the whole text reports the problem where it is
    settings: dict[str, Any] = {}
    unknown = []
    for key, value in meta.items():
        setting_key = FRONT_MATTER_KEYS.get(key)
        if setting_key is None:
            if key not in CHAPTER_KEYS:
                unknown.append(key)
            continue
        if value is None or setting_key in settings:
            continue
        if setting_key in ("authors", "translators", "editors", "illustrators", "contributors"):
            value = _pandoc_people(value)
        try:
            SETTINGS[setting_key].read(value, _Reading(setting_key, path, root))
        except _Invalid as problem:
            log.warning("%s: front matter '%s' %s; ignored", path, key, problem)
            continue
        settings[setting_key] = value
    if unknown:
        log.warning(
            "%s: front matter key(s) %s are not book settings; ignored (known: %s)",
            path,
            ", ".join(_shown(key) for key in unknown),
            ", ".join(sorted(FRONT_MATTER_KEYS)),
        )
    return settings


def _pandoc_people(value: Any) -> Any:
    """pandoc's `author: [{name: ..., affiliation: ...}]`: the name (and file_as) is what a book's metadata holds."""
    if not isinstance(value, list):
        return value
    return [
        {key: item[key] for key in ("name", "file_as", "file-as", "role") if key in item}
        if isinstance(item, dict)
        else item
        for item in value
    ]


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


def _person(value: Any, reading: _Reading, role: str) -> Contributor | None:
    """A name, or a table `{name = "...", file_as = "...", role = "..."}` (role only in `contributors`)."""
    if isinstance(value, str):
        name = _printable(value.strip(), reading)
        return Contributor(name, role) if name else None
    if not isinstance(value, dict):
        raise _Invalid('must be a name or a list of names or of tables like {name = "...", file_as = "..."}')
    allowed = {"name", "file_as", "file-as"} | ({"role"} if reading.key == "contributors" else set())
    unknown = sorted(set(value) - allowed)
    if unknown:
        shown = ", ".join(_shown(str(key)) for key in unknown)
        raise _Invalid(f"has unknown key(s) {shown} (known: {', '.join(sorted(allowed))})")
    name = _text(value.get("name", ""), reading) or ""
    if not name:
        raise _Invalid("names someone without a 'name'")
    file_as = _text(value.get("file_as", value.get("file-as", "")), reading)
    if "role" in value:
        role = _text(value["role"], reading) or ""
        from .relators import RELATOR_CODES  # read only by books that name roles

        if role.lower() not in RELATOR_CODES:
            raise _Invalid(
                f"role {_shown(role)} of {_shown(name)} is not a MARC relator code such as 'trl' (translator), "
                "'edt' (editor), 'ill' (illustrator) or 'ctb' (contributor)"
            )
        role = role.lower()
    return Contributor(name, role, file_as)


def _people(value: Any, reading: _Reading) -> tuple[Contributor, ...]:
    """Authors, translators, editors, illustrators or contributors: one or a list."""
    from .relators import ROLE_SETTINGS

    role = ROLE_SETTINGS.get(reading.key, "aut" if reading.key in ("author", "authors") else "ctb")
    items = value if isinstance(value, (list, tuple)) else [value]
    people = (_person(item, reading, role) for item in items)
    return tuple(person for person in people if person is not None)


def _series_index(value: Any, reading: _Reading) -> str | None:
    """A number, written as EPUB and Calibre want it: `2`, not `2.0`; `2.5` stays."""
    if isinstance(value, str) and re.fullmatch(r"\s*\d{1,6}(?:\.\d{1,4})?\s*", value):
        value = float(value)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value < 1_000_000:
        raise _Invalid(f"must be a number such as 2 or 2.5, not {_shown(str(value))}")
    return str(int(value)) if float(value).is_integer() else f"{value:g}"


def _language(value: Any, reading: _Reading) -> str | None:
    tag = _text(value, reading)
    if tag is None:
        return None
    problems: list[str] = []
    tag = check_language(tag, problems, reading.where)
    if problems:
        raise _Invalid(f"{_shown(tag)} is not a BCP 47 language tag {EXAMPLE}")
    return tag


def _one_of(*allowed: str) -> Callable[[Any, _Reading], str | None]:
    def read(value: Any, reading: _Reading) -> str | None:
        text = _text(value, reading)
        if text is None:
            return None
        if text.lower() not in allowed:
            raise _Invalid(f"must be {' or '.join(repr(word) for word in allowed)}, not {_shown(text)}")
        return text.lower()

    return read


def _labels(value: Any, reading: _Reading) -> tuple[tuple[str, str], ...]:
    return tuple(check_labels(value, reading.where).items())


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


def _fonts(value: Any, reading: _Reading) -> str:
    if value not in ("auto", "embed", "none"):
        raise _Invalid(f'must be "auto", "embed" or "none", not {_shown(str(value))}')
    return value


def _flag(value: Any, reading: _Reading) -> bool:
    if not isinstance(value, bool):
        raise _Invalid("must be true or false")
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
    "authors": Setting(
        _people, 'One name or a list, in order; a name may be a table `{name = "Karl Marx", file_as = "Marx, Karl"}`.'
    ),
    "author": Setting(_people, "The same as `authors`.", "authors"),
    "translators": Setting(_people, "Translators (role `trl`): names or `{name, file_as}` tables."),
    "editors": Setting(_people, "Editors (role `edt`): names or `{name, file_as}` tables."),
    "illustrators": Setting(_people, "Illustrators (role `ill`): names or `{name, file_as}` tables."),
    "contributors": Setting(
        _people,
        'Anyone else credited: `[{name = "...", role = "pfr", file_as = "..."}]`, `role` a MARC relator code'
        " (default `ctb`).",
    ),
    "series": Setting(_text, "The series the book belongs to (Calibre, Kobo and Apple Books group by it)."),
    "series_index": Setting(_series_index, "The book's number in its series: `2`, `2.5`."),
    "language": Setting(_language, "BCP 47 tag such as `en` or `pt-BR`; `en_US` is corrected with a warning."),
    "date": Setting(_date, "Publication date: `2026-01-22`, `2026-01` or `2026`, from 1980 to 2107."),
    "modified": Setting(_timestamp, "A fixed `dcterms:modified`, `2026-01-22T12:00:00Z`."),
    "identifier": Setting(_text, "A stable identifier (URN, ISBN, URL); default: derived from title and authors."),
    "description": Setting(_text, "Library metadata: what the book is about."),
    "publisher": Setting(_text, "Library metadata."),
    "rights": Setting(_text, "Library metadata: the licence or copyright."),
    "subjects": Setting(_texts, "Library metadata: one subject or a list."),
    "accessibility_summary": Setting(_text, "Replaces handbill's generated EPUB Accessibility summary."),
    "work": Setting(_text, "A key shared by the editions of one work (its translations); `serve` lists them together."),
    "chapters": Setting(_paths, "Chapter files in reading order, relative to book.toml."),
    "cover": Setting(_path, "Cover image (JPEG or PNG; others are converted); default: one drawn from the metadata."),
    "stylesheets": Setting(_paths, "Extra CSS (one file or a list), added after handbill's own."),
    "stylesheet": Setting(_paths, "The same as `stylesheets`.", "stylesheets"),
    "assets": Setting(_path, "A second folder images may come from."),
    "split_level": Setting(_level, "Start a chapter at every heading of this level or above (1-6)."),
    "toc_depth": Setting(_level, "Heading levels shown in the table of contents (1-6; default 2)."),
    "bibliography": Setting(_path, "References for `[@key]` citations: a BibTeX `.bib` or CSL-JSON `.json` file."),
    "csl": Setting(_path, "A CSL style file for citations and references; default: Harvard author-date."),
    "fonts": Setting(
        _fonts,
        "`embed`: a subset of a font for each non-Latin script, only the characters the book uses; `auto` "
        "(default): only for scripts e-ink readers lack (Sinhala, Tamil, Devanagari, Bengali, ...); `none`.",
    ),
    "direction": Setting(_one_of(*DIRECTIONS), "`rtl` or `ltr`; default: from the language's script."),
    "writing_mode": Setting(
        _one_of(*WRITING_MODES), "`vertical-rl` sets Japanese, Chinese or Korean top to bottom, pages right to left."
    ),
    "labels": Setting(_labels, "A table replacing words handbill writes itself (`contents`, `cover`, ...)."),
    "keep_image_metadata": Setting(_flag, "Keep images' EXIF, XMP, IPTC and PNG text (GPS, camera); default: false."),
}
"""Every key book.toml may hold, declared once: the reader, the check and the help are here."""

_NAMED_FILES = ("cover", "assets", "stylesheets", "chapters", "bibliography", "csl")
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
    if values.get("writing_mode") == "vertical-rl":
        language = values.get("language", "en")
        if primary_language(language) not in VERTICAL_LANGUAGES:
            problems.append(
                f"'writing_mode' 'vertical-rl' is for Japanese, Chinese or Korean (ja, zh, ko), not {_shown(language)}"
            )
    if values.get("writing_mode") == "horizontal-tb":
        values.pop("writing_mode")
    if problems:
        raise ConfigError("; ".join(problems), where)
    if "authors" in values:
        people = values["authors"]
        values["authors"] = tuple(person.name for person in people)
        if any(person.file_as for person in people):
            values["author_sorts"] = tuple(person.file_as for person in people)
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
    """The tag, repaired from `en_US` to `en-US` with a warning; a problem when it is no tag
    (the check itself is handbill.languages', shared by every place a tag is written)."""
    try:
        return _language_tag(tag, where)
    except ConfigError as error:
        problems.append(error.detail)
        return tag

"""Stylesheets: handbill's own, then the book's, with the fonts and images they use read in.

A stylesheet that points at a file the EPUB does not contain makes the book invalid, so every
`url(...)` is either embedded (a font or image inside the book folder), kept (a `data:` URL), or
its declaration removed with a warning (remote, missing, outside the book, or of another type).
"""

from __future__ import annotations

import logging
import re
from pathlib import Path
from urllib.parse import unquote, urlsplit

from . import DATA
from .config import BookConfig
from .errors import ConfigError
from .names import image_type, slugify

log = logging.getLogger("handbill")

FONT_TYPES = {".ttf": "font/ttf", ".otf": "font/otf", ".woff": "font/woff", ".woff2": "font/woff2"}
_URL = re.compile(r"""url\(\s*(?:"([^"]*)"|'([^']*)'|([^)'"\s]*))\s*\)""", re.IGNORECASE)
_IMPORT = re.compile(r"@import[^;]*;", re.IGNORECASE)
_COMMENT = re.compile(r"/\*.*?\*/", re.DOTALL)


def stylesheet_files(config: BookConfig) -> list[tuple[str, str, bytes, str]]:
    """(file name, media type, bytes, item id) of every stylesheet and every file they use."""
    default = (DATA / "handbill.css").read_bytes()
    files = [("styles/handbill.css", "text/css", default, "style-handbill")]
    embedded: dict[Path, str] = {}
    roots = [root.resolve() for root in config.allowed_roots]
    for number, path in enumerate(config.stylesheets, start=1):
        if not path.is_file():
            raise ConfigError(f"stylesheet {str(path)!r} does not exist", config.config_file or config.source)
        try:
            text = path.read_bytes().decode("utf-8-sig")
        except UnicodeDecodeError as error:
            raise ConfigError("is not UTF-8 text", path) from error
        text = _resolve_urls(text, path, roots, embedded, files)
        name = slugify(path.stem, limit=40) or "style"
        files.append((f"styles/{number:02d}-{name}.css", "text/css", text.encode("utf-8"), f"style-{number:02d}"))
    return files


def _resolve_urls(
    text: str,
    sheet: Path,
    roots: list[Path],
    embedded: dict[Path, str],
    files: list[tuple[str, str, bytes, str]],
) -> str:
    text = _COMMENT.sub("", text)
    if _IMPORT.search(text):
        log.warning("%s: @import is not followed; list every stylesheet in book.toml instead", sheet)
        text = _IMPORT.sub("", text)
    removals: list[tuple[int, int]] = []
    replacements: list[tuple[int, int, str]] = []
    for match in _URL.finditer(text):
        target = next(group for group in match.groups() if group is not None).strip()
        if target.lower().startswith("data:"):
            continue
        name = _embed(target, sheet, roots, embedded, files)
        if name is None:
            removals.append(_declaration_around(text, match.start(), match.end()))
        else:
            replacements.append((match.start(), match.end(), f'url("../{name}")'))
    edits = [(start, end, replacement) for start, end, replacement in replacements]
    edits += [(start, end, "") for start, end in removals]
    for start, end, replacement in sorted(set(edits), reverse=True):
        text = text[:start] + replacement + text[end:]
    return text


def _embed(
    target: str, sheet: Path, roots: list[Path], embedded: dict[Path, str], files: list[tuple[str, str, bytes, str]]
) -> str | None:
    """The file name inside the EPUB for a url() target, or None (with a warning) to drop it."""
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not parts.path:
        log.warning("%s: url(%s) is not inside the book; the declaration is removed", sheet, target[:80])
        return None
    path = (sheet.parent / unquote(parts.path)).resolve()
    if path in embedded:
        return embedded[path]
    kind: tuple[str, str] | None = None
    if path.is_file() and any(path.is_relative_to(root) for root in roots):
        data = path.read_bytes()
        suffix = path.suffix.lower()
        kind = (FONT_TYPES[suffix], suffix[1:]) if suffix in FONT_TYPES else image_type(data)
    if kind is None:
        log.warning("%s: url(%s) is missing, outside the book or not a font or image; removed", sheet, target[:80])
        return None
    folder = "fonts" if kind[0].startswith("font/") else "images"
    number = len(embedded) + 1
    name = f"{folder}/css-{number:02d}-{slugify(path.stem, limit=40) or 'file'}.{kind[1]}"
    files.append((name, kind[0], data, f"css-file-{number:02d}"))
    embedded[path] = name
    return name


def _declaration_around(text: str, start: int, end: int) -> tuple[int, int]:
    """The span of the CSS declaration holding [start, end): from after `;`/`{` to its `;`."""
    left = max(text.rfind(";", 0, start), text.rfind("{", 0, start)) + 1
    semicolon, brace = text.find(";", end), text.find("}", end)
    candidates = [position for position in (semicolon, brace) if position != -1]
    right = min(candidates) if candidates else len(text)
    if right == semicolon:
        right += 1
    return left, right

"""handbill: turn a folder of Markdown into an EPUB 3 e-book that opens cleanly everywhere.

The library behind the `handbill` command::

    import handbill

    result = handbill.build("content", "dist/statement.epub", title="A new title")
    report = handbill.check(result.path, run_epubcheck=False)

Nothing here prints, exits or changes process-wide state; warnings go to the "handbill" logger
(and are collected in `BuildResult.warnings`), and bad input raises a `HandbillError` naming the
file. Importing this package loads none of the heavy modules (lxml, Python-Markdown, ebooklib):
each name below is imported when first used.
"""

from __future__ import annotations

import sys as _sys
import types as _types
from collections.abc import Callable, Iterable
from os import PathLike
from pathlib import Path as _Path
from typing import TYPE_CHECKING, Any, BinaryIO

__version__ = "0.1.0"

DATA = _Path(__file__).parent / "data"
"""The files handbill ships: its stylesheet and the cover fonts."""

if TYPE_CHECKING:
    from .build import BuildResult
    from .check import CheckReport, Finding
    from .config import BookConfig, load_config
    from .errors import ConfigError, CoverError, HandbillError, OutputError, SourceError, StrictError

__all__ = [
    "BookConfig",
    "BuildResult",
    "CheckReport",
    "ConfigError",
    "CoverError",
    "Finding",
    "HandbillError",
    "OutputError",
    "SourceError",
    "StrictError",
    "__version__",
    "build",
    "check",
    "load_config",
]

_LAZY = {
    "BookConfig": "config",
    "load_config": "config",
    "BuildResult": "build",
    "CheckReport": "check",
    "Finding": "check",
    "ConfigError": "errors",
    "CoverError": "errors",
    "HandbillError": "errors",
    "OutputError": "errors",
    "SourceError": "errors",
    "StrictError": "errors",
}


def _lazy_attributes(
    package: str, modules: dict[str, str], namespace: dict[str, Any]
) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """A package's `__getattr__` and `__dir__` for names imported from its modules (`modules`:
    name -> module) only when first used, then kept in its `namespace`."""

    def get(name: str) -> Any:
        module = modules.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        from importlib import import_module

        value = getattr(import_module(f".{module}", package), name)
        namespace[name] = value
        return value

    def listing() -> list[str]:
        return sorted(set(namespace) | set(namespace["__all__"]))

    return get, listing


__getattr__, __dir__ = _lazy_attributes(__name__, _LAZY, globals())


class _Package(_types.ModuleType):
    """`handbill.build` and `handbill.check` are the API's functions, although modules of the same
    names exist: importing one would otherwise replace the function with the module. Import the
    modules by their dotted names (`from handbill.check import check_epub`)."""

    def __setattr__(self, name: str, value: Any) -> None:
        if name in ("build", "check") and isinstance(value, _types.ModuleType):
            return
        super().__setattr__(name, value)


_sys.modules[__name__].__class__ = _Package


def build(
    book: str | PathLike[str] | BookConfig,
    output: str | PathLike[str] | BinaryIO | None = None,
    *,
    formats: Iterable[str] = ("epub",),
    strict: bool = False,
    allow_outside: Iterable[str | PathLike[str]] = (),
    **overrides: Any,
) -> BuildResult:
    """Build `book` (a folder of Markdown, one Markdown file, or a loaded `BookConfig`) and write it.

    `output`: where the EPUB goes (default `dist/<slug>.epub`, relative to the working folder), or
    a binary stream for one format. `formats`: "epub" and/or "kepub" (the Kobo edition, written
    beside the EPUB as `<name>.kepub.epub`). `overrides` replace what `book.toml` says, by its
    keys (`title`, `authors`, `language`, `cover`, `split_level`, ...); they are not allowed with a
    `BookConfig`. With `strict`, any warning makes it write nothing and raise `StrictError`.

    Raises a `HandbillError` subclass naming the file for bad input; an earlier book at the
    output path is then left untouched.
    """
    from .build import FORMATS
    from .build import build as build_book
    from .config import BookConfig, load_config

    formats = tuple(formats)
    wrong = [kind for kind in formats if kind not in FORMATS]
    if wrong or not formats or len(set(formats)) < len(formats):
        raise ValueError(f"formats must be distinct names among {', '.join(FORMATS)}; got {formats!r}")
    if isinstance(book, BookConfig):
        if overrides or allow_outside:
            raise TypeError("overrides and allow_outside apply when loading a book; give a path, not a BookConfig")
        config = book
    else:
        config = load_config(_Path(book), tuple(_Path(path) for path in allow_outside), **_checked(overrides))
    if output is not None and not hasattr(output, "write"):
        output = _Path(output)  # type: ignore[arg-type]
    return build_book(config, output, formats, strict=strict)  # type: ignore[arg-type]


def _checked(overrides: dict[str, Any]) -> dict[str, Any]:
    from .config import SETTINGS

    unknown = sorted(set(overrides) - SETTINGS.keys())
    if unknown:
        raise TypeError(f"unknown book setting(s): {', '.join(unknown)}")
    return overrides


def check(path: str | PathLike[str], *, run_epubcheck: bool = True, timeout: float | None = None) -> CheckReport:
    """Check any EPUB with handbill's reader rules and (unless `run_epubcheck` is False) EPUBCheck.

    Returns a `CheckReport`: `.findings` (each a `Finding` with severity, a stable code and a
    message), `.ok` (no errors), `.epubcheck_ran`. A file that is not an EPUB, or EPUBCheck failing
    to run, is an error finding, never an exception. EPUBCheck is stopped after `timeout` seconds.
    """
    from .check import check_epub

    return check_epub(_Path(path), run_epubcheck=run_epubcheck, epubcheck_timeout=timeout)

"""The one exception family handbill raises for bad input.

Every error names the file it is about (and the line, where there is one), so
the command line can print a single clear line and exit 1.
"""

from __future__ import annotations

from pathlib import Path

import click


class HandbillError(click.ClickException):
    """A problem with the user's book, reported as one line."""

    exit_code = 1

    def __init__(self, message: str, path: Path | str | None = None, line: int | None = None):
        self.path = Path(path) if path is not None else None
        self.line = line
        self.detail = message
        super().__init__(self._format())

    def _format(self) -> str:
        if self.path is None:
            return self.detail
        where = str(self.path)
        if not where.isprintable():  # a newline or a stray byte in a file name: still one line
            where = repr(where)
        if self.line is not None:
            where += f":{self.line}"
        return f"{where}: {self.detail}"


class ConfigError(HandbillError):
    """book.toml or a command-line override is invalid."""


class SourceError(HandbillError):
    """A Markdown source cannot be found, read or decoded."""


class CoverError(HandbillError):
    """The cover image is missing or not an image we can use."""


class OutputError(HandbillError):
    """The e-book cannot be written where it was asked for."""


class StrictError(HandbillError):
    """A strict build logged warnings, so it wrote nothing (`--strict`)."""

"""The `handbill` command: parse options, call the library, print a summary."""

from __future__ import annotations

import logging
from pathlib import Path

import click

from . import __version__


class _WarningHandler(logging.Handler):
    def emit(self, record: logging.LogRecord) -> None:
        click.echo(f"warning: {record.getMessage()}", err=True)


def _setup_logging() -> None:
    logger = logging.getLogger("handbill")
    if not any(isinstance(handler, _WarningHandler) for handler in logger.handlers):
        logger.addHandler(_WarningHandler())
    logger.setLevel(logging.WARNING)
    logger.propagate = False


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="handbill")
def cli() -> None:
    """Turn a folder of Markdown into an EPUB 3 e-book that opens cleanly everywhere."""
    _setup_logging()


@cli.command()
@click.argument("book", required=False, default="content", type=click.Path(path_type=Path))
@click.option("-o", "--output", type=click.Path(path_type=Path, dir_okay=False),
              help="Where to write the EPUB (default: dist/<slug>.epub).")
@click.option("--title", help="Book title (overrides book.toml).")
@click.option("--author", "authors", multiple=True, help="Author; repeat for several (overrides book.toml).")
@click.option("--language", help="BCP 47 language tag such as en or pt-BR (overrides book.toml).")
@click.option("--cover", type=click.Path(path_type=Path, dir_okay=False),
              help="Cover image, JPEG or PNG (overrides book.toml).")
@click.option("--split-level", type=click.IntRange(1, 6),
              help="Start a new chapter at every heading of this level or above.")
def build(book: Path, output: Path | None, title: str | None, authors: tuple[str, ...],
          language: str | None, cover: Path | None, split_level: int | None) -> None:
    """Build BOOK (a folder of Markdown, or one Markdown file) into an EPUB.

    \b
    Example:
        handbill build content -o dist/statement.epub
    """
    from .build import build as build_book
    from .config import load_config

    config = load_config(book, title=title, authors=authors, language=language,
                         cover=cover, split_level=split_level)
    result = build_book(config, output)
    click.echo(f"wrote {result.path}")
    click.echo(f"{result.book.chapters} chapters, {result.book.words:,} words, "
               f"{result.size / 1024:,.0f} KB")


def main() -> None:
    cli(prog_name="handbill")

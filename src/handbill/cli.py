"""The `handbill` command: parse options, call the library, print a summary."""

from __future__ import annotations

import gc
import logging
from pathlib import Path

from . import __version__

# A build is short and allocates mostly long-lived objects (modules, then each chapter's tree):
# the collector's default of a pass every 700 allocations spent 5 ms of the statement's 0.1 s.
gc.set_threshold(50_000, 20, 20)

import click  # noqa: E402


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
@click.option(
    "-o",
    "--output",
    type=click.Path(path_type=Path, dir_okay=False),
    help="Where to write the EPUB (default: dist/<slug>.epub).",
)
@click.option("--title", help="Book title (overrides book.toml).")
@click.option("--author", "authors", multiple=True, help="Author; repeat for several (overrides book.toml).")
@click.option("--language", help="BCP 47 language tag such as en or pt-BR (overrides book.toml).")
@click.option(
    "--cover", type=click.Path(path_type=Path, dir_okay=False), help="Cover image, JPEG or PNG (overrides book.toml)."
)
@click.option(
    "--split-level", type=click.IntRange(1, 6), help="Start a new chapter at every heading of this level or above."
)
@click.option(
    "--format",
    "format_",
    type=click.Choice(["epub", "kepub", "all"]),
    default="epub",
    show_default=True,
    help="epub, kepub (Kobo edition, <slug>.kepub.epub) or all.",
)
@click.option("--check", "check_after", is_flag=True, help="Check the written book(s) as `handbill check` does.")
@click.option("--watch", is_flag=True, help="Keep running and rebuild whenever a source file changes.")
def build(
    book: Path,
    output: Path | None,
    title: str | None,
    authors: tuple[str, ...],
    language: str | None,
    cover: Path | None,
    split_level: int | None,
    format_: str,
    check_after: bool,
    watch: bool,
) -> None:
    """Build BOOK (a folder of Markdown, or one Markdown file) into an EPUB.

    \b
    Example:
        handbill build content -o dist/statement.epub --format all
    """
    from .build import FORMATS, Builder
    from .build import build as build_book
    from .config import load_config

    formats = FORMATS if format_ == "all" else (format_,)
    builder = Builder(keep=watch, progress=_progress_bar())

    def once() -> list[Path]:
        config = load_config(
            book, title=title, authors=authors, language=language, cover=cover, split_level=split_level
        )
        result = build_book(config, output, formats, builder)
        for path in result.paths:
            click.echo(f"wrote {path}")
        click.echo(f"{result.book.chapters} chapters, {result.book.words:,} words, {result.size / 1024:,.0f} KB")
        return list(result.paths)

    if watch:
        _watch(book, once, cover)
        return
    paths = once()
    if check_after and not all([_report(path) for path in paths]):
        raise SystemExit(1)


def _watch(book: Path, once, cover: Path | None) -> None:  # type: ignore[no-untyped-def]
    """Rebuild on every change; errors are shown and the watching goes on."""
    import time

    from .config import load_config
    from .errors import HandbillError
    from .watch import watch

    def roots() -> list[Path]:
        try:
            config = load_config(book)
        except HandbillError:
            return [book]
        watched = [config.root, *config.stylesheets]
        for extra in (config.assets, config.config_file, config.cover, cover):
            if extra is not None:
                watched.append(extra)
        return [path for path in watched if path.exists()]

    def attempt() -> bool:
        try:
            once()
        except HandbillError as error:
            click.echo(f"Error: {error.format_message()}", err=True)
            return False
        return True

    def rebuild() -> None:
        started = time.perf_counter()
        if attempt():
            click.echo(f"rebuilt in {time.perf_counter() - started:.2f} s")

    attempt()
    click.echo(f"watching {book} for changes (Ctrl-C to stop)")
    try:
        watch(roots, rebuild)
    except KeyboardInterrupt:
        click.echo("stopped")


def _progress_bar():  # type: ignore[no-untyped-def]
    """Progress for long builds on a terminal; nothing when output goes to a file or pipe."""
    import sys

    if not sys.stderr.isatty():
        return None

    def show(done: int, total: int) -> None:
        if total < 50:
            return
        click.echo(f"\rrendering {done}/{total} documents", err=True, nl=done == total)

    return show


@cli.command()
@click.argument("epub", type=click.Path(path_type=Path))
@click.option("--no-epubcheck", is_flag=True, help="Only handbill's own reader checks (no Java needed).")
@click.option(
    "--timeout",
    type=click.FloatRange(min=1),
    metavar="SECONDS",
    help="Stop EPUBCheck after this long, and fail (default: 300, or 30 per MB of a larger book).",
)
def check(epub: Path, no_epubcheck: bool, timeout: float | None) -> None:
    """Check any EPUB with EPUBCheck and handbill's reader-compatibility rules.

    Kindle's rules, cover size for every store, document sizes and accessibility
    metadata are checked; exit status 1 when anything is an error, including
    EPUBCheck failing to run (unless --no-epubcheck is given).

    \b
    Example:
        handbill check dist/statement.epub
    """
    if not _report(epub, run_epubcheck=not no_epubcheck, epubcheck_timeout=timeout):
        raise SystemExit(1)


def _report(path: Path, run_epubcheck: bool = True, epubcheck_timeout: float | None = None) -> bool:
    """Print one line per finding and a verdict; True when nothing is an error."""
    from .check import check_epub

    report = check_epub(path, run_epubcheck=run_epubcheck, epubcheck_timeout=epubcheck_timeout)
    for finding in report.findings:
        click.echo(_one_line(f"{finding.severity}: {finding.code}: {finding.message}"))
    verdict = "ok" if report.ok else "FAILED"
    ran = "EPUBCheck and reader checks" if report.epubcheck_ran else "reader checks"
    click.echo(_one_line(f"{path}: {verdict} ({ran}: {report.errors} errors, {report.warnings} warnings)"))
    return report.ok


def _one_line(text: str) -> str:
    """Escape what is not printable (a newline in a file name, or in an entry name inside a
    hostile EPUB), so that every finding stays one line and no line can pose as a verdict."""
    return "".join(c if c.isprintable() else c.encode("unicode_escape", "backslashreplace").decode() for c in text)


@cli.command()
@click.argument("books", nargs=-1, type=click.Path(path_type=Path))
@click.option(
    "--host", default="0.0.0.0", show_default=True, help="Address to listen on; 127.0.0.1 for this machine only."
)
@click.option(
    "--port",
    default=8000,
    show_default=True,
    type=click.IntRange(0, 65535),
    help="Port to listen on (0 picks a free one).",
)
def serve(books: tuple[Path, ...], host: str, port: int) -> None:
    """Build BOOKs (default: ./content) and serve them to phones on the local network.

    Prints the address and a QR code to scan. The page lists each book with its cover
    and download buttons; /opds is a catalog for reading apps. Ctrl-C stops it.

    \b
    Example:
        handbill serve content --port 8000
    """
    from .build import edition_bytes, kepub_path
    from .config import load_config
    from .serve import Edition, Library, lan_address, make_server, qr_terminal, served_book

    library = []
    for source in books or (Path("content"),):
        book, modified, data = edition_bytes(load_config(source))
        name = f"{book.slug or 'book'}.epub"
        editions = [Edition("EPUB", name, data["epub"]), Edition("Kobo", kepub_path(Path(name)).name, data["kepub"])]
        library.append(served_book(book, editions, modified))
        click.echo(f"built {book.title}")
    server = make_server(Library(library), host, port)
    shown = lan_address() if host in ("0.0.0.0", "::", "") else host
    address = f"http://{shown or '127.0.0.1'}:{server.effective_port}/"
    click.echo(f"serving {len(library)} book(s) at {address}  (OPDS catalog: {address}opds)")
    if shown:
        click.echo(qr_terminal(address), nl=False)
    click.echo("Ctrl-C to stop")
    try:
        server.run()
    except KeyboardInterrupt:
        pass
    finally:
        server.close()
    click.echo("stopped")


def main() -> None:
    """The console script. Once the command is done the process leaves at once: tearing the
    interpreter down, module by module and object by object, took 20 ms of the statement's
    0.12 s build. Everything handbill writes is closed by then; output streams are flushed."""
    import os
    import sys

    try:
        cli(prog_name="handbill", standalone_mode=True)
        code: int | str | None = 0
    except SystemExit as done:
        code = done.code
    except Exception as error:  # a bug of ours: one line, not a traceback (HANDBILL_DEBUG=1 shows it)
        if os.environ.get("HANDBILL_DEBUG"):
            raise
        click.echo(
            f"Error: internal error ({type(error).__name__}: {error}); please report it with the book that caused it",
            err=True,
        )
        code = 1
    if isinstance(code, str):
        click.echo(code, err=True)
        code = 1
    logging.shutdown()
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except OSError:
        pass  # a closed pipe: nothing more can be said
    os._exit(code or 0)

"""The `handbill` command: parse options, call the library, print a summary."""

from __future__ import annotations

import logging
import os
import sys
from pathlib import Path

import click

from . import __version__


class _WarningHandler(logging.Handler):
    """Log records as `warning: ...` lines on standard error (`info:`, `debug:` with -v)."""

    def emit(self, record: logging.LogRecord) -> None:
        label = record.levelname.lower()
        where = f"{record.name}: " if record.levelno < logging.INFO else ""
        click.echo(f"{label}: {where}{record.getMessage()}", err=True)


def _setup_logging(verbosity: int) -> None:
    """-q shows errors only, the default adds warnings, -v what each stage did, -vv debugging.

    The "handbill" logger itself stays open to warnings, so that --strict counts them even when
    -q hides them."""
    shown = {-1: logging.ERROR, 0: logging.WARNING, 1: logging.INFO}.get(verbosity, logging.DEBUG)
    logger = logging.getLogger("handbill")
    for handler in [handler for handler in logger.handlers if isinstance(handler, _WarningHandler)]:
        logger.removeHandler(handler)
    logger.addHandler(_WarningHandler(shown))
    logger.setLevel(min(shown, logging.WARNING))
    logger.propagate = False


def _say(text: str) -> None:
    """A summary line: on standard output, unless it carries the book (-o -) or -q was given."""
    context = click.get_current_context()
    if not context.find_root().meta.get("handbill.quiet"):
        click.echo(text, err=bool(context.meta.get("handbill.stdout_is_book")))


class _Path(click.Path):
    """click's Path, but a NUL byte in a name is a usage error instead of a ValueError from os.stat."""

    def convert(self, value, param, ctx):  # type: ignore[no-untyped-def]
        if "\x00" in os.fspath(value if not isinstance(value, bytes) else value.decode("utf-8", "replace")):
            self.fail(f"{value!r} contains a NUL byte, which no file name can hold", param, ctx)
        return super().convert(value, param, ctx)


class _Source(_Path):
    """A book folder or file, or an http(s):// address, kept as written (a Path would fold `//`)."""

    def convert(self, value, param, ctx):  # type: ignore[no-untyped-def]
        if isinstance(value, str) and value[:8].lower().startswith(("http://", "https://")):
            return value
        return super().convert(value, param, ctx)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="handbill")
@click.option("-q", "--quiet", is_flag=True, help="Errors only: no warnings, no build summary.")
@click.option("-v", "--verbose", count=True, help="Also show what each stage did; -vv for debugging.")
@click.pass_context
def cli(context: click.Context, quiet: bool, verbose: int) -> None:
    """Turn a folder of Markdown into an EPUB 3 e-book that opens cleanly everywhere.

    handbill prints no colour (so NO_COLOR has nothing to turn off). Shell completion:
    eval "$(_HANDBILL_COMPLETE=bash_source handbill)" in ~/.bashrc (zsh_source, fish_source).
    """
    if quiet and verbose:
        raise click.UsageError("-q and -v contradict each other; give one")
    context.meta["handbill.quiet"] = quiet
    _setup_logging(-1 if quiet else verbose)


@cli.command()
@click.argument("books", nargs=-1, type=_Source(path_type=Path))
@click.option(
    "-o",
    "--output",
    type=_Path(path_type=Path, allow_dash=True),
    help="Where to write the EPUB (default: dist/<slug>.epub); - for standard output. With several books: a folder.",
)
@click.option("--title", help="Book title (overrides book.toml).")
@click.option("--author", "authors", multiple=True, help="Author; repeat for several (overrides book.toml).")
@click.option("--language", help="BCP 47 language tag such as en or pt-BR (overrides book.toml).")
@click.option(
    "--cover", type=_Path(path_type=Path, dir_okay=False), help="Cover image, JPEG or PNG (overrides book.toml)."
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
@click.option(
    "--allow-outside",
    multiple=True,
    type=_Path(path_type=Path),
    help="A file or folder outside the book's project that book.toml may name; repeat for several.",
)
@click.option("--check", "check_after", is_flag=True, help="Check the written book(s) as `handbill check` does.")
@click.option("--watch", is_flag=True, help="Keep running and rebuild whenever a source file changes.")
@click.option("--strict", is_flag=True, help="Any warning is an error: write nothing and exit with status 1.")
def build(
    books: tuple[Path, ...],
    output: Path | None,
    title: str | None,
    authors: tuple[str, ...],
    language: str | None,
    cover: Path | None,
    split_level: int | None,
    format_: str,
    allow_outside: tuple[Path, ...],
    check_after: bool,
    watch: bool,
    strict: bool,
) -> None:
    """Build BOOKS (each a folder of Markdown, or one Markdown file; default: ./content) into EPUBs.

    Several books (or a folder of book folders, one per edition) are built one after another
    into the folder -o (default: dist); a book that fails does not stop the others.

    BOOK may also be a document to import (.txt, .html, .docx, .odt, .pdf, or an
    http(s):// address): it is imported in memory, as `handbill import` would, and
    nothing but the EPUB is written.

    \b
    Examples:
        handbill build content -o dist/statement.epub --format all
        handbill build editions/en editions/de editions/ar -o dist/
        handbill build statement.docx
    """
    from .build import FORMATS, Builder
    from .build import build as build_book
    from .editions import edition_sources

    formats = FORMATS if format_ == "all" else (format_,)
    several = edition_sources(books or (Path("content"),))
    if several is not None:
        for option, value in {"--title": title, "--language": language, "--cover": cover, "--watch": watch}.items():
            if value:
                count = len(several)
                raise click.UsageError(f"{option} is for one book; {count} books were given (build them one by one)")
        overrides = {"authors": authors, "split_level": split_level}
        _build_set(several, output, formats, check_after, strict, allow_outside, **overrides)
        return
    book = books[0] if books else Path("content")
    if output is not None and output.is_dir():
        problem = f"{str(output)!r} is a folder; name the EPUB file (a folder is for several books)"
        raise click.BadParameter(problem, param_hint="'-o' / '--output'")
    to_stdout = output is not None and str(output) == "-"
    if to_stdout:
        _refuse_stdout_with(formats, check_after, watch)
        click.get_current_context().meta["handbill.stdout_is_book"] = True
    builder = Builder(keep=watch, progress=_progress_bar())

    def once() -> list[Path]:
        config = _load(
            book,
            allow_outside,
            title=title,
            authors=authors,
            language=language,
            cover=cover,
            split_level=split_level,
        )
        if to_stdout:
            try:
                result = build_book(config, sys.stdout.buffer, formats, builder, strict=strict)
                sys.stdout.buffer.flush()
            except BrokenPipeError as error:
                raise click.ClickException("standard output was closed before the whole book was written") from error
        else:
            result = build_book(config, output, formats, builder, strict=strict)
        for path in result.paths:
            _say(f"wrote {path}")
        _say(f"{result.book.summary()}, {result.size / 1024:,.0f} KB")
        return list(result.paths)

    if watch:
        if isinstance(book, str):
            raise click.UsageError("--watch needs a file or folder to watch; an address is fetched once")
        _watch(book, once, cover, output)
        return
    paths = once()
    if check_after and not all([_report(path) for path in paths]):
        raise SystemExit(1)


def _build_set(
    books: list[Path],
    output: Path | None,
    formats: tuple[str, ...],
    check_after: bool,
    strict: bool,
    allow_outside: tuple[Path, ...],
    **overrides: object,
) -> None:
    """Several books in one run, into one folder: each book's line as it is done, exit status 1
    at the end if any failed."""
    from .editions import build_editions

    names_a_file = output is not None and (str(output) == "-" or output.suffix.lower() == ".epub" or output.is_file())
    if output is not None and names_a_file and not output.is_dir():
        raise click.UsageError(f"-o {output}: with several books, -o names a folder (such as -o dist/)")
    failed, written = [], []
    outcomes = build_editions(books, output, formats, strict, allow_outside, load=_load, **overrides)
    for outcome in outcomes:
        if outcome.error is not None:
            click.echo(f"Error: {outcome.error.format_message()}", err=True)
            failed.append(outcome.source)
            continue
        if outcome.renamed_from is not None:
            taken, named = outcome.renamed_from.name, outcome.result.path.name
            _say(f"note: {outcome.source}: {taken} is another book's in this run; named {named}")
        for path in outcome.result.paths:
            _say(f"wrote {path}")
        written.extend(outcome.result.paths)
    _say(f"{len(books) - len(failed)} of {len(books)} books built")
    checked = [_report(path) for path in written] if check_after else []
    if failed or not all(checked):
        raise SystemExit(1)


def _load(book: Path, allow_outside: tuple[Path, ...] = (), **overrides):  # type: ignore[no-untyped-def]
    """A book's settings: a book folder or Markdown file as it is, a document imported in memory."""
    from .importers import book_config, is_importable

    if is_importable(book):
        config, document = book_config(book, allow_outside, **overrides)
        for line in document.repairs.lines():
            logging.getLogger("handbill.importers").info("%s: %s", book, line)
        return config
    from .config import load_config

    return load_config(book, allow_outside, **overrides)


@cli.command(name="import")
@click.argument("source")
@click.option(
    "-o",
    "--output",
    type=_Path(path_type=Path, file_okay=False),
    help="The book folder to write (default: the document's name, without its extension, here).",
)
@click.option("--force", is_flag=True, help="Write into the folder even when it is not empty.")
def import_(source: str, output: Path | None, force: bool) -> None:
    """Import SOURCE (.txt, .md, .html, .docx, .odt, .pdf, or an http(s):// address)
    as a book folder that `handbill build` takes as it is.

    Writes book.toml (the metadata the document states), one Markdown file per
    section and the images, then prints one line per kind of repair made, with its
    count and the first place it was made. A folder that is not empty is refused
    unless --force is given.

    \b
    Example:
        handbill import statement.docx -o statement
        handbill build statement
    """
    from .importers import read, warn_of_language
    from .importers.writer import write_book

    if "\x00" in source:
        raise click.UsageError(f"{source!r} contains a NUL byte, which no file name can hold")
    folder = output if output is not None else _default_folder(source)
    document = read(source)
    files = write_book(document, folder, force)
    if not document.metadata.language:
        warn_of_language(document)
    chapters = sum(1 for name in files if name.endswith(".md"))
    images = sum(1 for name in files if name.startswith("images/"))
    counted = f"{chapters} chapter{'s' if chapters != 1 else ''}" + (
        f", {images} image{'s' if images != 1 else ''}" if images else ""
    )
    _say(f"wrote {folder}: book.toml, {counted}")
    for line in document.repairs.lines():
        _say(_one_line(line))
    if not document.repairs.counts:
        _say("no repairs were needed")


def _default_folder(source: str) -> Path:
    from .importers import is_address
    from .names import slugify

    if is_address(source):
        return Path(slugify(source.split("://", 1)[1].split("?")[0]) or "document")
    return Path(Path(source).stem or "book")


def _refuse_stdout_with(formats: tuple[str, ...], check_after: bool, watch: bool) -> None:
    """`-o -` sends one book, once, to a pipe or a file: never to a terminal."""
    if len(formats) > 1:
        raise click.UsageError("-o - sends one book to standard output; --format all writes two files")
    if check_after or watch:
        raise click.UsageError(f"-o - cannot be used with {'--check' if check_after else '--watch'}: name a file")
    if sys.stdout.isatty():
        raise click.UsageError("-o - would write the EPUB's bytes to the terminal; redirect (> book.epub) or pipe it")


def _watch(book: Path, once, cover: Path | None, output: Path | None) -> None:  # type: ignore[no-untyped-def]
    """Rebuild on every change; any error is shown and the watching goes on."""
    import time

    from .config import load_config
    from .errors import HandbillError
    from .watch import watch

    written: list[Path] = [output] if output is not None else []

    def roots() -> list[Path]:
        try:
            config = load_config(book)
        except Exception:
            return [book]
        watched = [config.root, *config.stylesheets]
        for extra in (config.assets, config.config_file, config.cover, cover):
            if extra is not None:
                watched.append(extra)
        return [path for path in watched if path.exists()]

    def attempt() -> bool:
        try:
            written[:] = once()
        except HandbillError as error:
            click.echo(f"Error: {error.format_message()}", err=True)
            return False
        except Exception as error:
            # A file deleted or replaced mid-build, or a bug of ours: the watching goes on.
            click.echo(f"Error: build failed ({type(error).__name__}: {error}); waiting for the next change", err=True)
            return False
        return True

    def rebuild() -> None:
        started = time.perf_counter()
        if attempt():
            click.echo(f"rebuilt in {time.perf_counter() - started:.2f} s")

    def start() -> None:
        attempt()
        click.echo(f"watching {book} for changes (Ctrl-C to stop)")

    watch(roots, rebuild, ignore=lambda: written, start=start)


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
@click.argument("epub", type=_Path(path_type=Path))
@click.option("--no-epubcheck", is_flag=True, help="Only handbill's own reader checks (no Java needed).")
@click.option(
    "--timeout",
    type=click.FloatRange(min=1),
    metavar="SECONDS",
    help="Stop EPUBCheck after this long, and fail (default: 300, or 30 per MB of a larger book).",
)
@click.option(
    "--format",
    "format_",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
    help="text: a line per finding; json: one object {file, ok, epubcheck_ran, findings: [{severity, code, message}]}.",
)
def check(epub: Path, no_epubcheck: bool, timeout: float | None, format_: str) -> None:
    """Check any EPUB with EPUBCheck and handbill's reader-compatibility rules.

    Kindle's rules, cover size for every store, document sizes and accessibility
    metadata are checked; exit status 1 when anything is an error, including
    EPUBCheck failing to run (unless --no-epubcheck is given).

    \b
    Example:
        handbill check dist/statement.epub
    """
    if not _report(epub, run_epubcheck=not no_epubcheck, epubcheck_timeout=timeout, as_json=format_ == "json"):
        raise SystemExit(1)


def _report(
    path: Path, run_epubcheck: bool = True, epubcheck_timeout: float | None = None, as_json: bool = False
) -> bool:
    """Print one line per finding and a verdict (or one JSON object); True when nothing is an error."""
    from .check import check_epub

    report = check_epub(path, run_epubcheck=run_epubcheck, epubcheck_timeout=epubcheck_timeout)
    if as_json:
        import json

        findings = [
            {"severity": finding.severity, "code": finding.code, "message": finding.message}
            for finding in report.findings
        ]
        document = {
            "file": os.fsdecode(path),
            "ok": report.ok,
            "epubcheck_ran": report.epubcheck_ran,
            "findings": findings,
        }
        click.echo(json.dumps(document, ensure_ascii=True))  # escaped: a hostile name stays one line
        return report.ok
    for finding in report.findings:
        if finding.severity == "error" or not click.get_current_context().find_root().meta.get("handbill.quiet"):
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
@click.argument("books", nargs=-1, type=_Source(path_type=Path))
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

    A BOOK may also be a document to import (.txt, .html, .docx, .odt, .pdf, or an
    http(s):// address), imported in memory.

    Prints the address and a QR code to scan. The page lists each book with its cover
    and download buttons; /opds.xml is a catalog for reading apps. Ctrl-C stops it.

    \b
    Example:
        handbill serve content --port 8000
    """
    from .editions import edition_sources
    from .publish import built_for_the_site
    from .site import Library, is_loopback, listen, make_server, qr_terminal

    listening = listen(host, port)  # a port in use is said before the books are built
    library = []
    sources = books or (Path("content"),)
    for source in edition_sources(sources) or sources:  # a folder of book folders: each edition
        served = built_for_the_site(_load(source))  # as `publish` builds it
        library.append(served)
        click.echo(f"built {served.book.title}")
    app = Library(library)
    server = make_server(app, host, port, listening=listening)
    address = app.address
    click.echo(f"serving {len(library)} book(s) at {address}  (OPDS catalog: {address}opds.xml)")
    if not is_loopback(address) or host not in ("0.0.0.0", "::", ""):
        click.echo(qr_terminal(address), nl=False)
    click.echo("Ctrl-C to stop")
    try:
        server.run()  # waitress takes Ctrl-C itself and returns: it is the only way out of here
    finally:
        server.close()
    raise click.Abort()  # main() says "stopped" and exits with status 130, as for every command


@cli.command()
@click.argument("book", required=False, default="content", type=_Path(path_type=Path))
@click.option("-o", "--output", required=True, type=_Path(path_type=Path, dir_okay=False), help="The PDF to write.")
@click.option("--url", required=True, help="Where readers download the book (http or https): the QR code's address.")
@click.option("--paper", type=click.Choice(["a4", "letter", "a5"]), default="a4", show_default=True)
@click.option("--per-sheet", type=click.Choice(["1", "2", "4"]), default="4", show_default=True, help="Copies a sheet.")
def leaflet(book: Path, output: Path, url: str, paper: str, per_sheet: str) -> None:
    """Write a printable leaflet for BOOK (default: ./content): title, authors, date, description,
    the cover, and a large QR code of --url, several copies per sheet with cut marks.

    \b
    Example:
        handbill leaflet content -o leaflet.pdf --url https://example.org/statement
    """
    from .build import make_book
    from .config import load_config
    from .leaflet import check_pdf_target, check_url, leaflet_pdf, write_leaflet
    from .write.epub import modified_time

    check_url(url)
    check_pdf_target(output)  # before the book is built
    config = load_config(book)
    made = make_book(config)
    data = leaflet_pdf(made, url, paper, int(per_sheet), modified_time(config.modified, config.date))
    _say(f"wrote {write_leaflet(data, output)}")


@cli.command()
@click.argument("source", type=_Path(path_type=Path))
@click.option("--to", "to", metavar="ADDRESS", help="E-mail the EPUB to this address (such as name@kindle.com).")
@click.option("--device", type=_Path(path_type=Path), help="Copy the book onto the e-reader mounted at this folder.")
@click.option(
    "--timeout", type=click.FloatRange(min=0.1, max=3600), metavar="SECONDS", help="SMTP time-out (default 30)."
)
def send(source: Path, to: str | None, device: Path | None, timeout: float | None) -> None:
    """E-mail SOURCE (an .epub file, or a book folder, built first) --to an address, or copy it
    onto an e-reader --device (a Kobo gets the Kobo edition; a Kindle is told to use --to).

    SMTP settings come from HANDBILL_SMTP_HOST, _PORT, _USER, _PASSWORD, _FROM and _TLS
    (starttls, the default; ssl; none). handbill's Kindle checks run first.

    \b
    Example:
        HANDBILL_SMTP_HOST=smtp.example.org HANDBILL_SMTP_USER=me@example.org \\
        HANDBILL_SMTP_PASSWORD=... handbill send content --to me@kindle.com
        handbill send dist/statement.epub --device /media/KOBOeReader
    """
    from . import send as delivery

    if (to is None) == (device is None):
        raise click.UsageError("give either --to ADDRESS or --device FOLDER")
    if device is not None:
        reader = delivery.detect_device(device)
        written = delivery.copy_to_device(delivery.device_edition(source, reader), reader)
        _say(f"copied {written.name} to the {reader.model} at {written.parent}")
        return
    settings = delivery.smtp_settings(timeout=timeout)
    book = delivery.edition(source)
    delivery.check_for_kindle(book.data, book.name)
    delivery.send_mail(book, to or "", settings)
    _say(f"sent {book.name} ({len(book.data) / 1024:,.0f} KB) to {to}")


@cli.command()
@click.argument("books", nargs=-1, type=_Source(path_type=Path))
@click.option(
    "-o",
    "--output",
    required=True,
    type=_Path(path_type=Path, file_okay=False),
    help="The folder to write the site into (made if missing).",
)
@click.option(
    "--base-url",
    required=True,
    metavar="URL",
    help="The site's public address, ending in / (https://example.org/books/): the QR code and catalogs use it.",
)
@click.option("--force", is_flag=True, help="Publish into a folder that holds other files (none is deleted).")
@click.option(
    "--to",
    "destination",
    metavar="s3://BUCKET/PREFIX",
    help="Then upload the site to an S3-compatible store (needs boto3: pip install 'handbill[s3]').",
)
def publish(books: tuple[Path, ...], output: Path, base_url: str, force: bool, destination: str | None) -> None:
    """Publish BOOKs (default: ./content) as a static site in the folder -o, for any web
    server, object store or CDN: no handbill code runs there.

    The folder gets index.html (the page `serve` shows: covers, downloads, read online, a
    QR code of --base-url), opds.xml and opds.json (catalogs for reading apps), the editions,
    the pages to read online, covers, and SHA256SUMS. Publishing again rebuilds only the
    books whose sources changed, and deletes only files an earlier publish wrote.

    --to uploads what changed to S3 (or a store that speaks its protocol, through
    AWS_ENDPOINT_URL), each file with its content type; credentials as for the aws tool.

    \b
    Example:
        handbill publish editions/ -o site --base-url https://example.org/statement/
        handbill publish content -o site --base-url https://example.org/s/ --to s3://bucket/s
    """
    from .publish import publish as publish_site
    from .publish import s3_destination, upload

    if destination is not None:
        s3_destination(destination)  # a mistake in --to is said before anything is built

    def told(title: str, built: bool) -> None:
        _say(_one_line(f"{'built' if built else 'unchanged'}: {title}"))

    result = publish_site(books or (Path("content"),), output, base_url, force, load=_load, on_book=told)
    removed = f", {len(result.removed)} removed" if result.removed else ""
    _say(
        f"published {len(result.built) + len(result.kept)} book(s) to {output} ({len(result.built)} built,"
        f" {len(result.kept)} unchanged): {len(result.written)} of {result.files} files written{removed}"
    )
    _say(f"site: {base_url}  (OPDS catalog: {base_url}opds.xml)")
    if destination is not None:
        sent = upload(output, destination, result)
        deleted = f", {len(sent.deleted)} deleted" if sent.deleted else ""
        _say(f"uploaded {len(sent.sent)} of {sent.files} files to {destination}{deleted}")


class _Terminated(BaseException):
    """SIGTERM, raised where the program is, so that half-written files are removed on the way out."""


def _terminate(signum: int, frame: object) -> None:
    raise _Terminated()


def main() -> None:
    """The console script. Once the command is done the process leaves at once: tearing the
    interpreter down, module by module and object by object, took 20 ms of the statement's
    0.12 s build. Everything handbill writes is closed by then; output streams are flushed.

    Exit status: 0 done, 1 an error (one line), 130 interrupted (Ctrl-C), 143 terminated."""
    import gc
    import signal

    # A build is short and allocates mostly long-lived objects (modules, then each chapter's tree):
    # the collector's default of a pass every 700 allocations spent 5 ms of the statement's 0.1 s.
    # Set here, for the command's own process only: importing handbill changes nothing.
    gc.set_threshold(50_000, 20, 20)
    signal.signal(signal.SIGTERM, _terminate)
    code: int | str | None
    try:
        code = cli.main(prog_name="handbill", standalone_mode=False)
    except click.UsageError as error:  # one line naming the option, like every other mistake
        click.echo(f"Error: {error.format_message()}", err=True)
        code = error.exit_code
    except click.ClickException as error:
        error.show()
        code = error.exit_code
    except (click.Abort, KeyboardInterrupt):
        click.echo("stopped", err=True)
        code = 130
    except _Terminated:
        code = 143
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
    os._exit(code if isinstance(code, int) else 0)

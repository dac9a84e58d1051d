"""Publish books as a static site: the files of `serve`, written to a folder that any web
server, object store or CDN can host with no handbill code running there.

In: the books (folders, folders of editions, documents to import), the output folder and the
site's public address (`--base-url`). Out: the folder holding `site_files` (index.html, the
OPDS catalogs, the editions, the pages to read online, covers, SHA256SUMS) and a manifest,
`.handbill-publish.json`, and a `Published` summary of what was built, written and removed.

Publishing again rebuilds only the books whose inputs changed: the manifest keeps, for each
book, a SHA-256 of its inputs (its settings, every file of its folder and assets, handbill's
version, SOURCE_DATE_EPOCH) and what the site needs of it (title, languages, contents...), and
an unchanged book is taken from the editions already in the folder, once their digests match.
Builds are reproducible, so the bytes are those a new build would give.

Every file is written to a temporary name beside its own and renamed into place; a file that
would not change is not touched (so `aws s3 sync` or `rsync` send only what changed). Files a
book no longer has are deleted only when the manifest says publish wrote them: nothing else in
the folder is ever deleted, and a folder that is not empty and has no manifest is refused
unless `force`.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import json
import logging
import os
import re
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from .errors import HandbillError

if TYPE_CHECKING:
    from .config import BookConfig
    from .model import Book
    from .site.books import ServedBook

log = logging.getLogger(__name__)

MANIFEST = ".handbill-publish.json"
_FORMAT = "handbill-publish"
_SAFE_PATH = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.\-]*(?:/[A-Za-z0-9_][A-Za-z0-9_.\-]*)*$")
"""A path the manifest may name: relative, plain names, nothing hidden, no `..`."""
_LAST = ("opds/", "opds.xml", "opds.json", "index.html", "SHA256SUMS")
"""Written after every file they link to, so a reader mid-publish finds no broken link."""


class PublishError(HandbillError):
    """The site cannot be published where or as asked: the message names the option or file."""


def check_base_url(url: str) -> str:
    """The site's public address, as the catalogs' absolute links start: http(s), a host, and
    a path ending in `/` (the folder's address, not a page's)."""
    shown = url if url.isprintable() else repr(url)
    parts = urlsplit(url) if url.isprintable() and not any(c.isspace() for c in url) else None
    if parts is None or parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        raise PublishError(f"--base-url {shown}: give the site's public address, such as https://example.org/books/")
    if parts.query or parts.fragment:
        raise PublishError(f"--base-url {shown}: the folder's address takes no ?query or #fragment")
    if not url.endswith("/"):
        raise PublishError(f"--base-url {shown}: must end with / (the address of the folder, such as {url}/)")
    try:
        parts.port  # noqa: B018 (raises on a port that is not a number)
    except ValueError:
        raise PublishError(f"--base-url {shown}: the port is not a number") from None
    return url


@dataclass
class Published:
    """What a publish did."""

    built: list[str] = field(default_factory=list)
    """Titles of the books built (their inputs changed, or they are new)."""
    kept: list[str] = field(default_factory=list)
    """Titles of the books taken unchanged from the folder."""
    written: list[str] = field(default_factory=list)
    """Site paths written (new or changed)."""
    removed: list[str] = field(default_factory=list)
    """Site paths deleted: files of an earlier publish the site no longer has."""
    stale: list[str] = field(default_factory=list)
    """Every path of the earlier publish the site no longer has (deleted here or not): what
    `upload` deletes from the store."""
    files: int = 0
    """Files the site holds."""
    content_types: dict[str, str] = field(default_factory=dict)
    """Each site path's content type, as `serve` sends it (and `upload` sets it)."""


def publish(
    sources: Sequence[Path | str],
    folder: Path,
    base_url: str,
    force: bool = False,
    load: Callable[..., BookConfig] | None = None,
    on_book: Callable[[str, bool], None] | None = None,
) -> Published:
    """Write the site of `sources` into `folder`, reached at `base_url`.

    `load` reads a source's settings (default `load_config`; the command line also imports
    documents); `on_book(title, built)` is told of each book as it is ready."""
    from .config import load_config
    from .editions import edition_sources
    from .site.files import site_files, with_free_slugs

    base = check_base_url(base_url)
    load = load or load_config
    folder = Path(folder)
    previous = _read_manifest(folder, force)
    old_books = {
        entry["inputs"]: entry
        for entry in (previous["books"] if isinstance(previous.get("books"), list) else [])
        if isinstance(entry, dict) and isinstance(entry.get("inputs"), str)
    }
    result = Published()
    served: list[ServedBook] = []
    entries: list[dict[str, Any]] = []
    for source in edition_sources(sources) or list(sources):  # type: ignore[arg-type]
        inputs, config = _inputs(source, load, folder)
        kept = _kept(folder, old_books.get(inputs)) if inputs is not None else None
        built = kept is None
        book, entry = kept or _build(config if config is not None else load(source))
        (result.built if built else result.kept).append(book.book.title)
        entry["inputs"] = inputs
        served.append(book)
        entries.append(entry)
        if on_book is not None:
            on_book(book.book.title, built)
    books = with_free_slugs(served)
    files = site_files(books, base)
    for book, entry in zip(books, entries, strict=True):
        entry["editions"] = [
            {"label": edition.label, "path": f"books/{edition.file_name}", "sha256": edition.sha256}
            for edition in book.editions
        ]
        cover = f"covers/{book.slug}.{book.book.cover.extension}"
        entry["cover"] = {"path": cover, "sha256": hashlib.sha256(files[cover][0]).hexdigest()}
    _write_site(folder, files, result)
    manifest = {
        "format": _FORMAT,
        "version": 1,
        "base_url": base,
        "books": entries,
        "files": {path: hashlib.sha256(data).hexdigest() for path, (data, _) in sorted(files.items())},
    }
    _write(folder, MANIFEST, json.dumps(manifest, ensure_ascii=False, indent=1).encode("utf-8") + b"\n")
    result.removed = _remove_stale(folder, previous.get("files", {}), files)
    result.stale = sorted(set(previous.get("files", {})) - set(files))
    result.files = len(files)
    result.content_types = {path: content_type for path, (_, content_type) in files.items()}
    return result


def _read_manifest(folder: Path, force: bool) -> dict[str, Any]:
    """The manifest of the last publish into `folder`, or {} for a new or empty folder; a folder
    holding other files is refused unless `force` (publish then writes, and deletes nothing)."""
    if folder.exists() and not folder.is_dir():
        raise PublishError("is not a folder; -o names the folder to write the site into", folder)
    path = folder / MANIFEST
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        data = None
    except OSError as error:
        raise PublishError(f"cannot be read ({error.strerror})", path) from None
    if data is None:
        try:
            empty = not folder.exists() or not any(folder.iterdir())
        except OSError as error:
            raise PublishError(f"cannot be read ({error.strerror})", folder) from None
        if not empty and not force:
            raise PublishError(
                "is not empty and holds no site of `handbill publish`; give another folder, or --force"
                " to publish into it (none of its files is deleted)",
                folder,
            )
        return {}
    try:
        manifest = json.loads(data)
    except (ValueError, UnicodeDecodeError):
        manifest = None
    if not isinstance(manifest, dict) or manifest.get("format") != _FORMAT:
        if not force:
            raise PublishError("is not a manifest of `handbill publish`; --force publishes anyway", path)
        return {}
    files = manifest.get("files")
    manifest["files"] = {
        name: digest for name, digest in (files.items() if isinstance(files, dict) else ()) if _SAFE_PATH.match(name)
    }
    return manifest


def _inputs(source: Path | str, load: Callable[..., BookConfig], folder: Path) -> tuple[str | None, BookConfig | None]:
    """A SHA-256 of everything a build of `source` reads, and its settings when they were read
    to find it; (None, None) for an address, which has to be fetched to be known."""
    from .importers import is_address, is_importable

    epoch = os.environ.get("SOURCE_DATE_EPOCH", "").strip()
    digest = hashlib.sha256(f"{_toolchain()}\0{epoch}\0".encode())
    if is_importable(source):
        if is_address(str(source)):
            return None, None
        try:
            digest.update(b"document\0" + _file_digest(Path(source)))
        except OSError:
            return None, None  # the import says what is wrong with it
        return digest.hexdigest(), None
    config = load(source)
    root = config.root
    skipped = {"files", "project", "allow_outside", "source", "root", "config_file"}
    for item in fields(config):
        if item.name not in skipped:
            digest.update(f"{item.name}={_setting(getattr(config, item.name), root)}\0".encode())
    paths: set[Path] = set()
    for tree in (config.root, config.assets):
        if tree is not None:
            paths.update(_walk(Path(tree), folder))
    paths.update(path for path in (*config.stylesheets, config.cover, config.config_file) if path is not None)
    try:
        from .sources import read_manuscript

        paths.update(read_manuscript(config).paths)
    except HandbillError:
        return None, config  # the build says what is wrong
    for path in sorted(paths, key=lambda path: os.path.relpath(path, root)):
        try:
            digest.update(f"{os.path.relpath(path, root)}\0".encode() + _file_digest(path))
        except OSError:
            return None, config
    return digest.hexdigest(), config


@functools.cache
def _toolchain() -> str:
    """What else decides a build's bytes: handbill's own code, the versions of the libraries it
    uses (Pillow's encoders, the fonts...), Python's and zlib's, and its data files (stylesheet,
    labels, fonts). A change in any of them builds
    every book again, so that the editions stay what `handbill build` writes."""
    import sys
    import zlib
    from importlib import metadata

    from . import __version__

    digest = hashlib.sha256(f"handbill {__version__} python {sys.version} zlib {zlib.ZLIB_RUNTIME_VERSION}".encode())
    try:
        requirements = metadata.requires("handbill") or []
    except metadata.PackageNotFoundError:
        requirements = []
    for requirement in sorted(requirements):
        name = re.split(r"[\s<>=!~\[;]", requirement, maxsplit=1)[0]
        if "extra ==" not in requirement:
            try:
                digest.update(f"{name} {metadata.version(name)}\0".encode())
            except metadata.PackageNotFoundError:
                continue
    package = Path(__file__).parent
    for path in sorted(package.rglob("*")):
        if path.is_dir() or "__pycache__" in path.parts:
            continue
        digest.update(path.relative_to(package).as_posix().encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


def _setting(value: Any, root: Path) -> str:
    """A setting as the digest takes it: paths relative to the book, so a moved folder is the same book."""
    if isinstance(value, Path):
        return os.path.relpath(value, root)
    if isinstance(value, tuple):
        return repr(tuple(_setting(item, root) for item in value))
    return repr(value)


def _walk(tree: Path, folder: Path) -> list[Path]:
    """Every visible file under `tree`, the site's own folder left out (it may sit inside a book)."""
    if tree.is_file():
        return [tree]
    skip = os.path.realpath(folder)
    found = []
    for top, directories, names in os.walk(tree):
        directories[:] = sorted(
            name
            for name in directories
            if not name.startswith(".") and os.path.realpath(os.path.join(top, name)) != skip
        )
        found += [Path(top, name) for name in names if not name.startswith(".")]
    return found


def _file_digest(path: Path) -> bytes:
    with path.open("rb") as file:
        return hashlib.file_digest(file, "sha256").digest()


def _build(config: BookConfig) -> tuple[ServedBook, dict[str, Any]]:
    """Build the book: the served record, and the manifest entry that lets the next publish keep it."""
    from .build import edition_bytes, kepub_path
    from .site.books import Edition, served_book

    book, modified, data = edition_bytes(config)
    name = f"{book.slug or 'book'}.epub"
    editions = [Edition("EPUB", name, data["epub"]), Edition("Kobo", kepub_path(Path(name)).name, data["kepub"])]
    served = served_book(book, editions, modified, work=config.work)
    return served, {"book": _book_record(book), "updated": served.updated, "work": config.work}


def built_for_the_site(config: BookConfig) -> ServedBook:
    """One book built in memory as the site offers it, its EPUB and Kobo editions (`serve`)."""
    return _build(config)[0]


def _kept(folder: Path, entry: dict[str, Any] | None) -> tuple[ServedBook, dict[str, Any]] | None:
    """The book as the last publish left it in `folder`, when its files are all there with the
    digests the manifest gives; else None (it is built again)."""
    if entry is None:
        return None
    from datetime import UTC, datetime

    from .site.books import Edition, served_book

    try:
        editions = []
        for edition in entry["editions"]:
            data = _verified(folder, edition["path"], edition["sha256"])
            if data is None:
                return None
            editions.append(Edition(str(edition["label"]), edition["path"].removeprefix("books/"), data))
        cover = _verified(folder, entry["cover"]["path"], entry["cover"]["sha256"])
        if cover is None or not editions:
            return None
        book = _book_from_record(entry["book"], cover)
        updated = datetime.strptime(entry["updated"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
        work = entry["work"] if isinstance(entry["work"], str) else None
        served = served_book(book, editions, updated, work=work)
    except (KeyError, TypeError, ValueError, AttributeError, OSError) as error:
        log.debug("manifest entry not usable (%s): the book is built again", error)
        return None
    return served, {"book": entry["book"], "updated": entry["updated"], "work": work}


def _verified(folder: Path, name: Any, sha256: Any) -> bytes | None:
    if not isinstance(name, str) or not _SAFE_PATH.match(name):
        return None
    path = folder / name
    if path.is_symlink() or not path.is_file():
        return None
    data = path.read_bytes()
    return data if hashlib.sha256(data).hexdigest() == sha256 else None


def _book_record(book: Book) -> dict[str, Any]:
    """What the site shows of a book, as JSON: its metadata, cover type, spine and contents
    (not its documents' text, which the kept EPUB holds)."""

    def toc(entries: Sequence[Any]) -> list[dict[str, Any]]:
        return [{"title": e.title, "href": e.href, "children": toc(e.children)} for e in entries]

    record = book._asdict()
    cover = book.cover
    record["cover"] = {
        "media_type": cover.media_type,
        "extension": cover.extension,
        "size": [cover.width, cover.height],
    }
    record["documents"] = [
        {"file_name": d.file_name, "item_id": d.item_id, "title": d.title, "kind": d.kind, "properties": d.properties}
        for d in book.documents
    ]
    record["resources"] = []
    record["toc"] = toc(book.toc)
    return record


def _book_from_record(record: dict[str, Any], cover: bytes) -> Book:
    from .model import Book, ContentDocument, CoverImage, TocEntry

    def toc(entries: list[dict[str, Any]]) -> tuple[TocEntry, ...]:
        return tuple(TocEntry(str(e["title"]), str(e["href"]), toc(e["children"])) for e in entries)

    values = dict(record)
    shape = values.pop("cover")
    values["cover"] = CoverImage(cover, str(shape["media_type"]), str(shape["extension"]), *map(int, shape["size"]))
    values["documents"] = tuple(
        ContentDocument(
            str(d["file_name"]), str(d["item_id"]), str(d["title"]), b"", str(d["kind"]), tuple(d["properties"])
        )
        for d in values["documents"]
    )
    values["resources"] = ()
    values["toc"] = toc(values["toc"])
    for key in ("authors", "subjects"):
        values[key] = tuple(values[key])
    values["landmarks"] = tuple(tuple(item) for item in values["landmarks"])
    values["labels"] = tuple((str(key), str(text)) for key, text in values["labels"])
    return Book(**values)


def _write_site(folder: Path, files: dict[str, tuple[bytes, str]], result: Published) -> None:
    """Each file that is new or changed, written whole under a temporary name and renamed;
    catalogs and pages that link to the others last."""

    def last(path: str) -> bool:
        return path.startswith(_LAST) and (path.count("/") == 0 or path.startswith("opds/"))

    for path in sorted(files, key=lambda path: (last(path), path)):
        data = files[path][0]
        target = folder / path
        try:
            if target.is_file() and not target.is_symlink() and target.stat().st_size == len(data):
                if target.read_bytes() == data:
                    continue
        except OSError:
            pass
        _write(folder, path, data)
        result.written.append(path)


def _write(folder: Path, path: str, data: bytes) -> None:
    target = folder / path
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        if target.is_dir() and not target.is_symlink():
            raise PublishError("is a folder where the site has a file; move it away", target)
        handle, temporary = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".part")
        try:
            with os.fdopen(handle, "wb") as file:
                file.write(data)
            os.chmod(temporary, 0o644)  # a site is for everyone to read (mkstemp makes 0600)
            os.replace(temporary, target)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(temporary)
            raise
    except OSError as error:
        raise PublishError(f"cannot be written ({error.strerror or error})", target) from None


def _remove_stale(folder: Path, before: dict[str, str], now: dict[str, tuple[bytes, str]]) -> list[str]:
    """Delete the files of the last publish the site no longer has (a removed book's), and the
    folders that leaves empty; only names the manifest gives, only regular files."""
    removed = []
    root = folder.resolve()
    for name in sorted(set(before) - set(now)):
        path = folder / name
        try:
            if path.is_symlink() or not path.is_file() or not path.resolve().is_relative_to(root):
                continue
            path.unlink()
        except OSError:
            continue
        removed.append(name)
        parent = path.parent
        while parent != folder and parent.resolve().is_relative_to(root):
            try:
                parent.rmdir()  # only when empty
            except OSError:
                break
            parent = parent.parent
    return removed


@dataclass
class Uploaded:
    """What an upload did."""

    sent: list[str] = field(default_factory=list)
    """Site paths uploaded (new or changed)."""
    deleted: list[str] = field(default_factory=list)
    """Objects deleted: files of the site that publish removed."""
    files: int = 0


def upload(folder: Path, destination: str, published: Published) -> Uploaded:
    """Send the site in `folder` to an S3-compatible store at `s3://bucket/prefix`: each file
    whose object is missing or differs (by MD5, the ETag of a simple upload), with the content
    type `serve` sends; then delete the objects of files this publish removed. No other object
    is touched, and the manifest stays local.

    boto3 (the `s3` extra) finds credentials, region and endpoint as the AWS tools do
    (AWS_ACCESS_KEY_ID, AWS_PROFILE, AWS_ENDPOINT_URL for another S3-compatible store...)."""
    bucket, prefix = s3_destination(destination)
    try:
        import boto3
        from botocore.config import Config
        from botocore.exceptions import BotoCoreError, ClientError
    except ImportError:
        raise PublishError(f"--to {destination}: needs boto3 (pip install 'handbill[s3]')") from None
    config = Config(connect_timeout=10, read_timeout=60, retries={"max_attempts": 3, "mode": "standard"})
    result = Uploaded(files=len(published.content_types))
    try:
        client = boto3.client("s3", config=config)
        remote: dict[str, str] = {}
        for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
            for item in page.get("Contents", []):
                remote[item["Key"]] = str(item.get("ETag", "")).strip('"')

        def last(path: str) -> bool:
            return path.startswith(_LAST) and (path.count("/") == 0 or path.startswith("opds/"))

        for path in sorted(published.content_types, key=lambda path: (last(path), path)):
            data = (folder / path).read_bytes()
            key = prefix + path
            if remote.get(key) == hashlib.md5(data, usedforsecurity=False).hexdigest():
                continue
            client.put_object(Bucket=bucket, Key=key, Body=data, ContentType=published.content_types[path])
            result.sent.append(path)
        for path in published.stale:
            if prefix + path in remote:
                client.delete_object(Bucket=bucket, Key=prefix + path)
                result.deleted.append(path)
    except ClientError as error:
        details = error.response.get("Error", {})
        problem = details.get("Message") or details.get("Code") or str(error)
        raise PublishError(f"--to {destination}: the store refused ({problem})") from None
    except BotoCoreError as error:
        raise PublishError(f"--to {destination}: {error}") from None
    except OSError as error:
        raise PublishError(f"--to {destination}: {error.strerror or error}") from None
    return result


def s3_destination(destination: str) -> tuple[str, str]:
    """`s3://bucket/prefix` as (bucket, `prefix/`); a bucket alone as (bucket, "")."""
    shown = destination if destination.isprintable() else repr(destination)
    rest = destination[5:] if destination[:5].lower() == "s3://" else None
    bucket, _, prefix = (rest or "").partition("/")
    if rest is None or not re.fullmatch(r"[a-z0-9][a-z0-9.\-]{1,61}[a-z0-9]", bucket):
        raise PublishError(f"--to {shown}: give a bucket and a prefix, such as s3://my-bucket/statement")
    prefix = prefix.strip("/")
    if prefix and (not prefix.isprintable() or any(part in ("", ".", "..") for part in prefix.split("/"))):
        raise PublishError(f"--to {shown}: the prefix must be plain names separated by /")
    return bucket, prefix + "/" if prefix else ""

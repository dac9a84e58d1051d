"""Shared fixtures: build small books in tmp_path, read what was built as a reader would.

Every EPUB a test builds through `build_book` (or hands to `register`) is validated by
EPUBCheck in one Java process that runs beside the tests (tests/epubcheck_batch.py), each
distinct book once. The session fixture `epubcheck_batch` waits for the last verdicts when
the tests are done: a book that is not clean is an error at the teardown of the last test,
naming the test that built it and its source, so `pytest` fails, whichever tests ran.
"""

from __future__ import annotations

import logging
import os
import zipfile
from collections.abc import Iterator
from copy import deepcopy
from dataclasses import dataclass
from pathlib import Path

import pytest
from hypothesis import Phase, settings
from lxml import etree

from handbill.build import build
from handbill.config import load_config

from .epubcheck_batch import Batch, BatchError, built_by

REPO = Path(__file__).resolve().parent.parent
CONTENT = REPO / "content"
NS = {
    "opf": "http://www.idpf.org/2007/opf",
    "dc": "http://purl.org/dc/elements/1.1/",
    "x": "http://www.w3.org/1999/xhtml",
    "epub": "http://www.idpf.org/2007/ops",
    "ncx": "http://www.daisy.org/z3986/2005/ncx/",
}
pytest_plugins = ("pytester",)  # test_epubcheck_batch runs an inner session
# No "explain" phase in CI: it traces every line a failing example runs, which took a failing
# test from seconds to the whole CI budget; the failing example is still printed.
settings.register_profile(
    "ci", derandomize=True, print_blob=True, phases=[phase for phase in Phase if phase is not Phase.explain]
)
if os.environ.get("CI"):
    settings.load_profile("ci")  # CI explores the same examples every run; local runs explore anew

_BATCH: Batch | None = None  # the session's, while it runs
_FINISHED: list[Batch] = []  # the session's, once done: the summary reports on it
_INTERRUPTED = False


@dataclass
class Epub:
    """A built EPUB, opened the way a reading system opens it."""

    path: Path

    def __post_init__(self) -> None:
        with zipfile.ZipFile(self.path) as archive:
            self.infos = archive.infolist()
            self.files = {info.filename: archive.read(info) for info in self.infos}
        container = etree.fromstring(self.files["META-INF/container.xml"])
        self.opf_path = container.find(".//{*}rootfile").get("full-path")
        self.base = self.opf_path.rsplit("/", 1)[0] + "/" if "/" in self.opf_path else ""
        self.opf = etree.fromstring(self.files[self.opf_path])

    def metadata(self, name: str) -> list[str]:
        return [element.text or "" for element in self.opf.findall(f"opf:metadata/dc:{name}", NS)]

    def meta_property(self, name: str) -> list[str]:
        return [e.text or "" for e in self.opf.findall(f"opf:metadata/opf:meta[@property='{name}']", NS)]

    @property
    def manifest(self) -> dict[str, etree._Element]:
        return {item.get("id"): item for item in self.opf.findall("opf:manifest/opf:item", NS)}

    @property
    def spine(self) -> list[str]:
        """Content document paths (inside the zip) in reading order."""
        manifest = self.manifest
        return [
            self.base + manifest[ref.get("idref")].get("href") for ref in self.opf.findall("opf:spine/opf:itemref", NS)
        ]

    def document(self, name: str) -> etree._Element:
        return etree.fromstring(self.files[name if name in self.files else self.base + name])

    def text_blocks(self, name: str) -> list[str]:
        """The text of each paragraph-like block of one document, as a reader sees it."""
        root = self.document(name)
        blocks = []
        for element in root.iter(
            "{*}p", "{*}h1", "{*}h2", "{*}h3", "{*}h4", "{*}li", "{*}td", "{*}th", "{*}pre", "{*}dt", "{*}dd"
        ):
            if element.tag.endswith("}li") and element.find("{*}p") is not None:
                continue
            blocks.append(reader_text(element))
        return blocks

    def body_documents(self) -> list[str]:
        """Spine documents other than the cover page and the contents page."""
        nav = self.base + next(i.get("href") for i in self.manifest.values() if "nav" in (i.get("properties") or ""))
        return [
            name
            for name in self.spine
            if name != nav and self.document(name).find(".//{*}section[@class='cover']") is None
        ]

    def toc(self) -> list[tuple[str, str]]:
        """(label, href) of the nav document's table of contents, in order."""
        nav_item = next(i for i in self.manifest.values() if "nav" in (i.get("properties") or "").split())
        nav = self.document(nav_item.get("href"))
        toc = nav.find(".//x:nav[@epub:type='toc']", NS)
        return [(reader_text(a), a.get("href")) for a in toc.iter("{*}a")]

    def ncx_labels(self) -> list[str]:
        ncx_item = self.manifest["ncx"]
        ncx = self.document(ncx_item.get("href"))
        return [text.text for text in ncx.findall(".//ncx:navPoint/ncx:navLabel/ncx:text", NS)]


def reader_text(element: etree._Element) -> str:
    """Text as displayed: line breaks become spaces, runs of whitespace collapse."""
    copy = deepcopy(element)
    for line_break in copy.iter("{http://www.w3.org/1999/xhtml}br", "br"):
        line_break.tail = " " + (line_break.tail or "")
    copy.tail = None
    return " ".join("".join(copy.itertext()).split())


@pytest.fixture
def write_book(tmp_path: Path):
    """Write a book folder from {relative path: text or bytes}; returns the folder."""

    def write(files: dict[str, str | bytes], folder: str = "book") -> Path:
        root = tmp_path / folder
        for name, content in files.items():
            path = root / name
            path.parent.mkdir(parents=True, exist_ok=True)
            if isinstance(content, bytes):
                path.write_bytes(content)
            else:
                path.write_text(content, encoding="utf-8")
        root.mkdir(parents=True, exist_ok=True)
        return root

    return write


@pytest.fixture
def build_book(tmp_path: Path, caplog: pytest.LogCaptureFixture):
    """Build a book (folder or file) with overrides; returns (Epub, warnings)."""

    def run(source: Path, output: Path | None = None, **overrides) -> tuple[Epub, list[str]]:
        caplog.clear()
        with caplog.at_level(logging.WARNING, logger="handbill"):
            config = load_config(source, **overrides)
            result = build(config, output or tmp_path / "out" / f"{source.stem}.epub")
        register(result.path)
        return Epub(result.path), [record.getMessage() for record in caplog.records]

    return run


def register(path: Path, source: object = None) -> None:
    """Have EPUBCheck validate a built book (a copy: the test may change or delete its own), with
    its input, if given, so that a failure shows what was built."""
    if _BATCH is None:
        raise RuntimeError("register() works only inside a test session (conftest's epubcheck_batch)")
    _BATCH.add(path, built_by(), "" if source is None else repr(source))


@pytest.fixture(scope="session", autouse=True)
def epubcheck_batch(tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest) -> Iterator[Batch]:
    """EPUBCheck for the session; its teardown (after the last test) fails on any book not clean."""
    global _BATCH
    batch = _BATCH = Batch(tmp_path_factory.getbasetemp() / "epubcheck")
    try:
        batch.start()  # Java warms up while the first tests run
    except BatchError:
        pass  # the first test that builds a book fails, saying what is missing
    try:
        yield batch
    finally:
        _BATCH = None
    session = request.session
    if _INTERRUPTED or session.shouldfail or session.shouldstop:  # stopping early (Ctrl-C, -x): exit is non-zero
        batch.discard()
        return
    try:
        failures = batch.finish()
    except BatchError as error:
        pytest.fail(str(error), pytrace=False)
    _FINISHED.append(batch)
    if failures:
        checked = len(batch.books)
        report = "\n\n".join(book.describe() for book in failures)
        pytest.fail(
            f"EPUBCheck: {len(failures)} of the {checked} books the tests built are not clean:\n{report}", pytrace=False
        )


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    for batch in _FINISHED:
        if batch.built:
            terminalreporter.write_line(
                f"EPUBCheck: {len(batch.books)} distinct books of {batch.built} built, "
                f"{batch.waited:.1f} s of waiting after the last test"
            )


def pytest_keyboard_interrupt() -> None:
    global _INTERRUPTED
    _INTERRUPTED = True


@pytest.fixture(scope="session")
def statement(tmp_path_factory: pytest.TempPathFactory) -> Epub:
    """The default book, built once for the session."""
    output = tmp_path_factory.mktemp("statement") / "statement.epub"
    result = build(load_config(CONTENT), output)
    register(result.path)
    return Epub(result.path)

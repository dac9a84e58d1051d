"""Golden files: what handbill writes for two books, compared byte for byte.

For each case in tests/golden/<case>/ the package document, the navigation document, the NCX
and one chapter are kept as they were built, with `zip.txt`, a listing of every entry of the
EPUB (order, compression, time, size and CRC of its bytes), so that any change to any file in
the book shows here. A mismatch fails with a unified diff: what a change did to the output.

After a change that is meant to alter the output, regenerate the files and read the diff in
git before committing it:

    HANDBILL_REGEN_GOLDEN=1 pytest tests/test_golden.py

The cases are the statement (content/) and a small book that uses most features
(tests/golden/features/in/). These tests also run against the lowest ebooklib version
pyproject.toml allows (.ci/run), since ebooklib writes the package document and the NCX.
"""

from __future__ import annotations

import ast
import difflib
import os
import zipfile
from pathlib import Path

import pytest

from handbill.build import build
from handbill.config import load_config

from .conftest import CONTENT, REPO, register

GOLDEN = Path(__file__).resolve().parent / "golden"
REGENERATE = os.environ.get("HANDBILL_REGEN_GOLDEN", "") not in ("", "0")

CASES = {
    "statement": (CONTENT, ("content.opf", "nav.xhtml", "toc.ncx", "text-002.xhtml")),
    "features": (GOLDEN / "features" / "in", ("content.opf", "nav.xhtml", "toc.ncx", "text-005.xhtml")),
}
"""case -> (book folder, files of the package folder kept as golden files)."""

LISTING = "zip.txt"


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Each case built once, with no SOURCE_DATE_EPOCH: its times come from its book.toml."""
    books = {}
    with pytest.MonkeyPatch.context() as patch:
        patch.delenv("SOURCE_DATE_EPOCH", raising=False)
        for case, (source, _) in CASES.items():
            books[case] = build(load_config(source), tmp_path_factory.mktemp(case) / f"{case}.epub").path
            register(books[case], f"golden case {case}")
    return books


def zip_listing(path: Path) -> str:
    """One line per entry, in zip order: every property of the file that does not depend on
    the zlib build (compressed sizes may differ between zlib versions; the data may not)."""
    with zipfile.ZipFile(path) as archive:
        rows = [
            f"{info.filename}  {'stored' if info.compress_type == zipfile.ZIP_STORED else 'deflated'}"
            f"  {'-'.join(map(str, info.date_time))}  {oct(info.external_attr >> 16)}"
            f"  {info.file_size}  {info.CRC:08x}  extra={info.extra.hex() or '-'}"
            for info in archive.infolist()
        ]
    return "\n".join(rows) + "\n"


def _built_file(path: Path, name: str) -> bytes:
    if name == LISTING:
        return zip_listing(path).encode()
    with zipfile.ZipFile(path) as archive:
        return archive.read(f"EPUB/{name}")


def compare(golden: Path, actual: bytes, regenerate: bool = REGENERATE, root: Path = GOLDEN) -> None:
    """Fail with a unified diff unless `actual` is byte for byte the golden file."""
    if regenerate:
        golden.parent.mkdir(parents=True, exist_ok=True)
        golden.write_bytes(actual)
        return
    if not golden.exists():
        pytest.fail(f"{golden} is missing: run HANDBILL_REGEN_GOLDEN=1 pytest {Path(__file__).name}", pytrace=False)
    expected = golden.read_bytes()
    if actual == expected:
        return
    relative = golden.relative_to(root)
    diff = "".join(
        difflib.unified_diff(
            expected.decode("utf-8", "replace").splitlines(keepends=True),
            actual.decode("utf-8", "replace").splitlines(keepends=True),
            fromfile=f"golden/{relative}",
            tofile=f"built/{relative}",
        )
    )
    if not diff:  # same lines: a difference in line endings or a final newline
        diff = f"same text, different bytes: {expected[-40:]!r} != {actual[-40:]!r}"
    pytest.fail(
        f"{relative} differs from its golden file (if the change is intended: HANDBILL_REGEN_GOLDEN=1)\n{diff}",
        pytrace=False,
    )


@pytest.mark.parametrize(
    ("case", "name"), [(case, name) for case, (_, names) in CASES.items() for name in (*names, LISTING)]
)
def test_built_file_matches_its_golden_file(built: dict[str, Path], case: str, name: str) -> None:
    compare(GOLDEN / case / name, _built_file(built[case], name))


@pytest.mark.parametrize("case", CASES)
def test_the_same_bytes_every_time(built: dict[str, Path], case: str, tmp_path: Path) -> None:
    with pytest.MonkeyPatch.context() as patch:
        patch.delenv("SOURCE_DATE_EPOCH", raising=False)
        again = build(load_config(CASES[case][0]), tmp_path / "again.epub").path
    assert again.read_bytes() == built[case].read_bytes()


def test_golden_folders_hold_only_what_the_tests_compare() -> None:
    """A golden file no test reads would only mislead whoever reads it."""
    for case, (_, names) in CASES.items():
        kept = {path.name for path in (GOLDEN / case).iterdir() if path.name != "in"}
        if REGENERATE:
            for stale in kept - {*names, LISTING}:
                (GOLDEN / case / stale).unlink()
            continue
        assert kept == {*names, LISTING}, case
    assert {path.name for path in GOLDEN.iterdir() if path.is_dir()} == set(CASES)


def test_a_golden_mismatch_shows_a_unified_diff(tmp_path: Path) -> None:
    golden = tmp_path / "toc.ncx"
    golden.write_bytes(b"<ncx>\n<navMap>\n<text>One</text>\n</navMap>\n</ncx>\n")
    with pytest.raises(pytest.fail.Exception) as failure:
        compare(golden, b"<ncx>\n<navMap>\n<text>Two</text>\n</navMap>\n</ncx>\n", False, tmp_path)
    message = str(failure.value)
    assert "--- golden/toc.ncx\n+++ built/toc.ncx\n" in message
    assert "-<text>One</text>\n+<text>Two</text>\n" in message
    compare(golden, golden.read_bytes(), False, tmp_path)  # equal bytes pass


def test_ebooklib_is_used_only_through_its_public_api() -> None:
    """No private name of ebooklib is used and none of its classes is subclassed (overriding its
    private methods once tied handbill to one exact ebooklib version)."""
    for path in sorted((REPO / "src" / "handbill").rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        aliases = {
            alias.asname or alias.name
            for node in ast.walk(tree)
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("ebooklib")
            for alias in node.names
        } | {
            alias.asname or alias.name
            for node in ast.walk(tree)
            if isinstance(node, ast.Import)
            for alias in node.names
            if alias.name.startswith("ebooklib")
        }
        if not aliases:
            continue
        assert path.name == "epub.py", f"{path.name} imports ebooklib: only epub.py writes EPUB bytes"
        for node in ast.walk(tree):
            if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id in aliases:
                assert not node.attr.startswith("_"), f"{path.name}:{node.lineno} uses ebooklib's {node.attr}"
            if isinstance(node, ast.ClassDef):
                for base in node.bases:
                    names = {part.id for part in ast.walk(base) if isinstance(part, ast.Name)}
                    assert not names & aliases, f"{path.name}:{node.lineno} subclasses an ebooklib class"
        used = {node.attr for node in ast.walk(tree) if isinstance(node, ast.Attribute)}
        assert not used & _ebooklib_private_names(), f"{path.name} uses ebooklib's private names"


def _ebooklib_private_names() -> set[str]:
    """The private methods and attributes of ebooklib's classes (`_write_opf`, `_get_ncx`, ...)."""
    from ebooklib import epub

    objects: list[object] = [epub.EpubBook(), epub.EpubWriter("", epub.EpubBook())]
    objects += [value for value in vars(epub).values() if isinstance(value, type) and value.__module__ == epub.__name__]
    names = set()
    for thing in objects:
        names |= set(vars(thing)) | set(dir(thing))
    return {name for name in names if name.startswith("_") and not name.startswith("__")}

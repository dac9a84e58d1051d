"""The suite's EPUBCheck batch (tests/epubcheck_batch.py, conftest's `epubcheck_batch`).

Its protocol is tested with a fake `java`; one inner pytest session runs the real thing and shows
that a book that is not clean fails the session whichever test file runs, naming its test and
source, and that nothing is left behind for the clean ones.
"""

from __future__ import annotations

import os
import re
import shutil
import stat
import zipfile
from pathlib import Path

import pytest

from .epubcheck_batch import CANARY, Batch, BatchError

TESTS = Path(__file__).parent

# A fake EPUBCheckBatch: records the names it is sent, answers each with the verdict VERDICT gives.
FAKE = """#!/bin/sh
while IFS= read -r name; do
  echo "$name" >> "{log}"
  echo "@@BEGIN $name"
  case "$name" in {canary}) echo "ERROR(RSC-001): broken"; echo "@@END 0 1 0";; *) {verdict};; esac
done
"""
CLEAN = 'echo "@@END 0 0 0"'


@pytest.fixture
def fake_batch(tmp_path: Path):
    """A Batch whose `java` is a shell script; returns (batch, names it was sent)."""

    def make(verdict: str = CLEAN, canary: str = CANARY) -> tuple[Batch, Path]:
        log = tmp_path / "sent"
        bin_folder = tmp_path / "bin"
        bin_folder.mkdir(exist_ok=True)
        java = bin_folder / "java"
        java.write_text(FAKE.format(log=log, canary=canary, verdict=verdict))
        java.chmod(java.stat().st_mode | stat.S_IXUSR)
        jar = tmp_path / "epubcheck.jar"
        jar.write_bytes(b"PK")
        return Batch(tmp_path / "batch", jar), log

    return make


@pytest.fixture(autouse=True)
def java_on_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", f"{tmp_path / 'bin'}{os.pathsep}{os.environ['PATH']}")


def book(path: Path, text: str) -> Path:
    with zipfile.ZipFile(path, "w") as archive:  # the same bytes for the same text, whenever written
        archive.writestr(zipfile.ZipInfo("mimetype"), "application/epub+zip")
        archive.writestr(zipfile.ZipInfo("EPUB/a.xhtml"), text)
    return path


def test_each_distinct_book_is_validated_once_and_nothing_is_left(fake_batch, tmp_path) -> None:
    batch, sent = fake_batch()
    first = book(tmp_path / "one.epub", "one")
    batch.add(first, "tests/test_a.py::test_one")
    batch.add(book(tmp_path / "same.epub", "one"), "tests/test_a.py::test_same")
    first.unlink()  # the test removes its own output: the batch has its copy
    batch.add(book(tmp_path / "two.epub", "two"), "tests/test_a.py::test_two")
    assert batch.finish() == []
    names = sent.read_text().split()
    assert names[0] == CANARY and len(names) == 3 and len(set(names)) == 3
    assert not batch.folder.exists()


def test_a_book_that_is_not_clean_names_its_tests_source_and_messages(fake_batch, tmp_path) -> None:
    batch, _ = fake_batch(verdict='echo "WARNING(OPF-085): odd identifier"; echo "@@END 0 0 1"')
    batch.add(book(tmp_path / "a.epub", "a"), "tests/test_a.py::test_one", "{'a.md': 'text'}")
    batch.add(book(tmp_path / "b.epub", "a"), "tests/test_b.py::test_two")
    [failure] = batch.finish()
    described = failure.describe()
    assert described.startswith("tests/test_a.py::test_one built a book with 0 fatal errors, 0 errors, 1 warnings")
    assert "  WARNING(OPF-085): odd identifier" in described
    assert "also built by: tests/test_b.py::test_two" in described
    assert "built from: {'a.md': 'text'}" in described
    assert failure.copy.read_bytes() == (tmp_path / "a.epub").read_bytes()  # kept for a look


def test_a_batch_that_passes_the_broken_book_is_not_trusted(fake_batch, tmp_path) -> None:
    batch, _ = fake_batch(canary="never")
    batch.add(book(tmp_path / "a.epub", "a"), "t")
    with pytest.raises(BatchError, match="passed a broken book"):
        batch.finish()


def test_a_batch_that_stops_early_is_an_error(fake_batch, tmp_path) -> None:
    batch, _ = fake_batch(verdict='echo "Exception in thread main"; exit 1')
    batch.add(book(tmp_path / "a.epub", "a"), "t")
    with pytest.raises(BatchError, match=r"no verdict on 1 of 1 books \(exit status 1\): Exception in thread main"):
        batch.finish()


def test_no_java_is_one_clear_error(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(BatchError, match="EPUBCheck is a test dependency"):
        Batch(tmp_path / "batch", tmp_path / "epubcheck.jar").add(book(tmp_path / "a.epub", "a"), "t")


def test_a_session_with_a_broken_book_fails_whatever_file_runs(pytester: pytest.Pytester, fake_batch) -> None:
    """An inner session of one test file that builds one clean and one broken book (a fake `java`
    calls small books broken; the real one is trusted because every session's batch must flag
    the canary)."""
    fake_batch(verdict='[ "$(wc -c < "$name")" -gt 2000 ] && echo "@@END 0 0 0" || echo "@@END 1 0 0"')
    inner = pytester.mkpydir("tests")
    for helper in ("conftest.py", "epubcheck_batch.py"):
        shutil.copyfile(TESTS / helper, inner / helper)
    (inner / "test_inner.py").write_text(
        "import zipfile\n"
        "from .conftest import register\n"
        "def test_clean(build_book, write_book):\n"
        "    build_book(write_book({'a.md': '# A book\\n\\nIts text.'}))\n"
        "def test_broken(tmp_path):\n"
        "    with zipfile.ZipFile(tmp_path / 'b.epub', 'w') as archive:\n"
        "        archive.writestr('mimetype', 'application/epub+zip')\n"
        "    register(tmp_path / 'b.epub', {'chapter.md': 'the source'})\n"
    )
    result = pytester.runpytest_subprocess("tests/test_inner.py", "-p", "no:cacheprovider")
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    output = result.stdout.str()
    assert "2 passed, 1 error" in output
    assert "ERROR at teardown of test_broken" in output
    assert "EPUBCheck: 1 of the 2 books the tests built are not clean" in output
    assert "tests/test_inner.py::test_broken built a book with 1 fatal errors, 0 errors, 0 warnings" in output
    assert "built from: {'chapter.md': 'the source'}" in output
    kept = Path(re.search(r"\(kept as (.*\.epub)\)", output)[1])  # type: ignore[index]
    assert [path.name for path in kept.parent.iterdir()] == [kept.name]  # the clean book's copy is gone

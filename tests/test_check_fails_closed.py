"""`handbill check` fails closed: a check that did not happen never passes.

EPUBCheck is a separate program that can be missing, crash, print garbage, hang or run out of
memory; each is one error line and exit status 1 (unless --no-epubcheck). File names are
passed so that EPUBCheck cannot read them as options. Files that are not EPUBs (devices,
FIFOs, folders, empty files, zip bombs) are one error line, never a hang or a traceback.
Most EPUBCheck failures are simulated with a fake `java` on PATH; two runs use the real one.
"""

from __future__ import annotations

import os
import stat
import struct
import subprocess
import sys
import tracemalloc
import zipfile
import zlib
from pathlib import Path

import pytest
from click.testing import CliRunner

from handbill.check import check_epub, epubcheck, reader
from handbill.cli import cli

from .conftest import CONTENT, Epub, register
from .test_check import edit, rewrite


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, list(args), catch_exceptions=False)
    return result.exit_code, result.stdout + result.stderr


def lines(output: str, prefix: str) -> list[str]:
    return [line for line in output.splitlines() if line.startswith(prefix)]


@pytest.fixture
def fake_java(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """Put a `java` shell script first on PATH; the jar path is a real file (never opened)."""

    def install(script: str) -> Path:
        folder = tmp_path / "fake-bin"
        folder.mkdir(exist_ok=True)
        java = folder / "java"
        java.write_text("#!/bin/sh\n" + script + "\n")
        java.chmod(java.stat().st_mode | stat.S_IXUSR)
        monkeypatch.setenv("PATH", f"{folder}{os.pathsep}{os.environ['PATH']}")
        jar = tmp_path / "epubcheck.jar"
        jar.write_bytes(b"PK")
        monkeypatch.setattr(epubcheck, "jar_path", lambda: jar)
        return java

    return install


def not_run(path: Path, **options) -> str:
    """The one EPUBCHECK-NOT-RUN finding's message for a book whose own rules all pass."""
    report = check_epub(path, **options)
    assert not report.ok and not report.epubcheck_ran
    [finding] = report.findings
    assert (finding.severity, finding.code) == ("error", "EPUBCHECK-NOT-RUN")
    assert str(path) in finding.message
    return finding.message


# Names that look like options.


def test_a_name_starting_with_a_dash_is_checked_not_taken_as_an_option(statement: Epub, tmp_path, monkeypatch) -> None:
    """With real EPUBCheck: an error only EPUBCheck finds is reported for `-bad.epub`."""
    bad = rewrite(
        statement.path,
        tmp_path / "-bad.epub",
        edit("EPUB/text-002.xhtml", b"<p>Today", b'<p><a href="http://exa mple.org/">a</a>Today'),
    )
    monkeypatch.chdir(tmp_path)
    code, out = run("check", "--", bad.name)
    assert code == 1, out
    assert lines(out, "error: EPUBCHECK-RSC-020: EPUB/text-002.xhtml")
    assert "-bad.epub: FAILED (EPUBCheck and reader checks: 1 errors, 0 warnings)" in out
    assert run("check", "--no-epubcheck", "--", bad.name)[0] == 0  # handbill's own rules miss it


def test_epubcheck_is_given_a_name_that_is_no_option(statement: Epub, tmp_path, fake_java) -> None:
    """The argument EPUBCheck gets is the same file under a name that cannot start with '-'."""
    seen, copy = tmp_path / "arguments", tmp_path / "what-epubcheck-read"
    fake_java(
        f'printf "%s\\n" "$@" > "{seen}"; for a in "$@"; do case "$a" in *.epub) cp "$a" "{copy}";; esac; done; exit 3'
    )
    book = tmp_path / "-x\nnew line é.epub"
    book.write_bytes(statement.path.read_bytes())
    not_run(book)
    arguments = seen.read_text().split("\n")
    given = arguments[arguments.index("-jar") + 2]
    assert not given.startswith("-") and given.isascii() and given.endswith(".epub")
    assert copy.read_bytes() == book.read_bytes()


def test_every_finding_is_one_line_whatever_the_names(statement: Epub, tmp_path, monkeypatch) -> None:
    """A newline in the file name, or in an entry name inside the EPUB, cannot start a line."""
    forged = "EPUB/x\nbook.epub: ok (reader checks: 0 errors, 0 warnings)\n.xhtml"
    book = rewrite(statement.path, tmp_path / "-x\nnew line é.epub", lambda n, d: d)
    with zipfile.ZipFile(book, "a") as archive:
        archive.writestr(forged, b"<p>no declaration</p>")
    item = b'<item href="x%0Abook.epub: ok (reader checks: 0 errors, 0 warnings)%0A.xhtml" id="f" media-type="application/xhtml+xml"/>'
    book = rewrite(
        book, tmp_path / "-y\nnew line é.epub", edit("EPUB/content.opf", b"</manifest>", item + b"</manifest>")
    )
    monkeypatch.chdir(tmp_path)
    code, out = run("check", "--no-epubcheck", "--", book.name)
    assert code == 1
    assert all(line.startswith(("error: ", "warning: ", "-y\\nnew line é.epub: FAILED")) for line in out.splitlines())
    assert "error: KINDLE-XML-DECLARATION: EPUB/x\\nbook.epub: ok" in out


# EPUBCheck that cannot give a verdict.


@pytest.mark.parametrize(
    ("script", "expected"),
    [
        ('echo "# A fatal error has been detected by the Java Runtime Environment" >&2; exit 134', "exit status 134"),
        ('echo "Exception in thread main java.lang.NullPointerException" >&2; exit 2', "NullPointerException"),
        ('echo "{ this is not json"; exit 0', "report cannot be read"),
        ('echo \'{"checker": {"nFatal": 0, "nError": "none", "nWarning": 0}}\'; exit 0', "report cannot be read"),
        ("echo '{\"messages\": []}'; exit 0", "report cannot be read"),
        ("echo Picked up nothing; exit 0", "gave no report"),
        ("exit 0", "gave no report"),
        ('echo \'{"checker": {"nFatal": 0, "nError": 0, "nWarning": 0}}\'; exit 1', "status 1 but reported no error"),
        ('echo "Terminating due to java.lang.OutOfMemoryError: Java heap space" >&2; exit 3', "ran out of memory"),
        ("kill -9 $$", "killed by signal 9"),
    ],
    ids=["crash", "exception", "garbage", "bad-counts", "no-checker", "no-json", "silent", "status-1", "oom", "killed"],
)
def test_epubcheck_that_gives_no_verdict_is_an_error(statement: Epub, fake_java, script: str, expected: str) -> None:
    fake_java(script)
    assert expected in not_run(statement.path)


def test_epubcheck_that_hangs_is_stopped(statement: Epub, fake_java, tmp_path) -> None:
    """A wrapper script whose child holds the output open is stopped too (its whole group)."""
    fake_java("sleep 60 & wait")
    program = "import sys; from handbill.check import check_epub; print(check_epub(sys.argv[1], epubcheck_timeout=1))"
    completed = subprocess.run(
        [sys.executable, "-c", program, str(statement.path)], capture_output=True, text=True, timeout=30
    )
    assert "EPUBCHECK-NOT-RUN" in completed.stdout and "did not finish within 1 s" in completed.stdout


def test_cli_timeout_option_stops_a_hanging_epubcheck(statement: Epub, fake_java) -> None:
    fake_java("exec sleep 60")
    code, out = run("check", "--timeout", "1", str(statement.path))
    assert code == 1
    [line] = lines(out, "error:")
    assert line.startswith("error: EPUBCHECK-NOT-RUN:") and "did not finish within 1 s" in line


def test_real_epubcheck_out_of_memory_is_an_error(statement: Epub, monkeypatch) -> None:
    monkeypatch.setattr(epubcheck, "JAVA_HEAP", "12m")
    assert "ran out of memory (the Java heap is limited to 12m)" in not_run(statement.path)


def test_a_jar_that_is_not_a_jar_is_an_error(statement: Epub, tmp_path, monkeypatch) -> None:
    """Real Java, handed a text file as EPUBCheck."""
    if epubcheck.jar_path() is None:
        pytest.fail("Java and the epubcheck package are test dependencies")
    jar = tmp_path / "epubcheck.jar"
    jar.write_text("not a jar")
    monkeypatch.setattr(epubcheck, "jar_path", lambda: jar)
    assert "jarfile" in not_run(statement.path)


def test_no_java_is_an_error(statement: Epub, tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    assert epubcheck.INSTALL_HINT in not_run(statement.path)


def test_cli_says_so_on_one_line_and_exits_1_unless_no_epubcheck(statement: Epub, fake_java) -> None:
    fake_java("exit 134")
    code, out = run("check", str(statement.path))
    assert code == 1
    assert lines(out, "error:") == [
        f"error: EPUBCHECK-NOT-RUN: EPUBCheck could not check {statement.path}: "
        "EPUBCheck failed with exit status 134: it printed nothing"
    ]
    assert out.rstrip().endswith("FAILED (reader checks: 1 errors, 0 warnings)")
    code, out = run("check", "--no-epubcheck", str(statement.path))
    assert code == 0 and "ok (reader checks: 0 errors, 0 warnings)" in out


def test_error_counts_without_messages_still_fail(statement: Epub, fake_java) -> None:
    fake_java('echo \'{"checker": {"nFatal": 1, "nError": 0, "nWarning": 0}, "messages": []}\'; exit 1')
    report = check_epub(statement.path)
    assert report.epubcheck_ran and not report.ok
    assert [(f.severity, f.code) for f in report.findings] == [("error", "EPUBCHECK")]


# Files that are not EPUBs.


def one_error_line(*args: str) -> str:
    """Run the real command in a subprocess, bounded: exit 1 and exactly one error line."""
    completed = subprocess.run(
        [sys.executable, "-m", "handbill", "check", *args], capture_output=True, text=True, timeout=60
    )
    output = completed.stdout + completed.stderr
    assert completed.returncode == 1, output
    assert "Traceback" not in output and "internal error" not in output
    [line] = lines(output, "error:")
    assert line.startswith("error: EPUB-UNREADABLE: ")
    return line


def test_fifo_is_an_error_not_a_hang(tmp_path: Path) -> None:
    fifo = tmp_path / "book.epub"
    os.mkfifo(fifo)
    assert "not a regular file" in one_error_line(str(fifo))


def test_dev_zero_is_an_error_not_a_hang() -> None:
    assert "/dev/zero is not a regular file" in one_error_line("/dev/zero")


@pytest.mark.parametrize(
    ("make", "expected"),
    [
        (lambda path: path.mkdir(), "is a folder"),
        (lambda path: path.write_bytes(b""), "is empty"),
        (lambda path: path.write_text("Once upon a time\n"), "is not a zip file"),
        (lambda path: None, "does not exist"),
    ],
    ids=["folder", "empty", "text", "missing"],
)
def test_what_is_not_an_epub_is_one_error_line(tmp_path: Path, make, expected: str) -> None:
    path = tmp_path / "book.epub"
    make(path)
    code, out = run("check", str(path))
    assert code == 1
    [line] = lines(out, "error:")
    assert line.startswith(f"error: EPUB-UNREADABLE: {path} {expected}")
    assert out.count("\n") == 2 and "FAILED" in out


def lying_zip(path: Path, source: Path, name: str, claimed: int, payload_bytes: int) -> Path:
    """A copy of `source` whose entry `name` claims `claimed` bytes but inflates to many more."""
    with zipfile.ZipFile(source) as original:
        entries = [(info.filename, original.read(info)) for info in original.infolist()]
    compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
    chunk = bytes(1024 * 1024)
    payload = b"".join(compressor.compress(chunk) for _ in range(payload_bytes // len(chunk))) + compressor.flush()
    local, central = b"", b""
    for filename, data in entries:
        encoded = filename.encode()
        if filename == name:
            method, body, size, crc = 8, payload, claimed, 0
        else:
            method, body, size, crc = 0, data, len(data), zlib.crc32(data)
        offset = len(local)
        local += struct.pack("<4s5H3L2H", b"PK\3\4", 20, 0, method, 0, 0, crc, len(body), size, len(encoded), 0)
        local += encoded + body
        central += struct.pack(
            "<4s6H3L5H2L", b"PK\1\2", 20, 20, 0, method, 0, 0, crc, len(body), size, len(encoded), 0, 0, 0, 0, 0, offset
        )
        central += encoded
    end = struct.pack("<4s4H2LH", b"PK\5\6", 0, 0, len(entries), len(entries), len(central), len(local), 0)
    path.write_bytes(local + central + end)
    return path


def test_an_entry_that_lies_about_its_size_is_never_inflated_whole(statement: Epub, tmp_path: Path) -> None:
    """Its header claims 1 KB, its stream inflates to 300 MB: memory stays small."""
    name = "EPUB/text-003.xhtml"
    bomb = lying_zip(tmp_path / "liar.epub", statement.path, name, 1024, 300 * 1024 * 1024)
    tracemalloc.start()
    try:
        report = check_epub(bomb, run_epubcheck=False)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 40 * 1024 * 1024, f"{peak / 1e6:.0f} MB"
    [damaged] = [f for f in report.findings if f.code == "EPUB-ENTRY-DAMAGED"]
    assert damaged.severity == "error" and name in damaged.message and not report.ok


def test_zip_bomb_is_one_error_line(statement: Epub, tmp_path: Path) -> None:
    """A small file whose headers promise more than MAX_TOTAL_BYTES is refused before unpacking."""
    bomb = lying_zip(tmp_path / "bomb.epub", statement.path, "EPUB/text-003.xhtml", reader.MAX_TOTAL_BYTES, 1024 * 1024)
    assert "refusing it as a likely zip bomb" in one_error_line(str(bomb))


def test_the_default_time_limit_grows_with_the_book(statement: Epub, monkeypatch) -> None:
    limits = []
    monkeypatch.setattr(
        epubcheck, "validate", lambda path, timeout: limits.append(timeout) or epubcheck.Result(0, 0, 0)
    )
    assert check_epub(statement.path).ok
    assert check_epub(statement.path, epubcheck_timeout=7).ok
    assert limits == [epubcheck.TIMEOUT_SECONDS, 7]
    assert epubcheck.timeout_for(100 * 1024 * 1024) == 100 * epubcheck.SECONDS_PER_MB > epubcheck.TIMEOUT_SECONDS


def test_too_many_entries_are_refused_before_zipfile_reads_them_all(tmp_path: Path) -> None:
    many = tmp_path / "many.epub"
    with zipfile.ZipFile(many, "w") as archive:
        for number in range(50_000):
            archive.writestr(f"{number}", b"")
    tracemalloc.start()
    try:
        report = check_epub(many)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    [finding] = report.findings
    assert finding.code == "EPUB-UNREADABLE" and "50,000 entries" in finding.message
    assert peak < 5 * 1024 * 1024, f"{peak / 1e6:.0f} MB"


def test_build_check_fails_when_epubcheck_cannot_run(tmp_path: Path, fake_java) -> None:
    fake_java('echo "{ garbage"')
    output = tmp_path / "statement.epub"
    code, out = run("build", str(CONTENT), "-o", str(output), "--check")
    register(output)
    assert code == 1
    [line] = lines(out, "error:")
    assert line.startswith(f"error: EPUBCHECK-NOT-RUN: EPUBCheck could not check {output}: EPUBCheck's report")

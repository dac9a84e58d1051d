"""Check any EPUB the way stores and reading apps will treat it (`handbill check`).

EPUBCheck, when Java and the `epubcheck` package are installed, finds what the EPUB
specification forbids. The reader checks here find what Send to Kindle, Google Play Books,
Apple Books and Adobe-engine readers reject or mangle in books that EPUBCheck passes (see
the Readers and Accessibility notes). Every finding names the file inside the EPUB it is
about. Nothing here prints: the command line decides how to show a `CheckReport`.

In: the path of any file. Out: a `CheckReport` holding the problems the `reader` met opening it,
the findings of every `rules` rule, and EPUBCheck's messages (`epubcheck`) as findings.
"""

from __future__ import annotations

from pathlib import Path

from . import epubcheck
from .reader import Unreadable, open_epub
from .report import CheckReport, Finding
from .rules import RULES

__all__ = ["CheckReport", "Finding", "check_epub"]


def check_epub(path: Path, run_epubcheck: bool = True, epubcheck_timeout: float | None = None) -> CheckReport:
    """Check the EPUB at `path`; a file that is not an EPUB is one error, never an exception.

    With `run_epubcheck`, EPUBCheck failing to run (no Java, a crash, a time-out, no memory)
    is an error finding too: a check that did not happen never passes. EPUBCheck is stopped
    after `epubcheck_timeout` seconds (default: `epubcheck.timeout_for` the file's size)."""
    path = Path(path)
    try:
        book = open_epub(path)
    except Unreadable as problem:
        return CheckReport(path, (Finding("error", "EPUB-UNREADABLE", str(problem)),), False)
    findings = list(book.problems)
    for rule in RULES:
        findings.extend(rule(book))
    ran, note = False, None
    if run_epubcheck:
        timeout = epubcheck_timeout or epubcheck.timeout_for(book.size)
        ran, note, found = _epubcheck(path, timeout)
        findings.extend(found)
    return CheckReport(path, tuple(findings), ran, note)


_EPUBCHECK_SEVERITY = {"FATAL": "error", "ERROR": "error", "WARNING": "warning"}


def _epubcheck(path: Path, timeout: float) -> tuple[bool, str | None, list[Finding]]:
    """(ran, why not, findings): EPUBCheck that could not run is an error finding, never a pass."""
    try:
        result = epubcheck.validate(path, timeout=timeout)
    except (epubcheck.EpubCheckError, OSError) as error:
        reason = str(error)
        return False, reason, [Finding("error", "EPUBCHECK-NOT-RUN", f"EPUBCheck could not check {path}: {reason}")]
    findings = []
    for message in result.messages:
        severity = _EPUBCHECK_SEVERITY.get(message.severity)
        if severity is not None:
            where = f"{message.location}: " if message.location else ""
            code = f"EPUBCHECK-{message.id}" if message.id else "EPUBCHECK"
            findings.append(Finding(severity, code, f"{where}{message.text}"))
    if result.fatal + result.errors and not any(finding.severity == "error" for finding in findings):
        counted = result.fatal + result.errors
        findings.append(Finding("error", "EPUBCHECK", f"EPUBCheck counted {counted} errors in {path} but listed none"))
    return True, None, findings

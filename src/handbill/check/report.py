"""What a check finds: `Finding` (one problem, with a stable code) and `CheckReport` (all of them).

Plain data: the reader, the rules and EPUBCheck's results produce `Finding`s; `check_epub` gathers
them into a `CheckReport`, which the command line shows as text or JSON.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Finding:
    """One problem: `severity` is "error" or "warning"; `code` is stable for scripts."""

    severity: str
    code: str
    message: str


@dataclass(frozen=True)
class CheckReport:
    """Everything found about one EPUB; `ok` means no errors (warnings are allowed)."""

    path: Path
    findings: tuple[Finding, ...]
    epubcheck_ran: bool
    epubcheck_note: str | None = None

    @property
    def errors(self) -> int:
        return sum(finding.severity == "error" for finding in self.findings)

    @property
    def warnings(self) -> int:
        return sum(finding.severity == "warning" for finding in self.findings)

    @property
    def ok(self) -> bool:
        return self.errors == 0

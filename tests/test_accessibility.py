"""DAISY Ace on the default book, when Ace and Chromium are installed (../shared/tools/ace sets
them up offline); skipped otherwise."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from .conftest import Epub

ACE = Path(os.environ.get("ACE_HOME", Path.home() / ".cache" / "handbill-ace")) / "node_modules" / ".bin" / "ace-cli"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"


def ace_report(book: Path, out: Path) -> tuple[dict, list[tuple[str, str]]]:
    """DAISY Ace's report on `book` (written under `out`) and its violations (document, rule)."""
    environment = dict(os.environ, PUPPETEER_EXECUTABLE_PATH=CHROMIUM)
    completed = subprocess.run(
        [str(ACE), "-f", "-o", str(out), str(book)], capture_output=True, text=True, env=environment, timeout=300
    )
    assert completed.returncode == 0, completed.stderr[-500:]
    report = json.loads((out / "report.json").read_text())
    violations = [
        (group["earl:testSubject"]["url"], item["earl:test"]["dct:title"])
        for group in report["assertions"]
        for item in group.get("assertions", [])
    ]
    return report, violations


@pytest.mark.skipif(not (ACE.exists() and Path(CHROMIUM).exists()), reason="DAISY Ace or Chromium not installed")
def test_default_book_has_no_accessibility_violations(statement: Epub, tmp_path: Path) -> None:
    report, violations = ace_report(statement.path, tmp_path)
    assert violations == []
    assert report["earl:result"]["earl:outcome"] == "pass"

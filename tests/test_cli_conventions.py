"""Command-line conventions: -q/-v, --strict, check --format json, -o -, completion."""

from __future__ import annotations

import json
import os
import pty
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from handbill.cli import cli

from .conftest import CONTENT, Epub, register

REMOTE_IMAGE = {"a.md": "# Alpha\n\nText.\n", "b.md": "# Beta\n\n![A map](https://example.org/map.png)\n"}


def invoke(*args: str) -> Result:
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def handbill(*args: str, **kwargs) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run([sys.executable, "-m", "handbill", *args], capture_output=True, **kwargs)


def test_default_shows_warnings_and_summary(write_book, tmp_path: Path) -> None:
    result = invoke("build", str(write_book(REMOTE_IMAGE)), "-o", str(tmp_path / "a.epub"))
    assert result.exit_code == 0
    assert "warning: " in result.stderr and "example.org" in result.stderr
    assert f"wrote {tmp_path / 'a.epub'}" in result.stdout
    register(tmp_path / "a.epub")


def test_quiet_shows_only_errors(write_book, tmp_path: Path) -> None:
    book = write_book(REMOTE_IMAGE)
    result = invoke("-q", "build", str(book), "-o", str(tmp_path / "a.epub"))
    assert (result.exit_code, result.stdout, result.stderr) == (0, "", "")
    assert Epub(tmp_path / "a.epub").metadata("title")
    failed = invoke("-q", "build", str(book), "--language", "not a tag!", "-o", str(tmp_path / "b.epub"))
    assert failed.exit_code == 1 and failed.stderr.count("\n") == 1 and "Error:" in failed.stderr


def test_verbose_shows_what_each_stage_did(tmp_path: Path) -> None:
    result = invoke("-v", "build", str(CONTENT), "-o", str(tmp_path / "s.epub"))
    assert result.exit_code == 0
    assert any(line.startswith("info: ") and "3 chapters in" in line for line in result.stderr.splitlines())
    quiet_and_verbose = CliRunner().invoke(cli, ["-q", "-v", "build"])
    assert quiet_and_verbose.exit_code == 2 and "contradict" in quiet_and_verbose.stderr


def test_strict_turns_warnings_into_failure_and_writes_nothing(write_book, tmp_path: Path) -> None:
    book = write_book(REMOTE_IMAGE)
    output = tmp_path / "a.epub"
    assert invoke("build", str(book), "-o", str(output)).exit_code == 0
    register(output)
    earlier = output.read_bytes()
    for quiet in ([], ["-q"]):  # -q hides the warnings, but they still count
        result = invoke(*quiet, "build", str(book), "-o", str(output), "--strict", "--title", "New")
        assert result.exit_code == 1
        assert result.stderr.splitlines()[-1] == f"Error: {output}: 1 warning in strict mode; nothing was written"
        assert ("warning: " in result.stderr) == (not quiet)
        assert output.read_bytes() == earlier and sorted(p.name for p in tmp_path.iterdir()) == ["a.epub", "book"]
    clean = write_book({"a.md": "# Alpha\n\nText.\n"}, folder="clean")
    assert invoke("build", str(clean), "-o", str(tmp_path / "c.epub"), "--strict").exit_code == 0
    register(tmp_path / "c.epub")


def test_check_json_is_one_object_with_stable_codes(statement: Epub, tmp_path: Path) -> None:
    result = invoke("check", "--no-epubcheck", "--format", "json", str(statement.path))
    assert result.exit_code == 0
    report = json.loads(result.stdout)
    assert report == {"file": str(statement.path), "ok": True, "epubcheck_ran": False, "findings": []}

    broken = tmp_path / "odd\nname.epub"
    broken.write_bytes(b"PK not really")
    result = invoke("check", "--no-epubcheck", "--format", "json", str(broken))
    assert result.exit_code == 1
    assert result.stdout.count("\n") == 1  # one line, whatever the name holds
    report = json.loads(result.stdout)
    assert report["file"] == str(broken) and report["ok"] is False and report["epubcheck_ran"] is False
    assert [(f["severity"], f["code"]) for f in report["findings"]] == [("error", "EPUB-UNREADABLE")]
    assert set(report["findings"][0]) == {"severity", "code", "message"}


def test_check_json_reports_warnings_with_their_codes(tmp_path: Path) -> None:
    """A book with a small cover: a warning with the stable code the text output shows too."""
    from PIL import Image

    book = tmp_path / "book"
    book.mkdir()
    (book / "a.md").write_text("# A\n\nText.\n")
    Image.new("RGB", (700, 1000), (10, 20, 30)).save(book / "cover.jpg", "JPEG")
    output = tmp_path / "small-cover.epub"
    assert invoke("build", str(book), "--cover", str(book / "cover.jpg"), "-o", str(output)).exit_code == 0
    register(output)
    text = invoke("check", "--no-epubcheck", str(output))
    report = json.loads(invoke("check", "--no-epubcheck", "--format", "json", str(output)).stdout)
    assert report["ok"] is True and report["findings"]
    for finding in report["findings"]:
        assert f"{finding['severity']}: {finding['code']}: {finding['message']}" in text.stdout.splitlines()


def test_output_dash_writes_the_book_to_stdout(tmp_path: Path) -> None:
    file_build = invoke("build", str(CONTENT), "-o", str(tmp_path / "file.epub"))
    assert file_build.exit_code == 0
    result = invoke("build", str(CONTENT), "-o", "-")
    assert result.exit_code == 0
    assert result.stdout_bytes == (tmp_path / "file.epub").read_bytes()
    assert "3 chapters" in result.stderr and not Path("-").exists()


def test_output_dash_from_the_shell_into_a_file(tmp_path: Path) -> None:
    with open(tmp_path / "piped.epub", "wb") as stdout:
        done = subprocess.run(
            [sys.executable, "-m", "handbill", "build", str(CONTENT), "-o", "-"], stdout=stdout, stderr=subprocess.PIPE
        )
    assert done.returncode == 0, done.stderr
    assert b"3 chapters" in done.stderr
    with zipfile.ZipFile(tmp_path / "piped.epub") as archive:
        assert archive.read("mimetype") == b"application/epub+zip"
    register(tmp_path / "piped.epub")


def test_output_dash_is_refused_on_a_terminal(tmp_path: Path) -> None:
    leader, follower = pty.openpty()
    try:
        done = subprocess.run(
            [sys.executable, "-m", "handbill", "build", str(CONTENT), "-o", "-"],
            stdout=follower,
            stderr=subprocess.PIPE,
            cwd=tmp_path,
        )
        os.set_blocking(leader, False)
        try:
            shown = os.read(leader, 65536)
        except BlockingIOError:
            shown = b""
    finally:
        os.close(leader)
        os.close(follower)
    assert done.returncode == 2
    assert b"terminal" in done.stderr and b"PK" not in shown
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("extra", "said"), [(["--format", "all"], "--format all"), (["--check"], "--check"), (["--watch"], "--watch")]
)
def test_output_dash_refuses_what_needs_a_file(extra: list[str], said: str) -> None:
    result = CliRunner().invoke(cli, ["build", str(CONTENT), "-o", "-", *extra])
    assert result.exit_code == 2 and said in result.stderr and result.stdout_bytes == b""


def test_help_says_there_is_no_colour_and_how_to_complete() -> None:
    result = invoke("--help")
    assert "NO_COLOR" in result.stdout and "_HANDBILL_COMPLETE=bash_source handbill" in result.stdout
    assert "-q, --quiet" in result.stdout and "-v, --verbose" in result.stdout
    assert "--strict" in invoke("build", "--help").stdout
    assert "json" in invoke("check", "--help").stdout


def test_shell_completion_works_as_documented() -> None:
    done = handbill(env={**os.environ, "_HANDBILL_COMPLETE": "bash_source"})
    assert done.returncode == 0 and b"_handbill_completion" in done.stdout
    done = handbill(
        env={**os.environ, "_HANDBILL_COMPLETE": "bash_complete", "COMP_WORDS": "handbill bu", "COMP_CWORD": "1"}
    )
    assert done.returncode == 0 and b"build" in done.stdout

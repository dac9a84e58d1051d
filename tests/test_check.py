"""handbill check: a clean book passes; each reader rule catches the fault it is for."""

from __future__ import annotations

import io
import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner
from PIL import Image

from handbill.check import check_epub
from handbill.cli import cli
from handbill.epubcheck import jar_path

from .conftest import CONTENT


@pytest.fixture(scope="module")
def clean(tmp_path_factory: pytest.TempPathFactory) -> Path:
    output = tmp_path_factory.mktemp("check") / "statement.epub"
    result = CliRunner().invoke(cli, ["build", str(CONTENT), "-o", str(output)], catch_exceptions=False)
    assert result.exit_code == 0
    return output


def altered(source: Path, target: Path, change: Callable[[str, bytes], bytes | None]) -> Path:
    """A copy of the EPUB with entries changed (None drops one); mimetype stays first and stored."""
    with zipfile.ZipFile(source) as original, zipfile.ZipFile(target, "w") as copy:
        for info in original.infolist():
            data = change(info.filename, original.read(info))
            if data is not None:
                copy.writestr(
                    info.filename, data, zipfile.ZIP_STORED if info.filename == "mimetype" else zipfile.ZIP_DEFLATED
                )
    return target


def codes(path: Path) -> set[str]:
    return {finding.code for finding in check_epub(path, run_epubcheck=False).findings}


def test_the_default_book_passes_every_check(clean: Path) -> None:
    report = check_epub(clean, run_epubcheck=jar_path() is not None)
    assert report.findings == () and report.ok
    assert report.epubcheck_ran == (jar_path() is not None)


def replace_in(name_part: str, old: bytes, new: bytes) -> Callable[[str, bytes], bytes]:
    return lambda name, data: data.replace(old, new) if name_part in name else data


def tiny_jpeg() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (300, 400), (200, 0, 0)).save(buffer, "JPEG")
    return buffer.getvalue()


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (replace_in("content.opf", b"<dc:language>en</dc:language>", b""), "KINDLE-LANGUAGE"),
        (
            replace_in("content.opf", b"<dc:language>en</dc:language>", b"<dc:language>en_US</dc:language>"),
            "KINDLE-LANGUAGE",
        ),
        (replace_in("text-002", b'<?xml version="1.0" encoding="utf-8"?>\n', b""), "KINDLE-XML-DECLARATION"),
        (
            lambda name, data: (
                data.replace(b"<body ", b'<body id="top" ').replace(
                    b"<p>Today", b'<p><a href="text-002.xhtml#top">x</a>Today'
                )
                if "text-002" in name
                else data
            ),
            "KINDLE-BODY-LINK",
        ),
        (replace_in("text-003", b"<p>To counter", b'<p><img alt="x"/>To counter'), "KINDLE-IMG-SRC"),
        (replace_in("content.opf", b'<meta name="cover" content="cover-image"></meta>', b""), "KINDLE-COVER"),
        (
            lambda name, data: data.split(b"<guide>")[0] + b"</package>\n" if name.endswith(".opf") else data,
            "KINDLE-GUIDE",
        ),
        (
            lambda name, data: data + b"\np { -webkit-hyphens: auto; }\n" if name.endswith("handbill.css") else data,
            "KINDLE-WEBKIT-HYPHENS",
        ),
        (lambda name, data: tiny_jpeg() if name.endswith("cover.jpg") else data, "COVER-SIZE"),
        (
            lambda name, data: (
                data.replace(b"</section>", b"<p>" + b"x " * 150_000 + b"</p></section>")
                if "text-003" in name
                else data
            ),
            "DOC-SIZE",
        ),
        (
            lambda name, data: (
                data.replace(b'property="schema:accessMode"', b'property="x:y"') if name.endswith(".opf") else data
            ),
            "A11Y-METADATA",
        ),
        (
            lambda name, data: (
                data.replace(b'<navPoint id="navpoint-1"', b'<navPoint id="navpoint-1b"')
                if name.endswith(".ncx")
                else data
            ),
            None,
        ),
    ],
)
def test_each_rule_catches_its_fault(clean: Path, tmp_path: Path, change, expected: str | None) -> None:
    broken = altered(clean, tmp_path / "broken.epub", change)
    found = codes(broken)
    if expected is None:
        assert found == set()
    else:
        assert expected in found, found


def test_ncx_out_of_spine_order_is_a_warning(clean: Path, tmp_path: Path) -> None:
    def swap(name: str, data: bytes) -> bytes:
        if not name.endswith(".ncx"):
            return data
        return (
            data.replace(b"text-002.xhtml", b"TMP")
            .replace(b"text-004.xhtml", b"text-002.xhtml")
            .replace(b"TMP", b"text-004.xhtml")
        )

    assert "KINDLE-NCX-ORDER" in codes(altered(clean, tmp_path / "b.epub", swap))


@pytest.mark.parametrize("content", [b"not a zip", b"PK\x03\x04garbage"])
def test_not_an_epub_is_one_error_not_an_exception(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "book.epub"
    path.write_bytes(content)
    report = check_epub(path, run_epubcheck=False)
    assert [finding.code for finding in report.findings] == ["EPUB-UNREADABLE"] and not report.ok


def test_zip_without_container(tmp_path: Path) -> None:
    path = tmp_path / "book.epub"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("mimetype", "application/epub+zip")
    report = check_epub(path, run_epubcheck=False)
    assert len(report.findings) == 1 and "container.xml" in report.findings[0].message


def test_cli_check_exit_codes(clean: Path, tmp_path: Path) -> None:
    runner = CliRunner()
    result = runner.invoke(cli, ["check", str(clean), "--no-epubcheck"], catch_exceptions=False)
    assert result.exit_code == 0 and "ok" in result.stdout
    broken = altered(clean, tmp_path / "b.epub", replace_in("content.opf", b"<dc:language>en</dc:language>", b""))
    result = runner.invoke(cli, ["check", str(broken), "--no-epubcheck"], catch_exceptions=False)
    assert result.exit_code == 1 and "KINDLE-LANGUAGE" in result.stdout

"""`handbill leaflet`: a printable PDF whose text is real text and whose QR code reads back."""

from __future__ import annotations

import logging
import shutil
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner

from handbill.build import make_book
from handbill.cli import cli
from handbill.config import load_config
from handbill.leaflet import LeafletError, check_url, leaflet_pdf

from .conftest import CONTENT

pytestmark = pytest.mark.skipif(
    shutil.which("pdftotext") is None or shutil.which("pdftoppm") is None, reason="poppler-utils is not installed"
)
URL = "https://example.org/statement"


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, list(args), catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture(scope="module")
def statement():
    return make_book(load_config(CONTENT))


def pdf_text(path: Path) -> str:
    return " ".join(
        subprocess.run(["pdftotext", str(path), "-"], capture_output=True, check=True, text=True).stdout.split()
    )


def qr_codes(path: Path, tmp_path: Path) -> list[str]:
    """Render the first page at 150 dpi, as a cheap printer or a phone photo would see it, and decode it."""
    zxingcpp = pytest.importorskip("zxingcpp")
    from PIL import Image

    subprocess.run(["pdftoppm", "-r", "150", "-png", "-singlefile", str(path), str(tmp_path / "page")], check=True)
    with Image.open(tmp_path / "page.png") as image:
        return [result.text for result in zxingcpp.read_barcodes(image)]


@pytest.mark.parametrize("paper", ["a4", "letter", "a5"])
@pytest.mark.parametrize("per_sheet", [1, 2, 4])
def test_every_copy_reads_back_and_carries_the_books_text(
    statement, tmp_path: Path, paper: str, per_sheet: int
) -> None:
    pdf = tmp_path / "leaflet.pdf"
    pdf.write_bytes(leaflet_pdf(statement, URL, paper, per_sheet))
    assert qr_codes(pdf, tmp_path) == [URL] * per_sheet
    text = pdf_text(pdf)
    assert text.count("For a general strike against ICE") == text.count(URL) == per_sheet
    for expected in ("Socialist Equality Party (US)", "22 January 2026"):  # the description names them too
        assert text.count(expected) >= per_sheet, expected
    assert "Statement of the Socialist Equality Party" in text  # the description


def test_cli_writes_the_leaflet_and_the_same_book_gives_the_same_bytes(tmp_path: Path) -> None:
    first, second = tmp_path / "a.pdf", tmp_path / "b.pdf"
    code, out, err = run("leaflet", str(CONTENT), "-o", str(first), "--url", URL, "--per-sheet", "2")
    assert code == 0, err
    assert f"wrote {first}" in out
    assert run("leaflet", str(CONTENT), "-o", str(second), "--url", URL, "--per-sheet", "2")[0] == 0
    assert first.read_bytes() == second.read_bytes()
    assert first.read_bytes().startswith(b"%PDF-")
    assert b"D:20260122" in first.read_bytes()  # the book's date, not the clock's
    assert not [name for name in tmp_path.iterdir() if name.name.startswith(".")]  # no part file left


def test_text_in_other_scripts_is_real_text_and_a_script_the_font_lacks_is_warned(
    write_book, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    book = write_book(
        {
            "book.toml": 'title = "Загальний страйк"\nauthor = "Ελένη Παπαδοπούλου"\ndate = "2026-02-01"\n',
            "a.md": "# Один\n\nтекст\n",
        }
    )
    pdf = tmp_path / "l.pdf"
    with caplog.at_level(logging.WARNING, logger="handbill"):
        pdf.write_bytes(leaflet_pdf(make_book(load_config(book)), URL, "a4", 1))
    text = pdf_text(pdf)
    assert "Загальний страйк" in text and "Ελένη Παπαδοπούλου" in text and "1 February 2026" in text
    assert not [record for record in caplog.records if "leaflet" in record.getMessage()]

    tamil = write_book({"book.toml": 'title = "பொது வேலைநிறுத்தம்"\n', "a.md": "text\n"}, folder="tamil")
    with caplog.at_level(logging.WARNING, logger="handbill"):
        leaflet_pdf(make_book(load_config(tamil)), URL, "a4", 1)
    assert any("no letters" in record.getMessage() and "ப" in record.getMessage() for record in caplog.records)


@pytest.mark.parametrize(
    "url, complaint",
    [
        ("ftp://example.org/book", "must be a web address"),
        ("example.org/book", "must be a web address"),
        ("https://", "must be a web address"),
        ("https://example.org/a b", "spaces"),
        ("https://example.org:99999/", "not a web address"),
        ("https://example.org/" + "a" * 300, "at most 200"),
        ("javascript:alert(1)", "must be a web address"),
    ],
)
def test_bad_urls_are_one_line_before_anything_is_built(tmp_path: Path, url: str, complaint: str) -> None:
    with pytest.raises(LeafletError, match=complaint):
        check_url(url)
    code, out, err = run("leaflet", str(CONTENT), "-o", str(tmp_path / "l.pdf"), "--url", url)
    assert code == 1 and complaint in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "l.pdf").exists()


def test_missing_book_missing_folder_and_a_users_file_are_one_line(tmp_path: Path) -> None:
    code, _, err = run("leaflet", str(tmp_path / "nothing"), "-o", str(tmp_path / "l.pdf"), "--url", URL)
    assert code == 1 and "no such book folder" in err and len(err.strip().splitlines()) == 1

    code, _, err = run("leaflet", str(CONTENT), "-o", str(tmp_path / "missing" / "l.pdf"), "--url", URL)
    assert code == 1 and "folder does not exist" in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "missing").exists()

    notes = tmp_path / "notes.pdf"
    notes.write_text("my own notes, not a PDF")
    code, _, err = run("leaflet", str(CONTENT), "-o", str(notes), "--url", URL)
    assert code == 1 and "not a PDF" in err
    assert notes.read_text() == "my own notes, not a PDF"

    earlier = tmp_path / "earlier.pdf"
    earlier.write_bytes(b"%PDF-1.4 an earlier leaflet")
    assert run("leaflet", str(CONTENT), "-o", str(earlier), "--url", URL)[0] == 0
    assert qr_codes(earlier, tmp_path) == [URL] * 4  # the default: four per sheet


def test_arabic_is_shaped_and_in_reading_order(write_book, tmp_path: Path) -> None:
    """Without shaping, fpdf2 printed "ماع بارضإ": the letters unjoined and the line reversed."""
    book = write_book({"book.toml": 'title = "إضراب عام"\nauthor = "حزب"\nlanguage = "ar"\n', "a.md": "# نص\n\nنص\n"})
    pdf = tmp_path / "ar.pdf"
    pdf.write_bytes(leaflet_pdf(make_book(load_config(book)), URL, "a5", 1))
    text = pdf_text(pdf)
    for control in "\u202a\u202b\u202c\u200e\u200f":
        text = text.replace(control, "")
    assert "إضراب عام" in text and "حزب" in text
    assert qr_codes(pdf, tmp_path) == [URL]

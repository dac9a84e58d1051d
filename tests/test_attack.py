"""Regressions from the adversarial pass (benchmarks/attack_harness.py, attack_serve_check.py):
each case here broke the promise of issue 9 before it was fixed. Books go through `build_book`
or `register`, so the EPUBCheck batch validates every one of them."""

from __future__ import annotations

import base64
import time
import zipfile
from pathlib import Path

import pytest
from click.testing import CliRunner

from handbill.cli import cli

from .conftest import CONTENT, Epub, reader_text, register
from .test_book import png

SECRET = b"PRIVATE 7f3a9c"


def secret_png() -> bytes:
    """A PNG that carries the secret in a text chunk: if it gets into a book, the book leaks it."""
    import io

    from PIL import Image
    from PIL.PngImagePlugin import PngInfo

    info = PngInfo()
    info.add_text("k", SECRET.decode())
    out = io.BytesIO()
    Image.new("RGB", (30, 30), (1, 2, 3)).save(out, "PNG", pnginfo=info)
    return out.getvalue()


def everything_in(epub: Epub) -> bytes:
    return b"".join(epub.files.values())


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, list(args), catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


# -- hidden folders inside the book are not read (README: "What a book may read") --------------


@pytest.mark.parametrize("hidden", [".git", ".ssh", ".env/deeper"])
def test_an_image_in_a_hidden_folder_of_the_book_stays_out(write_book, build_book, hidden: str) -> None:
    book = write_book({"01.md": f"# C\n\n![the key]({hidden}/key.png)\n\n<img src='{hidden}/key.png' alt='raw'>\n"})
    (book / hidden).mkdir(parents=True)
    (book / hidden / "key.png").write_bytes(secret_png())
    epub, warnings = build_book(book)
    assert SECRET not in everything_in(epub)
    assert not [name for name in epub.files if "key" in name]
    assert any("the key" in reader_text(epub.document(name)) for name in epub.body_documents())
    assert any("key.png" in warning and "outside" in warning for warning in warnings), warnings


def test_a_symlink_into_a_hidden_folder_does_not_open_it(write_book, build_book) -> None:
    book = write_book({"01.md": "# C\n\n![x](pictures/key.png)\n"})
    (book / ".git").mkdir()
    (book / ".git" / "key.png").write_bytes(secret_png())
    (book / "pictures").symlink_to(book / ".git")
    epub, _ = build_book(book)
    assert SECRET not in everything_in(epub)


def test_a_stylesheet_font_in_a_hidden_folder_stays_out(write_book, build_book) -> None:
    book = write_book(
        {
            "book.toml": 'title = "T"\nstylesheet = "s.css"\n',
            "01.md": "# C\n\ntext\n",
            "s.css": "@font-face { font-family: k; src: url(.secret/k.woff) }\np { background: url(.git/k.png) }\n",
            ".secret/k.woff": b"wOFF" + SECRET,
            ".git/k.png": secret_png(),
        }
    )
    epub, warnings = build_book(book)
    assert SECRET not in everything_in(epub)
    assert sum("k.woff" in warning or "k.png" in warning for warning in warnings) == 2, warnings


def test_allow_outside_still_lets_a_hidden_named_file_in(write_book, tmp_path: Path) -> None:
    """What the user names with --allow-outside may be hidden: that is their own choice."""
    outside = tmp_path / ".fonts"
    outside.mkdir()
    (outside / "ok.png").write_bytes(png(10, 10))
    book = write_book({"01.md": "# C\n\ntext\n", "book.toml": f'title = "T"\nstylesheet = "{outside}/s.css"\n'})
    (outside / "s.css").write_text("p { background: url(ok.png) }")
    output = tmp_path / "allowed.epub"
    code, _, err = run("build", str(book), "-o", str(output), "--allow-outside", str(outside))
    assert code == 0, err
    register(output)
    assert any(name.endswith(".png") for name in Epub(output).files)


# -- -o replaces only an earlier EPUB ------------------------------------------------------------


def _zip_archive(path: Path, first: str = "word/document.xml") -> bytes:
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr(first, "my thesis, three years of work")
        archive.writestr("other.xml", "<x/>")
    return path.read_bytes()


@pytest.mark.parametrize("name", ["thesis.docx", "backup.zip", "tool.jar", "x.epub"])
def test_output_never_replaces_a_zip_that_is_not_an_epub(tmp_path: Path, name: str) -> None:
    target = tmp_path / name
    before = _zip_archive(target)
    code, _, err = run("build", str(CONTENT), "-o", str(target))
    assert code == 1 and len(err.strip().splitlines()) == 1 and name in err and "not an e-book" in err, err
    assert target.read_bytes() == before
    assert sorted(path.name for path in tmp_path.iterdir()) == [name]  # no .part left


def test_output_never_replaces_a_zip_inside_the_book(write_book) -> None:
    book = write_book({"01.md": "# C\n\ntext\n"})
    before = _zip_archive(book / "old.epub", first="notes.txt")
    code, _, err = run("build", str(book), "-o", str(book / "old.epub"))
    assert code == 1 and "old.epub" in err
    assert (book / "old.epub").read_bytes() == before


def test_output_still_replaces_an_earlier_epub_of_its_own(tmp_path: Path) -> None:
    target = tmp_path / "book.epub"
    for _ in range(2):
        code, _, err = run("build", str(CONTENT), "-o", str(target), "--format", "all")
        assert code == 0, err
    register(target)
    register(tmp_path / "book.kepub.epub")


# -- URLs: the host checked is the host kept -------------------------------------------------------


@pytest.mark.parametrize("separator", ["\n", "\r\n"])
def test_a_line_break_inside_a_link_address_is_removed_as_browsers_do(write_book, build_book, separator) -> None:
    book = write_book({"01.md": f'# C\n\n<a href="http://exa{separator}mple.com/pa{separator}th">the link</a>\n'})
    epub, _ = build_book(book)
    links = [a.get("href") for name in epub.body_documents() for a in epub.document(name).iter("{*}a")]
    assert "http://example.com/path" in links, links


# -- CSS data: URLs are checked like files --------------------------------------------------------


def _css_book(write_book, css: str):
    return write_book({"book.toml": 'title = "T"\nstylesheet = "s.css"\n', "01.md": "# C\n\ntext\n", "s.css": css})


def _user_css(epub: Epub) -> str:
    return next(data.decode() for name, data in epub.files.items() if name.endswith("01-s.css"))


def test_a_css_data_url_with_script_or_bad_characters_is_dropped(write_book, build_book) -> None:
    epub, warnings = build_book(
        _css_book(
            write_book,
            "p { color: red; background: url('data:image/svg+xml,<svg onload=alert(1)>') }\n"
            "q { background: url(data:image/png;base64,!!!notbase64) }\n",
        )
    )
    css = _user_css(epub)
    assert "data:" not in css and "onload" not in css and "color: red" in css.replace("color:red", "color: red")
    assert sum("data:" in warning for warning in warnings) == 2, warnings


def test_a_css_data_url_image_is_decoded_and_embedded_as_a_file(write_book, build_book) -> None:
    encoded = base64.b64encode(png(12, 12)).decode()
    epub, _ = build_book(_css_book(write_book, f'p {{ background: url("data:image/png;base64,{encoded}") }}'))
    css = _user_css(epub)
    assert "data:" not in css and "url(" in css
    embedded = [name for name in epub.files if name.endswith(".png") and "css-" in name]
    assert len(embedded) == 1 and epub.files[embedded[0]] == png(12, 12)


# -- pathological raw HTML: bounded time ----------------------------------------------------------


def test_a_tag_with_fifty_thousand_attributes_is_linear(write_book, build_book) -> None:
    attributes = " ".join(f"a{number}='x'" for number in range(50_000))
    book = write_book({"01.md": f"# C\n\n<p {attributes}>the text</p>\n\n<p id='kept' class='c'>next</p>\n"})
    started = time.monotonic()
    epub, warnings = build_book(book)
    assert time.monotonic() - started < 10  # quadratic before: over 20 s
    document = epub.document(epub.body_documents()[0])
    assert [reader_text(p) for p in document.iter("{*}p")][-2:] == ["the text", "next"]
    assert document.find(".//{*}p[@id='kept']") is not None
    assert any("over 1000 attributes" in warning for warning in warnings), warnings


def test_many_attributes_the_element_allows_are_kept(write_book, build_book) -> None:
    """Attributes are still kept or dropped one by one, in one pass."""
    data = " ".join(f"data-k{number}='v'" for number in range(300))
    book = write_book({"01.md": f"# C\n\n<p {data} bogus='1' onclick='x' id='p1' title='t'>x</p>\n"})
    epub, _ = build_book(book)
    p = epub.document(epub.body_documents()[0]).find(".//{*}p[@id='p1']")
    assert p.get("title") == "t" and p.get("data-k299") == "v" and p.get("onclick") is None and p.get("bogus") is None


# -- check: an entry name that unpacks outside the book ("zip slip") is an error ---------------


@pytest.mark.parametrize("bad", ["../../evil.txt", "/abs.txt", "EPUB/../../x.txt", "C:/win.txt", "..\\..\\w.txt"])
def test_check_flags_entry_names_that_unpack_outside_the_book(tmp_path: Path, statement: Epub, bad: str) -> None:
    target = tmp_path / "slip.epub"
    with zipfile.ZipFile(statement.path) as source, zipfile.ZipFile(target, "w") as archive:
        for info in source.infolist():
            archive.writestr(info, source.read(info))
        archive.writestr(bad, "x")
    code, out, err = run("check", "--no-epubcheck", str(target))
    assert code == 1 and "EPUB-UNSAFE-NAME" in out + err, out + err


def test_check_keeps_ordinary_names_with_dots(tmp_path: Path, statement: Epub) -> None:
    target = tmp_path / "dots.epub"
    with zipfile.ZipFile(statement.path) as source, zipfile.ZipFile(target, "w") as archive:
        for info in source.infolist():
            archive.writestr(info, source.read(info))
        archive.writestr("EPUB/..notes..txt", "x")
    code, out, err = run("check", "--no-epubcheck", str(target))
    assert "EPUB-UNSAFE-NAME" not in out + err


# -- a mistake in the command line is one line too (exit status 2) -------------------------------


@pytest.mark.parametrize(
    "args, named",
    [
        (["build", str(CONTENT), "--cover", "/"], "--cover"),
        (["build", str(CONTENT), "-o", "/"], "--output"),
        (["serve", "--port", "70000"], "--port"),
        (["build", "--no-such-option"], "--no-such-option"),
    ],
)
def test_a_usage_mistake_is_one_error_line(args: list[str], named: str) -> None:
    import subprocess
    import sys

    done = subprocess.run([sys.executable, "-m", "handbill", *args], capture_output=True, text=True, timeout=60)
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert done.returncode == 2 and len(lines) == 1 and lines[0].startswith("Error: ") and named in lines[0], lines

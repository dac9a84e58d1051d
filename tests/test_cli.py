"""The command line as a user meets it: summaries, one-line errors, untouched output on failure."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from handbill.cli import cli

from .conftest import CONTENT, Epub, register

# What an earlier EPUB starts with: a zip whose first entry is `mimetype` (handbill replaces only that).
EARLIER_BOOK = b"PK\x03\x04" + bytes(22) + b"\x08\x00\x00\x00mimetypeapplication/epub+zip earlier book"


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, list(args), catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


def test_every_command_has_help() -> None:
    for name, command in cli.commands.items():
        code, out, _ = run(name, "--help")
        assert code == 0 and "Usage:" in out, name
        assert command.help and "Example" in command.help, f"{name} --help has no example"


def test_build_the_default_book_prints_where_and_a_summary(tmp_path: Path) -> None:
    output = tmp_path / "statement.epub"
    code, out, err = run("build", str(CONTENT), "-o", str(output))
    assert code == 0, err
    assert f"wrote {output}" in out
    assert "3 chapters" in out and "words" in out and "KB" in out
    register(output)


def test_default_output_is_dist_slug(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    code, _, err = run("build", str(CONTENT))
    assert code == 0, err
    expected = tmp_path / "dist" / "for-a-general-strike-against-ice-violence-and-trump-s-dictatorship.epub"
    assert expected.is_file()


def test_overrides_replace_book_toml(tmp_path: Path) -> None:
    output = tmp_path / "o.epub"
    code, _, err = run(
        "build",
        str(CONTENT),
        "-o",
        str(output),
        "--title",
        "Another title",
        "--author",
        "A. Writer",
        "--author",
        "B. Writer",
        "--language",
        "en-GB",
    )
    assert code == 0, err
    book = Epub(output)
    assert book.metadata("title") == ["Another title"]
    assert book.metadata("creator") == ["A. Writer", "B. Writer"]
    assert book.metadata("language") == ["en-GB"]
    register(output)


def test_single_file_with_sections_becomes_one_chapter_per_section(tmp_path: Path) -> None:
    source = tmp_path / "README.md"
    source.write_text("# Guide\n\nIntro.\n\n## Install\n\nRun it.\n\n## Use\n\nSee [install](#install).\n")
    output = tmp_path / "guide.epub"
    code, out, err = run("build", str(source), "-o", str(output))
    assert code == 0, err
    book = Epub(output)
    assert [label for label, _ in book.toc()] == ["Guide", "Install", "Use"]
    assert book.metadata("title") == ["Guide"]
    last = book.document(book.body_documents()[-1])
    link = last.find(".//{*}a")
    assert link.get("href") == book.toc()[1][1] + "#install"
    register(output)


def test_split_level_option(tmp_path: Path) -> None:
    source = tmp_path / "one.md"
    source.write_text("# A\n\ntext\n\n## B\n\ntext\n\n### C\n\ntext\n")
    output = tmp_path / "one.epub"
    assert run("build", str(source), "-o", str(output), "--split-level", "3")[0] == 0
    assert [label for label, _ in Epub(output).toc()] == ["A", "B", "C"]
    register(output)


@pytest.mark.parametrize(
    ("files", "expected"),
    [
        ({"book.toml": 'title = "x"\nlanguage = \n'}, "book.toml:2: invalid TOML"),
        ({"book.toml": 'title = "x"\nlanguage = "C.UTF-8"\n', "a.md": "# A\n"}, "not a BCP 47"),
        ({"book.toml": 'colour = "red"\n', "a.md": "# A\n"}, "unknown setting(s): colour"),
        ({"a.md": "---\ntitle: [unclosed\n---\n\ntext\n"}, "a.md:"),
        ({"a.md": b"caf\xe9\n"}, "a.md:1: is not UTF-8"),
        ({"book.toml": 'cover = "cover.jpg"\n', "cover.jpg": "not an image", "a.md": "# A\n"}, "cover.jpg"),
        ({"notes.txt": "no markdown here"}, "no Markdown files"),
        ({"book.toml": 'chapters = ["missing.md"]\n'}, "missing.md"),
    ],
)
def test_bad_input_is_one_clear_line_and_leaves_earlier_output(
    tmp_path: Path, write_book, files: dict, expected: str
) -> None:
    book = write_book(files)
    output = tmp_path / "out.epub"
    output.write_bytes(EARLIER_BOOK)
    code, out, err = run("build", str(book), "-o", str(output))
    assert code == 1
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: "), err
    assert expected in lines[0]
    assert "Traceback" not in out + err
    assert output.read_bytes() == EARLIER_BOOK
    assert sorted(path.name for path in tmp_path.iterdir() if path.name != "book") == ["out.epub"]


def test_missing_book_folder(tmp_path: Path) -> None:
    code, _, err = run("build", str(tmp_path / "nowhere"))
    assert code == 1 and "nowhere: no such book folder" in err


def test_unwritable_output_is_an_error_not_a_traceback(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    code, _, err = run("build", str(CONTENT), "-o", str(blocker / "book.epub"))
    assert code == 1 and "Error:" in err and "book.epub" in err


def test_disk_full_while_writing_is_an_error_and_leaves_nothing(tmp_path: Path, monkeypatch) -> None:
    from handbill.write import epub

    real = epub._PinnedZip.writestr

    def full(self, name, data, compress_type=None, compresslevel=None):  # type: ignore[no-untyped-def]
        if str(name).endswith("text-002.xhtml"):
            raise OSError(28, "No space left on device")
        return real(self, name, data, compress_type, compresslevel)

    monkeypatch.setattr(epub._PinnedZip, "writestr", full)
    output = tmp_path / "out" / "book.epub"
    output.parent.mkdir()
    output.write_bytes(EARLIER_BOOK)
    code, _, err = run("build", str(CONTENT), "-o", str(output))
    assert code == 1 and "No space left on device" in err and "book.epub" in err and len(err.splitlines()) == 1
    assert output.read_bytes() == EARLIER_BOOK and [path.name for path in output.parent.iterdir()] == ["book.epub"]


def test_module_entry_point_runs() -> None:
    import subprocess
    import sys

    completed = subprocess.run([sys.executable, "-m", "handbill", "--version"], capture_output=True, text=True)
    assert completed.returncode == 0 and "handbill" in completed.stdout


def test_check_command_exit_codes(tmp_path: Path) -> None:
    book = tmp_path / "statement.epub"
    assert run("build", str(CONTENT), "-o", str(book), "--check")[0] == 0
    code, out, _ = run("check", str(book), "--no-epubcheck")
    assert code == 0 and "ok (reader checks: 0 errors, 0 warnings)" in out
    broken = tmp_path / "broken.epub"
    broken.write_text("not an epub")
    code, out, _ = run("check", str(broken), "--no-epubcheck")
    assert code == 1 and "EPUB-UNREADABLE" in out and "FAILED" in out

"""What a book may read and what a build may replace: files outside the book's project stay out,
a user's files are never destroyed, and every mistake is one line that names the file."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import time
import zipfile
from pathlib import Path

import pytest
from click.testing import CliRunner

from handbill.cli import cli
from handbill.config import project_root
from handbill.languages import is_language_tag

from .conftest import CONTENT, Epub, register
from .test_book import png

SECRET = "PRIVATE KEY 7f3a9c"


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, list(args), catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


def handbill(*args: str, cwd: Path | None = None, env: dict | None = None, timeout: float = 60):
    """The installed command as a user runs it (through main(): exit codes, signals, one-line errors)."""
    return subprocess.run(
        [sys.executable, "-m", "handbill", *args],
        capture_output=True,
        text=True,
        errors="surrogateescape",
        cwd=cwd,
        env={**os.environ, **(env or {})},
        timeout=timeout,
    )


def one_error_line(completed: subprocess.CompletedProcess, expected: str) -> None:
    lines = completed.stderr.strip().splitlines()
    assert completed.returncode == 1, completed.stderr
    assert len(lines) == 1 and lines[0].startswith("Error: "), completed.stderr
    assert expected in lines[0], lines[0]
    assert "Traceback" not in completed.stderr and "internal error" not in completed.stderr


def all_text(path: Path) -> bytes:
    with zipfile.ZipFile(path) as archive:
        return b"".join(archive.read(name) for name in archive.namelist())


@pytest.fixture
def home(tmp_path: Path) -> Path:
    """A home folder with a secret in it, and a downloaded book beside it in ~/Downloads."""
    home = tmp_path / "home"
    (home / ".ssh").mkdir(parents=True)
    (home / ".ssh" / "id_rsa").write_text(f"-----BEGIN {SECRET}-----\n")
    (home / ".ssh" / "id_rsa.png").write_bytes(png(700, 1000))
    (home / "Downloads" / "book").mkdir(parents=True)
    return home


# -- what a book may read ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "setting",
    [
        'assets = "/"\nstylesheet = ["/etc/passwd"]',
        'stylesheet = "../../.ssh/id_rsa"',
        'cover = "../../.ssh/id_rsa.png"',
        'chapters = ["../../.ssh/id_rsa"]',
        'assets = "../.."\ncover = "../../.ssh/id_rsa.png"',
        '[book]\ntitle = "mdBook"\nsrc = "../../.ssh"',
    ],
)
def test_a_downloaded_book_cannot_reach_into_home(home: Path, tmp_path: Path, setting: str) -> None:
    book = home / "Downloads" / "book"
    (book / "book.toml").write_text(setting + "\n")
    (book / "a.md").write_text("# A\n\ntext\n")
    output = tmp_path / "out.epub"
    completed = handbill("build", str(book), "-o", str(output), env={"HOME": str(home)})
    one_error_line(completed, "outside the book")
    assert "book.toml" in completed.stderr
    assert not output.exists()


def test_images_and_stylesheet_urls_reaching_out_are_left_out(home: Path, tmp_path: Path, build_book) -> None:
    book = home / "Downloads" / "book"
    (book / "style.css").write_text("p { background: url(../../.ssh/id_rsa.png); color: black }\n")
    (book / "book.toml").write_text('stylesheet = "style.css"\n')
    (book / "a.md").write_text("# A\n\n![the key](../../.ssh/id_rsa.png)\n\ntext\n")
    (book / "link.png").symlink_to(home / ".ssh" / "id_rsa.png")
    (book / "b.md").write_text("# B\n\n![linked](link.png)\n")
    epub, warnings = build_book(book)
    assert not any(name.endswith(".png") and "cover" not in name for name in epub.files)
    assert sum("outside" in warning or "missing, outside" in warning for warning in warnings) >= 2
    text = b"".join(epub.files.values())
    assert b"the key" in text and b"id_rsa" not in text


def test_a_book_inside_a_project_may_use_the_project_but_not_its_hidden_folders(
    tmp_path: Path, build_book, write_book
) -> None:
    project = tmp_path / "project"
    (project / "assets").mkdir(parents=True)
    (project / "pyproject.toml").write_text("[project]\n")
    (project / "assets" / "style.css").write_text("p { color: #222 }\n")
    (project / "assets" / "cover.png").write_bytes(png(700, 1000))
    (project / ".git").mkdir()
    (project / ".git" / "config").write_text(f"[credential] {SECRET}\n")
    book = project / "books" / "one"
    book.mkdir(parents=True)
    (book / "a.md").write_text("# One\n\ntext\n")
    (book / "book.toml").write_text(
        'assets = "../../assets"\nstylesheet = "../../assets/style.css"\ncover = "../../assets/cover.png"\n'
    )
    assert project_root(book) == project.resolve()
    epub, _ = build_book(book)
    assert b"color: #222" in b"".join(epub.files.values())

    (book / "book.toml").write_text('stylesheet = "../../.git/config"\n')
    code, _, err = run("build", str(book), "-o", str(tmp_path / "x.epub"))
    assert code == 1 and "outside the book" in err and ".git" in err


def test_allow_outside_lets_in_only_what_the_user_names(home: Path, tmp_path: Path) -> None:
    shared = tmp_path / "shared"
    shared.mkdir()
    (shared / "house.css").write_text("h1 { letter-spacing: 0.05em }\n")
    book = home / "Downloads" / "book"
    (book / "a.md").write_text("# A\n\ntext\n")
    (book / "book.toml").write_text(f'stylesheet = "{shared / "house.css"}"\n')
    output = tmp_path / "out.epub"
    code, _, err = run("build", str(book), "-o", str(output))
    assert code == 1 and "--allow-outside" in err
    code, _, err = run("build", str(book), "-o", str(output), "--allow-outside", str(shared))
    assert code == 0, err
    register(output)
    assert b"letter-spacing: 0.05em" in all_text(output)
    # A cover named on the command line is the user's own choice.
    (shared / "cover.png").write_bytes(png(700, 1000))
    (book / "book.toml").write_text("")
    code, _, err = run("build", str(book), "-o", str(output), "--cover", str(shared / "cover.png"))
    assert code == 0, err


def test_project_root_never_climbs_to_home_or_the_file_system_root(home: Path, monkeypatch) -> None:
    monkeypatch.setenv("HOME", str(home))
    (home / ".git").mkdir()  # a home folder kept in git is still not a project of this book
    book = home / "Downloads" / "book"
    assert project_root(book) == book.resolve()
    assert project_root(CONTENT) == CONTENT.parent.resolve()  # the default book reaches ../assets


# -- what a build may replace ---------------------------------------------------------------------


@pytest.mark.parametrize("target", ["book/a.md", "book/book.toml", "notes.txt"])
def test_output_never_replaces_a_file_that_is_not_an_epub(tmp_path: Path, write_book, target: str) -> None:
    book = write_book({"a.md": "# A\n\ntext\n", "book.toml": 'title = "A"\n'})
    (tmp_path / "notes.txt").write_text("my notes\n")
    victim = tmp_path / target
    before = victim.read_bytes()
    code, _, err = run("build", str(book), "-o", str(victim))
    assert code == 1 and "not an e-book" in err and len(err.strip().splitlines()) == 1
    assert victim.read_bytes() == before
    assert not [path for path in tmp_path.rglob("*.part")]


def test_output_never_replaces_a_link_a_folder_or_a_device(tmp_path: Path, write_book) -> None:
    book = write_book({"a.md": "# A\n\ntext\n"})
    mine = tmp_path / "mine.txt"
    mine.write_text("mine")
    (tmp_path / "link.epub").symlink_to(mine)
    (tmp_path / "folder.epub").mkdir()
    for target, problem in [
        (tmp_path / "link.epub", "symbolic link"),
        (tmp_path / "folder.epub", "folder"),
        (Path("/dev/null"), "not a regular file"),
    ]:
        code, _, err = run("build", str(book), "-o", str(target))
        assert code in (1, 2) and problem in err and "Traceback" not in err, err
    assert (tmp_path / "link.epub").is_symlink() and mine.read_text() == "mine"
    assert Path("/dev/null").is_char_device()


def test_an_earlier_epub_is_replaced(tmp_path: Path, write_book) -> None:
    book = write_book({"a.md": "# A\n\ntext\n"})
    output = tmp_path / "book.epub"
    for _ in range(2):
        code, _, err = run("build", str(book), "-o", str(output))
        assert code == 0, err
    assert Epub(output).metadata("title") == ["A"]


def test_both_editions_never_share_one_file(tmp_path: Path, write_book) -> None:
    book = write_book({"a.md": "# A\n\ntext\n"})
    code, _, err = run("build", str(book), "--format", "all", "-o", str(tmp_path / "x.kepub.epub"))
    assert code == 1 and "both the EPUB and the Kobo edition" in err
    assert list(tmp_path.iterdir()) == [book]
    code, _, err = run("build", str(book), "--format", "all", "-o", str(tmp_path / "x.epub"))
    assert code == 0, err
    assert sorted(path.name for path in tmp_path.glob("*.epub")) == ["x.epub", "x.kepub.epub"]


def test_a_failed_build_leaves_no_new_folders(tmp_path: Path, write_book) -> None:
    book = write_book({"a.md": "# A\n\n![x](x.png)\n", "book.toml": 'cover = "bad.png"\n', "bad.png": b"junk"})
    code, _, err = run("build", str(book), "-o", str(tmp_path / "new" / "deeper" / "x.epub"))
    assert code == 1 and "bad.png" in err
    assert not (tmp_path / "new").exists()


def test_stale_part_files_of_a_killed_build_are_swept(tmp_path: Path, write_book) -> None:
    book = write_book({"a.md": "# A\n\ntext\n"})
    out = tmp_path / "out"
    out.mkdir()
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    stale = out / f".handbill-{dead.stdout.strip()}-1.part"
    stale.write_bytes(b"half a book")
    someone_elses = out / "notes.part"
    someone_elses.write_text("keep")
    code, _, err = run("build", str(book), "-o", str(out / "x.epub"))
    assert code == 0, err
    assert not stale.exists() and someone_elses.exists()


def _big_book(root: Path) -> Path:
    root.mkdir()
    paragraph = "Words of a long book, rendered slowly enough to be interrupted. " * 12
    for number in range(60):
        (root / f"{number:02d}.md").write_text(f"# Chapter {number}\n\n" + f"{paragraph}\n\n" * 600)
    return root


@pytest.mark.parametrize(("sent", "status"), [(signal.SIGTERM, 143), (signal.SIGINT, 130)])
def test_an_interrupted_build_removes_its_part_file(tmp_path: Path, sent: signal.Signals, status: int) -> None:
    book = _big_book(tmp_path / "big")
    out = tmp_path / "out"
    out.mkdir()
    process = subprocess.Popen(
        [sys.executable, "-m", "handbill", "build", str(book), "-o", str(out / "big.epub")],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 30
        while not list(out.glob("*.part")) and time.monotonic() < deadline and process.poll() is None:
            time.sleep(0.02)
        assert list(out.glob("*.part")), "the build never started writing"
        time.sleep(0.2)
        process.send_signal(sent)
        process.wait(timeout=30)
    finally:
        process.kill()
        process.wait()
    assert process.returncode == status
    assert list(out.iterdir()) == []


# -- clear errors --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("setting", "expected"),
    [
        ('date = "2026-13-45"', "'date' must be a real date"),
        ('date = "2026-02-30"', "'date' must be a real date"),
        ('date = "2026-00"', "'date' must be a real date"),
        ('date = "1066-10-14"', "'date' must be a real date"),
        ('modified = "1979-12-31T23:59:59Z"', "'modified' must be a real UTC time"),
        ('modified = "2026-01-22T25:00:00Z"', "'modified' must be a real UTC time"),
        ('language = "en-a"', "not a BCP 47"),
        ('language = "i-foo"', "not a BCP 47"),
        ('language = "en-US-US"', "not a BCP 47"),
        ('language = "de-1901-1901"', "not a BCP 47"),
    ],
)
def test_impossible_settings_are_one_clear_line(tmp_path: Path, write_book, setting: str, expected: str) -> None:
    book = write_book({"book.toml": setting + "\n", "a.md": "# A\n\ntext\n"})
    code, _, err = run("build", str(book), "-o", str(tmp_path / "x.epub"))
    assert code == 1 and expected in err and "book.toml" in err and len(err.strip().splitlines()) == 1


def test_one_language_validator_for_every_place() -> None:
    good = ["en", "pt-BR", "zh-Hant-TW", "sr-Latn-RS", "de-CH-1901", "es-419", "ckb", "x-private", "i-klingon"]
    bad = ["en-a", "i-foo", "en-US-US", "de-1901-1901", "en-a-bb-a-cc", "C", "", "en_US", "english language"]
    assert all(is_language_tag(tag) for tag in good)
    assert not any(is_language_tag(tag) for tag in bad)
    code, _, err = run("build", str(CONTENT), "--language", "en-US-US", "-o", "/nonexistent/x.epub")
    assert code == 1 and "not a BCP 47" in err


def test_front_matter_language_is_repaired_or_refused_never_invalid(write_book, build_book, tmp_path: Path) -> None:
    """`de_DE` is repaired with a warning; an impossible tag is one error naming the file and line (issue 13)."""
    book = write_book(
        {
            "a.md": "---\nlanguage: de_DE\n---\n# Deutsch\n\nText.\n",
            "c.md": "---\ntitle: Fr\nlang: fr\n---\n# Français\n\nTexte.\n",
        }
    )
    epub, warnings = build_book(book)
    languages = [epub.document(name).find(".//{*}section").get("lang") for name in epub.body_documents()]
    assert languages == ["de-DE", "fr"]
    assert any("a.md:2" in warning and "de-DE" in warning for warning in warnings)
    (book / "b.md").write_text("---\ntitle: Broken\nlanguage: en-US-US\n---\n# Broken\n\nText.\n")
    code, _, err = run("-q", "build", str(book), "-o", str(tmp_path / "x.epub"))
    assert code == 1 and len(err.strip().splitlines()) == 1
    assert "b.md:3:" in err and "'en-US-US' is not a BCP 47 language tag" in err
    assert not (tmp_path / "x.epub").exists()


def test_control_characters_in_metadata_are_removed_not_left_empty(write_book, build_book) -> None:
    book = write_book(
        {
            "book.toml": 'title = "Strike\\u0001 now"\nauthors = ["Ann\\u000b Lee"]\n'
            'description = "A call\\ufffe to act"\n',
            "a.md": "# A\n\ntext\n",
        }
    )
    epub, warnings = build_book(book)
    assert epub.metadata("title") == ["Strike now"]
    assert epub.metadata("creator") == ["Ann Lee"]
    assert epub.metadata("description") == ["A call to act"]
    assert len([warning for warning in warnings if "control characters" in warning]) == 3


def test_a_book_with_no_title_anywhere_is_named_after_its_folder(write_book, build_book) -> None:
    book = write_book({"a.md": "just some words, no heading\n"}, folder="2024")
    epub, warnings = build_book(book)
    assert epub.metadata("title") == ["2024"]
    assert any("no title" in warning for warning in warnings)


def test_every_chapter_hidden_from_the_contents_still_gives_a_contents(write_book, build_book) -> None:
    book = write_book({f"{n}.md": f"---\ntoc: false\n---\n# Part {n}\n\ntext\n" for n in (1, 2)})
    epub, warnings = build_book(book)
    assert [label for label, _ in epub.toc()] == ["Part 1"]
    assert epub.ncx_labels() == ["Part 1"]
    assert any("toc: false" in warning for warning in warnings)


@pytest.mark.parametrize(
    ("args", "env", "expected"),
    [
        (["build", "/tmp/a\udc80b"], {}, "a\\udc80b"),
        (["build", "/tmp/no\nsuch"], {}, "no\\nsuch"),
        (["build", str(CONTENT), "-o", "/tmp/out\udc80.epub", "--title", "T\udc80"], {}, ""),
        (["build", str(CONTENT), "-o", "/tmp/x.epub"], {"SOURCE_DATE_EPOCH": "soon"}, "SOURCE_DATE_EPOCH"),
        (["build", str(CONTENT), "-o", "/tmp/x.epub"], {"SOURCE_DATE_EPOCH": "99999999999"}, "after 2107"),
    ],
)
def test_odd_names_and_environment_are_one_line_not_an_internal_error(args, env, expected) -> None:
    completed = handbill(*args, env=env)
    if expected:
        one_error_line(completed, expected)
    else:  # a stray byte in an option is text like any other: the build works
        assert completed.returncode == 0, completed.stderr
        os.unlink("/tmp/out\udc80.epub")


def test_a_nul_byte_in_a_path_is_one_clear_line() -> None:
    code, _, err = run("build", "book\x00.md")
    assert code == 2 and "NUL byte" in err and "Traceback" not in err
    code, _, err = run("build", str(CONTENT), "-o", "x\x00.epub")
    assert code == 2 and "NUL byte" in err


# -- --watch ---------------------------------------------------------------------------------------


class _Lines:
    """Both output streams of a running command, read on threads so a wait can time out."""

    def __init__(self, process: subprocess.Popen):
        self.lines: list[str] = []
        for stream in (process.stdout, process.stderr):
            threading.Thread(target=self._read, args=(stream,), daemon=True).start()

    def _read(self, stream) -> None:  # type: ignore[no-untyped-def]
        for line in stream:
            self.lines.append(line)

    def wait_for(self, text: str, timeout: float = 20) -> None:
        start = len(self.lines)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if any(text in line for line in self.lines[start:]):
                return
            time.sleep(0.02)
        raise AssertionError(f"{text!r} never came: {self.lines}")


def test_watch_survives_errors_and_vanishing_files_and_ignores_its_own_output(tmp_path: Path, write_book) -> None:
    book = write_book({"a.md": "# A\n\ntext\n", "b.md": "# B\n\nmore\n", "book.toml": 'title = "W"\n'})
    output = book / "out" / "w.epub"  # written inside the watched folder
    process = subprocess.Popen(
        [sys.executable, "-m", "handbill", "build", str(book), "--watch", "-o", str(output)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        bufsize=1,
    )
    lines = _Lines(process)
    try:
        lines.wait_for("watching")
        (book / "book.toml").write_text("title = \n")
        lines.wait_for("Error")
        (book / "book.toml").write_text('title = "Fixed"\n')
        lines.wait_for("rebuilt")
        assert Epub(output).metadata("title") == ["Fixed"]
        (book / "b.md").unlink()
        lines.wait_for("rebuilt")
        (book / "b.md").write_text("# B again\n\nback\n")
        lines.wait_for("rebuilt")
        assert [label for label, _ in Epub(output).toc()] == ["A", "B again"]
        settled = len(lines.lines)
        time.sleep(1.0)  # the e-book it wrote inside the folder starts no further build
        assert lines.lines[settled:] == []
        process.send_signal(signal.SIGINT)
        process.wait(timeout=20)
    finally:
        process.kill()
        process.wait()
    assert process.returncode == 130


@pytest.mark.parametrize("line", ["[\\" * 50_000, "[" * 100_000, "[a](" * 50_000, "[a](" + "x" * 100_000])
def test_a_pathological_summary_line_is_read_in_linear_time(write_book, build_book, line: str) -> None:
    book = write_book({"SUMMARY.md": f"# Summary\n\n- [One](one.md)\n{line}\n- [Two \\[2\\]](two.md)\n"})
    (book / "one.md").write_text("# One\n\ntext\n")
    (book / "two.md").write_text("# Two\n\ntext\n")
    started = time.monotonic()
    epub, _ = build_book(book)
    assert time.monotonic() - started < 20  # minutes before the pattern was made linear
    assert [label for label, _ in epub.toc()] == ["One", "Two"]


def test_hidden_folders_inside_the_book_are_not_read(write_book, build_book) -> None:
    book = write_book({"a.md": "# A\n\n![key](.ssh/key.png) ![ok](img/ok.png)\n", ".ssh/key.png": png(8, 8)})
    (book / "img").mkdir()
    (book / "img" / "ok.png").write_bytes(png(8, 8))
    epub, warnings = build_book(book)
    images = [name for name in epub.files if name.startswith("EPUB/images/") and "cover" not in name]
    assert len(images) == 1 and "ok" in images[0]
    assert any("key.png" in warning and "outside" in warning for warning in warnings)


def test_files_over_the_resource_limit_are_refused_unread(write_book, build_book, tmp_path, monkeypatch) -> None:
    from handbill import sources

    book = write_book({"a.md": "# A\n\n![big](big.png)\n", "style.css": "@font-face { src: url(big.ttf) }\n"})
    for name in ("big.png", "big.ttf", "big-cover.png", "big.css"):
        with (book / name).open("wb") as file:  # sparse: nothing to read, and nothing is
            file.truncate(sources.MAX_RESOURCE_BYTES + 1)
    read = []
    real = sources.Path.read_bytes
    monkeypatch.setattr(sources.Path, "read_bytes", lambda self: read.append(self) or real(self))
    (book / "book.toml").write_text('stylesheet = "style.css"\n')
    epub, warnings = build_book(book)
    assert sum("larger than 50 MB" in warning for warning in warnings) == 2  # the image and the font
    assert not [path for path in read if path.name.startswith("big")]
    for setting in ('cover = "big-cover.png"', 'stylesheet = "big.css"'):
        (book / "book.toml").write_text(setting + "\n")
        code, _, err = run("build", str(book), "-o", str(tmp_path / "x.epub"))
        errors = [line for line in err.splitlines() if line.startswith("Error:")]
        assert code == 1 and len(errors) == 1 and "larger than 50 MB" in errors[0], err


def test_every_setting_is_declared_once_and_documented() -> None:
    """book.toml's keys live in one schema (config.SETTINGS); the README's table names each of them."""
    from handbill.config import SETTINGS

    readme = (CONTENT.parent / "README.md").read_text(encoding="utf-8")
    table = readme[readme.index("**`book.toml`**") : readme.index("**Front matter**")]
    documented = set(re.findall(r"`([a-z_]+)`", table.split("| --- |")[1]))
    assert set(SETTINGS) <= documented, set(SETTINGS) - documented
    assert all(setting.help for setting in SETTINGS.values())

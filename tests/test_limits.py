"""Limits: a small input never costs unbounded time or memory, and a large book stays readable
(no content document over what Adobe-engine readers take)."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from handbill import sources
from handbill.cli import cli

BILLION_LAUGHS = """---
a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]
b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]
c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]
d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]
e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]
f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]
g: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]
h: &h [*g,*g,*g,*g,*g,*g,*g,*g,*g]
i: &i [*h,*h,*h,*h,*h,*h,*h,*h,*h]
---
# Laughs
"""


def build_error(book: Path) -> str:
    """The one error line a failed build prints (and that it wrote nothing)."""
    result = CliRunner().invoke(cli, ["build", str(book), "-o", str(book.parent / "out.epub")])
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output and "internal error" not in result.stderr
    assert not (book.parent / "out.epub").exists()
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: "), result.stderr
    return lines[0].removeprefix("Error: ")


# -- front matter ---------------------------------------------------------------------------


def test_billion_laughs_front_matter_fails_fast_naming_the_file(write_book) -> None:
    book = write_book({"01.md": "# Fine\n\ntext\n", "02-laughs.md": BILLION_LAUGHS})
    started = time.perf_counter()
    line = build_error(book)
    assert time.perf_counter() - started < 10  # expanded, it takes minutes and gigabytes
    assert line == f"{book / '02-laughs.md'}:3: front matter: aliases (*a) are not allowed"


@pytest.mark.parametrize(
    ("front_matter", "problem", "line"),
    [
        ("title: x\nmerge: {<<: *base}\n", "aliases", 3),  # a merge key needs an alias too
        ("deep: " + "[" * 40 + "]" * 40 + "\n", "nested more than", 2),
        ("deep:\n" + "".join("  " * n + "- \n" for n in range(1, 30)), "nested more than", 22),
        ("title: x\n" + "padding: " + "x" * 70_000 + "\n", "larger than 64 KB", 2),
        ("title: x\ndate: 2026-02-30\n", "'2026-02-30' is not valid here", 3),
        ("title: x\nbig: " + "9" * 5000 + "\n", "is not valid here", 3),
        ("ratio: !!float abc\n", "'abc' is not valid here", 2),
        ("x: !!python/object:os.system echo\n", "could not determine a constructor", 2),
    ],
)
def test_front_matter_beyond_the_limits_is_one_error_at_its_line(write_book, front_matter, problem, line) -> None:
    book = write_book({"a.md": f"---\n{front_matter}---\n# T\n\ntext\n"})
    message = build_error(book)
    assert message.startswith(f"{book / 'a.md'}:{line}: front matter") and problem in message


def test_front_matter_without_aliases_keeps_working(write_book, build_book) -> None:
    """Anchors alone, nested lists and dates within the depth limit are still read."""
    front = "title: Anchored &x\ntype: &kind appendix\ntags: [[a, [b]], {c: [d]}]\ndate: 2026-01-22\n"
    epub, warnings = build_book(write_book({"a.md": f"---\n{front}---\ntext\n"}))
    assert epub.toc()[0][0] == "Anchored &x"
    assert epub.document(epub.body_documents()[0]).find(".//{*}section").get("class") == "appendix"
    assert not warnings


# -- source size ----------------------------------------------------------------------------


def test_a_source_over_the_size_limit_is_refused_by_name_unread(write_book, monkeypatch) -> None:
    book = write_book({"01.md": "# Fine\n\ntext\n", "02-huge.md": ""})
    with (book / "02-huge.md").open("wb") as file:
        file.truncate(sources.MAX_SOURCE_BYTES + 1)  # sparse: nothing to read, and nothing is
    read = []
    monkeypatch.setattr(
        sources, "decode", lambda data, path, real=sources.decode: read.append(path) or real(data, path)
    )
    line = build_error(book)
    assert line == f"{book / '02-huge.md'}: is larger than 20 MB, the most a Markdown file may be; split it"
    assert all(path.name != "02-huge.md" for path in read)


def test_a_source_that_grows_past_the_limit_while_read_is_refused(write_book, monkeypatch) -> None:
    book = write_book({"a.md": "# T\n\n" + "word " * 100})
    monkeypatch.setattr(sources, "MAX_SOURCE_BYTES", 400)
    monkeypatch.setattr(sources.os, "fstat", lambda fd, real=sources.os.fstat: _pretend_size(real(fd), 10))
    assert "a.md: is larger than" in build_error(book)


def _pretend_size(info, size: int):
    import os

    return os.stat_result((*info[:6], size, *info[7:]))


def test_a_source_at_the_limit_is_read(write_book, build_book, monkeypatch) -> None:
    text = "# T\n\n" + "word " * 100 + "\n"
    monkeypatch.setattr(sources, "MAX_SOURCE_BYTES", len(text))
    epub, _ = build_book(write_book({"a.md": text}))
    assert epub.text_blocks(epub.body_documents()[0])[1].count("word") == 100

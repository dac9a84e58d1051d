"""The build stage: rendering on several cores and incremental rebuilds give exactly the book a plain build gives."""

from __future__ import annotations

import sys
from concurrent.futures import ProcessPoolExecutor
from datetime import UTC, datetime

import pytest

from handbill.build import Builder, make_book
from handbill.config import load_config
from handbill.errors import SourceError
from handbill.render import markdown as render
from handbill.write.epub import epub_bytes

build_module = sys.modules["handbill.build"]  # `handbill.build` is the API's function; this is the module


def test_rebuild_renders_only_what_changed_and_matches_a_fresh_build(write_book, monkeypatch) -> None:
    book = write_book(
        {f"{n:02d}.md": f"# Chapter {n}\n\nText {n} with a [link](#chapter-{n}).\n" for n in range(1, 21)}
    )
    rendered: list[int] = []
    real = build_module.render_each

    def counting(documents, count, size, progress=None):  # type: ignore[no-untyped-def]
        rendered.append(count)
        return real(documents, count, size, progress)

    monkeypatch.setattr(build_module, "render_each", counting)
    builder = Builder(keep=True)
    moment = datetime(2026, 1, 1, tzinfo=UTC)
    first = epub_bytes(builder.make_book(load_config(book)), moment)
    (book / "07.md").write_text("# Chapter seven, revised\n\nNew text.\n", encoding="utf-8")
    second = epub_bytes(builder.make_book(load_config(book)), moment)
    again = epub_bytes(builder.make_book(load_config(book)), moment)
    assert rendered == [20, 1, 0]
    fresh = epub_bytes(make_book(load_config(book)), moment)
    assert second == fresh == again and first != second


def _chapters(count: int) -> dict[str, str]:
    """Chapters with links both ways, notes, tables, code and a few pathologies."""
    files = {}
    for n in range(1, count + 1):
        files[f"{n:02d}.md"] = (
            f'# Chapter {n}\n\nText {n} "quoted" -- see [the next]({n % count + 1:02d}.md#chapter-{n % count + 1})'
            f" and [the first](01.md).[^n]\n\n[^n]: A note to chapter {n}.\n\n"
            + ("| a | b |\n|---|---|\n| 1 | 2 |\n\n" if n % 3 == 0 else "")
            + ("```\ncode\n```\n\n" if n % 4 == 0 else "")
            + "\n\n".join(f"Paragraph {p} of chapter {n}." for p in range(n % 7 + 1))
        )
    return files


@pytest.fixture
def several_cores(monkeypatch):  # type: ignore[no-untyped-def]
    """Workers for any book, as on a machine with three cores (no test book reaches 256 KB)."""

    def on() -> None:
        monkeypatch.setattr(render, "PARALLEL_THRESHOLD", 0)
        monkeypatch.setattr(render.os, "cpu_count", lambda: 3)

    return on


def test_rendering_on_several_cores_gives_the_same_book(write_book, monkeypatch, several_cores) -> None:
    book = write_book(_chapters(40))
    moment = datetime(2026, 1, 1, tzinfo=UTC)
    serial = epub_bytes(make_book(load_config(book)), moment)
    several_cores()
    submitted: list[object] = []
    real = ProcessPoolExecutor.submit

    def counted(self, function, *args):  # type: ignore[no-untyped-def]
        submitted.append(function)
        return real(self, function, *args)

    monkeypatch.setattr(ProcessPoolExecutor, "submit", counted)
    parallel = epub_bytes(make_book(load_config(book)), moment)
    assert parallel == serial
    assert len(submitted) == 40  # every chapter went to the workers' queue


def test_an_error_while_rendering_on_several_cores_names_the_file_and_writes_nothing(
    write_book, tmp_path, several_cores
) -> None:
    files: dict[str, str | bytes] = dict(_chapters(30))
    files["17.md"] = b"# Bad\n\ncaf\xe9\n"
    book = write_book(files)
    several_cores()
    output = tmp_path / "out" / "book.epub"
    with pytest.raises(SourceError, match="17.md"):
        build_module.build(load_config(book), output)
    assert not output.parent.exists()

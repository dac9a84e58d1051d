"""The build stage: incremental rebuilds (watch mode) give exactly what a fresh build gives."""

from __future__ import annotations

from datetime import UTC, datetime

from handbill import build as build_module
from handbill.build import Builder, make_book
from handbill.config import load_config
from handbill.epub import epub_bytes


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

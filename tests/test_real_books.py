"""Real Markdown from public packages (tests/data/real/SOURCE.md): books no one here wrote.

Every book built here also goes through the session's EPUBCheck batch.
"""

from __future__ import annotations

import gzip
import re
import shutil
from pathlib import Path

import pytest

from .conftest import NS, reader_text

REAL = Path(__file__).parent / "data" / "real"


def copy(name: str, tmp_path: Path) -> Path:
    source = REAL / name
    target = tmp_path / name.replace("/", "-")
    if source.is_dir():
        shutil.copytree(source, target)
    else:
        shutil.copyfile(source, target)
    return target


def all_ids(epub) -> dict[str, set[str]]:
    return {
        name.removeprefix(epub.base): {element.get("id") for element in epub.document(name).iter() if element.get("id")}
        for name in epub.spine
    }


def assert_links_resolve(epub) -> int:
    """Every internal link points at a document of the book and an id that exists there."""
    ids = all_ids(epub)
    checked = 0
    for name in epub.spine:
        local = name.removeprefix(epub.base)
        for link in epub.document(name).iter("{*}a"):
            href = link.get("href")
            if not href or re.match(r"^[a-z]+:", href):
                continue
            file_part, _, fragment = href.partition("#")
            target = file_part or local
            assert target in ids, f"{local}: {href}"
            if fragment:
                assert fragment in ids[target], f"{local}: {href}"
            checked += 1
    return checked


def test_gitbook_documentation_with_its_summary(tmp_path: Path, build_book) -> None:
    epub, warnings = build_book(copy("gitbook-docs", tmp_path))
    labels = [label for label, _ in epub.toc()]
    assert labels[:3] == ["GitBook Toolchain Documentation", "Setup and Installation of GitBook", "Directory Structure"]
    assert len(epub.body_documents()) == 24
    assert assert_links_resolve(epub) > 20
    # Links the source itself gets wrong (to files that do not exist) become text, with a warning.
    assert sum("leads nowhere" in warning for warning in warnings) == 4
    text = " ".join(reader_text(epub.document(name)) for name in epub.body_documents())
    assert "GitBook is a command line tool (and Node.js library) for building beautiful books" in text


@pytest.mark.parametrize(
    ("readme", "sections", "sample"),
    [
        ("transliteration.md", 9, "\u4f60\u597d"),
        (
            "transliterate.md",
            6,
            "\u042f \u043b\u044e\u0431\u043b\u044e \u0435\u0434\u0438\u043d\u043e\u0440\u043e\u0433\u043e\u0432",
        ),
        ("dayjs.md", 5, "\u7b80\u4f53\u4e2d\u6587"),
    ],
)
def test_readmes_split_at_their_sections(tmp_path: Path, build_book, readme: str, sections: int, sample: str) -> None:
    epub, warnings = build_book(copy(f"readmes/{readme}", tmp_path))
    chapters = [label for label, href in epub.toc() if "#" not in href]
    assert len(chapters) == sections, chapters
    text = " ".join(reader_text(epub.document(name)) for name in epub.body_documents())
    assert sample in text
    assert assert_links_resolve(epub) >= 0
    # Badges and logos are remote (never fetched) or missing from the package: alt text kept, reported.
    assert all("alt text is kept" in warning for warning in warnings if "image" in warning)


def test_arabic_keeps_its_direction_inside_an_english_book(tmp_path: Path, build_book) -> None:
    epub, _ = build_book(copy("readmes/transliterate.md", tmp_path))
    text = " ".join(reader_text(epub.document(name)) for name in epub.body_documents())
    assert "\u0623\u0646\u0627 \u0623\u062d\u0628" in text
    assert all(epub.document(name).get("lang") == "en" for name in epub.body_documents())


def commonmark_examples() -> list[tuple[str, str]]:
    """(section, Markdown) for every example of the CommonMark specification."""
    spec = gzip.decompress((REAL / "commonmark" / "spec.txt.gz").read_bytes()).decode("utf-8")
    examples = []
    section = ""
    fence = "`" * 32
    lines = iter(spec.splitlines())
    for line in lines:
        if line.startswith("## "):
            section = line[3:]
        if line == f"{fence} example":
            body = []
            for inner in lines:
                if inner == ".":
                    break
                body.append(inner)
            examples.append((section, "\n".join(body).replace("\u2192", "\t") + "\n"))
    return examples


def test_every_commonmark_example_in_one_book(tmp_path: Path, build_book) -> None:
    examples = commonmark_examples()
    assert len(examples) > 600
    book = tmp_path / "commonmark"
    book.mkdir()
    for number, (_, markdown) in enumerate(examples, start=1):
        (book / f"{number:04d}.md").write_text(markdown, encoding="utf-8")
    epub, warnings = build_book(book)
    documents = epub.body_documents()
    empty = sum("no text; left out" in warning for warning in warnings)
    assert len(documents) + empty == len(examples)
    assert len(documents) > 550
    for name in documents:
        assert epub.document(name).find("x:body", NS) is not None

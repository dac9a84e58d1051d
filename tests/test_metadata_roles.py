"""Package metadata beyond title and author: subtitle, series, contributors with MARC roles,
and a single file's pandoc-style front matter (issue 15)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from handbill.config import load_config
from handbill.errors import ConfigError

from .conftest import NS, Epub

EBOOK_META = shutil.which("ebook-meta")

CAPITAL_TOML = """\
title = "Capital"
subtitle = "A Critique of Political Economy"
authors = [{name = "Karl Marx", file_as = "Marx, Karl"}, "Friedrich Engels"]
translators = ["Samuel Moore", {name = "Edward Aveling", file_as = "Aveling, Edward"}]
editors = "Frederick Engels"
illustrators = ["Ada Artist"]
contributors = [{name = "Pat Proof", role = "pfr"}, {name = "Cora Author", role = "AUT", file_as = "Author, Cora"}]
series = "Classics of Labour"
series_index = 2
"""


def refinements(epub: Epub, element_id: str) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for meta in epub.opf.findall(f"opf:metadata/opf:meta[@refines='#{element_id}']", NS):
        found.setdefault(meta.get("property"), []).append(meta.text or "")
    return found


def people(epub: Epub, element: str) -> list[tuple[str, list[str], list[str]]]:
    """(name, roles, file-as) of each dc:creator or dc:contributor, in order."""
    rows = []
    for person in epub.opf.findall(f"opf:metadata/dc:{element}", NS):
        refined = refinements(epub, person.get("id"))
        rows.append((person.text, refined.get("role", []), refined.get("file-as", [])))
    return rows


@pytest.fixture
def capital(write_book, build_book) -> Epub:
    book = write_book({"book.toml": CAPITAL_TOML, "01.md": "# Capital\n\nThe wealth of societies.\n"})
    epub, warnings = build_book(book)
    assert warnings == []
    return epub


def test_subtitle_is_a_second_title_refined_as_subtitle(capital: Epub) -> None:
    titles = capital.opf.findall("opf:metadata/dc:title", NS)
    assert [title.text for title in titles] == ["Capital", "A Critique of Political Economy"]
    assert [refinements(capital, title.get("id"))["title-type"] for title in titles] == [["main"], ["subtitle"]]
    ncx = capital.document(capital.manifest["ncx"].get("href"))
    assert ncx.findtext("ncx:docTitle/ncx:text", namespaces=NS) == "Capital"


def test_series_is_a_collection_and_calibre_series(capital: Epub) -> None:
    collection = capital.opf.find("opf:metadata/opf:meta[@property='belongs-to-collection']", NS)
    assert collection.text == "Classics of Labour"
    assert refinements(capital, collection.get("id")) == {"collection-type": ["series"], "group-position": ["2"]}
    calibre = {
        meta.get("name"): meta.get("content")
        for meta in capital.opf.findall("opf:metadata/opf:meta[@name]", NS)
        if meta.get("name").startswith("calibre:")
    }
    assert calibre == {"calibre:series": "Classics of Labour", "calibre:series_index": "2"}


def test_every_person_has_their_role_and_sort_name(capital: Epub) -> None:
    assert people(capital, "creator") == [
        ("Karl Marx", ["aut"], ["Marx, Karl"]),
        ("Friedrich Engels", ["aut"], []),
        ("Cora Author", ["aut"], ["Author, Cora"]),
    ]
    assert people(capital, "contributor") == [
        ("Samuel Moore", ["trl"], []),
        ("Edward Aveling", ["trl"], ["Aveling, Edward"]),
        ("Frederick Engels", ["edt"], []),
        ("Ada Artist", ["ill"], []),
        ("Pat Proof", ["pfr"], []),
    ]
    for role in capital.opf.findall("opf:metadata/opf:meta[@property='role']", NS):
        assert role.get("scheme") == "marc:relators"
    for file_as in capital.opf.findall("opf:metadata/opf:meta[@property='file-as']", NS):
        assert file_as.get("scheme") is None  # ebooklib's add_author would mark it marc:relators


@pytest.mark.skipif(EBOOK_META is None, reason="Calibre's ebook-meta is not installed")
def test_calibre_shows_title_subtitle_series_and_authors(capital: Epub) -> None:
    shown = subprocess.run([EBOOK_META, str(capital.path)], capture_output=True, text=True, timeout=120).stdout
    fields = {
        line.split(":", 1)[0].strip(): line.split(":", 1)[1].strip() for line in shown.splitlines() if ":" in line
    }
    assert fields["Title"] == "Capital: A Critique of Political Economy"
    assert fields["Series"] == "Classics of Labour #2"
    assert fields["Author(s)"].startswith("Karl Marx & Friedrich Engels & Cora Author")
    assert fields["Author(s)"].endswith("[Marx, Karl & Author, Cora]")  # Calibre's author sort, from file-as


def test_a_fractional_series_index_and_a_series_without_one(write_book, build_book) -> None:
    book = write_book({"book.toml": 'title = "T"\nseries = "S"\nseries_index = "2.5"\n', "a.md": "# T\n\nx\n"})
    epub, _ = build_book(book)
    assert epub.meta_property("group-position") == ["2.5"]
    book = write_book({"book.toml": 'title = "T"\nseries = "S"\n', "a.md": "# T\n\nx\n"}, "other")
    epub, _ = build_book(book)
    assert epub.meta_property("belongs-to-collection") == ["S"]
    assert epub.meta_property("group-position") == []
    assert epub.opf.find("opf:metadata/opf:meta[@name='calibre:series_index']", NS) is None


def test_without_these_settings_the_package_is_as_before(write_book, build_book) -> None:
    epub, _ = build_book(write_book({"book.toml": 'title = "T"\nauthor = "A"\n', "a.md": "# T\n\nx\n"}))
    assert epub.metadata("title") == ["T"]
    assert epub.opf.find("opf:metadata/dc:title", NS).get("id") is None
    assert epub.metadata("contributor") == []
    assert epub.meta_property("belongs-to-collection") == []
    assert people(epub, "creator") == [("A", ["aut"], [])]


@pytest.mark.parametrize(
    ("toml", "message"),
    [
        ('contributors = [{name = "X", role = "wizard"}]', r"role 'wizard' of 'X' is not a MARC relator code"),
        ('contributors = [{role = "trl"}]', "without a 'name'"),
        ('translators = [{name = "X", role = "edt"}]', r"unknown key\(s\) 'role'"),
        ("editors = 3", "must be a name or a list"),
        ('series_index = "second"', "must be a number such as 2 or 2.5"),
        ("series_index = -1", "must be a number"),
    ],
)
def test_bad_people_and_series_are_one_error_naming_book_toml(write_book, toml: str, message: str) -> None:
    book = write_book({"book.toml": 'title = "T"\n' + toml + "\n", "a.md": "# T\n"})
    with pytest.raises(ConfigError, match=message) as raised:
        load_config(book)
    assert raised.value.format_message().count("book.toml") == 1


FRONT_MATTER = """\
---
title: "The Long Night"
subtitle: A History
author:
  - name: Ana Ruiz
    affiliation: Somewhere
  - Bo Chen
lang: es
date: 2024-03-01
abstract: About the night.
keywords: [history, night]
rights: CC BY 4.0
publisher: Noche
series: Nights
series_index: 3
translator: Tess Lator
documentclass: article
type: chapter
---

# Capítulo uno

Texto.
"""


def test_a_single_files_front_matter_is_the_books_metadata(tmp_path: Path, build_book) -> None:
    source = tmp_path / "night.md"
    source.write_text(FRONT_MATTER, encoding="utf-8")
    epub, warnings = build_book(source)
    assert epub.metadata("title") == ["The Long Night", "A History"]
    assert epub.metadata("creator") == ["Ana Ruiz", "Bo Chen"]
    assert people(epub, "contributor") == [("Tess Lator", ["trl"], [])]
    assert epub.metadata("language") == ["es"]
    assert epub.metadata("date") == ["2024-03-01"]
    assert epub.metadata("description") == ["About the night."]
    assert epub.metadata("subject") == ["history", "night"]
    assert epub.metadata("rights") == ["CC BY 4.0"]
    assert epub.metadata("publisher") == ["Noche"]
    assert epub.meta_property("belongs-to-collection") == ["Nights"]
    assert epub.meta_property("group-position") == ["3"]
    # an unknown key is named with the file; the chapter's own `type` is no book setting but known
    assert len(warnings) == 1
    assert "night.md" in warnings[0] and "'documentclass'" in warnings[0] and "'type'" not in warnings[0]


def test_book_toml_and_the_command_line_win_over_front_matter(tmp_path: Path) -> None:
    source = tmp_path / "night.md"
    source.write_text(FRONT_MATTER, encoding="utf-8")
    (tmp_path / "book.toml").write_text('title = "From TOML"\nauthor = "Toml Author"\n', encoding="utf-8")
    config = load_config(source, title="From CLI")
    assert config.title == "From CLI"
    assert config.authors == ("Toml Author",)
    assert config.subtitle == "A History"
    assert config.language == "es"


def test_a_bad_front_matter_value_is_a_warning_not_a_failure(tmp_path: Path, build_book) -> None:
    source = tmp_path / "dated.md"
    source.write_text("---\ntitle: Dated\ndate: 22 January 2026\nlang: en_GB\n---\n\n# Dated\n\nx\n", encoding="utf-8")
    epub, warnings = build_book(source)
    assert epub.metadata("title") == ["Dated"]
    assert epub.metadata("date") == []
    assert any("dated.md" in warning and "'date'" in warning and "ignored" in warning for warning in warnings)
    assert epub.metadata("language") == ["en-GB"]


def test_chapter_front_matter_in_a_folder_is_not_book_metadata(write_book) -> None:
    book = write_book({"a.md": "---\ntitle: Chapter A\nauthor: Nobody\n---\n\n# A\n\nx\n", "b.md": "# B\n"})
    config = load_config(book)
    assert config.title is None and config.authors == ()

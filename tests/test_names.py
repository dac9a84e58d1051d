"""File names: every title gets a readable ASCII name, and two different titles never share one."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from click.testing import CliRunner

from handbill.cli import cli
from handbill.names import book_slug, slugify

from .conftest import register

TITLES = {
    "Arabic": ("\u0627\u0644\u0628\u064a\u0627\u0646 \u0627\u0644\u0639\u0627\u0645", "lbyn-l-m"),
    "Russian": ("\u0412\u043e\u0439\u043d\u0430 \u0438 \u043c\u0438\u0440", "voyna-i-mir"),
    "Chinese": ("\u4e16\u754c\u548c\u5e73", "shi-jie-he-ping"),
    "Japanese": ("\u3053\u3093\u306b\u3061\u306f \u4e16\u754c", "konnichiha-shi-jie"),
    "Hindi": ("\u0928\u092e\u0938\u094d\u0924\u0947 \u0926\u0941\u0928\u093f\u092f\u093e", "nmste-duniya"),
    "Tamil": ("\u0bb5\u0ba3\u0b95\u0bcd\u0b95\u0bae\u0bcd", "vnkkm"),
}


@pytest.mark.parametrize("language", TITLES)
def test_non_latin_titles_get_a_transliterated_ascii_name_with_a_hash(language: str) -> None:
    title, transliterated = TITLES[language]
    slug = book_slug(title)
    assert slug.isascii() and slug == slug.lower()
    stem, _, digest = slug.rpartition("-")
    assert stem == transliterated and len(digest) == 6 and int(digest, 16) >= 0
    assert slug == book_slug(title)  # the same title, the same name, on every run


def test_titles_that_transliterate_alike_get_different_names() -> None:
    pairs = [
        ("\u041c\u0438\u0440", "\u041c\u0456\u0440"),  # Russian and Ukrainian "mir"
        ("\u4e16\u754c", "\u89c6\u754c"),  # shi jie, two different words
        ("\u0643\u062a\u0627\u0628", "\u06a9\u062a\u0627\u0628"),  # "book" in Arabic and in Persian (kaf, keheh)
        ("!!!", "???"),  # no letter survives
    ]
    for first, second in pairs:
        assert slugify(first) == slugify(second)
        assert book_slug(first) != book_slug(second), (first, second)


def test_latin_titles_keep_their_plain_names() -> None:
    assert book_slug("For a general strike against ICE violence and Trump's dictatorship!") == (
        "for-a-general-strike-against-ice-violence-and-trump-s-dictatorship"
    )
    assert book_slug("Café crème") == "cafe-creme"
    assert book_slug("Die Straße") == "die-strasse"  # ß was dropped before: "die-strae"
    assert book_slug("Ærø") == "aero"
    assert slugify("Tables and figures", limit=40) == "tables-and-figures"


def test_slugs_are_bounded_and_never_empty() -> None:
    slug = book_slug("\u4e16" * 500)
    assert len(slug) <= 80 and slug.endswith(book_slug("\u4e16" * 500)[-6:])
    assert book_slug("") == "book"
    assert book_slug("\U0001f600").isascii() and book_slug("\U0001f600")


def test_two_editions_built_without_o_land_in_different_files(write_book, tmp_path: Path) -> None:
    """The issue's report: every title wholly in a non-Latin script was saved as dist/book.epub."""
    for number, language in enumerate(["Russian", "Chinese", "Japanese"]):
        title = TITLES[language][0]
        book = write_book(
            {"a.md": "# One\n\ntext\n", "book.toml": f'title = "{title}"\nlanguage = "en"\n'}, folder=f"b{number}"
        )
        cwd = os.getcwd()
        os.chdir(tmp_path)
        try:
            result = CliRunner().invoke(cli, ["build", str(book)])
        finally:
            os.chdir(cwd)
        assert result.exit_code == 0, result.output
    outputs = sorted((tmp_path / "dist").glob("*.epub"))
    assert len(outputs) == 3 and all(path.name.isascii() for path in outputs)
    assert {path.stem.rpartition("-")[0] for path in outputs} == {
        "voyna-i-mir",
        "shi-jie-he-ping",
        "konnichiha-shi-jie",
    }
    for path in outputs:
        register(path)

"""`fonts` in book.toml: subsets of fonts holding only the characters the book uses, for the
scripts reading systems lack (auto) or every non-Latin script (embed)."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from click.testing import CliRunner
from fontTools.ttLib import TTFont

from handbill import fonts
from handbill.cli import cli

TAMIL = (
    "\u0bae\u0bbf\u0ba9\u0bbf\u0baf\u0bbe\u0baa\u0bcb\u0bb2\u0bbf\u0bb8\u0bbf\u0bb2\u0bcd "
    "\u0b92\u0bb0\u0bc1 \u0baa\u0bca\u0ba4\u0bc1 \u0bb5\u0bc7\u0bb2\u0bc8\u0ba8\u0bbf\u0bb1\u0bc1\u0ba4\u0bcd\u0ba4\u0bae\u0bcd."
)
SINHALA = "\u0dc3\u0dcf\u0db8\u0dcf\u0db1\u0dca\u200d\u0dba \u0dc0\u0dd0\u0da9 \u0dc0\u0dbb\u0dca\u0da2\u0db1\u0dba\u0d9a\u0dca."
ARABIC = "\u0645\u0646 \u0623\u062c\u0644 \u0625\u0636\u0631\u0627\u0628 \u0639\u0627\u0645\u060c \u0627\u0644\u064a\u0648\u0645."
JAPANESE = "\u79c1\u305f\u3061\u306f\u30bc\u30cd\u30b9\u30c8\u3092\u547c\u3073\u304b\u3051\u308b\u3002"


def book_files(text: str, language: str, mode: str | None, title: str = "Title") -> dict[str, str]:
    toml = f'title = "{title}"\nlanguage = "{language}"\n' + (f'fonts = "{mode}"\n' if mode else "")
    return {"a.md": f"# One\n\n{text}\n\nSome English words, 2026.\n", "book.toml": toml}


def font_items(epub) -> list:
    return [item for item in epub.manifest.values() if item.get("media-type", "").startswith("font/")]


def embedded_font(epub, item) -> TTFont:
    return TTFont(io.BytesIO(epub.files[epub.base + item.get("href")]))


def letters(text: str, code: str) -> set[int]:
    return {ord(character) for character in text if fonts.script(character) == code}


def test_embed_holds_only_the_characters_the_book_uses(write_book, build_book) -> None:
    epub, warnings = build_book(write_book(book_files(TAMIL, "ta", "embed")))
    assert not warnings
    (item,) = font_items(epub)
    assert (item.get("href"), item.get("media-type")) == ("fonts/noto-sans-tamil.ttf", "font/ttf")
    font = embedded_font(epub, item)
    cmap = set(font.getBestCmap())
    assert letters(TAMIL, "Taml") <= cmap  # every Tamil letter of the book
    # Tamil letters the book uses nowhere (its text, contents and labels) are left out.
    text = "".join(data.decode("utf-8") for name, data in epub.files.items() if name.endswith(".xhtml"))
    unused = {code for code in range(0x0B85, 0x0BBA) if chr(code) not in text and fonts.script(chr(code)) == "Taml"}
    assert unused and not unused & cmap
    assert not {code for code in cmap if code < 0x100}  # Latin, digits and spaces: the reader's font
    assert "fvar" not in font and "glyf" in font  # static TrueType at regular weight
    assert font["OS/2"].usWeightClass == 400
    assert font["name"].getDebugName(0) and font["name"].getDebugName(13)  # copyright, OFL notice
    assert "GSUB" in font  # the conjuncts and vowel signs still shape
    assert len(epub.files[epub.base + item.get("href")]) < 40_000


def test_the_font_stylesheet_is_linked_from_every_document_and_names_the_font(write_book, build_book) -> None:
    epub, _ = build_book(write_book(book_files(TAMIL, "ta", "embed")))
    css = epub.files[epub.base + "styles/fonts.css"].decode()
    assert '@font-face { font-family: "Noto Sans Tamil (handbill)"; src: url(../fonts/noto-sans-tamil.ttf); }' in css
    assert 'body { font-family: "Noto Sans Tamil (handbill)"; }' in css
    documents = [name for name in epub.files if name.endswith(".xhtml")]
    assert len(documents) >= 3  # cover, chapter, nav
    for name in documents:
        page = epub.files[name].decode()
        assert page.index('href="styles/handbill.css"') < page.index('href="styles/fonts.css"'), name
    assert "META-INF/com.apple.ibooks.display-options.xml" in epub.files  # Apple Books uses embedded fonts


def test_auto_embeds_for_scripts_readers_lack_and_nothing_else(write_book, build_book) -> None:
    epub, _ = build_book(write_book(book_files(SINHALA, "si", None), folder="si"))
    (item,) = font_items(epub)
    assert item.get("href") == "fonts/noto-sans-sinhala.ttf"
    assert letters(SINHALA, "Sinh") <= set(embedded_font(epub, item).getBestCmap())
    for text, language in ((ARABIC, "ar"), (JAPANESE, "ja"), ("Plain English.", "en")):
        epub, _ = build_book(write_book(book_files(text, language, None), folder=f"auto-{language}"))
        assert not font_items(epub) and epub.base + "styles/fonts.css" not in epub.files, language


def test_none_embeds_nothing_even_for_tamil(write_book, build_book) -> None:
    epub, _ = build_book(write_book(book_files(TAMIL, "ta", "none")))
    assert not font_items(epub) and epub.base + "styles/fonts.css" not in epub.files


def test_embed_takes_each_non_latin_script_of_the_book(write_book, build_book) -> None:
    epub, _ = build_book(
        write_book(book_files(f"{ARABIC} {TAMIL} \u0395\u03bb\u03bb\u03ac\u03b4\u03b1", "ar", "embed"))
    )
    hrefs = sorted(item.get("href") for item in font_items(epub))
    assert hrefs == ["fonts/noto-sans-arabic.ttf", "fonts/noto-sans-tamil.ttf"]  # not Greek: readers have it
    arabic = next(item for item in font_items(epub) if "arabic" in item.get("href"))
    cmap = set(embedded_font(epub, arabic).getBestCmap())
    assert letters(ARABIC, "Arab") | {0x060C} <= cmap  # the Arabic comma, which Unicode files as Common
    css = epub.files[epub.base + "styles/fonts.css"].decode()
    assert 'body { font-family: "Noto Sans Arabic (handbill)", "Noto Sans Tamil (handbill)"; }' in css


def test_embedded_fonts_are_the_same_bytes_every_build(write_book, build_book, tmp_path: Path) -> None:
    book = write_book(book_files(TAMIL, "ta", "embed"))
    first, _ = build_book(book, tmp_path / "one.epub")
    second, _ = build_book(book, tmp_path / "two.epub")
    (item,) = font_items(first)
    href = first.base + item.get("href")
    assert first.files[href] == second.files[href]


def test_a_script_with_no_font_that_can_be_embedded_is_a_warning_and_a_valid_book(
    write_book, build_book, monkeypatch
) -> None:
    """Noto Sans CJK comes as a variable CFF2 collection fontTools cannot make static; without a
    static system CJK font, nothing is embedded for Han and kana, and the book says so."""
    monkeypatch.setattr(fonts, "system_face", lambda character: None)
    epub, warnings = build_book(write_book(book_files(JAPANESE, "ja", "embed")))
    assert any("Han letters" in warning and "readers use their own" in warning for warning in warnings), warnings
    assert not font_items(epub)
    css = epub.files[epub.base + "styles/fonts.css"].decode()
    assert "@font-face" not in css and "font-family" not in css


def test_a_static_system_font_is_embedded_for_cjk_when_there_is_one(write_book, build_book) -> None:
    sample = fonts.system_face("\u79c1")
    if sample is None or sample.path.suffix.lower() not in (".ttf", ".otf"):
        pytest.skip("no static CJK font on this machine (Debian: fonts-ipafont or fonts-noto-cjk)")
    epub, warnings = build_book(write_book(book_files(JAPANESE, "ja", "embed")))
    (item,) = font_items(epub)
    cmap = set(embedded_font(epub, item).getBestCmap())
    assert letters(JAPANESE, "Hani") | letters(JAPANESE, "Hira") | letters(JAPANESE, "Kana") <= cmap
    assert ord("\u3002") in cmap  # the ideographic full stop


@pytest.mark.parametrize("value", ["yes", "true", "Embed"])
def test_a_wrong_fonts_value_is_one_error_naming_book_toml(value: str, write_book, tmp_path: Path) -> None:
    book = write_book({"a.md": "# A\n\ntext\n", "book.toml": f'fonts = "{value}"\n'})
    result = CliRunner().invoke(cli, ["build", str(book), "-o", str(tmp_path / "out.epub")])
    assert result.exit_code == 1 and result.stderr.count("\n") == 1, result.stderr
    assert "book.toml" in result.stderr and "fonts" in result.stderr and "embed" in result.stderr
    assert not (tmp_path / "out.epub").exists()


def test_language_script_reads_the_script_subtag_first() -> None:
    assert fonts.language_script("si") == "Sinh" and fonts.language_script("ta-IN") == "Taml"
    assert fonts.language_script("pa-Arab") == "Arab" and fonts.language_script("en") is None
    assert fonts.embeds_fonts("auto", "si") and not fonts.embeds_fonts("auto", "pa-Arab")
    assert fonts.embeds_fonts("embed", "en") and not fonts.embeds_fonts("none", "si")

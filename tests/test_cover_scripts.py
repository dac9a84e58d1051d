"""Drawn covers in every script: each character in a font that has it, right-to-left titles on the
right, nothing left out without a warning, and (where Tesseract is installed) legible."""

from __future__ import annotations

import difflib
import io
import logging
import shutil
import subprocess
from pathlib import Path

import pytest
from PIL import Image, ImageDraw

from handbill import cover, fonts
from handbill.cover import INK, WIDTH, draw_cover

# title, authors, date, language, Tesseract's language
SAMPLES = {
    "Tamil": (
        "\u0ba4\u0bca\u0bb4\u0bbf\u0bb2\u0bbe\u0bb3\u0bb0\u0bcd \u0baa\u0bca\u0ba4\u0bc1 \u0bb5\u0bc7\u0bb2\u0bc8\u0ba8\u0bbf\u0bb1\u0bc1\u0ba4\u0bcd\u0ba4\u0bae\u0bcd",
        [
            "\u0b9a\u0bcb\u0b9a\u0bb2\u0bbf\u0b9a \u0b9a\u0bae\u0ba4\u0bcd\u0ba4\u0bc1\u0bb5\u0b95\u0bcd \u0b95\u0b9f\u0bcd\u0b9a\u0bbf"
        ],
        "22 \u0b9c\u0ba9\u0bb5\u0bb0\u0bbf 2026",
        "ta",
        "tam",
    ),
    "Sinhala": (
        "\u0dc3\u0dcf\u0db8\u0dcf\u0db1\u0dca\u200d\u0dba \u0dc0\u0dd0\u0da9 \u0dc0\u0dbb\u0dca\u0da2\u0db1\u0dba",
        [
            "\u0dc3\u0db8\u0dcf\u0da2\u0dc0\u0dcf\u0daf\u0dd3 \u0dc3\u0db8\u0dcf\u0db1\u0dad\u0dcf \u0db4\u0d9a\u0dca\u0dc2\u0dba"
        ],
        "2026 \u0da2\u0db1\u0dc0\u0dcf\u0dbb\u0dd2 22",
        "si",
        "sin",
    ),
    "Hindi": (
        "\u0906\u092e \u0939\u0921\u093c\u0924\u093e\u0932 \u0915\u0947 \u0932\u093f\u090f",
        [
            "\u0938\u094b\u0936\u0932\u093f\u0938\u094d\u091f \u0907\u0915\u094d\u0935\u093e\u0932\u093f\u091f\u0940 \u092a\u093e\u0930\u094d\u091f\u0940"
        ],
        "22 \u091c\u0928\u0935\u0930\u0940 2026",
        "hi",
        "hin",
    ),
    "Bengali": (
        "\u09b8\u09be\u09a7\u09be\u09b0\u09a3 \u09a7\u09b0\u09cd\u09ae\u0998\u099f\u09c7\u09b0 \u099c\u09a8\u09cd\u09af",
        ["\u09b8\u09cb\u09b6\u09cd\u09af\u09be\u09b2\u09bf\u09b8\u09cd\u099f \u09aa\u09be\u09b0\u09cd\u099f\u09bf"],
        "\u09e8\u09e8 \u099c\u09be\u09a8\u09c1\u09af\u09bc\u09be\u09b0\u09bf \u09e8\u09e6\u09e8\u09ec",
        "bn",
        "ben",
    ),
    "Chinese": (
        "\u4e3a\u603b\u7f62\u5de5\u800c\u6597\u4e89",
        ["\u793e\u4f1a\u5e73\u7b49\u515a"],
        "2026\u5e741\u670822\u65e5",
        "zh",
        "chi_sim",
    ),
    "Japanese": (
        "\u30bc\u30cd\u30b9\u30c8\u3092\u76ee\u6307\u3057\u3066\u95d8\u304a\u3046",
        ["\u793e\u4f1a\u4e3b\u7fa9\u5e73\u7b49\u515a"],
        "2026\u5e741\u670822\u65e5",
        "ja",
        "jpn",
    ),
    "Korean": (
        "\ucd1d\ud30c\uc5c5\uc744 \uc704\ud558\uc5ec",
        ["\uc0ac\ud68c\uc8fc\uc758\ud3c9\ub4f1\ub2f9"],
        "2026\ub144 1\uc6d4 22\uc77c",
        "ko",
        "kor",
    ),
    "Arabic": (
        "\u0645\u0646 \u0623\u062c\u0644 \u0625\u0636\u0631\u0627\u0628 \u0639\u0627\u0645",
        [
            "\u062d\u0632\u0628 \u0627\u0644\u0645\u0633\u0627\u0648\u0627\u0629 \u0627\u0644\u0627\u0634\u062a\u0631\u0627\u0643\u064a\u0629"
        ],
        "22 \u064a\u0646\u0627\u064a\u0631 2026",
        "ar",
        "ara",
    ),
    "Hebrew": (
        "\u05dc\u05de\u05e2\u05df \u05e9\u05d1\u05d9\u05ea\u05d4 \u05db\u05dc\u05dc\u05d9\u05ea",
        ["\u05de\u05e4\u05dc\u05d2\u05ea \u05d4\u05e9\u05d5\u05d5\u05d9\u05d5\u05df"],
        "22 \u05d1\u05d9\u05e0\u05d5\u05d0\u05e8 2026",
        "he",
        "heb",
    ),
    "Greek": (
        "\u0393\u03b9\u03b1 \u03bc\u03b9\u03b1 \u03b3\u03b5\u03bd\u03b9\u03ba\u03ae \u03b1\u03c0\u03b5\u03c1\u03b3\u03af\u03b1",
        ["\u03a3\u03bf\u03c3\u03b9\u03b1\u03bb\u03b9\u03c3\u03c4\u03b9\u03ba\u03cc \u039a\u03cc\u03bc\u03bc\u03b1"],
        "22 \u0399\u03b1\u03bd\u03bf\u03c5\u03b1\u03c1\u03af\u03bf\u03c5 2026",
        "el",
        "ell",
    ),
    "Russian": (
        "\u0417\u0430 \u0432\u0441\u0435\u043e\u0431\u0449\u0443\u044e \u0437\u0430\u0431\u0430\u0441\u0442\u043e\u0432\u043a\u0443",
        [
            "\u041f\u0430\u0440\u0442\u0438\u044f \u0441\u043e\u0446\u0438\u0430\u043b\u0438\u0441\u0442\u0438\u0447\u0435\u0441\u043a\u043e\u0433\u043e \u0440\u0430\u0432\u0435\u043d\u0441\u0442\u0432\u0430"
        ],
        "22 \u044f\u043d\u0432\u0430\u0440\u044f 2026",
        "ru",
        "rus",
    ),
}
OWN_FONT = {  # the face each script must be drawn in
    "Tamil": "NotoSansTamil",
    "Sinhala": "NotoSansSinhala",
    "Hindi": "NotoSansDevanagari",
    "Bengali": "NotoSansBengali",
    "Chinese": "NotoSansCJK",
    "Japanese": "NotoSansCJK",
    "Korean": "NotoSansCJK",
    "Arabic": "NotoSansArabic",
    "Hebrew": "NotoSansHebrew",
    "Greek": "DejaVuSans",
    "Russian": "DejaVuSans",
}
TITLE_AREA = (0, 460, 1600, 1900)


def drawn_title(title: str, language: str | None) -> tuple[cover._Lettering, list[str]]:
    """The lines and lettering of the title, as `draw_cover` fits them."""
    draw = ImageDraw.Draw(Image.new("L", (10, 10)))
    return cover._fit(draw, cover._title_text(title), "bold", 1340, 1440, 9, start=290, language=language)


def ink_box(data: bytes, area: tuple[int, int, int, int] = TITLE_AREA) -> tuple[int, int, int, int]:
    """The bounding box (in page coordinates) of the ink-coloured pixels in an area of the cover."""
    region = Image.open(io.BytesIO(data)).convert("RGB").crop(area)
    mask = Image.eval(region.convert("L"), lambda v: 255 if v > 200 else 0)  # white ink on red
    box = mask.getbbox()
    assert box is not None, "no ink in the area"
    return box[0] + area[0], box[1] + area[1], box[2] + area[0], box[3] + area[1]


@pytest.mark.parametrize("language", SAMPLES)
def test_every_character_drawn_is_in_the_font_it_is_drawn_in(language: str, caplog) -> None:
    title, authors, date, tag, _ = SAMPLES[language]
    with caplog.at_level(logging.WARNING, logger="handbill"):
        data = draw_cover(title, authors, date, None, tag).data
    assert not caplog.records, [record.getMessage() for record in caplog.records]
    lettering, lines = drawn_title(title, tag)
    drawn = ""
    for line in lines:
        for text, face in lettering.runs(line):
            covered = fonts.coverage(face)
            for character in text:
                assert ord(character) in covered or fonts.is_ignorable(character), (character, face.name)
            if any(not fonts.is_ignorable(c) for c in text):
                assert face.path.name.startswith(OWN_FONT[language]), (text, face.name)
            drawn += text
    assert drawn.replace(" ", "") == title.replace(" ", "")  # every letter drawn, none left out
    assert INK in {colour for _, colour in Image.open(io.BytesIO(data)).convert("RGB").getcolors(maxcolors=256)}


@pytest.mark.parametrize("language", ["Arabic", "Hebrew"])
def test_right_to_left_titles_are_right_aligned(language: str) -> None:
    title, authors, date, tag, _ = SAMPLES[language]
    data = draw_cover(title, authors, date, None, tag).data
    left, _, right, _ = ink_box(data)
    assert WIDTH - 130 - 25 <= right <= WIDTH - 130 + 25  # flush with the right margin
    assert left > 130 + 100  # and ragged on the left
    left, _, right, _ = ink_box(data, (0, 2060, 1600, 2400))  # the date too
    assert right > WIDTH - 130 - 25 and left > 600
    latin = draw_cover("A left title", ["An Author"]).data
    assert 125 <= ink_box(latin)[0] <= 160


def test_covers_in_every_script_are_reproducible_byte_for_byte() -> None:
    for language in ("Arabic", "Japanese", "Tamil"):
        title, authors, date, tag, _ = SAMPLES[language]
        first = draw_cover(title, authors, date, None, tag).data
        cover._drawn.cache_clear()
        assert draw_cover(title, authors, date, None, tag).data == first


def test_han_is_drawn_in_the_books_language_face() -> None:
    """The same characters are drawn with Japanese glyphs for ja, Simplified Chinese ones for zh."""
    title = "\u76f4\u9aa8\u4eca\u6d77"  # characters whose shapes differ by region
    japanese = draw_cover(title, [], language="ja").data
    chinese = draw_cover(title, [], language="zh-CN").data
    traditional = draw_cover(title, [], language="zh-Hant").data
    assert len({japanese, chinese, traditional}) == 3
    assert fonts.cjk_index("ja", "") == 0 and fonts.cjk_index("ko-KR", "") == 1
    assert fonts.cjk_index("zh-TW", "") == 3 and fonts.cjk_index(None, "\u3042") == 0


def test_mixed_scripts_in_one_title_each_get_their_own_font() -> None:
    title = "Manifest \u0bb5\u0ba3\u0b95\u0bcd\u0b95\u0bae\u0bcd \u0645\u0631\u062d\u0628\u0627 2026"
    lettering, lines = drawn_title(title, "en")
    faces = {face.path.name.split("[")[0].split("-")[0] for line in lines for text, face in lettering.runs(line)}
    assert {"DejaVuSansCondensed", "NotoSansTamil", "NotoSansArabic"} <= faces


def test_a_script_no_font_has_is_left_out_with_a_warning_naming_it(monkeypatch, caplog) -> None:
    monkeypatch.setattr(fonts, "system_face", lambda character: None)  # whatever this machine has
    cover._plan.cache_clear()
    title = "Stele \U00013000\U00013001\U00013002"  # Egyptian hieroglyphs: no font handbill knows has them
    with caplog.at_level(logging.WARNING, logger="handbill"):
        data = draw_cover(title, ["An Author"]).data
    messages = [record.getMessage() for record in caplog.records]
    assert any("Egyptian Hieroglyphs" in message and "title" in message for message in messages), messages
    assert Image.open(io.BytesIO(data)).size == (1600, 2400)
    lettering, lines = drawn_title(title, None)
    assert lines == ["Stele"]  # the rest is left out, not drawn as boxes
    cover._plan.cache_clear()


def test_without_the_cjk_package_the_warning_says_how_to_get_it(monkeypatch, caplog) -> None:
    monkeypatch.setattr(fonts, "cjk_collection", lambda: None)
    monkeypatch.setattr(fonts, "system_face", lambda character: None)
    cover._plan.cache_clear()
    with caplog.at_level(logging.WARNING, logger="handbill"):
        draw_cover("\u5de5\u4eba\u7684\u58f0\u97f3", ["Author"], language="zh")
    messages = [record.getMessage() for record in caplog.records]
    assert any("Han" in message and "handbill[cjk]" in message for message in messages), messages
    cover._plan.cache_clear()


def test_without_complex_layout_a_joining_script_is_warned_about(monkeypatch, caplog) -> None:
    monkeypatch.setattr(cover, "_has_complex_layout", lambda: False)
    cover._drawn.cache_clear()
    title, authors, date, tag, _ = SAMPLES["Arabic"]
    with caplog.at_level(logging.WARNING, logger="handbill"):
        data = draw_cover(title, authors, date, None, tag).data
    assert any("complex text layout" in record.getMessage() for record in caplog.records)
    assert ink_box(data)[2] > WIDTH - 130 - 25  # still right-aligned
    cover._drawn.cache_clear()


def test_a_book_in_tamil_gets_its_drawn_cover_in_tamil(write_book, build_book) -> None:
    title, authors, date, tag, _ = SAMPLES["Tamil"]
    toml = f'title = "{title}"\nauthors = ["{authors[0]}"]\nlanguage = "{tag}"\n'
    epub, warnings = build_book(write_book({"a.md": "# \u0b92\u0ba9\u0bcd\u0bb1\u0bc1\n\ntext\n", "book.toml": toml}))
    assert not [w for w in warnings if "cover" in w]
    item = next(i for i in epub.manifest.values() if i.get("properties") == "cover-image")
    assert epub.files[epub.base + item.get("href")] == draw_cover(title, authors, None, None, tag).data


# Legibility, read back by OCR. Tesseract and its language data are Debian packages
# (tesseract-ocr, tesseract-ocr-tam, ...): without them these tests skip.
def _tesseract_languages() -> set[str]:
    if shutil.which("tesseract") is None:
        return set()
    listed = subprocess.run(["tesseract", "--list-langs"], capture_output=True, text=True, check=False)
    return set(listed.stdout.split()[1:])


def _similarity(expected: str, read: str) -> float:
    expected, read = "".join(expected.split()), "".join(read.split())
    matcher = difflib.SequenceMatcher(None, expected, read, autojunk=False)
    return sum(block.size for block in matcher.get_matching_blocks()) / len(expected)


@pytest.mark.parametrize("language", SAMPLES)
def test_the_title_on_the_drawn_cover_reads_back_by_ocr(language: str, tmp_path: Path) -> None:
    title, authors, date, tag, ocr_language = SAMPLES[language]
    if ocr_language not in _tesseract_languages():
        pytest.skip(f"tesseract with {ocr_language} data is not installed")
    data = draw_cover(title, authors, date, None, tag).data
    # Dark letters on white, at a third of the size: what Tesseract reads best.
    image = Image.open(io.BytesIO(data)).convert("L").crop(TITLE_AREA)
    image = Image.eval(image, lambda v: 0 if v > 160 else 255)
    image = image.resize((image.width // 3, image.height // 3), Image.Resampling.LANCZOS)
    path = tmp_path / "title.png"
    image.save(path)
    read = subprocess.run(
        ["tesseract", str(path), "-", "-l", ocr_language, "--psm", "6"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    ).stdout
    assert _similarity(cover._title_text(title), read) >= 0.7, read

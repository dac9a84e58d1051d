"""Covers: drawn ones are deterministic and store-sized; a book's own is checked and scaled."""

from __future__ import annotations

import io
import time
from pathlib import Path

import pytest
from PIL import Image

from handbill.cover import BACKGROUND, INK, SHADE, draw_cover, load_cover
from handbill.errors import CoverError


def image_of(data: bytes) -> Image.Image:
    return Image.open(io.BytesIO(data))


def test_drawn_cover_is_a_small_portrait_png_in_the_cover_colours_and_deterministic() -> None:
    first = draw_cover("A title", ["An Author"], "22 January 2026")
    second = draw_cover("A title", ["An Author"], "22 January 2026")
    assert first.data == second.data
    assert (first.media_type, first.extension) == ("image/png", "png")
    image = image_of(first.data)
    assert (image.format, image.mode, image.size) == ("PNG", "P", (1600, 2400))
    assert len(first.data) < 200_000
    rgb = image.convert("RGB")
    assert rgb.getpixel((5, 5)) == SHADE  # the masthead band
    assert rgb.getpixel((5, 1200)) == BACKGROUND
    colours = {colour for _, colour in rgb.getcolors(maxcolors=256)}
    assert INK in colours  # the title's letters, with anti-aliased edges between
    assert len(colours) > 10
    assert draw_cover("Another title", ["An Author"]).data != first.data


@pytest.mark.parametrize(
    ("title", "authors"),
    [
        ("word " * 80, []),
        ("Pneumonoultramicroscopicsilicovolcanoconiosis" * 3, ["X"]),
        ("\u4e2d\u6587\u6807\u9898 \u0645\u0631\u062d\u0628\u0627 \U0001f600", ["\u4f5c\u8005"]),
        ("Line\nbreaks\tand   spaces", ["A", "B", "C"]),
        ("", []),
    ],
)
def test_drawn_cover_survives_any_title(title: str, authors: list[str]) -> None:
    image = image_of(draw_cover(title, authors).data)
    assert image.size == (1600, 2400)


def save(image: Image.Image, path: Path, kind: str) -> Path:
    image.save(path, kind)
    return path


def test_small_jpeg_is_kept_byte_for_byte(tmp_path: Path) -> None:
    path = save(Image.new("RGB", (800, 1200), (1, 2, 3)), tmp_path / "c.jpg", "JPEG")
    cover = load_cover(path)
    assert cover.data == path.read_bytes() and cover.media_type == "image/jpeg"


def test_large_cover_is_scaled_to_about_four_megapixels(tmp_path: Path) -> None:
    path = save(Image.new("RGB", (3000, 3000), (200, 10, 10)), tmp_path / "big.png", "PNG")
    cover = load_cover(path)
    assert cover.width * cover.height <= 4_000_000
    assert abs(cover.width - cover.height) <= 1


def test_transparent_png_is_flattened(tmp_path: Path) -> None:
    path = save(Image.new("RGBA", (400, 600), (0, 0, 0, 0)), tmp_path / "t.png", "PNG")
    cover = load_cover(path)
    image = image_of(cover.data)
    assert image.mode == "RGB" and image.getpixel((10, 10)) == (255, 255, 255)


def test_gif_becomes_jpeg(tmp_path: Path) -> None:
    path = save(Image.new("P", (400, 600)), tmp_path / "c.gif", "GIF")
    assert load_cover(path).media_type == "image/jpeg"


def test_not_an_image_is_an_error_naming_the_file(tmp_path: Path) -> None:
    path = tmp_path / "cover.jpg"
    path.write_text("this is text")
    with pytest.raises(CoverError, match="cover.jpg"):
        load_cover(path)
    with pytest.raises(CoverError, match="does not exist"):
        load_cover(tmp_path / "missing.png")


def test_truncated_image_is_an_error(tmp_path: Path) -> None:
    path = save(Image.new("RGB", (400, 600), (5, 5, 5)), tmp_path / "c.jpg", "JPEG")
    path.write_bytes(path.read_bytes()[:200])
    with pytest.raises(CoverError):
        load_cover(path)


@pytest.mark.parametrize("mode", ["RGB", "L", "P"])
def test_plain_png_is_kept_byte_for_byte(tmp_path: Path, mode: str) -> None:
    path = save(Image.new(mode, (600, 900)), tmp_path / "c.png", "PNG")
    cover = load_cover(path)
    assert (cover.data, cover.media_type, cover.width, cover.height) == (path.read_bytes(), "image/png", 600, 900)


def test_png_with_a_damaged_chunk_is_not_taken_as_it_is(tmp_path: Path) -> None:
    path = save(Image.new("RGB", (600, 900), (9, 9, 9)), tmp_path / "c.png", "PNG")
    data = bytearray(path.read_bytes())
    data[data.index(b"IDAT") + 6] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(CoverError):
        load_cover(path)


def test_cmyk_jpeg_is_converted(tmp_path: Path) -> None:
    path = save(Image.new("CMYK", (400, 600), (0, 90, 90, 0)), tmp_path / "c.jpg", "JPEG")
    cover = load_cover(path)
    assert cover.data != path.read_bytes() and image_of(cover.data).mode == "RGB"


def test_own_cover_in_a_book(write_book, build_book, tmp_path: Path) -> None:
    cover = save(Image.new("RGB", (1000, 1500), (0, 90, 40)), tmp_path / "own.jpg", "JPEG")
    epub, _ = build_book(write_book({"a.md": "# A\n\ntext\n"}), cover=cover)
    item = next(i for i in epub.manifest.values() if i.get("properties") == "cover-image")
    assert epub.files[epub.base + item.get("href")] == cover.read_bytes()


def _fitted_title(title: str) -> list[str]:
    """The lines the cover draws for a title, as `draw_cover` fits them."""
    from PIL import ImageDraw

    from handbill.cover import _fit

    draw = ImageDraw.Draw(Image.new("L", (10, 10)))
    return _fit(draw, title, "bold", 1340, 1440, 9, start=290)[1]


@pytest.mark.parametrize(
    "title",
    [
        "W" * 1000,  # one unbroken word: every prefix of it was measured, cubic (54 s)
        "Pneumonoultramicroscopicsilicovolcanoconiosis " * 110,  # 5,000 characters of long words
        ("a " * 2500)[:5000],  # 5,000 characters of short words
        "\u200b" * 5000,  # characters that take no width at all
    ],
)
def test_long_titles_draw_in_bounded_time_and_start_with_the_title(title: str) -> None:
    started = time.perf_counter()
    cover = draw_cover(title, ["An Author " * 50], "22 January 2026", "subtitle " * 500)
    assert time.perf_counter() - started < 5
    assert image_of(cover.data).size == (1600, 2400)
    drawn = "".join(_fitted_title(title)).removesuffix("\u2026").replace(" ", "")
    whole = title.replace(" ", "")
    assert whole.startswith(drawn) and len(drawn) >= min(len(whole), 20)
    if title.strip("\u200b"):  # and the title area of the image holds letters
        title_area = image_of(cover.data).convert("RGB").crop((0, 460, 1600, 1900))
        assert INK in {colour for _, colour in title_area.getcolors(maxcolors=256)}


def test_a_title_too_long_to_fit_ends_in_an_ellipsis_and_a_short_one_is_whole() -> None:
    assert _fitted_title("word " * 2000)[-1].endswith("\u2026")
    assert _fitted_title("Pneumonoultramicroscopicsilicovolcanoconiosis")[0] != ""
    assert " ".join(_fitted_title("A short title")) == "A short title"
    long_word = "".join(_fitted_title("Incomprehensibilities" * 4))
    assert long_word == "Incomprehensibilities" * 4  # broken inside the word, every letter kept


def _bad_png_pixels() -> bytes:
    """A PNG whose chunks are all intact (CRCs right) but whose pixel data is not zlib: the
    header-only check of before took it as it is."""
    import struct
    import zlib

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    header = struct.pack(">IIBBBBB", 800, 1200, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", b"garbage" * 40) + chunk(b"IEND", b"")


def _jpeg(size: tuple[int, int] = (800, 1200)) -> bytes:
    buffer = io.BytesIO()
    Image.effect_noise(size, 40).convert("RGB").save(buffer, "JPEG")
    return buffer.getvalue()


BAD_COVERS = {
    "png signature then junk": b"\x89PNG\r\n\x1a\n" + b"junk" * 100,
    "png pixels that are not zlib": _bad_png_pixels(),
    "jpeg cut short": _jpeg()[:30_000],
    "jpeg without its end": _jpeg()[:-2],
    "gif signature then junk": b"GIF89a" + b"junk" * 100,
    "png claiming 100,000 x 100,000 pixels": _bad_png_pixels().replace(
        b"\x00\x00\x03\x20\x00\x00\x04\xb0", b"\x00\x01\x86\xa0\x00\x01\x86\xa0"
    ),
}


@pytest.mark.parametrize("name", BAD_COVERS)
def test_bad_cover_is_one_clear_error_naming_the_file(name: str, write_book, tmp_path: Path) -> None:
    from click.testing import CliRunner

    from handbill.cli import cli

    book = write_book(
        {"a.md": "# A\n\ntext\n", "art/cover.png": BAD_COVERS[name], "book.toml": 'cover = "art/cover.png"\n'}
    )
    output = tmp_path / "out" / "a.epub"
    result = CliRunner().invoke(cli, ["build", str(book), "-o", str(output)])
    assert result.exit_code == 1 and not output.exists()
    assert result.stderr.count("\n") == 1, result.stderr
    assert "art/cover.png: not an image handbill can use" in result.stderr
    assert "Traceback" not in result.stderr and "internal error" not in result.stderr
    with pytest.raises(CoverError, match="cover.png"):
        load_cover(book / "art" / "cover.png")

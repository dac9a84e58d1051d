"""Covers: drawn ones are deterministic and store-sized; a book's own is checked and scaled."""

from __future__ import annotations

import io
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

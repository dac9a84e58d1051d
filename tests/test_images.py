"""Images are decoded whole before they go into a book, within a pixel limit.

A damaged image in a chapter is left out with a warning naming the source and the image, its
alt text kept; a whole one goes in byte for byte. A plain PNG is checked without Pillow.
"""

from __future__ import annotations

import io
import struct
import subprocess
import sys
import zlib
from pathlib import Path

import pytest
from PIL import Image, features

from handbill import images
from handbill.images import MAX_IMAGE_PIXELS, BadImage, check_image, plain_png

from .conftest import CONTENT, reader_text, register

SIGNATURE = b"\x89PNG\r\n\x1a\n"


def chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def crafted_png(width: int, height: int, rows: bytes | None = None, between: bytes = b"", colour: int = 2) -> bytes:
    """An 8-bit PNG made by hand: `rows` is the raw (filtered) pixel data, whole by default."""
    channels = {0: 1, 2: 3, 3: 1}[colour]
    if rows is None:
        rows = (b"\x00" + b"\x7f" * width * channels) * height
    header = struct.pack(">IIBBBBB", width, height, 8, colour, 0, 0, 0)
    return SIGNATURE + chunk(b"IHDR", header) + between + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b"")


def crafted_interlaced_png(width: int, height: int) -> bytes:
    """An 8-bit RGB Adam7-interlaced PNG (Pillow reads them, but does not write them)."""
    rows = b""
    for x0, y0, dx, dy in (
        (0, 0, 8, 8),
        (4, 0, 8, 8),
        (0, 4, 4, 8),
        (2, 0, 4, 4),
        (0, 2, 2, 4),
        (1, 0, 2, 2),
        (0, 1, 1, 2),
    ):
        columns, lines = -(-(width - x0) // dx), -(-(height - y0) // dy)
        if columns > 0 and lines > 0:
            rows += (b"\x00" + b"\x50\x90\xd0" * columns) * lines
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 1)
    return SIGNATURE + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b"")


def saved(image: Image.Image, kind: str, **options) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, kind, **options)
    return buffer.getvalue()


def photo(size: tuple[int, int] = (120, 80)) -> Image.Image:
    return Image.effect_noise(size, 50).convert("RGB")


def damaged_crc(data: bytes) -> bytes:
    damaged = bytearray(data)
    damaged[data.index(b"IDAT") + 8] ^= 0xFF
    return bytes(damaged)


def huge_jpeg_header() -> bytes:
    """A small JPEG whose frame header says 60,000 x 60,000 pixels."""
    data = bytearray(saved(photo((16, 16)), "JPEG"))
    frame = data.index(b"\xff\xc0")
    data[frame + 5 : frame + 9] = struct.pack(">HH", 60000, 60000)
    return bytes(data)


def gif_frames(count: int, size: tuple[int, int] = (30, 40)) -> bytes:
    frames = [Image.new("RGB", size, (60 * index, 90, 200 - 50 * index)) for index in range(count)]
    return saved(frames[0], "GIF", save_all=True, append_images=frames[1:], duration=100)


JPEG = saved(photo(), "JPEG")
PNG = saved(photo(), "PNG")
GIF = gif_frames(1)
WIDE_ROWS = (b"\x00" + b"\x10" * 30) * 10

BROKEN = {
    "png signature then junk": SIGNATURE + b"junk" * 50,
    "gif signature then junk": b"GIF89a" + b"\x00junk" * 40,
    "webp header then junk": b"RIFF\x40\x00\x00\x00WEBPVP8 " + b"junk" * 20,
    "jpeg cut short": JPEG[: len(JPEG) // 2],
    "jpeg without its end": JPEG[:-2],
    "png cut short": PNG[: len(PNG) * 2 // 3],
    "png with a damaged chunk": damaged_crc(PNG),
    "gif cut short": gif_frames(3)[: len(gif_frames(3)) // 2],
    "png pixels inflate short (CRC right)": crafted_png(10, 10, WIDE_ROWS[: len(WIDE_ROWS) // 2]),
    "png with too much pixel data": crafted_png(10, 10, WIDE_ROWS * 2),
    "png with an unknown row filter": crafted_png(10, 10, b"\x09" + WIDE_ROWS[1:]),
    "png pixel data not zlib": SIGNATURE
    + chunk(b"IHDR", struct.pack(">IIBBBBB", 10, 10, 8, 2, 0, 0, 0))
    + chunk(b"IDAT", b"not zlib at all")
    + chunk(b"IEND", b""),
    "png without IEND": crafted_png(10, 10)[:-12],
    "png with IDAT chunks apart": crafted_png(10, 10)[:-12]
    + chunk(b"tEXt", b"a\x00b")
    + chunk(b"IDAT", b"x")
    + chunk(b"IEND", b""),
    "png with an unknown critical chunk": crafted_png(10, 10, between=chunk(b"ABCD", b"x")),
    "palette png without a palette": crafted_png(10, 10, (b"\x00" + b"\x01" * 10) * 10, colour=3),
    "png header of 100,000 x 100,000 pixels": crafted_png(100_000, 100_000, b"\x00" * 100),
    "jpeg header of 60,000 x 60,000 pixels": huge_jpeg_header(),
    "interlaced png cut short": crafted_interlaced_png(60, 40)[:-30],
    "text named .png": b"just some text, not an image at all",
}


@pytest.mark.parametrize("name", BROKEN)
def test_damaged_chapter_image_is_left_out_with_its_alt_text_kept(name: str, write_book, build_book) -> None:
    book = write_book({"a.md": "# A\n\nBefore ![a map of the route](pic.png) after.\n", "pic.png": BROKEN[name]})
    epub, warnings = build_book(book)
    document = epub.body_documents()[0]
    assert "Before a map of the route after." in [reader_text(p) for p in epub.document(document).iter("{*}p")]
    assert not [item for item in epub.manifest.values() if item.get("href", "").startswith("images/0")]
    assert any("a.md" in line and "'pic.png' is left out" in line for line in warnings), warnings


@pytest.mark.parametrize(
    "name",
    [name for name in BROKEN if "cut short" in name or "junk" in name or "damaged" in name],
)
def test_damaged_image_is_refused_by_the_check_itself(name: str) -> None:
    with pytest.raises(BadImage):
        check_image(BROKEN[name])


def test_too_large_is_said_before_decoding() -> None:
    for name in ("png header of 100,000 x 100,000 pixels", "jpeg header of 60,000 x 60,000 pixels"):
        with pytest.raises(BadImage, match="too large"):
            check_image(BROKEN[name])


WHOLE = {
    "interlaced png": crafted_interlaced_png(61, 37),
    "16-bit png with alpha": saved(Image.new("RGBA", (20, 20), (1, 2, 3, 4)).convert("RGBA"), "PNG"),
    "16-bit grey png": saved(Image.new("I;16", (20, 20), 300), "PNG"),
    "palette png with transparency": saved(Image.new("P", (20, 20), 3), "PNG", transparency=3),
    "1-bit png": saved(Image.new("1", (33, 7), 1), "PNG"),
    "grey png with alpha": saved(Image.new("LA", (20, 20), (9, 9)), "PNG"),
    "progressive jpeg": saved(photo(), "JPEG", progressive=True),
    "grey jpeg": saved(photo().convert("L"), "JPEG"),
    "animated gif": gif_frames(3),
    "png with data after its end": PNG + b"trailing bytes",
}
if features.check("webp"):
    WHOLE["webp"] = saved(photo(), "WEBP")


@pytest.mark.parametrize("name", WHOLE)
def test_whole_images_go_in_byte_for_byte(name: str, write_book, build_book) -> None:
    book = write_book({"a.md": "# A\n\n![alt](pic.img)\n", "pic.img": WHOLE[name]})
    epub, warnings = build_book(book)
    stored = [item.get("href") for item in epub.manifest.values() if item.get("href", "").startswith("images/0")]
    assert len(stored) == 1 and epub.files[epub.base + stored[0]] == WHOLE[name]
    assert warnings == []


def test_pixel_limit_counts_every_frame(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(images, "MAX_IMAGE_PIXELS", 3000)  # 30 x 40 = 1,200 pixels a frame
    assert check_image(gif_frames(2)).width == 30
    with pytest.raises(BadImage, match="too large"):
        check_image(gif_frames(3))
    with pytest.raises(BadImage, match="too large"):
        check_image(crafted_png(60, 60))


def test_plain_png_check_reads_what_pillow_reads() -> None:
    for mode in ("RGB", "L", "P", "RGBA", "LA", "1", "I;16"):
        data = saved(Image.new(mode, (37, 23)), "PNG")
        info = plain_png(data)
        assert info is not None and (info.width, info.height) == (37, 23)
    assert plain_png(crafted_interlaced_png(37, 23)) is None  # Pillow decodes it
    assert check_image(crafted_interlaced_png(37, 23)).width == 37
    assert plain_png(saved(Image.new("P", (9, 9)), "PNG", transparency=0)).transparency


def test_pillow_and_its_limit_are_left_alone(tmp_path: Path) -> None:
    """The statement (a PNG cover) and a book of plain PNGs build without importing Pillow, and
    no image check changes Pillow's process-wide limit."""
    book = tmp_path / "book"
    book.mkdir()
    (book / "a.md").write_text("# A\n\n![one](a.png) ![two](b.png)\n", encoding="utf-8")
    (book / "a.png").write_bytes(PNG)
    (book / "b.png").write_bytes(crafted_png(10, 10))
    (book / "cover.png").write_bytes(saved(Image.new("RGB", (800, 1200), (1, 2, 3)), "PNG"))
    (book / "book.toml").write_text('cover = "cover.png"\n', encoding="utf-8")
    script = (
        "import sys\nfrom pathlib import Path\nfrom handbill.build import build\nfrom handbill.config import load_config\n"
        "for source, output in zip(sys.argv[1::2], sys.argv[2::2]):\n"
        "    build(load_config(Path(source)), Path(output))\n"
        "print('PIL' in sys.modules)\n"
    )
    outputs = [tmp_path / "statement.epub", tmp_path / "book.epub"]
    arguments = [str(CONTENT), str(outputs[0]), str(book), str(outputs[1])]
    result = subprocess.run([sys.executable, "-c", script, *arguments], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "False"
    for output in outputs:
        register(output)
    limit = Image.MAX_IMAGE_PIXELS
    for data in (JPEG, gif_frames(2), crafted_interlaced_png(9, 9)):
        check_image(data)
    assert Image.MAX_IMAGE_PIXELS == limit and MAX_IMAGE_PIXELS < (limit or 0)

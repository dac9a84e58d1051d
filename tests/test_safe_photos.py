"""Safe photos: no image goes into a book with its GPS position, device or owner; `check` warns of them."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pytest
from PIL import Image, PngImagePlugin

from handbill.check import check_epub
from handbill.photos import READER_PIXELS, clean_image, image_private_data

from .conftest import Epub

GPS, MAKE, MODEL, ORIENTATION = 0x8825, 0x010F, 0x0110, 0x0112


def photo(size: tuple[int, int] = (60, 40), orientation: int = 6, quality: int = 95) -> bytes:
    """A phone photo: red, with a blue corner at its top left as stored, GPS, make, model, orientation."""
    image = Image.new("RGB", size, (200, 30, 30))
    image.paste((0, 0, 255), (0, 0, size[0] // 6, size[1] // 4))
    exif = Image.Exif()
    exif[MAKE], exif[MODEL], exif[ORIENTATION] = "PhoneMaker", "Model 7", orientation
    gps = exif.get_ifd(GPS)
    gps.update({1: "N", 2: (44.0, 58.0, 12.0), 3: "W", 4: (93.0, 15.0, 0.0)})
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", exif=exif.tobytes(), quality=quality)
    return buffer.getvalue()


def png_with_text() -> bytes:
    info = PngImagePlugin.PngInfo()
    info.add_text("Author", "Jane Doe")
    info.add_itxt("Location", "44.97, -93.26 (Minneapolis)")
    info.add_text("Comment", "taken on a Model 7", zip=True)
    buffer = io.BytesIO()
    Image.new("RGB", (30, 20), (0, 128, 0)).save(buffer, "PNG", pnginfo=info)
    return buffer.getvalue()


def plain(kind: str) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (30, 20), (10, 20, 30)).save(buffer, kind)
    return buffer.getvalue()


def images_of(epub: Epub) -> dict[str, bytes]:
    return {name.rsplit("/", 1)[-1]: data for name, data in epub.files.items() if "/images/" in name}


def one(images: dict[str, bytes], stem: str) -> bytes:
    (data,) = [data for name, data in images.items() if stem in name]
    return data


def exif_of(data: bytes) -> Image.Exif:
    with Image.open(io.BytesIO(data)) as image:
        return image.getexif()


def book_with(write_book, toml: str = "") -> Path:
    return write_book(
        {
            "book.toml": 'title = "Photos"\nauthor = "A. Photographer"\n' + toml,
            "a.md": "# Photos\n\n![The march](images/march.jpg)\n\n![Notes](images/notes.png)\n\n"
            "![A plain one](images/plain.png)\n\n![A plain JPEG](images/flat.jpg)\n",
            "images/march.jpg": photo(),
            "images/notes.png": png_with_text(),
            "images/plain.png": plain("PNG"),
            "images/flat.jpg": plain("JPEG"),
        }
    )


def test_a_books_images_lose_location_device_and_text_and_stand_upright(write_book, build_book) -> None:
    epub, warnings = build_book(book_with(write_book))
    assert warnings == []
    images = images_of(epub)
    march = one(images, "march")
    assert b"PhoneMaker" not in march and b"Model 7" not in march and b"Exif" not in march
    assert not exif_of(march)  # no GPS, no make, no model, no orientation left to apply twice
    assert image_private_data(march) == []
    with Image.open(io.BytesIO(march)) as image:
        assert image.size == (40, 60)  # orientation 6 applied: the stored 60 x 40 stands upright
        assert image.getpixel((37, 3))[2] > 200 and image.getpixel((2, 3))[0] > 150  # the blue corner, turned
    notes = one(images, "notes")
    for chunk in (b"tEXt", b"zTXt", b"iTXt", b"Jane Doe", b"Minneapolis"):
        assert chunk not in notes
    with Image.open(io.BytesIO(notes)) as image:
        assert image.size == (30, 20) and image.getpixel((5, 5)) == (0, 128, 0)
    # Images without metadata go in byte for byte.
    assert one(images, "plain") == plain("PNG") and one(images, "flat") == plain("JPEG")


def test_keep_image_metadata_keeps_it(write_book, build_book) -> None:
    epub, _ = build_book(book_with(write_book, "keep_image_metadata = true\n"))
    images = images_of(epub)
    assert one(images, "march") == photo()
    assert one(images, "notes") == png_with_text()
    assert exif_of(one(images, "march")).get_ifd(GPS)


def test_keep_image_metadata_must_be_true_or_false(write_book) -> None:
    from handbill.config import load_config
    from handbill.errors import ConfigError

    with pytest.raises(ConfigError, match="'keep_image_metadata' must be true or false"):
        load_config(book_with(write_book, 'keep_image_metadata = "yes"\n'))


def test_a_huge_photo_is_downscaled_with_a_warning_and_a_cover_is_not(write_book, build_book) -> None:
    big = photo((6000, 4000), orientation=1, quality=70)
    book = write_book(
        {
            "book.toml": 'title = "Big"\ncover = "cover.jpg"\n',
            "a.md": "# Big\n\n![A crowd](crowd.jpg)\n",
            "crowd.jpg": big,
            "cover.jpg": photo((1600, 2400), orientation=1),
        }
    )
    epub, warnings = build_book(book)
    crowd = one(images_of(epub), "crowd")
    with Image.open(io.BytesIO(crowd)) as image:
        assert image.width * image.height <= READER_PIXELS and image.width > 2400
        assert abs(image.width / image.height - 1.5) < 0.01
    assert image_private_data(crowd) == []
    assert any("crowd.jpg: image downscaled from 6000 x 4000" in warning for warning in warnings)
    cover_name = next(i.get("href") for i in epub.manifest.values() if "cover-image" in (i.get("properties") or ""))
    cover = epub.files[epub.base + cover_name]
    with Image.open(io.BytesIO(cover)) as image:
        assert image.size == (1600, 2400)
    assert image_private_data(cover) == [] and b"PhoneMaker" not in cover


def test_reencoding_is_reproducible_and_keeps_the_colour_profile() -> None:
    from PIL import ImageCms

    profile = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    image = Image.new("RGB", (50, 30), (1, 2, 3))
    exif = Image.Exif()
    exif[ORIENTATION] = 8
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", exif=exif.tobytes(), icc_profile=profile)
    first, second = clean_image(buffer.getvalue(), "image/jpeg"), clean_image(buffer.getvalue(), "image/jpeg")
    assert first.data == second.data and (first.width, first.height) == (30, 50)
    assert first.notes == ("removed its metadata", "turned upright by its EXIF orientation")  # no GPS to name
    assert clean_image(photo(), "image/jpeg").notes[0] == "removed its metadata (GPS position, device make and model)"
    with Image.open(io.BytesIO(first.data)) as turned:
        assert turned.info.get("icc_profile") == profile


def test_phone_trailers_and_comments_go_without_reencoding() -> None:
    """Segments are dropped, the compressed pixels kept as they were (no loss of quality)."""
    data = plain("JPEG")
    commented = data[:2] + b"\xff\xfe\x00\x0eJane's phone" + data[2:] + b"SEFH vendor trailer with a GPS fix"
    cleaned = clean_image(commented, "image/jpeg")
    assert cleaned.data == data


def hand_made_epub(path: Path, image: bytes) -> Path:
    """An EPUB another tool might make, with the photo as it came from the phone."""
    opf = (
        '<?xml version="1.0" encoding="utf-8"?>\n<package xmlns="http://www.idpf.org/2007/opf" version="3.0"'
        ' unique-identifier="id"><metadata xmlns:dc="http://purl.org/dc/elements/1.1/"><dc:identifier id="id">x</dc:identifier>'
        "<dc:title>T</dc:title><dc:language>en</dc:language></metadata><manifest>"
        '<item id="c" href="c.xhtml" media-type="application/xhtml+xml"/>'
        '<item id="p" href="photo.jpg" media-type="image/jpeg"/></manifest><spine><itemref idref="c"/></spine></package>'
    )
    page = (
        '<?xml version="1.0" encoding="utf-8"?>\n<html xmlns="http://www.w3.org/1999/xhtml"><head><title>T</title></head>'
        '<body><img src="photo.jpg" alt="march"/></body></html>'
    )
    container = (
        '<?xml version="1.0"?><container xmlns="urn:oasis:names:tc:opendocument:xmlns:container" version="1.0">'
        '<rootfiles><rootfile full-path="OEBPS/content.opf" media-type="application/oebps-package+xml"/></rootfiles></container>'
    )
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("mimetype", "application/epub+zip", compress_type=zipfile.ZIP_STORED)
        archive.writestr("META-INF/container.xml", container)
        archive.writestr("OEBPS/content.opf", opf)
        archive.writestr("OEBPS/c.xhtml", page)
        archive.writestr("OEBPS/photo.jpg", image)
    return path


def test_check_warns_of_a_photo_with_location_or_device_in_any_epub(tmp_path: Path) -> None:
    report = check_epub(hand_made_epub(tmp_path / "other.epub", photo()), run_epubcheck=False)
    (finding,) = [finding for finding in report.findings if finding.code == "IMAGE-PRIVATE-DATA"]
    assert finding.severity == "warning"
    assert "OEBPS/photo.jpg" in finding.message and "GPS position" in finding.message and "device" in finding.message

    clean = check_epub(hand_made_epub(tmp_path / "clean.epub", plain("JPEG")), run_epubcheck=False)
    assert not [finding for finding in clean.findings if finding.code == "IMAGE-PRIVATE-DATA"]


def test_check_finds_xmp_location_in_a_png() -> None:
    info = PngImagePlugin.PngInfo()
    xmp = '<x:xmpmeta xmlns:x="adobe:ns:meta/"><exif:GPSLatitude>44,58.2N</exif:GPSLatitude></x:xmpmeta>'
    info.add_itxt("XML:com.adobe.xmp", xmp)
    buffer = io.BytesIO()
    Image.new("RGB", (8, 8)).save(buffer, "PNG", pnginfo=info)
    assert image_private_data(buffer.getvalue()) == ["GPS position"]
    assert b"GPSLatitude" not in clean_image(buffer.getvalue(), "image/png").data


@pytest.mark.parametrize("progressive", [False, True])
def test_stripping_keeps_every_pixel_of_baseline_and_progressive_jpegs(progressive: bool) -> None:
    import random

    rng = random.Random(7)
    image = Image.new("RGB", (64, 48))
    image.putdata([(rng.randrange(256), rng.randrange(256), rng.randrange(256)) for _ in range(64 * 48)])
    exif = Image.Exif()
    exif[MAKE] = "PhoneMaker"
    exif.get_ifd(GPS).update({1: "N", 2: (1.0, 2.0, 3.0)})
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", exif=exif.tobytes(), progressive=progressive, quality=90)
    original = buffer.getvalue()
    cleaned = clean_image(original + b"\xff\xd8 trailer", "image/jpeg")
    assert b"PhoneMaker" not in cleaned.data and cleaned.data.endswith(b"\xff\xd9")
    with Image.open(io.BytesIO(original)) as before, Image.open(io.BytesIO(cleaned.data)) as after:
        assert after.tobytes() == before.tobytes()


def test_a_gif_loses_comments_and_xmp_and_keeps_every_frame() -> None:
    frames = [Image.new("RGB", (20, 10), (red, 0, 0)) for red in (0, 80, 160)]
    buffer = io.BytesIO()
    frames[0].save(
        buffer, "GIF", save_all=True, append_images=frames[1:], comment=b"Jane's phone", loop=0, duration=100
    )
    gif = buffer.getvalue()
    xmp = b"<x:xmpmeta><exif:GPSLatitude>44,58N</exif:GPSLatitude></x:xmpmeta>"
    extension = b"\x21\xff\x0bXMP DataXMP" + bytes([len(xmp)]) + xmp + b"\x00"
    header = 13 + 3 * 2 ** ((gif[10] & 7) + 1) if gif[10] & 0x80 else 13
    tagged = gif[:header] + extension + gif[header:] + b"after the trailer"
    assert image_private_data(tagged) == ["GPS position"]
    cleaned = clean_image(tagged, "image/gif")
    assert b"Jane" not in cleaned.data and b"GPSLatitude" not in cleaned.data and b"after the" not in cleaned.data
    assert b"NETSCAPE2.0" in cleaned.data  # the loop count stays
    with Image.open(io.BytesIO(cleaned.data)) as image:
        assert image.n_frames == 3
        image.seek(2)
        assert image.convert("RGB").getpixel((1, 1)) == (160, 0, 0)


def test_damaged_images_are_bad_images_never_exceptions_or_stray_warnings() -> None:
    """Pillow warns of damaged EXIF on stderr (several lines); a damaged JPEG made Image.open raise
    KeyError('MPO') in check_image. Each damaged copy must be a BadImage, or a result, quietly."""
    import random
    import warnings

    from handbill.images import BadImage, check_image

    rng = random.Random(14)
    samples = [(photo(), "image/jpeg"), (png_with_text(), "image/png"), (plain("GIF"), "image/gif")]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for data, media_type in samples:
            for attempt in range(300):
                damaged = bytearray(data)
                if attempt % 2:
                    damaged = damaged[: rng.randrange(len(damaged))]
                else:
                    for _ in range(rng.randrange(1, 4)):
                        damaged[rng.randrange(2, min(len(damaged), 200))] = rng.randrange(256)
                image_private_data(bytes(damaged))
                try:
                    check_image(bytes(damaged))
                except BadImage:
                    pass
                try:
                    clean_image(bytes(damaged), media_type)
                except BadImage:
                    pass


def test_an_mpo_from_a_phone_becomes_its_first_picture() -> None:
    first, second = Image.new("RGB", (20, 20), (255, 0, 0)), Image.new("RGB", (20, 20), (0, 255, 0))
    buffer = io.BytesIO()
    first.save(buffer, "MPO", save_all=True, append_images=[second])
    cleaned = clean_image(buffer.getvalue(), "image/jpeg")
    assert b"MPF\x00" not in cleaned.data and cleaned.data.count(b"\xff\xd8") == 1
    with Image.open(io.BytesIO(cleaned.data)) as image:
        assert getattr(image, "n_frames", 1) == 1 and image.getpixel((5, 5))[0] > 240


def test_a_webp_loses_exif_and_xmp_without_reencoding() -> None:
    exif = Image.Exif()
    exif[MAKE] = "PhoneMaker"
    exif.get_ifd(GPS).update({1: "N"})
    buffer = io.BytesIO()
    Image.new("RGB", (30, 20), (0, 0, 200)).save(buffer, "WEBP", exif=exif.tobytes(), xmp=b"<x>tiff:Model</x>")
    assert image_private_data(buffer.getvalue()) == ["GPS position", "device make and model"]
    cleaned = clean_image(buffer.getvalue(), "image/webp")
    assert b"PhoneMaker" not in cleaned.data and b"EXIF" not in cleaned.data and b"XMP " not in cleaned.data
    assert len(cleaned.data) == int.from_bytes(cleaned.data[4:8], "little") + 8  # the RIFF size follows
    with Image.open(io.BytesIO(cleaned.data)) as image:
        image.load()
        assert image.size == (30, 20) and "exif" not in image.info

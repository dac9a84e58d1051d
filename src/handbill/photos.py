"""Safe photos: no image goes into a book with its GPS position, device or owner.

Phone photos carry EXIF (GPS position, make, model, serial number, owner, dates), XMP and IPTC;
PNG files carry text chunks; phones append more after a JPEG's end. `clean_image` removes all of
it from every image a book embeds (unless `keep_image_metadata`), turning the picture upright by
its EXIF orientation first, and downscales images larger than any reader's screen. Metadata alone
is removed without re-encoding: segments and chunks are dropped, the compressed pixels kept as
they were. `image_private_data` tells `handbill check` what an image in any EPUB gives away.

Loaded only when a book embeds an image (the statement has none besides its drawn cover).
"""

from __future__ import annotations

import io
import struct
import warnings
from collections.abc import Iterator
from typing import NamedTuple

from .images import BadImage, check_image, decoded_image
from .names import PNG_SIGNATURE, image_type

READER_PIXELS = 4_000_000
"""Images above this many pixels are downscaled (covers excepted). The largest e-reader screens
are 1872 x 1404 (Kobo Elipsa, 2.6 MP) and 2480 x 1860 (Kindle Scribe, 4.6 MP, where an image
inside a page's margins gets under 4 MP); phones show a page's image smaller still. A 24 MP
phone photo is six times what any reader can show, and weighs the book down for every reader."""

_PNG_METADATA = frozenset({b"tEXt", b"zTXt", b"iTXt", b"eXIf", b"tIME"})
"""PNG chunks that carry words, EXIF or dates rather than pixels or colour."""
_JPEG_KEPT = frozenset({0xE0, 0xE2, 0xEE})
"""JPEG application segments kept: APP0 (JFIF), APP2 (only its ICC colour profile), APP14 (Adobe's
colour transform, without which CMYK and some RGB files decode with wrong colours). APP1 (EXIF,
XMP), APP13 (IPTC), comments and the vendors' other segments go."""
_WEBP_METADATA = frozenset({b"EXIF", b"XMP "})
_XMP_LOCATION = (b"GPSLatitude", b"GPSLongitude", b"photoshop:City", b"Iptc4xmpCore:Location")
_XMP_DEVICE = (b"tiff:Make", b"tiff:Model", b"aux:SerialNumber", b"exifEX:BodySerialNumber")


class _Found(NamedTuple):
    """What an image carries besides its pixels, read from its bytes without decoding them."""

    width: int
    height: int
    exif: bytes  # the TIFF data of its EXIF (b"" when none)
    other: bytes  # XMP, IPTC, PNG text: searched for names of location and device fields
    metadata: bool  # anything to remove (EXIF, XMP, IPTC, text, comments, trailing data)
    animated: bool


class Cleaned(NamedTuple):
    data: bytes
    width: int
    height: int
    notes: tuple[str, ...]
    """What was done, for a log line: "removed ...", "turned upright", "downscaled ..."."""


def _jpeg_segments(data: bytes) -> tuple[list[tuple[int, bytes]], int, int, int]:
    """(marker, whole segment) before the scan, the scan's offset, width and height."""
    segments: list[tuple[int, bytes]] = []
    position, width, height = 2, 0, 0
    while position + 4 <= len(data):
        if data[position] != 0xFF:
            raise BadImage("damaged JPEG structure")
        marker = data[position + 1]
        if marker == 0xFF:  # fill byte
            position += 1
            continue
        (length,) = struct.unpack(">H", data[position + 2 : position + 4])
        end = position + 2 + length
        if marker == 0xDA:
            return segments, position, width, height
        if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC) and length >= 7:
            height, width = struct.unpack(">HH", data[position + 5 : position + 9])
        segments.append((marker, data[position:end]))
        position = end
    raise BadImage("JPEG without image data")


def _scan_end(data: bytes, scan: int) -> int:
    """Where the JPEG ends (after its EOI marker): a phone's trailer (a second MPO picture, a
    vendor's block of data) comes after it. Walks the scans: each marker segment by its length,
    entropy-coded data up to the next marker (in it, FF is followed by 00, a restart marker or
    another FF)."""
    position = scan
    while position + 4 <= len(data):
        (length,) = struct.unpack(">H", data[position + 2 : position + 4])
        position += 2 + length
        while True:
            position = data.find(b"\xff", position)
            if position < 0 or position + 1 >= len(data):
                return len(data)
            following = data[position + 1]
            if following in (0x00, 0xFF) or 0xD0 <= following <= 0xD7:
                position += 1
                continue
            break
        if following == 0xD9:
            return position + 2
    return len(data)


def _find(data: bytes, media_type: str) -> _Found:
    if media_type == "image/jpeg":
        segments, scan, width, height = _jpeg_segments(data)
        exif, other, metadata = b"", [], _scan_end(data, scan) < len(data)
        for marker, segment in segments:
            body = segment[4:]
            if marker == 0xE1 and body.startswith(b"Exif\x00\x00"):
                exif = body[6:]
            elif marker in (0xE1, 0xED, 0xFE) or 0xE3 <= marker <= 0xEF and marker not in _JPEG_KEPT:
                other.append(body)
            elif marker == 0xE2 and not body.startswith(b"ICC_PROFILE\x00"):
                other.append(body)  # MPF (pointers to the trailing pictures), FlashPix
            else:
                continue
            metadata = True
        return _Found(width, height, exif, b"".join(other), metadata or bool(exif), False)
    if media_type == "image/png":
        exif, other, metadata, animated = b"", [], False, False
        (width, height) = struct.unpack(">II", data[16:24])
        for kind, body, _start, _end in _png_chunks(data):
            if kind == b"eXIf":
                exif = body
            elif kind in _PNG_METADATA:
                other.append(body)
            elif kind == b"acTL":
                animated = True
            else:
                continue
            metadata = True
        return _Found(width, height, exif, b"".join(other), metadata, animated)
    if media_type == "image/webp":
        exif, other, metadata, animated = b"", [], False, False
        for kind, body, _start, _end in _webp_chunks(data):
            if kind == b"EXIF":
                exif = body
            elif kind == b"XMP ":
                other.append(body)
            animated |= kind == b"ANIM"
            metadata |= kind in _WEBP_METADATA
        return _Found(0, 0, exif, b"".join(other), metadata, animated)
    # GIF: no EXIF, but comments and XMP in application extensions; animated ones are not downscaled.
    blocks = list(_gif_blocks(data))
    other = [data[start:end] for dropped, start, end in blocks if dropped]
    return _Found(0, 0, b"", b"".join(other), bool(other), True)


def _gif_blocks(data: bytes) -> Iterator[tuple[bool, int, int]]:
    """(to be dropped, start, end) of each piece of a GIF: the header with its colour table,
    every extension and image, the trailer; anything after the trailer is dropped."""
    if len(data) < 13:
        raise BadImage("GIF cut short")
    position = 13 + (3 << ((data[10] & 7) + 1) if data[10] & 0x80 else 0)
    yield False, 0, position
    while position < len(data):
        start, kind = position, data[position]
        if kind == 0x3B:  # trailer
            yield False, start, start + 1
            if start + 1 < len(data):
                yield True, start + 1, len(data)
            return
        if kind == 0x21:
            label = data[position + 1]
            position += 2
            first = position
            position = _gif_sub_blocks(data, position)
            identifier = data[first + 1 : first + 12] if label == 0xFF else b""
            yield label == 0xFE or identifier.startswith(b"XMP DataXMP"), start, position
        elif kind == 0x2C:
            packed = data[position + 9]
            position += 10 + (3 << ((packed & 7) + 1) if packed & 0x80 else 0) + 1
            position = _gif_sub_blocks(data, position)
            yield False, start, position
        else:
            raise BadImage("damaged GIF structure")
    raise BadImage("GIF without its trailer")


def _gif_sub_blocks(data: bytes, position: int) -> int:
    while True:
        if position >= len(data):
            raise BadImage("GIF cut short")
        size = data[position]
        position += 1 + size
        if size == 0:
            return position


def _png_chunks(data: bytes) -> Iterator[tuple[bytes, bytes, int, int]]:
    position = len(PNG_SIGNATURE)
    while position + 12 <= len(data):
        (length,) = struct.unpack(">I", data[position : position + 4])
        kind = data[position + 4 : position + 8]
        end = position + 12 + length
        yield kind, data[position + 8 : end - 4], position, end
        if kind == b"IEND":
            return
        position = end


def _webp_chunks(data: bytes) -> Iterator[tuple[bytes, bytes, int, int]]:
    position = 12
    while position + 8 <= len(data):
        kind = data[position : position + 4]
        (length,) = struct.unpack("<I", data[position + 4 : position + 8])
        end = position + 8 + length + (length & 1)
        yield kind, data[position + 8 : position + 8 + length], position, end
        position = end


def _orientation(exif: bytes) -> int:
    if not exif:
        return 1
    from PIL import Image

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # Pillow warns of damaged EXIF: it is dropped anyway
            tags = Image.Exif()
            tags.load(exif)
            value = tags.get(0x0112, 1)
    except Exception:  # a damaged EXIF block: nothing to turn by
        return 1
    return value if isinstance(value, int) and 1 <= value <= 8 else 1


def clean_image(
    data: bytes, media_type: str, keep_metadata: bool = False, max_pixels: int | None = READER_PIXELS
) -> Cleaned:
    """The image without EXIF, XMP, IPTC, comments or PNG text (GPS position, camera, owner,
    dates), turned upright by its EXIF orientation first; above `max_pixels`, downscaled.

    Without any of these the bytes are returned untouched. Metadata alone is removed without
    re-encoding (segments and chunks are dropped, the pixels' bytes stay as they were); turning or
    downscaling re-encodes (JPEG at quality 92, keeping the ICC colour profile). Deterministic."""
    try:
        found = _find(data, media_type)
    except (BadImage, struct.error, IndexError) as error:
        raise BadImage(f"damaged ({error})") from error
    orientation = 1 if keep_metadata else _orientation(found.exif)
    if media_type == "image/webp" and max_pixels is not None and not found.animated:
        info = check_image(data)
        found = found._replace(width=info.width, height=info.height)
    too_large = max_pixels is not None and not found.animated and found.width * found.height > max_pixels
    notes = []
    if found.metadata and not keep_metadata:
        notes.append(f"removed its metadata{_what(found)}")
    if orientation != 1 or too_large:
        if orientation != 1:
            notes.append("turned upright by its EXIF orientation")
        return _reencoded(data, media_type, orientation, keep_metadata, max_pixels if too_large else None, tuple(notes))
    if not found.metadata or keep_metadata:
        return Cleaned(data, found.width, found.height, ())
    return Cleaned(_stripped(data, media_type), found.width, found.height, tuple(notes))


def _what(found: _Found) -> str:
    carried = private_data(found)
    return f" ({', '.join(carried)})" if carried else ""


def _stripped(data: bytes, media_type: str) -> bytes:
    if media_type == "image/jpeg":
        segments, scan, _width, _height = _jpeg_segments(data)
        kept = [
            segment
            for marker, segment in segments
            if not (0xE1 <= marker <= 0xEF or marker == 0xFE)
            or marker in _JPEG_KEPT
            and (marker != 0xE2 or segment[4:].startswith(b"ICC_PROFILE\x00"))
        ]
        return b"\xff\xd8" + b"".join(kept) + data[scan : _scan_end(data, scan)]
    if media_type == "image/png":
        pieces = [PNG_SIGNATURE]
        pieces += [data[start:end] for kind, _body, start, end in _png_chunks(data) if kind not in _PNG_METADATA]
        return b"".join(pieces)
    if media_type == "image/gif":
        return b"".join(data[start:end] for dropped, start, end in _gif_blocks(data) if not dropped)
    # WebP: drop the chunks, clear their flags in the VP8X header, and give the RIFF its new size.
    pieces = []
    for kind, _body, start, end in _webp_chunks(data):
        if kind in _WEBP_METADATA:
            continue
        chunk = data[start:end]
        if kind == b"VP8X":
            chunk = chunk[:8] + bytes([chunk[8] & ~0x0C]) + chunk[9:]
        pieces.append(chunk)
    body = b"WEBP" + b"".join(pieces)
    return b"RIFF" + struct.pack("<I", len(body)) + body


def _reencoded(
    data: bytes, media_type: str, orientation: int, keep_metadata: bool, max_pixels: int | None, notes: tuple[str, ...]
) -> Cleaned:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # damaged EXIF (dropped anyway), or Pillow's own notices
        try:
            return _reencoded_quietly(data, media_type, orientation, keep_metadata, max_pixels, notes)
        except (OSError, ValueError, SyntaxError, struct.error) as error:
            raise BadImage(f"cannot be re-encoded ({error})") from error


def _reencoded_quietly(
    data: bytes, media_type: str, orientation: int, keep_metadata: bool, max_pixels: int | None, notes: tuple[str, ...]
) -> Cleaned:
    from PIL import Image

    image = decoded_image(data)
    try:
        icc = image.info.get("icc_profile")
        exif = image.info.get("exif") if keep_metadata else None
        # As ImageOps.exif_transpose, which also rewrites the EXIF it is about to lose (and fails on a damaged one).
        turns = {
            2: Image.Transpose.FLIP_LEFT_RIGHT,
            3: Image.Transpose.ROTATE_180,
            4: Image.Transpose.FLIP_TOP_BOTTOM,
            5: Image.Transpose.TRANSPOSE,
            6: Image.Transpose.ROTATE_270,
            7: Image.Transpose.TRANSVERSE,
            8: Image.Transpose.ROTATE_90,
        }
        upright = image.transpose(turns[orientation]) if orientation in turns else image
        if max_pixels is not None and upright.width * upright.height > max_pixels:
            scale = (max_pixels / (upright.width * upright.height)) ** 0.5
            size = (max(1, int(upright.width * scale)), max(1, int(upright.height * scale)))
            notes += (f"downscaled from {upright.width} x {upright.height} to {size[0]} x {size[1]} pixels",)
            upright = upright.resize(size, Image.Resampling.LANCZOS)
        options: dict[str, object] = {"icc_profile": icc} if icc else {}
        if exif:
            options["exif"] = exif
        buffer = io.BytesIO()
        if media_type == "image/jpeg":
            if upright.mode not in ("RGB", "L", "CMYK"):
                upright = upright.convert("RGB")
            upright.save(buffer, "JPEG", quality=92, **options)
        elif media_type == "image/webp":
            upright.save(buffer, "WEBP", quality=90, **options)
        else:
            upright.save(buffer, "PNG", **options)
        return Cleaned(buffer.getvalue(), upright.width, upright.height, notes)
    finally:
        image.close()


def private_data(found: _Found) -> list[str]:
    """What of a person an image's metadata gives away: where, on what device, whose."""
    carried = []
    location = device = owner = False
    if found.exif:
        from PIL import Image

        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                tags = Image.Exif()
                tags.load(found.exif)
                location = bool(tags.get_ifd(0x8825))
                device = any(tags.get(tag) for tag in (0x010F, 0x0110))
                owner = bool(tags.get(0x013B))
                details = tags.get_ifd(0x8769)
                device |= bool(details.get(0xA431) or details.get(0xA434))
                owner |= bool(details.get(0xA430))
        except Exception:  # a damaged EXIF block: its name alone says nothing
            pass
    location |= any(name in found.other for name in _XMP_LOCATION)
    device |= any(name in found.other for name in _XMP_DEVICE)
    if location:
        carried.append("GPS position")
    if device:
        carried.append("device make and model")
    if owner:
        carried.append("owner's name")
    return carried


def image_private_data(data: bytes) -> list[str]:
    """For `handbill check`: the location, device or owner an image's metadata gives away."""
    kind = image_type(data)
    if kind is None:
        return []
    try:
        return private_data(_find(data, kind[0]))
    except (BadImage, struct.error, IndexError):
        return []

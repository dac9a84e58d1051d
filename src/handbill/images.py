"""Images are decoded whole before they go into a book, within a pixel limit.

A file that starts like a PNG or a GIF and then holds junk, a JPEG cut short or a PNG with a
damaged chunk shows as a broken picture (or stops a reader), so a signature is not enough.
A plain PNG (not interlaced, not animated: handbill's own covers, most screenshots) is checked
without Pillow, which takes 40 ms to load: every chunk's CRC, and its pixel data inflates to
exactly the size the header promises. Everything else is decoded by Pillow, every frame.
"""

from __future__ import annotations

import io
import struct
import warnings
import zlib
from collections.abc import Iterator
from typing import TYPE_CHECKING, NamedTuple

from .names import PNG_SIGNATURE, image_type

if TYPE_CHECKING:
    from PIL import Image

MAX_IMAGE_PIXELS = 40_000_000
"""The most pixels an image may have (all frames of an animation together): a 40-megapixel
photo decodes to 120 MB. Larger images are left out (a cover: an error); the size is read from
the header, before anything is decoded."""

_PILLOW_FORMATS = {"image/png": ("PNG",), "image/jpeg": ("JPEG", "MPO"), "image/gif": ("GIF",), "image/webp": ("WEBP",)}
# Bits per pixel of each PNG colour type at each allowed bit depth.
_PNG_CHANNELS = {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}
_PNG_DEPTHS = {0: (1, 2, 4, 8, 16), 2: (8, 16), 3: (1, 2, 4, 8), 4: (8, 16), 6: (8, 16)}
_INFLATE_STEP = 1 << 16  # small steps stay in the cache: 6 ms for a 1600 x 2400 cover, not 10


class BadImage(ValueError):
    """An image that cannot go into a book; the message says why."""


class ImageInfo(NamedTuple):
    media_type: str
    extension: str
    width: int
    height: int


class PngInfo(NamedTuple):
    """What the Pillow-free check learnt of a plain PNG."""

    width: int
    height: int
    depth: int
    colour: int
    transparency: bool


def check_image(data: bytes) -> ImageInfo:
    """Type and size of an image that decodes whole within MAX_IMAGE_PIXELS; else BadImage."""
    kind = image_type(data)
    if kind is None:
        raise BadImage("not a PNG, JPEG, GIF or WebP image")
    if kind[0] == "image/png":
        png = plain_png(data)
        if png is not None:
            return ImageInfo(*kind, png.width, png.height)
    image = decoded_image(data)
    try:
        return ImageInfo(*kind, *image.size)
    finally:
        image.close()


def decoded_image(data: bytes) -> Image.Image:
    """The image opened by Pillow, every frame decoded once (the first is loaded on return)."""
    from PIL import Image, UnidentifiedImageError

    kind = image_type(data)
    formats = _PILLOW_FORMATS.get(kind[0], ()) if kind else ()
    if not formats:
        raise BadImage("not a PNG, JPEG, GIF or WebP image")
    try:
        with warnings.catch_warnings():
            # Pillow warns of (and refuses) huge images by its own process-wide limit; ours is lower.
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data), formats=list(formats))
            try:
                _decode_frames(image)
            except BaseException:
                image.close()
                raise
    except Image.DecompressionBombError as error:
        raise BadImage(f"too large: more than {MAX_IMAGE_PIXELS:,} pixels") from error
    except BadImage:
        raise
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, EOFError, struct.error) as error:
        raise BadImage(f"damaged or cut short ({_reason(error)})") from error
    return image


def _decode_frames(image: Image.Image) -> None:
    pixels, frame = 0, 0
    while True:
        pixels += image.width * image.height
        if pixels > MAX_IMAGE_PIXELS:
            raise BadImage(f"too large: {image.width} x {image.height} pixels, more than {MAX_IMAGE_PIXELS:,}")
        image.load()
        frame += 1
        if frame >= getattr(image, "n_frames", 1):
            break
        image.seek(frame)
    if frame > 1:
        image.seek(0)
        image.load()


def _reason(error: BaseException) -> str:
    text = " ".join(str(error).split())[:80]
    return text or type(error).__name__


def plain_png(data: bytes) -> PngInfo | None:
    """A non-interlaced, still PNG checked whole without Pillow: every chunk present with its CRC,
    the pixel data inflating to exactly the size the header gives, each row's filter valid.

    None when the PNG is interlaced or animated (Pillow must decode it); BadImage when damaged."""
    if not data.startswith(PNG_SIGNATURE):
        raise BadImage("not a PNG image")
    position = len(PNG_SIGNATURE)
    header: PngInfo | None = None
    inflater: _RowsInflater | None = None
    transparency = idat_done = palette = False
    while True:
        if position + 12 > len(data):
            raise BadImage("cut short (no IEND chunk)")
        (length,) = struct.unpack(">I", data[position : position + 4])
        kind = data[position + 4 : position + 8]
        end = position + 12 + length
        if length > 0x7FFFFFFF or end > len(data):
            raise BadImage(f"cut short inside a {kind.decode('latin-1')!r} chunk")
        body = data[position + 8 : end - 4]
        if struct.unpack(">I", data[end - 4 : end])[0] != zlib.crc32(kind + body):
            raise BadImage(f"damaged {kind.decode('latin-1')!r} chunk (CRC)")
        if header is None:
            header = _png_header(kind, body)
            if header is None:
                return None  # interlaced: Pillow decodes it
            inflater = _RowsInflater(header)
            position = end
            continue
        assert inflater is not None  # made from the header, the first chunk
        if kind == b"IDAT":
            if idat_done:
                raise BadImage("pixel data in pieces apart")
            inflater.feed(body)
        elif kind == b"IEND":
            break
        else:
            if inflater.started:
                idat_done = True
            if kind == b"acTL":
                return None  # animated: Pillow decodes each frame
            if kind == b"tRNS":
                transparency = True
            if kind == b"PLTE":
                palette = True
            elif kind[0] & 0x20 == 0 and kind != b"IHDR":
                raise BadImage(f"unknown critical chunk {kind.decode('latin-1')!r}")
        position = end
    if header is None or inflater is None:
        raise BadImage("no IHDR chunk")
    if header.colour == 3 and not palette:
        raise BadImage("palette image without a palette")
    inflater.finish()
    return header._replace(transparency=transparency)


def _png_header(kind: bytes, body: bytes) -> PngInfo | None:
    if kind != b"IHDR" or len(body) != 13:
        raise BadImage("does not start with its IHDR chunk")
    width, height, depth, colour, compression, filtering, interlace = struct.unpack(">IIBBBBB", body)
    if not (0 < width < 2**31 and 0 < height < 2**31) or colour not in _PNG_DEPTHS:
        raise BadImage("impossible size or colour type in its header")
    if depth not in _PNG_DEPTHS[colour] or compression or filtering or interlace > 1:
        raise BadImage("impossible bit depth or method in its header")
    if width * height > MAX_IMAGE_PIXELS:
        raise BadImage(f"too large: {width} x {height} pixels, more than {MAX_IMAGE_PIXELS:,}")
    if interlace:
        return None
    return PngInfo(width, height, depth, colour, False)


class _RowsInflater:
    """Inflates IDAT data as it comes, keeping nothing but a count and each row's filter byte."""

    def __init__(self, header: PngInfo):
        self.stride = 1 + (header.width * _PNG_CHANNELS[header.colour] * header.depth + 7) // 8
        self.expected = self.stride * header.height
        self.inflated = 0
        self.started = False
        self.decompressor = zlib.decompressobj()

    def feed(self, chunk: bytes) -> None:
        self.started = True
        if self.decompressor.eof:
            if chunk:
                raise BadImage("data after the end of its pixel data")
            return
        try:
            while True:
                rows = self.decompressor.decompress(chunk, _INFLATE_STEP)
                self._count(rows)
                chunk = self.decompressor.unconsumed_tail
                if self.decompressor.eof:
                    if chunk or self.decompressor.unused_data:
                        raise BadImage("data after the end of its pixel data")
                    break
                if not chunk and len(rows) < _INFLATE_STEP:
                    break  # all input taken and no output left waiting
        except zlib.error as error:
            raise BadImage(f"damaged pixel data ({error})") from error

    def _count(self, rows: bytes) -> None:
        first = -self.inflated % self.stride
        if rows[first :: self.stride].translate(None, b"\x00\x01\x02\x03\x04"):
            raise BadImage("damaged pixel data (a row with an unknown filter)")
        self.inflated += len(rows)
        if self.inflated > self.expected:
            raise BadImage("more pixel data than its size")

    def finish(self) -> None:
        if not self.started:
            raise BadImage("no pixel data")
        if not self.decompressor.eof or self.inflated != self.expected:
            raise BadImage("cut short (less pixel data than its size)")


# Safe photos: what goes into a book carries no location, device or owner.

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
    return _Found(0, 0, b"", b"", False, True)  # GIF: no EXIF; not rewritten


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
    except (BadImage, struct.error) as error:
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
        return _reencoded(data, media_type, keep_metadata, max_pixels if too_large else None, tuple(notes))
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
    data: bytes, media_type: str, keep_metadata: bool, max_pixels: int | None, notes: tuple[str, ...]
) -> Cleaned:
    from PIL import Image, ImageOps

    image = decoded_image(data)
    try:
        icc = image.info.get("icc_profile")
        exif = image.info.get("exif") if keep_metadata else None
        upright = image if keep_metadata else ImageOps.exif_transpose(image)
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
    except (BadImage, struct.error):
        return []

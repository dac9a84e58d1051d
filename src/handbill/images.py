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
from typing import TYPE_CHECKING, NamedTuple

from .names import PNG_SIGNATURE, image_type

if TYPE_CHECKING:
    from PIL import Image

MAX_IMAGE_PIXELS = 40_000_000
"""The most pixels an image may have (all frames of an animation together): a 40-megapixel
photo decodes to 120 MB. Larger images are left out (a cover: an error); the size is read from
the header, before anything is decoded."""

# JPEG's reader opens MPO files (phones' multi-picture JPEGs) itself. "MPO" is not a format Pillow
# registers for opening (13: never; earlier: only once every plugin is loaded), so naming it made
# Image.open raise KeyError('MPO') for every JPEG the JPEG reader refused as damaged.
_PILLOW_FORMATS = {"image/png": ("PNG",), "image/jpeg": ("JPEG",), "image/gif": ("GIF",), "image/webp": ("WEBP",)}
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
    transparent: bool = False
    """Whether it has an alpha channel or a transparent colour (it may vanish on a dark page)."""


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
            return ImageInfo(*kind, png.width, png.height, png.transparency or png.colour in (4, 6))
    image = decoded_image(data)
    try:
        transparent = any(band in ("A", "a") for band in image.getbands()) or "transparency" in image.info
        return ImageInfo(*kind, *image.size, transparent)
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
            # It also warns of damaged EXIF on standard error ("Tag data larger than file"), lines
            # the user cannot act on: the image is judged by whether it decodes.
            warnings.simplefilter("ignore")
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

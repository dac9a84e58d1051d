"""The book's files besides its text: images read from the sources, stylesheets, the cover.

In: `Part`s whose `<img>` name files beside their source, and the `BookConfig`. Out: `Resource`s
for each image read once (from inside the book only, checked, under a safe name; the alt text
kept where it cannot be), the stylesheets (styles.py) and the `CoverImage` (cover.py, loaded lazily).
"""

from __future__ import annotations

import logging
import re
from pathlib import Path
from urllib.parse import unquote, urlsplit

from .. import xhtml
from ..config import BookConfig
from ..errors import SourceError
from ..images import BadImage, check_image
from ..model import CoverImage, Resource
from ..names import slugify
from ..sources import book_file_bytes, is_book_file
from ..styles import stylesheet_files
from .split import Part, iter_tag

log = logging.getLogger(__name__)


class ImageStore:
    """Reads each referenced image once, from inside the book only, under a safe name."""

    def __init__(self, config: BookConfig):
        self.config = config
        self.by_path: dict[Path, Resource | None] = {}
        self.resources: list[Resource] = []

    def embed(self, part: Part) -> None:
        source = part.piece.rendered.source
        for image in list(iter_tag(part.blocks, "img")):
            resource = self._resource(image.get("src", ""), source.path)
            if resource is None:
                xhtml.drop_keep_tail(image, keep_text=image.get("alt", ""))
                continue
            image.set("src", resource.file_name)

    def _resource(self, src: str, source_path: Path) -> Resource | None:
        parts = urlsplit(src.strip())
        if parts.scheme or parts.netloc:
            log.warning(
                "%s: image %r is not inside the book; remote images are not fetched, its alt text is kept",
                source_path,
                src[:80],
            )
            return None
        relative = unquote(parts.path)
        if not relative or relative.startswith("/") or re.match(r"^[A-Za-z]:", relative):
            log.warning("%s: image %r has an absolute path; left out", source_path, src[:80])
            return None
        path = (source_path.parent / relative).resolve()
        if path in self.by_path:
            return self.by_path[path]
        resource = self._read(path, src, source_path)
        self.by_path[path] = resource
        return resource

    def _read(self, path: Path, src: str, source_path: Path) -> Resource | None:
        if not self.config.may_embed(path):
            log.warning("%s: image %r is outside the book folder; left out", source_path, src[:80])
            return None
        if not is_book_file(self.config, path):
            log.warning("%s: image %r does not exist; its alt text is kept", source_path, src[:80])
            return None
        try:
            data = book_file_bytes(self.config, path, what="an image may be")
        except SourceError as error:
            log.warning("%s: image %r is left out, its alt text kept: it %s", source_path, src[:80], error.detail)
            return None
        try:
            kind = check_image(data)
        except BadImage as error:
            log.warning("%s: image %r is left out, its alt text kept: %s", source_path, src[:80], error)
            return None
        number = len(self.resources) + 1
        stem = slugify(path.stem, limit=40) or "image"
        resource = Resource(
            f"images/{number:03d}-{stem}.{kind.extension}", kind.media_type, data, f"image-{number:03d}"
        )
        self.resources.append(resource)
        return resource


def stylesheet_resources(config: BookConfig) -> list[Resource]:
    return [Resource(*entry) for entry in stylesheet_files(config)]


def book_cover(config: BookConfig, title: str, authors: tuple[str, ...]) -> CoverImage:
    from ..cover import draw_cover, load_cover  # Pillow is loaded once the text is done with

    if config.cover is not None:
        return load_cover(config.cover)
    return draw_cover(title, authors, _display_date(config.date), config.subtitle)


def _display_date(date: str | None) -> str | None:
    if not date:
        return None
    months = ("January February March April May June July August September October November December").split()
    pieces = date.split("-")
    if len(pieces) == 3:
        return f"{int(pieces[2])} {months[int(pieces[1]) - 1]} {pieces[0]}"
    if len(pieces) == 2:
        return f"{months[int(pieces[1]) - 1]} {pieces[0]}"
    return pieces[0]


def stylesheet_hrefs(stylesheets: list[Resource]) -> list[str]:
    return [sheet.file_name for sheet in stylesheets if sheet.media_type == "text/css"]

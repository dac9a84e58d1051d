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

from lxml import html

from .. import xhtml
from ..config import BookConfig
from ..errors import SourceError
from ..images import BadImage, ImageInfo, check_image
from ..languages import display_date
from ..model import ContentDocument, CoverImage, Resource
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
        self.transparent: set[str] = set()
        """File names of the images with transparency: they get a light backing (class transparent)."""

    def embed(self, part: Part) -> None:
        source = part.piece.rendered.source
        for image in list(iter_tag(part.blocks, "img")):
            resource = self._resource(image.get("src", ""), source.path)
            if resource is None:
                xhtml.drop_keep_tail(image, keep_text=image.get("alt", ""))
                continue
            image.set("src", resource.file_name)
            if resource.file_name in self.transparent:
                _add_class(image, "transparent")
            _mark_image_paragraph(image)
            _make_figure(image)

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
        from ..svgimage import clean_svg, looks_like_svg  # only for books with images

        try:
            if looks_like_svg(data, path.name):
                # Drawn on a transparent ground, like most SVGs: a light backing in night mode.
                data, kind = clean_svg(data), ImageInfo("image/svg+xml", "svg", 0, 0, transparent=True)
            else:
                kind = check_image(data)
                data = _safe(data, kind.media_type, self.config, path)
        except BadImage as error:
            log.warning("%s: image %r is left out, its alt text kept: %s", source_path, src[:80], error)
            return None
        number = len(self.resources) + 1
        stem = slugify(path.stem, limit=40) or "image"
        resource = Resource(
            f"images/{number:03d}-{stem}.{kind.extension}", kind.media_type, data, f"image-{number:03d}"
        )
        self.resources.append(resource)
        if kind.transparent:
            self.transparent.add(resource.file_name)
        return resource


class FontEmbedding:
    """`fonts` in book.toml: the characters of every document, then a subset of a font for each
    script that needs one, and the stylesheet that uses them (`styles/fonts.css`, linked from
    every document from the start: whether it is needed is known before the text is read)."""

    FILE_NAME = "styles/fonts.css"

    def __init__(self, config: BookConfig, stylesheets: list[Resource]):
        from ..fonts import embeds_fonts

        self.config = config
        self.characters: set[str] | None = None
        if embeds_fonts(config.fonts, config.language):
            self.characters = set(config.title or "")
            # After handbill's own stylesheet, before the book's: a book's CSS may still override it.
            stylesheets.insert(1, Resource(self.FILE_NAME, "text/css", b"", "style-fonts"))

    def read(self, document: ContentDocument) -> None:
        if self.characters is not None:
            self.characters.update(document.data.decode("utf-8"))

    def resources(self, stylesheets: list[Resource], landmarks: list[tuple[str, str, str]]) -> list[Resource]:
        """The stylesheets, the font stylesheet filled in, and the fonts. The landmarks' labels are
        in the navigation document, which is written after this: their letters are in the fonts."""
        if self.characters is None:
            return stylesheets
        self.characters.update("".join(label for *_, label in landmarks))
        from ..fonts import font_face_css, fonts_to_embed

        fonts = fonts_to_embed(self.characters, self.config.fonts, self.config.language)
        css = Resource(self.FILE_NAME, "text/css", font_face_css(fonts).encode("utf-8"), "style-fonts")
        embedded = [
            Resource(font.file_name, font.media_type, font.data, f"font-{number:02d}")
            for number, font in enumerate(fonts, start=1)
        ]
        return [css if sheet.file_name == self.FILE_NAME else sheet for sheet in stylesheets] + embedded


class FeatureStyles:
    """`styles/features.css`: highlighted code and aligned table columns, in the book only when a
    document has them, and linked only from those documents (right after handbill's stylesheet,
    so the book's own stylesheets still override it)."""

    FILE_NAME = "styles/features.css"
    ALIGNMENT = (
        "/* Table columns aligned in Markdown (|:--|:-:|--:|), as the writer drew them. */\n"
        "th.align-left, td.align-left { text-align: left; }\n"
        "th.align-center, td.align-center { text-align: center; }\n"
        "th.align-right, td.align-right { text-align: right; }\n"
    )

    def __init__(self) -> None:
        self.used = False

    def stylesheets(self, part: Part, stylesheets: list[Resource]) -> list[Resource]:
        if not part.piece.rendered.styled:
            return stylesheets
        self.used = True
        return [stylesheets[0], Resource(self.FILE_NAME, "text/css", b"", "style-features"), *stylesheets[1:]]

    def resources(self) -> list[Resource]:
        if not self.used:
            return []
        from ..render.code import CODE_CSS

        css = (self.ALIGNMENT + CODE_CSS).encode("utf-8")
        return [Resource(self.FILE_NAME, "text/css", css, "style-features")]


def _mark_image_paragraph(image: html.HtmlElement) -> None:
    """A paragraph that holds nothing but images (each maybe a link) is class `image`: the
    stylesheet gives it no indent, which would push the image out of the text column."""
    holder = image.getparent()
    if holder is not None and holder.tag == "a":
        holder = holder.getparent()
    if holder is None or holder.tag != "p" or not all(_only_images(child) for child in holder):
        return
    if not (holder.text or "").strip():
        _add_class(holder, "image")


def _make_figure(image: html.HtmlElement) -> None:
    """An image alone in its paragraph (maybe in a link) is a figure, captioned with its title, or
    else its alt text. A caption that repeats the alt text is hidden from screen readers (as
    pandoc does): they read the alt text, and would read it twice."""
    holder = image.getparent()
    if holder is not None and holder.tag == "a":
        holder = holder.getparent()
    if holder is None or holder.tag != "p" or "image" not in (holder.get("class") or "").split():
        return
    if len(list(iter_tag([holder], "img"))) != 1:
        return
    alt = " ".join((image.get("alt") or "").split())
    title = " ".join((image.attrib.pop("title", None) or "").split())
    caption_text = title or alt
    if not caption_text:
        return
    from ..render.typography import _smarten_text

    holder.tag = "figure"
    classes = [name for name in (holder.get("class") or "").split() if name != "image"]
    if classes:
        holder.set("class", " ".join(classes))
    else:
        holder.attrib.pop("class", None)
    caption = html.Element("figcaption")
    caption.text = _smarten_text(caption_text, " ")
    if caption_text == alt:
        caption.set("aria-hidden", "true")
    holder.append(caption)


def _only_images(element: html.HtmlElement) -> bool:
    """An image, or a link around images only, with no text beside them."""
    if (element.tail or "").strip():
        return False
    if element.tag == "img":
        return True
    return (
        element.tag == "a"
        and len(element) > 0
        and not (element.text or "").strip()
        and all(child.tag == "img" and not (child.tail or "").strip() for child in element)
    )


def _add_class(element: html.HtmlElement, name: str) -> None:
    classes = (element.get("class") or "").split()
    if name not in classes:
        element.set("class", " ".join([*classes, name]))


def stylesheet_resources(config: BookConfig) -> list[Resource]:
    sheets = []
    for name, media_type, data, item_id in stylesheet_files(config):
        if media_type.startswith("image/"):
            try:
                data = _safe(data, media_type, config, Path(name))
            except BadImage as error:  # decoded whole already: cannot happen, but never a traceback
                log.warning("%s: image left as it is: %s", name, error)
        sheets.append(Resource(name, media_type, data, item_id))
    if config.writing_mode == "vertical-rl":
        # Generated only for the books that ask for it, right after handbill's own stylesheet.
        sheets.insert(1, Resource("styles/vertical.css", "text/css", VERTICAL_CSS, "style-vertical"))
    return sheets


VERTICAL_CSS = (
    b"/* handbill: this book is set top to bottom, its lines from right to left (writing_mode). */\n"
    b"html {\n  -epub-writing-mode: vertical-rl;\n  -webkit-writing-mode: vertical-rl;\n"
    b"  writing-mode: vertical-rl;\n}\n"
)


def _safe(data: bytes, media_type: str, config: BookConfig, path: Path) -> bytes:
    """The image without location, device or owner data (unless `keep_image_metadata`), upright,
    and no larger than a reader shows (photos.READER_PIXELS)."""
    from ..photos import READER_PIXELS, clean_image  # loaded only for books that have images

    cleaned = clean_image(data, media_type, config.keep_image_metadata, READER_PIXELS)
    for note in cleaned.notes:
        if note.startswith("downscaled"):
            log.warning("%s: image %s", path, note)
        else:
            log.info("%s: image %s", path, note)
    return cleaned.data


def book_cover(config: BookConfig, title: str, authors: tuple[str, ...]) -> CoverImage:
    from ..cover import draw_cover, load_cover  # Pillow is loaded once the text is done with

    if config.cover is not None:
        from ..photos import clean_image

        cover = load_cover(config.cover)
        try:
            cleaned = clean_image(cover.data, cover.media_type, config.keep_image_metadata, None)
        except BadImage:  # decoded whole by load_cover: cannot happen, but never a traceback
            return cover
        for note in cleaned.notes:
            log.info("%s: cover %s", config.cover, note)
        if cleaned.data is cover.data:
            return cover
        return cover._replace(data=cleaned.data, width=cleaned.width, height=cleaned.height)
    return draw_cover(title, authors, display_date(config.date, config.language), config.subtitle, config.language)


def stylesheet_hrefs(stylesheets: list[Resource]) -> list[str]:
    return [sheet.file_name for sheet in stylesheets if sheet.media_type == "text/css"]

"""OpenDocument text (.odt), read with lxml from content.xml, styles.xml and meta.xml.

No maintained library reads ODF text into structure (odfpy builds documents; its text
extraction drops formatting), and the format is plain XML: headings are text:h with an
outline level, bold and italic come from the paragraph's and the span's styles (automatic
ones in content.xml, named ones in styles.xml, each with its parent chain), lists are
text:list with a list style that says numbered or bulleted per level, images are draw:image
pointing into Pictures/, links are text:a, notes are text:note."""

from __future__ import annotations

import re
from dataclasses import dataclass

from .model import Block, Document, Image, Metadata, Repairs
from .office import (
    LINE_BREAK,
    ImageNamer,
    Package,
    Run,
    creation_date_unless_byline,
    image_markdown,
    inline,
    list_markdown,
    parse_xml,
    place_notes,
    table_markdown,
    text_block,
)

OFFICE = "{urn:oasis:names:tc:opendocument:xmlns:office:1.0}"
TEXT = "{urn:oasis:names:tc:opendocument:xmlns:text:1.0}"
STYLE = "{urn:oasis:names:tc:opendocument:xmlns:style:1.0}"
TABLE = "{urn:oasis:names:tc:opendocument:xmlns:table:1.0}"
DRAW = "{urn:oasis:names:tc:opendocument:xmlns:drawing:1.0}"
FO = "{urn:oasis:names:tc:opendocument:xmlns:xsl-fo-compatible:1.0}"
SVG = "{urn:oasis:names:tc:opendocument:xmlns:svg-compatible:1.0}"
XLINK = "{http://www.w3.org/1999/xlink}"
META = "{urn:oasis:names:tc:opendocument:xmlns:meta:1.0}"
DC = "{http://purl.org/dc/elements/1.1/}"
MANIFEST = "{urn:oasis:names:tc:opendocument:xmlns:manifest:1.0}"

_FIX = "open it in LibreOffice and save it again as OpenDocument Text (.odt)"
_LANGUAGE = re.compile(r"^[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8})*$")
_TEXT_TYPES = (
    "application/vnd.oasis.opendocument.text",
    "application/vnd.oasis.opendocument.text-template",
    "application/vnd.oasis.opendocument.text-master",
)
_MAX_REPEAT = 64  # a cell repeated across the columns of a sheet-like table
# Elements whose content is not text of the document: declarations, generated indexes,
# deleted text kept for change tracking, comments, form controls.
_SKIPPED = {
    f"{TEXT}sequence-decls",
    f"{TEXT}variable-decls",
    f"{TEXT}user-field-decls",
    f"{TEXT}dde-connection-decls",
    f"{TEXT}tracked-changes",
    f"{OFFICE}forms",
    f"{OFFICE}annotation",
    f"{OFFICE}annotation-end",
    f"{TEXT}note-citation",
    f"{TABLE}table-columns",
    f"{TABLE}table-column",
    f"{TABLE}table-column-group",
    f"{TEXT}soft-page-break",
    f"{SVG}title",
    f"{SVG}desc",
}
_INDEXES = {
    f"{TEXT}table-of-content",
    f"{TEXT}illustration-index",
    f"{TEXT}table-index",
    f"{TEXT}object-index",
    f"{TEXT}user-index",
    f"{TEXT}alphabetical-index",
    f"{TEXT}bibliography",
}


def read(data: bytes, source: str, repairs: Repairs) -> Document:
    package = Package(data, source, "an OpenDocument text (.odt)", _FIX)
    _check_kind(package)
    content = parse_xml(package.read("content.xml", required=True) or b"", package, "content.xml")
    styles_data = package.read("styles.xml")
    styles = parse_xml(styles_data, package, "styles.xml") if styles_data else None
    body = content.find(f"{OFFICE}body/{OFFICE}text")
    if body is None:
        raise package.damaged("content.xml holds no text body (it may be a spreadsheet or a drawing)")
    reader = _Reader(package, _Styles(content, styles), repairs)
    reader.container(body)
    blocks = place_notes(reader.blocks, reader.notes)
    metadata, created = _metadata(package, styles)
    metadata.date = creation_date_unless_byline(metadata.date, blocks, created, "meta.xml", repairs)
    return Document(
        source=source,
        blocks=blocks,
        metadata=metadata,
        images=[Image(name, image_data) for name, image_data in reader.namer.images],
        repairs=repairs,
    )


def _check_kind(package: Package) -> None:
    if package.has("word/document.xml"):
        raise package.error("is a Word document, not an OpenDocument text; rename it to .docx")
    manifest = package.read("META-INF/manifest.xml")
    if manifest:
        root = parse_xml(manifest, package, "META-INF/manifest.xml")
        if root.find(f".//{MANIFEST}encryption-data") is not None or root.find(f".//{MANIFEST}keyinfo") is not None:
            raise package.error(
                "is encrypted (password-protected); save it without a password as OpenDocument Text (.odt)"
            )
    mimetype = (package.read("mimetype") or b"").strip().decode("ascii", "replace")
    if mimetype and mimetype not in _TEXT_TYPES:
        raise package.error(f"is not an OpenDocument text but {mimetype}; {_FIX}")


@dataclass
class _Style:
    parent: str = ""
    bold: bool | None = None
    italic: bool | None = None
    outline: int = 0
    display: str = ""
    automatic: bool = False  # a variation of a named style, written by the program for one paragraph


class _Styles:
    """Paragraph and text styles by (family, name), automatic ones first, each with its parent chain."""

    def __init__(self, content, styles):  # type: ignore[no-untyped-def]
        self.table: dict[tuple[str, str], _Style] = {}
        self.lists: dict[str, dict[int, bool]] = {}  # list style -> level -> numbered
        roots = [styles] if styles is not None else []
        for root in [content, *roots]:
            for holder in (f"{OFFICE}automatic-styles", f"{OFFICE}styles"):
                for group in root.iterfind(holder):
                    self._read(group, holder.endswith("automatic-styles"))

    def _read(self, group, automatic: bool) -> None:  # type: ignore[no-untyped-def]
        for style in group.iterfind(f"{STYLE}style"):
            key = (style.get(f"{STYLE}family") or "", style.get(f"{STYLE}name") or "")
            if key in self.table:
                continue
            properties = style.find(f"{STYLE}text-properties")
            weight = properties.get(f"{FO}font-weight") if properties is not None else None
            posture = properties.get(f"{FO}font-style") if properties is not None else None
            self.table[key] = _Style(
                parent=style.get(f"{STYLE}parent-style-name") or "",
                bold=None if weight is None else (weight == "bold" or (weight.isdigit() and int(weight) >= 600)),
                italic=None if posture is None else posture in ("italic", "oblique"),
                outline=_int(style.get(f"{STYLE}default-outline-level")),
                display=style.get(f"{STYLE}display-name") or style.get(f"{STYLE}name") or "",
                automatic=automatic,
            )
        for list_style in group.iterfind(f"{TEXT}list-style"):
            name = list_style.get(f"{STYLE}name") or ""
            levels = self.lists.setdefault(name, {})
            for level in list_style:
                number = _int(level.get(f"{TEXT}level"))
                if number:
                    levels.setdefault(number, level.tag == f"{TEXT}list-level-style-number")

    def get(self, family: str, name: str, attribute: str):  # type: ignore[no-untyped-def]
        seen: set[str] = set()
        while name and name not in seen:
            seen.add(name)
            style = self.table.get((family, name))
            if style is None:
                return None
            value = getattr(style, attribute)
            if value not in (None, 0, ""):
                return value
            name = style.parent
        return None

    def named(self, name: str) -> _Style | None:
        """The named style a paragraph's style is, or is an automatic variation of: what an editor
        chose. Its own parents do not count (LibreOffice bases "Author" on "Title")."""
        seen: set[str] = set()
        style = self.table.get(("paragraph", name))
        while style is not None and style.automatic and style.parent not in seen:
            seen.add(style.parent)
            style = self.table.get(("paragraph", style.parent))
        return style

    def heading_level(self, name: str) -> int:
        """The heading level that a text:p's style gives it: a named style with an outline level,
        or the named style "Title"."""
        style = self.named(name)
        if style is None:  # a style used but never defined (pandoc's "Title"): its name is all there is
            named = re.fullmatch(r"Heading_20_([1-9])", name)
            return int(named.group(1)) if named else 1 if name == "Title" else 0
        if style.outline:
            return style.outline
        return 1 if style.display == "Title" else 0

    def numbered(self, list_style: str, level: int) -> bool:
        """Whether a list's items at `level` (1 is the outer list) are numbered. A nested list's own
        style may define only its first level (pandoc writes them so): its deepest level up to
        `level` counts."""
        levels = self.lists.get(list_style, {})
        defined = [number for number in levels if number <= level]
        return levels[max(defined)] if defined else False


class _Reader:
    def __init__(self, package: Package, styles: _Styles, repairs: Repairs):
        self.package = package
        self.styles = styles
        self.repairs = repairs
        self.namer = ImageNamer(repairs)
        self.blocks: list[Block] = []
        self.notes: list[tuple[int, str, str]] = []  # (block index, label, text)
        self._list_items: list[tuple[int, bool, str]] = []

    # --- blocks -----------------------------------------------------------------------------
    def container(self, element) -> None:  # type: ignore[no-untyped-def]
        for child in element:
            self.block(child)

    def block(self, element) -> None:  # type: ignore[no-untyped-def]
        tag = element.tag
        if not isinstance(tag, str) or tag in _SKIPPED:
            return
        if tag in _INDEXES:
            self.repairs.add("generated tables of contents and indexes left out", self._place())
            return
        if tag == f"{TEXT}h":
            level = _int(element.get(f"{TEXT}outline-level")) or 1
            self._add(text_block(self.runs(element, heading=True), self._place(), heading=level))
        elif tag == f"{TEXT}p":
            level = self.styles.heading_level(element.get(f"{TEXT}style-name") or "")
            if level:
                self._add(text_block(self.runs(element, heading=True), self._place(), heading=level))
            else:
                self._add(text_block(self.runs(element), self._place()))
        elif tag == f"{TEXT}list":
            # Lists one after another are one list: LibreOffice writes a nested list, or the items
            # after it, as a list of its own that continues the one before.
            self.read_list(element, 0, element.get(f"{TEXT}style-name") or "")
            following = element.getnext()
            while following is not None and not isinstance(following.tag, str):
                following = following.getnext()
            if following is None or following.tag != f"{TEXT}list":
                self._flush_list()
        elif tag == f"{TABLE}table":
            rows = [self.row(row) for row in element.iter(f"{TABLE}table-row")]
            rows = [row for row in rows if any(cell.strip() for cell in row)]
            if rows:
                self._add(Block("table", table_markdown(rows), place=self._place()))
        elif tag == f"{DRAW}frame" or tag == f"{DRAW}a":
            self._add(text_block(self.runs_of(element), self._place()))
        else:  # text:section, text:index-body outside an index, change marks, unknown wrappers
            self.container(element)

    def _flush_list(self) -> None:
        if self._list_items:
            items, self._list_items = self._list_items, []
            self._add(Block("list", list_markdown(items), place=self._place()))

    def _add(self, block: Block | None) -> None:
        if block is not None:
            self.blocks.append(block)

    def _place(self) -> str:
        return f"paragraph {len(self.blocks) + 1}"

    def read_list(self, element, depth: int, style: str) -> None:  # type: ignore[no-untyped-def]
        style = element.get(f"{TEXT}style-name") or style
        numbered = self.styles.numbered(style, depth + 1)
        for item in element:
            if item.tag not in (f"{TEXT}list-item", f"{TEXT}list-header"):
                continue
            runs: list[Run] = []
            for child in item:
                if child.tag == f"{TEXT}list":
                    self._flush_item(depth, numbered, runs)
                    runs = []
                    self.read_list(child, depth + 1, style)
                elif child.tag == f"{TEXT}h":  # an outline-numbered heading: a heading, not an item
                    self._flush_item(depth, numbered, runs)
                    runs = []
                    self._flush_list()
                    self.block(child)
                elif child.tag in (f"{TEXT}p",):
                    if runs:
                        runs.append(Run(markdown=LINE_BREAK))
                    runs.extend(self.runs(child))
                elif child.tag == f"{TABLE}table":
                    if runs:
                        runs.append(Run(markdown=LINE_BREAK))
                    runs.append(Run(" ".join(" ".join(row) for row in map(self.row, child.iter(f"{TABLE}table-row")))))
            self._flush_item(depth, numbered, runs)

    def _flush_item(self, depth: int, numbered: bool, runs: list[Run]) -> None:
        text = inline(runs)
        if text:
            self._list_items.append((depth, numbered, text))

    def row(self, row) -> list[str]:  # type: ignore[no-untyped-def]
        cells = []
        for cell in row:
            if cell.tag not in (f"{TABLE}table-cell", f"{TABLE}covered-table-cell"):
                continue
            runs: list[Run] = []
            for part in cell:
                if runs:
                    runs.append(Run(markdown=LINE_BREAK))
                runs.extend(self.runs_of(part))
            text = inline(runs)
            repeat = min(_int(cell.get(f"{TABLE}number-columns-repeated")) or 1, _MAX_REPEAT)
            cells.extend([text] * (repeat if text else 1))
        while cells and not cells[-1]:
            cells.pop()
        return cells

    # --- inline -----------------------------------------------------------------------------
    def runs(self, paragraph, heading: bool = False) -> list[Run]:  # type: ignore[no-untyped-def]
        """A paragraph's runs; its style's bold or italic counts, except in a heading, where it is
        only how headings look."""
        style = paragraph.get(f"{TEXT}style-name") or ""
        bold = not heading and bool(self.styles.get("paragraph", style, "bold"))
        italic = not heading and bool(self.styles.get("paragraph", style, "italic"))
        out: list[Run] = []
        self._inline(paragraph, bold, italic, "", out)
        return out

    def runs_of(self, element) -> list[Run]:  # type: ignore[no-untyped-def]
        """The runs of any element: a paragraph's, or those of the paragraphs inside a frame or a cell."""
        if element.tag in (f"{TEXT}p", f"{TEXT}h"):
            return self.runs(element)
        out: list[Run] = []
        self._inline_child(element, False, False, "", out)
        return out

    def _inline(self, element, bold: bool, italic: bool, href: str, out: list[Run]) -> None:  # type: ignore[no-untyped-def]  # noqa: E501
        if element.text:
            out.append(Run(element.text, bold, italic, href))
        for child in element:
            self._inline_child(child, bold, italic, href, out)
            if child.tail:
                out.append(Run(child.tail, bold, italic, href))

    def _inline_child(self, child, bold: bool, italic: bool, href: str, out: list[Run]) -> None:  # type: ignore[no-untyped-def]  # noqa: E501
        tag = child.tag
        if not isinstance(tag, str) or tag in _SKIPPED:
            return
        if tag == f"{TEXT}s":
            out.append(Run(" " * min(_int(child.get(f"{TEXT}c")) or 1, 100), bold, italic, href))
        elif tag == f"{TEXT}tab":
            out.append(Run(" ", bold, italic, href))
        elif tag == f"{TEXT}line-break":
            out.append(Run(markdown=LINE_BREAK))
        elif tag == f"{TEXT}span":
            style = child.get(f"{TEXT}style-name") or ""
            span_bold = self.styles.get("text", style, "bold")
            span_italic = self.styles.get("text", style, "italic")
            self._inline(
                child,
                bold if span_bold is None else bool(span_bold),
                italic if span_italic is None else bool(span_italic),
                href,
                out,
            )
        elif tag == f"{TEXT}a":
            self._inline(child, bold, italic, child.get(f"{XLINK}href") or "", out)
        elif tag == f"{TEXT}note":
            label = str(len(self.notes) + 1)
            body = child.find(f"{TEXT}note-body")
            runs: list[Run] = []
            for part in body if body is not None else []:
                if runs:
                    runs.append(Run(markdown=LINE_BREAK))
                runs.extend(self.runs_of(part))
            self.notes.append((len(self.blocks), label, inline(runs)))
            out.append(Run(markdown=f"[^{label}]"))
        elif tag == f"{DRAW}frame":
            self._frame(child, bold, italic, href, out)
        elif tag in (f"{TEXT}p", f"{TEXT}h"):  # a paragraph inside a text box, a cell or a note
            if out:
                out.append(Run(markdown=LINE_BREAK))
            out.extend(self.runs(child))
        elif tag in (f"{TEXT}list", f"{TABLE}table", f"{TEXT}section", f"{DRAW}text-box", f"{TEXT}list-item"):
            for part in child:
                self._inline_child(part, bold, italic, href, out)
        else:  # fields (dates, page numbers), ruby, bookmarks, change marks: their text, if any
            self._inline(child, bold, italic, href, out)

    def _frame(self, frame, bold: bool, italic: bool, href: str, out: list[Run]) -> None:  # type: ignore[no-untyped-def]  # noqa: E501
        alt = " ".join(
            (element.text or "").strip()
            for element in (frame.find(f"{SVG}title"), frame.find(f"{SVG}desc"))
            if element is not None and (element.text or "").strip()
        )
        for image in frame.iterfind(f"{DRAW}image"):
            name = self._image(image)
            if name:
                out.append(Run(markdown=image_markdown(alt, name)))
                return
        for box in frame.iterfind(f"{DRAW}text-box"):
            self._inline_child(box, bold, italic, href, out)

    def _image(self, image) -> str | None:  # type: ignore[no-untyped-def]
        target = (image.get(f"{XLINK}href") or "").lstrip("./")
        place = f"image {len(self.namer.images) + 1}"
        if target and self.package.has(target):
            data = self.package.read(target) or b""
        elif image.find(f"{OFFICE}binary-data") is not None:
            import base64
            import binascii

            try:
                data = base64.b64decode(image.find(f"{OFFICE}binary-data").text or "")
            except (binascii.Error, ValueError):
                data = b""
        else:
            if target:
                self.repairs.add("images linked from outside the document left out", place)
            return None
        if not data:
            return None
        return self.namer.add(data, "", place)


def _int(text: str | None) -> int:
    try:
        return int(text or "")
    except ValueError:
        return 0


def _metadata(package: Package, styles) -> tuple[Metadata, str]:  # type: ignore[no-untyped-def]
    """meta.xml's title, author (the initial creator: dc:creator is whoever saved it last),
    description, subjects, keywords and language; the language, if meta.xml does not say, from
    the default paragraph style. Also the creation date, for the caller to weigh."""
    metadata = Metadata()
    created = ""
    data = package.read("meta.xml")
    if data:
        meta = parse_xml(data, package, "meta.xml").find(f"{OFFICE}meta")
        if meta is not None:

            def text(tag: str) -> str:
                element = meta.find(tag)
                return " ".join((element.text or "").split()) if element is not None else ""

            metadata.title = text(f"{DC}title")
            author = text(f"{META}initial-creator") or text(f"{DC}creator")
            metadata.authors = [name.strip() for name in author.split(";") if name.strip()]
            metadata.description = text(f"{DC}description")
            language = text(f"{DC}language")
            metadata.language = language if _LANGUAGE.match(language) else ""
            subjects = [text(f"{DC}subject")]
            for keyword in meta.iterfind(f"{META}keyword"):
                subjects += re.split(r"[;,]", keyword.text or "")
            metadata.subjects = list(dict.fromkeys(" ".join(s.split()) for s in subjects if s.strip()))
            created = text(f"{META}creation-date")
    if not metadata.language and styles is not None:
        for default in styles.iter(f"{STYLE}default-style"):
            if default.get(f"{STYLE}family") != "paragraph":
                continue
            properties = default.find(f"{STYLE}text-properties")
            if properties is None:
                continue
            language = properties.get(f"{FO}language") or ""
            country = properties.get(f"{FO}country") or ""
            if language and language != "none":
                tag = language + (f"-{country}" if country and country != "none" else "")
                metadata.language = tag if _LANGUAGE.match(tag) else ""
    return metadata, created

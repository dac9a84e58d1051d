"""Word documents (.docx): mammoth reads the WordprocessingML, handbill reads the styles and the
properties.

mammoth turns the body into plain semantic HTML (headings by style, bold and italic runs,
hyperlinks including field codes, numbered and bulleted lists from numbering.xml, tables,
footnotes and endnotes, images with their alt text, tracked changes accepted), which is walked
here into Markdown blocks. Two things it does not do are done here from styles.xml: a heading
is any paragraph style with an outline level (so a localised or custom heading style counts,
not only one named "heading 1"), and a character or paragraph style that sets bold or italic
(LibreOffice's "Emphasis", an editor's own "Section title") gives bold or italic text, as
the reader of the Word file sees it."""

from __future__ import annotations

import re
import zipfile
import zlib

from .model import Block, Document, DocumentError, Image, Metadata, Repairs
from .office import (
    LINE_BREAK,
    ImageNamer,
    Package,
    ReadOnlyBytes,
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

W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
_REL = "{http://schemas.openxmlformats.org/package/2006/relationships}"
_DC = "{http://purl.org/dc/elements/1.1/}"
_DCTERMS = "{http://purl.org/dc/terms/}"
_CP = "{http://schemas.openxmlformats.org/package/2006/metadata/core-properties}"
_CORE_TYPE = "/metadata/core-properties"
_BOLD_CLASS = "handbill-bold"
_USED_STYLE = re.compile(rb'<(?:\w+:)?[pr]Style\s+(?:\w+:)?val="([^"]+)"')
_BLOCK_TAGS = (
    "p",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "li",
    "ul",
    "ol",
    "table",
    "tr",
    "td",
    "th",
    "div",
    "blockquote",
)
_FIX = "open it in Word or LibreOffice and save it again as a Word document (.docx)"
_LANGUAGE = re.compile(r"^[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8})*$")


def read(data: bytes, source: str, repairs: Repairs) -> Document:
    package = Package(data, source, "a Word document (.docx)", _FIX)
    main = _main_part(package)
    for name in package.names():  # mammoth parses with minidom: no part may declare entities
        if name.endswith((".xml", ".rels")):
            head = package.read(name) or b""
            if b"<!DOCTYPE" in head or b"<!ENTITY" in head:
                raise package.damaged(f"the part {name} declares a DTD, which Word never writes")
    styles_data = package.read("word/styles.xml")
    styles = parse_xml(styles_data, package, "word/styles.xml") if styles_data else None
    namer = ImageNamer(repairs)
    used = set(_USED_STYLE.findall(package.read(main) or b""))
    html = _convert(data, package, main, _style_map(styles, used) if styles is not None else "", namer)
    blocks = _Walker(repairs).blocks(html)
    metadata = _metadata(package, styles)
    metadata.date = creation_date_unless_byline(metadata.date, blocks, _created(package), "docProps/core.xml", repairs)
    return Document(
        source=source,
        blocks=blocks,
        metadata=metadata,
        images=[Image(name, image_data) for name, image_data in namer.images],
        repairs=repairs,
    )


def _main_part(package: Package) -> str:
    """The main document part, as the package relationships name it (word/document.xml by default)."""
    if (package.read("mimetype") or b"").startswith(b"application/vnd.oasis.opendocument"):
        raise package.error("is an OpenDocument file, not a Word document; rename it to .odt")
    rels = package.read("_rels/.rels")
    if rels:
        root = parse_xml(rels, package, "_rels/.rels")
        for rel in root.iter(f"{_REL}Relationship"):
            if (rel.get("Type") or "").endswith("/officeDocument"):
                target = (rel.get("Target") or "").lstrip("/")
                if package.has(target):
                    return target
    if package.has("word/document.xml"):
        return "word/document.xml"
    raise package.damaged("it has no document part (word/document.xml)")


def _convert(data: bytes, package: Package, main: str, style_map: str, namer: ImageNamer) -> str:
    import mammoth

    def on_image(image) -> dict[str, str]:  # type: ignore[no-untyped-def]
        place = f"image {len(namer.images) + 1}"
        try:
            with image.open() as stream:
                image_data = stream.read(200 * 2**20)
        except (KeyError, OSError, ValueError, EOFError, zipfile.BadZipFile, zlib.error) as error:
            if "external" in str(error):  # mammoth never reads a file the document links to
                namer.repairs.add("images linked from outside the document left out", place)
            else:
                namer.repairs.add("images missing or damaged in the package left out", place)
            return {"src": ""}
        name = namer.add(image_data, image.content_type or "", place)
        return {"src": f"images/{name}" if name else ""}

    try:
        result = mammoth.convert_to_html(
            ReadOnlyBytes(data),
            style_map=style_map,
            convert_image=mammoth.images.img_element(on_image),
            include_embedded_style_map=False,
        )
    except RecursionError:
        raise package.error("is nested too deeply to read (elements within elements, thousands deep)") from None
    except DocumentError:
        raise
    except Exception as error:  # mammoth on a damaged part: any error of its own, one line for the user
        raise package.damaged(f"{type(error).__name__}: {error}") from None
    return str(result.value)


def _style_map(styles, used: set[bytes]) -> str:  # type: ignore[no-untyped-def]
    """mammoth style-map lines: every paragraph style with an outline level (or a heading's name)
    is a heading, a paragraph style that sets bold is a bold paragraph, and a character style
    that sets bold or italic gives <strong> or <em>."""
    table: dict[str, dict[str, object]] = {}
    for style in styles.iterfind(f"{W}style"):
        style_id = style.get(f"{W}styleId") or ""
        name_element = style.find(f"{W}name")
        based = style.find(f"{W}basedOn")
        outline = style.find(f"{W}pPr/{W}outlineLvl")
        table[style_id] = {
            "type": style.get(f"{W}type"),
            "name": name_element.get(f"{W}val") if name_element is not None else style_id,
            "based": based.get(f"{W}val") if based is not None else None,
            "outline": _int(outline.get(f"{W}val")) if outline is not None else None,
            "bold": _switch(style.find(f"{W}rPr/{W}b")),
            "italic": _switch(style.find(f"{W}rPr/{W}i")),
        }

    def resolve(style_id: str, key: str) -> object:
        seen = set()
        while style_id in table and style_id not in seen:
            seen.add(style_id)
            value = table[style_id][key]
            if value is not None:
                return value
            style_id = str(table[style_id]["based"] or "")
        return None

    lines = []
    for style_id, style in table.items():
        if style_id.encode() not in used:  # mammoth tries every line on every paragraph and run
            continue
        name = str(style["name"] or "")
        if not name or any(ord(c) < 32 for c in name):
            continue
        quoted = "'" + name.replace("\\", "\\\\").replace("'", "\\'") + "'"
        if style["type"] == "paragraph":
            outline = resolve(style_id, "outline")
            named = re.fullmatch(r"heading\s*([1-9])", name, re.IGNORECASE)
            if isinstance(outline, int) and 0 <= outline <= 8:
                level = outline + 1
            elif named:
                level = int(named.group(1))
            elif name.lower() == "title":
                level = 1
            else:
                level = 0
            if level:
                lines.append(f"p[style-name={quoted}] => h{min(level, 6)}:fresh")
            elif resolve(style_id, "bold"):
                lines.append(f"p[style-name={quoted}] => p.{_BOLD_CLASS}:fresh")
        elif style["type"] == "character":
            bold, italic = resolve(style_id, "bold"), resolve(style_id, "italic")
            path = " > ".join(tag for tag, on in (("strong", bold), ("em", italic)) if on)
            if path:
                lines.append(f"r[style-name={quoted}] => {path}")
    return "\n".join(lines)


def _switch(element) -> bool | None:  # type: ignore[no-untyped-def]
    """A toggle property (<w:b/>, <w:b w:val="0"/>): None where the style does not say."""
    if element is None:
        return None
    return (element.get(f"{W}val") or "true").lower() not in ("0", "false", "off")


def _int(text: str | None) -> int | None:
    try:
        return int(text or "")
    except ValueError:
        return None


class _Walker:
    """mammoth's HTML, element by element, into Markdown blocks."""

    def __init__(self, repairs: Repairs):
        self.repairs = repairs
        self.notes: dict[str, str] = {}  # note id ("footnote-3") -> its Markdown text
        self.references: list[tuple[int, str, str]] = []  # (block index, label, note id)

    def blocks(self, html: str) -> list[Block]:
        from lxml import html as lxml_html

        if not html.strip():
            return []
        root = lxml_html.fragment_fromstring(html, create_parent="div")
        blocks: list[Block] = []
        for element in root:
            self._block(element, blocks)
        return place_notes(
            blocks, [(index, label, self.notes.get(note_id, "")) for index, label, note_id in self.references]
        )

    def _block(self, element, blocks: list[Block]) -> None:  # type: ignore[no-untyped-def]
        tag = element.tag if isinstance(element.tag, str) else ""
        place = f"paragraph {len(blocks) + 1}"
        block: Block | None = None
        if re.fullmatch(r"h[1-6]", tag):
            block = text_block(self._runs(element, blocks), place, heading=int(tag[1]))
        elif tag in ("ul", "ol"):
            if self._is_notes(element):
                self._read_notes(element)
                return
            items: list[tuple[int, bool, str]] = []
            self._list(element, 0, items, blocks)
            if items:
                block = Block("list", list_markdown(items), place=place)
        elif tag == "table":
            rows = [
                [self._cell(cell, blocks) for cell in row.iterfind("./*") if cell.tag in ("td", "th")]
                for row in element.iter("tr")
            ]
            rows = [row for row in rows if row]
            if rows:
                block = Block("table", table_markdown(rows), place=place)
        elif tag in ("dl",) and not len(element):
            return
        else:
            bold = tag == "p" and _BOLD_CLASS in (element.get("class") or "").split()
            block = text_block(self._runs(element, blocks, bold=bold), place)
        if block is not None:
            blocks.append(block)

    def _runs(
        self, element, blocks: list[Block], *, bold: bool = False, italic: bool = False, href: str = ""
    ) -> list[Run]:  # type: ignore[no-untyped-def]  # noqa: E501
        runs: list[Run] = []
        if element.text:
            runs.append(Run(element.text, bold, italic, href))
        for child in element:
            tag = child.tag if isinstance(child.tag, str) else ""
            if tag == "br":
                runs.append(Run(markdown=LINE_BREAK))
            elif tag == "img":
                src = child.get("src") or ""
                if src.startswith("images/"):
                    runs.append(Run(markdown=image_markdown(child.get("alt") or "", src[len("images/") :])))
            elif tag == "sup" and self._note_reference(child):
                note_id = self._note_reference(child)
                label = str(len(self.references) + 1)
                self.references.append((len(blocks), label, note_id))
                runs.append(Run(markdown=f"[^{label}]"))
            elif tag in ("ul", "ol", "table") and element.tag == "li":
                pass  # a list item's nested lists and tables are read by _list
            elif tag in _BLOCK_TAGS:
                if runs:
                    runs.append(Run(markdown=LINE_BREAK))
                runs.extend(self._runs(child, blocks, bold=bold, italic=italic, href=href))
            else:
                runs.extend(
                    self._runs(
                        child,
                        blocks,
                        bold=bold or tag in ("strong", "b"),
                        italic=italic or tag in ("em", "i"),
                        href=child.get("href") or href if tag == "a" else href,
                    )
                )
            if child.tail:
                runs.append(Run(child.tail, bold, italic, href))
        return runs

    @staticmethod
    def _note_reference(sup) -> str:  # type: ignore[no-untyped-def]
        link = sup.find("a")
        href = link.get("href") if link is not None else ""
        if len(sup) == 1 and href and re.fullmatch(r"#(footnote|endnote)-[\w-]+", href):
            return href[1:]
        return ""

    @staticmethod
    def _is_notes(element) -> bool:  # type: ignore[no-untyped-def]
        items = element.findall("li")
        return bool(items) and all(re.fullmatch(r"(footnote|endnote)-[\w-]+", item.get("id") or "") for item in items)

    def _read_notes(self, element) -> None:  # type: ignore[no-untyped-def]
        for item in element.findall("li"):
            for link in item.iter("a"):
                if (link.get("href") or "").startswith(("#footnote-ref-", "#endnote-ref-")):
                    link.drop_tree()
            self.notes[item.get("id")] = inline(self._runs(item, []))

    def _list(self, element, depth: int, items: list[tuple[int, bool, str]], blocks: list[Block]) -> None:  # type: ignore[no-untyped-def]  # noqa: E501
        ordered = element.tag == "ol"
        for item in element.findall("li"):
            items.append((depth, ordered, inline(self._runs(item, blocks))))
            for nested in item:
                if nested.tag in ("ul", "ol"):
                    self._list(nested, depth + 1, items, blocks)
                elif nested.tag == "table":
                    text = " ".join(self._cell(cell, blocks) for cell in nested.iter("td", "th"))
                    if text.strip():
                        items.append((depth + 1, False, text))

    def _cell(self, cell, blocks: list[Block]) -> str:  # type: ignore[no-untyped-def]
        return inline(self._runs(cell, blocks))


def _metadata(package: Package, styles) -> Metadata:  # type: ignore[no-untyped-def]
    """Title, authors, language, description and subjects from docProps/core.xml; the language,
    if core.xml does not say, from the document's default proofing language."""
    metadata = Metadata()
    core = _core(package)
    if core is not None:

        def text(tag: str) -> str:
            element = core.find(tag)
            return " ".join((element.text or "").split()) if element is not None else ""

        metadata.title = text(f"{_DC}title")
        metadata.authors = [name.strip() for name in re.split(r"[;\n]", text(f"{_DC}creator")) if name.strip()]
        metadata.description = text(f"{_DC}description")
        language = text(f"{_DC}language")
        metadata.language = language if _LANGUAGE.match(language) else ""
        subjects = [text(f"{_DC}subject")] + re.split(r"[;,]", text(f"{_CP}keywords"))
        metadata.subjects = list(dict.fromkeys(s.strip() for s in subjects if s.strip()))
    if not metadata.language and styles is not None:
        lang = styles.find(f"{W}docDefaults/{W}rPrDefault/{W}rPr/{W}lang")
        value = lang.get(f"{W}val") if lang is not None else ""
        metadata.language = value if value and _LANGUAGE.match(value) else ""
    return metadata


def _core(package: Package):  # type: ignore[no-untyped-def]
    name = "docProps/core.xml"
    rels = package.read("_rels/.rels")
    if rels:
        for rel in parse_xml(rels, package, "_rels/.rels").iter(f"{_REL}Relationship"):
            if (rel.get("Type") or "").endswith(_CORE_TYPE):
                name = (rel.get("Target") or "").lstrip("/") or name
    data = package.read(name)
    return parse_xml(data, package, name) if data else None


def _created(package: Package) -> str:
    core = _core(package)
    created = core.find(f"{_DCTERMS}created") if core is not None else None
    return (created.text or "") if created is not None else ""

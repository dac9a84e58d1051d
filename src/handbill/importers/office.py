"""What the two office formats share: the ZIP package read within limits, XML parsed safely, and
formatted runs of text written as Markdown.

A .docx and an .odt are ZIP packages of XML parts and media. A hostile one can declare a
small member that inflates to gigabytes, hold a million members, be encrypted, or be
something else under the extension; each case is refused here with one line that names the
file and says what to do, before any part is parsed."""

from __future__ import annotations

import re
import struct
import zipfile
import zlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from .model import Block, DocumentError, Repairs, escape, escape_start

MAX_PACKAGE = 200 * 2**20  # uncompressed bytes of every member together
MAX_XML_PART = 32 * 2**20  # one XML part: a 1,000-page novel's text is well under 10 MB
MAX_RATIO = 100  # uncompressed / compressed for a member over RATIO_FLOOR
RATIO_FLOOR = 2**20
MAX_MEMBERS = 10_000
MAX_DIRECTORY = 4 * 2**20  # bytes of the ZIP central directory, read before zipfile parses it

_OLE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_EOCD = b"PK\x05\x06"
_EOCD64_LOCATOR = b"PK\x06\x07"


class Package:
    """A ZIP package whose members are read only within the limits checked when it was opened."""

    def __init__(self, data: bytes, source: str, what: str, fix: str):
        self.source = source
        self.what = what  # "a Word document (.docx)"
        self.fix = fix  # "re-save it from Word as .docx"
        self._check_container(data)
        try:
            self._zip = zipfile.ZipFile(ReadOnlyBytes(data))
            infos = self._zip.infolist()
        except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError, EOFError, struct.error) as error:
            raise self.damaged(f"its ZIP structure is damaged ({error})") from None
        self._infos = {info.filename: info for info in infos}
        self._check_members(infos)

    def error(self, detail: str) -> DocumentError:
        return DocumentError(detail, self.source)

    def damaged(self, detail: str) -> DocumentError:
        return self.error(f"cannot be read as {self.what}: {detail}; {self.fix}")

    def has(self, name: str) -> bool:
        return name in self._infos

    def names(self) -> list[str]:
        return list(self._infos)

    def read(self, name: str, *, required: bool = False) -> bytes | None:
        """A member's bytes (None if absent and not required). zipfile stops at the declared size,
        which was checked against the limits, so a lying member cannot inflate past it."""
        info = self._infos.get(name)
        if info is None:
            if required:
                raise self.damaged(f"the part {name} is missing")
            return None
        try:
            with self._zip.open(info) as member:
                return member.read(info.file_size)
        except (zipfile.BadZipFile, zlib.error, OSError, EOFError, ValueError, NotImplementedError) as error:
            raise self.damaged(f"the part {name} is damaged ({error})") from None

    def _check_container(self, data: bytes) -> None:
        if data.startswith(_OLE):
            if "EncryptionInfo".encode("utf-16-le") in data[: 2**20] or b"E\x00n\x00c\x00r\x00y\x00p\x00t" in data:
                raise self.error(f"is encrypted (password-protected); save it without a password as {self.what}")
            raise self.error(f"is an old binary office file (Word 97-2003 or similar), not {self.what}; {self.fix}")
        if len(data) > MAX_PACKAGE:
            raise self.error(f"is larger than {MAX_PACKAGE // 2**20} MB; split the document")
        if not data.startswith(b"PK"):
            kind = "a text file" if _looks_like_text(data[:4096]) else "not a ZIP package"
            raise self.error(f"is not {self.what} (it is {kind}); {self.fix}")
        # The central directory's size and entry count, from its end record, before zipfile
        # builds an object per entry: a million tiny entries would cost gigabytes.
        tail = data[-(65_535 + 22) :]
        end = tail.rfind(_EOCD)
        if end < 0 or len(tail) - end < 22:
            raise self.damaged("its ZIP directory is missing (the file is cut short or damaged)")
        _sig, _disk, _disk_cd, _here, entries, size, _offset, _comment = struct.unpack("<4s4H2LH", tail[end : end + 22])
        if entries == 0xFFFF or size == 0xFFFFFFFF:
            locator = tail.rfind(_EOCD64_LOCATOR, 0, end)
            if locator < 0 or end - locator < 20:
                raise self.damaged("its ZIP64 directory record is missing")
            (record_at,) = struct.unpack("<Q", tail[locator + 8 : locator + 16])
            record = data[record_at : record_at + 56]
            if len(record) < 56 or not record.startswith(b"PK\x06\x06"):
                raise self.damaged("its ZIP64 directory record is damaged")
            entries, size = struct.unpack("<QQ", record[32:48])
        if entries > MAX_MEMBERS or size > MAX_DIRECTORY:
            raise self.error(f"has {entries} parts, more than the {MAX_MEMBERS} handbill reads; {self.fix}")

    def _check_members(self, infos: Sequence[zipfile.ZipInfo]) -> None:
        total = 0
        for info in infos:
            if info.flag_bits & 0x1:
                raise self.error(f"is encrypted (password-protected); save it without a password as {self.what}")
            if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
                raise self.damaged(f"the part {info.filename} uses a compression office programs do not write")
            if info.file_size > RATIO_FLOOR and info.file_size > MAX_RATIO * max(info.compress_size, 1):
                raise self.error(
                    f"looks like a ZIP bomb: the part {info.filename} would inflate "
                    f"{info.file_size // max(info.compress_size, 1)} times; {self.fix}"
                )
            if info.filename.endswith((".xml", ".rels")) and info.file_size > MAX_XML_PART:
                raise self.error(
                    f"has {info.file_size // 2**20} MB of XML in {info.filename}, more than the "
                    f"{MAX_XML_PART // 2**20} MB handbill reads in one part; split the document"
                )
            total += info.file_size
            if total > MAX_PACKAGE:
                raise self.error(
                    f"would unpack to more than {MAX_PACKAGE // 2**20} MB (a ZIP bomb or a document too large "
                    "for handbill); split the document"
                )


class ReadOnlyBytes:
    """A read-only file over bytes that zipfile can seek in (BytesIO would copy the data)."""

    def __init__(self, data: bytes):
        self._view = memoryview(data)
        self._position = 0

    def seekable(self) -> bool:
        return True

    def seek(self, offset: int, whence: int = 0) -> int:
        base = (0, self._position, len(self._view))[whence]
        self._position = max(0, base + offset)
        return self._position

    def tell(self) -> int:
        return self._position

    def read(self, size: int = -1) -> bytes:
        end = len(self._view) if size is None or size < 0 else min(len(self._view), self._position + size)
        chunk = self._view[self._position : end].tobytes()
        self._position = max(self._position, end)
        return chunk


def _looks_like_text(head: bytes) -> bool:
    try:
        head.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return b"\x00" not in head


def parse_xml(data: bytes, package: Package, name: str):  # type: ignore[no-untyped-def]
    """A part parsed with no entity expansion, no DTD, no network and lxml's default size limits."""
    from lxml import etree

    parser = etree.XMLParser(
        resolve_entities=False, no_network=True, huge_tree=False, load_dtd=False, dtd_validation=False
    )
    try:
        root = etree.fromstring(data, parser)
    except etree.XMLSyntaxError as error:
        raise package.damaged(f"the part {name} is not well-formed XML ({error})") from None
    if root is None:
        raise package.damaged(f"the part {name} is empty")
    if root.getroottree().docinfo.doctype:
        raise package.damaged(f"the part {name} declares a DTD, which office programs never write")
    return root


# --- Formatted text as Markdown -------------------------------------------------------------

LINE_BREAK = "  \n"
_SPACES = re.compile(r"[ \t\r\n\f\v]+")
_SAFE_SCHEMES = ("http://", "https://", "mailto:")
_BARE_AMPERSAND = re.compile(r"&(?!amp;|lt;)")


@dataclass
class Run:
    """A stretch of text with one formatting, or a piece of ready Markdown (an image, a line
    break, a note reference) that takes no emphasis of its own."""

    text: str = ""
    bold: bool = False
    italic: bool = False
    href: str = ""
    markdown: str = ""


def safe_href(href: str | None) -> str:
    """The link target if a reader may follow it from a book (web and mail addresses), else ""."""
    href = (href or "").strip()
    if not href.lower().startswith(_SAFE_SCHEMES) or any(ord(c) < 32 for c in href):
        return ""
    return href.replace(" ", "%20").replace("(", "%28").replace(")", "%29").replace("<", "%3C").replace(">", "%3E")


def _escape_piece(text: str) -> str:
    """Literal text inside a line, its surrounding spaces kept (escape() trims a paragraph and
    escapes line starts: those are made safe once the whole line is known, by _defuse_line)."""
    core = text.strip(" ")
    if not core:
        return text
    lead = text[: len(text) - len(text.lstrip(" "))]
    trail = text[len(text.rstrip(" ")) :]
    # escape() keeps an "&" that does not look like a whole entity; an HTML parser still reads
    # "&#65" or "&copy" as one, so every "&" of the text is written as "&amp;".
    # "{" too: attr_list would read "{: .x}" as attributes and drop it from the text.
    return lead + _BARE_AMPERSAND.sub("&amp;", escape("x" + core)[1:]) + trail


def _defuse_line(line: str) -> str:
    """A line of a paragraph that Markdown would read as a heading, list item, quote, rule or the
    underline of a heading (`1934. The strike`, `- `, `#`, `>`, `---`, `===`) made to read as text.
    Literal `*` and `_` are escaped already, so a line can start with them only as emphasis."""
    if re.fullmatch(r"=+ *", line):
        return "&#61;" + line[1:]
    if line.startswith(":"):  # def_list: ": text" under a line defines it
        return "&#58;" + line[1:]
    if re.fullmatch(r"(?:- *)+", line):
        return "\\" + line
    return escape_start(line)


def _wrap(inner: str, marker: str) -> str:
    """`inner` in emphasis markers, with its outer spaces outside them (`** a**` is not bold)."""
    core = inner.strip(" ")
    if not core:
        return inner
    lead = inner[: len(inner) - len(inner.lstrip(" "))]
    trail = inner[len(inner.rstrip(" ")) :]
    return f"{lead}{marker}{core}{marker}{trail}"


def _groups(runs: Sequence[Run], key) -> Iterable[tuple[object, list[Run]]]:  # type: ignore[no-untyped-def]
    group: list[Run] = []
    current: object = None
    for run in runs:
        value = key(run)
        if group and value != current:
            yield current, group
            group = []
        current = value
        group.append(run)
    if group:
        yield current, group


def _escape_runs(runs: Sequence[Run]) -> str:
    """The runs as Markdown: neighbouring runs of text escaped together, since a mark may span
    them (`:a` and `:` make the emoji code `:a:`)."""
    out: list[str] = []
    text: list[str] = []
    for run in runs:
        if run.markdown:
            out += [_escape_piece("".join(text)), run.markdown] if text else [run.markdown]
            text = []
        else:
            text.append(run.text)
    if text:
        out.append(_escape_piece("".join(text)))
    return "".join(out)


def _emphasis(runs: Sequence[Run], bold_allowed: bool) -> str:
    out = []
    for bold, bold_runs in _groups(runs, lambda run: bold_allowed and run.bold and not run.markdown):
        parts = []
        for italic, italic_runs in _groups(bold_runs, lambda run: run.italic and not run.markdown):
            text = _escape_runs(italic_runs)
            parts.append(_wrap(text, "*") if italic else text)
        inner = "".join(parts)
        out.append(_wrap(inner, "**") if bold else inner)
    return "".join(out)


def normalise_runs(runs: Iterable[Run]) -> list[Run]:
    """Runs with white space as a reader sees it: any run of spaces, tabs or newlines is one space,
    none at the start or end of the paragraph or around a line break."""
    result: list[Run] = []
    for run in runs:
        if run.markdown:
            if run.markdown == LINE_BREAK:
                if result and result[-1].markdown == LINE_BREAK:
                    continue  # an empty line would end the paragraph: one break for several
                if result and not result[-1].markdown:
                    result[-1].text = result[-1].text.rstrip(" ")
            result.append(run)
            continue
        text = _SPACES.sub(" ", run.text.replace("\ufeff", ""))
        if not text:
            continue
        previous = result[-1] if result else None
        if (
            previous is None
            or previous.markdown == LINE_BREAK
            or (not previous.markdown and previous.text.endswith(" "))
        ):
            text = text.lstrip(" ")
        if text:
            result.append(Run(text, run.bold, run.italic, run.href))
    while result and not result[-1].markdown and not result[-1].text.strip(" "):
        result.pop()
    if result and not result[-1].markdown:
        result[-1].text = result[-1].text.rstrip(" ")
    while result and result[-1].markdown == LINE_BREAK:
        result.pop()
    while result and result[0].markdown == LINE_BREAK:
        result.pop(0)
    return result


def is_bold(runs: Sequence[Run]) -> bool:
    """Every letter of the paragraph is bold (a title written as a bold line)."""
    texts = [run for run in runs if not run.markdown and run.text.strip()]
    return bool(texts) and all(run.bold for run in texts)


def inline(runs: Iterable[Run], *, bold_allowed: bool = True) -> str:
    """The runs as one paragraph of Markdown: links for web and mail addresses only, emphasis
    with its markers hugging the text, literal text escaped."""
    runs = normalise_runs(runs)
    out: list[str] = []
    for href, link_runs in _groups(runs, lambda run: safe_href(run.href) if not run.markdown else ""):
        text = _emphasis(link_runs, bold_allowed)
        if href and text.strip():
            lead = text[: len(text) - len(text.lstrip(" "))]
            trail = text[len(text.rstrip(" ")) :]
            before = out[-1] if out else ""
            slashes = len(before[:-1]) - len(before[:-1].rstrip("\\"))
            if not lead and before.endswith("!") and slashes % 2 == 0:
                out[-1] = before[:-1] + "\\!"  # "!" before a link would make it an image
            label = text.strip(" ")
            if not before or before.endswith("\n"):  # `[a\]: b](...)` starting a line is a reference definition
                label = label.replace("\\]", "&#93;")
            out.append(f"{lead}[{label}]({href}){trail}")
        else:
            out.append(text)
    return "\n".join(_defuse_line(line) for line in "".join(out).strip(" ").split("\n"))


def text_block(runs: Sequence[Run], place: str, *, heading: int = 0) -> Block | None:
    """A heading or paragraph from its runs; None when it holds nothing a reader would see."""
    runs = normalise_runs(runs)
    if not runs:
        return None
    if heading:
        text = inline(runs, bold_allowed=False).replace(LINE_BREAK, " ")
        return Block("heading", text, level=min(max(heading, 1), 6), place=place) if text else None
    text = inline(runs)
    if not text:
        return None
    images = [run for run in runs if run.markdown.startswith("![")]
    if len(images) == 1 and len(runs) == 1:
        return Block("image", text, place=place)
    return Block("paragraph", text, bold=is_bold(runs), place=place)


def image_markdown(alt: str, name: str) -> str:
    alt = " ".join(alt.split())
    return f"![{_escape_piece(alt)}](images/{name})" if alt else f"![](images/{name})"


def list_markdown(items: Sequence[tuple[int, bool, str]]) -> str:
    """A Markdown list from (depth, ordered, item text) in order; depth 0 is the outer list."""
    lines = []
    numbers: dict[int, int] = {}
    previous = -1
    for depth, ordered, text in items:
        depth = previous = min(depth, previous + 1)  # an item is at most one level below the one before
        for deeper in [level for level in numbers if level > depth]:
            del numbers[deeper]
        indent = "    " * depth
        if ordered:
            numbers[depth] = numbers.get(depth, 0) + 1
            marker = f"{numbers[depth]}. "
        else:
            marker = "- "
        body = text.replace("\n", "\n" + indent + "    ") if text else "\u00a0"
        lines.append(f"{indent}{marker}{body}")
    return "\n".join(lines)


def table_markdown(rows: Sequence[Sequence[str]]) -> str:
    """A pipe table (Python-Markdown's tables extension); the first row is the header."""
    width = max((len(row) for row in rows), default=0)
    if not width:
        return ""

    def cell(text: str) -> str:
        return " ".join(text.replace(LINE_BREAK, " ").replace("|", "\\|").split()) or " "

    lines = []
    for index, row in enumerate(rows):
        cells = [cell(text) for text in row] + [" "] * (width - len(row))
        lines.append("| " + " | ".join(cells) + " |")
        if index == 0:
            lines.append("|" + " --- |" * width)
    return "\n".join(lines)


class ImageNamer:
    """Names images 001.png, 002.jpg... in order of appearance, converting what e-books cannot show
    (TIFF, BMP) to PNG, and leaving out what cannot be converted (EMF, WMF) with a report line."""

    SHOWN = {"image/png": "png", "image/jpeg": "jpg", "image/gif": "gif", "image/svg+xml": "svg", "image/webp": "webp"}

    def __init__(self, repairs: Repairs):
        self.repairs = repairs
        self.images: list[tuple[str, bytes]] = []
        self._names: dict[bytes, str] = {}  # an image shown twice is one file

    def add(self, data: bytes, content_type: str, place: str) -> str | None:
        """The name the image gets, or None if it is left out."""
        if data in self._names:
            return self._names[data]
        original = data
        content_type = (content_type or "").lower()
        kind = _sniff(data) or content_type
        extension = self.SHOWN.get(kind)
        if extension is None:
            data, extension = _convert_to_png(data)  # type: ignore[assignment]
            if extension is None:
                self.repairs.add("images in a format e-books cannot show left out", place)
                return None
            self.repairs.add("images converted to PNG", place)
        name = f"{len(self.images) + 1:03d}.{extension}"
        self._names[original] = name
        self.images.append((name, data))
        return name


def _sniff(data: bytes) -> str:
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if data.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if data.startswith((b"GIF87a", b"GIF89a")):
        return "image/gif"
    if data.startswith(b"RIFF") and data[8:12] == b"WEBP":
        return "image/webp"
    head = data[:1024].lstrip()
    if head.startswith(b"<svg") or (head.startswith(b"<?xml") and b"<svg" in data[:4096]):
        return "image/svg+xml"
    return ""


def _convert_to_png(data: bytes) -> tuple[bytes, str] | tuple[bytes, None]:
    from io import BytesIO

    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(BytesIO(data)) as image:
            if image.format not in ("TIFF", "BMP", "ICO", "PPM", "TGA") or image.width * image.height > 50_000_000:
                return data, None
            image.load()
            out = BytesIO()
            image.save(out, "PNG")
            return out.getvalue(), "png"
    except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError):
        return data, None


def place_notes(blocks: list[Block], references: Sequence[tuple[int, str, str]]) -> list[Block]:
    """Each note as a footnote definition right after the block that refers to it, so that it stays
    in the same chapter however the sections are split. `references` holds (index of the block
    that refers, label, the note's Markdown text)."""
    if not references:
        return blocks
    after: dict[int, list[Block]] = {}
    for index, label, text in references:
        text = text.replace(LINE_BREAK, LINE_BREAK + "    ") or "\u00a0"
        after.setdefault(index, []).append(Block("paragraph", f"[^{label}]: {text}", place=f"note {label}"))
    result = []
    for index, block in enumerate(blocks):
        result.append(block)
        result.extend(after.pop(index, []))
    for rest in after.values():  # a reference in a block that was not kept
        result.extend(rest)
    return result


_ISO_DATE = re.compile(r"^(\d{4})-(\d\d)-(\d\d)")
_YEAR = re.compile(r"(?<!\d)(1[5-9]\d\d|20\d\d)(?!\d)")


def creation_date_unless_byline(
    metadata_date: str, blocks: Sequence[Block], created: str, where: str, repairs: Repairs
) -> str:
    """The date of publication, given the file's creation date. A file's creation date is when the
    file was made (often by the converter, minutes ago), not when the text was published: it is
    taken only when the document states no date, neither in its properties nor in a line near the
    top of the text that holds a year (a byline date, which the shared repairs read in any language)."""
    if metadata_date:
        return metadata_date
    for block in blocks[:8]:
        for line in block.text.split(LINE_BREAK):
            if len(line) <= 80 and _YEAR.search(line):
                return ""
    match = _ISO_DATE.match(created.strip())
    if match and 1 <= int(match.group(2)) <= 12 and 1 <= int(match.group(3)) <= 31:
        repairs.add("date taken from the file's creation date, as the text states none", where)
        return match.group(0)
    return ""

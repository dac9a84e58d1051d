"""The EPUB 3 navigation document (`nav.xhtml`): the table of contents and the landmarks.

In: the finished `Book` (its `toc`, `landmarks`, stylesheets and language). Out: the page's
XHTML bytes, which `epub.EpubStream` writes beside the package document and the NCX.
"""

from __future__ import annotations

from .. import xhtml
from ..model import Book, TocEntry
from ..xhtml import escape, quoteattr


def nav_document(book: Book) -> bytes:
    """The EPUB 3 navigation document: table of contents and landmarks."""

    def items(entries: tuple[TocEntry, ...]) -> str:
        rows = []
        for entry in entries:
            nested = f"\n<ol>\n{items(entry.children)}\n</ol>\n" if entry.children else ""
            rows.append(f"<li><a href={quoteattr(entry.href)}>{escape(entry.title)}</a>{nested}</li>")
        return "\n".join(rows)

    landmarks = "\n".join(
        f'<li><a epub:type="{kind}" href={quoteattr(href)}>{escape(label)}</a></li>'
        for kind, href, label in book.landmarks
    )
    stylesheets = [resource.file_name for resource in book.resources if resource.media_type == "text/css"]
    body = (
        f'<nav epub:type="toc" id="toc" role="doc-toc">\n<h1>{escape(book.label("contents"))}</h1>\n'
        f"<ol>\n{items(book.toc)}\n</ol>\n</nav>\n"
        f'<nav epub:type="landmarks" id="landmarks" hidden="hidden">\n<h2>{escape(book.label("landmarks"))}</h2>\n'
        f"<ol>\n{landmarks}\n</ol>\n</nav>"
    )
    return xhtml.page(book.label("contents"), book.language, stylesheets, "frontmatter", body, direction=book.direction)

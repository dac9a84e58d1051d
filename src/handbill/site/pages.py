"""The site's HTML: the landing page with a card per book, each book's contents page, and
EPUB chapters dressed for reading in a browser.

In: `ServedBook` records and the site's public address. Out: finished pages as UTF-8 bytes,
the same whether a server sends them or they are written to disk; no HTTP here. Every link is
relative (`books/x.epub`, `read/x/index.html`), so the site works under any prefix and on any
host that serves its folder; only the QR code and the catalog's address shown use `address`.
"""

from __future__ import annotations

from collections.abc import Iterable
from html import escape
from urllib.parse import quote

from ..languages import ENGLISH, format_label
from ..model import Book
from .books import ServedBook
from .works import Work, autonym, in_preferred_order, works

READABLE_TYPES = {
    ".xhtml": "application/xhtml+xml; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".jpg": "image/jpeg",
    ".png": "image/png",
    ".gif": "image/gif",
    ".webp": "image/webp",
    ".svg": "image/svg+xml",
}
"""The files of a book a browser may read online, by suffix, with their content types."""

HTML_TYPE = "text/html; charset=utf-8"

_STYLE = """
body{font-family:system-ui,-apple-system,sans-serif;margin:0 auto;max-width:40em;padding:1em;line-height:1.4}
h1{font-size:1.6em}
.book{display:block;overflow:hidden;margin:1em 0;padding-bottom:1em;border-bottom:1px solid #ccc}
.book img{float:left;margin:0 1em 0.5em 0;width:120px;height:auto;border:1px solid #ccc}
.book h2{margin:0 0 .3em;font-size:1.25em}
.by{margin:0 0 .8em;color:#555}
.button{display:inline-block;margin:0 .4em .5em 0;padding:.7em 1em;border-radius:.4em;background:#b3121b;
color:#fff;text-decoration:none;font-weight:bold}
.button small{font-weight:normal;opacity:.85}
.button.light{background:#eee;color:#222}
.qr{margin:1em 0}
.qr figcaption{word-break:break-all}
.toc li{margin:.5em 0}
.editions{list-style:none;padding:0;margin:0;clear:both}.editions li{margin:.8em 0}.editions h3{margin:0}
.editions .title{margin:.2em 0 .4em}
.sums{clear:both;margin:.3em 0 0;font-size:.75em;color:#555}.sums code{word-break:break-all}
@media (prefers-color-scheme:dark){body{background:#111;color:#eee}.by,.sums{color:#aaa}
.button.light{background:#333;color:#eee}}
"""


def landing_page(books: Iterable[ServedBook], address: str, accept_language: str | None = None) -> bytes:
    """The front page: a card per work (its editions together, the one `accept_language` asks
    for first), help for phones, and a QR code of `address`.

    The page is in the books' language when they share one (each card is in its own book's)."""
    books = list(books)
    language = books[0].book.language if books and len({served.book.language for served in books}) == 1 else "en"
    words = books[0].book if language != "en" else None
    help_language = ' lang="en"' if language != "en" else ""
    cards = "".join(work_card(work, accept_language, language) for work in works(books))
    body = (
        f"<h1>{escape(words.label('books') if words else 'Books')}</h1>"
        f"{cards}"
        f'<section class="help"{help_language}><h2>On a phone</h2>'
        "<p>Tap <b>EPUB</b>: an iPhone opens it in Books, Android in your reading app. "
        "Kobo readers take the Kobo edition.</p>"
        f"<p>Reading apps (KOReader, Moon+ Reader, Librera, Thorium) can add this catalog: "
        f'<a href="opds.xml">{escape(address)}opds.xml</a></p>'
        "<p>Builds are reproducible: the SHA-256 under each download is the digest of the true file, "
        'listed in <a href="SHA256SUMS">SHA256SUMS</a>; a copy with another digest was changed.</p>'
        f'<h2>Share this page</h2><figure class="qr">{qr_svg(address)}'
        f"<figcaption>{escape(address)}</figcaption></figure></section>"
    )
    direction = words.direction if words else "ltr"
    return html_page(words.label("books") if words else "Books", body, language, direction)


def card(served: ServedBook, page_language: str = "en") -> str:
    """One book's card: its cover, title, authors, downloads and the link to read it online."""
    book = served.book
    language = ""
    if book.language != page_language:  # each card in its own book's language and direction
        language = f' lang="{escape(book.language)}" dir="{book.direction}"'
    return (
        f'<article class="book"{language}>'
        f'<img src="covers/{quote(served.slug)}-thumb.jpg" alt="{escape(_cover_alt(book))}" width="150"/>'
        f'<div><h2>{escape(book.title)}</h2><p class="by">{escape(served.authors)}</p>'
        f'<p class="buttons">{_buttons(served)}</p>'
        f"</div>{_sums(served)}</article>"
    )


def work_card(work: Work, accept_language: str | None = None, page_language: str = "en") -> str:
    """A work's card: the edition the reader's languages ask for (else the first) in full, then
    every edition under its language's own name, with its own downloads."""
    if len(work.editions) < 2:
        return card(work.editions[0], page_language)
    editions = in_preferred_order(work.editions, accept_language)
    first = editions[0]
    items = "".join(
        f"<li><h3{_in_language(served)}>{escape(autonym(served.book.language))}</h3>"
        f'<p class="title"{_in_language(served)}>{escape(served.book.title)}</p>'
        f'<p class="buttons">{_buttons(served)}</p>{_sums(served)}</li>'
        for served in editions
    )
    return (
        '<article class="book work">'
        f'<img src="covers/{quote(first.slug)}-thumb.jpg" alt="{escape(_cover_alt(first.book))}" width="150"/>'
        f'<div><h2{_in_language(first)}>{escape(first.book.title)}</h2><p class="by">{escape(first.authors)}</p>'
        f'<ul class="editions">{items}</ul></div></article>'
    )


def _in_language(served: ServedBook) -> str:
    """`lang` and `dir` attributes for text written in the edition's language (its title, the
    language's own name), so that a phone picks the right font and direction."""
    return f' lang="{escape(served.book.language)}" dir="{served.book.direction}"'


def _buttons(served: ServedBook) -> str:
    """An edition's downloads and its link to read it online."""
    downloads = "".join(
        f'<a class="button" href="books/{quote(edition.file_name)}" download="{escape(edition.file_name)}">'
        f"{escape(edition.label)} <small>{edition.size}</small></a>"
        for edition in served.editions
    )
    read = escape(served.book.label("read_in_browser"))
    return f'{downloads}<a class="button light" href="read/{quote(served.slug)}/index.html">{read}</a>'


def _sums(served: ServedBook) -> str:
    """Each edition's SHA-256, to compare with a copy received from someone else."""
    sums = "<br/>".join(
        f'{escape(edition.label)} SHA-256: <code title="{escape(edition.file_name)}">{edition.sha256}</code>'
        for edition in served.editions
    )
    return f'<p class="sums" lang="en" dir="ltr">{sums}</p>'


def _cover_alt(book: Book) -> str:
    return format_label(dict(book.labels) or ENGLISH, "cover_alt", title=book.title)


def contents_page(served: ServedBook) -> bytes:
    """A book's table of contents, linking to its chapters read online."""
    items = "".join(f'<li><a href="{quote(entry.href)}">{escape(entry.title)}</a></li>' for entry in served.book.toc)
    book = served.book
    back = "&#8594;" if book.direction == "rtl" else "&#8592;"  # pointing the way back, in either direction
    body = (
        f'<p><a href="../../index.html">{back} {escape(book.label("all_books"))}</a></p><h1>{escape(book.title)}</h1>'
        f'<p class="by">{escape(served.authors)}</p><ol class="toc">{items}</ol>'
    )
    return html_page(book.title, body, book.language, book.direction)


def html_page(title: str, body: str, language: str, direction: str = "ltr") -> bytes:
    attributes = f' dir="{direction}"' if direction == "rtl" else ""
    page = (
        f'<!DOCTYPE html>\n<html lang="{escape(language)}"{attributes}><head><meta charset="utf-8"/>'
        '<meta name="viewport" content="width=device-width, initial-scale=1"/>'
        f"<title>{escape(title)}</title><style>{_STYLE}</style></head><body>{body}</body></html>\n"
    )
    return page.encode("utf-8")


def for_the_browser(data: bytes, name: str, spine: tuple[str, ...], book: Book | None = None) -> bytes:
    """A phone-sized viewport and previous/next links around an EPUB chapter, in the book's
    language (its arrows pointing the way its pages turn)."""

    def word(key: str) -> str:
        return escape(book.label(key) if book is not None else ENGLISH[key])

    back, forward = (
        ("&#8594;", "&#8592;") if book is not None and book.page_progression == "rtl" else ("&#8592;", "&#8594;")
    )
    links = [f'<a href="index.html">{word("contents")}</a>']
    if name in spine:
        index = spine.index(name)
        if index > 0:
            links.insert(0, f'<a href="{quote(spine[index - 1])}">{back} {word("previous")}</a>')
        if index + 1 < len(spine):
            links.append(f'<a href="{quote(spine[index + 1])}">{word("next")} {forward}</a>')
    navigation = f'<nav class="handbill-pages" style="margin:2em 0;text-align:center">{" | ".join(links)}</nav>'
    viewport = (
        '<meta name="viewport" content="width=device-width, initial-scale=1"/>'
        "<style>body{margin:0 auto;max-width:40em;padding:1em}</style>"
    )
    text = data.decode("utf-8")
    text = text.replace("<head>", f"<head>\n{viewport}", 1)
    position = text.rfind("</body>")
    if position != -1:
        text = text[:position] + navigation + "\n" + text[position:]
    return text.encode("utf-8")


def qr_svg(text: str) -> str:
    """A QR code of `text` as inline SVG, for a page."""
    import segno

    return segno.make(text, error="m").svg_inline(scale=6, border=2, dark="#000", light="#fff")

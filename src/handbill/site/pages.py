"""The site's HTML: the landing page with a card per book, each book's contents page, and
EPUB chapters dressed for reading in a browser.

In: `ServedBook` records and the site's public address. Out: finished pages as UTF-8 bytes,
the same whether a server sends them or they are written to disk; no HTTP here.
"""

from __future__ import annotations

from collections.abc import Iterable
from html import escape
from urllib.parse import quote

from .books import ServedBook
from .works import Work, autonym, direction, in_preferred_order, works

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
@media (prefers-color-scheme:dark){body{background:#111;color:#eee}.by{color:#aaa}
.button.light{background:#333;color:#eee}}
"""


def landing_page(books: Iterable[ServedBook], address: str, accept_language: str | None = None) -> bytes:
    """The front page: a card per work (its editions together, the one `accept_language` asks
    for first), help for phones, and a QR code of `address`."""
    cards = "".join(work_card(work, accept_language) for work in works(books))
    body = (
        "<h1>Books</h1>"
        f"{cards}"
        '<section class="help"><h2>On a phone</h2>'
        "<p>Tap <b>EPUB</b>: an iPhone opens it in Books, Android in your reading app. "
        "Kobo readers take the Kobo edition.</p>"
        f"<p>Reading apps (KOReader, Moon+ Reader, Librera, Thorium) can add this catalog: "
        f'<a href="/opds">{escape(address)}opds</a></p>'
        f'<h2>Share this page</h2><figure class="qr">{qr_svg(address)}'
        f"<figcaption>{escape(address)}</figcaption></figure></section>"
    )
    return html_page("Books", body, "en")


def card(served: ServedBook) -> str:
    buttons = "".join(
        f'<a class="button" href="/books/{quote(edition.file_name)}" download="{escape(edition.file_name)}">'
        f"{escape(edition.label)} <small>{edition.size}</small></a>"
        for edition in served.editions
    )
    slug = quote(served.slug)
    return (
        '<article class="book">'
        f'<img src="/covers/{slug}-thumb.jpg" alt="Cover of {escape(served.book.title)}" width="150"/>'
        f'<div><h2>{escape(served.book.title)}</h2><p class="by">{escape(served.authors)}</p>'
        f'<p class="buttons">{buttons}<a class="button light" href="/read/{slug}/">Read in the browser</a></p>'
        "</div></article>"
    )


def work_card(work: Work, accept_language: str | None = None) -> str:
    """A work's card: the edition the reader's languages ask for (else the first) in full, then
    every edition under its language's own name, with its own downloads."""
    if len(work.editions) < 2:
        return card(work.editions[0])
    editions = in_preferred_order(work.editions, accept_language)
    first = editions[0]
    items = "".join(
        f"<li><h3{_in_language(served)}>{escape(autonym(served.book.language))}</h3>"
        f'<p class="title"{_in_language(served)}>{escape(served.book.title)}</p>'
        f'<p class="buttons">{_buttons(served)}</p></li>'
        for served in editions
    )
    return (
        '<article class="book work">'
        f'<img src="/covers/{quote(first.slug)}-thumb.jpg" alt="Cover of {escape(first.book.title)}" width="150"/>'
        f'<div><h2{_in_language(first)}>{escape(first.book.title)}</h2><p class="by">{escape(first.authors)}</p>'
        f'<ul class="editions">{items}</ul></div></article>'
    )


def _in_language(served: ServedBook) -> str:
    """`lang` and `dir` attributes for text written in the edition's language (its title, the
    language's own name), so that a phone picks the right font and direction."""
    language = served.book.language
    return f' lang="{escape(language)}" dir="{direction(language)}"'


def _buttons(served: ServedBook) -> str:
    """An edition's downloads and its link to read it online."""
    downloads = "".join(
        f'<a class="button" href="/books/{quote(edition.file_name)}" download="{escape(edition.file_name)}">'
        f"{escape(edition.label)} <small>{edition.size}</small></a>"
        for edition in served.editions
    )
    return f'{downloads}<a class="button light" href="/read/{quote(served.slug)}/">Read in the browser</a>'


def contents_page(served: ServedBook) -> bytes:
    """A book's table of contents, linking to its chapters read online."""
    items = "".join(f'<li><a href="{quote(entry.href)}">{escape(entry.title)}</a></li>' for entry in served.book.toc)
    body = (
        f'<p><a href="../../">&#8592; All books</a></p><h1>{escape(served.book.title)}</h1>'
        f'<p class="by">{escape(served.authors)}</p><ol class="toc">{items}</ol>'
    )
    return html_page(served.book.title, body, served.book.language)


def html_page(title: str, body: str, language: str) -> bytes:
    page = (
        f'<!DOCTYPE html>\n<html lang="{escape(language)}"><head><meta charset="utf-8"/>'
        '<meta name="viewport" content="width=device-width, initial-scale=1"/>'
        f"<title>{escape(title)}</title><style>{_STYLE}</style></head><body>{body}</body></html>\n"
    )
    return page.encode("utf-8")


def for_the_browser(data: bytes, name: str, spine: tuple[str, ...]) -> bytes:
    """A phone-sized viewport and previous/next links around an EPUB chapter."""
    links = ['<a href="./">Contents</a>']
    if name in spine:
        index = spine.index(name)
        if index > 0:
            links.insert(0, f'<a href="{quote(spine[index - 1])}">&#8592; Previous</a>')
        if index + 1 < len(spine):
            links.append(f'<a href="{quote(spine[index + 1])}">Next &#8594;</a>')
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

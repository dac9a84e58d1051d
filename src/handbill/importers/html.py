"""A web page (saved, or fetched from an address) made into a Document: the article only.

The page is parsed with lxml (already a dependency) and the article found by readability's
scoring, written here in a few dozen lines rather than taken from a library: trafilatura pulls in
a dozen packages and hands back its own XML, in which nested lists, tables and inline links lose
their shape; readability-lxml hands back re-serialised HTML to parse again and brings chardet and
cssselect. With lxml directly, every inline mark (emphasis, links, code), heading, list, quote,
table and image of the article goes straight to Markdown, and the page around it (navigation,
banners, share buttons, related links, comments, forms, scripts) is dropped with a report line.

Limits: the page's size (MAX_BYTES), its nesting (libxml2 stops at 255 levels without
huge_tree, and the conversion flattens anything deeper than MAX_DEPTH instead of recursing), its
images (MAX_IMAGES, and a time budget for fetching those of a web address)."""

from __future__ import annotations

import base64
import binascii
import codecs
import hashlib
import json
import re
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import unquote, urljoin, urlsplit

from .model import Block, Document, DocumentError, Image, Metadata, Repairs, escape, escape_inline

if TYPE_CHECKING:
    from lxml import etree

MAX_BYTES = 20 * 1024 * 1024
MAX_DEPTH = 60  # deeper than this, an element's text is taken whole (no recursion)
MAX_IMAGES = 200
MAX_IMAGE_BYTES = 20 * 1024 * 1024
IMAGE_FETCH_BUDGET = 30.0  # seconds for all the images of a fetched page together (the import's own limit is 60)


class HtmlImportError(DocumentError):
    """A page that holds no article, or is not HTML at all."""


def read(data: bytes, source: str, repairs: Repairs) -> Document:
    """The article of the page `data`, which came from `source` (a path, or the address it was
    fetched from, after redirects: relative links and images resolve against it)."""
    from lxml import etree

    if len(data) > MAX_BYTES:
        raise HtmlImportError(f"{_show(source)}: the page is larger than {MAX_BYTES // 1048576} MB")
    text = _decode(data, source)
    # lxml.etree's elements, not lxml.html's: no per-element class lookup, a third faster on big pages.
    parser = etree.HTMLParser(remove_comments=True, remove_pis=True, huge_tree=False, no_network=True)
    try:
        root = etree.fromstring(text, parser=parser) if text.strip() else None
    except (etree.ParserError, etree.XMLSyntaxError, ValueError):
        root = None
    if root is None:
        raise _no_article(source, "the file holds no HTML")
    too_deep = next((error.line for error in parser.error_log if "Excessive depth" in error.message), None)
    if too_deep is not None:
        repairs.add("page parts nested more than 255 levels deep left out", f"line {too_deep}")
    too_long = next((error.line for error in parser.error_log if "limit exceeded" in error.message.lower()), None)
    if too_long is not None:
        repairs.add("text beyond the parser's limit (10 MB in one run) left out", f"line {too_long}")
    remote = source.startswith(("http://", "https://"))
    base_url = source if remote else ""
    base = root.find(".//base[@href]")
    if base is not None and urlsplit(base.get("href", "")).scheme in ("http", "https"):
        base_url = urljoin(base_url, base.get("href", "").strip())

    metadata = _metadata(root, source if remote else "")
    body = root.find("body")
    if body is None:
        raise _no_article(source, "the page has no body")
    title_heading = _title_heading(body, metadata.title)
    title_text = _text(title_heading) if title_heading is not None else ""
    _drop_boilerplate(body, repairs)
    parts = _article(body)
    _clean_inside(parts, repairs)
    converter = _Converter(source, base_url, remote, repairs)
    blocks: list[Block] = converter.document_blocks
    converter.find_notes(parts)
    if title_heading is not None and not any(part.find(".//h1") is not None or part.tag == "h1" for part in parts):
        blocks.append(Block("heading", _literal(title_text), level=1, place=_place(title_heading)))
    for part in parts:
        converter.block(part, blocks, 0)
    if not any(block.kind in ("paragraph", "list", "quote", "table", "code") for block in blocks):
        if too_deep is not None:
            raise _no_article(source, f"its elements are nested more than 255 levels deep (line {too_deep})")
        if too_long is not None:
            raise _no_article(source, f"it holds a run of text longer than 10 MB (line {too_long})")
        raise _no_article(source, "the page has no paragraphs of text (it may need JavaScript to show them)")
    if not metadata.title and title_text:
        metadata.title = title_text
    return Document(source=source, blocks=blocks, metadata=metadata, images=converter.images, repairs=repairs)


def _show(source: str) -> str:
    return source if source.isprintable() else repr(source)


def _no_article(source: str, why: str) -> HtmlImportError:
    return HtmlImportError(f"no article text found in {_show(source)}: {why}")


# --- decoding -----------------------------------------------------------------------------------

_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9._:-]+)""", re.IGNORECASE)
_XML_ENCODING = re.compile(rb"""^\s*<\?xml[^>]+encoding\s*=\s*["']([A-Za-z0-9._:-]+)""")
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def _decode(data: bytes, source: str) -> str:
    """The page as text: a byte-order mark, else the charset the page declares, else UTF-8, else
    Windows-1252 (what browsers assume of an undeclared page that is not UTF-8)."""
    for bom, codec in (
        (codecs.BOM_UTF8, "utf-8"),
        (codecs.BOM_UTF16_LE, "utf-16-le"),
        (codecs.BOM_UTF16_BE, "utf-16-be"),
    ):
        if data.startswith(bom):
            text = data[len(bom) :].decode(codec, "replace")
            break
    else:
        declared = _META_CHARSET.search(data[:4096]) or _XML_ENCODING.search(data[:256])
        codec = ""
        if declared:
            try:
                codec = codecs.lookup(declared.group(1).decode("ascii")).name
            except LookupError:
                codec = ""
            if codec.startswith("utf-16") or codec in ("latin-1", "iso8859-1", "ascii"):
                codec = "utf-8" if codec.startswith("utf-16") else "cp1252"  # as the HTML standard says
        if not codec:
            try:
                data.decode("utf-8")
                codec = "utf-8"
            except UnicodeDecodeError:
                codec = "cp1252"
        text = data.decode(codec, "replace")
    sample = text[:65536]
    controls = len(_NOT_XML.findall(sample))
    if sample and (controls > len(sample) / 100 or "\x00" in sample[:1024]):
        raise HtmlImportError(f"{_show(source)}: this is not an HTML page (it holds binary data); check the file")
    text = _NOT_XML.sub("", text)
    return re.sub(r"^\s*<\?xml[^>]*\?>", "", text)  # lxml takes no encoding declaration in a str


# --- metadata -----------------------------------------------------------------------------------

_ARTICLE_TYPES = {
    "article",
    "newsarticle",
    "blogposting",
    "reportagenewsarticle",
    "report",
    "scholarlyarticle",
    "techarticle",
    "opinionnewsarticle",
    "analysisnewsarticle",
    "socialmediaposting",
    "webpage",
}


def _metadata(root: etree._Element, url: str) -> Metadata:
    """What the page states about itself: JSON-LD first (the most exact), then Open Graph and
    <meta>, then <title>, <time> and <html lang>."""
    meta: dict[str, str] = {}
    tags: list[str] = []
    for element in root.iter("meta"):
        key = (element.get("property") or element.get("name") or element.get("itemprop") or "").strip().lower()
        value = " ".join((element.get("content") or "").split())
        if key and value:
            if key in ("article:tag",):
                tags.append(value)
            meta.setdefault(key, value)
    ld = _json_ld(root)
    found = Metadata()
    title_element = root.find(".//title")
    page_title = " ".join(_all_text(title_element).split()) if title_element is not None else ""
    found.publisher = _ld_name(ld.get("publisher")) or meta.get("og:site_name", "")
    found.title = (
        _first_text(ld.get("headline"), ld.get("name") if ld.get("@type") != "WebPage" else "")
        or meta.get("og:title", "")
        or meta.get("twitter:title", "")
        or meta.get("dc.title", "")
        or _strip_site(page_title, found.publisher)
    )
    authors = _ld_names(ld.get("author"))
    if not authors:
        for key in ("author", "dc.creator", "article:author", "parsely-author", "sailthru.author"):
            value = meta.get(key, "")
            if value and not value.startswith(("http://", "https://")):
                authors = [value]
                break
    found.authors = authors
    # The first date stated that can be read: JSON-LD, then <meta> and Open Graph, then <time>.
    dates = [_first_text(ld.get("datePublished")), _first_text(ld.get("dateCreated"))]
    dates += [
        meta.get(key, "")
        for key in (
            "article:published_time",
            "og:published_time",
            "datepublished",
            "date",
            "dcterms.date",
            "dc.date",
            "dc.date.issued",
            "dcterms.created",
            "citation_publication_date",
            "parsely-pub-date",
            "sailthru.date",
            "pubdate",
            "publish-date",
        )
    ]
    dates += [element.get("datetime", "") for element in root.iterfind(".//time[@datetime]")][:1]
    found.date = next((iso for iso in (iso_date(text) for text in dates if text) if iso), "")
    found.description = (
        _first_text(ld.get("description"))
        or meta.get("og:description", "")
        or meta.get("description", "")
        or meta.get("twitter:description", "")
    )
    language = (
        _first_text(ld.get("inLanguage"))
        or root.get("lang")
        or root.get("{http://www.w3.org/XML/1998/namespace}lang")
        or meta.get("og:locale", "")
        or meta.get("content-language", "")
        or meta.get("dc.language", "")
    )
    language = language.strip().replace("_", "-")
    found.language = language if re.fullmatch(r"[A-Za-z]{2,3}(-[A-Za-z0-9]{1,8})*", language) else ""
    keywords = ld.get("keywords")
    if isinstance(keywords, str):
        tags.extend(part.strip() for part in keywords.split(","))
    elif isinstance(keywords, list):
        tags.extend(part.strip() for part in keywords if isinstance(part, str))
    found.subjects = list(dict.fromkeys(tag for tag in tags if tag))[:20]
    canonical = root.find(".//link[@rel='canonical']")
    candidates = [url, canonical.get("href", "") if canonical is not None else "", meta.get("og:url", "")]
    found.source_url = next((c.strip() for c in candidates if c.strip().startswith(("http://", "https://"))), "")
    return found


def _json_ld(root: etree._Element) -> dict:
    """The page's JSON-LD description of the article (the first object of an article type)."""
    objects: list[dict] = []
    for script in root.iter("script"):
        if (script.get("type") or "").strip().lower() != "application/ld+json" or not script.text:
            continue
        if len(script.text) > 1_000_000:
            continue
        try:
            value = json.loads(script.text)
        except (ValueError, RecursionError):
            continue
        pending = [value]
        while pending and len(objects) < 200:
            item = pending.pop(0)
            if isinstance(item, list):
                pending.extend(item)
            elif isinstance(item, dict):
                objects.append(item)
                if isinstance(item.get("@graph"), list):
                    pending.extend(item["@graph"])
    for wanted in (_ARTICLE_TYPES - {"webpage"}, {"webpage"}):
        for item in objects:
            kinds = item.get("@type")
            kinds = kinds if isinstance(kinds, list) else [kinds]
            if any(isinstance(kind, str) and kind.lower() in wanted for kind in kinds):
                return item
    return {}


def _first_text(*values: object) -> str:
    for value in values:
        if isinstance(value, list) and value:
            value = value[0]
        if isinstance(value, dict):
            value = value.get("name") or value.get("@value") or ""
        if isinstance(value, str) and value.strip():
            return " ".join(value.split())
    return ""


def _ld_name(value: object) -> str:
    return _first_text(value)


def _ld_names(value: object) -> list[str]:
    values = value if isinstance(value, list) else [value]
    names = [_first_text(item) for item in values[:20]]
    return [name for name in dict.fromkeys(names) if name and not name.startswith(("http://", "https://"))]


def _strip_site(title: str, site: str) -> str:
    """ "Headline | Site" -> "Headline", when the site is known."""
    for separator in (" | ", " - ", " – ", " — ", " :: ", " · "):
        head, _, tail = title.rpartition(separator)
        if head and site and tail.strip().lower() == site.strip().lower():
            return head.strip()
    return title


_ISO = re.compile(r"(\d{4})(?:-(\d{1,2})(?:-(\d{1,2}))?)?(?=$|[T\s])")
_SLASHED = re.compile(r"(\d{4})[/.](\d{1,2})[/.](\d{1,2})\b")
_COMPACT = re.compile(r"(\d{4})(\d{2})(\d{2})(?:$|T)")


def iso_date(text: str) -> str:
    """A date as ISO 8601 (2026-01-22, 2026-01 or 2026), or "" when it cannot be read for sure.
    The day is the one written: 2026-01-22T23:30:00-05:00 stays the 22nd."""
    text = text.strip()
    if not text:
        return ""
    for pattern in (_ISO, _SLASHED, _COMPACT):
        match = pattern.match(text)
        if match:
            year, month, day = match.group(1), match.group(2), match.group(3)
            if month and not 1 <= int(month) <= 12 or day and not 1 <= int(day) <= 31:
                return ""
            if not 1000 <= int(year) <= 2999:
                return ""
            return "-".join([year] + [f"{int(part):02d}" for part in (month, day) if part])
    from email.utils import parsedate_tz

    parsed = parsedate_tz(text)  # "Thu, 22 Jan 2026 10:00:00 GMT"
    if parsed and parsed[0] >= 1000:
        return f"{parsed[0]:04d}-{parsed[1]:02d}-{parsed[2]:02d}"
    from .dates import parse_date  # "22 January 2026", "22. Januar 2026": the shared byline reader

    worded = parse_date(text[:100])
    return worded[0] if worded else ""


# --- finding the article ------------------------------------------------------------------------

# Page parts that are never the article: dropped before the article is looked for.
_DROP_ALWAYS = {"script", "style", "noscript", "template", "link", "meta", "base", "title", "head"}
_DROP_BOILERPLATE = {
    "nav",
    "form",
    "button",
    "input",
    "select",
    "textarea",
    "dialog",
    "frame",
    "frameset",
    "applet",
    "map",
    "svg",
}
# What an e-book cannot hold: left out where the article has it, with a report line.
_MEDIA = {"iframe", "object", "embed", "canvas", "video", "audio"}
_MEDIA_LEFT_OUT = "embedded media (video, audio, frames) left out"
_DROP_ROLES = {
    "navigation",
    "banner",
    "contentinfo",
    "complementary",
    "dialog",
    "alertdialog",
    "search",
    "menu",
    "menubar",
    "toolbar",
    "tablist",
}
# Class and id words of page furniture, from Mozilla Readability's "unlikely candidates" plus
# cookie and consent banners, share and follow buttons, newsletters and promotions.
_UNLIKELY = re.compile(
    r"-ad-|\bads?\b|advert|ai2html|banner|breadcrumb|combx|comment|community|cookie|consent|gdpr|cover-wrap|"
    r"disqus|extra|footer|legends|menu|related|remark|replies|rss|\bshare\b|sharing-(?:buttons|tools|bar|links)|"
    r"sharebar|addthis|sharethis|shoutbox|sidebar|skyscraper|"
    r"social|sponsor|supplemental|ad-break|agegate|pagination|pager|popup|modal|newsletter|subscribe|signup|"
    r"promo|outbrain|taboola|toolbar|masthead|site-header|navbar|skip-link|print-only|follow-us|recommend|"
    r"author-bio|about-the-author|prev-next|read-more|more-stories|tag-list",
    re.IGNORECASE,
)
_LIKELY = re.compile(r"and|article|body|column|content|main|mathjax|shadow|story|entry|post-text", re.IGNORECASE)
_POSITIVE = re.compile(
    r"article|body|content|entry|hentry|h-entry|main|page|pagination|post|text|blog|story", re.IGNORECASE
)
_NEGATIVE = re.compile(
    r"-ad-|hidden|^hid$| hid$| hid |^hid |banner|combx|comment|com-|contact|footer|gdpr|masthead|media|meta|"
    r"outbrain|promo|related|scroll|share|shoutbox|sidebar|skyscraper|sponsor|shopping|tags|widget|cookie|social",
    re.IGNORECASE,
)
_HIDDEN_STYLE = re.compile(r"display\s*:\s*none|visibility\s*:\s*hidden", re.IGNORECASE)
_KEEP = {
    "html",
    "body",
    "article",
    "main",
    "a",
    "td",
    "th",
    "tr",
    "table",
    "tbody",
    "thead",
    "li",
    "pre",
    "code",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "p",
    "blockquote",
    "figure",
    "img",
}


def _title_heading(body: etree._Element, title: str) -> etree._Element | None:
    """The page's <h1> that gives the article's title (it often sits outside the article's body)."""
    wanted = " ".join(title.split()).lower()
    headings = list(body.iter("h1"))
    for heading in headings:
        text = _text(heading).lower()
        if text and wanted and (text == wanted or (len(text) > 10 and text in wanted)):
            return heading
    return headings[0] if len(headings) == 1 and len(_text(headings[0])) > 10 else None


def _drop_boilerplate(body: etree._Element, repairs: Repairs) -> None:
    """Remove what is never part of the article, and report what readers would have seen."""
    body_length = max(1, len(_text(body)))
    doomed: list[tuple[etree._Element, bool]] = []  # (element, whether its text is reported)
    # Only elements with a telling tag or attribute, in page order; the rest are passed over at C speed.
    tags = sorted(_DROP_ALWAYS | _DROP_BOILERPLATE | {"header", "footer", "aside"})
    candidates = body.xpath(
        " | ".join(f".//{tag}" for tag in tags) + " | .//*[@class or @id or @role or @hidden or @aria-hidden or @style]"
    )
    for element in candidates:
        tag = element.tag
        if not isinstance(tag, str):
            continue
        if tag == "noscript" and _unwrap_noscript_image(element):
            continue
        if tag in _DROP_ALWAYS:
            doomed.append((element, False))
            continue
        if _is_hidden(element) and not (element.get("hidden") is None and len(_text(element)) > body_length / 2):
            doomed.append((element, False))  # but not most of the page, hidden while a dialog was open
            continue
        if tag in _DROP_BOILERPLATE or (element.get("role") or "").strip().lower() in _DROP_ROLES:
            doomed.append((element, True))
            continue
        if tag in ("header", "footer", "aside") and not _inside_article(element):
            doomed.append((element, True))
            continue
        if tag in _KEEP:
            continue
        names = f"{element.get('class', '')} {element.get('id', '')}"
        if tag in ("footer", "aside") or (_UNLIKELY.search(names) and not _LIKELY.search(names)):
            if tag not in ("footer", "aside") and len(_text(element)) > body_length / 2:
                continue  # a wrapper around most of the page ("has-sidebar"): not furniture
            if element.find(".//article") is not None or element.find(".//main") is not None:
                continue
            doomed.append((element, True))
    dropped = 0
    first_line = 0
    for element, reported in doomed:
        parent = element.getparent()
        if parent is None or not _attached(element, body):
            continue  # inside something already dropped
        if reported and _text(element):
            dropped += 1
            first_line = first_line or getattr(element, "sourceline", None) or 0
        _remove(element)
    first = f"line {first_line}" if first_line else ""
    repairs.add("page parts around the article left out (navigation, banners, share buttons, comments)", first, dropped)


def _unwrap_noscript_image(noscript: etree._Element) -> bool:
    """A lazy-loading page's real image, in <noscript> after a placeholder <img>: put in the
    placeholder's place (as Readability does). Not a 1-pixel tracker."""
    images = noscript.findall(".//img")
    if len(images) != 1 or "".join(noscript.itertext()).strip():
        return False
    image = images[0]
    if not image.get("src") or any((image.get(side) or "").strip() in ("0", "1") for side in ("width", "height")):
        return False
    parent = noscript.getparent()
    if parent is None:
        return False
    previous = noscript.getprevious()
    if previous is not None and previous.tag == "img" and not (previous.tail or "").strip():
        _remove(previous)
    image.tail = noscript.tail
    parent.replace(noscript, image)
    return True


def _attached(element: etree._Element, body: etree._Element) -> bool:
    for ancestor in element.iterancestors():
        if ancestor is body:
            return True
    return False


def _is_hidden(element: etree._Element) -> bool:
    if element.get("hidden") is not None or (element.get("aria-hidden") or "").strip().lower() == "true":
        return True
    style = element.get("style")
    return bool(style and _HIDDEN_STYLE.search(style))


def _inside_article(element: etree._Element) -> bool:
    return any(
        ancestor.tag in ("article", "main") or (ancestor.get("itemprop") or "").lower() == "articlebody"
        for ancestor in element.iterancestors()
    )


def _remove(element: etree._Element) -> None:
    """Remove an element but keep the text that follows it."""
    parent = element.getparent()
    if parent is None:
        return
    tail = element.tail
    previous = element.getprevious()
    if tail:
        if previous is not None:
            previous.tail = (previous.tail or "") + tail
        else:
            parent.text = (parent.text or "") + tail
    parent.remove(element)


_PARAGRAPHS = ("p", "pre", "td", "blockquote", "div", "section", "article", "dd", "li")
_COMMAS = re.compile("[,，、،]")


def _article(body: etree._Element) -> list[etree._Element]:
    """The elements that hold the article, in page order: the best-scoring container (Mozilla
    Readability's scoring: paragraphs score by length and commas, and give their score to the
    ancestors that hold them), with the siblings that score nearly as well."""
    scores: dict[etree._Element, float] = {}
    notes = {
        element
        for element in body.xpath(".//*[@role or contains(@class, 'note') or contains(@id, 'note')]")
        if (element.get("role") or "") in ("doc-endnotes", "doc-footnote") or _NOTES.search(_names(element))
    }
    # Paragraphs, and containers that act as one: text of their own (a text node of at least 25
    # characters), or no block inside. Chosen by XPath, so a page of nested wrappers costs little.
    paragraphs = list(body.iter("p", "pre", "td", "blockquote")) + body.xpath(
        ".//*[self::div or self::section or self::article or self::li or self::dd]"
        f"[text()[string-length(normalize-space()) >= 25] or not(*[{_BLOCK_TEST}])]"
    )
    for element in paragraphs:
        if notes and any(ancestor in notes for ancestor in element.iterancestors()):
            continue  # the page's footnotes: part of the article, never where it is
        if element.tag in ("div", "section", "article", "li", "dd"):
            own = (element.text or "") + "".join(child.tail or "" for child in element)
            if len(own.strip()) < 25 and any(isinstance(child.tag, str) and child.tag in _BLOCKS for child in element):
                continue  # a container, scored through its paragraphs
        text = _text(element)
        if len(text) < 25:
            continue
        score = 1 + len(_COMMAS.findall(text)) + min(len(text) // 100, 3)
        for level, ancestor in enumerate(element.iterancestors()):
            if level >= 5 or ancestor.tag == "html":
                break
            if ancestor not in scores:
                scores[ancestor] = _initial_score(ancestor)
            scores[ancestor] += score / (1 if level == 0 else 2 if level == 1 else level * 3)
    if not scores:
        return [body] if _text(body) and _link_density(body) < 0.5 else []  # a short page, or no page
    ranked = sorted(scores, key=scores.__getitem__, reverse=True)[:10]
    final = {element: scores[element] * (1 - _link_density(element)) for element in ranked}
    best = max(final, key=final.__getitem__)
    top = _grow(best)
    for ancestor in top.iterancestors():
        if ancestor.tag == "article" and _link_density(ancestor) < 0.5:
            return [ancestor]  # the page says where its article is: take all of it (title, byline)
    parent = top.getparent()
    if parent is None or top.tag == "body":
        return [top]
    threshold = max(10.0, final[best] * 0.2)
    parts = []
    for sibling in parent:
        if sibling is top:
            parts.append(sibling)
            continue
        if not isinstance(sibling.tag, str):
            continue
        bonus = final[best] * 0.2 if sibling.get("class") and sibling.get("class") == top.get("class") else 0
        if sibling in scores and scores[sibling] * (1 - _link_density(sibling)) + bonus >= threshold:
            parts.append(sibling)
        elif sibling.tag == "p":
            text = _text(sibling)
            density = _link_density(sibling)
            if (len(text) > 80 and density < 0.25) or (
                0 < len(text) <= 80 and density == 0 and re.search(r"\.( |$)", text)
            ):
                parts.append(sibling)
    return parts


def _prose(element: etree._Element) -> int:
    """How much prose an element holds: the text of its paragraphs that are not mostly links."""
    total = 0
    for paragraph in element.iter("p", "pre", "blockquote", "li", "h2", "h3", "h4", "td", "dd"):
        text = _text(paragraph)
        if len(text) >= 25 and _link_density(paragraph) < 0.3:
            total += len(text)
    return total


def _grow(top: etree._Element) -> etree._Element:
    """The container of the whole article, when the best one holds only part of it (an article
    in several sibling blocks: steps, pages, sections): move up while the parent holds much more
    prose and is not mostly links."""
    prose = _prose(top)
    for parent in top.iterancestors():
        if parent.tag in ("body", "html"):
            break
        more = _prose(parent)
        if more < prose * 1.3 or _link_density(parent) > 0.35:
            break
        top, prose = parent, more
    return top


def _clean_inside(parts: list[etree._Element], repairs: Repairs) -> None:
    """Drop the furniture inside the article's containers (Readability's "clean conditionally"):
    blocks whose class says they are furniture, and blocks of links with little prose (previous
    and next, more stories), but never a container of the article's paragraphs."""
    keep: set[etree._Element] = set()
    for part in parts:
        keep.add(part)
        for paragraph in part.iter("p"):
            if len(_text(paragraph)) >= 80:
                keep.update(paragraph.iterancestors())
    dropped = 0
    first = ""
    for part in parts:
        for element in list(part.iter("div", "section", "aside", "ul", "ol", "table", "footer")):
            if element in keep or not _attached(element, part):
                continue
            names = f"{element.get('class', '')} {element.get('id', '')}"
            weight = (25 if _POSITIVE.search(names) else 0) - (25 if _NEGATIVE.search(names) else 0)
            text = _text(element)
            if not text and element.find(".//img") is None and next(element.iter(*_MEDIA), None) is None:
                _remove(element)
                continue
            is_list = element.tag in ("ul", "ol", "table")  # a list or table of links is content
            density = _link_density(element)
            if weight < 0 or (not is_list and len(_COMMAS.findall(text)) < 10 and density > 0.5):
                dropped += 1
                first = first or _place(element)
                _remove(element)
    repairs.add("page parts around the article left out (navigation, banners, share buttons, comments)", first, dropped)


_BLOCK_TEST = " or ".join(
    f"self::{tag}"
    for tag in (
        "p",
        "div",
        "section",
        "article",
        "ul",
        "ol",
        "dl",
        "table",
        "blockquote",
        "pre",
        "figure",
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "header",
        "footer",
        "aside",
        "main",
        "form",
        "hr",
    )
)
_NOTES = re.compile(r"\b(?:foot|end)notes?\b", re.IGNORECASE)


def _names(element: etree._Element) -> str:
    return f"{element.get('class', '')} {element.get('id', '')}"


def _initial_score(element: etree._Element) -> float:
    score = {
        "div": 5,
        "article": 10,
        "main": 5,
        "section": 3,
        "pre": 3,
        "td": 3,
        "blockquote": 3,
        "address": -3,
        "ol": -3,
        "ul": -3,
        "dl": -3,
        "dd": -3,
        "dt": -3,
        "li": -3,
        "form": -3,
        "h1": -5,
        "h2": -5,
        "h3": -5,
        "h4": -5,
        "h5": -5,
        "h6": -5,
        "th": -5,
    }.get(element.tag, 0)
    names = f"{element.get('class', '')} {element.get('id', '')}"
    if (element.get("itemprop") or "").lower() == "articlebody":
        score += 25
    if _NEGATIVE.search(names):
        score -= 25
    if _POSITIVE.search(names):
        score += 25
    return score


def _link_density(element: etree._Element) -> float:
    """The share of an element's text that is link text."""
    length = _size(element)
    if not length:
        return 0.0
    linked = sum(
        _size(link) * (0.3 if (link.get("href") or "").strip().startswith("#") else 1)  # notes, anchors
        for link in element.iter("a")
    )
    return min(1.0, linked / length)


def _size(element: etree._Element) -> int:
    """The length of an element's text, its runs of whitespace counted as one space (except in
    big elements, where that would cost more than it tells)."""
    text = _all_text(element)
    return len(text) if len(text) > 20_000 else len(" ".join(text.split()))


def _text(element: etree._Element) -> str:
    return " ".join(_all_text(element).split())


def _all_text(element: etree._Element) -> str:
    return "".join(element.itertext())


def _place(element: etree._Element) -> str:
    line = getattr(element, "sourceline", None)
    return f"line {line}" if line else ""


# --- the article as Markdown blocks -------------------------------------------------------------

_BLOCKS = {
    "p",
    "div",
    "section",
    "article",
    "main",
    "header",
    "footer",
    "aside",
    "address",
    "blockquote",
    "ul",
    "ol",
    "dl",
    "dt",
    "dd",
    "li",
    "pre",
    "table",
    "thead",
    "tbody",
    "tfoot",
    "tr",
    "td",
    "th",
    "caption",
    "hr",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "figure",
    "figcaption",
    "details",
    "summary",
    "center",
    "fieldset",
    "hgroup",
    "body",
    "html",
    "menu",
    "legend",
    "listing",
    "xmp",
    "plaintext",
}
_HEADINGS = {"h1": 1, "h2": 2, "h3": 3, "h4": 4, "h5": 5, "h6": 6}
_STRONG = {"strong", "b"}
_EMPHASIS = {"em", "i", "cite", "dfn", "var"}
_CODE = {"code", "kbd", "samp", "tt"}
_BOLD_STYLE = re.compile(r"font-weight\s*:\s*(bold|[6-9]00)", re.IGNORECASE)
_ITALIC_STYLE = re.compile(r"font-style\s*:\s*italic", re.IGNORECASE)
_SPACES = re.compile(r"[ \t\n\r\f]+")
_IMAGE_TYPES = {b"\x89PNG\r\n\x1a\n": "png", b"\xff\xd8\xff": "jpg", b"GIF87a": "gif", b"GIF89a": "gif"}
_IMAGE_MEDIA = {"image/png": "PNG", "image/jpeg": "JPEG", "image/gif": "GIF", "image/webp": "WebP"}


@dataclass
class _Inline:
    """The state of one paragraph being written."""

    line_start: bool = True
    strong: bool = False
    emphasis: bool = False
    link: bool = False
    breaks: bool = True  # <br> is a line break (not in headings and table cells)
    plain: int = 0  # characters of text outside bold
    bold: int = 0  # characters of text in bold


class _Converter:
    def __init__(self, source: str, base_url: str, remote: bool, repairs: Repairs):
        self.source = source
        self.base_url = base_url
        self.remote = remote
        self.folder = None if remote else Path(source).parent
        self.repairs = repairs
        self.images: list[Image] = []
        self.names: dict[str, str] = {}  # digest of the image's bytes -> its name
        self.image_deadline = 0.0
        self.flattened = False
        self.document_blocks: list[Block] = []
        self.notes: dict[etree._Element, etree._Element] = {}  # a note's reference -> the note
        self.numbers: dict[etree._Element, int] = {}  # a note -> its number, in order of first reference
        self.backlinks: set[etree._Element] = set()
        self.pending: list[etree._Element] = []  # notes referred to in the block being written
        self.written: set[etree._Element] = set()

    # footnotes

    def find_notes(self, parts: list[etree._Element]) -> None:
        """Footnote references (`<a href="#fn1">` marked as a note reference, or set in <sup>) whose
        note is in the article: they become Markdown footnotes, each note written right after the
        block that first refers to it (so that it stays in that block's chapter), and the page's
        own list of notes is taken out."""
        targets: dict[str, etree._Element] = {}
        for part in parts:
            for element in part.iter():
                if isinstance(element.tag, str) and element.get("id"):
                    targets.setdefault(element.get("id", ""), element)
        holders: list[etree._Element] = []
        for part in parts:
            for link in part.iter("a"):
                href = (link.get("href") or "").strip()
                note = targets.get(unquote(href[1:])) if href.startswith("#") else None
                if note is None or not _is_note_reference(link) or note is link:
                    continue
                note = _note_item(note)
                holder = _note_holder(note)
                if holder is None or _is_ancestor(holder, link):
                    continue
                self.notes[link] = note
                if note not in self.numbers:
                    self.numbers[note] = len(self.numbers) + 1
                    holders.append(holder)
                if link.get("id"):
                    for back in note.iter("a"):
                        if (back.get("href") or "").strip() == "#" + link.get("id", ""):
                            self.backlinks.add(back)
        for note in self.numbers:
            for back in note.iter("a"):
                if (back.get("role") or "") == "doc-backlink" or "back" in (back.get("class") or ""):
                    self.backlinks.add(back)
        for holder in holders:
            for note in [note for note in self.numbers if _is_ancestor(holder, note)]:
                if note.getparent() is not None:
                    _remove(note)
            if holder.getparent() is not None and not _text(holder):
                _remove(holder)  # the page's list of notes, now empty (with its rule)

    def note_reference(self, link: etree._Element, state: _Inline) -> str:
        note = self.notes[link]
        if note not in self.pending and note not in self.written:
            self.pending.append(note)
        state.line_start = False
        return f"[^{self.numbers[note]}]"

    def emit(self, out: list[Block], block: Block) -> None:
        out.append(block)
        if out is not self.document_blocks:
            return
        while self.pending:
            note = self.pending.pop(0)
            if note in self.written:
                continue
            self.written.add(note)
            inner: list[Block] = []
            self.children(note, inner, 1, nested=True)  # may refer to further notes: they follow
            texts = [block_markdown(item) for item in inner if block_markdown(item)]
            if not texts:
                texts = [""]
            # One paragraph, its parts on lines of their own: the shared repairs rejoin the lines of a
            # paragraph but keep its hard breaks, and a note's blank-line continuation would be joined.
            body = "  \n".join(re.sub(r"(?<!  )\n+", "  \n", text.strip()) for text in texts)
            out.append(Block("paragraph", f"[^{self.numbers[note]}]: {body}".rstrip(), place=_place(note)))

    # blocks

    def block(self, element: etree._Element, out: list[Block], depth: int, nested: bool = False) -> None:
        tag = element.tag
        if not isinstance(tag, str):
            return
        place = _place(element)
        if depth > MAX_DEPTH:
            if not self.flattened:
                self.repairs.add("page parts nested too deeply taken as plain text", place)
                self.flattened = True
            text = _text(element)
            if text:
                self.emit(out, Block("paragraph", _literal(text), place=place))
            return
        if tag in _HEADINGS:
            state = _Inline(breaks=False)
            text = _tidy(self.inline_children(element, state, depth))
            if text.endswith("#"):
                text = text[:-1] + "\\#"  # not a closing sequence: "C#" stays "C#"
            if text:
                self.emit(out, Block("heading", text, level=_HEADINGS[tag], place=place))
        elif tag == "hr":
            self.emit(out, Block("rule", "", place=place))
        elif tag in ("ul", "ol", "menu"):
            text = self.list_markdown(element, depth)
            if text:
                self.emit(out, Block("list", text, place=place))
        elif tag == "blockquote":
            inner: list[Block] = []
            self.children(element, inner, depth + 1, nested=True)
            text = "\n\n".join(block_markdown(block) for block in inner if block_markdown(block))
            if text:
                quoted = "\n".join(f"> {line}" if line else ">" for line in text.split("\n"))
                self.emit(out, Block("quote", quoted, place=place))
        elif tag in ("pre", "listing", "xmp", "plaintext"):
            code = _all_text(element).strip("\n").rstrip()
            if code.strip():
                self.emit(out, Block("code", _code_block(code, nested), place=place))
        elif tag == "table":
            self.table(element, out, depth, nested)
        else:
            self.children(element, out, depth + 1, nested)

    def children(self, element: etree._Element, out: list[Block], depth: int, nested: bool = False) -> None:
        """An element's content: runs of inline content become paragraphs, block children blocks."""
        run: list[etree._Element | str] = []
        if element.text:
            run.append(element.text)
        for child in element:
            if isinstance(child.tag, str) and self._is_block(child):
                self.paragraph(run, out, depth, _place(child))
                run = []
                self.block(child, out, depth, nested)
            elif isinstance(child.tag, str):
                run.append(child)
            if child.tail:
                run.append(child.tail)
        self.paragraph(run, out, depth, _place(element))

    def _is_block(self, element: etree._Element) -> bool:
        if element.tag in _BLOCKS:
            return True
        # An inline element around blocks (<a><div>...</div></a>, <span><p>): a container.
        return any(isinstance(d.tag, str) and d.tag in _BLOCKS for d in element.iterdescendants())

    def paragraph(self, run: list, out: list[Block], depth: int, place: str) -> None:
        if not run:
            return
        state = _Inline()
        parts = []
        for item in run:
            parts.append(self.text(item, state) if isinstance(item, str) else self.inline(item, state, depth))
        text = _tidy("".join(parts))
        if not text:
            return
        if re.fullmatch(r"!\[(?:\\.|[^\]\\])*\]\(images/[^)]+\)", text):
            self.emit(out, Block("image", text, place=place))
        else:
            self.emit(out, Block("paragraph", text, bold=state.bold > 0 and state.plain == 0, place=place))

    # inline

    def text(self, text: str, state: _Inline) -> str:
        text = _SPACES.sub(" ", text)
        if not text.strip():
            return "" if state.line_start else text
        visible = len(text.strip())
        if state.strong:
            state.bold += visible
        else:
            state.plain += visible
        if state.line_start:
            state.line_start = False
            lead = " " if text.startswith(" ") else ""
            return _before_link(lead + _literal(text))
        return _before_link(escape_inline(text))

    def inline_children(self, element: etree._Element, state: _Inline, depth: int) -> str:
        parts = [self.text(element.text, state)] if element.text else []
        for child in element:
            if isinstance(child.tag, str):
                parts.append(self.inline(child, state, depth + 1))
            if child.tail:
                parts.append(self.text(child.tail, state))
        return "".join(parts)

    def inline(self, element: etree._Element, state: _Inline, depth: int) -> str:
        tag = element.tag
        if depth > MAX_DEPTH:
            return self.text(_all_text(element), state)
        if tag == "br":
            if not state.breaks:
                return " "
            if state.line_start:
                return ""
            state.line_start = True
            return "  \n"
        if tag in _MEDIA:
            self.repairs.add(_MEDIA_LEFT_OUT, _place(element))
            return ""
        if tag == "wbr":
            return ""
        if tag == "img":
            return self.image(element, state)
        if tag in _CODE:
            return self.code(element, state)
        style = element.get("style") or ""
        if (tag in _STRONG or _BOLD_STYLE.search(style)) and not state.strong:
            return self.wrap(element, state, depth, "strong", "**")
        if (tag in _EMPHASIS or _ITALIC_STYLE.search(style)) and not state.emphasis:
            return self.wrap(element, state, depth, "emphasis", "*")
        if tag == "a" and element in self.notes:
            return self.note_reference(element, state)
        if tag == "a" and element in self.backlinks:
            return ""
        if tag == "a" and not state.link:
            target = self.link_target(element.get("href") or "")
            if target:
                state.link = True
                inner = self.inline_children(element, state, depth)
                state.link = False
                core = inner.strip()
                if not core:
                    return inner
                return _lead(inner) + f"[{core}]({target})" + _trail(inner)
        return self.inline_children(element, state, depth)

    def wrap(self, element: etree._Element, state: _Inline, depth: int, flag: str, marker: str) -> str:
        setattr(state, flag, True)
        inner = self.inline_children(element, state, depth)
        setattr(state, flag, False)
        core = inner.strip()
        if not core:
            return inner
        opening, closing = _MARKS[marker]
        return _lead(inner) + opening + core + closing + _trail(inner)

    def code(self, element: etree._Element, state: _Inline) -> str:
        code = _SPACES.sub(" ", _all_text(element))
        if not code.strip():
            return code if not state.line_start else ""
        state.line_start = False
        state.plain += 0 if state.strong else len(code.strip())
        state.bold += len(code.strip()) if state.strong else 0
        # Marked, and fenced by _tidy once the paragraph is whole: adjacent code spans become one
        # (two fences side by side would read as one longer fence).
        return _lead(code) + _CODE_START + code.strip() + _CODE_END + _trail(code)

    def link_target(self, href: str) -> str:
        href = href.strip()
        if not href or href.startswith("#"):
            return ""
        if self.base_url:
            try:
                href = urljoin(self.base_url, href)
            except ValueError:
                return ""
        scheme = urlsplit(href).scheme.lower() if "://" in href or href.lower().startswith("mailto:") else ""
        if scheme not in ("http", "https", "mailto"):
            return ""
        for character, code in (
            (" ", "%20"),
            ("(", "%28"),
            (")", "%29"),
            ("<", "%3C"),
            (">", "%3E"),
            ('"', "%22"),
            ("\\", "%5C"),
            ("`", "%60"),
            ("\n", ""),
            ("\t", ""),
        ):
            href = href.replace(character, code)
        return href

    # lists and tables

    def list_markdown(self, element: etree._Element, depth: int) -> str:
        ordered = element.tag == "ol"
        number = 1
        start = (element.get("start") or "").strip()
        if ordered and start.isdigit() and len(start) < 9:
            number = int(start)
        items: list[str] = []
        loose = False
        for child in element:
            if not isinstance(child.tag, str):
                continue
            blocks: list[Block] = []
            if child.tag == "li":
                self.children(child, blocks, depth + 1, nested=True)
            else:
                self.block(child, blocks, depth + 1, nested=True)
            texts = [(block, block_markdown(block)) for block in blocks]
            texts = [(block, text) for block, text in texts if text]
            if not texts:
                continue
            marker = f"{number}." if ordered else "-"
            number += 1
            lines: list[str] = []
            for index, (block, text) in enumerate(texts):
                if index:
                    if block.kind != "list":
                        loose = True
                        lines.append("")
                lines.extend(text.split("\n"))
            body = "\n".join(("    " + line if line else "") if index else line for index, line in enumerate(lines))
            items.append(f"{marker} {body}")
        return ("\n\n" if loose else "\n").join(items)

    def table(self, element: etree._Element, out: list[Block], depth: int, nested: bool) -> None:
        rows = [row for row in element.iter("tr") if _nearest_table(row) is element]
        cells = [[cell for cell in row if isinstance(cell.tag, str) and cell.tag in ("td", "th")] for row in rows]
        simple = (
            not nested
            and len(rows) >= 2
            and all(cells)
            and max(len(row) for row in cells) >= 2
            and not any(
                (cell.get("colspan") or "1").strip() not in ("", "1")
                or (cell.get("rowspan") or "1").strip() not in ("", "1")
                for row in cells
                for cell in row
            )
            and not any(
                isinstance(d.tag, str) and d.tag in _BLOCKS and d.tag != "p"
                for row in cells
                for cell in row
                for d in cell.iterdescendants()
            )
        )
        if not simple:
            self.children(element, out, depth + 1, nested)  # a layout table: its cells' content in order
            return
        caption = element.find("caption")
        if caption is not None:
            self.children(caption, out, depth + 1, nested)
        width = max(len(row) for row in cells)
        lines = []
        for index, row in enumerate(cells):
            texts = []
            for cell in row:
                state = _Inline(breaks=False)
                texts.append(_tidy(self.inline_children(cell, state, depth + 1)))  # `|` escaped as text
            texts += [""] * (width - len(texts))
            lines.append("| " + " | ".join(texts) + " |")
            if index == 0:
                lines.append("|" + "|".join([" --- "] * width) + "|")
        self.emit(out, Block("table", "\n".join(lines), place=_place(element)))

    # images

    def image(self, element: etree._Element, state: _Inline) -> str:
        name = self.load_image(element)
        if not name:
            return ""
        alt = _SPACES.sub(" ", element.get("alt") or "").strip()
        alt = escape_inline(alt)
        state.line_start = False
        return f"![{alt}](images/{name})"

    def load_image(self, element: etree._Element) -> str:
        """The name of the image `element` shows, now among the document's images, or "" (with a
        report line) when it cannot be had."""
        place = _place(element)
        sources = [element.get(name) or "" for name in ("src", "data-src", "data-original", "data-lazy-src")]
        srcset = element.get("srcset") or element.get("data-srcset") or ""
        if srcset:
            sources.append(srcset.split(",")[0].strip().split(" ")[0])
        sources = [s.strip() for s in sources if s.strip()]
        # A lazy-loading placeholder (a tiny data: image) gives way to the real source.
        if len(sources) > 1 and sources[0].startswith("data:") and len(sources[0]) < 400:
            sources = sources[1:]
        if not sources:
            return ""
        if len(self.images) >= MAX_IMAGES:
            self.repairs.add(f"images beyond the first {MAX_IMAGES} left out", place)
            return ""
        data = self.image_bytes(sources[0], place)
        if data is None:
            return ""
        extension = _image_type(data)
        if extension is None:
            self.repairs.add("images in a form an e-book cannot hold (not PNG, JPEG, GIF or WebP) left out", place)
            return ""
        size = _image_size(data)
        if size is None:
            self.repairs.add("damaged images left out", place)
            return ""
        if size[0] * size[1] <= 4:
            return ""  # a tracking pixel: nothing a reader sees
        digest = hashlib.sha256(data).hexdigest()
        if digest not in self.names:
            name = f"{len(self.images) + 1:03d}.{extension}"
            self.names[digest] = name
            self.images.append(Image(name=name, data=data))
        return self.names[digest]

    def image_bytes(self, src: str, place: str) -> bytes | None:
        if src.startswith("data:"):
            return _data_url(src)
        if self.remote or self.base_url:
            address = urljoin(self.base_url, src) if self.base_url else src
        else:
            address = src
        scheme = urlsplit(address).scheme.lower()
        if scheme in ("http", "https"):
            if not self.remote:
                self.repairs.add("images on the web, not saved with the page, left out", place)
                return None
            return self.fetch_image(address, place)
        if self.remote or self.folder is None:
            self.repairs.add("images that are not web addresses left out", place)
            return None
        return self.local_image(src, place)

    def fetch_image(self, address: str, place: str) -> bytes | None:
        from . import fetch

        now = time.monotonic()
        if not self.image_deadline:
            self.image_deadline = now + IMAGE_FETCH_BUDGET
        remaining = self.image_deadline - now
        if remaining <= 1:
            self.repairs.add(f"images left out: fetching them took more than {IMAGE_FETCH_BUDGET:g} s", place)
            return None
        try:
            data, _media, _final = fetch.get(
                address, timeout=min(fetch.TIMEOUT, remaining), max_bytes=MAX_IMAGE_BYTES, accept=_IMAGE_MEDIA
            )
        except fetch.FetchError:
            self.repairs.add("images that could not be fetched left out", place)
            return None
        return data

    def local_image(self, src: str, place: str) -> bytes | None:
        """An image saved beside the page ("Page_files/1.jpg"): only inside the page's folder."""
        assert self.folder is not None
        parts = urlsplit(src)
        if parts.scheme.lower() not in ("", "file") or parts.netloc not in ("", "localhost"):
            self.repairs.add("images that are not files beside the page left out", place)
            return None
        try:
            folder = self.folder.resolve()
            path = Path(unquote(parts.path))
            target = (path if path.is_absolute() else folder / path).resolve()
        except (OSError, ValueError, RuntimeError):
            self.repairs.add("images that could not be read left out", place)
            return None
        if not target.is_relative_to(folder):
            self.repairs.add("images outside the page's folder left out", place)
            return None
        try:
            if not target.is_file():
                self.repairs.add("images missing beside the page left out", place)
                return None
            if target.stat().st_size > MAX_IMAGE_BYTES:
                self.repairs.add(f"images larger than {MAX_IMAGE_BYTES // 1048576} MB left out", place)
                return None
            return target.read_bytes()
        except OSError:
            self.repairs.add("images that could not be read left out", place)
            return None


_NOTE_NAMES = re.compile(r"foot|endnote|\bfn|note|reference|citation", re.IGNORECASE)


def _is_note_reference(link: etree._Element) -> bool:
    marks = f"{link.get('role', '')} {link.get('class', '')} {link.get('{http://www.idpf.org/2007/ops}type', '')}"
    if re.search(r"noteref|footnote-ref|fnref|footnote", marks, re.IGNORECASE):
        return True
    parent = link.getparent()
    return (parent is not None and parent.tag == "sup") or link.find("sup") is not None


def _note_item(target: etree._Element) -> etree._Element:
    """The whole note a reference points at: the list item or aside around an anchor inside it."""
    for element in (target, *target.iterancestors()):
        if element.tag in ("li", "aside", "dd") or (element.get("role") or "") in ("doc-endnote", "doc-footnote"):
            return element
        if element.tag in ("p", "div") and element.get("id"):
            return element
    return target


def _note_holder(note: etree._Element) -> etree._Element | None:
    """The part of the page that holds the notes, if `note` is in one."""
    for element in (note, *note.iterancestors()):
        role = element.get("role") or ""
        names = f"{element.get('class', '')} {element.get('id', '')} {element.get('epub:type', '')}"
        if role in ("doc-endnotes", "doc-footnote", "doc-endnote") or _NOTE_NAMES.search(names):
            if element is note:
                continue
            return element
        if element.tag in ("body", "article", "main"):
            break
    return None


def _is_ancestor(ancestor: etree._Element, element: etree._Element) -> bool:
    return any(parent is ancestor for parent in element.iterancestors())


def block_markdown(block: Block) -> str:
    """A block as Markdown, for blocks inside quotes and list items."""
    if block.kind == "heading":
        return "#" * max(1, min(block.level, 6)) + " " + block.text
    if block.kind == "rule":
        return "* * *"
    return block.text


def _code_block(code: str, nested: bool) -> str:
    if nested:  # Python-Markdown's fenced code works only at the top level
        return "\n".join("    " + line if line.strip() else "" for line in code.split("\n"))
    longest = max((len(run) for run in re.findall(r"`{3,}", code)), default=2)
    fence = "`" * (longest + 1)
    return f"{fence}\n{code}\n{fence}"


def _nearest_table(element: etree._Element) -> etree._Element | None:
    for ancestor in element.iterancestors("table"):
        return ancestor
    return None


_CODE_START, _CODE_END = "\x00", "\x01"  # never in text: _decode removes them
_CODE_SPAN = re.compile("\x00([^\x01]*)\x01")
# Emphasis marked the same way, so that two spans side by side become one (`*a**b*` is not two).
_MARKS = {"**": ("\x02", "\x03"), "*": ("\x04", "\x05")}


# Every ampersand but those escape() wrote: a browser (and lxml) reads "&#1" or "&amp" without
# a semicolon as a character reference, and the next run of text may complete one.
_AMPERSAND = re.compile(r"&(?!amp;|lt;)")


def _before_link(text: str) -> str:
    """A run of text that ends in "!" is marked: _tidy escapes the "!" if a link follows it
    (it would read as an image)."""
    return text + _BANG if text.endswith("!") else text


def _literal(text: str) -> str:
    """Literal text at the start of a line, as Markdown."""
    return _AMPERSAND.sub("&amp;", escape(text))


_BANG = "\x06"
_DEFINITION_LIKE = re.compile(r"\[[^\[\]]*\]:")
_STRONG_SPAN = re.compile("\x02([^\x02\x03]*)\x03")
_EMPHASIS_SPAN = re.compile("\x04([^\x04\x05]*)\x05")
_CROWDED = set("*\\\x02\x03\x04\x05")


def _emphasis(match: re.Match[str], marker: str, tag: str) -> str:
    """**strong** and *em* as Markdown, but as HTML tags where an asterisk next to the span (of
    another span: `**a***b*`) or a backslash would make the markers read otherwise."""
    text = match.string
    before = text[match.start() - 1] if match.start() else " "
    after = text[match.end()] if match.end() < len(text) else " "
    if before in _CROWDED or after in _CROWDED:
        return f"<{tag}>{match.group(1)}</{tag}>"
    return marker + match.group(1) + marker


def _fence(match: re.Match[str]) -> str:
    code = match.group(1)
    # Python-Markdown adds a ";" to "&#1" in a code span, and a "]:" may have to become "]&#58;"
    # (see _tidy), which only a tag shows as ":": such code is written as a tag.
    if "]:" in code or re.search(r"&#?\w", code):
        # Text between tags is still Markdown: every mark escaped, as in any text ($, ~, &#1, ...).
        return f"<code>{escape_inline(code)}</code>"
    longest = max((len(run) for run in re.findall(r"`+", code)), default=0)
    fence = "`" * (longest + 1)
    return fence + (f" {code} " if "`" in code else code) + fence


def _tidy(text: str) -> str:
    """One paragraph's Markdown: code spans fenced, single spaces, no space at either end of a line."""
    for opening, closing in _MARKS.values():
        text = text.replace(closing + opening, "")
    if _CODE_START in text:
        text = _CODE_SPAN.sub(_fence, text.replace(_CODE_END + _CODE_START, ""))
    if _MARKS["**"][0] in text:
        text = _STRONG_SPAN.sub(lambda match: _emphasis(match, "**", "strong"), text)
    if _MARKS["*"][0] in text:
        text = _EMPHASIS_SPAN.sub(lambda match: _emphasis(match, "*", "em"), text)
    if _BANG in text:
        text = text.replace("!" + _BANG + "[", "\\![").replace(_BANG, "")
    lines = text.split("  \n")
    lines = [re.sub(r" {2,}", " ", line).strip() for line in lines]
    # "[\]:](...)" or "[^1]: ..." at a line's start would read as a link or note definition.
    lines = [line.replace("]:", "]&#58;", 1) if _DEFINITION_LIKE.match(line) else line for line in lines]
    while lines and not lines[-1]:
        lines.pop()
    return "  \n".join(line for line in lines if line)


def _lead(text: str) -> str:
    return text[: len(text) - len(text.lstrip())]


def _trail(text: str) -> str:
    return text[len(text.rstrip()) :]


def _data_url(src: str) -> bytes | None:
    header, _, payload = src.partition(",")
    try:
        if header.lower().endswith(";base64"):
            return base64.b64decode(re.sub(r"\s+", "", unquote(payload)), validate=False)
        return unquote(payload).encode("latin-1", "replace")
    except (binascii.Error, ValueError):
        return None


def _image_type(data: bytes) -> str | None:
    for magic, extension in _IMAGE_TYPES.items():
        if data.startswith(magic):
            return extension
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "webp"
    return None


def _image_size(data: bytes) -> tuple[int, int] | None:
    """The image's size in pixels, if Pillow can read it whole."""
    import io
    import warnings

    from PIL import Image as PILImage

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", PILImage.DecompressionBombWarning)
            with PILImage.open(io.BytesIO(data)) as picture:
                size = picture.size
                picture.verify()
        return size
    except Exception:  # Pillow raises many kinds for a damaged or hostile file
        return None

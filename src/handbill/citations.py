"""Citations: pandoc's `[@key]`, `[see @key, p. 10]`, `[@a; @b]` and `@key` made formatted
citations, and a References chapter at the end of the book.

In: `bibliography` (BibTeX or CSL-JSON) and `csl` from book.toml, and the rendered documents, one
at a time. Out: the same documents with each citation's text replaced by the style's (plain text),
then one more document, the references (cited works only, in the style's order). citeproc-py does
the formatting, with its bundled Harvard author-date style unless `csl` names another. Loaded only
for a book with `bibliography`: without one, `[@key]` stays text as written.
"""

from __future__ import annotations

import io
import json
import logging
import os
import re
import warnings
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from .config import BookConfig
from .errors import ConfigError
from .render import RenderedDocument
from .render.extras import label
from .sources import SourceDocument, decode, read_limited

log = logging.getLogger(__name__)

MAX_BIBLIOGRAPHY_BYTES = 5 * 1024 * 1024
MAX_STYLE_BYTES = 1024 * 1024
DEFAULT_STYLE = "harvard-cite-them-right"
"""The author-date style citeproc-py ships: `(Marx, 1867, p. 10)`."""

_KEY = r"[\w](?:[\w]|[:.#$%&\-+?<>~/](?=\w))*"
_BRACKETS = re.compile(r"\[([^\[\]]*@[^\[\]]*)\]")
_ITEM = re.compile(rf"^\s*(?P<prefix>.*?)(?<![\w@])(?P<minus>-)?@(?P<key>{_KEY})(?P<rest>.*?)\s*$", re.S)
_NARRATIVE = re.compile(rf"(?<![\w@\[\-])@(?P<key>{_KEY})")
_LOCATOR_LABELS = {
    "p": "page", "pp": "page", "page": "page", "pages": "page",
    "ch": "chapter", "chap": "chapter", "chapter": "chapter", "chapters": "chapter",
    "sec": "section", "section": "section", "sections": "section", "§": "section", "§§": "section",
    "vol": "volume", "vols": "volume", "volume": "volume", "volumes": "volume",
    "para": "paragraph", "paragraph": "paragraph", "¶": "paragraph",
    "fig": "figure", "figure": "figure", "figures": "figure",
    "l": "line", "ll": "line", "line": "line", "lines": "line",
    "n": "note", "nn": "note", "note": "note", "notes": "note",
    "bk": "book", "book": "book", "col": "column", "column": "column",
    "pt": "part", "part": "part", "v": "verse", "vv": "verse", "verse": "verse",
}  # fmt: skip
_LOCATOR = re.compile(
    r"^,?\s*(?:(?P<label>" + "|".join(sorted(map(re.escape, _LOCATOR_LABELS), key=len, reverse=True)) + r")\.?\s*)?"
    r"(?P<value>[\dIVXLCDMivxlcdm]+[a-z]?(?:\s*[-–—,&]\s*[\dIVXLCDMivxlcdm]+[a-z]?)*)(?![\w])(?P<suffix>.*)$",
    re.S,
)
_SKIPPED = frozenset({"code", "pre", "kbd", "samp", "math", "svg", "script", "style"})


def cite_each(config: BookConfig, rendered: Iterable[RenderedDocument]) -> Iterator[RenderedDocument]:
    """The documents with their citations formatted, then the references (when any were cited)."""
    if config.bibliography is None:
        yield from rendered
        return
    citations = Citations(config)
    for document in rendered:
        citations.cite(document)
        yield document
    references = citations.references()
    if references is not None:
        yield references


class Citations:
    """One book's references and the citations found so far."""

    def __init__(self, config: BookConfig):
        from citeproc import CitationStylesBibliography, formatter

        assert config.bibliography is not None
        self.path = config.bibliography
        self.config = config
        with warnings.catch_warnings():  # citeproc-py warns of every field it does not use
            warnings.simplefilter("ignore")
            self.source = _read_references(self.path)
            style = _read_style(config.csl, config.language)
            self.plain = CitationStylesBibliography(style, self.source, formatter.plain)
        self.cited: list[str] = []

    def cite(self, document: RenderedDocument) -> None:
        """Replace the citations in one document's text (code and preformatted text left alone)."""
        self.lines = _Lines(document.source)
        for element in document.container.iter():
            if not isinstance(element.tag, str):
                continue
            skipped = any(node.tag in _SKIPPED for node in (element, *element.iterancestors()))
            if element.text and "@" in element.text and not skipped:
                element.text = self._replace(element.text)
            parent = element.getparent()
            if element.tail and "@" in element.tail and parent is not None:
                if not any(node.tag in _SKIPPED for node in (parent, *parent.iterancestors())):
                    element.tail = self._replace(element.tail)

    def _replace(self, text: str) -> str:
        text = _BRACKETS.sub(self._bracketed, text)
        return _NARRATIVE.sub(self._narrative, text).replace("\x00", "@")

    def _bracketed(self, match: re.Match[str]) -> str:
        from citeproc import Citation, CitationItem, Locator

        items = []
        unknown = []
        for part in match.group(1).split(";"):
            item = _ITEM.match(part)
            if item is None:
                return match.group()  # not every part cites: a bracket of text with an @ in it
            key = item.group("key")
            if key.lower() not in self.source:
                unknown.append(key)
                continue
            locator, suffix = _locator(item.group("rest"))
            prefix = item.group("prefix").strip()
            details: dict[str, Any] = {}
            if locator:
                details["locator"] = Locator(*locator)
            if prefix:
                details["prefix"] = prefix + " "
            if suffix:
                details["suffix"] = suffix
            items.append(CitationItem(key.lower(), **details))
        if unknown:
            for key in unknown:
                self._warn_unknown(key)
            return match.group().replace("@", "\x00")  # kept as written; not read again as `@key`
        return self._render(Citation(items))

    def _narrative(self, match: re.Match[str]) -> str:
        """`@key` in running text: the authors, then the year in parentheses, as pandoc writes it.
        An `@name` that is no key is left alone (a handle, not a citation)."""
        from citeproc import Citation, CitationItem

        key = match.group("key").lower()
        if key not in self.source:
            return match.group()
        self._render(Citation([CitationItem(key)]))  # registered for the references
        reference = self.source[key]
        year = _year(reference)
        return f"{_names(reference)} ({year})"

    def _render(self, citation: Any) -> str:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            self.plain.register(citation)
            for item in citation.cites:
                if item.key not in self.cited:
                    self.cited.append(item.key)
            return str(self.plain.cite(citation, lambda item: None))

    def _warn_unknown(self, key: str) -> None:
        log.warning(
            "%s: citation of %r, which %s does not hold; kept as written",
            self.lines.where(key),
            key,
            self.path.name,
        )

    def references(self) -> RenderedDocument | None:
        """The References chapter: every cited work, in the style's order."""
        from html import escape

        from citeproc import Citation, CitationItem, CitationStylesBibliography, formatter

        from .render.markdown import render_document

        if not self.cited:
            return None
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            style = _read_style(self.config.csl, self.config.language)
            bibliography = CitationStylesBibliography(style, self.source, formatter.html)
            bibliography.register(Citation([CitationItem(key) for key in self.cited]))
            bibliography.sort()
            entries = [str(entry) for entry in bibliography.bibliography()]
        title = label("references", self.config.language)
        markup = f"<h1>{escape(title)}</h1>\n<div class=\"references\">\n" + "".join(
            f'<p class="reference">{_html(entry)}</p>\n' for entry in entries
        ) + "</div>"  # fmt: skip
        source = SourceDocument(self.path, "references", "", {"type": "bibliography"})
        return render_document(source, markup)


def _html(entry: str) -> str:
    """citeproc-py's HTML with what EPUB's XHTML lacks (`<l>`, inline styles) turned into classes."""
    entry = entry.replace('<span style="font-variant:small-caps;">', '<span class="smallcaps">')
    return entry.replace("<l>", '<span class="light">').replace("</l>", "</span>")


def _locator(rest: str) -> tuple[tuple[str, str] | None, str]:
    """`, p. 10, and elsewhere` to (("page", "10"), ", and elsewhere"); a suffix without a locator is
    kept whole."""
    match = _LOCATOR.match(rest)
    if match is None or not rest.lstrip().startswith(","):
        return None, rest.rstrip()
    kind = _LOCATOR_LABELS.get((match.group("label") or "p").lower().rstrip("."), "page")
    return (kind, match.group("value")), match.group("suffix").rstrip()


def _names(reference: Any) -> str:
    people = reference.get("author") or reference.get("editor") or []
    families = [str(getattr(person, "family", None) or person) for person in people]
    if not families:
        return str(reference.get("title", reference.key))
    if len(families) == 1:
        return families[0]
    if len(families) == 2:
        return f"{families[0]} {label('and')} {families[1]}"
    return f"{families[0]} {label('et al.')}"


def _year(reference: Any) -> str:
    issued = reference.get("issued")
    year = getattr(issued, "year", None) if issued is not None else None
    return str(year) if year else label("n.d.")


class _Lines:
    """Where in a source a key is cited: its n-th citation is at the n-th `@key` of the text."""

    def __init__(self, source: SourceDocument):
        self.source = source
        self.seen: dict[str, int] = {}

    def where(self, key: str) -> str:
        count = self.seen.get(key, 0)
        self.seen[key] = count + 1
        matches = list(re.finditer(rf"@{re.escape(key)}(?!\w)", self.source.text))
        if not matches:
            return str(self.source.path)
        start = matches[min(count, len(matches) - 1)].start()
        return f"{self.source.path}:{self.source.text.count(chr(10), 0, start) + 1}"


def _read_references(path: Path) -> Any:
    """The references of a BibTeX or CSL-JSON file; a file that cannot be read is one error line."""
    from citeproc.source.bibtex import BibTeX
    from citeproc.source.json import CiteProcJSON

    text = decode(read_limited(path, MAX_BIBLIOGRAPHY_BYTES, "a bibliography may be"), path)
    try:
        if path.suffix.lower() == ".json" or text.lstrip().startswith("["):
            data = json.loads(text)
            if not isinstance(data, list) or not all(isinstance(item, dict) and "id" in item for item in data):
                raise ConfigError("is not CSL-JSON: a list of references, each with an 'id'", path)
            source = CiteProcJSON(data)
        else:
            source = BibTeX(io.StringIO(text))
        for key in [key for key in source if key != key.lower()]:
            source[key.lower()] = source.pop(key)  # citeproc-py looks keys up in lower case
        return source
    except ConfigError:
        raise
    except json.JSONDecodeError as error:
        raise ConfigError(f"is not valid JSON ({error.msg})", path, error.lineno) from error
    except Exception as error:  # citeproc-py's parsers raise anything on a malformed file
        raise ConfigError(f"cannot be read as a bibliography ({type(error).__name__}: {error})"[:300], path) from error


def _read_style(path: Path | None, language: str) -> Any:
    from citeproc import CitationStylesStyle

    locale = _locale(language)
    if path is None:
        return CitationStylesStyle(DEFAULT_STYLE, locale=locale, validate=False)
    data = read_limited(path, MAX_STYLE_BYTES, "a CSL style may be")
    if b"<!DOCTYPE" in data or b"<!ENTITY" in data:
        raise ConfigError("a CSL style may not hold a DOCTYPE or entities", path)
    try:
        return CitationStylesStyle(io.BytesIO(data), locale=locale, validate=False)
    except Exception as error:
        raise ConfigError(f"cannot be read as a CSL style ({type(error).__name__}: {error})"[:300], path) from error


def _locale(language: str) -> str:
    """The citeproc-py locale nearest the book's language (`de` is `de-DE`), else `en-US`."""
    from citeproc import LOCALES_PATH

    available = sorted(name[len("locales-") : -len(".xml")] for name in os.listdir(LOCALES_PATH))
    if language in available:
        return language
    primary = language.split("-")[0].lower()
    if primary == "en":
        return "en-US"
    for name in available:
        if name.lower() == f"{primary}-{primary}" or name.lower() == primary:
            return name
    return next((name for name in available if name.lower().startswith(primary + "-")), "en-US")

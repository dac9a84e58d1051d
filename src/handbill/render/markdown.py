"""Markdown to a cleaned element tree, one source document at a time.

In: SourceDocuments (their Markdown text). Out: RenderedDocuments, each a `<div>` of cleaned
XHTML blocks with the Report of what cleaning changed, in order, rendered in worker processes
when the book is large, each within a time limit (linear footnotes included).
"""

from __future__ import annotations

import gc
import logging
import os
import re
import threading
import time
from collections import OrderedDict, deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import markdown
from lxml import html
from markdown.extensions import Extension

from .. import xhtml
from ..errors import SourceError
from ..sources import SourceDocument
from . import sanitize
from .mathtex import FAILED_CLASS, has_math, math_marks
from .typography import smarten

if TYPE_CHECKING:
    from concurrent.futures import Future

log = logging.getLogger(__name__)


@dataclass
class RenderedDocument:
    """A source document as a cleaned tree: a `<div>` holding its top-level blocks."""

    source: SourceDocument
    container: html.HtmlElement
    report: sanitize.Report
    markup_size: int | None = None
    """Characters of HTML Python-Markdown made of it, which bound the size of its XHTML (None:
    not known)."""
    styled: bool = False
    """It has highlighted code or aligned table columns: its pages link the stylesheet for them."""


_NOTE_REFERENCE = re.compile(r"\[\^([^\]\s]+)\]")
_NOTE_DEFINITION = re.compile(r"^[ ]{0,3}\[\^([^\]\s]+)\]:", re.MULTILINE)


def _needs_caret(text: str) -> bool:
    """Whether a `^` is left once the footnotes' own are taken out (their definitions, and the
    references to notes the text defines, which the footnotes extension reads first). Most books
    with notes then need no caret; a `[^1]` without its note still gets it, as caret reads it."""
    defined = set(_NOTE_DEFINITION.findall(text))
    rest = _NOTE_REFERENCE.sub(lambda found: "" if found.group(1) in defined else found.group(0), text)
    return "^" in _NOTE_DEFINITION.sub("", rest)


_OPTIONAL_EXTENSIONS: dict[str, Callable[[str], object]] = {
    # What a converter can do without, each with a test that is true of every text whose
    # rendering it could change. Each needs a mark in the Markdown; for a definition list, a
    # ':' starting a line after any indentation, quote or list marker, or after an HTML tag
    # (which can end a block mid-line). Left out of the documents without their mark, they
    # cost nothing there; together they were a fifth of Python-Markdown's time on prose.
    # "toc_marker" is toc's search of every element for [TOC].
    "abbr": re.compile(r"\*\[[^\\]*?\][ ]?:").search,  # its own definition pattern, anywhere
    "attr_list": lambda text: "{" in text,
    "def_list": re.compile(r"^[ \t>*+\-.)\d]*:|>[ \t]*:", re.MULTILINE).search,  # or right after a tag
    "fenced_code": lambda text: "```" in text or "~~~" in text,
    "footnotes": lambda text: "[^" in text,
    "math": lambda text: ("$" in text or "\\" in text) and has_math(text),
    "tables": lambda text: "|" in text,
    "toc_marker": lambda text: "[TOC]" in text,
    # Markdown of other tools (render/extras.py): notes, alerts, task lists, ~~del~~ and ~sub~,
    # ^sup^ and ^^ins^^, ==mark==, :emoji:. pymdownx's also make their character escapable
    # (`\=`), and tilde and caret an escaped space (`\ ` becomes a space; pandoc makes it a no-break one).
    "admonition": lambda text: "!!!" in text,
    "alerts": lambda text: "[!" in text,
    "tasklist": re.compile(r"^[ \t>]*(?:[*+\-]|\d+[.)])[ \t]+\[[ xX]\]", re.MULTILINE).search,
    "tilde": lambda text: "~" in text or "\\ " in text,
    "caret": lambda text: "^" in text and _needs_caret(text),
    "mark": re.compile(r"==[^=\s]|\\=").search,
    "emoji": re.compile(r":[+\-\w]+:|\\:").search,
    "dollar": lambda text: "\\$" in text,  # `\$` is a dollar sign (pandoc's escape, where `$` opens math)
}
_local = threading.local()
"""Each thread's converters, by the optional extensions they have: a converter holds the state
of the text it is converting, so two threads never share one (a build may run in any thread)."""


def _converter(text: str | None = None) -> markdown.Markdown:
    """This thread's converter with the extensions `text` can use (all of them for no text), made
    once per thread."""
    wanted = tuple(name for name, used in _OPTIONAL_EXTENSIONS.items() if text is None or used(text))
    converters: dict[tuple[str, ...], markdown.Markdown] | None = getattr(_local, "converters", None)
    if converters is None:
        converters = _local.converters = {}
    converter = converters.get(wanted)
    if converter is None:
        converter = converters[wanted] = markdown.Markdown(extensions=_extensions(wanted), output_format="xhtml")
    return converter


class _EscapedDollar(Extension):
    """`\\$` prints a dollar sign, as in pandoc: a text can always say `\\$5` without math."""

    def extendMarkdown(self, md: markdown.Markdown) -> None:
        md.ESCAPED_CHARS = [*md.ESCAPED_CHARS, "$"]


def _extensions(optional: tuple[str, ...]) -> list[Extension]:
    """The extensions a writer expects, in one fixed order, as instances (names would cost an
    entry-point scan); of the optional ones, only those named, and only those are imported."""
    from importlib import import_module

    def load(name: str) -> Any:
        return import_module(f"markdown.extensions.{name}")

    every = {
        "abbr": lambda: load("abbr").AbbrExtension(),
        "attr_list": lambda: load("attr_list").AttrListExtension(),
        "def_list": lambda: load("def_list").DefListExtension(),
        "fenced_code": lambda: import_module("handbill.render.code").FencedCode(),
        "footnotes": lambda: _linear_footnotes()(SEPARATOR="-", BACKLINK_TEXT=""),
        "math": lambda: import_module("handbill.render.mathtex").MathExtension(),
        "md_in_html": lambda: load("md_in_html").MarkdownInHtmlExtension(),
        "sane_lists": lambda: load("sane_lists").SaneListExtension(),
        "tables": lambda: load("tables").TableExtension(),
        "toc": lambda: load("toc").TocExtension(
            slugify=load("toc").slugify_unicode, marker="[TOC]" if "toc_marker" in optional else ""
        ),
        "admonition": lambda: _extras().AdmonitionExtension(),
        "alerts": lambda: _extras().AlertExtension(),
        "tasklist": lambda: _extras().TaskListExtension(),
        "tilde": lambda: import_module("pymdownx.tilde").DeleteSubExtension(),
        "caret": lambda: import_module("pymdownx.caret").InsertSupExtension(),
        "mark": lambda: import_module("pymdownx.mark").MarkExtension(),
        "emoji": lambda: _extras().emoji_extension(),
        "dollar": _EscapedDollar,
    }
    return [make() for name, make in every.items() if name not in _OPTIONAL_EXTENSIONS or name in optional]


def _extras() -> Any:
    from . import extras

    return extras


class _Definitions(OrderedDict[str, str]):
    """Footnote definitions. Iterating the keys also yields definitions added meanwhile: a footnote's
    text that holds another definition adds it while the notes are rendered, where a plain
    OrderedDict made Python-Markdown fail ("OrderedDict mutated during iteration")."""

    def keys(self) -> Iterator[str]:  # type: ignore[override]
        seen = list(super().keys())
        index = 0
        while index < len(seen):
            yield seen[index]
            index += 1
            if index == len(seen) and len(self) > len(seen):
                seen = list(super().keys())


def _linear_footnotes() -> type[Extension]:
    """Python-Markdown's footnotes with the same output in linear time.

    Its reference pattern numbers each reference by searching a list of every footnote, and
    records the order of references in a list searched again each time; a reference used many
    times walks every earlier id it was given. 20,000 footnotes took minutes. Here each of those
    is a dictionary lookup.
    """
    from markdown.extensions import footnotes

    class Processor(footnotes.FootnoteInlineProcessor):
        footnotes: Footnotes

        def handleMatch(self, m: re.Match[str], data: str) -> tuple[Any, int | None, int | None]:
            number = self.footnotes.number(m.group(1))
            if number is None:
                return None, None, None
            self.footnotes.addFootnoteRef(m.group(1))
            sup = footnotes.etree.Element("sup")
            link = footnotes.etree.SubElement(sup, "a")
            sup.set("id", self.footnotes.makeFootnoteRefId(m.group(1), found=True))
            link.set("href", "#" + self.footnotes.makeFootnoteId(m.group(1)))
            link.set("class", "footnote-ref")
            link.text = self.footnotes.getConfig("SUPERSCRIPT_TEXT").format(number)
            return sup, m.start(0), m.end(0)

    class Footnotes(footnotes.FootnoteExtension):
        def extendMarkdown(self, md: markdown.Markdown) -> None:
            super().extendMarkdown(md)
            pattern = md.inlinePatterns["footnote"]
            md.inlinePatterns.register(Processor(pattern.pattern, self), "footnote", 175)

        def reset(self) -> None:
            super().reset()
            self.footnotes = _Definitions()
            self.numbers: dict[str, int] = {}
            self.referenced: set[str] = set()

        def number(self, id: str) -> int | None:
            """A footnote's number in the order of definition (None: no such footnote)."""
            if len(self.numbers) != len(self.footnotes):
                self.numbers = {key: number for number, key in enumerate(self.footnotes, start=1)}
            return self.numbers.get(id)

        def addFootnoteRef(self, id: str) -> None:
            if id not in self.referenced:
                self.referenced.add(id)
                self.footnote_order.append(id)

        def unique_ref(self, reference: str, found: bool = False) -> str:
            """The n-th reference to one note is `fnref<n>-...`, as the original's walk finds."""
            if not found:
                return reference
            uses = self.found_refs.get(reference, 0)
            self.found_refs[reference] = uses + 1
            if uses:
                prefix, rest = reference.split(self.get_separator(), 1)
                reference = f"{prefix}{uses + 1}{self.get_separator()}{rest}"
            self.used_refs.add(reference)
            return reference

    return Footnotes


def render_markdown(text: str) -> str:
    """Markdown to an HTML string with our extensions (a converter reset between uses)."""
    converter = _converter(text)
    try:
        return converter.reset().convert(text)
    finally:
        converter.reset()


def render_document(document: SourceDocument, markup: str | None = None, text: str | None = None) -> RenderedDocument:
    """Markdown (its `text` once defused, or its already rendered `markup`) to a cleaned tree
    with smart punctuation."""
    report = sanitize.Report()
    try:
        if markup == _GAVE_UP:
            raise _TooSlow()
        if markup is None:
            markup = _within_budget(_defused(document) if text is None else text)
        styled = False
        if 'style="text-align: ' in markup:
            markup, aligned = _ALIGNED_CELL.subn(r'<\1 class="align-\2">', markup)
            styled = aligned > 0
        container = sanitize.parse_fragment(markup)
        sanitize.clean(container, report)
        if f'class="{FAILED_CLASS}"' in markup:
            from .mathtex import warn_failed

            warn_failed(container, document.text, document.path)
        if 'class="language-' in markup:
            from .code import highlight

            styled = highlight(container) or styled
    except (sanitize.TooDeep, RecursionError) as error:
        message = str(error) if isinstance(error, sanitize.TooDeep) else "nested too deeply to render"
        raise SourceError(message, document.path) from error
    except _TooSlow as error:
        raise SourceError(
            "Markdown too slow to render (thousands of nested links, brackets or tags?); simplify it",
            document.path,
        ) from error
    smarten(container, document.language)
    return RenderedDocument(source=document, container=container, report=report, markup_size=len(markup), styled=styled)


_ALIGNED_CELL = re.compile(r'<(t[hd]) style="text-align: (left|center|right);">')
"""A table cell as the tables extension aligns it: a class the stylesheet aligns instead (EPUB
content is styled by stylesheets; the inline style would be removed)."""


PARALLEL_THRESHOLD = 256 * 1024
"""Below this much Markdown, starting worker processes costs more than it saves."""


Progress = Callable[[int, int], None]
"""Called with (documents done, documents in all) while a book renders."""


def render_each(
    documents: Iterable[SourceDocument], count: int, size: int, progress: Progress | None = None
) -> Iterator[RenderedDocument]:
    """Render `count` documents (`size` bytes of Markdown in all) in order, one at a time, the
    Markdown of large books on every core.

    Documents are read from `documents` only a few ahead of the one being finished, and worker
    processes turn their Markdown into HTML while this process parses, cleans and hands on
    each result, so no more of the book is in memory than the caller keeps. Whenever the next
    result is not ready, this process renders the newest queued document itself instead of
    waiting: the work balances itself on any number of cores without a worker to spare.
    """
    workers = (os.cpu_count() or 1) - 1
    if not (workers >= 1 and count > 1 and size > PARALLEL_THRESHOLD and hasattr(os, "fork")):
        for done, document in enumerate(documents, start=1):
            yield render_document(document)
            _report(progress, done, count)
        return

    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    # Workers share this process's memory until they write to it: every extension is loaded
    # here, once, and the collector is told to leave what exists alone (it would touch every
    # object).
    _converter()
    gc.freeze()
    pool = ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("fork"))
    ahead: deque[_Queued] = deque()
    try:
        for done, document in enumerate(documents, start=1):
            text = _defused(document)
            ahead.append(_Queued(document, text, pool.submit(_markdown_or_none, text)))
            if len(ahead) > _AHEAD * workers:
                yield _finish_next(ahead)
                _report(progress, done - len(ahead), count)
        while ahead:
            yield _finish_next(ahead)
            _report(progress, count - len(ahead), count)
    finally:
        pool.shutdown(wait=True, cancel_futures=True)  # after an error, render nothing more
        gc.unfreeze()


_AHEAD = 12
"""Documents read and queued per worker beyond the one being finished: enough to keep workers
busy and leave this process some to take."""


@dataclass
class _Queued:
    document: SourceDocument
    text: str
    future: Future[str | None] | None
    markup: str | None = None
    """Rendered here, when this process took the document from the queue."""


def _finish_next(ahead: deque[_Queued]) -> RenderedDocument:
    """The oldest queued document as a tree. While its Markdown is still being rendered, this
    process renders the newest one that no worker has started."""
    first = ahead[0]
    while first.future is not None and not first.future.done():
        taken = next((queued for queued in reversed(ahead) if queued.future and queued.future.cancel()), None)
        if taken is None:
            break
        taken.future = None
        taken.markup = _markdown_or_none(taken.text)
    ahead.popleft()
    markup = first.markup if first.future is None else first.future.result()
    return render_document(first.document, markup, first.text)


def _report(progress: Progress | None, done: int, count: int) -> None:
    if progress is not None and (done % 10 == 0 or done == count):
        progress(done, count)


MAX_BRACKET_DEPTH = 32
"""Python-Markdown's link parsing slows down steeply with nested brackets: 20,000 of them took
48 s. Brackets nested deeper than this (no real text has them) are escaped: they read the same."""


def _defused(document: SourceDocument) -> str:
    text = document.text
    if "[" * (MAX_BRACKET_DEPTH + 1) not in text and text.count("[") < 2000:
        return text
    pieces: list[str] = []
    depth = escaped = 0
    previous = ""
    for character in text:
        if character == "[" and previous != "\\":
            depth += 1
            if depth > MAX_BRACKET_DEPTH:
                pieces.append("\\")
                escaped += 1
        elif character == "]" and previous != "\\":
            depth = max(depth - 1, 0)
        pieces.append(character)
        previous = character
    if escaped:
        log.warning(
            "%s: %d brackets nested deeper than %d are kept as plain text", document.path, escaped, MAX_BRACKET_DEPTH
        )
    return "".join(pieces)


_GAVE_UP = "\x00too slow"  # a control character: never the output of render_markdown


def _markdown_or_none(text: str) -> str | None:
    """In a worker: None sends a failing document back to be rendered (and reported) here."""
    try:
        return _within_budget(text)
    except RecursionError:
        return None
    except _TooSlow:
        return _GAVE_UP


RENDER_SECONDS = 5.0
RENDER_SECONDS_PER_MEGABYTE = 10.0
"""Python-Markdown takes about a second per megabyte; some inputs (20,000 nested links) make it
take minutes. Past this budget a document is refused with a clear error instead of hanging."""


RENDER_SECONDS_PER_FORMULA = 0.004
"""latex2mathml takes about a millisecond per formula: a chapter of dense math gets the time its
formulas need (each found by the same pattern that finds them in the text)."""


class _TooSlow(Exception):
    pass


def _within_budget(text: str) -> str:
    """render_markdown() with a time limit, in any thread.

    In the main thread, when nothing else uses SIGALRM, a timer signal interrupts it (no thread
    is started: worker processes are forked from a process with a single thread). Elsewhere (a
    build in another thread, or a program with its own SIGALRM timer) a watchdog thread raises
    the same exception in the rendering thread. Either way the previous state is left as it was.
    """
    seconds = RENDER_SECONDS + RENDER_SECONDS_PER_MEGABYTE * len(text) / 1_000_000
    if "$" in text or "\\(" in text or "\\[" in text:
        seconds += RENDER_SECONDS_PER_FORMULA * sum(1 for _ in math_marks(text))
    if _alarm_is_free():
        return _with_alarm(text, seconds)
    token = object()
    with _watchdog_wake:  # the watchdog holds this while it raises: never while this thread does
        _watchdog_deadlines[token] = (threading.get_ident(), time.monotonic() + seconds)
        _start_watchdog()
        _watchdog_wake.notify()
    try:
        return render_markdown(text)
    finally:
        if _watchdog_deadlines.pop(token, None) is None:
            _take_back_late_exception(token)


def _alarm_is_free() -> bool:
    import signal

    return (
        hasattr(signal, "setitimer")
        and threading.current_thread() is threading.main_thread()
        and signal.getsignal(signal.SIGALRM) in (signal.SIG_DFL, signal.SIG_IGN)
        and signal.getitimer(signal.ITIMER_REAL) == (0.0, 0.0)
    )


def _with_alarm(text: str, seconds: float) -> str:
    import signal

    def expire(signum: int, frame: object) -> None:
        raise _TooSlow()

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        return render_markdown(text)
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


_watchdog_deadlines: dict[object, tuple[int, float]] = {}
"""Renderings the watchdog times, each (thread id, monotonic deadline) under a token of its own.
The rendering thread removes its entry when done; the watchdog removes an expired one and then
raises _TooSlow in that thread. Whichever removes it first decides (dict.pop is atomic)."""
_watchdog_sending: set[object] = set()
_watchdog_wake = threading.Condition()
_watchdog: threading.Thread | None = None


def _start_watchdog() -> None:
    global _watchdog
    if _watchdog is None or not _watchdog.is_alive():
        _watchdog = threading.Thread(target=_watch_deadlines, name="handbill render time limit", daemon=True)
        _watchdog.start()


def _watch_deadlines() -> None:
    with _watchdog_wake:
        while True:
            now = time.monotonic()
            for token, (ident, deadline) in list(_watchdog_deadlines.items()):
                if deadline <= now:
                    _watchdog_sending.add(token)
                    if _watchdog_deadlines.pop(token, None) is not None:
                        _set_async_exception(ident, _TooSlow)
                    _watchdog_sending.discard(token)
            deadlines = [deadline for _, deadline in list(_watchdog_deadlines.values())]
            _watchdog_wake.wait(min(deadlines) - now if deadlines else None)


def _take_back_late_exception(token: object) -> None:
    """The watchdog timed this rendering out: its exception has been raised here, or is about to
    be. Wait until it is sent, then cancel it if it has not been raised yet (it would surface in
    whatever code runs next)."""
    while token in _watchdog_sending:
        time.sleep(0.001)
    _set_async_exception(threading.get_ident(), None)


def _set_async_exception(ident: int, exception: type[BaseException] | None) -> None:
    import ctypes

    raised = ctypes.py_object(exception) if exception is not None else None  # None: cancel a pending one
    ctypes.pythonapi.PyThreadState_SetAsyncExc(ctypes.c_ulong(ident), raised)


def _reset_after_fork() -> None:
    """A forked worker has none of its parent's threads: its own watchdog starts when needed."""
    global _watchdog, _watchdog_wake
    _watchdog, _watchdog_wake = None, threading.Condition()
    _watchdog_deadlines.clear()
    _watchdog_sending.clear()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_reset_after_fork)


def inline_text(text: str, language: str = "en") -> str:
    """A plain label (a front-matter title) with the same smart punctuation as the body."""
    container = sanitize.parse_fragment(render_markdown(text))
    smarten(container, language)
    return xhtml.text_of(container) or text.strip()

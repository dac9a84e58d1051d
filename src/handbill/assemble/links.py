"""Ids and links across documents: where each target ended up, and links pointed at it.

In: `Part`s with their file names, and the book's source names. Out: ids made unique per
document and recorded by (source, id); links resolved to `file.xhtml#id`, web addresses made
valid URLs (or plain text when they cannot be), and the placeholder element a link to a source not
yet assembled is serialised as until `_Assembly.finish` makes it a link.
"""

from __future__ import annotations

import posixpath
import re
from pathlib import Path
from typing import NamedTuple
from urllib.parse import SplitResult, unquote, urlsplit

from lxml import html

from .. import xhtml
from ..sources import MARKDOWN_SUFFIXES
from ..xhtml import quoteattr
from .split import WITH_ID, Part

_LINKABLE_SUFFIXES = (*MARKDOWN_SUFFIXES, ".html", ".htm", ".xhtml")


class Waiting(NamedTuple):
    """A link to a source not yet assembled, serialised as a placeholder element."""

    attributes: dict[str, str]
    """Its href and the attributes that go with it when it cannot be resolved."""
    other_attributes: bool
    """Whether it keeps attributes as plain text (an id, a class): a span, else unwrapped."""
    source: str
    path: Path


_PENDING = "handbill-pending-"
_PENDING_TAG = re.compile(rb"<(/?)handbill-pending-(\d+)([^>]*)>")
"""A waiting link as serialised: an element name no source can produce, since serialised XML
escapes every `<` in text and attribute values."""
_LINK_ONLY = ("rel", "type", "hreflang", "epub:type", "role")
"""Attributes that mean something only on a link: they go when a link becomes plain text."""


def make_placeholder(link: html.HtmlElement, pending: list[Waiting], source: str, path: Path) -> None:
    """Turn a link to a source not yet assembled into placeholder number len(pending), its link
    attributes kept aside in `pending` until `fill_placeholders`."""
    moved = {name: link.attrib.pop(name) for name in ("href", *_LINK_ONLY) if name in link.attrib}
    link.tag = f"{_PENDING}{len(pending)}"
    pending.append(Waiting(moved, bool(link.attrib), source, path))


def fill_placeholders(data: bytes, file_name: str, pending: list[Waiting], resolved: list[str | None]) -> bytes:
    """A serialised document's placeholders made the links they stand for (`resolved`, by number),
    or plain text where they lead nowhere."""

    def replace(match: re.Match[bytes]) -> bytes:
        closing, number, rest = match.group(1), int(match.group(2)), match.group(3)
        link, href = pending[number], resolved[number]
        if href is None and not link.other_attributes:
            return b""  # nothing left to carry: only the link's content stays
        if href is None:
            tag, attributes = b"span", ""
        else:
            tag = b"a"
            moved = dict(link.attributes, href=relative_href(href, file_name))
            attributes = "".join(f" {name}={quoteattr(value)}" for name, value in moved.items())
        return b"</" + tag + b">" if closing else b"<" + tag + attributes.encode() + rest + b">"

    return _PENDING_TAG.sub(replace, data)


def point(link: html.HtmlElement, resolved: str | None, file_name: str) -> None:
    """Set a link's target, or make it plain text when it has none."""
    if resolved is not None:
        link.set("href", relative_href(resolved, file_name))
        return
    link.tag = "span"
    del link.attrib["href"]
    for name in _LINK_ONLY:
        link.attrib.pop(name, None)
    if not link.attrib:
        xhtml.unwrap(link)


def relative_href(href: str, file_name: str) -> str:
    """A target in the linking document itself is named by its fragment alone."""
    return href[len(file_name) :] if href.startswith(file_name + "#") else href


def settle_ids(part: Part, targets: dict[tuple[str, str], str], starts: dict[str, str]) -> None:
    """Make the part's ids unique within it, and record where each (source, id) and each
    source's start ended up."""
    source = part.piece.rendered.source.name
    starts.setdefault(source, part.file_name)
    seen: set[str] = set()
    for block in part.blocks:
        for element in WITH_ID(block):
            value = element.get("id")
            if value in seen:
                number = 2
                while f"{value}-{number}" in seen:
                    number += 1
                value = f"{value}-{number}"
                element.set("id", value)
            seen.add(value)
            targets.setdefault((source, value), f"{part.file_name}#{value}")


def source_key(name: str) -> str:
    lowered = name.lower()
    for suffix in _LINKABLE_SUFFIXES:
        if lowered.endswith(suffix):
            name = name[: -len(suffix)]
            break
    if name.lower().endswith(("/readme", "/index")) or name.lower() in ("readme", "index"):
        name = name.rsplit("/", 1)[0] if "/" in name else ""
    return name


def resolve_link(
    href: str,
    source_name: str,
    targets: dict[tuple[str, str], str],
    starts: dict[str, str],
    by_key: dict[str, str],
) -> str | None:
    parts = _split_url(href)
    if parts is None:
        return None
    if parts.scheme or parts.netloc:
        return _web_address(href.strip() if parts.scheme else "https:" + href.strip())
    target = target_source(href, source_name, by_key)
    if target is None:
        return None
    fragment = xhtml.safe_id(unquote(parts.fragment))  # ids were made safe the same way
    return targets.get((target, fragment)) if fragment else starts.get(target)


def target_source(href: str, source_name: str, by_key: dict[str, str]) -> str | None:
    """The source a link inside the book points to (None: a web address, or no such source)."""
    parts = _split_url(href)
    if parts is None or parts.scheme or parts.netloc:
        return None
    if not parts.path:
        return source_name
    joined = posixpath.normpath(posixpath.join(posixpath.dirname(source_name), unquote(parts.path)))
    return by_key.get(source_key(joined.rstrip("/")))


def _split_url(href: str) -> SplitResult | None:
    try:
        return urlsplit(href.strip())
    except ValueError:
        return None


_URL_UNSAFE = re.compile(r'[\x00-\x20"<>\\^`{|}\x7f]')
_LONE_PERCENT = re.compile(r"%(?![0-9A-Fa-f]{2})")
_TAB_OR_NEWLINE = re.compile(r"[\t\n\r]")
_NEEDS_ADDRESSEE = ("mailto", "tel", "sms")


def _web_address(href: str) -> str | None:
    """A link out of the book, made a valid URL (what cannot stand plainly escaped), or None when
    it cannot be one: no host or a bad one, a port out of range, a mailto: with no one to write to."""
    href = _TAB_OR_NEWLINE.sub("", href)  # as urlsplit and every browser do: the host checked is the host kept
    parts = urlsplit(href)
    scheme = parts.scheme.lower()
    if scheme in ("http", "https", "ftp"):
        if not _valid_host(parts.netloc):
            return None
        try:
            parts.port  # noqa: B018 - raises for a port out of range
        except ValueError:
            return None
    if scheme in _NEEDS_ADDRESSEE and not (parts.path.strip() or parts.query.strip()):
        return None
    href = _URL_UNSAFE.sub(lambda match: f"%{ord(match.group()):02X}", href)
    href = _LONE_PERCENT.sub("%25", href)  # a % that starts no escape stands for itself
    # Brackets belong only around an IPv6 host, '#' only once: escape them anywhere else.
    after_host = len(scheme) + 1 if scheme else 0
    if parts.netloc:
        authority = href.find("//", after_host) + 2
        ends = [found for found in (href.find(mark, authority) for mark in "/?#") if found != -1]
        after_host = min(ends, default=len(href))
    head, rest = href[:after_host], href[after_host:].replace("[", "%5B").replace("]", "%5D")
    if "#" in rest:
        path, fragment = rest.split("#", 1)
        rest = path + "#" + fragment.replace("#", "%23")
    return head + rest


def unresolved(href: str) -> str:
    """Why a link that leads nowhere was not kept, for the warning."""
    parts = _split_url(href)
    if parts is None or parts.scheme or parts.netloc:
        return "is not a valid address"
    return "leads nowhere in the book"


def _valid_host(netloc: str) -> bool:
    """A host name whose labels are letters, digits and inner hyphens (IDNs allowed), or [IPv6]."""
    host = netloc.rsplit("@", 1)[-1]
    if host.startswith("["):
        return bool(re.fullmatch(r"\[[0-9A-Fa-f:.]+\](?::\d{1,5})?", host))
    host = re.sub(r":\d{1,5}$", "", host).removesuffix(".")
    labels = host.split(".")
    return all(
        label and label.replace("-", "").isalnum() and not label.startswith("-") and not label.endswith("-")
        for label in labels
    )

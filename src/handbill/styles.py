"""Stylesheets: handbill's own, then the book's, parsed and rewritten into what EPUB allows.

A user stylesheet is read with a real CSS parser (tinycss2) and written out again rule by rule,
so that whatever EPUB readers or EPUBCheck would reject is dropped with a warning naming the
file and line, and the rest is kept:

- `direction` and `unicode-bidi` (EPUB 3 forbids them: the text's direction comes from `dir`);
- a `@charset` other than UTF-8 (the file is read in it and written as UTF-8), `@import`;
- syntax errors: a declaration without a value or name, an invalid selector, a nested rule,
  an unclosed string or `url(`, an at-rule EPUB readers do not know;
- an `@font-face` without `src` (empty, or its fonts could not be embedded);
- a `url(...)` that is not a font or image inside the book: the declaration goes. Fonts and
  images inside the book are embedded and the `url()` pointed at them; a `data:` URL is
  decoded, checked and embedded the same way.
"""

from __future__ import annotations

import codecs
import hashlib
import logging
import re
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urlsplit

from . import DATA
from .config import BookConfig
from .errors import ConfigError, SourceError
from .names import image_type, slugify
from .sources import read_limited

if TYPE_CHECKING:
    from tinycss2.ast import Node

log = logging.getLogger(__name__)

FONT_TYPES = {".ttf": "font/ttf", ".otf": "font/otf", ".woff": "font/woff", ".woff2": "font/woff2"}
FORBIDDEN_PROPERTIES = frozenset({"direction", "unicode-bidi"})
"""Properties an EPUB 3 style sheet must not contain (EPUBCheck CSS-001)."""
MAX_NESTING = 24
"""Blocks and functions nested deeper than this are dropped (no real style sheet comes close)."""

# At-rules EPUB readers know, by what their block holds.
_RULE_BLOCKS = frozenset({"media", "supports", "layer", "container", "scope", "starting-style"})
_DECLARATION_BLOCKS = frozenset({"font-face", "page", "counter-style", "property", "font-palette-values"})
_KEYFRAMES = frozenset({"keyframes", "-webkit-keyframes"})
_STATEMENTS = frozenset({"namespace", "layer"})
_UTF8_LABELS = frozenset({"utf-8", "utf8", "unicode-1-1-utf-8"})
_CHARSET = re.compile(rb'^@charset "([\x20-\x21\x23-\x7e]{1,40})";')
_BAD_LITERALS = frozenset({"<!--", "-->", ";", "\\"})  # a lone backslash is an invalid escape

Files = list[tuple[str, str, bytes, str]]


def stylesheet_files(config: BookConfig) -> Files:
    """(file name, media type, bytes, item id) of every stylesheet and every file they use."""
    default = (DATA / "handbill.css").read_bytes()
    files = [("styles/handbill.css", "text/css", default, "style-handbill")]
    embedded: dict[Path, str] = {}
    for number, path in enumerate(config.stylesheets, start=1):
        if not path.is_file():
            raise ConfigError(f"stylesheet {str(path)!r} does not exist", config.config_file or config.source)
        text, encoding = _decode(read_limited(path, what="a stylesheet may be"), path)
        css = _Sheet(path, encoding, config.may_embed, embedded, files).rewrite(text)
        name = slugify(path.stem, limit=40) or "style"
        files.append((f"styles/{number:02d}-{name}.css", "text/css", css.encode("utf-8"), f"style-{number:02d}"))
    return files


def _decode(data: bytes, path: Path) -> tuple[str, str]:
    """The text of a stylesheet and the encoding it was read in: UTF-8 (or UTF-16 with its byte
    order mark) if it is that, else the encoding its `@charset` names."""
    try:
        if data.startswith(codecs.BOM_UTF8):
            return data[3:].decode("utf-8"), "utf-8"
        if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
            return data.decode("utf-16"), "utf-16"
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError as error:
        declared = _CHARSET.match(data)
        label = declared.group(1).decode("ascii").lower() if declared else ""
        try:
            if label and label not in _UTF8_LABELS and not label.startswith("utf-16"):
                return data.decode(codecs.lookup(label).name), label
        except (LookupError, UnicodeDecodeError):
            pass
        raise ConfigError("is not UTF-8 text (nor in an encoding its @charset names)", path) from error


class _Sheet:
    """One user stylesheet being rewritten; warnings name its file and line."""

    def __init__(
        self, path: Path, encoding: str, may_embed: Callable[[Path], bool], embedded: dict[Path, str], files: Files
    ):
        self.path = path
        self.encoding = encoding
        self.may_embed = may_embed
        self.embedded = embedded
        self.files = files

    def rewrite(self, text: str) -> str:
        import tinycss2

        rules = tinycss2.parse_stylesheet(text, skip_comments=True, skip_whitespace=True)
        kept = self._rules(rules, depth=0)
        return "\n\n".join(kept) + "\n" if kept else ""

    def _warn(self, node: Any, message: str) -> None:
        line = getattr(node, "source_line", None)
        where = f"{self.path}:{line}" if line else str(self.path)
        log.warning("%s: %s", where, message)

    # -- rules ---------------------------------------------------------------------------------

    def _rules(self, nodes: list[Node], depth: int) -> list[str]:
        kept = []
        for node in nodes:
            if node.type == "error":
                self._warn(node, "CSS syntax error (a rule without its { } block); that part is dropped")
            elif node.type == "qualified-rule":
                rule = self._style_rule(node, depth)
                if rule:
                    kept.append(rule)
            elif node.type == "at-rule":
                rule = self._at_rule(node, depth)
                if rule:
                    kept.append(rule)
            elif node.type not in ("whitespace", "comment"):
                self._warn(node, "CSS syntax error (a stray token); dropped")
        return kept

    def _style_rule(self, node: Any, depth: int) -> str | None:
        import tinycss2

        if not _valid_selector(node.prelude):
            self._warn(node, f"invalid selector {_preview(node.prelude)!r}; the rule is dropped")
            return None
        selector = tinycss2.serialize(_strip_whitespace(node.prelude))
        return f"{selector} {self._block(node.content, depth)}"

    def _at_rule(self, node: Any, depth: int) -> str | None:
        import tinycss2

        name = node.lower_at_keyword
        if depth >= MAX_NESTING:
            self._warn(node, f"@{node.at_keyword} is nested too deeply; dropped")
            return None
        if not _valid_prelude(name, node.prelude, depth):
            self._warn(node, f"CSS syntax error in @{node.at_keyword} {_preview(node.prelude)!r}; the rule is dropped")
            return None
        prelude = tinycss2.serialize(_strip_whitespace(node.prelude))
        head = f"@{node.at_keyword} {prelude}" if prelude else f"@{node.at_keyword}"
        if name == "charset":
            label = prelude.strip("'\"").lower()
            if label not in _UTF8_LABELS:
                read = "converted to UTF-8" if self.encoding == label else f"it was read as {self.encoding.upper()}"
                self._warn(node, f"@charset {prelude} is dropped: EPUB style sheets are UTF-8 ({read})")
            return None
        if name == "import":
            self._warn(node, "@import is not followed; list every stylesheet in book.toml instead")
            return None
        known = _RULE_BLOCKS | _DECLARATION_BLOCKS | _KEYFRAMES | _STATEMENTS
        if name not in known:
            self._warn(node, f"@{node.at_keyword} is not supported in EPUB style sheets; dropped")
            return None
        if node.content is None:
            if name in _STATEMENTS:
                return f"{head};"
            self._warn(node, f"{head[:60]!r} has no {{ }} block; dropped")
            return None
        if name in _DECLARATION_BLOCKS:
            declarations = self._declarations(node.content, depth)
            if name == "font-face" and not any(line.lower().startswith("src:") for line in declarations):
                self._warn(node, "@font-face without a font (no src left); dropped")
                return None
            return f"{head} {_braces(declarations, depth)}"
        if name in _KEYFRAMES:
            frames = [frame for frame in self._keyframes(node.content, depth) if frame]
            return f"{head} {_braces(frames, depth, separator='')}"
        if name in _STATEMENTS and name not in _RULE_BLOCKS:
            self._warn(node, f"{head[:60]!r} takes no {{ }} block; dropped")
            return None
        rules = self._rules(tinycss2.parse_rule_list(node.content, skip_comments=True, skip_whitespace=True), depth + 1)
        return f"{head} {_braces(rules, depth, separator='')}"

    def _keyframes(self, content: list[Node], depth: int) -> list[str | None]:
        import tinycss2

        frames: list[str | None] = []
        for node in tinycss2.parse_rule_list(content, skip_comments=True, skip_whitespace=True):
            if node.type != "qualified-rule" or not _valid_keyframe_selector(node.prelude):
                self._warn(node, f"invalid keyframe {_preview(getattr(node, 'prelude', []))!r}; dropped")
                continue
            selector = tinycss2.serialize(_strip_whitespace(node.prelude))
            frames.append(f"{selector} {self._block(node.content, depth + 1)}")
        return frames

    # -- declarations ----------------------------------------------------------------------------

    def _block(self, content: list[Node], depth: int) -> str:
        return _braces(self._declarations(content, depth), depth)

    def _declarations(self, content: list[Node], depth: int) -> list[str]:
        import tinycss2

        kept = []
        for node in tinycss2.parse_blocks_contents(content, skip_comments=True, skip_whitespace=True):
            if node.type == "error":
                self._warn(node, "CSS syntax error (not a declaration); that part is dropped")
            elif node.type in ("qualified-rule", "at-rule"):
                self._warn(node, "a rule nested inside another is not supported by EPUB readers; dropped")
            elif node.type == "declaration":
                declaration = self._declaration(node, depth)
                if declaration:
                    kept.append(declaration)
        return kept

    def _declaration(self, node: Any, depth: int) -> str | None:
        import tinycss2

        name = node.lower_name
        if name in FORBIDDEN_PROPERTIES:
            self._warn(node, f"{node.name!r} is not allowed in EPUB style sheets (direction comes from dir); dropped")
            return None
        if not any(token.type not in ("whitespace", "comment") for token in node.value):
            self._warn(node, f"{node.name!r} has no value; dropped")
            return None
        if not _clean_tokens(node.value, depth + 1):
            self._warn(node, f"CSS syntax error in the value of {node.name!r}; the declaration is dropped")
            return None
        tokens = node.value
        if name == "src":
            # A font's sources are alternatives: the ones that cannot be embedded go, the rest stay.
            sources = [source for source in _split_commas(tokens) if self._resolve_urls(source)]
            if not sources:
                return None
            tokens = _join_with_commas(sources)
        elif not self._resolve_urls(tokens):
            return None
        value = tinycss2.serialize(_strip_whitespace(tokens))
        return f"{tinycss2.serialize_identifier(node.name)}: {value}{' !important' if node.important else ''}"

    def _resolve_urls(self, tokens: list[Node]) -> bool:
        """Point every url() in the tokens at the file embedded for it; False to drop them."""
        from tinycss2.ast import URLToken

        for index, token in enumerate(tokens):
            target = None
            if token.type == "url":
                target = token.value
            elif token.type == "function" and token.lower_name == "url":
                arguments = [argument for argument in token.arguments if argument.type != "whitespace"]
                if len(arguments) != 1 or arguments[0].type != "string":
                    self._warn(token, "url() without one address; the declaration is dropped")
                    return False
                target = arguments[0].value
            elif token.type in ("function", "() block", "[] block"):
                if not self._resolve_urls(token.arguments if token.type == "function" else token.content):
                    return False
                continue
            if target is None:
                continue
            target = target.strip()
            name = self._embed(target, token)
            if name is None:
                return False
            tokens[index] = URLToken(token.source_line, token.source_column, f"../{name}", f'url("../{name}")')
        return True

    def _embed(self, target: str, token: Any) -> str | None:
        """The file name inside the EPUB for a url() target, or None (with a warning) to drop it."""
        parts = urlsplit(target)
        if parts.scheme.lower() == "data":  # checked as a file would be, and embedded as one
            data, suffix = _data_url(target)
            path = Path(f"data-{hashlib.sha256(data).hexdigest()[:16]}{suffix}")
        elif parts.scheme or parts.netloc or not parts.path:
            self._warn(token, f"url({target[:80]}) is not inside the book; the declaration is removed")
            return None
        else:
            path = (self.path.parent / unquote(parts.path)).resolve()
            data, suffix = None, path.suffix.lower()
        if path in self.embedded:
            return self.embedded[path]
        kind: tuple[str, str] | None = None
        if data is None and path.is_file() and self.may_embed(path):
            try:
                data = read_limited(path, what="a font or image may be")
            except SourceError as error:
                self._warn(token, f"url({target[:80]}) is left out: {error.detail}")
                return None
        if data:
            kind = (FONT_TYPES[suffix], suffix[1:]) if suffix in FONT_TYPES else _checked_image(data)
        if kind is None or data is None:
            self._warn(token, f"url({target[:80]}) is missing, outside the book or not a font or image; removed")
            return None
        folder = "fonts" if kind[0].startswith("font/") else "images"
        number = len(self.embedded) + 1
        name = f"{folder}/css-{number:02d}-{slugify(path.stem, limit=40) or 'file'}.{kind[1]}"
        self.files.append((name, kind[0], data, f"css-file-{number:02d}"))
        self.embedded[path] = name
        return name


def _data_url(target: str) -> tuple[bytes, str]:
    """The bytes a `data:` URL holds and the file suffix its media type implies (b"" when it
    cannot be decoded)."""
    import base64
    import binascii
    from urllib.parse import unquote_to_bytes

    header, comma, payload = target[5:].partition(",")
    media_type = header.split(";")[0].strip().lower()
    suffix = next((suffix for suffix, kind in FONT_TYPES.items() if kind == media_type), "")
    if not comma:
        return b"", suffix
    try:
        if header.lower().replace(" ", "").endswith(";base64"):
            return base64.b64decode("".join(unquote(payload).split()), validate=True), suffix
        return unquote_to_bytes(payload), suffix
    except (binascii.Error, ValueError):
        return b"", suffix


def _checked_image(data: bytes) -> tuple[str, str] | None:
    """(media type, extension) of an image that decodes whole; else None."""
    from .images import BadImage, check_image

    if image_type(data) is None:
        return None
    try:
        info = check_image(data)
    except BadImage:
        return None
    return info.media_type, info.extension


def _braces(lines: list[str], depth: int, separator: str = ";") -> str:
    if not lines:
        return "{}"
    indent = "  " * (depth + 1)
    body = "\n".join(f"{indent}{line}{separator}" for line in lines)
    return "{\n" + body + "\n" + "  " * depth + "}"


def _clean_tokens(tokens: list[Node], depth: int) -> bool:
    """False if the tokens hold what EPUB readers' CSS parsers reject in a value or prelude: a
    parse error (an unclosed string or url), a `{}` block, an at-keyword, `<!--`, or deep nesting."""
    if depth > MAX_NESTING:
        return False
    for token in tokens:
        kind = token.type
        if kind in ("error", "{} block", "at-keyword") or (kind == "literal" and token.value in _BAD_LITERALS):
            return False
        if kind == "function" and not _clean_tokens(token.arguments, depth + 1):
            return False
        if kind in ("() block", "[] block") and not _clean_tokens(token.content, depth + 1):
            return False
    return True


def _valid_prelude(name: str, prelude: list[Node], depth: int) -> bool:
    """What may stand between an at-rule's name and its block (EPUBCheck's grammar is stricter
    than CSS's: `!` or a stray `|=` there is an error)."""
    if not _clean_tokens(prelude, depth + 1) or any(_is_literal(token, "!") for token in prelude):
        return False
    tokens = [token for token in prelude if token.type != "whitespace"]
    kinds = [token.type for token in tokens]
    if name == "font-face":
        return not tokens
    if name in ("counter-style", "property"):
        return kinds == ["ident"]
    if name in _KEYFRAMES:
        return kinds in (["ident"], ["string"])
    if name == "layer":
        return all(kind == "ident" or _is_literal(token, ". ,") for kind, token in zip(kinds, tokens, strict=True))
    if name == "namespace":
        return kinds in (["string"], ["url"], ["ident", "string"], ["ident", "url"]) or (
            kinds[-1:] == ["function"] and tokens[-1].lower_name == "url" and kinds[:-1] in ([], ["ident"])
        )
    if name == "page":
        return all(kind == "ident" or _is_literal(token, ": ,") for kind, token in zip(kinds, tokens, strict=True))
    return True


# -- selectors -------------------------------------------------------------------------------


def _split_commas(tokens: list[Node]) -> list[list[Node]]:
    groups: list[list[Node]] = [[]]
    for token in tokens:
        if token.type == "literal" and token.value == ",":
            groups.append([])
        else:
            groups[-1].append(token)
    return groups


def _join_with_commas(groups: list[list[Node]]) -> list[Node]:
    from tinycss2.ast import LiteralToken, WhitespaceToken

    joined: list[Node] = []
    for group in groups:
        if joined:
            joined += [LiteralToken(0, 0, ","), WhitespaceToken(0, 0, " ")]
        joined += _strip_whitespace(group)
    return joined


def _valid_selector(prelude: list[Node]) -> bool:
    """A selector list EPUB readers (and EPUBCheck's grammar) accept: compound selectors joined
    by combinators, separated by commas, none empty."""
    return all(_valid_complex_selector(group) for group in _split_commas(prelude))


def _valid_complex_selector(tokens: list[Node]) -> bool:
    tokens = _strip_whitespace(tokens)
    position, expect_compound = 0, True
    while position < len(tokens):
        if expect_compound:
            length = _compound_length(tokens, position)
            if length == 0:
                return False
            position += length
        else:
            start = position
            while position < len(tokens) and tokens[position].type == "whitespace":
                position += 1
            if position < len(tokens) and _is_literal(tokens[position], "> + ~"):
                position += 1
                while position < len(tokens) and tokens[position].type == "whitespace":
                    position += 1
            if position == start:
                return False
        expect_compound = not expect_compound
    return bool(tokens) and not expect_compound


def _compound_length(tokens: list[Node], start: int) -> int:
    """How many tokens from `start` make one compound selector (0 if none)."""
    position = start

    def at(offset: int) -> Any:
        return tokens[position + offset] if position + offset < len(tokens) else None

    # An optional type selector, with an optional namespace: `p`, `*`, `svg|a`, `*|*`
    # (EPUBCheck misreads some escaped names there, and no element's name needs an escape).
    if _is_name_or_star(at(0)) and _is_literal(at(1), "|") and _is_name_or_star(at(2)):
        position += 3
    elif _is_name_or_star(at(0)):
        position += 1
    while position < len(tokens):
        token = tokens[position]
        if token.type == "hash":
            position += 1
        elif _is_literal(token, ".") and at(1) is not None and at(1).type == "ident":
            position += 2
        elif token.type == "[] block" and _valid_attribute(token.content):
            position += 1
        elif _is_literal(token, ":"):
            colons = 2 if _is_literal(at(1), ":") else 1
            name = at(colons)
            if name is None or name.type not in ("ident", "function"):
                return 0
            if name.type == "function" and not _clean_tokens(name.arguments, 1):
                return 0
            position += colons + 1
        else:
            break
    return position - start


def _valid_attribute(content: list[Node]) -> bool:
    tokens = _strip_whitespace(content)
    if not tokens or tokens[0].type != "ident":
        return False
    rest = _strip_whitespace(tokens[1:])
    if not rest:
        return True
    if rest[0].type != "literal" or rest[0].value not in ("=", "~=", "|=", "^=", "$=", "*="):
        return False
    value = _strip_whitespace(rest[1:])
    if not value or value[0].type not in ("ident", "string"):
        return False
    flags = _strip_whitespace(value[1:])
    return not flags or (len(flags) == 1 and flags[0].type == "ident" and flags[0].lower_value in ("i", "s"))


def _valid_keyframe_selector(prelude: list[Node]) -> bool:
    for token in prelude:
        if token.type == "whitespace" or _is_literal(token, ","):
            continue
        if token.type == "percentage" or (token.type == "ident" and token.lower_value in ("from", "to")):
            continue
        return False
    return any(token.type != "whitespace" for token in prelude)


def _preview(tokens: list[Node]) -> str:
    """The start of some tokens as text, for a warning (blocks shortened: they may nest deeply)."""
    nested = ("function", "() block", "[] block", "{} block")
    return "".join("…" if token.type in nested else token.serialize() for token in tokens).strip()[:60]


def _strip_whitespace(tokens: list[Node]) -> list[Node]:
    start, end = 0, len(tokens)
    while start < end and tokens[start].type == "whitespace":
        start += 1
    while end > start and tokens[end - 1].type == "whitespace":
        end -= 1
    return tokens[start:end]


def _is_literal(token: Any, values: str) -> bool:
    return token is not None and token.type == "literal" and token.value in values.split()


def _is_name_or_star(token: Any) -> bool:
    if token is None:
        return False
    return (token.type == "ident" and _is_element_name(token.value)) or _is_literal(token, "*")


def _is_element_name(value: str) -> bool:
    """A name that needs no escape in CSS (a regex for it takes 8 ms to compile at start-up)."""
    name = value.removeprefix("-")
    return (
        bool(name)
        and not name[0].isdigit()
        and name[0] != "-"
        and all(char.isalnum() or char in "-_" or ord(char) > 127 for char in name)
    )

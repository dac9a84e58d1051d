"""A document fetched from an http(s) address, within limits: a total time, a size, a number of
redirects, and only the kinds of document handbill can import.

The standard library's urllib does the fetching (no dependency for one GET): redirects are
followed here, one at a time, so that each hop is checked (http or https only, at most
`MAX_REDIRECTS`), and the body is read in pieces so that neither a huge nor a never-ending
response, nor a server that drips one byte at a time, can hold the import past its limits."""

from __future__ import annotations

import socket
import time
import zlib
from urllib.parse import urljoin, urlsplit

from .model import DocumentError

TIMEOUT = 20.0  # seconds for the whole fetch: connecting, redirects and the body
MAX_BYTES = 20 * 1024 * 1024
MAX_REDIRECTS = 5

# Media types handbill imports, and what to call them in an error.
IMPORTABLE = {
    "text/html": "HTML",
    "application/xhtml+xml": "HTML",
    "application/pdf": "PDF",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": "DOCX",
    "application/vnd.oasis.opendocument.text": "ODT",
    "text/plain": "text",
    "text/markdown": "text",
    "text/x-markdown": "text",
}
_KINDS = "HTML, PDF, DOCX, ODT or plain text"
# A server that does not know better says application/octet-stream: the address's extension decides.
_BY_EXTENSION = {
    ".html": "text/html",
    ".htm": "text/html",
    ".xhtml": "application/xhtml+xml",
    ".pdf": "application/pdf",
    ".docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    ".odt": "application/vnd.oasis.opendocument.text",
    ".txt": "text/plain",
    ".md": "text/markdown",
}


class FetchError(DocumentError):
    """An address that cannot be imported: it does not answer, refuses, or sends too much or the wrong thing."""

    def __init__(self, url: str, message: str):
        self.url = url
        # Not HandbillError's `path`: Path() would fold the "//" of an address.
        super().__init__(f"{_printable(url)}: {message}")


def get(
    url: str,
    *,
    timeout: float = TIMEOUT,
    max_bytes: int = MAX_BYTES,
    max_redirects: int = MAX_REDIRECTS,
    accept: dict[str, str] | None = None,
) -> tuple[bytes, str, str]:
    """(body, media type, final address) of the document at `url`, or a FetchError naming it.

    `accept` maps the media types wanted to their names (default: every kind handbill imports);
    the image fetcher of the HTML reader asks for images this way."""
    from urllib.error import HTTPError, URLError

    wanted = IMPORTABLE if accept is None else accept
    deadline = time.monotonic() + timeout
    current = url
    _check_scheme(url, current)
    opener = _opener()
    for _hop in range(max_redirects + 1):
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise FetchError(url, f"does not answer within {timeout:g} s; check the address or try again later")
        request = _request(_as_uri(url, current))
        try:
            response = opener.open(request, timeout=min(remaining, 10.0))
        except HTTPError as error:
            error.close()
            if error.code in (301, 302, 303, 307, 308):
                location = error.headers.get("Location")
                if not location:
                    raise FetchError(url, f"HTTP {error.code} redirect without a Location") from None
                current = urljoin(current, location.strip())
                _check_scheme(url, current, redirect=True)
                continue
            reason = f" {error.reason}" if isinstance(error.reason, str) and error.reason.isprintable() else ""
            raise FetchError(url, f"HTTP {error.code}{reason}") from None
        except (URLError, OSError, ValueError) as error:
            raise FetchError(
                url, f"does not answer ({_reason(error)}); check the address and your connection"
            ) from None
        except Exception as error:  # http.client's own errors: a server that breaks the protocol
            raise FetchError(url, f"does not answer properly ({type(error).__name__})") from None
        with response:
            media_type = _media_type(response.headers.get("Content-Type", ""), current)
            if media_type not in wanted:
                kinds = _KINDS if accept is None else ", ".join(sorted(set(wanted.values())))
                shown = media_type or "none given"
                raise FetchError(url, f"is not {kinds} (its content type is {_printable(shown)})")
            body = _read_body(url, response, deadline, timeout, max_bytes)
            return body, media_type, current
    raise FetchError(url, f"redirects more than {max_redirects} times")


def _opener():  # type: ignore[no-untyped-def]
    """A urllib opener that follows no redirect by itself: `get` checks each one."""
    from urllib.request import HTTPRedirectHandler, build_opener

    class NoRedirect(HTTPRedirectHandler):
        def redirect_request(self, req, fp, code, msg, headers, newurl):  # type: ignore[no-untyped-def]
            return None  # urllib then raises HTTPError with the 3xx code, which `get` follows

    return build_opener(NoRedirect)


def _request(url: str):  # type: ignore[no-untyped-def]
    from urllib.request import Request

    from .. import __version__

    try:
        return Request(
            url,
            headers={
                "User-Agent": f"handbill/{__version__} (+https://pypi.org/project/handbill/)",
                "Accept": ", ".join([*IMPORTABLE, "*/*;q=0.1"]),
                "Accept-Encoding": "gzip, deflate",
            },
        )
    except ValueError as error:
        raise FetchError(url, f"is not a valid address ({error})") from None


def _as_uri(original: str, url: str) -> str:
    """An address as the HTTP request line needs it: a non-ASCII host in IDNA, a non-ASCII path or
    query percent-encoded (as a browser sends `https://fr.wikipedia.org/wiki/Grève`), no fragment."""
    from urllib.parse import quote, urlunsplit

    parts = urlsplit(url)
    netloc = parts.netloc.rsplit("@", 1)[-1]
    if not netloc.isascii():
        host = parts.hostname or ""
        try:
            netloc = host.encode("idna").decode("ascii") + (f":{parts.port}" if parts.port else "")
        except (UnicodeError, ValueError):
            raise FetchError(original, "has a host name that cannot be looked up") from None
    path = quote(parts.path or "/", safe="/%:@!$&'()*+,;=-._~")
    query = quote(parts.query, safe="/?%:@!$&'()*+,;=-._~")
    return urlunsplit((parts.scheme, netloc, path, query, ""))


def _check_scheme(original: str, url: str, redirect: bool = False) -> None:
    parts = urlsplit(url)
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        if redirect:
            raise FetchError(original, f"redirects to {_printable(url)}, which is not an http(s) address")
        raise FetchError(original, "is not an http:// or https:// address")


def _media_type(header: str, url: str) -> str:
    media_type = header.split(";", 1)[0].strip().lower()
    if media_type in ("", "application/octet-stream", "binary/octet-stream"):
        path = urlsplit(url).path.lower()
        extension = path[path.rfind(".") :] if "." in path.rsplit("/", 1)[-1] else ""
        return _BY_EXTENSION.get(extension, media_type)
    return media_type


def _read_body(url: str, response, deadline: float, timeout: float, max_bytes: int) -> bytes:  # type: ignore[no-untyped-def]
    """The body, read a piece at a time (each piece one read of the socket), decompressed
    within the same size limit."""
    too_large = f"is too large (over {_size(max_bytes)}); save it and import a smaller part"
    length = response.headers.get("Content-Length", "")
    if length.strip().isdigit() and int(length) > max_bytes:
        raise FetchError(url, too_large)
    encoding = response.headers.get("Content-Encoding", "identity").strip().lower()
    if encoding in ("gzip", "x-gzip"):
        inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
    elif encoding == "deflate":
        inflater = zlib.decompressobj()
    elif encoding in ("", "identity"):
        inflater = None
    else:
        raise FetchError(url, f"is sent in an encoding handbill cannot read ({_printable(encoding)})")
    pieces: list[bytes] = []
    size = 0
    try:
        while True:
            if time.monotonic() > deadline:
                raise FetchError(url, f"took more than {timeout:g} s to send; try again later")
            piece = response.read1(65536)
            if not piece:
                break
            if inflater is not None:
                piece = inflater.decompress(piece, max_bytes + 1 - size)
                if inflater.unconsumed_tail:  # more output is waiting than the limit allows
                    raise FetchError(url, too_large)
            size += len(piece)
            if size > max_bytes:
                raise FetchError(url, too_large)
            pieces.append(piece)
        if inflater is not None:
            rest = inflater.flush()
            size += len(rest)
            if size > max_bytes:
                raise FetchError(url, too_large)
            pieces.append(rest)
    except FetchError:
        raise
    except TimeoutError:
        raise FetchError(url, f"stopped sending (nothing for {min(timeout, 10.0):g} s); try again later") from None
    except zlib.error:
        raise FetchError(url, "sent a damaged compressed body") from None
    except Exception as error:  # a connection reset, a broken chunked encoding
        raise FetchError(url, f"broke off while sending ({_reason(error)})") from None
    return b"".join(pieces)


def _size(count: int) -> str:
    return f"{count / 1048576:g} MB" if count >= 1048576 else f"{count} bytes"


def _reason(error: BaseException) -> str:
    reason = getattr(error, "reason", None) or error
    if isinstance(reason, (TimeoutError, socket.timeout)):
        return "timed out"
    if isinstance(reason, ConnectionRefusedError):
        return "connection refused"
    if isinstance(reason, socket.gaierror):
        return "no such host"
    text = str(reason) or type(reason).__name__
    return _printable(text)


def _printable(text: str) -> str:
    text = text if len(text) <= 300 else text[:300] + "…"
    return text if text.isprintable() else repr(text)

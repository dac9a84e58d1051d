"""The server behind `handbill serve`: a hardened waitress server with its limits, the socket
it listens on, the addresses it prints, and the QR code for the terminal.

In: a `Library` (any WSGI app with an `address`), a host and a port. Out: a bound server,
started by `.run()`, or one `ServeError` line naming the option that cannot be used.

Waitress does the serving: a fixed pool of worker threads behind an asynchronous
connection loop, so many clients and idle keep-alive connections cannot stall it,
where the standard library's servers start a thread per connection.

A client that holds a connection without finishing its request (slowloris) costs
nothing but a slot among `ServerLimits.connections`; when the slots run out, the
connection that has kept the server waiting longest is closed to make room, and no
request may take longer than `ServerLimits.request_seconds` to arrive.
"""

from __future__ import annotations

import errno
import io
import ipaddress
import socket
import time
from contextlib import suppress
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ..errors import HandbillError

if TYPE_CHECKING:
    from .app import Library


class ServeError(HandbillError):
    """The server cannot start: the option named in the message is the problem."""


def lan_address(family: socket.AddressFamily = socket.AF_INET) -> str | None:
    """This machine's address on the local network, found without sending anything."""
    try:
        candidates = socket.getaddrinfo(socket.gethostname(), None, family)
    except (OSError, UnicodeError):
        return None
    for *_, address in candidates:
        ip = ipaddress.ip_address(str(address[0]).split("%")[0])
        if not (ip.is_loopback or ip.is_link_local or ip.is_unspecified):
            return str(ip)
    return None


def url_host(host: str) -> str:
    """An IPv6 literal in brackets, as a URL wants it (RFC 3986 3.2.2)."""
    return f"[{host}]" if ":" in host and not host.startswith("[") else host


def public_address(host: str, port: int, dual_stack: bool = False) -> str:
    """The address to print and to put in QR codes and catalogs, for a server bound to `host`
    (`dual_stack`: an IPv6 socket on `::` that takes IPv4 clients too)."""
    if host in ("0.0.0.0", ""):
        host = lan_address() or "127.0.0.1"
    elif host == "::":
        host = (dual_stack and lan_address()) or lan_address(socket.AF_INET6) or "::1"
    return f"http://{url_host(host)}:{port}/"


def is_loopback(address: str) -> bool:
    from urllib.parse import urlsplit

    try:
        return ipaddress.ip_address(urlsplit(address).hostname or "").is_loopback
    except ValueError:
        return False


def qr_terminal(text: str) -> str:
    import segno

    buffer = io.StringIO()
    segno.make(text, error="m").terminal(out=buffer, compact=True, border=2)
    return buffer.getvalue()


@dataclass(frozen=True)
class ServerLimits:
    """How much of the server one client may hold, chosen for a handful of phones on a LAN."""

    connections: int = 100
    """Open connections. When all are taken, the one that has kept the server waiting
    longest (idle, or sending its request slowly) is closed to let a new client in."""
    request_seconds: int = 10
    """From a request's first byte to its last: a slowloris client trickling a header is
    cut off after this, however often it sends a byte."""
    idle_seconds: int = 30
    """An idle keep-alive connection is closed after this."""
    cleanup_seconds: int = 2
    """How often connections are checked against the two timeouts above."""
    header_bytes: int = 16 * 1024
    """Request line and headers together; a phone sends under 2 KB (answered with 431)."""
    body_bytes: int = 0
    """Only GET and HEAD are served, so no request needs a body (answered with 413)."""
    threads: int = 8
    """Workers that run the application; slow clients never hold one, the connection
    loop buffers their requests and replies."""


LIMITS = ServerLimits()


def make_server(  # type: ignore[no-untyped-def]
    app: Library, host: str, port: int, limits: ServerLimits = LIMITS, listening: socket.socket | None = None
):
    """A waitress server bound now (so the real port is known), started by `.run()`.

    `listening` is the socket `listen(host, port)` gave, if it was bound first. The app's
    address (QR code, catalogs) is set to the one the server can be reached at.
    """
    from waitress.adjustments import Adjustments

    listening = listening or listen(host, port)
    adjustments = Adjustments(
        sockets=[listening],
        threads=limits.threads,
        connection_limit=limits.connections,
        channel_timeout=limits.idle_seconds,
        cleanup_interval=limits.cleanup_seconds,
        max_request_header_size=limits.header_bytes,
        max_request_body_size=limits.body_bytes,
        asyncore_use_poll=True,  # select() fails past file descriptor 1023
        ident="handbill",
    )
    server_class = _server_class()
    server = server_class(
        app,
        map={},
        _sock=listening,
        adj=adjustments,
        sockinfo=(listening.family, listening.type, listening.proto, listening.getsockname()),
        bind_socket=False,
    )
    server.request_seconds = limits.request_seconds
    dual_stack = listening.family == socket.AF_INET6 and not listening.getsockopt(
        socket.IPPROTO_IPV6, socket.IPV6_V6ONLY
    )
    app.address = public_address(host or "0.0.0.0", server.effective_port, dual_stack)
    return server


def listen(host: str, port: int) -> socket.socket:
    """The socket to serve on, bound; a host or port that cannot be used raises `ServeError`
    naming the option."""
    import os
    import re

    shown = host if host.isprintable() else repr(host)
    if ":" in host or re.fullmatch(r"[0-9.]+", host):
        try:
            ipaddress.ip_address(host)
        except ValueError:
            raise ServeError(f"--host {shown}: not a valid IP address") from None
    try:
        found = socket.getaddrinfo(host or None, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except (OSError, UnicodeError, ValueError) as error:
        reason = getattr(error, "strerror", None) or str(error)
        raise ServeError(f"--host {shown}: not an address or host name to listen on ({reason})") from None
    family, kind, proto, _, address = found[0]
    listening = socket.socket(family, kind, proto)
    try:
        if os.name == "posix":  # elsewhere SO_REUSEADDR would let two servers share a port
            listening.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if family == socket.AF_INET6 and ipaddress.ip_address(address[0]).is_unspecified:
            with suppress(OSError):  # `::` takes IPv4 phones too, where the system allows
                listening.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
        listening.bind(address)
    except OSError as error:
        listening.close()
        problems = {
            errno.EADDRINUSE: f"--port {port}: already in use by another program (--port 0 picks a free one)",
            errno.EACCES: f"--port {port}: not allowed (ports below 1024 need administrator rights)",
            errno.EADDRNOTAVAIL: f"--host {shown}: not an address of this machine",
        }
        problem = problems.get(error.errno or 0, f"--host {shown} --port {port}: cannot listen there ({error})")
        raise ServeError(problem) from None
    return listening


def _server_class() -> type:
    """waitress's server and connection, taught to shed slow clients (imported only to serve)."""
    from waitress.channel import HTTPChannel
    from waitress.server import TcpWSGIServer

    class Channel(HTTPChannel):
        request_started = 0.0

        def received(self, data: bytes) -> bool:
            if self.request is None and data:
                self.request_started = time.time()
            return super().received(data)

        def waiting_since(self) -> float | None:
            """Since when the client has kept us waiting, or None while we owe it a reply."""
            if self.requests or self.total_outbufs_len or self.will_close or self.close_when_flushed:
                return None
            return self.request_started if self.request is not None else self.last_activity

    class Server(TcpWSGIServer):
        channel_class = Channel
        request_seconds = LIMITS.request_seconds
        next_channel_cleanup: float  # waitress's: when maintenance() next runs

        def _open(self) -> list:  # type: ignore[type-arg]
            return [channel for channel in list(self.active_channels.values()) if not channel.will_close]

        def _longest_waiting(self):  # type: ignore[no-untyped-def]
            """The connection that has kept us waiting longest, or None if every one awaits a reply."""
            waiting = [(since, channel) for channel in self._open() if (since := channel.waiting_since()) is not None]
            return min(waiting, key=lambda pair: pair[0])[1] if waiting else None

        def readable(self) -> bool:
            now = time.time()
            if now >= self.next_channel_cleanup:
                self.next_channel_cleanup = now + self.adj.cleanup_interval
                self.maintenance(now)
            if not self.accepting:
                return False
            return len(self._open()) < self.adj.connection_limit or self._longest_waiting() is not None

        def handle_accept(self) -> None:
            super().handle_accept()
            if len(self._open()) > self.adj.connection_limit and (oldest := self._longest_waiting()) is not None:
                oldest.will_close = True  # closed on the loop's next turn, which comes at once

        def maintenance(self, now: float) -> None:
            super().maintenance(now)  # idle connections
            cutoff = now - self.request_seconds
            for channel in self.active_channels.values():
                if channel.request is not None and not channel.requests and channel.request_started < cutoff:
                    channel.will_close = True

    return Server

"""The server under hostile clients: slow ones that hold connections, oversized requests, and
options that cannot be used. Every loop here is bounded and every socket is closed."""

from __future__ import annotations

import socket
import subprocess
import sys
import time

import pytest
from click.testing import CliRunner

from handbill.build import make_book
from handbill.cli import cli
from handbill.config import load_config
from handbill.site import LIMITS, Edition, Library, ServerLimits, served_book
from handbill.write.epub import epub_bytes, modified_time

from .conftest import CONTENT
from .serving import get, running


@pytest.fixture(scope="module")
def library() -> Library:
    config = load_config(CONTENT)
    book = make_book(config)
    data = epub_bytes(book, modified_time(config.modified, config.date))
    return Library([served_book(book, [Edition("EPUB", f"{book.slug}.epub", data)], modified_time(None, None))])


def trickle(connections: list[socket.socket], data: bytes) -> list[socket.socket]:
    """Send `data` on each connection; those the server has closed are closed here too."""
    alive = []
    for connection in connections:
        try:
            connection.sendall(data)
            alive.append(connection)
        except OSError:
            connection.close()
    return alive


def slowloris(port: int, clients: int = 200, rounds: int = 3, pause: float = 2.0) -> list[float]:
    """`clients` connections that each send a request's first line and then one header byte
    every `pause` seconds; after each round, how long a normal GET / took (or inf)."""
    slow: list[socket.socket] = []
    answered: list[float] = []
    try:
        for _ in range(clients):
            connection = socket.create_connection(("127.0.0.1", port), timeout=2)
            slow.append(connection)
            connection.sendall(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ")
        for round_ in range(rounds):
            time.sleep(pause if round_ else 0.5)
            slow = trickle(slow, b"a")
            started = time.monotonic()
            try:
                status, body = get(port, timeout=1.0)
                answered.append(time.monotonic() - started if status == 200 and b"<h1>Books</h1>" in body else 99)
            except OSError:  # the 1 s timeout, or a refused connection
                answered.append(float("inf"))
    finally:
        for connection in slow:
            connection.close()
    return answered


def test_a_normal_client_is_answered_within_a_second_while_200_slow_clients_hang_on(library: Library) -> None:
    with running(library) as port:
        answered = slowloris(port)
    assert len(answered) == 3 and max(answered) < 1.0, answered


def test_a_request_that_trickles_in_is_cut_off_and_so_is_an_idle_connection(library: Library) -> None:
    limits = ServerLimits(request_seconds=1, idle_seconds=1, cleanup_seconds=1)
    with running(library, limits) as port:
        trickling = socket.create_connection(("127.0.0.1", port), timeout=0.2)
        idle = socket.create_connection(("127.0.0.1", port), timeout=0.2)
        cut_off: dict[str, float] = {}
        try:
            trickling.sendall(b"GET / HTTP/1.1\r\nX-Slow: ")
            started = time.monotonic()
            for _ in range(40):  # at most 40 * 0.2 s
                for name, connection in (("trickling", trickling), ("idle", idle)):
                    if name in cut_off:
                        continue
                    try:
                        if name == "trickling":
                            connection.sendall(b"a")  # a byte every 0.2 s keeps it active
                        if connection.recv(1) == b"":
                            cut_off[name] = time.monotonic() - started
                    except TimeoutError:
                        pass
                    except OSError:
                        cut_off[name] = time.monotonic() - started
                if len(cut_off) == 2:
                    break
        finally:
            trickling.close()
            idle.close()
        assert get(port)[0] == 200  # the server itself carries on
    assert set(cut_off) == {"trickling", "idle"}, cut_off
    assert cut_off["trickling"] >= 0.9  # cut off by the deadline, not at once


def raw_response(port: int, request: bytes) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=5) as connection:
        connection.sendall(request)
        received = b""
        for _ in range(100):
            chunk = connection.recv(65536)
            if not chunk:
                break
            received += chunk
        return received


def test_oversized_headers_and_any_body_are_refused(library: Library) -> None:
    with running(library) as port:
        start = b"GET / HTTP/1.1\r\nHost: x\r\nX-Big: "
        huge = start + b"a" * (LIMITS.header_bytes - len(start))  # all of it is read: no reset
        assert raw_response(port, huge).split(b" ", 2)[1] == b"431"
        posted = b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\nConnection: close\r\n\r\n0123456789"
        assert raw_response(port, posted).split(b" ", 2)[1] == b"413"
        assert get(port)[0] == 200


# -- options the server cannot use: one line, exit 1 ----------------------------------------


def serve_error(*arguments: str) -> str:
    result = CliRunner().invoke(cli, ["serve", str(CONTENT), *arguments])
    assert result.exit_code == 1, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: ") and "internal error" not in lines[0], result.output
    return lines[0]


@pytest.mark.parametrize(
    ("host", "expected"),
    [
        ("999.1.1.1", "--host 999.1.1.1: not a valid IP address"),
        ("1.2.3", "--host 1.2.3: not a valid IP address"),
        (":::1", "--host :::1: not a valid IP address"),
        ("192.0.2.1", "--host 192.0.2.1: not an address of this machine"),  # TEST-NET-1, never local
        ("bad host", "--host bad host: not an address or host name to listen on"),
        ("a\x00b", "--host 'a\\x00b': not an address or host name to listen on"),
    ],
)
def test_a_host_that_cannot_be_used_is_one_clear_line(host: str, expected: str) -> None:
    assert serve_error("--host", host, "--port", "0").startswith(f"Error: {expected}")


def test_a_port_in_use_is_one_clear_line_before_any_book_is_built() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        started = time.monotonic()
        process = subprocess.run(
            [sys.executable, "-m", "handbill", "serve", str(CONTENT), "--host", "127.0.0.1", "--port", str(port)],
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert process.returncode == 1
    assert process.stderr == f"Error: --port {port}: already in use by another program (--port 0 picks a free one)\n"
    assert "built" not in process.stdout
    assert time.monotonic() - started < 30


def test_waitress_defaults_would_fall_to_slowloris(library: Library) -> None:
    """The regression test above is real: waitress as configured before fails it."""
    from waitress.server import create_server

    def defaults(app: Library):  # type: ignore[no-untyped-def]
        return create_server(app, host="127.0.0.1", port=0, threads=8, channel_timeout=60)

    with running(library, start=defaults) as port:
        answered = slowloris(port, rounds=1)
    assert answered == [float("inf")]

"""A real server on a free loopback port, in a thread, for tests that need one of their own."""

from __future__ import annotations

import http.client
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from handbill.site import LIMITS, Library, ServerLimits, make_server


@contextmanager
def running(app: Library, limits: ServerLimits = LIMITS, start=None, host: str = "127.0.0.1") -> Iterator[int]:  # type: ignore[no-untyped-def]
    """A server on a free loopback port in a thread, stopped afterwards; yields its port."""
    server = start(app) if start else make_server(app, host, 0, limits)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        yield server.effective_port
    finally:

        def close_everything() -> None:  # runs in the server's loop, which then ends
            for dispatcher in list(server._map.values()):
                dispatcher.close()

        server.trigger.pull_trigger(close_everything)
        thread.join(timeout=5)
        server.task_dispatcher.shutdown(timeout=2)


def get(port: int, path: str = "/", timeout: float = 1.0) -> tuple[int, bytes]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        connection.request("GET", path)
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()

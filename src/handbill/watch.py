"""Watch a book's files and rebuild when they change (polling: no extra dependency,
works the same on every file system, and a book's few hundred files cost
microseconds to stat)."""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Collection
from pathlib import Path

Snapshot = dict[str, tuple[int, int]]


def snapshot(roots: list[Path], ignore: Collection[Path] = ()) -> Snapshot:
    """Modification time and size of every visible file under the roots (or the roots themselves),
    leaving out `ignore` (what the build itself writes, which must not start another build)."""
    found: Snapshot = {}
    for root in roots:
        try:
            if root.is_file():
                stat = root.stat()
                found[str(root)] = (stat.st_mtime_ns, stat.st_size)
                continue
        except OSError:  # deleted between the listing and the look
            continue
        for folder, folders, files in os.walk(root):
            folders[:] = sorted(name for name in folders if not name.startswith("."))
            for name in files:
                if name.startswith(".") or name.endswith((".epub", ".part", "~", ".swp")):
                    continue
                path = os.path.join(folder, name)
                try:
                    stat = os.stat(path)
                except OSError:
                    continue
                found[path] = (stat.st_mtime_ns, stat.st_size)
    ignored = {os.path.abspath(path) for path in ignore}
    return {path: state for path, state in found.items() if os.path.abspath(path) not in ignored}


def watch(
    roots: Callable[[], list[Path]],
    rebuild: Callable[[], None],
    interval: float = 0.2,
    should_stop: Callable[[], bool] = lambda: False,
    ignore: Callable[[], Collection[Path]] = lambda: (),
    start: Callable[[], None] = lambda: None,
) -> None:
    """Call `rebuild` whenever a file under `roots()` changes, until `should_stop()` or Ctrl-C.
    The files `ignore()` names (the e-books just written) are not looked at. `start` runs once
    the files have been looked at (the first build): an edit made while it runs is not missed."""
    last = snapshot(roots(), ignore())
    start()
    while not should_stop():
        time.sleep(interval)
        current = snapshot(roots(), ignore())
        if current != last:
            last = current
            rebuild()

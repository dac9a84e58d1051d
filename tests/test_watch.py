"""Watch mode (handbill.watch.watch), driven step by step through `should_stop`.

Each call of `should_stop` is one poll: the script below does something to the files at that
poll, then `watch` takes its snapshot and rebuilds if anything it watches changed.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from handbill.watch import snapshot, watch

Step = Callable[[], object]


def run(roots: list[Path], steps: list[Step], ignore: list[Path] | None = None) -> list[int]:
    """Watch `roots`, doing one step per poll; returns the poll numbers at which a rebuild ran."""
    polls = iter(range(len(steps) + 1))
    rebuilt_at: list[int] = []
    current = 0

    def should_stop() -> bool:
        nonlocal current
        current = next(polls)
        if current == len(steps):
            return True
        steps[current]()
        return False

    watch(lambda: roots, lambda: rebuilt_at.append(current), 0, should_stop, lambda: ignore or [])
    assert current == len(steps), "watch stopped before should_stop said so"
    return rebuilt_at


def nothing() -> None:
    pass


def write(path: Path, content: str | bytes) -> Step:
    return lambda: path.write_bytes(content if isinstance(content, bytes) else content.encode())


def delete(path: Path) -> Step:
    return lambda: path.rmdir() if path.is_dir() else path.unlink()


def mkdir(path: Path) -> Step:
    return lambda: path.mkdir()


def touch_later(path: Path, seconds: int = 10) -> Step:
    """Move the modification time on: a change even where the clock is coarse."""

    def step() -> None:
        stat = path.stat()
        os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + seconds * 1_000_000_000))

    return step


@pytest.fixture
def book(tmp_path: Path) -> Path:
    root = tmp_path / "book"
    (root / "images").mkdir(parents=True)
    (root / "01.md").write_text("# One\n", encoding="utf-8")
    (root / "02.md").write_text("# Two\n", encoding="utf-8")
    (root / "images" / "a.png").write_bytes(b"\x89PNG")
    return root


def test_no_change_no_rebuild(book: Path) -> None:
    assert run([book], [nothing] * 5) == []


def test_one_change_one_rebuild(book: Path) -> None:
    assert run([book], [nothing, write(book / "02.md", "# Two, edited\n"), nothing, nothing]) == [1]


def test_a_change_of_time_alone_counts_and_each_change_rebuilds_once(book: Path) -> None:
    steps = [touch_later(book / "01.md"), nothing, touch_later(book / "images" / "a.png"), nothing]
    assert run([book], steps) == [0, 2]


def test_a_new_file_or_folder_rebuilds(book: Path) -> None:
    steps = [write(book / "03.md", "# Three\n"), nothing, mkdir(book / "more"), write(book / "more" / "04.md", "x")]
    assert run([book], steps) == [0, 3]  # an empty folder is nothing to build


def test_a_deleted_file_rebuilds_once_and_watching_goes_on(book: Path) -> None:
    steps = [delete(book / "02.md"), nothing, write(book / "02.md", "# Two again, longer\n"), nothing]
    assert run([book], steps) == [0, 2]


def test_a_deleted_watched_file_or_folder_is_no_error(book: Path, tmp_path: Path) -> None:
    stylesheet = tmp_path / "extra.css"
    stylesheet.write_text("p {}", encoding="utf-8")
    steps = [
        delete(stylesheet),
        nothing,
        delete(book / "images" / "a.png"),
        delete(book / "images"),  # an empty folder: nothing to build changed
        lambda: shutil.rmtree(book),
    ]
    assert run([book, stylesheet], [*steps, nothing]) == [0, 2, 4]


def test_what_the_build_writes_and_hidden_or_editor_files_do_not_rebuild(book: Path) -> None:
    output = book / "out" / "book.kepub"
    output.parent.mkdir()
    steps = [
        write(output, b"PK" * 100),  # named by ignore(): what the build just wrote
        write(book / "book.epub", b"PK"),
        write(book / ".01.md.swp", b"swap"),
        mkdir(book / ".git"),
        write(book / ".git" / "index", b"x"),
        write(book / "01.md~", "old"),
        write(book / "draft.part", "partial"),
    ]
    assert run([book], steps, ignore=[output]) == []


def test_a_file_that_vanishes_while_it_is_looked_at_is_left_out(book: Path, monkeypatch) -> None:
    real_stat = os.stat

    def racing_stat(path, *args, **kwargs):  # type: ignore[no-untyped-def]
        if str(path).endswith("02.md"):
            raise FileNotFoundError(path)
        return real_stat(path, *args, **kwargs)

    monkeypatch.setattr(os, "stat", racing_stat)
    assert sorted(Path(path).name for path in snapshot([book])) == ["01.md", "a.png"]

"""The Python API: `import handbill` is light, builds and checks from code, in any thread, and
changes nothing in the process it runs in."""

from __future__ import annotations

import importlib.util
import io
import logging
import os
import re
import signal
import subprocess
import sys
import threading
import zipfile
from pathlib import Path

import pytest

import handbill
from handbill.errors import SourceError
from handbill.render import markdown as render

from .conftest import CONTENT, REPO, Epub, register

HEAVY = ("lxml", "markdown", "ebooklib", "PIL", "yaml", "waitress", "werkzeug")
CHAPTERS = {"01-a.md": "# Alpha\n\nThe *first* chapter.\n", "02-b.md": "# Beta\n\nSee [alpha](01-a.md).\n"}


def loaded_after(code: str) -> set[str]:
    """Top-level packages a fresh interpreter has loaded after running `code`."""
    probe = f"{code}\nimport sys\nprint(' '.join(sorted({{name.split('.')[0] for name in sys.modules}})))"
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    return set(done.stdout.split())


def test_importing_handbill_loads_nothing_heavy() -> None:
    loaded = loaded_after("import handbill\nhandbill.__all__, handbill.HandbillError, handbill.build")
    assert "handbill" in loaded and "click" in loaded  # the probe saw the package and its errors
    assert loaded.isdisjoint(HEAVY), loaded & set(HEAVY)


def test_handbill_help_loads_nothing_heavy() -> None:
    """`python -X importtime` lists every module the command imported before it exited."""
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "handbill", "--help"], capture_output=True, text=True
    )
    assert done.returncode == 0 and "Usage: handbill" in done.stdout
    imported = {line.rsplit("|", 1)[-1].strip().split(".")[0] for line in done.stderr.splitlines() if "|" in line}
    assert "click" in imported and "handbill" in imported
    assert imported.isdisjoint(HEAVY), imported & set(HEAVY)


def test_every_public_name_resolves_and_is_typed() -> None:
    for name in handbill.__all__:
        assert getattr(handbill, name) is not None, name
    assert issubclass(handbill.StrictError, handbill.HandbillError)
    assert {"build", "check", "load_config", "BuildResult", "Finding", "BookConfig"} <= set(handbill.__all__)
    assert "Path" not in dir(handbill)  # no leaked imports
    with pytest.raises(AttributeError):
        handbill.no_such_thing  # noqa: B018
    assert (Path(handbill.__file__).parent / "py.typed").is_file()
    assert re.search(r'"\*" = \["py.typed"\]', (REPO / "pyproject.toml").read_text()), "py.typed must ship"


def test_the_functions_stay_functions_once_their_modules_are_imported() -> None:
    import handbill.build  # noqa: F401
    import handbill.check  # noqa: F401

    assert callable(handbill.build) and handbill.build.__module__ == "handbill"
    assert callable(handbill.check) and handbill.check.__module__ == "handbill"
    assert sys.modules["handbill.check"].check_epub  # the modules are still there by their dotted names


def test_build_with_overrides_and_check(write_book, tmp_path: Path) -> None:
    book = write_book(CHAPTERS)
    result = handbill.build(book, tmp_path / "out" / "a.epub", title="From Python", authors=["A. Writer"])
    register(result.path)
    epub = Epub(result.path)
    assert epub.metadata("title") == ["From Python"] and epub.metadata("creator") == ["A. Writer"]
    assert result.paths == (tmp_path / "out" / "a.epub",) and result.size == result.path.stat().st_size
    assert result.book.chapters == 2 and result.warnings == ()
    report = handbill.check(result.path, run_epubcheck=False)
    assert isinstance(report, handbill.CheckReport) and report.ok and not report.epubcheck_ran


def test_build_from_a_loaded_config_and_both_formats(tmp_path: Path) -> None:
    config = handbill.load_config(CONTENT)
    assert isinstance(config, handbill.BookConfig)
    result = handbill.build(config, tmp_path / "s.epub", formats=["epub", "kepub"])
    assert [path.name for path in result.paths] == ["s.epub", "s.kepub.epub"]
    assert result.sizes == tuple(path.stat().st_size for path in result.paths)
    with pytest.raises(TypeError, match="BookConfig"):
        handbill.build(config, tmp_path / "t.epub", title="no overrides with a config")


@pytest.mark.parametrize(
    ("call", "error"),
    [
        (lambda book, out: handbill.build(book, out, titel="typo"), TypeError),
        (lambda book, out: handbill.build(book, out, formats=("pdf",)), ValueError),
        (lambda book, out: handbill.build(book, out, formats=()), ValueError),
        (lambda book, out: handbill.build(book, out, language="not a language tag!"), handbill.ConfigError),
        (lambda book, out: handbill.build(book / "missing", out), handbill.ConfigError),
        (lambda book, out: handbill.build(book, io.BytesIO(), formats=("epub", "kepub")), ValueError),
    ],
)
def test_mistakes_raise_and_write_nothing(write_book, tmp_path: Path, call, error) -> None:
    book = write_book(CHAPTERS)
    out = tmp_path / "out.epub"
    with pytest.raises(error):
        call(book, out)
    assert not out.exists() and not list(tmp_path.glob("**/*.part"))


def test_build_to_a_stream_gives_the_bytes_of_a_file(write_book, tmp_path: Path) -> None:
    book = write_book(CHAPTERS)
    stream = io.BytesIO()
    streamed = handbill.build(book, stream)
    written = handbill.build(book, tmp_path / "file.epub")
    assert stream.getvalue() == written.path.read_bytes()
    assert streamed.paths == () and streamed.size == len(stream.getvalue())
    register(written.path)


def test_strict_writes_nothing_and_keeps_an_earlier_book(write_book, tmp_path: Path) -> None:
    book = write_book({**CHAPTERS, "03-c.md": "# Gamma\n\n![A map](https://example.org/map.png)\n"})
    out = tmp_path / "book.epub"
    lenient = handbill.build(book, out)
    register(out)
    assert any("example.org" in warning for warning in lenient.warnings)
    earlier = out.read_bytes()
    with pytest.raises(handbill.StrictError, match=r"book\.epub: 1 warning in strict mode; nothing was written"):
        handbill.build(book, out, strict=True, title="Changed")
    assert out.read_bytes() == earlier and sorted(p.name for p in tmp_path.iterdir()) == ["book", "book.epub"]
    with pytest.raises(handbill.StrictError):
        handbill.build(book, io.BytesIO(), strict=True)


def test_strict_counts_only_its_own_threads_warnings(write_book, tmp_path: Path) -> None:
    """A warning another thread logs meanwhile does not fail (or fill) this build."""
    book = write_book(CHAPTERS)
    noisy = threading.Event()
    stop = threading.Event()

    def other_thread() -> None:
        while not stop.is_set():
            logging.getLogger("handbill.elsewhere").warning("another build's warning")
            noisy.set()

    thread = threading.Thread(target=other_thread)
    thread.start()
    try:
        noisy.wait(5)
        result = handbill.build(book, tmp_path / "quiet.epub", strict=True)
    finally:
        stop.set()
        thread.join()
    assert result.warnings == ()
    register(result.path)


def test_build_in_threads_matches_a_build_in_the_main_thread(tmp_path: Path) -> None:
    """Two builds at once in other threads (each with its own Markdown converters) give the bytes
    the main thread gives."""
    expected = handbill.build(CONTENT, tmp_path / "main.epub").path.read_bytes()
    errors: list[BaseException] = []

    def build(name: str) -> None:
        try:
            for _ in range(3):
                handbill.build(CONTENT, tmp_path / name)
                assert (tmp_path / name).read_bytes() == expected
        except BaseException as error:  # shown by the assertion below
            errors.append(error)

    threads = [threading.Thread(target=build, args=(f"t{n}.epub",)) for n in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []


def test_markdown_renders_the_same_in_concurrent_threads() -> None:
    """Shared converters mixed up two texts rendered at once (footnotes, abbreviations and
    references of one document appeared in the other)."""
    texts = [
        f"# Doc {n}\n\n"
        + "".join(f"Para {n}.{i} with a note[^{n}x{i}] and *HTML*.\n\n" for i in range(40))
        + "".join(f"[^{n}x{i}]: Note {n}.{i}.\n" for i in range(40))
        + f"\n*[HTML]: Hyper Text {n}\n"
        for n in range(4)
    ]
    expected = [render.render_markdown(text) for text in texts]
    results: dict[int, list[str]] = {}

    def run(n: int) -> None:
        results[n] = [render.render_markdown(texts[n]) for _ in range(30)]

    threads = [threading.Thread(target=run, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for n in range(4):
        assert results[n] == [expected[n]] * 30


def test_the_time_limit_holds_outside_the_main_thread(write_book, monkeypatch) -> None:
    monkeypatch.setattr(render, "RENDER_SECONDS", 0.3)
    slow = write_book({"a.md": "# Fine\n\ntext\n", "b.md": "[a](" * 20000}, folder="slow")
    fine = write_book(CHAPTERS, folder="fine")
    outcome: list[object] = []

    def run() -> None:
        try:
            handbill.build(slow, slow / "x.epub")
        except SourceError as error:
            outcome.append(error.format_message())
        # the thread goes on: no late time-out surfaces in later work
        outcome.append(handbill.build(fine, io.BytesIO()).book.chapters)

    thread = threading.Thread(target=run)
    thread.start()
    thread.join(60)
    assert not thread.is_alive()
    assert outcome[0].endswith(
        "b.md: Markdown too slow to render (thousands of nested links, brackets or tags?); simplify it"
    )
    assert outcome[1:] == [2] and not (slow / "x.epub").exists()


def test_the_time_limit_leaves_a_programs_own_alarm_alone(write_book, monkeypatch) -> None:
    """A program with its own SIGALRM handler keeps it (and its timer): the watchdog times instead."""
    monkeypatch.setattr(render, "RENDER_SECONDS", 0.3)
    rung: list[int] = []
    previous = signal.signal(signal.SIGALRM, lambda signum, frame: rung.append(signum))
    try:
        signal.setitimer(signal.ITIMER_REAL, 3600)
        with pytest.raises(SourceError, match="too slow"):
            handbill.build(write_book({"b.md": "[a](" * 20000}), io.BytesIO())
        remaining, _ = signal.getitimer(signal.ITIMER_REAL)
        assert 3000 < remaining <= 3600 and rung == []
        assert signal.getsignal(signal.SIGALRM) is not signal.SIG_DFL
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


PROCESS_STATE = """
import gc, logging, signal, sys
from pathlib import Path
from PIL import Image
before = (gc.get_threshold(), signal.getsignal(signal.SIGALRM), signal.getsignal(signal.SIGTERM),
          Image.MAX_IMAGE_PIXELS, list(logging.getLogger("handbill").handlers), logging.getLogger("handbill").level)
import handbill, handbill.cli
book = Path(sys.argv[1])
result = handbill.build(book, book.parent / "state.epub", cover=book / "cover.png")
handbill.check(result.path, run_epubcheck=False)
after = (gc.get_threshold(), signal.getsignal(signal.SIGALRM), signal.getsignal(signal.SIGTERM),
         Image.MAX_IMAGE_PIXELS, list(logging.getLogger("handbill").handlers), logging.getLogger("handbill").level)
for name, old, new in zip(["gc", "SIGALRM", "SIGTERM", "MAX_IMAGE_PIXELS", "handlers", "level"], before, after):
    print(name, old == new, old, new)
"""


@pytest.mark.parametrize(
    "state",
    [
        "gc",
        "SIGALRM",
        "SIGTERM",
        pytest.param(
            "MAX_IMAGE_PIXELS",
            marks=pytest.mark.xfail(
                importlib.util.find_spec("handbill.images") is None,
                reason="cover.load_cover sets Pillow's limit for the process; the images module (hb-media) replaces it",
                strict=True,
            ),
        ),
        "handlers",
        "level",
    ],
)
def test_importing_the_cli_and_building_change_no_process_wide_state(write_book, state: str) -> None:
    """Built with a cover Pillow must open (a PNG with transparency), in a fresh interpreter."""
    from PIL import Image

    cover = io.BytesIO()
    Image.new("RGBA", (800, 1200), (200, 30, 30, 128)).save(cover, "PNG")
    book = write_book({**CHAPTERS, "cover.png": cover.getvalue()})
    done = subprocess.run([sys.executable, "-c", PROCESS_STATE, str(book)], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    register(book.parent / "state.epub")
    lines = {line.split()[0]: line for line in done.stdout.splitlines()}
    assert lines[state].split()[1] == "True", lines[state]


def test_the_command_still_tunes_the_collector() -> None:
    """The gc thresholds moved from import time into main(): the command keeps its speed-up."""
    code = "import gc, os, sys; sys.argv = ['handbill', '--version']; os._exit = lambda c: print(gc.get_threshold())\n"
    code += "from handbill.cli import main\nmain()"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert "(50000, 20, 20)" in done.stdout, done.stdout + done.stderr


def readme_example() -> str:
    text = (REPO / "README.md").read_text(encoding="utf-8")
    section = text[text.index("## Use from Python") :]
    return re.search(r"```python\n(.*?)```", section, re.S).group(1)  # type: ignore[union-attr]


def test_the_readme_example_runs_and_says_what_it_shows(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-c", readme_example()], cwd=tmp_path, capture_output=True, text=True, env={**os.environ}
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == [
        "my-book.epub 1 ()",
        "True []",
        "strict.epub: 1 warning in strict mode; nothing was written",
    ]
    assert not (tmp_path / "strict.epub").exists()
    with zipfile.ZipFile(tmp_path / "my-book.epub") as archive:
        assert archive.namelist()[0] == "mimetype"
    register(tmp_path / "my-book.epub")


def test_check_of_something_that_is_not_an_epub_is_a_finding(tmp_path: Path) -> None:
    (tmp_path / "x.epub").write_text("not a zip")
    report = handbill.check(tmp_path / "x.epub", run_epubcheck=False)
    assert not report.ok and [finding.code for finding in report.findings] == ["EPUB-UNREADABLE"]
    assert isinstance(report.findings[0], handbill.Finding)

"""Import and build of a 2 MB web page: `handbill build page.html` and `handbill import`, timed.

    python benchmarks/import_web.py [--runs 5] [--megabytes 2]

Two pages of the given size, both the statement's news page (tests/data/import_html) made larger:
- "article": the article itself is long (the statement's body repeated, with its marks, a list,
  a table and a quote every so often), the furniture as in the fixture;
- "furniture": the article is the statement, and the rest of the size is what real pages carry
  around it: inline scripts and styles, menus, related links, comments.
Each is built by the command line in a fresh process (start-up included); the figure is the
median wall time, and the reader's own share (`importers.read`) is timed in-process."""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
NEWS = REPO / "tests" / "data" / "import_html" / "statement-news.html"

EXTRA = """<h2>Part {n}</h2>
<ul><li>First point of part {n}, with <a href="https://example.org/{n}">a link</a></li>
<li>Second point, <em>stressed</em></li></ul>
<table><tr><th>Year</th><th>Strikes</th></tr><tr><td>1934</td><td>{n}</td></tr></table>
<blockquote><p>A quoted passage of part {n}, with <strong>bold words</strong> in it.</p></blockquote>
"""

FURNITURE = """<script>var config{n} = {{"items": [{items}]}};</script>
<style>.menu-{n} li {{ display: inline-block; margin: 0 4px; }} .promo-{n} {{ color: #c00; }}</style>
<div class="related-articles"><h3>More stories</h3><ul>{links}</ul></div>
<div class="comments"><p>Comment {n}: I agree with this, and I think the point about the strike is right.</p></div>
"""


def article_page(size: int) -> str:
    page = NEWS.read_text(encoding="utf-8")
    start = page.index('<div class="article-body">') + len('<div class="article-body">')
    end = page.index("</div>", start)
    body = page[start:end]
    parts = [body]
    n = 0
    while len(page) + sum(map(len, parts)) < size:
        n += 1
        parts.append(EXTRA.format(n=n) + body)
    return page[:start] + "".join(parts) + page[end:]


def furniture_page(size: int) -> str:
    page = NEWS.read_text(encoding="utf-8")
    at = page.index("</main>")
    parts = []
    n = 0
    while len(page) + sum(map(len, parts)) < size:
        n += 1
        items = ", ".join(f'{{"id": {i}, "title": "Story {i}", "url": "/en/articles/{n}/{i}.html"}}' for i in range(40))
        links = "".join(
            f'<li><a href="/en/articles/{n}/{i}.html">Another story, number {i}</a></li>' for i in range(20)
        )
        parts.append(FURNITURE.format(n=n, items=items, links=links))
    return page[:at] + "".join(parts) + page[at:]


CPU: list[float] = []  # CPU seconds (user + system) of each timed command, children included


def timed(command: list[str]) -> float:
    """Wall time of one command; its CPU time goes to CPU (a fairer figure on a shared machine)."""
    import resource

    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    subprocess.run(command, check=True, capture_output=True)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    CPU.append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
    return wall


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--megabytes", type=float, default=2.0)
    options = parser.parse_args()
    size = int(options.megabytes * 1024 * 1024)
    handbill = [sys.executable, "-m", "handbill"]
    sys.path.insert(0, str(REPO / "src"))
    from handbill.importers import read

    with tempfile.TemporaryDirectory() as temporary:
        folder = Path(temporary)
        for name, make in (("article", article_page), ("furniture", furniture_page)):
            page = folder / f"{name}.html"
            page.write_text(make(size), encoding="utf-8")
            megabytes = page.stat().st_size / 1048576
            CPU.clear()
            builds = [
                timed([*handbill, "build", str(page), "-o", str(folder / f"{name}.epub")]) for _ in range(options.runs)
            ]
            build_cpu = statistics.median(CPU)
            CPU.clear()
            imports = []
            for run in range(options.runs):
                imports.append(timed([*handbill, "import", str(page), "-o", str(folder / f"{name}-{run}")]))
            import_cpu = statistics.median(CPU)
            reads = []
            for _ in range(options.runs):
                started = time.perf_counter()
                document = read(page)
                reads.append(time.perf_counter() - started)
            words = sum(len(block.text.split()) for block in document.blocks)
            print(
                f"{name}: {megabytes:.1f} MB page, {words:,} words kept: "
                f"build {statistics.median(builds):.2f} s ({build_cpu:.2f} s CPU), "
                f"import {statistics.median(imports):.2f} s ({import_cpu:.2f} s CPU), "
                f"read+repair in-process {statistics.median(reads):.2f} s (median of {options.runs})"
            )


if __name__ == "__main__":
    main()

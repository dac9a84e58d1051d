"""The HTML reader against Mozilla Readability's test pages: how much of the article Readability
finds does handbill find, page by page (a measure, not a test: the pages are not in this repository).

    git clone --depth 1 https://github.com/mozilla/readability /tmp/readability
    python benchmarks/readability_pages.py /tmp/readability/test/test-pages

For each page: the share of Readability's paragraphs (over 20 characters) found in handbill's
article, and the length of both texts. Pages where handbill finds less than 80% are marked !!."""

from __future__ import annotations

import sys
import time
from pathlib import Path

import markdown
from lxml import html

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "src"))
sys.path.insert(0, str(REPO))

from tests.test_statement import normalise  # noqa: E402

from handbill.importers import Repairs  # noqa: E402
from handbill.importers import html as reader  # noqa: E402

BLOCKS = ("p", "h1", "h2", "h3", "h4", "h5", "h6", "li", "pre", "td", "th")


def shown(document: reader.Document) -> str:
    text = "\n\n".join(
        ("#" * block.level + " " + block.text) if block.kind == "heading" else reader.block_markdown(block)
        for block in document.blocks
    )
    tree = html.fragment_fromstring(markdown.markdown(text, extensions=["tables", "fenced_code", "footnotes"]), "div")
    return " ".join(normalise(element.text_content()) for element in tree.iter(*BLOCKS))


def main() -> None:
    pages = Path(sys.argv[1])
    good = total = 0
    seconds = 0.0
    for folder in sorted(path for path in pages.iterdir() if (path / "expected.html").is_file()):
        source = folder / "source.html"
        expected = html.fromstring((folder / "expected.html").read_text(encoding="utf-8"))
        paragraphs = [normalise(element.text_content()) for element in expected.iter(*BLOCKS)]
        paragraphs = [text for text in paragraphs if len(text) > 20]
        total += 1
        started = time.perf_counter()
        try:
            document = reader.read(source.read_bytes(), str(source), Repairs())
        except reader.HtmlImportError as error:
            print(f"!! {folder.name}: {error.format_message()[:100]}")
            continue
        finally:
            seconds += time.perf_counter() - started
        text = shown(document)
        found = sum(paragraph in text for paragraph in paragraphs)
        share = found / len(paragraphs) if paragraphs else 1.0
        good += share >= 0.8
        mark = "  " if share >= 0.8 else "!!"
        print(
            f"{mark} {folder.name}: {found}/{len(paragraphs)} paragraphs, {len(text):,} characters "
            f"(Readability {len(normalise(expected.text_content())):,})"
        )
    print(f"{good} of {total} pages give at least 80% of Readability's paragraphs; {seconds:.1f} s reading them all")


if __name__ == "__main__":
    main()

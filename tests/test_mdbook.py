"""mdBook projects: includes with ranges and anchors, SUMMARY.md's nesting and parts,
book.toml's [book] and [output.epub] (issue 15)."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest
from lxml import etree

from handbill.build import build
from handbill.config import load_config

from .conftest import NS, Epub, reader_text, register

LISTING = """\
use std::io;
// ANCHOR: greet
fn greet() {
    println!("hello");
}
// ANCHOR_END: greet
// ANCHOR: other
fn other() {}
// ANCHOR_END: other
fn main() {
    greet();
}
"""

CHAPTER_ONE = """\
# One

Whole file:

```rust
{{#include ../listings/main.rs}}
```

Anchor:

```rust
{{#include ../listings/main.rs:greet}}
```

Only line 3:

```rust
{{#include ../listings/main.rs:3}}
```

Lines 2 to 5, up to 2, from 10:

```text
{{#include ../listings/main.rs:2:5}}
```

```text
{{#include ../listings/main.rs::2}}
```

```text
{{#include ../listings/main.rs:10:}}
```

Rustdoc with a range:

```rust
{{#rustdoc_include ../listings/main.rs:10:12}}
```

Escaped: \\{{#include not-a-file.md}}

Nested: {{#include parts/nested.md}}

Missing: {{#include missing.md}}

Outside: {{#include ../../outside.md}}

Unknown anchor: {{#include ../listings/main.rs:nowhere}}
"""

SUMMARY = """\
# Summary

[Preface](preface.md)

# Part I

- [One](one.md)
    - [One A](one-a.md)
        - [One A i](one-a-i.md)
    - [A draft]()
- [Two](two.md)

### Not a part (only `#` headings are, as in mdBook)

---

# Part II

- [Three](three.md)

[Afterword](afterword.md)
"""


@pytest.fixture
def mdbook(tmp_path: Path) -> Path:
    project = tmp_path / "project"
    files = {
        ".git/HEAD": "ref: refs/heads/main\n",
        "book.toml": (
            '[book]\ntitle = "Fixture Book"\nauthors = ["Fern Rust"]\nlanguage = "en"\n'
            'description = "A small mdBook"\nsrc = "src"\n\n'
            '[output.epub]\ncover-image = "cover.png"\nadditional-css = ["theme/extra.css"]\n'
        ),
        "theme/extra.css": ".fixture-extra { color: inherit; }\n",
        "listings/main.rs": LISTING,
        "src/SUMMARY.md": SUMMARY,
        "src/preface.md": "# Preface\n\nBefore.\n",
        "src/one.md": CHAPTER_ONE,
        "src/parts/nested.md": "nested text and {{#include deeper.md}}",
        "src/parts/deeper.md": "the deeper text\n",
        "src/one-a.md": "# One A\n\n## One A heading\n\nx\n",
        "src/one-a-i.md": "# One A i\n\nx\n",
        "src/two.md": "# Two\n\n```rust\n# fn hidden() {}\n#[derive(Debug)]\nstruct Shown;\n## not hidden\n```\n",
        "src/three.md": "# Three\n\n{{#include three.md}}\n\n{{#title A page title}}\n",
        "src/afterword.md": "# Afterword\n\nAfter.\n",
    }
    for name, text in files.items():
        path = project / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    from PIL import Image

    Image.new("RGB", (600, 900), (200, 40, 40)).save(project / "src" / "cover.png")
    (tmp_path / "outside.md").write_text("SECRET OUTSIDE\n", encoding="utf-8")
    return project


@pytest.fixture
def built(mdbook: Path, build_book) -> tuple[Epub, list[str]]:
    return build_book(mdbook)


def chapter(epub: Epub, title: str) -> etree._Element:
    for name in epub.body_documents():
        document = epub.document(name)
        heading = document.find(".//x:h1", NS)
        if heading is not None and reader_text(heading) == title:
            return document
    raise AssertionError(f"no chapter {title!r}")


def code_blocks(document: etree._Element) -> list[str]:
    return ["".join(pre.itertext()).strip("\n") for pre in document.iter("{*}pre")]


def test_includes_take_ranges_and_anchors_without_anchor_lines(built) -> None:
    epub, _ = built
    blocks = code_blocks(chapter(epub, "One"))
    whole = "\n".join(line for line in LISTING.rstrip("\n").split("\n") if "ANCHOR" not in line)
    assert blocks[0] == whole
    assert blocks[1] == 'fn greet() {\n    println!("hello");\n}'
    assert blocks[2] == "fn greet() {"
    assert blocks[3] == 'fn greet() {\n    println!("hello");\n}'  # lines 2-5, the anchor line dropped
    assert blocks[4] == "use std::io;"
    assert blocks[5] == "fn main() {\n    greet();\n}"
    assert blocks[6] == "fn main() {\n    greet();\n}"


def test_no_directive_is_left_and_each_bad_include_is_named(built) -> None:
    epub, warnings = built
    text = " ".join(reader_text(epub.document(name)) for name in epub.body_documents())
    assert "{{#include not-a-file.md}}" in text  # the escaped one is shown as written
    assert text.count("{{#") == 1
    assert "nested text and the deeper text" in text
    assert "SECRET OUTSIDE" not in text and "A page title" not in text
    one = str(Path("src") / "one.md")
    expected = {
        "missing.md}}: no such file": f"{one}:",
        "outside.md}} is outside the book's project folder": f"{one}:",
        "no 'ANCHOR: nowhere'": f"{one}:",
        "includes itself (a cycle)": str(Path("src") / "three.md:3"),
    }
    for problem, where in expected.items():
        assert any(problem in warning and where in warning for warning in warnings), (problem, warnings)


def test_hidden_rust_lines_are_left_out(built) -> None:
    epub, _ = built
    assert code_blocks(chapter(epub, "Two")) == ["#[derive(Debug)]\nstruct Shown;\n# not hidden"]


def test_summary_nesting_and_parts_make_the_nested_contents(built) -> None:
    epub, _ = built
    nav_item = next(i for i in epub.manifest.values() if "nav" in (i.get("properties") or "").split())
    toc = epub.document(nav_item.get("href")).find(".//x:nav[@epub:type='toc']/x:ol", NS)

    def tree(ol: etree._Element) -> list:
        return [
            (reader_text(li.find("x:a", NS)), tree(li.find("x:ol", NS)) if li.find("x:ol", NS) is not None else [])
            for li in ol.findall("x:li", NS)
        ]

    assert tree(toc) == [
        ("Preface", []),
        ("Part I", [("One", [("One A", [("One A heading", []), ("One A i", [])])]), ("Two", [])]),
        ("Part II", [("Three", [])]),
        ("Afterword", []),
    ]
    hrefs = dict(epub.toc())
    # a part title opens its first chapter; the NCX nests the same way
    assert [label for label, _ in epub.toc()].count("Part I") == 1
    labels = dict(epub.toc())
    assert labels["Part I"] == labels["One"] and hrefs["Part II"] == hrefs["Three"]
    ncx = epub.document(epub.manifest["ncx"].get("href"))
    part = ncx.find("ncx:navMap/ncx:navPoint[2]", NS)
    assert part.findtext("ncx:navLabel/ncx:text", namespaces=NS) == "Part I"
    assert [p.findtext("ncx:navLabel/ncx:text", namespaces=NS) for p in part.findall("ncx:navPoint", NS)] == [
        "One",
        "Two",
    ]


def test_book_toml_book_and_output_epub_are_honoured(built) -> None:
    epub, _ = built
    assert epub.metadata("title") == ["Fixture Book"]
    assert epub.metadata("creator") == ["Fern Rust"]
    assert epub.metadata("description") == ["A small mdBook"]
    cover = epub.manifest["cover-image"]
    assert cover.get("media-type") == "image/png"
    import io

    from PIL import Image

    data = epub.files[epub.base + cover.get("href")]
    assert Image.open(io.BytesIO(data)).getpixel((300, 450)) == (200, 40, 40)
    css = [epub.files[epub.base + i.get("href")] for i in epub.manifest.values() if i.get("media-type") == "text/css"]
    assert any(b".fixture-extra" in sheet for sheet in css)


def test_include_depth_is_bounded(tmp_path: Path, build_book) -> None:
    project = tmp_path / "deep"
    (project / "src").mkdir(parents=True)
    (project / "book.toml").write_text('[book]\ntitle = "Deep"\n', encoding="utf-8")
    (project / "src" / "SUMMARY.md").write_text("- [Deep](deep.md)\n", encoding="utf-8")
    (project / "src" / "deep.md").write_text("# Deep\n\n{{#include d1.md}}\n", encoding="utf-8")
    for n in range(1, 15):
        (project / "src" / f"d{n}.md").write_text(f"level {n} {{{{#include d{n + 1}.md}}}}", encoding="utf-8")
    (project / "src" / "d15.md").write_text("bottom", encoding="utf-8")
    epub, warnings = build_book(project)
    text = reader_text(epub.document(epub.body_documents()[0]))
    assert "level 10" in text and "level 11" not in text and "{{#" not in text
    assert any("more than 10 includes deep" in warning for warning in warnings)


RUST_BOOK = Path(os.environ.get("HANDBILL_RUST_BOOK", "/tmp/meta/rustbook"))


@pytest.mark.skipif(
    not (RUST_BOOK / "book.toml").is_file(), reason="the Rust book is not checked out (HANDBILL_RUST_BOOK)"
)
def test_the_rust_book_builds_with_no_directive_left(tmp_path: Path) -> None:
    started = time.perf_counter()
    result = build(load_config(RUST_BOOK), tmp_path / "rust.epub")
    seconds = time.perf_counter() - started
    register(result.path)
    epub = Epub(result.path)
    for name in epub.body_documents():
        assert "{{#" not in reader_text(epub.document(name)), name
        assert "ANCHOR" not in reader_text(epub.document(name)), name
    assert seconds < 120


def test_unknown_directives_are_removed_with_one_warning(tmp_path: Path, build_book) -> None:
    project = tmp_path / "odd"
    (project / "src").mkdir(parents=True)
    (project / "book.toml").write_text('[book]\ntitle = "Odd"\n', encoding="utf-8")
    (project / "src" / "SUMMARY.md").write_text("- [Odd](odd.md)\n", encoding="utf-8")
    body = "# Odd\n\n" + "text {{#template x.md}} " * 500 + "\n\nunclosed {{#include " + "{{#a" * 2000 + "\n"
    (project / "src" / "odd.md").write_text(body, encoding="utf-8")
    epub, warnings = build_book(project)
    text = reader_text(epub.document(epub.body_documents()[0]))
    assert "{{#template" not in text and text.count("text") == 500
    assert [w for w in warnings if "directive" in w] == [
        f"{project / 'src' / 'odd.md'}:3: unknown mdBook directive {{{{#template}}}} (and 499 more); removed"
    ]

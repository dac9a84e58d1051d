"""Highlighted code, mdBook info strings, and table column alignment."""

from __future__ import annotations

import re

import pytest

from handbill.assemble.resources import FeatureStyles
from handbill.render.code import CODE_CSS

from .conftest import REPO, reader_text

X = "{http://www.w3.org/1999/xhtml}"

RUST = """fn main() {
    // a comment
    let x: u32 = 42;
    println!("Hello {}", x);
}"""

CODE = f"""# Code

```rust,ignore
{RUST}
```

```python,editable
def f(x):
    return x + 1  # note
```

```{{.python}}
print("braces")
```

~~~nosuchlanguage
plain <text> & more
~~~

```
no language at all
```
"""


@pytest.fixture
def code_book(write_book, build_book):
    folder = write_book({"01-code.md": CODE, "02-prose.md": "# Prose\n\nNo code here.\n"})
    return build_book(folder)


def _pres(epub, name):
    return list(epub.document(name).iter(f"{X}pre"))


def _language(pre):
    code = pre.find(f"{X}code")
    return (code.get("class") or "").removeprefix("language-") or None


def test_info_strings_name_the_language_and_code_is_highlighted_with_classes(code_book):
    epub, warnings = code_book
    code_doc = epub.body_documents()[0]
    pres = _pres(epub, code_doc)
    assert [(_language(pre), pre.get("class")) for pre in pres] == [
        ("rust", "highlight"),
        ("python", "highlight"),
        ("python", "highlight"),
        ("nosuchlanguage", None),  # unknown: plain code
        (None, None),
    ]
    rust = pres[0].find(f"{X}code")
    assert "".join(rust.itertext()) == RUST + "\n"  # not a character lost or added
    spans = {(span.get("class"), span.text.strip()) for span in rust.iter(f"{X}span")}
    assert {("k", "fn"), ("nf", "main"), ("c", "// a comment"), ("kt", "u32"), ("m", "42")} <= spans
    assert ("s", '"Hello {}"') in spans
    assert all(span.get("style") is None for span in rust.iter(f"{X}span"))
    assert "".join(pres[3].itertext()) == "plain <text> & more\n" and not list(pres[3].iter(f"{X}span"))
    assert not warnings  # an unknown language says nothing
    assert not any("```" in block for block in epub.text_blocks(code_doc))  # every fence was read as one


def test_code_stylesheet_only_where_there_is_highlighted_code(code_book, write_book, build_book):
    epub, _ = code_book
    code_doc, prose_doc = epub.body_documents()
    hrefs = {
        name: [link.get("href") for link in epub.document(name).iter(f"{X}link")] for name in (code_doc, prose_doc)
    }
    assert hrefs[code_doc] == ["styles/handbill.css", FeatureStyles.FILE_NAME]
    assert hrefs[prose_doc] == ["styles/handbill.css"]
    css = epub.files[epub.base + FeatureStyles.FILE_NAME].decode()
    assert "pre.highlight .k" in css
    items = [item.get("href") for item in epub.manifest.values()]
    assert FeatureStyles.FILE_NAME in items

    plain, _ = build_book(write_book({"a.md": "# A\n\n```text\nplain\n```\n\n```nosuch\nx\n```\n"}, "plain"))
    assert FeatureStyles.FILE_NAME not in [item.get("href") for item in plain.manifest.values()]


def _luminance(colour: str) -> float:
    def channel(value: int) -> float:
        c = value / 255
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (int(colour[i : i + 2], 16) for i in (1, 3, 5))
    return 0.2126 * channel(r) + 0.7152 * channel(g) + 0.0722 * channel(b)


def test_code_colours_read_on_white_and_on_black_and_set_no_background():
    colours = re.findall(r"color:\s*(#[0-9a-fA-F]{6})", CODE_CSS)
    assert len(colours) >= 8
    for colour in colours:
        lum = _luminance(colour)
        assert 1.05 / (lum + 0.05) >= 4.5, f"{colour} on white"
        assert (lum + 0.05) / 0.05 >= 4.5, f"{colour} on black (night mode)"
    assert "background-color" not in CODE_CSS and "background: none" in CODE_CSS
    # Keywords and comments differ in weight or slant too: on e-ink every colour is a grey.
    assert re.search(r"\.k \{[^}]*font-weight: bold", CODE_CSS)
    assert re.search(r"\.c \{[^}]*font-style: italic", CODE_CSS)
    handbill_css = (REPO / "src/handbill/data/handbill.css").read_text()
    pre_rule = re.search(r"\npre \{[^}]*\}", handbill_css).group()
    assert "white-space: pre-wrap" in pre_rule and "break-inside: avoid" in pre_rule
    assert re.search(r"pre, code, kbd, samp \{[^}]*overflow-wrap: anywhere", handbill_css)


def test_fence_inside_a_list_and_a_long_line(write_book, build_book):
    long_line = "x = " + " + ".join(str(n) for n in range(200))
    epub, warnings = build_book(write_book({"a.md": f"# A\n\n```python\n{long_line}\n```\n"}))
    pre = _pres(epub, epub.body_documents()[0])[0]
    assert reader_text(pre) == long_line
    assert not warnings


def test_table_alignment_becomes_classes_without_a_warning(write_book, build_book):
    table = "# T\n\n| Left | Centre | Right | None |\n|:-----|:------:|------:|------|\n| a | b | 1.50 | c |\n"
    epub, warnings = build_book(write_book({"a.md": table}))
    doc = epub.document(epub.body_documents()[0])
    cells = [(cell.tag.rsplit("}")[-1], cell.get("class"), cell.get("style")) for cell in doc.iter(f"{X}th", f"{X}td")]
    assert cells == [
        ("th", "align-left", None),
        ("th", "align-center", None),
        ("th", "align-right", None),
        ("th", None, None),
        ("td", "align-left", None),
        ("td", "align-center", None),
        ("td", "align-right", None),
        ("td", None, None),
    ]
    assert not warnings  # no "removed inline style attributes"
    css = epub.files[epub.base + FeatureStyles.FILE_NAME].decode()
    for side in ("left", "center", "right"):
        assert f"td.align-{side} {{ text-align: {side}; }}" in css


def test_raw_html_inline_styles_are_still_reported(write_book, build_book):
    _, warnings = build_book(write_book({"a.md": '# A\n\n<p style="color: red">red</p>\n'}))
    assert any("removed inline style" in warning for warning in warnings)

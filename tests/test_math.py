"""TeX math as MathML: what a reader gets, what the package declares, and dollars left alone."""

from __future__ import annotations

import subprocess
import sys

import pytest

from handbill.render.markdown import _OPTIONAL_EXTENSIONS, render_markdown

from .conftest import CONTENT, NS, REPO, reader_text

M = "{http://www.w3.org/1998/Math/MathML}"
X = "{http://www.w3.org/1999/xhtml}"

MATH = r"""# Physics

Energy $E = mc^2$ and the pair \(a_1 + b^2\), costing $5 and $10.

$$
\int_0^1 x\,dx = \frac{1}{2}
$$

\[ \sqrt{x^2 + y^2} \]

In a sentence, $$\sum_{i=1}^n i$$ is display math.

Code keeps `$x$` and an escaped bracket \[sic\] stays.

Bad: $\frac{1}$ here.
"""


@pytest.fixture
def math_book(write_book, build_book):
    folder = write_book(
        {
            "book.toml": 'title = "Math"\nlanguage = "en"\n',
            "01-physics.md": MATH,
            "02-money.md": "# Money\n\nIt cost $1.5 trillion, then $8.2 trillion; tickets are $5 and $10.\n",
        }
    )
    return build_book(folder)


def _maths(epub, name):
    return list(epub.document(name).iter(f"{M}math"))


def test_inline_and_display_math_become_mathml_with_tex_alttext(math_book):
    epub, _ = math_book
    physics = epub.body_documents()[0]
    maths = _maths(epub, physics)
    assert [(m.get("display"), m.get("alttext")) for m in maths] == [
        ("inline", "E = mc^2"),
        ("inline", "a_1 + b^2"),
        ("block", r"\int_0^1 x\,dx = \frac{1}{2}"),
        ("block", r"\sqrt{x^2 + y^2}"),
        ("block", r"\sum_{i=1}^n i"),
    ]
    first = maths[0]
    assert first.find(f".//{M}msup") is not None
    assert "".join(first.itertext()) == "E=mc2"  # without MathML, the tokens still read in order
    fraction = maths[2].find(f".//{M}mfrac")
    assert fraction is not None and len(fraction) == 2
    # Display math stands in a paragraph of its own, marked for the stylesheet.
    assert maths[2].getparent().tag == f"{X}p" and maths[2].getparent().get("class") == "math"


def test_mathml_property_and_accessibility_feature(math_book):
    epub, _ = math_book
    physics, money = epub.body_documents()
    by_href = {epub.base + item.get("href"): item for item in epub.manifest.values()}
    assert "mathml" in by_href[physics].get("properties", "").split()
    assert "mathml" not in (by_href[money].get("properties") or "").split()
    assert "MathML" in epub.meta_property("schema:accessibilityFeature")


def test_dollars_in_prose_and_code_and_escaped_brackets_stay_text(math_book):
    epub, _ = math_book
    physics, money = epub.body_documents()
    assert not _maths(epub, money)
    assert epub.text_blocks(money)[1] == "It cost $1.5 trillion, then $8.2 trillion; tickets are $5 and $10."
    blocks = epub.text_blocks(physics)
    assert any(block.endswith("costing $5 and $10.") for block in blocks)
    code = [reader_text(c) for c in epub.document(physics).iter(f"{X}code")]
    assert "$x$" in code
    assert any("an escaped bracket [sic] stays." in block for block in blocks)


def test_bad_tex_is_kept_as_code_with_a_warning_naming_file_and_line(math_book):
    epub, warnings = math_book
    physics = epub.body_documents()[0]
    kept = [c for c in epub.document(physics).iter(f"{X}code") if c.get("class") == "tex"]
    assert [c.text for c in kept] == [r"\frac{1}"]
    assert [w for w in warnings if "TeX" in w] == [
        f"{epub.path.parent.parent / 'book' / '01-physics.md'}:15: TeX math that could not be read is kept as text: "
        r"\frac{1}"
    ]


@pytest.mark.parametrize(
    "text",
    [
        "It cost $1.5 trillion and then $8.2 trillion.",
        "Tickets are $5 and $10.",
        "Between $ 5 and 6 $ dollars.",  # a space after the opening or before the closing $
        "From $5 to $6.",
        "Price: $20$30",  # a closing $ followed by a digit
        r"Escaped \$x\$ stays.",
        "A lone $ sign.",
    ],
)
def test_pandoc_dollar_rule_leaves_prose_alone(text):
    assert "<math" not in render_markdown(text)
    assert not _OPTIONAL_EXTENSIONS["math"](text) or "\\" in text


@pytest.mark.parametrize(
    ("text", "alttext"),
    [("$x$", "x"), ("a $x^2$, b", "x^2"), ("($\\alpha$)", "\\alpha"), ("\\(y\\)", "y"), ("$a$5", None)],
)
def test_pandoc_dollar_rule_finds_math(text, alttext):
    markup = render_markdown(text)
    if alttext is None:
        assert "<math" not in markup
    else:
        assert f'alttext="{alttext}"' in markup


def test_statement_never_loads_math_or_highlighting():
    """The statement has dollar amounts but no math and no code: neither latex2mathml nor Pygments
    is imported, and the converter has no math extension (its build stays as fast, byte for byte
    the same; tests/test_golden.py compares the bytes)."""
    for path in sorted(CONTENT.glob("*.md")):
        assert not _OPTIONAL_EXTENSIONS["math"](path.read_text(encoding="utf-8")), path
    script = (
        "import sys, tempfile, pathlib\n"
        "from handbill.build import build\nfrom handbill.config import load_config\n"
        f"build(load_config(pathlib.Path({str(CONTENT)!r})), pathlib.Path(tempfile.mkdtemp()) / 'b.epub')\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('pygments', 'latex2mathml')"
        " or m in ('handbill.render.code', 'handbill.svgimage')))\n"
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=REPO, check=True)
    assert result.stdout.strip() == "[]"


def test_math_in_a_list_table_and_quote(write_book, build_book):
    folder = write_book({"index.md": "# T\n\n- item $x_i$\n\n> quoted $y$\n\n| a | b |\n|---|---|\n| $z^2$ | 1 |\n"})
    epub, warnings = build_book(folder)
    doc = epub.body_documents()[0]
    assert [m.get("alttext") for m in _maths(epub, doc)] == ["x_i", "y", "z^2"]
    assert not warnings
    assert epub.opf.find("opf:metadata", NS) is not None


def test_kobo_edition_keeps_math_and_highlighted_code(write_book, tmp_path):
    from .test_kepub import build_both

    folder = write_book(
        {"a.md": "# A\n\nEnergy $E = mc^2$ here.\n\n$$\\frac{a}{b}$$\n\n```python\nx = 1  # one\n```\n"}
    )
    epub, kepub = build_both(folder, tmp_path)
    for book in (epub, kepub):
        doc = book.document(book.body_documents()[0])
        assert [m.get("alttext") for m in doc.iter(f"{M}math")] == ["E = mc^2", "\\frac{a}{b}"]
        assert "".join(doc.find(f".//{X}pre").itertext()) == "x = 1  # one\n"


def test_an_escaped_dollar_is_a_dollar_sign_as_in_pandoc() -> None:
    from handbill.render.markdown import render_markdown

    assert render_markdown(r"It costs \$5 and \$10, or \$1\$ in all.") == "<p>It costs $5 and $10, or $1$ in all.</p>"

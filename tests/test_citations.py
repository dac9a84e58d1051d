"""Citations: `bibliography` in book.toml, `[@key]` in the text, a References chapter at the end."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from handbill.errors import ConfigError, SourceError

from .conftest import NS, reader_text

BIBTEX = r"""
@book{Marx1867,
  author = {Marx, Karl},
  title = {Das Kapital},
  publisher = {Otto Meissner},
  address = {Hamburg},
  year = {1867}
}
@article{luxemburg1906,
  author = {Luxemburg, Rosa and Kautsky, Karl},
  title = {The Mass Strike},
  journal = {Die Neue Zeit},
  volume = {24},
  pages = {10--20},
  year = {1906}
}
@book{engels1845,
  author = {Engels, Friedrich},
  title = {The Condition of the Working Class in England},
  year = {1845},
  publisher = {Wigand}
}
@book{uncited,
  author = {Nobody, Known},
  title = {Never Cited},
  year = {2000}
}
"""

CSL_JSON = [
    {"id": "marx1867", "type": "book", "title": "Das Kapital", "author": [{"family": "Marx", "given": "Karl"}],
     "issued": {"date-parts": [[1867]]}, "publisher": "Otto Meissner"},
    {"id": "engels1845", "type": "book", "title": "The Condition of the Working Class in England",
     "author": [{"family": "Engels", "given": "Friedrich"}], "issued": {"date-parts": [[1845]]}},
]  # fmt: skip

TEXT = """# Capital

Value [@marx1867, p. 10] and [see @luxemburg1906; @engels1845, chap. 2, for more].

As @marx1867 argued; write to a@b.org or @someone.

Code stays: `[@marx1867]`, and [a bracket with a @ in it] too.

Ranges [@marx1867, pp. 33-35] and a suffix [@engels1845 and passim].
"""


def _book(write_book, text: str = TEXT, bib: str | bytes = BIBTEX, name: str = "refs.bib", extra: str = ""):
    return write_book(
        {"book.toml": f'title = "Capital"\nbibliography = "{name}"\n{extra}', "index.md": text, name: bib}
    )


def _paragraphs(epub) -> list[str]:
    first = epub.body_documents()[0]
    return [reader_text(p) for p in epub.document(first).iter("{*}p")]


def test_citations_are_formatted_and_referenced(write_book, build_book) -> None:
    epub, warnings = build_book(_book(write_book))
    assert warnings == []
    assert _paragraphs(epub) == [
        "Value (Marx, 1867, p. 10) and (Engels, 1845, chap. 2, for more; see Luxemburg and Kautsky, 1906).",
        "As Marx (1867) argued; write to a@b.org or @someone.",
        "Code stays: [@marx1867], and [a bracket with a @ in it] too.",
        "Ranges (Marx, 1867, pp. 33–35) and a suffix (Engels, 1845 and passim).",
    ]
    last = epub.document(epub.body_documents()[-1])
    section = last.find(".//x:section", NS)
    assert section.get("role") == "doc-bibliography"
    assert section.get("{http://www.idpf.org/2007/ops}type") == "bibliography"
    assert reader_text(section.find("x:h1", NS)) == "References"
    entries = [reader_text(p) for p in section.iterfind(".//x:p", NS)]
    assert entries == [
        "Engels, F. (1845) The Condition of the Working Class in England. Wigand.",
        "Luxemburg, R. and Kautsky, K. (1906) “The Mass Strike”, Die Neue Zeit, 24, pp. 10–20.",
        "Marx, K. (1867) Das Kapital. Hamburg: Otto Meissner.",
    ]  # cited works only, in the style's order
    assert [title for title, _ in epub.toc()][-1] == "References"
    assert section.find(".//x:i", NS).text == "The Condition of the Working Class in England"


def test_csl_json_references(write_book, build_book) -> None:
    text = "# Capital\n\nSee [@engels1845] and [@marx1867, p. 5].\n"
    epub, warnings = build_book(_book(write_book, text, json.dumps(CSL_JSON), "refs.json"))
    assert warnings == []
    assert _paragraphs(epub)[0] == "See (Engels, 1845) and (Marx, 1867, p. 5)."
    last = epub.document(epub.body_documents()[-1])
    assert [reader_text(p) for p in last.iterfind(".//x:p", NS)] == [
        "Engels, F. (1845) The Condition of the Working Class in England.",
        "Marx, K. (1867) Das Kapital. Otto Meissner.",
    ]


def test_unknown_key_warns_with_file_and_line_and_stays(write_book, build_book) -> None:
    text = "# Capital\n\nFine [@marx1867].\n\nBad [@nobody] and [@marx1867; @nobody2].\n"
    root = _book(write_book, text)
    epub, warnings = build_book(root)
    where = root / "index.md"
    assert warnings == [
        f"{where}:5: citation of 'nobody', which refs.bib does not hold; kept as written",
        f"{where}:5: citation of 'nobody2', which refs.bib does not hold; kept as written",
    ]
    assert _paragraphs(epub) == ["Fine (Marx, 1867).", "Bad [@nobody] and [@marx1867; @nobody2]."]


def test_no_bibliography_keeps_text_and_never_loads_citeproc(write_book, tmp_path) -> None:
    root = write_book({"index.md": "# T\n\nAs [@marx1867, p. 10] and @marx1867 say.\n"})
    script = (
        "import sys, zipfile\n"
        "from handbill.build import build\nfrom handbill.config import load_config\n"
        f"build(load_config(__import__('pathlib').Path({str(root)!r})), __import__('pathlib').Path({str(tmp_path / 'o.epub')!r}))\n"
        "assert not [m for m in sys.modules if m.startswith('citeproc') or m == 'handbill.citations'], 'loaded'\n"
        f"z = zipfile.ZipFile({str(tmp_path / 'o.epub')!r})\n"
        "assert b'As [@marx1867, p. 10] and @marx1867 say.' in z.read('EPUB/text-001.xhtml')\n"
    )
    subprocess.run([sys.executable, "-c", script], check=True)


def test_nothing_cited_gives_no_references_chapter(write_book, build_book) -> None:
    epub, warnings = build_book(_book(write_book, "# Capital\n\nNo citations here.\n"))
    assert warnings == []
    assert len(epub.body_documents()) == 1


@pytest.mark.parametrize(
    ("bib", "name", "message"),
    [
        ("@book{broken, title = {Unclosed", "refs.bib", "cannot be read as a bibliography"),
        ('[{"id": 1,', "refs.json", "is not valid JSON"),
        ('{"not": "a list"}', "refs.json", "is not CSL-JSON"),
        (b"\xff\xfe\x00broken", "refs.bib", ""),
    ],
)
def test_broken_bibliography_is_one_error_naming_it(write_book, bib, name, message) -> None:
    from handbill.build import build
    from handbill.config import load_config

    root = _book(write_book, bib=bib, name=name)
    with pytest.raises((ConfigError, SourceError)) as caught:
        build(load_config(root), root / "out.epub")
    assert str(caught.value).startswith(str(root / name))
    assert message in str(caught.value)
    assert "\n" not in str(caught.value)
    assert not (root / "out.epub").exists()


def test_bibliography_size_is_limited(write_book) -> None:
    from handbill.build import build
    from handbill.config import load_config

    root = _book(write_book, bib="%" * (5 * 1024 * 1024 + 1))
    with pytest.raises(SourceError, match="larger than 5 MB"):
        build(load_config(root), root / "out.epub")


def test_bibliography_outside_the_project_is_refused(write_book, tmp_path) -> None:
    from handbill.config import load_config

    (tmp_path / "outside.bib").write_text(BIBTEX, encoding="utf-8")
    root = write_book({"book.toml": 'bibliography = "../outside.bib"\n', "index.md": "# T\n", ".handbill": ""})
    with pytest.raises(ConfigError, match="outside the book's project"):
        load_config(root)


def test_csl_style_is_used_and_entities_refused(write_book, build_book) -> None:
    style = """<?xml version="1.0" encoding="utf-8"?>
<style xmlns="http://purl.org/net/xbiblio/csl" class="in-text" version="1.0">
  <info><title>Numbers</title><id>numbers</id><updated>2026-01-01T00:00:00+00:00</updated></info>
  <citation><layout prefix="[" suffix="]" delimiter=", "><text variable="citation-number"/></layout></citation>
  <bibliography><layout><text variable="citation-number" suffix=". "/><text variable="title"/></layout></bibliography>
</style>
"""
    root = _book(write_book, "# Capital\n\nA [@engels1845] and B [@marx1867].\n", extra='csl = "numbers.csl"\n')
    (root / "numbers.csl").write_text(style, encoding="utf-8")
    epub, warnings = build_book(root)
    assert warnings == []
    assert _paragraphs(epub)[0] == "A [1] and B [2]."
    last = epub.document(epub.body_documents()[-1])
    assert [reader_text(p) for p in last.iterfind(".//x:p", NS)] == [
        "1. The Condition of the Working Class in England",
        "2. Das Kapital",
    ]

    from handbill.build import build
    from handbill.config import load_config

    (root / "numbers.csl").write_text(
        '<?xml version="1.0"?><!DOCTYPE style [<!ENTITY x SYSTEM "file:///etc/passwd">]>' + style.split("?>", 1)[1],
        encoding="utf-8",
    )
    with pytest.raises(ConfigError, match="DOCTYPE"):
        build(load_config(root), root / "out.epub")

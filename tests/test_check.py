"""handbill check: the default book passes, and each reader rule catches the fault it is for.

Broken books are copies of the built default book with one entry changed, checked without
EPUBCheck (about 4 s a run); EPUBCheck itself runs once, on the clean book.
"""

from __future__ import annotations

import io
import subprocess
import sys
import zipfile
from collections.abc import Callable
from itertools import pairwise
from pathlib import Path

import pytest
from PIL import Image

from handbill.check import Finding, check_epub, epubcheck, reader, rules
from handbill.languages import is_language_tag

from .conftest import CONTENT, Epub

Change = Callable[[str, bytes], bytes | None]
OPF = "EPUB/content.opf"


def rewrite(source: Path, target: Path, change: Change) -> Path:
    """Copy an EPUB through `change` (None drops an entry), keeping mimetype first and stored."""
    with zipfile.ZipFile(source) as original, zipfile.ZipFile(target, "w") as copy:
        for info in original.infolist():
            data = change(info.filename, original.read(info))
            if data is not None:
                stored = info.filename == "mimetype"
                copy.writestr(info.filename, data, zipfile.ZIP_STORED if stored else zipfile.ZIP_DEFLATED)
    return target


def edit(entry: str, old: bytes, new: bytes) -> Change:
    """Replace `old` (which must be there) with `new` in one entry."""

    def change(name: str, data: bytes) -> bytes:
        if name != entry:
            return data
        assert old in data, f"{old!r} not in {name}"
        return data.replace(old, new)

    return change


def findings(statement: Epub, tmp_path: Path, *changes: Change) -> list[Finding]:
    def change(name: str, data: bytes) -> bytes | None:
        for one in changes:
            result = one(name, data)
            if result is None:
                return None
            data = result
        return data

    broken = rewrite(statement.path, tmp_path / "broken.epub", change)
    return list(check_epub(broken, run_epubcheck=False).findings)


def only(found: list[Finding], code: str) -> list[Finding]:
    assert found, "no findings at all"
    return [finding for finding in found if finding.code == code]


def jpeg(width: int, height: int) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), (120, 20, 20)).save(buffer, "JPEG")
    return buffer.getvalue()


def test_the_default_book_passes_every_check(build_book, tmp_path: Path) -> None:
    book, _ = build_book(CONTENT, tmp_path / "statement.epub")
    report = check_epub(book.path)  # the one EPUBCheck run of this file
    assert report.findings == ()
    assert report.ok and report.errors == 0 and report.warnings == 0
    assert report.epubcheck_ran and report.epubcheck_note is None  # Java and EPUBCheck are test dependencies


def test_missing_language(statement: Epub, tmp_path: Path) -> None:
    found = findings(statement, tmp_path, edit(OPF, b"<dc:language>en</dc:language>", b""))
    [finding] = only(found, "KINDLE-LANGUAGE")
    assert finding.severity == "error" and OPF in finding.message


def test_malformed_language(statement: Epub, tmp_path: Path) -> None:
    found = findings(statement, tmp_path, edit(OPF, b">en</dc:language>", b">en_US</dc:language>"))
    [finding] = only(found, "KINDLE-LANGUAGE")
    assert finding.severity == "error" and "'en_US'" in finding.message


@pytest.mark.parametrize(
    ("tag", "well_formed"),
    [
        ("en", True),
        ("en-US", True),
        ("zh-Hant-TW", True),
        ("sr-Latn-RS", True),
        ("es-419", True),
        ("de-CH-1996", True),
        ("i-klingon", True),
        ("x-private", True),
        ("en-US-x-twain", True),
        ("en_US", False),
        ("C", False),
        ("", False),
        ("en--US", False),
        ("en-", False),
        ("en-a", False),
        ("e1", False),
        ("i-foo", False),
        ("en-US-US", False),
        ("de-1901-1901", False),
    ],
)
def test_language_tag_syntax(tag: str, well_formed: bool, statement: Epub, tmp_path: Path) -> None:
    """check judges dc:language with the validator the build uses (handbill.languages)."""
    assert is_language_tag(tag) == well_formed
    found = findings(
        statement, tmp_path, edit("EPUB/content.opf", b">en</dc:language>", f">{tag}</dc:language>".encode())
    )
    errors = [finding for finding in found if finding.code == "KINDLE-LANGUAGE" and finding.severity == "error"]
    assert bool(errors) != well_formed


def test_missing_xml_declaration(statement: Epub, tmp_path: Path) -> None:
    name = "EPUB/text-002.xhtml"
    declaration = b'<?xml version="1.0" encoding="utf-8"?>\n'
    found = findings(statement, tmp_path, edit(name, declaration, b""))
    [finding] = only(found, "KINDLE-XML-DECLARATION")
    assert finding.severity == "error" and name in finding.message


def test_link_to_a_body_id(statement: Epub, tmp_path: Path) -> None:
    found = findings(
        statement,
        tmp_path,
        edit("EPUB/text-003.xhtml", b"<body ", b'<body id="top" '),
        edit("EPUB/text-002.xhtml", b"<p>Today", b'<p><a href="text-003.xhtml#top">Next</a> Today'),
    )
    [finding] = only(found, "KINDLE-BODY-LINK")
    assert finding.severity == "error"
    assert "EPUB/text-002.xhtml" in finding.message and "EPUB/text-003.xhtml#top" in finding.message


def test_link_to_another_id_is_fine(statement: Epub, tmp_path: Path) -> None:
    found = findings(
        statement,
        tmp_path,
        edit("EPUB/text-003.xhtml", b"<section ", b'<section id="top" '),
        edit("EPUB/text-002.xhtml", b"<p>Today", b'<p><a href="text-003.xhtml#top">Next</a> Today'),
    )
    assert found == []


def test_img_without_src(statement: Epub, tmp_path: Path) -> None:
    name = "EPUB/text-003.xhtml"
    change = edit(name, b"<p>To counter", b'<p><img alt=""/>To counter')
    found = findings(statement, tmp_path, change)
    [finding] = only(found, "KINDLE-IMG-SRC")
    assert finding.severity == "error" and name in finding.message
    assert only(found, "A11Y-ALT") == []


def test_img_without_alt(statement: Epub, tmp_path: Path) -> None:
    name = "EPUB/text-003.xhtml"
    change = edit(name, b"<p>To counter", b'<p><img src="images/cover.png"/>To counter')
    [finding] = only(findings(statement, tmp_path, change), "A11Y-ALT")
    assert finding.severity == "warning" and name in finding.message


def test_cover_marked_one_way_only(statement: Epub, tmp_path: Path) -> None:
    no_meta = edit(OPF, b'<meta name="cover" content="cover-image"></meta>', b"")
    [finding] = only(findings(statement, tmp_path, no_meta), "KINDLE-COVER")
    assert finding.severity == "warning" and "meta name" in finding.message
    no_property = edit(OPF, b' properties="cover-image"', b"")
    [finding] = only(findings(statement, tmp_path, no_property), "KINDLE-COVER")
    assert finding.severity == "warning" and "cover-image" in finding.message


def test_cover_not_marked_at_all(statement: Epub, tmp_path: Path) -> None:
    found = findings(
        statement,
        tmp_path,
        edit(OPF, b'<meta name="cover" content="cover-image"></meta>', b""),
        edit(OPF, b' properties="cover-image"', b""),
    )
    assert [f.severity for f in only(found, "KINDLE-COVER")] == ["error"]
    assert [f.severity for f in only(found, "COVER-MISSING")] == ["error"]


def test_tiny_cover(statement: Epub, tmp_path: Path) -> None:
    small = jpeg(300, 400)
    found = findings(statement, tmp_path, lambda n, d: small if n.endswith("cover.png") else d)
    [finding] = only(found, "COVER-SIZE")
    assert finding.severity == "error" and "300x400" in finding.message


def test_cover_under_apple_width_is_a_warning(statement: Epub, tmp_path: Path) -> None:
    modest = jpeg(1000, 1500)
    found = findings(statement, tmp_path, lambda n, d: modest if n.endswith("cover.png") else d)
    assert [f.severity for f in only(found, "COVER-SIZE")] == ["warning"]


def test_cover_that_is_not_an_image(statement: Epub, tmp_path: Path) -> None:
    found = findings(statement, tmp_path, lambda n, d: b"nope" if n.endswith("cover.png") else d)
    assert [f.severity for f in only(found, "COVER-UNREADABLE")] == ["error"]


def test_webkit_hyphens(statement: Epub, tmp_path: Path) -> None:
    name = "EPUB/styles/handbill.css"
    found = findings(statement, tmp_path, lambda n, d: d + b"\np { -webkit-hyphens: auto; }\n" if n == name else d)
    [finding] = only(found, "KINDLE-WEBKIT-HYPHENS")
    assert finding.severity == "warning" and name in finding.message


def test_no_guide(statement: Epub, tmp_path: Path) -> None:
    def drop_guide(name: str, data: bytes) -> bytes:
        if name != OPF:
            return data
        return data[: data.index(b"<guide>")] + data[data.index(b"</guide>") + 8 :]

    found = findings(statement, tmp_path, drop_guide)
    assert [f.severity for f in only(found, "KINDLE-GUIDE")] == ["warning"]


def test_ncx_out_of_spine_order(statement: Epub, tmp_path: Path) -> None:
    swap = edit("EPUB/toc.ncx", b'src="text-002.xhtml"', b'src="text-004.xhtml"')
    last = b'<content src="text-004.xhtml"/>\n    </navPoint>\n  </navMap>'
    swap_back = edit("EPUB/toc.ncx", last, last.replace(b"004", b"002"))
    [finding] = only(findings(statement, tmp_path, swap, swap_back), "KINDLE-NCX-ORDER")
    assert finding.severity == "warning" and "EPUB/toc.ncx" in finding.message


def test_ncx_page_list_does_not_count_as_order(statement: Epub, tmp_path: Path) -> None:
    page_list = (
        b"</navMap><pageList><navLabel><text>Pages</text></navLabel>"
        b'<pageTarget id="p1" type="normal" value="1"><navLabel><text>1</text></navLabel>'
        b'<content src="text-002.xhtml"/></pageTarget></pageList>'
    )
    assert findings(statement, tmp_path, edit("EPUB/toc.ncx", b"</navMap>", page_list)) == []


def test_large_document(statement: Epub, tmp_path: Path) -> None:
    name = "EPUB/text-003.xhtml"
    filler = b"<p>" + b"words " * 50_000 + b"</p></section>"
    [finding] = only(findings(statement, tmp_path, edit(name, b"</section>", filler)), "DOC-SIZE")
    with zipfile.ZipFile(tmp_path / "broken.epub") as built:
        size = built.getinfo(name).file_size
    assert finding.severity == "warning" and size > 260 * 1024
    assert finding.message == f"{name} is {size / 1024:,.0f} KB; Adobe-engine readers struggle above 260 KB: split it"


def test_document_size_limit_is_one_constant(statement: Epub, tmp_path: Path, monkeypatch) -> None:
    """The rule and its message both follow LARGE_DOCUMENT_BYTES."""
    monkeypatch.setattr(rules, "LARGE_DOCUMENT_BYTES", 2 * 1024)
    flagged = {f.message.split()[0]: f.message for f in only(findings(statement, tmp_path), "DOC-SIZE")}
    sizes = {name: len(data) for name, data in statement.files.items() if name.endswith(".xhtml")}
    assert set(flagged) == {name for name, size in sizes.items() if size > 2 * 1024} != set()
    assert all(f"{round(sizes[name] / 1024):,} KB" in message for name, message in flagged.items())
    assert all("struggle above 2 KB" in message for message in flagged.values())


def test_a_document_past_the_adobe_limit_is_read_and_checked(statement: Epub, tmp_path: Path) -> None:
    """Not skipped as too large: the rules still see what is in it (an 8,000-row table)."""
    name = "EPUB/text-003.xhtml"
    rows = b"<table>" + b"<tr><td>cell</td><td>cell</td></tr>" * 8_000 + b'</table><p><img src=""/></p></section>'
    found = findings(statement, tmp_path, edit(name, b"</section>", rows))
    assert [f.severity for f in only(found, "DOC-SIZE")] == ["warning"]
    assert [f.severity for f in only(found, "KINDLE-IMG-SRC")] == ["error"]


def test_missing_accessibility_metadata(statement: Epub, tmp_path: Path) -> None:
    found = findings(statement, tmp_path, edit(OPF, b'property="schema:', b'property="x-schema:'))
    a11y = only(found, "A11Y-METADATA")
    assert sorted(f.severity for f in a11y) == ["error"] * 3 + ["warning"] * 2
    assert any("schema:accessibilityHazard" in f.message for f in a11y)


def test_oversized_book_for_kindle(statement: Epub, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(rules, "KINDLE_MAX_BYTES", 1000)
    assert [f.severity for f in only(findings(statement, tmp_path), "KINDLE-SIZE")] == ["error"]


def unreadable(path: Path) -> Finding:
    report = check_epub(path, run_epubcheck=True)
    assert not report.ok and not report.epubcheck_ran
    [finding] = report.findings
    assert finding.severity == "error" and finding.code == "EPUB-UNREADABLE"
    return finding


def test_text_file_named_epub(tmp_path: Path) -> None:
    path = tmp_path / "book.epub"
    path.write_text("Once upon a time\n")
    assert "not a zip" in unreadable(path).message


def test_zip_without_container(tmp_path: Path) -> None:
    path = tmp_path / "book.epub"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("mimetype", "application/epub+zip")
    assert "META-INF/container.xml" in unreadable(path).message


def test_missing_package_document(statement: Epub, tmp_path: Path) -> None:
    broken = rewrite(statement.path, tmp_path / "b.epub", lambda n, d: None if n == OPF else d)
    assert OPF in unreadable(broken).message


def test_malformed_package_document(statement: Epub, tmp_path: Path) -> None:
    broken = rewrite(statement.path, tmp_path / "b.epub", edit(OPF, b"</package>", b""))
    assert "well-formed" in unreadable(broken).message


def test_billion_laughs_is_one_error(statement: Epub, tmp_path: Path) -> None:
    entities = "".join(f'<!ENTITY {c} "{f"&{p};" * 10}">' for p, c in pairwise("abcdefghij"))
    laughs = (
        f'<?xml version="1.0"?>\n<!DOCTYPE c [<!ENTITY a "aaaaaaaaaa">{entities}]>\n'
        '<container xmlns="urn:oasis:names:tc:opendocument:xmlns:container">&j;</container>'
    ).encode()
    broken = rewrite(statement.path, tmp_path / "b.epub", lambda n, d: laughs if n == "META-INF/container.xml" else d)
    assert "META-INF/container.xml" in unreadable(broken).message  # quickly, in little memory


def test_zip_bomb_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "bomb.epub"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("mimetype", "application/epub+zip", zipfile.ZIP_STORED)
        archive.writestr("EPUB/zeros.xhtml", bytes(120 * 1024 * 1024))
    assert "zip bomb" in unreadable(path).message


def test_a_huge_document_is_refused_as_an_error_and_its_size_flagged(statement: Epub, tmp_path: Path) -> None:
    name = "EPUB/text-004.xhtml"
    huge = bytes(reader.MAX_ENTRY_BYTES + 1)
    broken = rewrite(statement.path, tmp_path / "huge.epub", lambda n, d: huge if n == name else d)
    report = check_epub(broken, run_epubcheck=False)
    assert not report.ok
    [refused] = only(list(report.findings), "EPUB-ENTRY-TOO-LARGE")
    assert refused.severity == "error"
    assert refused.message == (
        f"{name} unpacks to 50.0 MB, over the 50 MB that handbill check reads of such a file: refused as a likely zip bomb"
    )
    [size] = only(list(report.findings), "DOC-SIZE")
    assert size.message.startswith(f"{name} is 51,200 KB")


def test_the_entry_limit_is_one_constant(statement: Epub, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(reader, "MAX_ENTRY_BYTES", 1024 * 1024)
    name = "EPUB/text-004.xhtml"
    big = (
        b'<?xml version="1.0"?><html xmlns="http://www.w3.org/1999/xhtml"><body>'
        + b" " * 1024 * 1024
        + b"</body></html>"
    )
    [refused] = only(findings(statement, tmp_path, lambda n, d: big if n == name else d), "EPUB-ENTRY-TOO-LARGE")
    assert "over the 1 MB" in refused.message and name in refused.message


def test_epubcheck_missing_is_an_error_finding(statement: Epub, monkeypatch) -> None:
    monkeypatch.setattr(epubcheck, "jar_path", lambda: None)
    report = check_epub(statement.path)
    assert not report.ok and not report.epubcheck_ran
    [finding] = report.findings
    assert (finding.severity, finding.code) == ("error", "EPUBCHECK-NOT-RUN")
    assert epubcheck.INSTALL_HINT in finding.message
    assert check_epub(statement.path, run_epubcheck=False).ok


def test_epubcheck_messages_become_findings(statement: Epub, monkeypatch) -> None:
    messages = (
        epubcheck.Message("FATAL", "RSC-016", "Fatal Error while parsing file", "EPUB/a.xhtml:3"),
        epubcheck.Message("ERROR", "RSC-005", "Error while parsing file", "EPUB/b.xhtml:9"),
        epubcheck.Message("WARNING", "PKG-010", "Filename contains spaces"),
        epubcheck.Message("USAGE", "ACC-004", "Only advice"),
    )
    monkeypatch.setattr(epubcheck, "jar_path", lambda: Path("epubcheck.jar"))
    monkeypatch.setattr(epubcheck, "validate", lambda path, timeout: epubcheck.Result(1, 1, 1, messages))
    report = check_epub(statement.path)
    assert report.epubcheck_ran and (report.errors, report.warnings) == (2, 1)
    assert [(f.severity, f.code) for f in report.findings] == [
        ("error", "EPUBCHECK-RSC-016"),
        ("error", "EPUBCHECK-RSC-005"),
        ("warning", "EPUBCHECK-PKG-010"),
    ]
    assert report.findings[1].message == "EPUB/b.xhtml:9: Error while parsing file"


def test_epubcheck_failure_is_an_error_finding(statement: Epub, monkeypatch) -> None:
    def fail(path: Path, timeout: float) -> epubcheck.Result:
        raise epubcheck.EpubCheckError("EPUBCheck ran out of memory")

    monkeypatch.setattr(epubcheck, "validate", fail)
    report = check_epub(statement.path)
    assert not report.ok and not report.epubcheck_ran and "out of memory" in (report.epubcheck_note or "")
    assert [(f.severity, f.code) for f in report.findings] == [("error", "EPUBCHECK-NOT-RUN")]


def test_large_documents_are_read_streaming_with_the_same_findings(
    statement: Epub, tmp_path: Path, monkeypatch
) -> None:
    """Documents over WHOLE_TREE_BYTES are read element by element; the rules see the same."""
    faults = (
        edit("EPUB/text-003.xhtml", b"<body ", b'<body id="top" '),
        edit(
            "EPUB/text-002.xhtml",
            b"<p>Today",
            b'<p><a href="text-003.xhtml#top">Next</a><img alt=""/><img src="images/cover.png"/>'
            b'<span style="-webkit-hyphens: auto">x</span>Today',
        ),
        edit("EPUB/text-004.xhtml", b"</head>", b"<style>p { -webkit-hyphens: auto }</style></head>"),
    )
    whole = sorted(findings(statement, tmp_path, *faults), key=repr)
    monkeypatch.setattr(reader, "WHOLE_TREE_BYTES", 100)
    streamed = sorted(findings(statement, tmp_path, *faults), key=repr)
    assert streamed == whole
    assert {f.code for f in whole} >= {"KINDLE-BODY-LINK", "KINDLE-IMG-SRC", "A11Y-ALT", "KINDLE-WEBKIT-HYPHENS"}
    assert len(only(whole, "KINDLE-WEBKIT-HYPHENS")) == 2


def test_a_large_document_is_checked_in_bounded_memory(statement: Epub, tmp_path: Path) -> None:
    """A 12 MB document (under the entry limit): its whole tree would take about 300 MB."""
    name = "EPUB/text-003.xhtml"
    rows = b"<p>words <a href='#x'>w</a> words</p>\n" * 320_000
    book = rewrite(statement.path, tmp_path / "large.epub", edit(name, b"</section>", rows + b"</section>"))
    program = (
        # VmHWM, not ru_maxrss: Linux carries ru_maxrss over exec from the forking process (pytest,
        # large after a big test), while VmHWM belongs to the new program's own memory.
        "import re, sys; from handbill.check import check_epub; "
        "report = check_epub(sys.argv[1], run_epubcheck=False); "
        "peak = int(re.search(r'VmHWM:\\s+(\\d+)', open('/proc/self/status').read()).group(1)); "
        "print(peak // 1024, [f.code for f in report.findings])"
    )
    completed = subprocess.run(
        [sys.executable, "-c", program, str(book)], capture_output=True, text=True, timeout=300, check=True
    )
    megabytes, codes = completed.stdout.split(" ", 1)
    assert codes.strip() == "['DOC-SIZE']"
    assert int(megabytes) < 150, f"{megabytes} MB"

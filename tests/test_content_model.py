"""Raw HTML that breaks HTML's content model, typed attribute values, ids and addresses.

Each family is one book with one chapter per case, so the EPUBCheck batch (test_zz_epubcheck.py)
judges every case; the assertions here check what a reader keeps and what was repaired.
"""

from __future__ import annotations

import re
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lxml import etree

from handbill.build import build
from handbill.config import load_config
from handbill.render import attributes, repair, sanitize

from .conftest import NS, Epub, reader_text, register

# case: (raw HTML or Markdown, words a reader must still see, XPath that must find nothing,
#        XPath that must find something or None)
ELEMENTS = {
    "bdo without dir": ("<bdo>no dir</bdo>", "no dir", "//x:bdo[not(@dir)]", None),
    "bdo with a bad dir": ("<bdo dir='sideways'>odd dir</bdo>", "odd dir", "//x:bdo", None),
    "bdo with dir kept": ("<bdo dir='rtl'>backwards</bdo>", "backwards", "//x:span", "//x:bdo[@dir='rtl']"),
    "time with a bad datetime": ("<time datetime='soon'>soon</time>", "soon", "//*[@datetime]", None),
    "time of text alone kept": ("<time>2026-01-22</time>", "2026-01-22", "//x:span", "//x:time"),
    "time holding markup": ("<time><b>bold</b> time</time>", "bold time", "//x:time", "//x:b"),
    "nested dfn": ("<dfn>outer <dfn>inner</dfn></dfn>", "outer inner", "//x:dfn//x:dfn", "//x:dfn"),
    "dfn nested deeper": ("<dfn>a <span><dfn>b</dfn></span></dfn>", "a b", "//x:dfn//x:dfn", None),
    "dl without dd": ("<dl><dt>term</dt></dl>", "term", "//x:dl[x:dt and not(x:dd)]", "//x:dl/x:dt"),
    "dl ending on a term": (
        "<dl><dt>a</dt><dd>b</dd><dt>c</dt><dt>d</dt></dl>",
        "a b c d",
        "//x:dt[not(following-sibling::x:dd)]",
        "//x:dl",
    ),
    "two summaries": (
        "<details><summary>first</summary><summary>second</summary>body</details>",
        "first second body",
        "//x:details[count(x:summary) > 1]",
        "//x:details/x:summary",
    ),
    "details not starting with summary": (
        "<details><p>x</p><summary>late</summary></details>",
        "x late",
        "//x:details | //x:summary",
        None,
    ),
    "colgroup span with cols": (
        "<table><colgroup span='2'><col><col></colgroup><tr><td>1</td><td>2</td></tr></table>",
        "1 2",
        "//x:colgroup[@span]",
        "//x:colgroup[count(x:col) = 2]",
    ),
    "colgroup holding a paragraph": (
        "<table><colgroup><p>moved out</p></colgroup><tr><td>1</td></tr></table>",
        "moved out",
        "//x:colgroup/*[not(self::x:col)]",
        None,
    ),
    "a with a type that is no MIME type": (
        "<a href='https://example.org/' type='x'>typed</a>",
        "typed",
        "//x:a[@type]",
        "//x:a[@href='https://example.org/']",
    ),
    "a with a MIME type kept": (
        "<a href='https://example.org/' type='text/html'>typed</a>",
        "typed",
        "//x:span",
        "//x:a[@type='text/html']",
    ),
    "two figcaptions": (
        "<figure><figcaption>a</figcaption><p>pic</p><figcaption>b</figcaption></figure>",
        "a pic b",
        "//x:figure[count(x:figcaption) > 1]",
        "//x:figure/x:figcaption",
    ),
    "figcaption in the middle": (
        "<figure><p>1</p><figcaption>mid</figcaption><p>2</p></figure>",
        "1 mid 2",
        "//x:figcaption",
        None,
    ),
    "two captions and loose rows": (
        "<table><caption>a</caption><caption>b</caption><tr><td>1</td></tr></table>",
        "a b 1",
        "//x:table[count(x:caption) > 1] | //x:table[x:tr and x:tbody]",
        None,
    ),
    "two tfoots": (
        "<table><tfoot><tr><td>f</td></tr></tfoot><tfoot><tr><td>g</td></tr></tfoot><tbody><tr><td>1</td></tr></tbody></table>",
        "1",
        "//x:table[count(x:tfoot) > 1] | //x:tfoot[following-sibling::*]",
        None,
    ),
    "two theads": (
        "<table><thead><tr><th>a</th></tr></thead><thead><tr><th>b</th></tr></thead><tr><td>1</td></tr></table>",
        "a b 1",
        "//x:table[count(x:thead) > 1]",
        None,
    ),
    "text inside a colgroup": (
        "<table><colgroup>before<col>after</colgroup><tr><td>1</td></tr></table>",
        "before after 1",
        "//x:colgroup[normalize-space(.)]",
        "//x:colgroup/x:col",
    ),
    "table inside a table's stray content": (
        "<table><span>s<table>inner text</table></span><tr><td>1</td></tr></table>",
        "s inner text 1",
        "//x:table[text()[normalize-space()]]",
        None,
    ),
    "two legends": ("<fieldset><legend>a</legend><legend>b</legend>x</fieldset>", "a b x", "//x:legend", None),
    "ruby without rt": ("<ruby>\u6f22</ruby>", "\u6f22", "//x:ruby", None),
    "ruby kept": ("<ruby>\u6f22<rp>(</rp><rt>kan</rt><rp>)</rp></ruby>", "kan", "//x:span", "//x:ruby/x:rt"),
    "data without value": ("<data>no value</data>", "no value", "//x:data", None),
    "header inside address": ("<address><header>h</header>a</address>", "h a", "//x:address//x:header", None),
    "header inside footer": ("<footer><header>h</header></footer>", "h", "//x:footer//x:header", None),
    "main": ("<main>m</main>", "m", "//x:main", None),
    "nested links": ("<a href='#x'>o <span><a href='#x'>i</a></span></a><p id='x'>t</p>", "o i", "//x:a//x:a", None),
}
ATTRIBUTES = {
    "datetimes out of range": (
        "<time datetime='2026-02-30'>a</time><time datetime='2026-13-01'>b</time>"
        "<time datetime='2026-01-22T25:00'>c</time><time datetime='1h 30m'>d</time>",
        "a b c d",
        "//*[@datetime]",
        None,
    ),
    "datetimes kept": (
        "<time datetime='2024-02-29'>a</time><time datetime='2026-01-22T12:30Z'>b</time>"
        "<time datetime='P1DT2H'>c</time><time datetime='2026-W05'>d</time><time datetime='--01-22'>e</time>",
        "a b c d e",
        "//x:time[not(@datetime)]",
        "//x:time[@datetime='P1DT2H']",
    ),
    "del and ins need a date": (
        "<del datetime='soon'>a</del><ins datetime='2026-01'>b</ins><ins datetime='2026-01-22'>c</ins>",
        "a b c",
        "//*[@datetime='soon' or @datetime='2026-01']",
        "//x:ins[@datetime='2026-01-22']",
    ),
    "ordered list numbers": (
        "<ol start='-3' type='disc'><li value='abc'>a</li><li value='-2'>b</li></ol><ol reversed='no'><li>c</li></ol>",
        "a b c",
        "//@type | //x:li[@value='abc']",
        "//x:ol[@start='-3'] | //x:li[@value='-2'] | //x:ol[@reversed='reversed']",
    ),
    "attributes that need a context": (
        "<ul><li value='3'>a</li></ul><a id='z' rel='nofollow' type='text/html' hreflang='en'>b</a>"
        "<a href='https://example.org/' rel='nofollow'>c</a>",
        "a b c",
        "//x:ul/x:li/@value | //x:a[not(@href)]/@*[name() != 'id']",
        "//x:a[@id='z'] | //x:a[@rel='nofollow'][@href]",
    ),
    "cell spans": (
        "<table><tr><td colspan='0' rowspan='70000'>a</td><td colspan='2000'>b</td></tr></table>",
        "a b",
        "//@colspan[. = '0' or . = '2000'] | //@rowspan[. = '70000']",
        "//x:td[@colspan='1000'] | //x:td[@rowspan='65534']",
    ),
    "image sizes": ("<img src='x.png' alt='pic' width='50%' height='10px'>pic", "pic", "//@width | //@height", None),
    "directions": (
        "<p dir='RTL'>a</p><p dir='sideways'>b</p><p dir='auto'>c</p>",
        "a b c",
        "//@dir[. = 'RTL' or . = 'sideways']",
        "//x:p[@dir='rtl'] | //x:p[@dir='auto']",
    ),
    "token lists": (
        "<p epub:type=''>a</p><p epub:type=' note  aside '>b</p><p epub:type='a#b footnote'>c</p>",
        "a b c",
        "//@epub:type[. = '' or contains(., '#')]",
        "//x:p[@epub:type='note aside'] | //x:p[@epub:type='footnote']",
    ),
    "th abbr and tabindex": (
        "<table><tr><th abbr='x' scope='ROW' tabindex='x'>h</th></tr></table>",
        "h",
        "//@abbr | //@tabindex",
        "//x:th[@scope='row']",
    ),
}
IDS = {
    "attribute list with two hashes": ("## H {#a#b}\n\n[to](#a#b)", "H to", "//*[@id='a#b']", "//x:a[@href='#a-b']"),
    "percent in an id": (
        "<h2 id='50%'>pct</h2>\n\n[to](#50%25) [again](#50%)",
        "pct to again",
        "//*[@id='50%']",
        "//x:a[@href='#50-']",
    ),
    "spaces in an id": ("<p id=' a  b '>sp</p>\n\n[to](#a%20b)", "sp to", "//*[@id=' a  b ']", "//x:a[@href='#a-b']"),
    "leading digit kept": ("<h2 id='1x'>digit</h2>\n\n[to](#1x)", "digit to", "//x:span", "//x:a[@href='#1x']"),
    "quote and brackets": ("<h2 id='x\"[y]'>q</h2>", "q", "//@id[contains(., '\"') or contains(., '[')]", None),
    "only unsafe characters": ("<p id='#'>h</p><p id='%'>p</p>", "h p", "//*[@id='#' or @id='%']", None),
    "clash after the change": ("<p id='a#b'>1</p><p id='a-b'>2</p>", "1 2", None, "//x:p[@id='a-b-2']"),
    "svg id": (
        "<svg width='10' height='10'><circle id='c#1%' r='4'/></svg>",
        "",
        "//@id[contains(., '#')]",
        "//*[@id='c-1-']",
    ),
}
LINKS = {
    "port out of range": ("[port](http://h:99999/)", "port", "//x:a", None),
    "port of letters": ("[port](http://h:6553x/)", "port", "//x:a", None),
    "bad percent escape inside the book": ("[pct](/%zz)", "pct", "//x:a", None),
    "unclosed IPv6 host": ("[v6](http://[::1)", "v6", "//x:a", None),
    "no host": ("[none](http:///x)", "none", "//x:a", None),
    "mailto and tel with no one": (
        "<a href='mailto:'>m</a> <a href='tel:'>t</a> <a href='mailto:?'>q</a>",
        "m t q",
        "//x:a",
        None,
    ),
    "lone percent": (
        "<a href='mailto:%zz'>m</a> <a href='https://example.org/%'>p</a> <a href='https://e.org/a%2'>s</a>",
        "m p s",
        None,
        "//x:a[@href='mailto:%25zz'] | //x:a[@href='https://example.org/%25'] | //x:a[@href='https://e.org/a%252']",
    ),
    "second hash": (
        "<a href='https://example.org/#a#b'>h</a>",
        "h",
        None,
        "//x:a[@href='https://example.org/#a%23b']",
    ),
    "brackets outside the host": (
        "<a href='https://example.org/[x]'>p</a> <a href='https://[::1]:8080/x[1]'>v</a>",
        "p v",
        None,
        "//x:a[@href='https://example.org/%5Bx%5D'] | //x:a[@href='https://[::1]:8080/x%5B1%5D']",
    ),
    "brackets without a host": (
        "<a href='tel:1]'>t</a> <a href='news:a[b]#c#d'>n</a>",
        "t n",
        None,
        "//x:a[@href='tel:1%5D'] | //x:a[@href='news:a%5Bb%5D#c%23d']",
    ),
    "valid addresses unchanged": (
        "<a href='https://example.org:65535/%E2%82%AC?q=1#f'>ok</a>",
        "ok",
        None,
        "//x:a[@href='https://example.org:65535/%E2%82%AC?q=1#f']",
    ),
}
MATHML = {
    "typed values out of range": (
        "<math dir='text/html' display='x'><mstyle displaystyle='x' scriptlevel='x'><mi mathvariant='x'>a</mi>"
        "<mo stretchy='maybe' form='x' lspace='x'>+</mo><mfrac linethickness='x'><mi>b</mi><mi>c</mi></mfrac>"
        "<mspace width='x' height='x' depth='x'/></mstyle></math>",
        "a+bc",
        "//@dir | //@display | //@displaystyle | //@scriptlevel | //@mathvariant | //@stretchy | //@form | //@lspace"
        " | //@linethickness | //@width | //@height | //@depth",
        "//m:mfrac",
    ),
    "typed values kept": (
        "<math display='BLOCK'><mstyle scriptlevel='-1'><mi mathvariant='bold'>a</mi><mo lspace='0.2em'>+</mo>"
        "<mfrac linethickness='thick'><mi>b</mi><mi>c</mi></mfrac></mstyle></math>",
        "a+bc",
        None,
        "//m:math[@display='block'] | //m:mstyle[@scriptlevel='-1'] | //m:mo[@lspace='0.2em'] | //m:mfrac[@linethickness='thick']",
    ),
    "table alignments": (
        "<math><mtable columnalign='left right' rowspan='x'><mtr><mtd columnalign='left right' columnspan='0'>"
        "<mi>x</mi></mtd></mtr></mtable></math>",
        "x",
        "//m:mtd/@columnalign | //@columnspan | //@rowspan",
        "//m:mtable[@columnalign='left right']",
    ),
    "attributes on elements that do not take them": (
        "<math><mi class='a#b c' scriptlevel='1' display='block' mathvariant='bold'>x</mi></math>",
        "x",
        "//m:mi/@scriptlevel | //m:mi/@display | //@class[contains(., '#')]",
        "//m:mi[@mathvariant='bold'][@class='c']",
    ),
    "children of the wrong number or kind become text": (
        "<math><mfrac><mi>lone</mi></mfrac></math> <math><mtable><mi>loose</mi></mtable></math> "
        "<math><mtd><mi>cell</mi></mtd></math> <math><semantics><annotation>n</annotation></semantics></math>",
        "lone loose cell n",
        "//m:math",
        None,
    ),
    "well-formed structures kept": (
        "<math><msubsup><mi>x</mi><mn>1</mn><mn>2</mn></msubsup><mmultiscripts><mi>y</mi><mi>a</mi><mi>b</mi>"
        "<mprescripts/><mi>c</mi><mi>d</mi></mmultiscripts><semantics><mi>z</mi>"
        "<annotation encoding='TeX'>z</annotation></semantics></math>",
        "x12yabcdzz",
        None,
        "//m:msubsup | //m:mprescripts | //m:annotation[@encoding='TeX']",
    ),
}
SVG = {
    "a remote paint": (
        "<svg width='9' height='9'><rect fill='url(http://example.org/x)' stroke='url(data:x)' width='1' height='1'/>"
        "<use href='http://example.org/#x'/></svg>",
        "",
        "//@fill | //@stroke | //@*[local-name() = 'href']",
        "//s:rect",
    ),
    "a reference to nothing or to the wrong kind": (
        "<svg width='9' height='9'><circle id='c' r='1'/><rect fill='url(#c)' clip-path='url(#none)' width='1' "
        "height='1'/><use href='#missing'/></svg>",
        "",
        "//@fill | //@clip-path | //@*[local-name() = 'href']",
        "//s:circle[@id='c']",
    ),
    "references of the right kind kept, with their ids made safe": (
        "<svg width='9' height='9'><linearGradient id='g#1'><stop offset='0'/></linearGradient>"
        "<symbol id='s'><circle r='1'/></symbol><rect fill=\"url('#g#1')\" width='1' height='1'/><use href='#s'/></svg>",
        "",
        None,
        "//s:linearGradient[@id='g-1'] | //s:rect[@fill='url(#g-1)'] | //s:use[@xl:href='#s']",
    ),
}
FAMILIES = {"elements": ELEMENTS, "attributes": ATTRIBUTES, "ids": IDS, "links": LINKS, "mathml": MATHML, "svg": SVG}
NAMESPACES = dict(
    NS, m="http://www.w3.org/1998/Math/MathML", s="http://www.w3.org/2000/svg", xl="http://www.w3.org/1999/xlink"
)


@pytest.mark.parametrize("family", FAMILIES)
def test_each_case_gives_a_valid_book_with_the_text_kept(family: str, write_book, build_book) -> None:
    cases = FAMILIES[family]
    files = {f"{number:02d}.md": f"# Case {number}\n\n{case[0]}\n" for number, case in enumerate(cases.values())}
    epub, warnings = build_book(write_book(files, folder=family))
    documents = epub.body_documents()
    assert len(documents) == len(cases)
    for document, (name, (_, visible, absent, present)) in zip(documents, cases.items(), strict=True):
        root = epub.document(document)
        body = root.find("{*}body")
        seen = reader_text(body).replace(" ", "")  # blocks such as <dt> and <dd> stand apart without spaces
        assert visible.replace(" ", "") in seen, f"{name}: {visible!r} lost from {reader_text(body)!r}"
        if absent:
            found = [etree.tostring(hit).decode() if hasattr(hit, "tag") else hit for hit in _within(body, absent)]
            assert not found, f"{name}: {absent} found {found}"
        if present:
            assert _within(body, present), f"{name}: {present} not in {etree.tostring(body).decode()}"
        for link in body.iter("{*}a"):  # every link inside the book names an id that exists
            href = link.get("href", "")
            if href.startswith("#"):
                assert root.xpath("//*[@id=$id]", id=href[1:]), f"{name}: {href} leads nowhere"
    assert warnings, "a repaired book says what it changed"


def _within(body: etree._Element, path: str) -> list:
    """The XPath's matches inside the body (each `//` alternative made relative to it)."""
    return body.xpath(re.sub(r"(^|\| )//", r"\1.//", path), namespaces=NAMESPACES)


def test_warnings_say_what_changed(write_book, build_book) -> None:
    book = write_book(
        {
            "a.md": "# A\n\n<bdo>x</bdo> <time datetime='soon'>y</time> <p id='50%'>z</p>\n\n"
            "[port](http://h:99999/) [gone](/%zz)\n"
        }
    )
    _, warnings = build_book(book)
    text = "\n".join(warnings)
    assert "<bdo> without a valid dir became <span>" in text
    assert "removed datetime='soon' from <time>: not a valid date or time" in text
    assert "changed id '50%' to '50-'" in text
    assert "link to 'http://h:99999/' is not a valid address; kept as plain text" in text
    assert "link to '/%zz' leads nowhere in the book; kept as plain text" in text


@pytest.mark.parametrize(
    ("value", "valid"),
    [
        ("2026", True),
        ("2026-01", True),
        ("2026-01-22", True),
        ("01-22", True),
        ("--02-29", True),
        ("12:30", True),
        ("12:30:59.5", True),
        ("2026-01-22T12:30", True),
        ("2026-01-22 12:30+01:00", True),
        ("PT1.5S", True),
        ("1H 30M", True),
        ("+05:30", False),
        ("70000", False),
        ("1h 30m", False),
        ("2026-W53", True),
        ("PT1H30M", True),
        ("2024-02-29", True),
        ("2026-02-29", False),
        ("1900-02-29", False),
        ("2026-00", False),
        ("2026-01-32", False),
        ("24:00", False),
        ("12:60", False),
        ("2026-W54", False),
        ("0000-01-01", False),
        ("P", False),
        ("soon", False),
        ("", False),
    ],
)
def test_date_and_time_forms(value: str, valid: bool) -> None:
    assert attributes.is_datetime(value) is valid


def test_every_model_names_only_known_elements() -> None:
    """The table is data other code trusts: a typo there would quietly do nothing."""
    known = sanitize.ALLOWED
    for tag, model in repair.CONTENT_MODEL.items():
        assert tag in known, tag
        named = (model.parents or set()) | model.not_inside | model.children | model.once | model.at_edge
        named |= set(model.wrap) | set(model.groups or ()) | set(model.order)
        named |= {name for name in (model.must_hold, model.first, model.fallback) if name}
        assert named <= known, (tag, named - known)
        assert set(model.once) <= set(model.children) or not model.children
    for tag, kinds in attributes.ELEMENT_ATTRIBUTES.items():
        assert tag in known and set(kinds.values()) <= set(attributes.VALUE_KINDS) | {"boolean"}, tag


# Generated raw HTML from the elements and attribute values the content model is about.
_TAGS = (
    sorted(repair.CONTENT_MODEL) + "div section span fieldset legend rb rtc label math mi mo mfrac mtable mtd".split()
)
_VALUES = ["", *"x soon -3 0 2 70000 rtl RTL 2026-01-22 2026-02-30 text/html a#b 50% true block 1em left".split()]
_NAMES = sorted(
    {name for kinds in attributes.ELEMENT_ATTRIBUTES.values() for name in kinds}
    | set(attributes.GLOBAL_ATTRIBUTES)
    | {"display", "mathvariant", "scriptlevel", "columnalign", "linethickness", "stretchy"}
)


@st.composite
def _snippet(draw: st.DrawFn, depth: int = 0) -> str:
    tag = draw(st.sampled_from(_TAGS))
    names = draw(st.lists(st.sampled_from(_NAMES), max_size=3, unique=True))
    attributes = "".join(f" {name}='{draw(st.sampled_from(_VALUES))}'" for name in names if name != "href")
    inner = draw(st.sampled_from(["", "w", "2026-01-22"]))
    if depth < 3:
        inner += "".join(draw(st.lists(_snippet(depth + 1), max_size=3)))
    return f"<{tag}{attributes}>{inner}</{tag}>"


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(_snippet(), min_size=1, max_size=4).map("\n".join))
def test_generated_content_model_breakage_builds_a_valid_book(markup: str) -> None:
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder) / "book"
        root.mkdir()
        (root / "a.md").write_text(f"# Generated\n\n{markup}\n", encoding="utf-8")
        result = build(load_config(root), Path(folder) / "book.epub")
        register(result.path, markup)
        book = Epub(result.path)
        seen = reader_text(book.document(book.body_documents()[0]).find("{*}body"))
        for word in re.findall(r">([^<]+)<", markup):  # every word written is still there to read
            assert word.strip() in seen

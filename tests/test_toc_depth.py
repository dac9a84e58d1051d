"""`toc_depth` 1 to 6: the nav's nested lists and the NCX's nested navPoints follow the headings."""

from __future__ import annotations

import pytest
from lxml import etree

from .conftest import NS, Epub

CHAPTER_ONE = """\
# One

x

## One.A

x

### One.A.i

x

#### Four

x

##### Five

x

###### Six

x

## One.B

x

#### Skipped a level

x
"""
CHAPTER_TWO = "# Two\n\nx\n\n## Two.A\n\ny\n\n### Two.A.i\n\nz\n"

# (title, heading level, children): a heading is listed when its level is within toc_depth
FULL = [
    (
        "One",
        1,
        [
            ("One.A", 2, [("One.A.i", 3, [("Four", 4, [("Five", 5, [("Six", 6, [])])])])]),
            ("One.B", 2, [("Skipped a level", 4, [])]),
        ],
    ),
    ("Two", 1, [("Two.A", 2, [("Two.A.i", 3, [])])]),
]


def cut(tree: list, depth: int) -> list:
    return [(title, cut(children, depth)) for title, level, children in tree if level <= depth]


def nav_tree(epub: Epub) -> list:
    nav_item = next(i for i in epub.manifest.values() if "nav" in (i.get("properties") or "").split())
    toc = epub.document(nav_item.get("href")).find(".//x:nav[@epub:type='toc']", NS)

    def walk(ol: etree._Element) -> list:
        rows = []
        for li in ol.findall("x:li", NS):
            assert [child.tag.split("}")[1] for child in li] in (["a"], ["a", "ol"])
            nested = li.find("x:ol", NS)
            rows.append((li.find("x:a", NS).text, walk(nested) if nested is not None else []))
        return rows

    return walk(toc.find("x:ol", NS))


def ncx_tree(epub: Epub) -> tuple[list, list[etree._Element]]:
    ncx = epub.document(epub.manifest["ncx"].get("href"))

    def walk(parent: etree._Element) -> list:
        return [
            (point.findtext("ncx:navLabel/ncx:text", namespaces=NS), walk(point))
            for point in parent.findall("ncx:navPoint", NS)
        ]

    return walk(ncx.find("ncx:navMap", NS)), list(ncx.iter("{*}navPoint"))


@pytest.mark.parametrize("depth", [1, 2, 3, 4, 5, 6])
def test_nav_and_ncx_nest_every_level_down_to_toc_depth(write_book, build_book, depth: int) -> None:
    book = write_book(
        {
            "book.toml": f'title = "Deep"\nsplit_level = 1\ntoc_depth = {depth}\n',
            "01.md": CHAPTER_ONE,
            "02.md": CHAPTER_TWO,
        }
    )
    epub, warnings = build_book(book)
    assert warnings == []
    expected = cut(FULL, depth)
    assert nav_tree(epub) == expected
    ncx, points = ncx_tree(epub)
    assert ncx == expected
    # every navPoint id is unique, every target exists, and the NCX runs in the nav's order
    assert len({point.get("id") for point in points}) == len(points)
    nav_hrefs = [href for _, href in epub.toc()]
    ncx_hrefs = [point.find("ncx:content", NS).get("src") for point in points]
    assert ncx_hrefs == nav_hrefs
    for href in nav_hrefs:
        name, _, fragment = href.partition("#")
        document = epub.document(name)
        if fragment:
            assert document.find(f".//*[@id='{fragment}']") is not None
    orders = [point.get("playOrder") for point in points]
    assert orders == [None] * len(points) or orders == [str(n) for n in range(1, len(points) + 1)]


def test_toc_depth_counts_from_the_chapters_own_level(write_book, build_book) -> None:
    """Chapters split at `##`: toc_depth 2 lists each chapter and its `###` headings."""
    text = "# Book\n\n## Ch 1\n\nx\n\n### S 1\n\nx\n\n#### Deep\n\nx\n\n## Ch 2\n\nx\n"
    epub, _ = build_book(write_book({"book.toml": "split_level = 2\ntoc_depth = 2\n", "a.md": text}))
    tree = nav_tree(epub)
    assert ("Ch 1", [("S 1", [])]) in tree

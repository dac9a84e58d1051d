"""Markdown of other tools: notes, GitHub alerts, task lists, del/sub/sup/ins/mark, emoji.

Each book is built, validated by EPUBCheck (the batch) and read back as a reader would."""

from __future__ import annotations

import sys

import pytest

from handbill.render import markdown as render

from .conftest import NS, reader_text

NOTES = """# Notes

!!! note
    Plain note.

!!! warning "Mind the gap"
    Careful **now**.

!!! tip ""
    A note without a title.

!!! my-custom
    A kind of its own.

> [!NOTE]
> Useful information.

> [!warning]
> Critical content.

> [!IMPORTANT]

Between.

> [!TIP] Not an alert: text follows the marker on its line.

Between.

> An ordinary quote [!NOTE] with the word inside.
>
> [!CAUTION]
> Python-Markdown joins these quotes; GitHub shows two.
"""


def _body(epub):
    [name] = epub.body_documents()
    return epub.document(name)


def _notes(root):
    return [div for div in root.iter("{*}div") if "admonition" in (div.get("class") or "").split()]


def test_admonitions_and_alerts_are_titled_notes(write_book, build_book) -> None:
    epub, warnings = build_book(write_book({"index.md": NOTES}))
    assert warnings == []
    notes = _notes(_body(epub))
    seen = []
    for note in notes:
        assert note.get("role") == "note"
        assert note.tag == "{http://www.w3.org/1999/xhtml}div"
        first = note[0]
        title = reader_text(first) if first.get("class") == "admonition-title" else None
        seen.append((note.get("class"), title, reader_text(note)))
    assert seen == [
        ("admonition note", "Note", "Note Plain note."),
        ("admonition warning", "Mind the gap", "Mind the gap Careful now."),
        ("admonition tip", None, "A note without a title."),
        ("admonition my-custom", "My custom", "My custom A kind of its own."),
        ("admonition note", "Note", "Note Useful information."),
        ("admonition warning", "Warning", "Warning Critical content."),
        ("admonition important", "Important", "Important"),
        ("admonition caution", "Caution", "Caution Python-Markdown joins these quotes; GitHub shows two."),
    ]
    quotes = [reader_text(quote) for quote in _body(epub).iter("{*}blockquote")]
    assert quotes == [
        "[!TIP] Not an alert: text follows the marker on its line.",
        "An ordinary quote [!NOTE] with the word inside.",
    ]
    assert b"<aside" not in epub.files[epub.body_documents()[0]]
    assert b"div.admonition" in epub.files[epub.base + "styles/handbill.css"]


def test_raw_html_cannot_claim_other_roles(write_book, build_book) -> None:
    epub, warnings = build_book(
        write_book({"index.md": '# R\n\n<div role="button">Press</div>\n\n<p role="note">n</p>\n'})
    )
    root = _body(epub)
    assert [e.get("role") for e in root.find(".//x:section", NS).iterdescendants() if e.get("role")] == ["note"]
    assert warnings == [
        "%s: removed role='button' from <div>: not a valid role" % (epub.path.parent.parent / "book/index.md")
    ]
    assert reader_text(root.find(".//x:body", NS)).endswith("Press n")


TASKS = """# Tasks

- [ ] Write the leaflet
- [x] Print it
- [X] Hand it out
- an ordinary item
- [] not a task, [ ] in the middle neither

1. [ ] numbered

* [x] loose item

    with a second paragraph
"""


def test_task_lists_show_boxes_with_spoken_state(write_book, build_book) -> None:
    epub, warnings = build_book(write_book({"index.md": TASKS}))
    assert warnings == []
    root = _body(epub)
    lists = root.findall(".//x:ul", NS) + root.findall(".//x:ol", NS)
    assert all(listing.get("class") == "task-list" for listing in lists)
    items = [reader_text(li) for li in root.iter("{*}li")]
    assert items == [
        "☐ Write the leaflet",
        "☑ Print it",
        "☑ Hand it out",
        "an ordinary item",
        "[] not a task, [ ] in the middle neither",
        "☐ numbered",
        "☑ loose item with a second paragraph",
    ]
    boxes = [(box.text, box.get("role"), box.get("aria-label")) for box in root.iter("{*}span") if box.get("role")]
    assert boxes == [
        ("☐", "img", "not done"),
        ("☑", "img", "done"),
        ("☑", "img", "done"),
        ("☐", "img", "not done"),
        ("☑", "img", "done"),
    ]
    assert root.find(".//x:input", NS) is None


INLINE = """# Inline

~~struck~~ and H~2~O and x^2^ and ==marked== and ^^inserted^^.

Emoji: :smile: :+1: :tada:, unknown :not_an_emoji_name: and a time 12:30:45.

Prose: about ~5 km from ~/notes, a ~ b, a^b, a == b, a==b, 2^10 and x ^ y, one~two.

Code keeps them: `~~a~~ ==b== :smile:`
"""


def test_inline_marks_become_elements(write_book, build_book) -> None:
    epub, warnings = build_book(write_book({"index.md": INLINE}))
    assert warnings == []
    root = _body(epub)
    found = {tag: [reader_text(e) for e in root.iter(f"{{*}}{tag}")] for tag in ("del", "sub", "sup", "mark", "ins")}
    assert found == {"del": ["struck"], "sub": ["2"], "sup": ["2"], "mark": ["marked"], "ins": ["inserted"]}
    blocks = epub.text_blocks(epub.body_documents()[0])
    assert blocks[2] == "Emoji: 😄 👍 🎉, unknown :not_an_emoji_name: and a time 12:30:45."
    assert blocks[3] == "Prose: about ~5 km from ~/notes, a ~ b, a^b, a == b, a==b, 2^10 and x ^ y, one~two."
    assert root.find(".//x:img", NS) is None  # emoji are characters, never pictures
    assert reader_text(root.find(".//x:code", NS)) == "~~a~~ ==b== :smile:"


def test_nothing_loads_for_texts_without_marks() -> None:
    """A text without any of the marks renders without the extensions, and never imports them."""
    prose = "# Title\n\nPlain prose, $5, 50%, a: b, a = b and 5 - 3\n\n> A [quote](#).\n\n- [a] list\n"
    for module in [name for name in sys.modules if name.startswith("pymdownx") or name.endswith("render.extras")]:
        del sys.modules[module]
    render.render_markdown(prose)
    assert not [name for name in sys.modules if name.startswith("pymdownx") or name.endswith("render.extras")]


@pytest.mark.parametrize(
    ("text", "extension"),
    [
        ("!!! note\n    x\n", "admonition"),
        ("> [!NOTE]\n> x\n", "alerts"),
        ("- [ ] x\n", "tasklist"),
        ("  > * [x] x\n", "tasklist"),
        ("~~x~~", "tilde"),
        ("x\\ y", "tilde"),
        ("x^2^", "caret"),
        ("a[^1][^2]", "caret"),  # undefined footnotes meet caret
        ("x\\^", "caret"),
        ("==x==", "mark"),
        ("\\=", "mark"),
        (":smile:", "emoji"),
    ],
)
def test_each_mark_loads_its_extension(text: str, extension: str) -> None:
    assert render._OPTIONAL_EXTENSIONS[extension](text)
    converter = render._converter(text)
    assert converter.reset().convert(text) == render._converter().reset().convert(text)


def test_escaped_marks_stay_literal(write_book, build_book) -> None:
    epub, warnings = build_book(write_book({"index.md": "# E\n\n\\~~not struck\\~~ \\==not marked\\== \\:smile\\:\n"}))
    root = _body(epub)
    assert root.find(".//x:del", NS) is None and root.find(".//x:mark", NS) is None
    assert epub.text_blocks(epub.body_documents()[0])[1] == "~~not struck~~ ==not marked== :smile:"

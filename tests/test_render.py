"""Rendering: extensions are left out only where they could not change a thing."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from handbill.render import markdown as render

from .conftest import CONTENT
from .test_properties import DOCUMENTS
from .test_real_books import REAL, commonmark_examples


def with_every_extension(text: str) -> str:
    converter = render._converter()
    try:
        return converter.reset().convert(text)
    finally:
        converter.reset()


def real_texts() -> list[str]:
    texts = [markdown for _, markdown in commonmark_examples()]
    for folder in (REAL, CONTENT):
        texts += [path.read_text(encoding="utf-8") for path in sorted(folder.rglob("*.md"))]
    return texts


def test_real_texts_render_as_with_every_extension() -> None:
    texts = real_texts()
    assert len(texts) > 650
    left_out = 0
    for text in texts:
        assert render.render_markdown(text) == with_every_extension(text), text
        left_out += render._converter(text) is not render._converter()
    assert left_out > 300  # most of them did without some extension


@pytest.mark.parametrize(
    "text",
    [
        "Term\n: definition\n",
        "> Term\n> : definition in a quote\n",
        "- item\n\n    Term\n    : definition in a list\n",
        "1. Term\n   : definition in an ordered list\n",
        "Term\n\t: definition after a tab\n",
        '<div markdown="1">\nTerm\n: definition in HTML\n</div>\n',
        '<div markdown="1"></div>: definition after a closing tag',
        "*[HTML]: Hyper Text\n\nHTML here.\n",
        "> *[W3C]: World Wide Web Consortium\n>\n> The W3C wrote it.\n",
        "**[a bold link](https://example.org)** and W3C: no abbreviation defined.\n",
        "a | b\n--|--\n1 | 2\n",
        "~~~\ncode\n~~~\n",
        "# Title {#custom .class}\n",
        "Text[^1].\n\n[^1]: A note.\n",
        "[TOC]\n\n# A\n\n## B\n",
        "Plain prose, with a colon: and nothing else.\n",
    ],
)
def test_each_extension_is_there_when_its_mark_is(text: str) -> None:
    assert render.render_markdown(text) == with_every_extension(text)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.one_of(DOCUMENTS, st.text(alphabet=st.sampled_from(list("ab :|>*-+1.)[]^{}#~`\t\n")), max_size=60)))
def test_generated_texts_render_as_with_every_extension(text: str) -> None:
    assert render.render_markdown(text) == with_every_extension(text)

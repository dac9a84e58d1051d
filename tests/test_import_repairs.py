"""The repairs every imported document gets, rule by rule, in several languages and scripts: each
rule reads Unicode's character classes and the document itself, never English words."""

from __future__ import annotations

from pathlib import Path

import pytest

from handbill.build import build
from handbill.config import load_config
from handbill.importers import Block, Document, Repairs, repair
from handbill.importers.dates import parse_date
from handbill.importers.writer import book_files

from .conftest import Epub, register
from .test_statement import normalise


def repaired(*blocks: Block | str) -> Document:
    document = Document(
        source="test.txt",
        blocks=[
            Block("paragraph", block, place=f"line {n}") if isinstance(block, str) else block
            for n, block in enumerate(blocks, 1)
        ],
    )
    repair.apply(document)
    return document


def texts(document: Document) -> list[str]:
    return [block.text for block in document.blocks]


def imported_book(tmp_path: Path, text: str, name: str = "doc.txt") -> tuple[Epub, Document]:
    """`text` imported as a .txt file and built in memory, as `handbill build doc.txt` does."""
    from handbill import importers

    source = tmp_path / name
    source.write_text(text, encoding="utf-8")
    document = importers.read(source)
    config = load_config(source, files=book_files(document))
    path = build(config, tmp_path / "out.epub").path
    register(path, text[:200])
    return Epub(path), document


def reader_blocks(book: Epub) -> list[str]:
    return [normalise(block) for name in book.body_documents() for block in book.text_blocks(name)]


# -- paragraphs split by a page break ------------------------------------------------------------------
@pytest.mark.parametrize(
    ("first", "second", "joined"),
    [
        (
            "The working class must build its own movement against",
            "the dictatorship of the banks.",
            "The working class must build its own movement against the dictatorship of the banks.",
        ),
        (
            "Die Arbeiterklasse muss eine eigene Bewegung aufbauen, um",
            "die Diktatur der Banken zu stürzen.",
            "Die Arbeiterklasse muss eine eigene Bewegung aufbauen, um die Diktatur der Banken zu stürzen.",
        ),
        (
            "La classe ouvrière doit construire son propre mouvement contre",
            "« la dictature » des banques.",
            "La classe ouvrière doit construire son propre mouvement contre « la dictature » des banques.",
        ),
        (
            "Рабочий класс должен построить собственное движение против",
            "диктатуры банков.",
            "Рабочий класс должен построить собственное движение против диктатуры банков.",
        ),
        (
            "يجب على الطبقة العاملة أن تبني حركتها. وأن تناضل ضد",
            "دكتاتورية البنوك.",
            "يجب على الطبقة العاملة أن تبني حركتها. وأن تناضل ضد دكتاتورية البنوك.",
        ),
        (
            "労働者階級は自らの独立した政治運動を築き、銀行と企業の独裁に対して、",
            "社会主義のために闘わなければならない。",
            "労働者階級は自らの独立した政治運動を築き、銀行と企業の独裁に対して、 社会主義のために闘わなければならない。",
        ),
        (
            "Workers everywhere face the same crisis and have the same",
            "*interests* as their brothers abroad.",
            "Workers everywhere face the same crisis and have the same *interests* as their brothers abroad.",
        ),
    ],
    ids=["english", "german", "french-guillemets", "russian", "arabic-caseless", "japanese-comma", "markup"],
)
def test_a_paragraph_split_mid_sentence_is_joined(first: str, second: str, joined: str) -> None:
    document = repaired(first, second)
    assert texts(document) == [joined]
    assert document.repairs.lines() == [f"{repair.SPLIT_PARAGRAPHS}: 1, first at line 2"]


@pytest.mark.parametrize(
    ("first", "second"),
    [
        ("It is necessary to ask and to answer the question: What next?", "the answer follows below in this text."),
        ("Es ist notwendig, die Frage zu stellen und zu beantworten.", "Die Antwort folgt."),
        ("Il faut poser la question et y répondre : que faire ?", "la réponse suit."),
        ("Необходимо поставить вопрос и ответить на него: что дальше?", "ответ следует."),
        ("من الضروري أن نطرح السؤال ونجيب عليه: ما العمل؟", "الجواب يلي."),
        ("من الضروري أن نطرح السؤال ونجيب عليه بوضوح تام۔", "الجواب يلي."),
        ("労働者階級は自らの独立した政治運動を築かなければならない。", "社会主義のために闘う。"),
        ("To contact the WSWS and the Socialist Equality Party visit:", "[wsws.org/contact](https://wsws.org/contact)"),
        ("Dear friends,", "we meet at noon in the square."),
        (
            "第一章 労働者階級の独立した政治運動と国際主義",
            "社会主義のために闘う。",
        ),  # a caseless title: no finished sentence
    ],
    ids=[
        "question",
        "german-period",
        "french-question",
        "russian-question",
        "arabic-question",
        "urdu-full-stop",
        "japanese-full-stop",
        "colon",
        "salutation",
        "japanese-title",
    ],
)
def test_a_finished_paragraph_is_not_joined(first: str, second: str) -> None:
    document = repaired(first, second)
    assert texts(document) == [first, second]
    assert not document.repairs.counts


def test_a_paragraph_cut_at_a_page_break_is_joined_whatever_the_next_word() -> None:
    cut = "Zur Fortführung des Kampfes rufen die Sozialistische Gleichheitspartei und die"
    following = Block("paragraph", "Internationalen Jugendorganisation zur Gründung von Komitees auf.", page_start=True)
    assert texts(repaired(cut, following)) == [f"{cut} {following.text}"]
    following.page_start = False  # the same paragraphs, not known to meet at a page break
    assert texts(repaired(cut, Block("paragraph", following.text))) == [cut, following.text]


def test_long_running_text_ending_in_a_word_is_joined_before_a_capital() -> None:
    cut = (
        "The unions have told their members that they cannot strike. To carry the struggle forward, "
        "the Socialist Equality Party and the International Youth and"
    )
    following = "Students for Social Equality call for rank-and-file committees."
    assert texts(repaired(cut, following)) == [f"{cut} {following}"]
    short = "Socialist Equality Party and International Youth"  # a name or title line: short
    assert texts(repaired(short, following)) == [short, following]


def test_headings_bold_lines_and_breaks_are_never_joined() -> None:
    document = repaired(
        Block("heading", "Für einen Generalstreik", level=1),
        "und gegen die Diktatur der Oligarchie und ihrer Regierung",
        Block("break"),
        "die Fortsetzung nach dem Abstand zwischen den Abschnitten.",
    )
    assert [block.kind for block in document.blocks] == ["heading", "paragraph", "break", "paragraph"]


# -- hard-wrapped lines and hyphens ----------------------------------------------------------------
def test_a_line_end_hyphen_that_belongs_to_the_word_stays() -> None:
    document = repaired("to establish a military-\npresidential dictatorship in the United States.")
    assert texts(document) == ["to establish a military-presidential dictatorship in the United States."]
    assert document.repairs.counts == {repair.WRAPPED: 1}


@pytest.mark.parametrize(
    ("wrapped", "elsewhere", "joined"),
    [
        (
            "Die Arbei-\nter streiken heute in der Stadt.",
            "Alle Arbeiter sind da.",
            "Die Arbeiter streiken heute in der Stadt.",
        ),
        (
            "Les travail-\nleurs font grève aujourd'hui.",
            "Les travailleurs sont là.",
            "Les travailleurs font grève aujourd'hui.",
        ),
        ("Рабо-\nчие бастуют сегодня в городе.", "Все рабочие здесь.", "Рабочие бастуют сегодня в городе."),
    ],
    ids=["german", "french", "russian"],
)
def test_a_line_end_hyphen_is_dropped_when_the_document_knows_the_word_whole(
    wrapped: str, elsewhere: str, joined: str
) -> None:
    document = repaired(wrapped, elsewhere)
    assert texts(document) == [joined, elsewhere]
    assert document.repairs.counts[repair.HYPHENS_DROPPED] == 1


def test_a_hyphen_stays_when_the_document_also_writes_the_word_with_it() -> None:
    document = repaired("Die Trump-\nRegierung droht.", "Die Trumpregierung und die Trump-Regierung.")
    assert texts(document)[0] == "Die Trump-Regierung droht."


def test_a_hyphen_at_a_page_break_follows_the_same_rule() -> None:
    document = repaired("Heute streiken in der ganzen Stadt die Arbei-", "ter aller Betriebe.", "Die Arbeiter sind da.")
    assert texts(document)[0] == "Heute streiken in der ganzen Stadt die Arbeiter aller Betriebe."


def test_markdown_hard_breaks_stay_and_soft_hyphens_go() -> None:
    document = repaired(
        "Sozialistische Gleichheitspartei  \n22. Januar 2026",
        "Die Ge\u00adwerk\u00ad\nschaften und die Ar\u00adbeiter der Betriebe.",
    )
    assert texts(document) == [
        "Sozialistische Gleichheitspartei  \n22. Januar 2026",
        "Die Gewerkschaften und die Arbeiter der Betriebe.",
    ]
    assert document.repairs.counts[repair.SOFT_HYPHENS] == 3


# -- characters ----------------------------------------------------------------------------------------
def test_ligatures_expand_and_nothing_else_is_normalised() -> None:
    document = repaired("Die ﬁnale Oﬀensive: ﬂießend, eﬃzient; ｆｕｌｌ width, x² and ﬅ stay.")
    assert texts(document) == ["Die finale Offensive: fließend, effizient; ｆｕｌｌ width, x² and st stay."]
    assert document.repairs.counts[repair.LIGATURES] == 5


def test_runs_of_spaces_collapse_inside_lines_only() -> None:
    document = repaired("Le  travail   des   ouvriers.", Block("code", "a  =  1"))
    assert texts(document) == ["Le travail des ouvriers.", "a  =  1"]
    assert document.repairs.counts[repair.DOUBLE_SPACES] == 3


# -- bold lines as section titles ----------------------------------------------------------------------
def test_a_short_bold_paragraph_becomes_a_section_title() -> None:
    document = repaired(
        "Der erste Abschnitt des Textes endet hier.",
        "**Für einen Generalstreik gegen die Diktatur!**",
        "Der zweite Abschnitt beginnt hier.",
        "__Пролетарии всех стран, соединяйтесь!__",
        "Текст.",
    )
    assert [(block.kind, block.text) for block in document.blocks[1::2]] == [
        ("heading", "Für einen Generalstreik gegen die Diktatur!"),
        ("heading", "Пролетарии всех стран, соединяйтесь!"),
    ]
    assert document.repairs.counts[repair.BOLD_TITLES] == 2


@pytest.mark.parametrize(
    "blocks",
    [
        ["Text davor.", "**[wsws.org/contact](https://wsws.org/contact)**", "Text danach."],
        ["Text davor.", "**" + "Ein sehr langer fetter Satz, der kein Titel ist. " * 4 + "**", "Text danach."],
        ["Text davor.", "**Am Ende des Dokuments**"],
        ["Text davor.", "**Zwei**", "**Fette Zeilen**", "Text danach."],
        ["Text davor.", "Nur **teilweise** fett.", "Text danach."],
    ],
    ids=["a-link", "long", "last", "two-in-a-row", "partly"],
)
def test_bold_that_is_not_a_title_stays_bold(blocks: list[str]) -> None:
    document = repaired(*blocks)
    assert all(block.kind == "paragraph" for block in document.blocks)


# -- title, byline, dates ---------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("byline", "author", "date", "language"),
    [
        ("Socialist Equality Party (US)  \n22 January 2026", "Socialist Equality Party (US)", "2026-01-22", "en"),
        ("Sozialistische Gleichheitspartei  \n22. Januar 2026", "Sozialistische Gleichheitspartei", "2026-01-22", ""),
        ("Parti de l'égalité socialiste  \njeudi 22 janvier 2026", "Parti de l'égalité socialiste", "2026-01-22", "fr"),
        (
            "Партия социалистического равенства  \n22 января 2026 г.",
            "Партия социалистического равенства",
            "2026-01-22",
            "ru",
        ),
        ("حزب المساواة الاشتراكية  \n22 يناير 2026", "حزب المساواة الاشتراكية", "2026-01-22", "ar"),
        ("社会主義平等党  \n2026年1月22日", "社会主義平等党", "2026-01-22", ""),
        (
            "Partido Socialista por la Igualdad  \n22 de enero de 2026",
            "Partido Socialista por la Igualdad",
            "2026-01-22",
            "",
        ),
        ("Socialist Equality Party  \nJanuary 22, 2026", "Socialist Equality Party", "2026-01-22", "en"),
        ("Socialist Equality Party  \n2026-01-22", "Socialist Equality Party", "2026-01-22", ""),
        ("Sozialistische Gleichheitspartei  \n22.01.2026", "Sozialistische Gleichheitspartei", "2026-01-22", ""),
    ],
    ids=[
        "english",
        "german",
        "french-weekday",
        "russian-genitive",
        "arabic",
        "japanese",
        "spanish",
        "us-order",
        "iso",
        "dotted",
    ],
)
def test_the_byline_gives_author_date_and_perhaps_language(byline: str, author: str, date: str, language: str) -> None:
    document = repaired(Block("heading", "Titel", level=1), byline, "*Ein Vorspann.*", "Der Text beginnt.")
    metadata = document.metadata
    assert (metadata.title, metadata.authors, metadata.date, metadata.language) == ("Titel", [author], date, language)
    assert [block.role for block in document.blocks] == ["title", "byline", "standfirst", ""]
    assert [block.text for block in document.blocks][1] == byline  # the byline stays on the title page


def test_no_date_no_byline_and_properties_win() -> None:
    document = repaired(Block("heading", "Notes", level=1), "Introduction", "Text.")
    assert (document.metadata.authors, document.metadata.date) == ([], "")
    assert document.blocks[1].role == ""
    stated = Document(
        source="x",
        blocks=[
            Block("heading", "Heading", level=1),
            Block("paragraph", "Someone\n2026-01-22"),
            Block("paragraph", "Text."),
        ],
    )
    stated.metadata.title, stated.metadata.date = "From the properties", "2025-12-01"
    repair.apply(stated)
    assert (stated.metadata.title, stated.metadata.date, stated.metadata.authors) == (
        "From the properties",
        "2025-12-01",
        ["Someone"],
    )
    assert stated.blocks[1].text == "Someone  \n2026-01-22", "a byline's lines stay lines"


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("22 January 2026", "2026-01-22"),
        ("January 22, 2026", "2026-01-22"),
        ("2026-01-22", "2026-01-22"),
        ("22.01.2026", "2026-01-22"),
        ("22/01/2026", "2026-01-22"),
        ("01/02/2026", None),  # either order: not taken
        ("31.02.2026", None),  # no such day
        ("١٢ يناير ٢٠٢٦", "2026-01-12"),  # Arabic-Indic digits
        ("22 stycznia 2026", "2026-01-22"),
        ("22 Ocak 2026", "2026-01-22"),
        ("22 lis 2026", None),  # November in Polish, October in Croatian: the language must say
        ("In 1934 the city struck", None),
        ("Socialist Equality Party (US)", None),
    ],
)
def test_dates_in_many_forms_and_languages(line: str, expected: str | None) -> None:
    parsed = parse_date(line)
    assert (parsed[0] if parsed else None) == expected
    assert parse_date("22 lis 2026", "pl") == ("2026-11-22", "")
    assert parse_date("22 lis 2026", "hr") == ("2026-10-22", "")


def test_the_month_table_is_what_babel_gives() -> None:
    import json

    import babel

    from handbill.importers import dates

    made_with = json.loads(dates.TABLE.read_text(encoding="utf-8"))["babel"]
    if made_with != babel.__version__:  # a newer CLDR may rename a month: regenerate, then compare
        pytest.skip(f"the table was made with Babel {made_with}; run python -m handbill.importers.dates")
    assert dates.TABLE.read_text(encoding="utf-8") == dates.table_text(), "run python -m handbill.importers.dates"


# -- running headers and footers ------------------------------------------------------------------------
BODY = [
    "Die Arbeiter streiken.",
    "Der Streik wächst.",
    "Die Polizei greift ein.",
    "Die Stadt steht still.",
    "Der Sieg naht.",
]


def test_running_lines_and_page_numbers_go_and_the_text_stays() -> None:
    pages = []
    for number in range(1, 6):
        pages.append(
            [
                "22.01.26, 14:05  Für einen Generalstreik – WSWS",
                "Kopfzeile der Zeitung",
                BODY[number - 1],
                "Eine Zeile, die auf jeder Seite steht, aber mitten im Text.",
                f"{BODY[number - 1]} Mit {number * 7} Tausend.",
                f"https://www.wsws.org/de/articles/2026/01/22/gene.html {number}/5",
                f"Seite {number} von 5",
                f"{number + 10}",
            ]
        )
    repairs = Repairs()
    kept = repair.drop_running_lines(pages, repairs)
    assert kept[2] == [
        BODY[2],
        "Eine Zeile, die auf jeder Seite steht, aber mitten im Text.",
        f"{BODY[2]} Mit 21 Tausend.",
    ]
    assert repairs.counts == {repair.PAGE_NUMBERS: 5, repair.RUNNING_LINES: 20}
    assert repairs.lines() == [
        f"{repair.PAGE_NUMBERS}: 5, first at page 1",
        f"{repair.RUNNING_LINES}: 20, first at page 1",
    ]


def test_lines_alike_but_for_numbers_that_do_not_count_with_the_pages_stay() -> None:
    pages = [
        [f"Absatz mit {n * 3} Beispielen.", BODY[n - 1], BODY[n], f"Ende mit {n * n} Punkten."] for n in range(1, 5)
    ]
    repairs = Repairs()
    assert repair.drop_running_lines(pages, repairs) == pages
    assert not repairs.counts


def test_bare_page_numbers_that_count_with_the_pages_go_wherever_they_sit() -> None:
    pages = [[BODY[n], BODY[n + 1], f"- {n + 2} -"] if n % 2 else [f"{n + 2}", BODY[n], BODY[n + 1]] for n in range(4)]
    repairs = Repairs()
    kept = repair.drop_running_lines(pages, repairs)
    assert kept == [[BODY[n], BODY[n + 1]] for n in range(4)]
    assert repairs.counts == {repair.PAGE_NUMBERS: 4}


def test_one_page_and_lines_that_differ_are_kept() -> None:
    assert repair.drop_running_lines([["7", "Text."]], Repairs()) == [["7", "Text."]]
    pages = [
        ["Erste Seite, eigener Kopf.", "Text."],
        ["Zweite Seite, anderer Kopf.", "Text zwei."],
        ["Noch ein Kopf hier.", "Drei."],
    ]
    repairs = Repairs()
    assert repair.drop_running_lines(pages, repairs) == pages
    assert not repairs.counts


# -- text files ----------------------------------------------------------------------------------------
def test_plain_text_stays_literal_and_wrapped_lines_that_look_like_markdown_stay_text(tmp_path: Path) -> None:
    text = (
        "Der Generalstreik von Minneapolis im Jahr\n"
        "1934. war ein Wendepunkt; die Zahl 2*3*4 und snake_case_name\n"
        "- so steht es im Text -\n"
        "# keine Überschrift\n"
        "> kein Zitat, und <b>kein HTML</b> &amp; keine Entität.\n"
        "\n"
        "Zweiter Absatz.\n"
    )
    book, _ = imported_book(tmp_path, text)
    assert reader_blocks(book) == [
        "Der Generalstreik von Minneapolis im Jahr 1934. war ein Wendepunkt; die Zahl 2*3*4 und snake_case_name "
        "- so steht es im Text - # keine Überschrift > kein Zitat, und <b>kein HTML</b> &amp; keine Entität.",
        "Zweiter Absatz.",
    ]
    document = book.document(book.body_documents()[0])
    assert (
        document.find(".//{*}ol") is None
        and document.find(".//{*}blockquote") is None
        and document.find(".//{*}h1") is None
    )


def test_plain_text_lists_are_lists(tmp_path: Path) -> None:
    book, _ = imported_book(tmp_path, "Forderungen:\n\n- Rückzug der Truppen\n- Freilassung aller Gefangenen\n")
    document = book.document(book.body_documents()[0])
    assert [normalise("".join(item.itertext())) for item in document.iter("{*}li")] == [
        "Rückzug der Truppen",
        "Freilassung aller Gefangenen",
    ]


def test_form_feeds_are_page_breaks_whose_running_lines_go(tmp_path: Path) -> None:
    pages = [
        "Zeitung der Arbeiter\n\nDie Arbeiter aller Betriebe der Stadt haben beschlossen, am Freitag gemeinsam\n\n1",
        "Zeitung der Arbeiter\n\nin den Streik zu treten. Das ist ein großer Schritt.\n\n2",
        "Zeitung der Arbeiter\n\nDer Streik beginnt um acht Uhr.\n\n3",
    ]
    book, document = imported_book(tmp_path, "\f".join(pages))
    assert reader_blocks(book) == [
        "Die Arbeiter aller Betriebe der Stadt haben beschlossen, am Freitag gemeinsam in den Streik zu treten. Das ist ein großer Schritt.",
        "Der Streik beginnt um acht Uhr.",
    ]
    lines = document.repairs.lines()
    assert any(line.startswith("page breaks (form feeds)") and ": 2" in line for line in lines)
    assert any(repair.SPLIT_PARAGRAPHS in line for line in lines)


def test_a_big_gap_starts_a_section_listed_under_its_own_first_words(tmp_path: Path) -> None:
    text = "# Titel\n\nErster Absatz.\n\nZweiter Absatz.\n\n\n\nKontakt: schreiben Sie uns an die Adresse unten auf dieser Seite, bitte.\n"
    book, _ = imported_book(tmp_path, text, "aufruf.md")
    labels = [normalise(label) for label, _ in book.toc()]
    assert labels == ["Titel", "Kontakt: schreiben Sie uns an die Adresse unten auf dieser…"]
    assert len(book.body_documents()) == 3


def test_a_markdown_file_is_split_at_its_own_section_headings(tmp_path: Path) -> None:
    text = "# Aufruf\n\nEinleitung.\n\n## Erster Teil\n\nText eins.\n\n### Unterabschnitt\n\nMehr.\n\n## Zweiter Teil\n\nText zwei.\n"
    book, _ = imported_book(tmp_path, text, "aufruf.md")
    labels = [normalise(label) for label, _ in book.toc()]
    assert labels == ["Aufruf", "Erster Teil", "Unterabschnitt", "Zweiter Teil"]  # the sub-heading nested
    documents = book.body_documents()
    assert len(documents) == 4  # the title page, the opening section, two parts
    part = book.document(documents[2])
    assert [element.tag.split("}")[1] for element in part.iter("{*}h1", "{*}h2")] == ["h1", "h2"]


@pytest.mark.parametrize(
    ("wrapped", "joined"),
    [
        ("that are incapa-\nble of countering it.", "that are incapable of countering it."),
        ("the mobiliza-\ntion of the working class.", "the mobilization of the working class."),
        ("Die Arbei-\nter streiken heute.", "Die Arbeiter streiken heute."),
    ],
    ids=["incapable", "mobilization", "arbeiter"],
)
def test_a_short_ending_that_is_no_word_of_the_document_only_broke_the_word(wrapped: str, joined: str) -> None:
    document = repaired(wrapped)
    assert texts(document) == [joined]
    assert document.repairs.counts[repair.HYPHENS_DROPPED] == 1


def test_a_short_ending_stays_hyphenated_after_a_word_the_document_uses() -> None:
    document = repaired("an anti-\nwar protest.", "The anti movement grew.")
    assert texts(document)[0] == "an anti-war protest."


def test_wrapped_chinese_and_japanese_lines_run_on_without_a_space() -> None:
    document = repaired("労働者は今日\n街頭に出た。", "工人们今天\n走上街头。")
    assert texts(document) == ["労働者は今日街頭に出た。", "工人们今天走上街头。"]


@pytest.mark.parametrize("text", ["&#65 and &copy here", "AT&T and &amp;", "&#x41; stays as written"])
def test_escaped_text_prints_every_ampersand_as_written(text: str) -> None:
    import markdown
    from lxml import html as lxml_html

    from handbill.importers.model import escape

    rendered = lxml_html.fromstring(markdown.markdown(escape(text)))
    assert rendered.text_content() == text

"""Writes the PDF fixtures beside this file from the statement's seed, with tools other than handbill.

Run by hand (the PDFs are committed): needs pypandoc-binary and fpdf2 (pip), and chromium.

    python tests/data/import/pdf/make_fixtures.py

- statement-chromium.pdf: pandoc makes an HTML page of the seed; headless Chromium prints it with
  its default header and footer (date and title at the top, address and "1/4" at the bottom).
- arabic-chromium.pdf: the statement's opening in Arabic (right to left), printed the same way.
- statement-columns.pdf: fpdf2 sets the seed in two justified columns, paragraphs marked by a
  first-line indent and no gap, words hyphenated at line ends, fi/fl ligatures, a running head,
  "Page n of m" footers, XMP metadata, and a CreationDate that is not the publication date.
- scanned.pdf: a page that is only an image of text (no text layer).
- picture.pdf: two paragraphs with a picture between them.
- encrypted.pdf: needs a user password. owner-only.pdf: only an owner password (opens as is).
"""

from __future__ import annotations

import io
import re
import shutil
import subprocess
import tempfile
from datetime import UTC, datetime
from pathlib import Path

HERE = Path(__file__).parent
REPO = HERE.parents[3]
SEED = REPO.parent / "shared" / "seeds" / "000_86acad7a959e0f43.txt"
FONTS = REPO / "src" / "handbill" / "data" / "fonts"
TITLE = "For a general strike against ICE violence and Trump's dictatorship!"


def chromium_pdf() -> None:
    import pypandoc

    html = pypandoc.convert_file(
        str(SEED), "html", format="markdown", extra_args=["-s", "--metadata", f"pagetitle={TITLE}", "-V", "lang=en"]
    )
    with tempfile.TemporaryDirectory() as folder:
        page = Path(folder) / "statement.html"
        page.write_text(html, encoding="utf-8")
        browser = shutil.which("chromium") or shutil.which("chromium-browser") or "google-chrome"
        out = Path(folder) / "out.pdf"
        subprocess.run(
            [browser, "--headless", "--no-sandbox", "--disable-gpu", f"--print-to-pdf={out}", page.as_uri()],
            check=True,
            capture_output=True,
        )
        shutil.copy(out, HERE / "statement-chromium.pdf")


ARABIC_TITLE = "من أجل إضراب عام"
ARABIC_PARAGRAPHS = [
    "اليوم يخرج العمال والشباب إلى الشوارع في مينيابوليس وفي جميع أنحاء الولايات المتحدة للاحتجاج على الاحتلال. "
    "هناك شعور قوي ومتزايد بضرورة العمل الجماعي، يتجلى في الدعوات إلى إضراب عام لوقف عنف الشرطة والقمع "
    "والهجمات على المهاجرين والمواطنين على حد سواء.",
    "من الضروري أن نطرح السؤال ونجيب عليه: ما العمل؟",
]


def arabic_pdf() -> None:
    """The statement's opening in Arabic, right to left, printed by Chromium with its header."""
    body = "".join(f"<p>{paragraph}</p>" for paragraph in ARABIC_PARAGRAPHS)
    html = (
        f'<!DOCTYPE html><html lang="ar" dir="rtl"><head><meta charset="utf-8"><title>{ARABIC_TITLE}</title>'
        f"</head><body><h1>{ARABIC_TITLE}</h1>{body}</body></html>"
    )
    with tempfile.TemporaryDirectory() as folder:
        page = Path(folder) / "arabic.html"
        page.write_text(html, encoding="utf-8")
        browser = shutil.which("chromium") or shutil.which("chromium-browser") or "google-chrome"
        out = Path(folder) / "out.pdf"
        subprocess.run(
            [browser, "--headless", "--no-sandbox", "--disable-gpu", f"--print-to-pdf={out}", page.as_uri()],
            check=True,
            capture_output=True,
        )
        shutil.copy(out, HERE / "arabic-chromium.pdf")


def seed_paragraphs() -> list[tuple[str, str]]:
    """(style, text) for each block of the seed: title, byline, italic, bold, body."""
    blocks = []
    for block in (part.strip() for part in SEED.read_text(encoding="utf-8").split("\n\n")):
        if not block:
            continue
        block = block.replace("\\$", "$")
        block = re.sub(r"\[([^\]]+)\]\([^)]+\)", r"\1", block)
        block = re.sub(r" {2}\n", "\n", block)
        if block.startswith("# "):
            blocks.append(("title", block[2:]))
        elif block.startswith("**"):
            blocks.append(("bold", block.strip("*")))
        elif block.startswith("*"):
            blocks.append(("italic", block.strip("*")))
        elif "\n" in block:
            blocks.append(("byline" if not blocks[-1][0] == "body" else "body", block))
        else:
            blocks.append(("body", block))
    return blocks


def columns_pdf() -> None:
    from fpdf import FPDF

    class Leaflet(FPDF):
        def header(self) -> None:
            self.set_font("sans", "", 8)
            self.set_xy(20, 10)
            self.cell(170, 5, "Socialist Equality Party (US) · Statement", align="C")

        def footer(self) -> None:
            self.set_font("sans", "", 8)
            self.set_xy(20, 282)
            self.cell(170, 5, f"Page {self.page_no()} of {{nb}}", align="C")

    pdf = Leaflet(format="A4", unit="mm")
    pdf.add_font("sans", "", str(FONTS / "DejaVuSans.ttf"))
    pdf.add_font("sans", "B", str(FONTS / "DejaVuSansCondensed-Bold.ttf"))
    pdf.set_auto_page_break(False)
    pdf.set_title(TITLE)
    pdf.set_author("Socialist Equality Party (US)")
    pdf.set_lang("en")
    pdf.set_creation_date(datetime(2026, 3, 5, 9, 30, tzinfo=UTC))
    pdf.set_xmp_metadata(
        '<rdf:Description rdf:about="" xmlns:dc="http://purl.org/dc/elements/1.1/">'
        f'<dc:title><rdf:Alt><rdf:li xml:lang="x-default">{TITLE.replace("&", "&amp;")}</rdf:li></rdf:Alt></dc:title>'
        "<dc:creator><rdf:Seq><rdf:li>Socialist Equality Party (US)</rdf:li></rdf:Seq></dc:creator>"
        "<dc:language><rdf:Bag><rdf:li>en</rdf:li></rdf:Bag></dc:language>"
        "</rdf:Description>"
    )
    column_width, gutter, top, bottom, size, leading = 80.0, 10.0, 22.0, 276.0, 9.5, 4.6
    state = {"column": 0, "y": top}
    pdf.add_page()

    def advance(height: float) -> None:
        if state["y"] + height > bottom:
            state["column"] += 1
            state["y"] = top
            if state["column"] == 2:
                pdf.add_page()
                state["column"] = 0

    def set_lines(text: str, style: str, font_size: float, indent: float, justify: bool) -> None:
        pdf.set_font("sans", style, font_size)
        words = text.split()
        lines: list[tuple[list[str], bool]] = []
        current: list[str] = []
        width = column_width - indent
        while words:
            word = words.pop(0)
            trial = " ".join([*current, word])
            if pdf.get_string_width(trial) <= width:
                current.append(word)
                continue
            # hyphenate: after a hyphen the word has, else inside a long word
            head = ""
            if "-" in word[:-1]:
                cut = word.rindex("-", 0, len(word) - 1) + 1
                if pdf.get_string_width(" ".join([*current, word[:cut]])) <= width:
                    head, rest = word[:cut], word[cut:]
            if not head and len(word) >= 8 and word.isalpha():
                for cut in range(len(word) - 3, 2, -1):
                    if pdf.get_string_width(" ".join([*current, word[:cut] + "-"])) <= width:
                        head, rest = word[:cut] + "-", word[cut:]
                        break
            if head:
                current.append(head)
                words.insert(0, rest)
            else:
                words.insert(0, word)
            lines.append((current, True))
            current = []
            width = column_width
        lines.append((current, False))
        for number, (line, full) in enumerate(lines):
            advance(leading)
            x = 20 + state["column"] * (column_width + gutter) + (indent if number == 0 else 0)
            line_width = column_width - (indent if number == 0 else 0)
            space = pdf.get_string_width(" ")
            if full and justify and len(line) > 1:  # justified: the spare width shared between the spaces
                space = (line_width - sum(pdf.get_string_width(word) for word in line)) / (len(line) - 1)
            for word in line:
                pdf.text(x, state["y"] + leading * 0.8, word)
                x += pdf.get_string_width(word) + space
            state["y"] += leading

    for style, text in seed_paragraphs():
        text = text.replace("fi", "\ufb01").replace("fl", "\ufb02")
        if style == "title":
            set_lines(text, "B", 15, 0, False)
            state["y"] += 3
        elif style == "byline":
            for line in text.split("\n"):
                set_lines(line, "", size, 0, False)
            state["y"] += 3
        elif style == "bold":
            state["y"] += 3
            advance(leading * 3)
            set_lines(text, "B", size, 0, False)
            state["y"] += 1.5
        elif style == "italic":
            set_lines(text, "", size, 0, True)  # DejaVu Sans has no italic here: set upright
            state["y"] += 3
        else:
            for number, line in enumerate(text.split("\n")):
                set_lines(line, "", size, 0 if number else 5, True)
    pdf.alias_nb_pages()
    pdf.output(str(HERE / "statement-columns.pdf"))


def scanned_pdf() -> None:
    from fpdf import FPDF
    from PIL import Image, ImageDraw

    image = Image.new("L", (600, 200), 255)
    ImageDraw.Draw(image).text((20, 80), "A scanned page: pixels, not text.", fill=0)
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    pdf = FPDF(format="A5")
    pdf.add_page()
    pdf.image(buffer, x=10, y=10, w=120)
    pdf.output(str(HERE / "scanned.pdf"))


def picture_pdf() -> None:
    """Text with a picture between its paragraphs (images are not imported: the report says so)."""
    from fpdf import FPDF
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (40, 30), (200, 30, 30)).save(buffer, "PNG")
    pdf = FPDF(format="A5")
    pdf.add_page()
    pdf.set_font("helvetica", size=12)
    pdf.multi_cell(0, 6, "The march starts at noon at the river.")
    pdf.image(buffer, x=10, y=30, w=40)
    pdf.set_y(70)
    pdf.multi_cell(0, 6, "Bring water and a friend.")
    pdf.output(str(HERE / "picture.pdf"))


def encrypted_pdfs() -> None:
    from fpdf import FPDF
    from fpdf.enums import EncryptionMethod

    for name, user in (("encrypted.pdf", "secret"), ("owner-only.pdf", "")):
        pdf = FPDF(format="A5")
        pdf.add_page()
        pdf.set_font("helvetica", size=12)
        pdf.multi_cell(0, 6, "The strike committee meets on Friday at the union hall.")
        pdf.set_encryption(owner_password="owner", user_password=user, encryption_method=EncryptionMethod.RC4)
        pdf.output(str(HERE / name))


if __name__ == "__main__":
    chromium_pdf()
    arabic_pdf()
    columns_pdf()
    scanned_pdf()
    picture_pdf()
    encrypted_pdfs()

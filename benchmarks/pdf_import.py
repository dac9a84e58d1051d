"""Import and build of a 100-page PDF (issue 12 asks for under 5 s on the 2-core machine).

    python benchmarks/pdf_import.py [--pages 100] [--runs 3] [--maker chromium|plain] [--keep DIR]

The PDF is made without handbill: by headless Chromium printing the statement (content/, as plain
HTML paragraphs) over and over with its default header and footer (`--maker chromium`, the
default when chromium is installed), or by a small PDF writer below (`--maker plain`: Helvetica,
a running head, "Page n of m", paragraphs separated by gaps, a larger heading every few pages).
It prints the median wall time of: reading the PDF (handbill.importers.pdf.read, in process),
and `handbill import` + `handbill build` of the imported folder, each a fresh process.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def statement_paragraphs() -> list[tuple[str, str]]:
    """(kind, text) of the statement in content/: "h" for a heading, "p" for a paragraph."""
    blocks: list[tuple[str, str]] = []
    for path in sorted((REPO / "content").glob("*.md")):
        text = re.sub(r"\A---\n.*?\n---\n", "", path.read_text(encoding="utf-8"), flags=re.DOTALL)
        for block in (part.strip() for part in text.split("\n\n")):
            if block:
                plain = re.sub(r"\[([^\]]+)\]\([^)]+\)", r"\1", block).replace("*", "").replace("  \n", " ")
                blocks.append(("h", plain.lstrip("# ")) if block.startswith("#") else ("p", plain))
    return blocks


def chromium_pdf(pages: int, out: Path) -> None:
    blocks = statement_paragraphs()
    body = "".join(f"<h1>{t}</h1>" if k == "h" else f"<p>{t}</p>" for k, t in blocks)
    browser = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
    assert browser, "chromium is not installed: use --maker plain"
    with tempfile.TemporaryDirectory() as folder:
        page = Path(folder) / "statement.html"
        copies = max(1, round(pages / 2.55))  # the statement prints on about 2.55 letter pages, run on
        page.write_text(
            f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>{blocks[0][1]}</title></head>'
            f"<body>{body * copies}</body></html>",
            encoding="utf-8",
        )
        subprocess.run(
            [browser, "--headless", "--no-sandbox", "--disable-gpu", f"--print-to-pdf={out}", page.as_uri()],
            check=True,
            capture_output=True,
        )


def plain_pdf(pages: int, out: Path) -> None:
    """A PDF written by hand: Helvetica (WinAnsi), 45 lines a page, ragged right."""
    blocks = statement_paragraphs()
    width, height, margin, size, leading = 612, 792, 72, 11, 14
    per_line = int((width - 2 * margin) / (size * 0.5))
    lines: list[tuple[str, int]] = []  # (text, font size); "" is a gap
    while True:
        for kind, text in blocks:
            if kind == "h":
                lines += [("", size), (text, 16), ("", size)]
                continue
            words, current = text.split(), ""
            for word in words:
                if len(current) + len(word) + 1 > per_line:
                    lines.append((current, size))
                    current = word
                else:
                    current = f"{current} {word}".strip()
            lines += [(current, size), ("", size)]
        if len(lines) > pages * 46:
            break
    streams = []
    per_page = (height - 2 * margin) // leading
    for number in range(pages):
        chunk = lines[number * per_page : (number + 1) * per_page]
        ops = [b"BT /F1 8 Tf 72 750 Td (Statement of the Socialist Equality Party) Tj ET"]
        y = height - margin
        for text, font_size in chunk:
            if text:
                ops.append(b"BT /F1 %d Tf %d %d Td (%s) Tj ET" % (font_size, margin, y, _pdf_string(text)))
            y -= leading
        ops.append(b"BT /F1 8 Tf 280 40 Td (Page %d of %d) Tj ET" % (number + 1, pages))
        streams.append(b"\n".join(ops))
    objects = [b"<< /Type /Catalog /Pages 2 0 R >>", b""]
    font = 3
    objects.append(b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>")
    kids = []
    for stream in streams:
        objects.append(b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream")
        objects.append(
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 %d %d] /Resources << /Font << /F1 %d 0 R >> >> "
            b"/Contents %d 0 R >>" % (width, height, font, len(objects))
        )
        kids.append(b"%d 0 R" % len(objects))
    objects[1] = b"<< /Type /Pages /Kids [%s] /Count %d >>" % (b" ".join(kids), len(kids))
    data = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, 1):
        offsets.append(len(data))
        data += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(data)
    data += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    data += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    data += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    out.write_bytes(bytes(data))


def _pdf_string(text: str) -> bytes:
    raw = text.encode("cp1252", "replace")
    return raw.replace(b"\\", b"\\\\").replace(b"(", b"\\(").replace(b")", b"\\)")


def page_count(path: Path) -> int:
    import pypdfium2

    document = pypdfium2.PdfDocument(path)
    try:
        return len(document)
    finally:
        document.close()


def timed(command: list[str]) -> tuple[float, float]:
    """(wall time, CPU time) of a command: on a shared machine the CPU time says more."""
    import resource

    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    result = subprocess.run(command, capture_output=True, text=True)
    elapsed = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if result.returncode:
        sys.exit(f"failed: {' '.join(command)}\n{result.stdout}{result.stderr}")
    return elapsed, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", type=int, default=100)
    parser.add_argument("--runs", type=int, default=3)
    default = "chromium" if shutil.which("chromium") else "plain"
    parser.add_argument("--maker", choices=["chromium", "plain"], default=default)
    parser.add_argument("--keep", type=Path, help="write the PDF, the imported folder and the EPUB here")
    options = parser.parse_args()

    work = options.keep or Path(tempfile.mkdtemp(prefix="pdf-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    source = work / "leaflet.pdf"
    (chromium_pdf if options.maker == "chromium" else plain_pdf)(options.pages, source)
    print(f"{source}: {page_count(source)} pages, {source.stat().st_size / 1e6:.1f} MB, made by {options.maker}")

    from handbill.importers import Repairs
    from handbill.importers import pdf as reader

    data = source.read_bytes()
    reads, cpu = [], []
    for _ in range(options.runs):
        started, started_cpu = time.perf_counter(), time.process_time()
        document = reader.read(data, str(source), Repairs())
        reads.append(time.perf_counter() - started)
        cpu.append(time.process_time() - started_cpu)
    print(
        f"read (in process):   {statistics.median(reads):.2f} s wall, {statistics.median(cpu):.2f} s CPU"
        f"  ({len(document.blocks)} blocks)"
    )
    for line in document.repairs.lines():
        print(f"    {line}")

    handbill = [sys.executable, "-m", "handbill"]
    imports, builds = [], []
    for run in range(options.runs):
        folder = work / f"imported-{run}"
        shutil.rmtree(folder, ignore_errors=True)
        imports.append(timed([*handbill, "import", str(source), "-o", str(folder)]))
        builds.append(timed([*handbill, "build", str(folder), "-o", str(work / "leaflet.epub")]))

    def median(values: list[tuple[float, float]], which: int) -> float:
        return statistics.median(value[which] for value in values)

    both = [(a[0] + b[0], a[1] + b[1]) for a, b in zip(imports, builds, strict=True)]
    print(f"handbill import:     {median(imports, 0):.2f} s wall, {median(imports, 1):.2f} s CPU")
    print(f"handbill build:      {median(builds, 0):.2f} s wall, {median(builds, 1):.2f} s CPU")
    print(f"import + build:      {median(both, 0):.2f} s wall, {median(both, 1):.2f} s CPU (median of {options.runs})")
    print(f"load average:        {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")


if __name__ == "__main__":
    main()

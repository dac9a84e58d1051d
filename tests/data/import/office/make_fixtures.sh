#!/bin/sh
# How the office fixtures here were made: by pandoc (pip install pypandoc-binary) and
# LibreOffice 7.4 (apt-get install libreoffice-writer-nogui), never by handbill.
# Run from this folder; SEED is the statement as it reached us (../shared/seeds/000_86acad7a959e0f43.txt).
set -e
SEED=${SEED:-../../../../../shared/seeds/000_86acad7a959e0f43.txt}
PANDOC=${PANDOC:-pandoc}
# 1. The seed as it is (the section title is a bold line) through pandoc.
$PANDOC -f markdown -t docx "$SEED" -o statement-pandoc.docx
$PANDOC -f markdown -t odt "$SEED" -o statement-pandoc.odt
# 2. The seed with the section title as a real heading, as HTML with the statement's metadata,
#    through LibreOffice's HTML import and its Word and ODF export.
sed "s/^\*\*\(For a general strike to stop.*\)\*\*$/# \1/" "$SEED" > /tmp/statement-heading.md
$PANDOC -f markdown -t html5 /tmp/statement-heading.md -o /tmp/statement-body.html
{
  printf '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">\n'
  printf "<title>For a general strike against ICE violence and Trump's dictatorship!</title>\n"
  printf '<meta name="author" content="Socialist Equality Party (US)">\n'
  printf '<meta name="description" content="Statement of the Socialist Equality Party (US), 22 January 2026.">\n'
  printf '<meta name="keywords" content="general strike, Minneapolis, civil rights">\n</head><body>\n'
  cat /tmp/statement-body.html
  printf '</body></html>\n'
} > /tmp/statement-libreoffice.html
soffice --headless --infilter="HTML (StarWriter)" --convert-to 'docx:MS Word 2007 XML' --outdir /tmp /tmp/statement-libreoffice.html
soffice --headless --infilter="HTML (StarWriter)" --convert-to odt:writer8 --outdir /tmp /tmp/statement-libreoffice.html
cp /tmp/statement-libreoffice.docx /tmp/statement-libreoffice.odt .
# 3. Every kind of block and inline markup, with metadata, through pandoc; the .docx again through
#    LibreOffice (Word to ODF, as an editor re-saving the file would).
$PANDOC -f markdown -t docx features.md -o features-pandoc.docx
$PANDOC -f markdown -t odt features.md -o features-pandoc.odt
soffice --headless --convert-to odt:writer8 --outdir /tmp features-pandoc.docx
cp /tmp/features-pandoc.odt features-libreoffice.odt

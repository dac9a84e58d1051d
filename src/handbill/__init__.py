"""handbill: turn a folder of Markdown into an EPUB 3 e-book that opens cleanly everywhere."""

__version__ = "0.1.0"

"""handbill: turn a folder of Markdown into an EPUB 3 e-book that opens cleanly everywhere."""

from pathlib import Path

__version__ = "0.1.0"

DATA = Path(__file__).parent / "data"
"""The files handbill ships: its stylesheet and the cover fonts."""

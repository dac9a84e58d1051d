"""Render: Markdown source documents in, cleaned element trees (RenderedDocument) out.

markdown    Python-Markdown with handbill's extensions, the time limit and the worker processes
sanitize    parse the HTML, drop active content and unknown elements, check attributes
attributes  which attributes each element may carry, and the checks of their values
foreign     inline SVG and MathML
repair      the content model, as a table of rules, and the routine that applies it
typography  smart punctuation on the finished tree
"""

from .markdown import Progress, RenderedDocument, inline_text, render_each

__all__ = ["Progress", "RenderedDocument", "inline_text", "render_each"]

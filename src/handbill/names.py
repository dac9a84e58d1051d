"""Safe names for files inside the EPUB: plain ASCII, no spaces, nothing a reader chokes on."""

from __future__ import annotations

import re
import unicodedata


def slugify(text: str, limit: int = 80) -> str:
    """A safe ASCII file name from any title or file name ("Café crème" -> "cafe-creme")."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")
    return slug[:limit].rstrip("-")

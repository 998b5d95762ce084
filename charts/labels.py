"""Label shortening and wrapping, shared by the charts and the digest text (reports -> charts).

Numbers and dates in the reader's language are charts.i18n.formats (Babel, CLDR).
"""
from __future__ import annotations

import re
import textwrap
import unicodedata

NBSP = "\u00a0"
ELLIPSIS = "…"


def _collapse(text: object) -> str:
    return re.sub(r"[ \t\r\n\f\v]+", " ", str(text)).strip()


def shorten(text: str, width: int) -> str:
    """One line of at most `width` characters, cut with an ellipsis; whitespace collapsed
    (but not the no-break spaces inside formatted numbers)."""
    flat = _collapse(text)
    if len(flat) <= width:
        return flat
    return flat[: max(width - 1, 0)].rstrip() + ELLIPSIS


def cells(text: str) -> int:
    """Width in columns: a Chinese character is as wide as two Latin ones."""
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def wrap(text: str, width: int, max_lines: int = 2) -> str:
    """Word-wrap to `width` columns and at most `max_lines` lines, the last one ellipsised.

    Very long words (URLs, campaign slugs, Chinese with no spaces) are broken too, so nothing ever
    exceeds the width; wide characters count twice.
    """
    flat = _collapse(text)
    if flat:
        width = max(width * len(flat) // cells(flat), 1)
    lines = textwrap.wrap(flat, width, break_long_words=True, break_on_hyphens=True) or [""]
    if len(lines) > max_lines:
        last = lines[max_lines - 1][: max(width - 1, 0)].rstrip()
        lines = lines[: max_lines - 1] + [last + ELLIPSIS]
    return "\n".join(lines)

"""Label shortening and wrapping, shared by the charts and the digest text (reports -> charts).

Numbers and dates in the reader's language are db.i18n.formats (Babel, CLDR).
"""
from __future__ import annotations

import re
import unicodedata

ELLIPSIS = "…"


def _collapse(text: object) -> str:
    return re.sub(r"[ \t\r\n\f\v]+", " ", str(text)).strip()


def shorten(text: str, width: int) -> str:
    """One line of at most `width` columns (cells(): a Chinese character counts two), cut with
    an ellipsis; whitespace collapsed (but not the no-break spaces inside formatted numbers).
    Measured as wrap() measures, so a label fits the columns chars_fit budgets in any language."""
    flat = _collapse(text)
    if cells(flat) <= width:
        return flat
    return _fit(flat, width - 1).rstrip() + ELLIPSIS


def cells(text: str) -> int:
    """Width in columns: a Chinese character is as wide as two Latin ones."""
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def _fit(text: str, width: int) -> str:
    """The longest prefix of `text` at most `width` columns wide."""
    out, used = [], 0
    for c in text:
        used += cells(c)
        if used > width:
            break
        out.append(c)
    return "".join(out)


def _pieces(word: str) -> list[str]:
    """A word's parts, split after a hyphen between letters (as textwrap's break_on_hyphens)."""
    return [p for p in re.split(r"(?<=[^\W\d_]{2}-)(?=[^\W\d_])", word) if p]


def wrap(text: str, width: int, max_lines: int = 2) -> str:
    """Word-wrap to `width` columns and at most `max_lines` lines, the last one ellipsised.

    Greedy by display columns, line by line (a wide character counts twice), so a Latin line
    next to a Chinese one gets its own width. Very long words (URLs, campaign slugs, Chinese with
    no spaces) are broken too, so nothing ever exceeds the width.
    """
    width = max(width, 1)
    lines: list[str] = []
    line = ""
    for word in _collapse(text).split(" "):
        for i, piece in enumerate(_pieces(word)):
            glue = " " if i == 0 and line else ""
            if cells(line + glue + piece) <= width:
                line += glue + piece
                continue
            if cells(piece) <= width:  # starts the next line whole
                lines.append(line)
                line = piece
                continue
            line += glue  # too long for any line: fill this one's remainder, then carry on
            for c in piece:
                if cells(line + c) > width:
                    lines.append(line.rstrip())
                    line = ""
                line += c
    lines = [x for x in lines + [line] if x] or [""]
    if len(lines) > max_lines:
        last = _fit(lines[max_lines - 1], width - 1).rstrip()
        lines = lines[: max_lines - 1] + [last + ELLIPSIS]
    return "\n".join(lines)

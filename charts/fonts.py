"""Fonts that have the glyphs of the text a chart draws.

DejaVu Sans ships with matplotlib and has Latin, Cyrillic and Vietnamese; Chinese needs a CJK font
from the system (Debian's fonts-wqy-microhei or fonts-noto-cjk; `make demo` and `make test`
install one). matplotlib (3.6+) falls back glyph by glyph along a family list, so the charts'
family is DejaVu Sans followed by every installed font of FALLBACKS. When a drawn text still has
glyphs no font covers, the chart says so once in the log and is sent anyway (a box per glyph
beats no digest).
"""
from __future__ import annotations

import logging
import os
from collections.abc import Iterable
from functools import cache

from matplotlib import font_manager
from matplotlib.figure import Figure
from matplotlib.ft2font import FT2Font
from matplotlib.text import Text

log = logging.getLogger("salespulse.charts")

BASE = "DejaVu Sans"
# Small first: WenQuanYi Micro Hei is 5 MB, Noto CJK 100+ MB.
FALLBACKS = ("WenQuanYi Micro Hei", "Noto Sans CJK SC", "Noto Sans CJK JP", "Noto Sans SC",
             "Source Han Sans SC", "WenQuanYi Zen Hei", "Droid Sans Fallback", "AR PL UMing CN")
# File names of those fonts: matplotlib's font cache predates a font installed after it was built.
_FILES = ("wqy-microhei", "wqy-zenhei", "notosanscjk", "notosanssc", "sourcehansans", "droidsansfallback",
          "uming")
_told = False


def _no_bold_notice(record: logging.LogRecord) -> bool:
    # CJK fonts have no bold face; matplotlib draws the regular one and would say so per title
    return not record.getMessage().startswith("findfont: Failed to find font weight")


logging.getLogger("matplotlib.font_manager").addFilter(_no_bold_notice)


@cache
def _register_system_fonts() -> None:
    known = {f.fname for f in font_manager.fontManager.ttflist}
    for path in font_manager.findSystemFonts():
        name = os.path.basename(path).lower().replace("-", "").replace("_", "")
        if path not in known and any(f.replace("-", "") in name for f in _FILES):
            try:
                font_manager.fontManager.addfont(path)
            except (OSError, RuntimeError, ValueError) as exc:  # a broken font file: skip it
                log.info("font %s cannot be read: %s", path, exc)


@cache
def font_path(family: str) -> str | None:
    _register_system_fonts()
    try:
        return font_manager.findfont(font_manager.FontProperties(family=family), fallback_to_default=False)
    except ValueError:
        return None


@cache
def _charmap(path: str) -> frozenset[int]:
    return frozenset(FT2Font(path).get_charmap())


@cache
def families() -> tuple[str, ...]:
    """DejaVu Sans, then each installed fallback: the font.family list charts.style.styled sets."""
    return (BASE, *(f for f in FALLBACKS if font_path(f) is not None))


def _drawable(text: str) -> set[str]:
    return {c for c in text if not c.isspace() and c.isprintable()}


def missing_glyphs(text: str, among: Iterable[str] | None = None) -> set[str]:
    """The characters of `text` that no font of `among` (default: families()) has."""
    chars = _drawable(text)
    for family in among or families():
        path = font_path(family)
        if path is not None:
            chars -= {c for c in chars if ord(c) in _charmap(path)}
    return chars


def font_for(text: str) -> str | None:
    """The first family of BASE and FALLBACKS that has every glyph of `text`; None if none has."""
    return next((f for f in (BASE, *FALLBACKS) if font_path(f) and not missing_glyphs(text, [f])), None)


def check_figure(fig: Figure) -> set[str]:
    """The glyphs of the figure's texts that no font has, logged the first time any are found.

    Once that warning was given the check has nothing left to say: it returns an empty set at
    once instead of walking every text of every later chart."""
    global _told
    if _told:
        return set()
    missing = set().union(*(missing_glyphs(t.get_text()) for t in fig.findobj(Text)))
    if missing and not _told:
        _told = True
        log.warning("no installed font has the glyphs %s; the charts show boxes for them (install "
                    "fonts-wqy-microhei or fonts-noto-cjk)", "".join(sorted(missing))[:40])
    return missing

"""How a digest becomes Telegram messages: pure functions, no I/O.

Telegram limits (docs/delivery.md): a caption holds 1024 characters, a message 4096, an album
2..10 media. Telegram counts UTF-16 code units, so an emoji counts twice; we count the same way
so that nothing over the limit ever reaches the server.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

# One definition of Telegram's text limits and of how it counts, shared with the digest's words.
from reports.text import CAPTION_LIMIT, MESSAGE_LIMIT, tg_len

ALBUM_LIMIT = 10


@dataclass(frozen=True)
class Part:
    """One request to Telegram. `images` are indexes into the digest's charts."""

    kind: Literal["text", "photo", "album", "document"]
    text: str = ""  # message text, or the caption of a photo / the album's first photo
    images: tuple[int, ...] = ()


def _hard_split(line: str, limit: int) -> list[str]:
    """Only for a single line longer than a whole message: cut at spaces, else anywhere."""
    pieces: list[str] = []
    while tg_len(line) > limit:
        cut = limit
        while tg_len(line[:cut]) > limit:
            cut -= 1
        space = line.rfind(" ", 0, cut)
        if space > cut // 2:
            cut = space
        pieces.append(line[:cut].rstrip())
        line = line[cut:].lstrip()
    pieces.append(line)
    return pieces


def split_text(text: str, limit: int = MESSAGE_LIMIT) -> list[str]:
    """Split at line boundaries into chunks of at most `limit`; a line is never cut unless it
    alone is longer than `limit`. Empty input gives no chunks."""
    text = text.strip("\n")
    if not text:
        return []
    chunks: list[str] = []
    current: list[str] = []
    size = 0
    for line in text.split("\n"):
        for piece in _hard_split(line, limit) if tg_len(line) > limit else [line]:
            extra = tg_len(piece) + (1 if current else 0)
            if current and size + extra > limit:
                chunks.append("\n".join(current))
                current, size = [], 0
                extra = tg_len(piece)
            current.append(piece)
            size += extra
    if current:
        chunks.append("\n".join(current))
    return [c for c in chunks if c.strip()]


def _image_parts(indexes: list[int], caption: str) -> list[Part]:
    parts: list[Part] = []
    for start in range(0, len(indexes), ALBUM_LIMIT):
        chunk = tuple(indexes[start:start + ALBUM_LIMIT])
        cap = caption if start == 0 else ""
        # sendMediaGroup needs 2..10 media; a lone image goes as sendPhoto.
        parts.append(Part("photo" if len(chunk) == 1 else "album", cap, chunk))
    return parts


def plan_parts(text: str, n_images: int, with_csv: bool = False) -> list[Part]:
    """The digest as an ordered list of requests: the text as the caption of the first image
    when it fits, else as message(s) before the images; then the CSV as a document."""
    parts: list[Part] = []
    images = list(range(n_images))
    if images and tg_len(text.strip()) <= CAPTION_LIMIT:
        parts += _image_parts(images, text.strip())
    else:
        parts += [Part("text", chunk) for chunk in split_text(text)]
        parts += _image_parts(images, "")
    if with_csv:
        parts.append(Part("document"))
    return parts

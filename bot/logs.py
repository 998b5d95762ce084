"""Logging that never shows the bot token.

httpx logs every request URL at INFO, and a Bot API URL contains the token; we lower those loggers
to WARNING and, belt and braces, redact the token from every record that reaches a handler.
"""
from __future__ import annotations

import logging

from telegram.error import InvalidToken

from db.engine import redact


class RedactFilter(logging.Filter):
    def __init__(self, secrets: list[str]):
        super().__init__()
        self.secrets = [s for s in secrets if s]

    def _clean(self, text: str) -> str:
        for s in self.secrets:
            text = text.replace(s, "<token>")
        return redact(text)

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = self._clean(message)
        if record.exc_info and record.exc_info[1] is not None:
            # A rejected token is a setting, not a bug: the CLI says so in one line, no traceback.
            if not isinstance(record.exc_info[1], InvalidToken):
                # Tracebacks are formatted later from exc_info; bake a clean text in now.
                cleaned += "\n" + self._clean(logging.Formatter().formatException(record.exc_info))
            record.exc_info = None
            record.exc_text = None
        if cleaned != message or record.args:
            record.msg, record.args = cleaned, ()
        return True


def install_redaction(token: str | None) -> RedactFilter:
    logging.getLogger("httpx").setLevel(logging.WARNING)
    logging.getLogger("httpcore").setLevel(logging.WARNING)
    flt = RedactFilter([token] if token else [])
    root = logging.getLogger()
    for handler in root.handlers:
        if not any(isinstance(f, RedactFilter) for f in handler.filters):
            handler.addFilter(flt)
    return flt

"""Logging that never shows the bot token.

httpx logs every request URL at INFO, and a Bot API URL contains the token; we lower those loggers
to WARNING and, belt and braces, redact the token from every record that reaches a handler.
"""
from __future__ import annotations

import json
import logging
import sys
from contextvars import ContextVar
from datetime import UTC, datetime

from db.engine import redact


def _rejected_token(exc: BaseException) -> bool:
    # Looked up, not imported: importing python-telegram-bot costs every command line ~0.3 s, and
    # a process that never imported it cannot have raised its InvalidToken.
    errors = sys.modules.get("telegram.error")
    return errors is not None and isinstance(exc, errors.InvalidToken)


def _suppressed_by_telegram(record: logging.LogRecord) -> bool:
    # python-telegram-bot's last get_updates call while it stops: it suppresses the error itself
    # ("to ensure graceful shutdown"); the call times out when the stop interrupts a request in
    # flight, and its traceback would only alarm whoever reads the log of a clean stop.
    return record.name == "telegram.ext.Updater" and record.getMessage().startswith(
        "Error while calling `get_updates` one more time")


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
            if _rejected_token(record.exc_info[1]):
                pass
            elif _suppressed_by_telegram(record):
                cleaned += f" ({type(record.exc_info[1]).__name__})"
            else:
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


# -- which chat, delivery and metric a line is about -------------------------------------------
# Set where the work starts (a delivery's task, a digest stage's worker thread); asyncio tasks and
# asyncio.to_thread copy the context, so every line logged further down carries the fields.
_CHAT: ContextVar[int | None] = ContextVar("salespulse_chat", default=None)
_DELIVERY: ContextVar[int | None] = ContextVar("salespulse_delivery", default=None)
_METRIC: ContextVar[str | None] = ContextVar("salespulse_metric", default=None)
_FIELDS = {"chat": _CHAT, "delivery": _DELIVERY, "metric": _METRIC}


def bind(**fields) -> None:
    """bind(chat=..., delivery=..., metric=...): the fields of every later line in this task."""
    for key, value in fields.items():
        _FIELDS[key].set(value)


class JsonFormatter(logging.Formatter):
    """LOG_FORMAT=json: one object per line (time, level, logger, chat, delivery, metric, message).
    The RedactFilter on the handler has already cleaned the message and baked any traceback in."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
        }
        for key, var in _FIELDS.items():
            value = getattr(record, key, None)  # an explicit extra={...} wins
            entry[key] = value if value is not None else var.get()
        entry["message"] = record.getMessage()
        if record.exc_info:  # a handler without the RedactFilter (not ours): keep the traceback
            entry["message"] += "\n" + self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False, default=str)


def setup_logging(level: str, fmt: str = "text") -> None:
    """The root handler in `fmt` (text or json); quiet libraries that log URLs or chatter."""
    handler = logging.StreamHandler()
    handler.setFormatter(JsonFormatter() if fmt == "json" else
                         logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    logging.basicConfig(level=level, handlers=[handler])
    # httpx logs every request URL at INFO, and Bot API URLs contain the token.
    for noisy in ("httpx", "httpcore", "alembic", "pgserver"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


async def bind_update(update: object, context) -> None:
    """The first handler of every update (group -1): its lines name the chat it came from."""
    chat = getattr(update, "effective_chat", None)
    bind(chat=chat.id if chat is not None else None, delivery=None, metric=None)

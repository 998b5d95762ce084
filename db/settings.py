"""Settings from the environment or `.env`: one frozen dataclass, validated once at start-up.

A bad value raises `SettingsError` naming the key, the value and what is allowed, so the CLI can
print one line and exit non-zero instead of a traceback. A field's key is its name in capitals
(or its metadata's "env"); the README's configuration table and .env.example list every one.
"""
from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from datetime import time
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from dotenv import dotenv_values

from db.i18n import LOCALES
from db.source import DEFAULT_STATE_SCHEMA

_IDENT = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


class SettingsError(ValueError):
    """A setting has a value the program cannot use."""


@dataclass(frozen=True)
class Settings:
    database_url: str | None = None
    source_schema: str = "public"
    state_schema: str = DEFAULT_STATE_SCHEMA
    data_timezone: str = "UTC"
    report_timezone: str = "UTC"
    locale: str = "en"
    telegram_bot_token: str | None = field(default=None, repr=False)
    telegram_api_base_url: str | None = None
    admin_user_ids: frozenset[int] = frozenset()
    metrics_config: Path | None = None
    metric_plugins: tuple[Path, ...] = ()  # folders of metrics of one's own (reports.registry.register_folder)
    default_delivery_time: time = time(8, 45)
    delivery_grace_hours: float = 4.0
    embedded_data_dir: Path = field(default=Path(".pgdata"), metadata={"env": "EMBEDDED_PG_DIR"})
    out_dir: Path = Path("out")
    log_level: str = "INFO"
    invite_secret: str | None = field(default=None, repr=False)
    invite_ttl_days: float = 7.0
    alert_interval_minutes: float = 15.0  # state alert rules (hanging now) are checked this often
    alert_late_minutes: float = 120.0     # flow alert rules read day D this long after D ends
    log_format: str = "text"              # or "json": one object per line (bot.ops.logs)
    metrics_port: int | None = None       # /healthz and /metrics (bot.ops.web); None: not served
    metrics_host: str = "0.0.0.0"
    # Webhook mode instead of polling: Telegram POSTs updates to this public URL (its path is the
    # path listened on), each with the secret in a header; the bot listens on webhook_port.
    telegram_webhook_url: str | None = None
    telegram_webhook_secret: str | None = field(default=None, repr=False)
    webhook_listen: str = "0.0.0.0"
    webhook_port: int = 8443


def check_timezone(key: str, value: str) -> str:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise SettingsError(
            f"{key}={value!r} is not a time zone; use an IANA name such as "
            "'Europe/Moscow', 'Europe/Berlin' or 'UTC'"
        ) from None
    return value


def parse_hhmm(key: str, value: str) -> time:
    m = re.fullmatch(r"([01]?\d|2[0-3]):([0-5]\d)", value.strip())
    if not m:
        raise SettingsError(f"{key}={value!r} is not a time of day; use HH:MM, e.g. 08:45")
    return time(int(m.group(1)), int(m.group(2)))


def _identifier(key: str, value: str) -> str:
    if not _IDENT.match(value):
        raise SettingsError(
            f"{key}={value!r} is not a plain schema name; use lower-case letters, digits and _"
        )
    return value


def _admins(value: str) -> frozenset[int]:
    ids = set()
    for part in filter(None, (p.strip() for p in value.split(","))):
        if not re.fullmatch(r"-?\d+", part):
            raise SettingsError(
                f"ADMIN_USER_IDS={value!r} must be Telegram user ids separated by commas, "
                "e.g. 12345,67890"
            )
        ids.add(int(part))
    return frozenset(ids)


def _positive(key: str, value: str) -> float:
    try:
        number = float(value)
    except ValueError:
        number = -1
    if number < 0:
        raise SettingsError(f"{key}={value!r} must be a non-negative number of hours, e.g. 4")
    return number


def _port(key: str, value: str) -> int:
    if not re.fullmatch(r"\d{1,5}", value) or not 0 < int(value) <= 65535:
        raise SettingsError(f"{key}={value!r} must be a TCP port number from 1 to 65535, e.g. 9090")
    return int(value)


def _service(get) -> dict:
    """The settings of running as a service (docs/operations.md): logs, metrics, webhook."""
    kwargs: dict = {}
    if (v := get("LOG_FORMAT")) is not None:
        if v.lower() not in ("text", "json"):
            raise SettingsError(f"LOG_FORMAT={v!r}; use text (the default) or json")
        kwargs["log_format"] = v.lower()
    for key, attr in (("METRICS_PORT", "metrics_port"), ("WEBHOOK_PORT", "webhook_port")):
        if (v := get(key)) is not None:
            kwargs[attr] = _port(key, v)
    for key, attr in (("METRICS_HOST", "metrics_host"), ("WEBHOOK_LISTEN", "webhook_listen")):
        if (v := get(key)) is not None:
            kwargs[attr] = v
    url, secret = get("TELEGRAM_WEBHOOK_URL"), get("TELEGRAM_WEBHOOK_SECRET")
    if url is not None:
        if not re.match(r"^https?://[^/\s]+", url):
            raise SettingsError(f"TELEGRAM_WEBHOOK_URL={url!r} must be the public URL Telegram posts "
                                "updates to, e.g. https://bot.example.com/telegram")
        if secret is None:
            raise SettingsError("TELEGRAM_WEBHOOK_URL is set but TELEGRAM_WEBHOOK_SECRET is not; set "
                                "1-256 characters of A-Z, a-z, 0-9, _ and -, e.g. `openssl rand -hex 32`")
        kwargs["telegram_webhook_url"] = url
    if secret is not None:
        if not re.fullmatch(r"[A-Za-z0-9_-]{1,256}", secret):
            raise SettingsError("TELEGRAM_WEBHOOK_SECRET must be 1-256 characters of A-Z, a-z, 0-9, _ "
                                "and - (Telegram's rule; the value is not shown)")
        kwargs["telegram_webhook_secret"] = secret
    return kwargs


def load_settings(env: dict[str, str] | None = None, dotenv: Path | None = Path(".env")) -> Settings:
    """Merge `.env` (lower priority) and the process environment into validated Settings."""
    merged: dict[str, str] = {}
    if dotenv is not None and dotenv.is_file():
        merged.update({k: v for k, v in dotenv_values(dotenv).items() if v is not None})
    merged.update(os.environ if env is None else env)

    def get(key: str) -> str | None:
        value = merged.get(key)
        return value.strip() if value and value.strip() else None

    kwargs: dict = {}
    if (v := get("DATABASE_URL")) is not None:
        if not re.match(r"^postgres(ql)?(\+\w+)?://", v):
            raise SettingsError(
                "DATABASE_URL must be a Postgres URL such as "
                "postgresql://user:password@host:5432/dbname (the value is not shown: it may "
                "hold a password)"
            )
        kwargs["database_url"] = v
    for key, attr in (("SOURCE_SCHEMA", "source_schema"), ("STATE_SCHEMA", "state_schema")):
        if (v := get(key)) is not None:
            kwargs[attr] = _identifier(key, v)
    for key, attr in (("DATA_TIMEZONE", "data_timezone"), ("REPORT_TIMEZONE", "report_timezone")):
        if (v := get(key)) is not None:
            kwargs[attr] = check_timezone(key, v)
    if (v := get("LOCALE")) is not None:
        if v.lower() not in LOCALES:
            raise SettingsError(f"LOCALE={v!r} is not supported; use one of: {', '.join(LOCALES)}")
        kwargs["locale"] = v.lower()
    if (v := get("TELEGRAM_BOT_TOKEN")) is not None:
        if not re.fullmatch(r"\d+:[\w-]+", v):
            raise SettingsError(
                "TELEGRAM_BOT_TOKEN does not look like a bot token (digits, a colon, then "
                "letters); get one from @BotFather (the value is not shown)"
            )
        kwargs["telegram_bot_token"] = v
    if (v := get("TELEGRAM_API_BASE_URL")) is not None:
        if not re.match(r"^https?://", v):
            raise SettingsError(
                f"TELEGRAM_API_BASE_URL={v!r} must be an http(s) URL such as "
                "http://127.0.0.1:8081/bot"
            )
        kwargs["telegram_api_base_url"] = v
    if (v := get("ADMIN_USER_IDS")) is not None:
        kwargs["admin_user_ids"] = _admins(v)
    if (v := get("METRICS_CONFIG")) is not None:
        kwargs["metrics_config"] = Path(v)
    if (v := get("METRIC_PLUGINS")) is not None:
        folders = tuple(Path(p) for p in v.split(os.pathsep) if p.strip())
        if missing := [str(f) for f in folders if not (f / "metric.py").is_file()]:
            raise SettingsError(f"METRIC_PLUGINS={v!r}: {', '.join(missing)} holds no metric.py; give folders of "
                                f"metrics of your own, separated by {os.pathsep!r} (docs/architecture.md)")
        kwargs["metric_plugins"] = folders
    if (v := get("DEFAULT_DELIVERY_TIME")) is not None:
        kwargs["default_delivery_time"] = parse_hhmm("DEFAULT_DELIVERY_TIME", v)
    if (v := get("DELIVERY_GRACE_HOURS")) is not None:
        kwargs["delivery_grace_hours"] = _positive("DELIVERY_GRACE_HOURS", v)
    if (v := get("EMBEDDED_PG_DIR")) is not None:
        kwargs["embedded_data_dir"] = Path(v)
    if (v := get("OUT_DIR")) is not None:
        kwargs["out_dir"] = Path(v)
    if (v := get("INVITE_SECRET")) is not None:
        if len(v) < 16:
            raise SettingsError("INVITE_SECRET is too short; use at least 16 random characters, "
                                "e.g. the output of `openssl rand -hex 32` (the value is not shown)")
        kwargs["invite_secret"] = v
    if (v := get("INVITE_TTL_DAYS")) is not None:
        try:
            days = float(v)
        except ValueError:
            days = 0.0
        if not 0 < days <= 366:
            raise SettingsError(f"INVITE_TTL_DAYS={v!r} must be a number of days between 0 and 366, e.g. 7")
        kwargs["invite_ttl_days"] = days
    for key, attr, lo, hi, example in (("ALERT_INTERVAL_MINUTES", "alert_interval_minutes", 1, 1440, "15"),
                                       ("ALERT_LATE_MINUTES", "alert_late_minutes", 0, 2880, "120")):
        if (v := get(key)) is not None:
            try:
                minutes = float(v)
            except ValueError:
                minutes = -1.0
            if not lo <= minutes <= hi:
                raise SettingsError(f"{key}={v!r} must be a number of minutes from {lo} to {hi}, e.g. {example}")
            kwargs[attr] = minutes
    if (v := get("LOG_LEVEL")) is not None:
        if v.upper() not in ("DEBUG", "INFO", "WARNING", "ERROR"):
            raise SettingsError(f"LOG_LEVEL={v!r}; use DEBUG, INFO, WARNING or ERROR")
        kwargs["log_level"] = v.upper()
    return Settings(**kwargs, **_service(get))

"""The typed bot context: what handlers and jobs share, as attributes instead of string keys
(python-telegram-bot's examples/contexttypesbot.py)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from telegram.ext import CallbackContext, ContextTypes, ExtBot

if TYPE_CHECKING:
    from collections.abc import Callable
    from datetime import date

    from sqlalchemy.engine import Engine

    from bot.alerts.runner import AlertRunner
    from bot.delivery.deliver import Delivery
    from bot.delivery.sweep import Sweeper
    from bot.ops.telemetry import Telemetry
    from bot.ops.web import StatusServer
    from bot.service import Clock
    from bot.subscriptions import Store
    from db.settings import Settings
    from metrics.config import MetricConfig


@dataclass
class BotData:
    """Filled by bot.app.build_application. The Application constructs it with no arguments
    (ContextTypes' contract), hence the None defaults; after build every field is set."""

    settings: Settings = None  # type: ignore[assignment]
    engine: Engine = None  # type: ignore[assignment]
    clock: Clock = None  # type: ignore[assignment]
    store: Store = None  # type: ignore[assignment]
    delivery: Delivery = None  # type: ignore[assignment]
    sweeper: Sweeper = None  # type: ignore[assignment]
    # (day, tz, scope) -> the stuck leads' CSV or None (bot.commands.buttons.default_leads_builder)
    leads: Callable[[date, str, str | None], str | None] = None  # type: ignore[assignment]
    cfg: MetricConfig = None  # type: ignore[assignment]
    alerts: AlertRunner = None  # type: ignore[assignment]
    telemetry: Telemetry = None  # type: ignore[assignment]
    status: StatusServer | None = None  # /healthz and /metrics; None unless METRICS_PORT is set


BotContext = CallbackContext[ExtBot, dict, dict, BotData]
CONTEXT_TYPES = ContextTypes(bot_data=BotData)

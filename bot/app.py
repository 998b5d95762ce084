"""The Telegram Application: handlers, the job queue, the rate limiter, start and stop.

`salespulse run` calls bot.ops.runner.run_bot. `build_application` + `start` / `stop` let tests and
embedders drive the same Application on their own event loop (post_init and post_stop run there
too, exactly as under run_polling).
"""
from __future__ import annotations

import asyncio
import logging
from datetime import timedelta
from urllib.parse import urlsplit

from sqlalchemy.engine import Engine
from telegram import BotCommand, BotCommandScopeDefault, Update
from telegram.ext import (
    Application,
    CallbackQueryHandler,
    CommandHandler,
    MessageHandler,
    TypeHandler,
    filters,
)

from bot.alerts import commands as alert_commands
from bot.alerts.runner import AlertRunner
from bot.alerts.store import AlertStore
from bot.commands import buttons, handlers, invites
from bot.commands import settings as settings_menu
from bot.context import CONTEXT_TYPES, BotData
from bot.delivery.deliver import Delivery
from bot.delivery.flood import MessageRateLimiter
from bot.delivery.sweep import Sweeper
from bot.ops.logs import bind_update
from bot.ops.telemetry import Telemetry
from bot.ops.web import instrument
from bot.schedule import schedule_alerts, schedule_chat, schedule_sweep, unschedule_chat
from bot.service import BotOptions, Clock, DigestBuilder, DigestCache, make_builder, utc_now
from bot.subscriptions import Store
from db.i18n import LOCALES, t
from db.settings import Settings
from db.state import migrate
from metrics.config import MetricConfig
from reports.registry import names as metric_names

log = logging.getLogger("salespulse.bot")

RELEASE_WAIT = 3.0  # seconds the cancelled deliveries get to unwind (their last ledger write)


def _file_url(base_url: str) -> str:
    """Bot API servers serve files under /file/bot<token> next to /bot<token>."""
    return base_url[: -len("/bot")] + "/file/bot" if base_url.endswith("/bot") else base_url


def build_application(settings: Settings, cfg: MetricConfig, engine: Engine, *,
                      clock: Clock | None = None, digest_builder: DigestBuilder | None = None,
                      options: BotOptions | None = None,
                      names: tuple[str, ...] | None = None, leads_builder=None) -> Application:
    options = options or BotOptions()
    if digest_builder is None:
        # the daily digest, or a week or month in review (docs/plan.md)
        from reports.review import build_report as digest_builder
    builder = (
        Application.builder()
        .token(settings.telegram_bot_token)
        # Counts an album's items, as Telegram does: a busy morning stays under its limits.
        .rate_limiter(MessageRateLimiter(max_retries=options.rate_limit_retries))
        .read_timeout(options.read_timeout)
        .write_timeout(options.read_timeout)
        .media_write_timeout(max(options.read_timeout, 20.0))
        .context_types(CONTEXT_TYPES)
        .post_init(_post_init)
        .post_stop(_post_stop)
    )
    if settings.telegram_api_base_url:
        base = settings.telegram_api_base_url.rstrip("/")
        builder = builder.base_url(base).base_file_url(_file_url(base))
    app = builder.build()

    clock = clock or utc_now
    grace = timedelta(hours=settings.delivery_grace_hours)
    telemetry = Telemetry(clock)
    store = Store(engine, settings.state_schema, observe=telemetry.delivery_state)
    cache = DigestCache(make_builder(digest_builder, engine, settings.source_schema, cfg, settings.state_schema,
                                     stages=telemetry.stages), options.digest_ttl)

    async def on_migrate(old: int, new: int) -> None:
        await delivery.db("moving the alert rules", alert_store.migrate_chat, old, new)
        unschedule_chat(app, old)
        sub = await delivery.db("reading a subscription", store.get, new)
        if sub is not None:
            schedule_chat(app, sub)

    delivery = Delivery(store, cache, options, bot=app.bot, clock=clock, grace=grace,
                        admin_ids=settings.admin_user_ids, default_locale=settings.locale, names=names or metric_names(),
                        on_migrate=on_migrate, on_deactivate=lambda chat_id: unschedule_chat(app, chat_id),
                        after_digest=buttons.after_digest_hook(app))
    sweeper = Sweeper(delivery, store, clock, grace,
                      prepare=lambda: migrate(engine, settings.state_schema),
                      schedule_all=lambda subs: [schedule_chat(app, s) for s in subs])
    alert_store = AlertStore(engine, settings.state_schema)
    alerts = AlertRunner(
        bot=app.bot, store=alert_store, subs=store, engine=engine, source_schema=settings.source_schema,
        state_schema=settings.state_schema, cfg=cfg, clock=clock, options=options,
        interval=timedelta(seconds=options.alert_interval or settings.alert_interval_minutes * 60),
        late=timedelta(minutes=settings.alert_late_minutes), default_tz=settings.report_timezone,
        default_locale=settings.locale, notify_admins=delivery.notify_admins,
        on_migrate=delivery.migrate, ready=lambda: sweeper.ready, telemetry=telemetry)
    data: BotData = app.bot_data
    data.cfg, data.alerts = cfg, alerts
    data.settings, data.engine, data.clock = settings, engine, clock
    data.telemetry, data.status = telemetry, instrument(app, settings, telemetry, engine, sweeper)
    data.store, data.delivery, data.sweeper = store, delivery, sweeper
    data.leads = leads_builder or buttons.default_leads_builder(
        engine, settings.source_schema, cfg, settings.state_schema)

    app.add_handler(TypeHandler(Update, bind_update), group=-1)  # logs name the chat
    app.add_handler(CommandHandler("start", invites.start))  # with a token: a deep link opened
    app.add_handler(CommandHandler("help", handlers.help_))
    # block=False: a report that computes for seconds does not hold up other chats' commands.
    app.add_handler(CommandHandler("report", handlers.report, block=False))
    app.add_handler(CommandHandler("subscribe", handlers.subscribe))
    app.add_handler(CommandHandler("unsubscribe", handlers.unsubscribe))
    app.add_handler(CommandHandler("status", handlers.status))
    app.add_handler(CommandHandler("invite", invites.invite))
    app.add_handler(CommandHandler("settings", settings_menu.settings))
    app.add_handler(CommandHandler("alert", alert_commands.alert))
    app.add_handler(CommandHandler("alerts", alert_commands.alerts))
    app.add_handler(CallbackQueryHandler(buttons.on_press, pattern=buttons.PATTERN, block=False))
    app.add_handler(CallbackQueryHandler(settings_menu.on_press, pattern=settings_menu.PATTERN))
    app.add_handler(CallbackQueryHandler(alert_commands.on_press, pattern=alert_commands.PATTERN))
    app.add_handler(CallbackQueryHandler(buttons.on_unknown))  # anything else: answered, refused
    app.add_handler(MessageHandler(filters.StatusUpdate.MIGRATE, handlers.migrated))
    app.add_error_handler(handlers.on_error)
    return app


def webhook_args(settings: Settings) -> dict:
    """Updater.start_webhook's arguments (run_webhook takes the same): listen on the path of
    TELEGRAM_WEBHOOK_URL; Telegram sends the secret in X-Telegram-Bot-Api-Secret-Token."""
    return {"listen": settings.webhook_listen, "port": settings.webhook_port,
            "url_path": urlsplit(settings.telegram_webhook_url).path.lstrip("/"),
            "webhook_url": settings.telegram_webhook_url,
            "secret_token": settings.telegram_webhook_secret, "allowed_updates": Update.ALL_TYPES}


async def release(app: Application) -> None:
    """Cancel the deliveries in flight and let them unwind; stop /healthz and /metrics."""
    delivery = app.bot_data.delivery
    delivery.cancel_all()
    try:
        await asyncio.wait_for(delivery.idle(), RELEASE_WAIT)
    except TimeoutError:
        log.warning("deliveries still unwinding after %.0f s; their rows resume at the next start",
                    RELEASE_WAIT)
    if app.bot_data.status is not None:
        await app.bot_data.status.stop()


# The command menu, in order; each command's description is the catalogue's command.<name>.
COMMANDS = ("report", "subscribe", "unsubscribe", "status", "alerts", "help", "start")


def _commands(locale: str) -> list[BotCommand]:
    return [BotCommand(c, t(f"command.{c}", locale)) for c in COMMANDS]


async def _set_commands(app: Application, default_locale: str) -> None:
    await app.bot.set_my_commands(_commands(default_locale), scope=BotCommandScopeDefault())
    for lang in LOCALES:
        await app.bot.set_my_commands(_commands(lang), language_code=lang)


async def _post_init(app: Application) -> None:
    data: BotData = app.bot_data
    if data.status is not None:  # first: /healthz answers (503) while the first sweep waits
        await data.status.start()
    await _set_commands(app, data.settings.locale)
    # The first sweep migrates the state schema, schedules the daily jobs and catches up; with
    # the database down it only notes that, and the repeating sweep goes on trying.
    await data.sweeper.run()
    schedule_sweep(app, data.delivery.options.sweep_interval)
    schedule_alerts(app, data.alerts.interval.total_seconds(), data.delivery.options.alert_first)


async def _post_stop(app: Application) -> None:
    # A delivery still in flight is cancelled, not failed: its ledger row stays 'working' and
    # the next start resumes it after the last part Telegram accepted.
    app.bot_data.sweeper.close()
    app.bot_data.alerts.close()
    await release(app)


async def start(app: Application, poll_interval: float = 0.0, timeout: int = 10) -> None:
    """What run_polling (run_webhook with TELEGRAM_WEBHOOK_URL) does before it blocks:
    initialize, post_init, polling (or the webhook), start."""
    await app.initialize()
    await app.post_init(app)
    settings: Settings = app.bot_data.settings
    if settings.telegram_webhook_url:
        await app.updater.start_webhook(**webhook_args(settings))
    else:
        await app.updater.start_polling(poll_interval=poll_interval, timeout=timeout,
                                        allowed_updates=Update.ALL_TYPES)
    await app.start()


async def stop(app: Application) -> None:
    """What run_polling does on exit (the deliveries in flight are cancelled first)."""
    app.bot_data.sweeper.close()
    app.bot_data.alerts.close()
    app.bot_data.delivery.cancel_all()
    if app.updater.running:
        await app.updater.stop()
    if app.running:
        await app.stop()
    await app.post_stop(app)
    await app.shutdown()

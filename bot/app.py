"""The Telegram Application: handlers, the job queue, the rate limiter, start and stop.

`run_bot` is what `salespulse run` calls. `build_application` + `start` / `stop` let tests and
embedders drive the same Application on their own event loop (post_init and post_stop run there
too, exactly as under run_polling).
"""
from __future__ import annotations

import asyncio
import logging
from datetime import timedelta

from sqlalchemy.engine import Engine
from telegram import BotCommand, BotCommandScopeDefault, Update
from telegram.ext import AIORateLimiter, Application, CommandHandler, MessageHandler, filters

from bot import handlers
from bot.delivery import Delivery
from bot.i18n import COMMANDS
from bot.logs import install_redaction
from bot.schedule import schedule_all_and_catch_up, schedule_chat, unschedule_chat
from bot.service import BotOptions, Clock, DigestBuilder, DigestCache, make_builder, utc_now
from bot.store import Store
from db.settings import Settings
from db.state import migrate
from metrics.config import MetricConfig
from reports.request import METRICS

log = logging.getLogger("salespulse.bot")


def _file_url(base_url: str) -> str:
    """Bot API servers serve files under /file/bot<token> next to /bot<token>."""
    return base_url[: -len("/bot")] + "/file/bot" if base_url.endswith("/bot") else base_url


def build_application(settings: Settings, cfg: MetricConfig, engine: Engine, *,
                      clock: Clock | None = None, digest_builder: DigestBuilder | None = None,
                      options: BotOptions | None = None,
                      names: tuple[str, ...] = METRICS) -> Application:
    options = options or BotOptions()
    if digest_builder is None:
        from reports.digest import build_digest as digest_builder
    builder = (
        Application.builder()
        .token(settings.telegram_bot_token)
        .rate_limiter(AIORateLimiter(max_retries=options.rate_limit_retries))
        .read_timeout(options.read_timeout)
        .write_timeout(options.read_timeout)
        .media_write_timeout(max(options.read_timeout, 20.0))
        .post_init(_post_init)
        .post_stop(_post_stop)
    )
    if settings.telegram_api_base_url:
        base = settings.telegram_api_base_url.rstrip("/")
        builder = builder.base_url(base).base_file_url(_file_url(base))
    app = builder.build()

    store = Store(engine, settings.state_schema)
    cache = DigestCache(make_builder(digest_builder, engine, settings.source_schema, cfg, settings.state_schema), options.digest_ttl)
    delivery = Delivery(store, cache, options, settings.admin_user_ids, settings.locale, names)
    app.bot_data.update(delivery=delivery, settings=settings, clock=clock or utc_now, engine=engine)

    async def on_migrate(old: int, new: int) -> None:
        unschedule_chat(app, old)
        sub = await delivery.db("reading a subscription", store.get, new)
        if sub is not None:
            schedule_chat(app, sub)

    delivery.on_migrate = on_migrate
    delivery.on_deactivate = lambda chat_id: unschedule_chat(app, chat_id)

    app.add_handler(CommandHandler("start", handlers.start))
    app.add_handler(CommandHandler("help", handlers.help_))
    # block=False: a report that computes for seconds does not hold up other chats' commands.
    app.add_handler(CommandHandler("report", handlers.report, block=False))
    app.add_handler(CommandHandler("subscribe", handlers.subscribe))
    app.add_handler(CommandHandler("unsubscribe", handlers.unsubscribe))
    app.add_handler(CommandHandler("status", handlers.status))
    app.add_handler(MessageHandler(filters.StatusUpdate.MIGRATE, handlers.migrated))
    app.add_error_handler(handlers.on_error)
    return app


async def _set_commands(app: Application, default_locale: str) -> None:
    await app.bot.set_my_commands([BotCommand(c, d) for c, d in COMMANDS[default_locale]],
                                  scope=BotCommandScopeDefault())
    for lang, commands in COMMANDS.items():
        await app.bot.set_my_commands([BotCommand(c, d) for c, d in commands], language_code=lang)


async def _post_init(app: Application) -> None:
    settings: Settings = app.bot_data["settings"]
    delivery: Delivery = app.bot_data["delivery"]
    delivery.bot = app.bot
    await asyncio.to_thread(migrate, app.bot_data["engine"], settings.state_schema)
    await _set_commands(app, settings.locale)
    await schedule_all_and_catch_up(app, timedelta(hours=settings.delivery_grace_hours))


async def _post_stop(app: Application) -> None:
    # A delivery still in flight is cancelled, not failed: its ledger row stays 'working' and
    # the next start resumes it after the last part Telegram accepted.
    app.bot_data["delivery"].cancel_all()


async def start(app: Application, poll_interval: float = 0.0, timeout: int = 10) -> None:
    """What run_polling does before it blocks: initialize, post_init, polling, start."""
    await app.initialize()
    await app.post_init(app)
    await app.updater.start_polling(poll_interval=poll_interval, timeout=timeout,
                                    allowed_updates=Update.ALL_TYPES)
    await app.start()


async def stop(app: Application) -> None:
    """What run_polling does on exit (the deliveries in flight are cancelled first)."""
    app.bot_data["delivery"].cancel_all()
    if app.updater.running:
        await app.updater.stop()
    if app.running:
        await app.stop()
    await app.post_stop(app)
    await app.shutdown()


def run_bot(settings: Settings, cfg: MetricConfig, engine: Engine) -> None:
    """`salespulse run`: poll until interrupted (post_init migrates the state schema)."""
    install_redaction(settings.telegram_bot_token)
    app = build_application(settings, cfg, engine)
    log.info("SalesPulse bot starting (admins: %s)", ", ".join(map(str, sorted(settings.admin_user_ids))) or "none")
    app.run_polling(allowed_updates=Update.ALL_TYPES)

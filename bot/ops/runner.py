"""`salespulse run` as a service: polling or a webhook, and a clean stop on SIGTERM.

docker stop and systemd send SIGTERM and SIGKILL 10 s later. On SIGTERM (or SIGINT) the sweeper
and the alert check stop starting work, the deliveries in flight are cancelled (a cancelled
delivery keeps its ledger row 'working' at the last part Telegram accepted, and the next start
resumes after it: bot/delivery/deliver.py), and python-telegram-bot's own orderly stop follows. Every
ledger change is one transaction, so even the watchdog's hard exit at STOP_DEADLINE loses nothing.
"""
from __future__ import annotations

import asyncio
import logging
import os
import signal
import threading

from sqlalchemy.engine import Engine
from telegram import Update
from telegram.ext import Application

from bot.app import build_application, webhook_args
from bot.ops.logs import install_redaction
from db.settings import Settings
from metrics.config import MetricConfig

log = logging.getLogger("salespulse.bot")

STOP_DEADLINE = 9.0   # seconds from the signal to a hard exit, before the SIGKILL at 10


def _on_stop_signal(app: Application, signum: int) -> None:
    log.info("%s: stopping; a delivery in flight resumes at the next start after its last part",
             signal.Signals(signum).name)
    # The digest computations run in worker threads that a cancel cannot stop; the interpreter
    # would wait for them at exit. Nothing is lost by not waiting (see the module docstring).
    watchdog = threading.Timer(STOP_DEADLINE, _hard_exit)
    watchdog.daemon = True
    watchdog.start()
    data = app.bot_data
    data.sweeper.close()
    data.alerts.close()
    data.delivery.cancel_all()  # before Application.stop, which would wait for running jobs
    app.stop_running()


_STOPPED = threading.Event()


def _hard_exit() -> None:
    if _STOPPED.is_set():
        log.info("stopped; not waiting for a digest computation still running")
    else:
        log.error("not stopped %.0f s after the signal; exiting now", STOP_DEADLINE)
    logging.shutdown()
    os._exit(0 if _STOPPED.is_set() else 1)


def run_bot(settings: Settings, cfg: MetricConfig, engine: Engine) -> None:
    """Poll (or serve the webhook) until SIGTERM or SIGINT; post_init migrates the state schema."""
    install_redaction(settings.telegram_bot_token)
    app = build_application(settings, cfg, engine)
    log.info("SalesPulse bot starting (%s; admins: %s)",
             "webhook" if settings.telegram_webhook_url else "polling",
             ", ".join(map(str, sorted(settings.admin_user_ids))) or "none")
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, _on_stop_signal, app, sig)
    if settings.telegram_webhook_url:
        app.run_webhook(**webhook_args(settings), stop_signals=None)
    else:
        app.run_polling(allowed_updates=Update.ALL_TYPES, stop_signals=None)
    _STOPPED.set()  # the watchdog's exit, if the interpreter still waits for a thread, is clean
    log.info("stopped")
